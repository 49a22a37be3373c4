// The portal's side of AuthService's security events (Standard Webhooks): subscribe at start, verify every request's
// signature, and keep a short "security notice" list per user for the page (in memory: a real portal would store
// them, and e-mail the person — OWASP ASVS 2.2.3). Calls AuthService through the portal's typed client (authservice.mjs).
import { createHmac, timingSafeEqual } from 'node:crypto';

const TOLERANCE_SECONDS = 5 * 60; // refuse replays of old requests
const notices = new Map(); // userId -> [{ id, type, text, at }]
const seen = new Set(); // webhook-ids already handled: deliveries are at-least-once

/** Standard Webhooks verification: HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the base64 part of whsec_…. */
export function verifySignature(secret, headers, body, nowSeconds = Date.now() / 1000) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !timestamp || !signatures) return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > TOLERANCE_SECONDS) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    const given = Buffer.from(signature || '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const methodName = (d) => (d.method === 'totp' ? 'an authenticator app' : d.method === 'passkey' ? 'a passkey'
  : d.channel === 'call' ? 'voice call' : 'SMS');
const factorKind = (d) => ({ totp: ' (an authenticator app)', phone: ' (a phone)', passkey: ' (a passkey)' })[d.method] ?? '';
const texts = {
  'two_factor.enabled': () => 'Two-factor authentication was turned on',
  'two_factor.method_switched': (d) => `Your method was changed to ${methodName(d)}`,
  'two_factor.reset': () => 'Support reset your two-factor settings',
  'two_factor.backup_codes_regenerated': () => 'New backup codes were created; the old ones no longer work',
  'two_factor.backup_code_used': (d) => (d.stage === 'login' ? 'A backup code was used to sign in' : 'A backup code was used to confirm a change'),
  'two_factor.backup_codes_low': (d) => `You have ${d.backupCodesRemaining} backup code${d.backupCodesRemaining === 1 ? '' : 's'} left`,
  'two_factor.bypass_code_used': (d) => (d.stage === 'login' ? 'A support bypass code was used to sign in'
    : 'A support bypass code was used to confirm a change'),
  'two_factor.locked': () => 'Two-factor sign-in was locked after too many failed attempts',
  'two_factor.factor_added': (d) => `A factor was added to your account${factorKind(d)}`,
  'two_factor.factor_removed': (d) => `A factor was removed from your account${factorKind(d)}`,
  'two_factor.rate_limited': () => 'Too many sign-in attempts or code requests: we paused them for a while',
  'two_factor.new_device_login': () => 'A new sign-in to your account',
  'two_factor.device_remembered': (d) => `A browser was remembered for sign-in: ${d.label}`,
  'two_factor.devices_revoked': (d) => `${d.count} remembered browser${d.count === 1 ? ' was' : 's were'} forgotten`,
};

export const noticesFor = (userId) => (notices.get(userId) || []).slice().reverse();

/** Handles one webhook request; returns the HTTP status to answer. */
export function receive(secret, headers, body) {
  if (!secret || !verifySignature(secret, headers, body)) return 401;
  const id = headers['webhook-id'];
  if (seen.has(id)) return 204;
  let event;
  try { event = JSON.parse(body); } catch { return 400; }
  const userId = event.data?.userId;
  const text = texts[event.type]?.(event.data || {});
  if (userId && text) {
    const list = notices.get(userId) || [];
    list.push({ id, type: event.type, text, at: event.timestamp });
    notices.set(userId, list.slice(-50));
  }
  seen.add(id);
  if (seen.size > 10000) seen.delete(seen.values().next().value);
  return 204;
}

/** Registers this portal's endpoint (replacing one an earlier run left) and returns its secret, or null when the
 * portal's key may not manage webhooks (admin scope). */
/** @param {import('./contract').AuthService} authService @param {string} url @returns {Promise<string | null>} */
export async function subscribe({ api, answer }, url) {
  const list = await answer(api.GET('/v1/webhooks'));
  if (!list.ok || list.status !== 200) {
    console.warn(list.status === 401 || list.status === 403
      ? `Security notices off: AuthService refused GET /v1/webhooks (${list.status}); the portal's key needs the admin scope.`
      : `Security notices off: AuthService did not list the webhooks (${list.status}); restart the portal once it answers.`);
    return null;
  }
  for (const old of list.body.items.filter((w) => w.url === url)) {
    await answer(api.DELETE('/v1/webhooks/{id}', { params: { path: { id: old.id } } }));
  }
  const created = await answer(api.POST('/v1/webhooks',
    { body: { url, events: ['two_factor.*'], description: 'sample portal security notices' } }));
  if (!created.ok || created.status !== 201) {
    /** @type {Partial<import('./contract').PageProblem>} */
    const problem = created.ok ? {} : created.body;
    console.warn(`Security notices off: AuthService refused the webhook (${created.status} ${problem.code}: ${problem.detail}).`);
    return null;
  }
  console.log(`Subscribed to AuthService security events at ${url}`);
  return created.body.secret;
}
