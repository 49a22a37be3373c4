// AuthService sample portal backend: Node.js built-ins and one npm package, openapi-fetch (`npm ci` here first).
//
// It serves the static page in ./public and turns a few portal actions into AuthService calls, each through the
// openapi-fetch client typed by openapi.yaml (authservice.mjs). The AuthService API key lives here, in this process's
// environment, and never reaches the browser.
//
//   AUTHSERVICE_URL=http://localhost:8080 AUTHSERVICE_API_KEY=ask_... node samples/portal/server.mjs
//
// Environment: AUTHSERVICE_URL (default http://localhost:8080), AUTHSERVICE_API_KEY (required; scopes verify+manage,
// or admin), PORTAL_PORT (default 3000), PORTAL_HOST (default 127.0.0.1), PORTAL_ALLOWED_HOSTS (more host:port names the
// page is opened under, comma-separated; PORTAL_HOST, localhost and 127.0.0.1 on PORTAL_PORT always are).
//
// DEMO ONLY: the page names the user in a form field. A real portal takes the user id from its own session after the
// first factor (password, OAuth, ...) and never lets the browser choose whose second factor it manages.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, ofUser } from './authservice.mjs';
import { noticesFor, receive, subscribe } from './webhooks.mjs';
import { deviceLabel, deviceRoutes, deviceTokenOf, keepDeviceToken } from './devices.mjs';

