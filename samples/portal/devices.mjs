// Remembered devices ("Remember this browser for 30 days", AuthService DESIGN §9.3) for the sample portal backend.
//
// The device token AuthService hands out once is kept in a cookie this server sets: HttpOnly (page scripts never read it),
// Secure, SameSite=Lax, host-only, for as long as the device is valid. The page never sees the token: this server takes it
// out of the verify answer, and puts it back into the login decision and the verify from the cookie.
import { ofUser } from './authservice.mjs';

export const deviceCookie = 'portal_device';

/** The device token of this browser, from its cookie; undefined when it has none. */
export function deviceTokenOf(req) {
  for (const part of (req.headers.cookie || '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name !== deviceCookie) continue;
    try {
      return decodeURIComponent(value.join('=')) || undefined;
    } catch {
      return undefined; // not a token this portal set (another app on this host can set cookies here): no device
    }
  }
  return undefined;
}

/** A short label for the device list, e.g. "Chrome on Linux", from the browser's User-Agent. */
export function deviceLabel(req) {
  const ua = String(req.headers['user-agent'] || '');
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome'
    : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /Windows/.test(ua) ? 'Windows' : /Mac OS X/.test(ua) ? 'macOS' : /Android/.test(ua) ? 'Android'
    : /iPhone|iPad/.test(ua) ? 'iOS' : /Linux/.test(ua) ? 'Linux' : '';
  return os ? `${browser} on ${os}` : browser;
}

/**
 * Moves a verify answer's `deviceToken` into the cookie: the page learns only that the browser is remembered.
 * @param {import('./contract').Answer<unknown>} result @returns {import('./contract').Answer<unknown>}
 */
export function keepDeviceToken(result) {
  // Only a verify with rememberDevice carries a token (VerifyResponse); every other answer passes through as it is.
  if (!result.ok) return result;
  const verified = /** @type {Partial<import('./contract').Schemas['VerifyResponse']>} */ (result.body ?? {});
  if (typeof verified.deviceToken !== 'string') return result;
  const { deviceToken, ...body } = verified;
  const maxAge = Math.max(0, Math.floor((Date.parse(body.expiresAt ?? '') - Date.now()) / 1000)) || 0;
  const cookie = `${deviceCookie}=${encodeURIComponent(deviceToken)}; Max-Age=${maxAge}; Path=/; HttpOnly; Secure; SameSite=Lax`;
  return { ...result, body: { ...body, deviceRemembered: true }, headers: { ...result.headers, 'Set-Cookie': cookie } };
}

/**
 * Portal actions on the user's remembered devices (AuthService scope manage), through the typed client.
 * @param {import('./contract').AuthServiceClient} api @returns {import('./contract').PortalRoutes}
 */
export const deviceRoutes = (api) => ({
  'GET /api/devices': (q) => api.GET('/v1/users/{userId}/two-factor/devices', { params: ofUser(q) }),
  'DELETE /api/devices': (b) => api.DELETE('/v1/users/{userId}/two-factor/devices/{deviceId}',
    { params: { path: { ...ofUser(b).path, deviceId: String(b.deviceId ?? '') } } }),
  'POST /api/devices/revoke-all': (b) => api.POST('/v1/users/{userId}/two-factor/devices/revoke-all',
    { params: ofUser(b) }),
});