const authServiceUrl = (process.env.AUTHSERVICE_URL || 'http://localhost:8080').replace(/\/+$/, '');
const apiKey = process.env.AUTHSERVICE_API_KEY;
const port = Number(process.env.PORTAL_PORT || 3000);
const host = process.env.PORTAL_HOST || '127.0.0.1';
const publicDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');
// Where AuthService posts security events; the default suits AuthService on the same machine.
const webhookPath = '/webhooks/authservice';
const webhookUrl = process.env.PORTAL_WEBHOOK_URL || `http://${host}:${port}${webhookPath}`;
// The Host names the page may be opened under. A page of another site whose name was re-pointed at this machine (DNS
// rebinding) is same-origin to the browser, and would reach every /api route with this process's key: its Host is not here.
const allowedHosts = new Set([`${host}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`,
  ...(process.env.PORTAL_ALLOWED_HOSTS || '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)]);
let webhookSecret = null;

if (!apiKey) {
  console.error('AUTHSERVICE_API_KEY is not set: give the portal an AuthService key with scopes verify+manage (or admin).');
  console.error('`make run` prints the development admin key.');
  process.exit(1);
}
if (!URL.canParse(authServiceUrl)) {
  console.error(`AUTHSERVICE_URL is not a URL: ${authServiceUrl}`);
  process.exit(1);
}
const authService = connect(authServiceUrl, apiKey);
const { api, answer } = authService;

const staticFiles = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/devices.js': ['devices.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};

const securityHeaders = {
  // The QR code arrives as a data: URI (qrCodePng); nothing else comes from anywhere but this server.
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

const str = (v) => (typeof v === 'string' ? v.trim() : undefined);
// The path parameters of a factor's calls (openapi-fetch percent-encodes them).
const ofFactor = (b) => ({ path: { ...ofUser(b).path, factorId: str(b.factorId) ?? '' } });
// A support bypass code: 9 digits, as support reads it out (123-456-789) or typed without the hyphens. A factor's code is
// 6–8 digits, so the two never look alike.
const isBypassCode = (v) => /^\d{3}-?\d{3}-?\d{3}$/.test(v);
// A proof is a code of the current factor (digits), a support bypass code, a backup code (letters, digits, a hyphen), or
// a passkey assertion.
const proof = (v, passkey) => {
  if (passkey) return { credential: credential(passkey) };
  const p = str(v);
  if (p && isBypassCode(p)) return { bypassCode: p };
  return p && /^\d+$/.test(p) ? { code: p } : { backupCode: p };
};
// What the sign-in's "backup code" field holds: a backup code, or a support bypass code (which cannot remember the browser:
// AuthService refuses rememberDevice with one, so it is not asked).
const typedCode = (v) => (v && isBypassCode(v) ? { bypassCode: v } : { backupCode: v });
// The proof of a factor change (add, remove): optional, since adding the first factor needs none. `proofBackupCode`
// names a backup code explicitly (the page's "a backup code" choice); `proof` is read as above.
const changeProof = (b) => (b.proofCredential ? { credential: credential(b.proofCredential) }
  : str(b.proofBackupCode) ? { backupCode: str(b.proofBackupCode) }
    : str(b.proof) ? proof(b.proof) : undefined);
// A WebAuthn credential as the browser's credential.toJSON() gives it (RegistrationResponseJSON or
// AuthenticationResponseJSON): only its known members, only strings (base64url) and the transports list.
/** @returns {import('./contract').BrowserCredential | undefined} */
const credential = (c) => {
  if (!c || typeof c !== 'object') return undefined;
  const r = c.response && typeof c.response === 'object' ? c.response : {};
  const pick = (o, keys) => Object.fromEntries(keys.filter((k) => typeof o[k] === 'string').map((k) => [k, o[k]]));
  return {
    ...pick(c, ['id', 'rawId', 'type', 'authenticatorAttachment']),
    response: {
      ...pick(r, ['clientDataJSON', 'attestationObject', 'authenticatorData', 'signature', 'userHandle', 'publicKey']),
      ...(Array.isArray(r.transports) ? { transports: r.transports.filter((t) => typeof t === 'string') } : {}),
    },
    clientExtensionResults: {},
  };
};

// A factor's own fields by method (enroll, switch, add), as the contract's oneOf by `method` has them. The values go as
// the page sent them (AuthService refuses a wrong method, channel or number with a 400 the page shows).
/** @returns {import('./contract').MethodFields} */
const methodFields = (b) => {
  const method = str(b.method);
  if (method === 'phone') {
    return { method, phoneNumber: str(b.phoneNumber) ?? '', channel: /** @type {'sms' | 'call'} */ (str(b.channel)) };
  }
  if (method === 'passkey') return { method, accountName: str(b.accountName), displayName: str(b.displayName) };
  return { method: /** @type {'totp'} */ (method), accountName: str(b.accountName) };
};

// Portal action -> AuthService call. Only the fields named here are forwarded. Paths, path parameters and bodies are
// the contract's own (openapi-fetch typed by openapi.yaml, checked by `make portal-typecheck`).
/** @type {import('./contract').PortalRoutes} */
const routes = {
  'GET /api/status': (q) => api.GET('/v1/users/{userId}/two-factor', { params: ofUser(q) }),
  'POST /api/login-decision': (b) => api.POST('/v1/login-decisions',
    { body: { userId: str(b.userId) ?? '', loginMethod: 'password', deviceToken: b.deviceToken } }),
  'POST /api/enroll': (b) => api.POST('/v1/users/{userId}/two-factor/enroll',
    { params: ofUser(b), body: methodFields(b) }),
  'POST /api/confirm': (b) => api.POST('/v1/users/{userId}/two-factor/enroll/confirm',
    { params: ofUser(b), body: b.credential ? { credential: credential(b.credential) } : { code: str(b.code) } }),
  'POST /api/challenge': (b) => api.POST('/v1/users/{userId}/two-factor/challenge', { params: ofUser(b), body: {
    channel: /** @type {'sms' | 'call' | 'passkey'} */ (str(b.channel)), purpose: str(b.purpose) === 'proof' ? 'proof' : 'login',
    factorId: str(b.factorId),
  } }),
  'POST /api/verify': (b) => api.POST('/v1/users/{userId}/two-factor/verify', { params: ofUser(b), body: {
    ...(b.credential ? { credential: credential(b.credential) }
      : str(b.backupCode) ? typedCode(str(b.backupCode)) : { code: str(b.code) }),
    deviceToken: b.deviceToken,
    rememberDevice: b.remember === true && !isBypassCode(str(b.backupCode) ?? '') ? { label: b.deviceLabel } : undefined,
  } }),
  'POST /api/switch': (b) => api.POST('/v1/users/{userId}/two-factor/switch-method',
    { params: ofUser(b), body: { ...methodFields(b), proof: proof(b.proof, b.proofCredential) } }),
  'POST /api/switch/confirm': (b) => api.POST('/v1/users/{userId}/two-factor/switch-method/confirm',
    { params: ofUser(b), body: b.credential ? { credential: credential(b.credential) } : { code: str(b.code) } }),
  'GET /api/backup-codes': (q) => api.GET('/v1/users/{userId}/two-factor/backup-codes', { params: ofUser(q) }),
  'POST /api/backup-codes': (b) => api.POST('/v1/users/{userId}/two-factor/backup-codes',
    { params: ofUser(b), body: { proof: proof(b.proof, b.proofCredential) } }),
  'POST /api/skip': (b) => api.POST('/v1/users/{userId}/two-factor/prompt/skip', { params: ofUser(b) }),
  // Several named factors (DESIGN §9.2): add one (with a proof once 2FA is on) and confirm it, rename it or make it the
  // default, remove it (with a proof from another factor or a backup code).
  'POST /api/factors': (b) => api.POST('/v1/users/{userId}/two-factor/factors',
    { params: ofUser(b), body: { ...methodFields(b), label: str(b.label) || undefined, proof: changeProof(b) } }),
  'POST /api/factors/confirm': (b) => api.POST('/v1/users/{userId}/two-factor/factors/{factorId}/confirm',
    { params: ofFactor(b), body: b.credential ? { credential: credential(b.credential) } : { code: str(b.code) } }),
  'PATCH /api/factors': (b) => api.PATCH('/v1/users/{userId}/two-factor/factors/{factorId}',
    { params: ofFactor(b), body: { label: str(b.label), ...(b.default === true ? { default: true } : {}) } }),
  'DELETE /api/factors': (b) => api.DELETE('/v1/users/{userId}/two-factor/factors/{factorId}',
    { params: ofFactor(b), body: { proof: changeProof(b) ?? {} } }),
  ...deviceRoutes(api),
};

function send(res, status, body, extraHeaders = {}) {
  if (status === 204) { // No Content: a removed factor
    res.writeHead(204, { ...securityHeaders, ...extraHeaders });
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { ...securityHeaders, 'Content-Type': 'application/json; charset=utf-8', ...extraHeaders });
  res.end(text);
}

async function readText(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16 * 1024) throw Object.assign(new Error('too large'), { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req) {
  const text = await readText(req);
  if (text.length === 0) return {};
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' ? value : {};
  } catch {
    throw Object.assign(new Error('bad json'), { status: 400 });
  }
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://portal.invalid');
  try {
    const file = (req.method === 'GET' || req.method === 'HEAD') && staticFiles[url.pathname];
    if (file) {
      const content = await readFile(path.join(publicDir, file[0]));
      res.writeHead(200, { ...securityHeaders, 'Content-Type': file[1] });
      res.end(content);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/healthz') {
      send(res, 200, { ok: true, securityNotices: webhookSecret !== null });
      return;
    }
    if (req.method === 'POST' && url.pathname === webhookPath) {
      // The signature is over the exact bytes: verify the raw body before parsing it.
      const status = receive(webhookSecret, req.headers, await readText(req));
      res.writeHead(status).end();
      return;
    }
    // Before every /api route, notices included: a page re-pointed at this machine by DNS rebinding reads nothing.
    if (url.pathname.startsWith('/api/') && !allowedHosts.has((req.headers.host || '').toLowerCase())) {
      send(res, 421, { status: 421, detail: 'This portal is not served under that name (PORTAL_ALLOWED_HOSTS).' });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/api/notices') {
      send(res, 200, { items: noticesFor(url.searchParams.get('userId') || '') });
      return;
    }
    const route = routes[`${req.method} ${url.pathname}`];
    if (!route) {
      send(res, 404, { status: 404, detail: 'Not found.' });
      return;
    }
    if (req.method !== 'GET' && !(req.headers['content-type'] || '').startsWith('application/json')) {
      // Also keeps plain cross-site form posts out: they cannot send application/json without a CORS preflight (and
      // PATCH/DELETE from another site need one anyway).
      send(res, 415, { status: 415, detail: 'Send JSON.' });
      return;
    }
    const input = req.method === 'GET' ? Object.fromEntries(url.searchParams) : await readJson(req);
    // The remembered device comes from this browser's HttpOnly cookie and User-Agent, never from the page.
    Object.assign(input, { deviceToken: deviceTokenOf(req), deviceLabel: deviceLabel(req) });
    const result = keepDeviceToken(await answer(route(input)));
    console.log(`${req.method} ${url.pathname} -> ${result.asked} ${result.status}`);
    send(res, result.status, result.body, result.headers);
  } catch (e) {
    const status = e.status || 500;
    if (status === 500) console.error(e);
    send(res, status, { status, detail: status === 500 ? 'Something went wrong in the portal.' : 'The request is invalid.' });
  }
});

server.listen(port, host, async () => {
  console.log(`Sample portal on http://${host}:${port}  (AuthService: ${authServiceUrl})`);
  webhookSecret = await subscribe(authService, webhookUrl);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => { server.close(); server.closeAllConnections(); process.exit(0); });
}
