// End-to-end test: a throwaway PostgreSQL, AuthService from its built DLL, the sample portal backend, and headless
// Debian Chromium driven by playwright-core, with a DevTools-protocol virtual authenticator for the passkey tests.
// Also checks Swagger UI (Authorize -> GET /v1/api-keys -> 200).
//
//   node samples/portal/e2e/portal.e2e.mjs      (after `dotnet build`; `make e2e` does everything)
//
// Screenshots and logs go to .data/e2e/. Everything started here is stopped in `finally`, and on SIGINT/SIGTERM.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, createWriteStream, existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { rememberedBrowserTests } from './devices.e2e.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const outDir = path.join(root, '.data/e2e');
const pgName = 'e2e-pg'; // its cluster lives in .data/e2e-pg, apart from the screenshots in .data/e2e
const pgPort = Number(process.env.E2E_PG_PORT || 25460);
const dll = path.join(root, `AuthService.Api/bin/${process.env.CONFIG || 'Debug'}/net10.0/AuthService.Api.dll`);
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const adminKey = `ask_e2e_${randomBytes(24).toString('base64url')}`;
const t0 = Date.now();
const log = (msg) => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);

// ---- RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s), independent of AuthService's own implementation ----------------
function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, value = 0;
  const out = [];
  for (const ch of text.toUpperCase().replace(/[\s=]/g, '')) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i; bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Buffer.from(out);
}
function totp(secret, unixSeconds = Date.now() / 1000, step = 30, digits = 6) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / step)));
  const h = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const o = h[h.length - 1] & 0x0f;
  const n = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 10 ** digits).padStart(digits, '0');
}
// RFC 6238 appendix B test vector (SHA-1, T=59 -> 94287082 with 8 digits), so a broken helper fails loudly here.
assert.equal(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 59, 30, 8), '94287082');

// ---- processes --------------------------------------------------------------------------------------------------
const children = [];
let browser;
let cleanedUp = false;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

function start(name, command, args, env) {
  const file = createWriteStream(path.join(outDir, `${name}.log`));
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.output = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (d) => { child.output += d; file.write(d); });
  }
  child.on('exit', (code, signal) => { child.exited = true; file.end(); if (!cleanedUp) log(`${name} exited (${code ?? signal})`); });
  child.label = name;
  children.push(child);
  return child;
}

async function waitFor(url, child, seconds) {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (child.exited) throw new Error(`${child.label} exited before ${url} answered; see .data/e2e/${child.label}.log`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer 200 within ${seconds}s; see .data/e2e/${child.label}.log`);
}

function pg(...args) {
  return execFileSync(path.join(root, 'scripts/pg.sh'), args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

async function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  try { await browser?.close(); } catch { /* already gone */ }
  for (const child of children.reverse()) {
    if (child.exited) continue;
    child.kill('SIGTERM');
    await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
    if (!child.exited) child.kill('SIGKILL');
  }
  try { pg('stop', pgName); } catch { /* nothing to stop */ }
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => { await cleanup(); process.exit(130); });
}

// The code the development telephony sender (Telephony:Provider=log) wrote after `since` in AuthService's log.
async function devCode(service, since) {
  const until = Date.now() + 10000;
  while (Date.now() < until) {
    const matches = [...service.output.slice(since).matchAll(/DEV CODE for [^:]*: (\d{4,10})/g)];
    if (matches.length) return matches.at(-1)[1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no DEV CODE in the AuthService log');
}

// ---- the tests --------------------------------------------------------------------------------------------------
const results = [];
async function test(name, page, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    log(`PASS ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    log(`FAIL ${name}: ${e.stack || e}`);
    const file = path.join(outDir, `failed-${results.length}.png`);
    try { await page.screenshot({ path: file, fullPage: true }); log(`     screenshot: ${path.relative(root, file)}`); } catch { /* no page */ }
  }
}

const tid = (page, id) => page.getByTestId(id);
const msgIs = async (page, id, re) => {
  const el = tid(page, id);
  await el.filter({ hasText: re }).waitFor({ timeout: 10000 }).catch(async () => {
    throw new Error(`[data-testid=${id}] should match ${re} but says: "${await el.textContent()}"`);
  });
};

async function main() {
  assert.ok(existsSync(dll), `${dll} is missing: run dotnet build first`);
  assert.ok(existsSync(chromiumPath), `${chromiumPath} is missing: apt-get install -y chromium`);
  assert.ok(existsSync(path.join(root, 'samples/portal/node_modules/openapi-fetch')),
    'the portal needs its dependencies: cd samples/portal && npm ci (make e2e does)');
  rmSync(outDir, { recursive: true, force: true }); // no screenshot of an earlier run is mistaken for this one's
  mkdirSync(outDir, { recursive: true });

  // 1. A fresh PostgreSQL cluster every run.
  pg('destroy', pgName); // this checkout's cluster, under .data/ or its /tmp fallback; 0 when there is none, a failure when it would not stop
  const conn = pg('start', pgName, String(pgPort));
  const actualPort = /Port=(\d+)/.exec(conn)[1]; // pg.sh moves to the next port when the asked one is taken
  execFileSync('psql', ['-h', '127.0.0.1', '-p', actualPort, '-U', 'postgres', '-qc', 'create database authservice_e2e']);
  log(`PostgreSQL on ${actualPort}`);

  // 2. AuthService from the built DLL. Passkeys need a domain as RP ID: the portal is opened as localhost for them.
  const portalPort = await freePort();
  const passkeyUrl = `http://localhost:${portalPort}`;
  const servicePort = await freePort();
  const serviceUrl = `http://127.0.0.1:${servicePort}`;
  const service = start('authservice', 'dotnet', [dll], {
    ASPNETCORE_ENVIRONMENT: 'Development',
    ASPNETCORE_URLS: serviceUrl,
    ConnectionStrings__Auth: conn.replace('Database=postgres', 'Database=authservice_e2e'),
    Encryption__ActiveKeyId: 'e2e',
    Encryption__Keys__e2e: randomBytes(32).toString('base64'),
    Auth__BootstrapAdminKey: adminKey,
    Telephony__Provider: 'log',
    Webhooks__PollInterval: '00:00:00.200', // every verify also sends new_device_login: a user's events go out one per poll
    Passkeys__RelyingPartyId: 'localhost',
    Passkeys__RelyingPartyName: 'Sample portal',
    Passkeys__Origins__0: passkeyUrl,
  });
  await waitFor(`${serviceUrl}/health/ready`, service, 60);
  log(`AuthService ready on ${serviceUrl}`);

  // 3. The sample portal backend, holding the admin key.
  const portalUrl = `http://127.0.0.1:${portalPort}`;
  const portal = start('portal', process.execPath, [path.join(root, 'samples/portal/server.mjs')], {
    AUTHSERVICE_URL: serviceUrl, AUTHSERVICE_API_KEY: adminKey, PORTAL_PORT: String(portalPort), PORTAL_HOST: '127.0.0.1',
  });
  await waitFor(`${portalUrl}/healthz`, portal, 15);
  log(`portal on ${portalUrl}`);

  // 4. Headless Debian Chromium (never a downloaded browser). playwright-core gives it a fresh temporary profile.
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  const openAs = async (user, base = portalUrl) => {
    await page.goto(base, { waitUntil: 'networkidle' });
    await tid(page, 'user-id').fill(user);
    await tid(page, 'status-refresh').click();
    await msgIs(page, 'status', new RegExp(user));
  };

  const ann = `e2e-ann-${Date.now()}`;
  let backupCodes = [];

  await test('TOTP: enrollment prompt, setup with the shown secret, 10 backup codes shown once with the warning', page, async () => {
    await openAs(ann);
    await tid(page, 'login-password').click();
    await tid(page, 'enroll-prompt').waitFor();
    assert.ok(await tid(page, 'prompt-skip').isVisible(), '"Skip for now" is offered');
    await tid(page, 'prompt-setup').click();
    await tid(page, 'totp-account').fill(`${ann}@example.com`);
    await tid(page, 'totp-start').click();
    await tid(page, 'totp-setup').waitFor();
    const qr = await tid(page, 'totp-qr').getAttribute('src');
    assert.match(qr, /^data:image\/png;base64,/);
    assert.ok(await tid(page, 'totp-qr').evaluate((img) => img.complete && img.naturalWidth > 0), 'QR image decodes');
    const secret = (await tid(page, 'totp-secret').textContent()).replace(/\s/g, '');
    assert.match(secret, /^[A-Z2-7]{16,}$/);
    page.secret = secret;
    await tid(page, 'totp-setup').screenshot({ path: path.join(outDir, 'portal-totp-qr.png') });
    await tid(page, 'totp-code').fill(totp(secret));
    await tid(page, 'totp-confirm').click();
    await tid(page, 'backup-codes').waitFor();
    backupCodes = await tid(page, 'backup-list').locator('li').allTextContents();
    assert.equal(backupCodes.length, 10);
    assert.match(await tid(page, 'backup-warning').textContent(), /save these now.*will not be shown again/i);
    await msgIs(page, 'status', /on \(authenticator app\); 10 backup codes left/);
    await page.screenshot({ path: path.join(outDir, 'portal-after-enrollment.png'), fullPage: true });
    await tid(page, 'backup-done').click();
    assert.equal(await tid(page, 'backup-list').locator('li').count(), 0, 'the codes leave the page');
  });

  await test('TOTP login: password -> decision verify -> code -> verified', page, async () => {
    assert.ok(page.secret, 'needs the enrollment above');
    await openAs(ann);
    await tid(page, 'login-password').click();
    await tid(page, 'login-code').waitFor();
    assert.equal(await tid(page, 'login-sms').isVisible(), false, 'no SMS/Call buttons for TOTP users');
    // The confirm code's time step cannot be used again; the next step is inside the ±1 window.
    await tid(page, 'login-code').fill(totp(page.secret, Date.now() / 1000 + 30));
    await tid(page, 'login-code-submit').click();
    await msgIs(page, 'login-msg', /Verified — you are signed in/);
  });

  await test('Wrong code: the 422 detail is shown to the person', page, async () => {
    await openAs(ann);
    await tid(page, 'login-password').click();
    const now = Date.now() / 1000;
    const valid = new Set([-1, 0, 1, 2].map((k) => totp(page.secret, now + 30 * k)));
    const wrong = ['123456', '654321', '111111'].find((c) => !valid.has(c));
    await tid(page, 'login-code').fill(wrong);
    await tid(page, 'login-code-submit').click();
    await msgIs(page, 'login-msg', /The code is wrong, expired or has already been used\./);
    assert.match(await tid(page, 'login-msg').getAttribute('class'), /error/);
  });

  await test('Backup code login: "use a backup code" -> verified, 9 left; the same code again is refused', page, async () => {
    assert.equal(backupCodes.length, 10, 'needs the codes from the enrollment above');
    for (const [attempt, expect] of [[1, /Verified — you are signed in\. You have 9 backup codes left\./],
      [2, /The code is wrong, expired or has already been used\./]]) {
      await openAs(ann);
      await tid(page, 'login-password').click();
      await tid(page, 'use-backup').click();
      await tid(page, 'login-backup-code').fill(backupCodes[0]);
      await tid(page, 'login-backup-submit').click();
      await msgIs(page, 'login-msg', expect);
      log(`     backup code attempt ${attempt} ok`);
    }
  });

  await test('Support code login: a bypass code support reads out signs in through the same field', page, async () => {
    const issued = await fetch(`${serviceUrl}/v1/users/${ann}/two-factor/bypass-codes`, { method: 'POST',
      headers: { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ reason: 'Phone left at home, identity checked', ticket: 'SUP-E2E-BYPASS' }) });
    assert.equal(issued.status, 201, await issued.clone().text());
    const { code } = await issued.json();
    assert.match(code, /^\d{3}-\d{3}-\d{3}$/);
    await openAs(ann);
    await tid(page, 'login-password').click();
    await tid(page, 'use-backup').click();
    await tid(page, 'login-backup-code').fill(code);
    await tid(page, 'login-backup-submit').click();
    await msgIs(page, 'login-msg', /Verified — you are signed in/);
  });

  await test('The /api routes answer only under the portal\'s own names; a cookie it did not set is ignored', page, async () => {
    const asHost = (hostHeader, path = `/api/status?userId=${ann}`) => new Promise((resolve, reject) => {
      const request = http.request(`${portalUrl}${path}`, { headers: { Host: hostHeader } }, (r) => {
        r.resume();
        r.on('end', () => resolve(r.statusCode));
      });
      request.on('error', reject);
      request.end();
    });
    assert.equal(await asHost('evil.example'), 421, 'a name re-pointed at this machine (DNS rebinding)');
    assert.equal(await asHost(new URL(portalUrl).host), 200);
    assert.equal(await asHost('evil.example', `/api/notices?userId=${ann}`), 421, 'the security notices too');
    assert.equal(await asHost(new URL(portalUrl).host, `/api/notices?userId=${ann}`), 200);
    const badCookie = await fetch(`${portalUrl}/api/status?userId=${ann}`, { headers: { Cookie: 'portal_device=%' } });
    assert.equal(badCookie.status, 200, 'a cookie that does not decode is no device, not a 500');
  });

  const bob = `e2e-bob-${Date.now()}`;
  await test('Phone: SMS setup, then login with a code by Call', page, async () => {
    await openAs(bob);
    await tid(page, 'phone-number').fill('+13035550123');
    let since = service.output.length;
    await tid(page, 'phone-sms').click();
    await msgIs(page, 'setup-msg', /We sent a code by SMS to/);
    await tid(page, 'phone-code').fill(await devCode(service, since));
    await tid(page, 'phone-confirm').click();
    await tid(page, 'backup-codes').waitFor();
    assert.equal(await tid(page, 'backup-list').locator('li').count(), 10);
    await tid(page, 'backup-done').click();
    await tid(page, 'login-password').click();
    await tid(page, 'login-call').waitFor();
    since = service.output.length;
    await tid(page, 'login-call').click();
    await msgIs(page, 'login-msg', /We are calling/);
    await tid(page, 'login-code').fill(await devCode(service, since));
    await tid(page, 'login-code-submit').click();
    await msgIs(page, 'login-msg', /Verified — you are signed in/);
  });

  await test('Limits: the exact portal messages for too many failed attempts and too many code requests', page, async () => {
    await openAs(bob);
    await tid(page, 'login-password').click();
    await tid(page, 'login-code').waitFor();
    for (let i = 0; i < 6; i++) { // 5 failures a minute are allowed; the 6th attempt is refused
      await tid(page, 'login-code').fill('000000');
      await tid(page, 'login-code-submit').click();
      await page.waitForFunction(() => !document.querySelector('[data-testid=login-code-submit]').disabled);
    }
    await msgIs(page, 'login-msg', /^You have exceeded the number of log in attempts allowed\. Please wait a minute then try again\.$/);
    for (let i = 0; i < 12; i++) { // 10 codes a day (2 used above): the SMS button runs into the daily budget
      await tid(page, 'login-sms').click();
      await page.waitForFunction(() => !document.querySelector('[data-testid=login-sms]').disabled);
      if (/exceeded/.test(await tid(page, 'login-msg').textContent())) break;
    }
    await msgIs(page, 'login-msg', /^You have exceeded the maximum number of allowed requests\.$/);
  });

  await test('Switch method: TOTP -> phone (proof: a backup code), confirmed with the SMS code; backup codes kept', page, async () => {
    assert.equal(backupCodes.length, 10, 'needs the codes from the enrollment above');
    await openAs(ann);
    await tid(page, 'switch-to-phone').check();
    await tid(page, 'switch-phone').fill('+13035550124');
    await tid(page, 'switch-proof').fill(backupCodes[1]);
    const since = service.output.length;
    await tid(page, 'switch-start').click();
    await msgIs(page, 'switch-msg', /We sent a code to/);
    await tid(page, 'switch-code').fill(await devCode(service, since));
    await tid(page, 'switch-confirm').click();
    await msgIs(page, 'switch-msg', /Switched: you now use your phone/);
    await msgIs(page, 'status', /on \(phone .*\); 8 backup codes left/);
  });

  let freshCodes = [];
  await test('Backup codes: count, then a new set of 10 for a proof code sent by SMS; the old codes die', page, async () => {
    await openAs(ann);
    await tid(page, 'backup-count').click();
    await msgIs(page, 'codes-msg', /You have 8 backup codes left\./);
    const since = service.output.length;
    await tid(page, 'regen-proof-sms').click(); // a proof challenge: a sign-in code would not be accepted here
    await msgIs(page, 'codes-msg', /We sent a code by SMS to/);
    await tid(page, 'regen-proof').fill(await devCode(service, since));
    await tid(page, 'regen-submit').click();
    await tid(page, 'backup-codes').waitFor();
    assert.equal(await tid(page, 'backup-list').locator('li').count(), 10);
    freshCodes = await tid(page, 'backup-list').locator('li').allTextContents();
    await tid(page, 'backup-done').click();
    await tid(page, 'login-password').click();
    await tid(page, 'use-backup').click();
    await tid(page, 'login-backup-code').fill(backupCodes[3]);
    await tid(page, 'login-backup-submit').click();
    await msgIs(page, 'login-msg', /The code is wrong, expired or has already been used\./);
  });

  const noticeShown = (re) => tid(page, 'notices').locator('li', { hasText: re }).first().waitFor({ timeout: 15000 })
    .catch(async () => { throw new Error(`no notice ${re}; the list says: ${await tid(page, 'notices').textContent()}`); });
  await test('Security notices: signed webhooks from AuthService appear for the person, incl. a support reset and low codes', page, async () => {
    assert.equal((await (await fetch(`${portalUrl}/healthz`)).json()).securityNotices, true, 'the portal subscribed at start');
    await openAs(ann);
    await noticeShown(/^Two-factor authentication was turned on$/);
    await noticeShown(/^Your method was changed to SMS$/);
    await noticeShown(/^New backup codes were created/);
    await noticeShown(/^A backup code was used to sign in$/);
    await noticeShown(/^A support bypass code was used to sign in$/);
    assert.equal(freshCodes.length, 10, 'needs the new set from the test above');
    for (const backupCode of freshCodes.slice(0, 8)) { // 10 -> 2 left
      const r = await fetch(`${portalUrl}/api/verify`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ userId: ann, backupCode }) });
      assert.equal(r.status, 200, await r.text());
    }
    await noticeShown(/^You have 2 backup codes left$/);
    // Support tooling (not the portal) resets the factor: the portal hears of it all the same.
    const reset = await fetch(`${serviceUrl}/v1/users/${ann}/two-factor/reset`, { method: 'POST',
      headers: { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ reason: 'Lost phone, identity checked', ticket: 'SUP-E2E' }) });
    assert.equal(reset.status, 200);
    await noticeShown(/^Support reset your two-factor settings$/);
    assert.equal(await tid(page, 'notices').locator('li').first().textContent(), 'Support reset your two-factor settings', 'newest first');
    await tid(page, 'notices').screenshot({ path: path.join(outDir, 'portal-security-notices.png') });
    await openAs(bob);
    await noticeShown(/^Too many sign-in attempts or code requests/);
  });

  await test('Security notices: a forged, altered or replayed webhook is refused (401) and never shown', page, async () => {
    // The portal's check itself, with a secret of the test's own: only the exact signed request within 5 minutes passes.
    const { verifySignature } = await import('../webhooks.mjs');
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const now = Math.floor(Date.now() / 1000);
    const sign = (key, id, ts, body) => createHmac('sha256', Buffer.from(key.replace(/^whsec_/, ''), 'base64')).update(`${id}.${ts}.${body}`).digest('base64');
    const body = JSON.stringify({ type: 'two_factor.devices_revoked', timestamp: new Date().toISOString(), data: { userId: ann, count: 77 } });
    const headers = (ts, signature, id = 'msg_forged_1') => ({ 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature });
    assert.equal(verifySignature(secret, headers(now, `v1,${sign(secret, 'msg_forged_1', now, body)}`), body), true, 'the genuine request');
    assert.equal(verifySignature(secret, headers(now, `v1,${sign(secret, 'msg_forged_1', now, body)}`), body.replace('77', '78')), false, 'an altered body');
    assert.equal(verifySignature(secret, headers(now, `v1,${sign(secret, 'msg_forged_2', now, body)}`), body), false, 'another message id');
    assert.equal(verifySignature(secret, headers(now - 301, `v1,${sign(secret, 'msg_forged_1', now - 301, body)}`), body), false, 'a replay 5 minutes on');
    assert.equal(verifySignature(secret, headers(now, `v2,${sign(secret, 'msg_forged_1', now, body)}`), body), false, 'an unknown version');
    assert.equal(verifySignature(secret, headers(`${now}.0`, `v1,${sign(secret, 'msg_forged_1', `${now}.0`, body)}`), body), false, 'a timestamp not in digits');
    const other = `whsec_${randomBytes(32).toString('base64')}`;
    assert.equal(verifySignature(secret, headers(now, `v1,${sign(other, 'msg_forged_1', now, body)}`), body), false, 'another secret');
    // And the running portal: a notice signed with a secret AuthService never gave it is refused and shows nothing.
    const forged = await fetch(`${portalUrl}/webhooks/authservice`, { method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers(now, `v1,${sign(other, 'msg_forged_1', now, body)}`) }, body });
    assert.equal(forged.status, 401);
    const unsigned = await fetch(`${portalUrl}/webhooks/authservice`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    assert.equal(unsigned.status, 401);
    const shown = await (await fetch(`${portalUrl}/api/notices?userId=${ann}`)).json();
    assert.ok(!JSON.stringify(shown).includes('77 remembered'), `a forged notice was shown: ${JSON.stringify(shown)}`);
  });

  // A platform authenticator with user verification, as a phone or laptop has: Chromium's virtual one (CDP WebAuthn).
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId: authenticator } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true,
      automaticPresenceSimulation: true },
  });
  const presence = (authenticatorId, enabled) => cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
  const carol = `e2e-carol-${Date.now()}`;
  let carolCodes = [];
  let carolSecret;

  await test('Passkey: "Set up a passkey" with a virtual authenticator, 10 backup codes shown once', page, async () => {
    await openAs(carol, passkeyUrl);
    await tid(page, 'passkey-setup').click();
    await tid(page, 'backup-codes').waitFor();
    carolCodes = await tid(page, 'backup-list').locator('li').allTextContents();
    assert.equal(carolCodes.length, 10);
    await msgIs(page, 'setup-msg', /Passkey set up/);
    await msgIs(page, 'status', /on \(passkey\); 10 backup codes left/);
    await tid(page, 'backup-done').click();
  });

  await test('Passkey login: password -> decision verify (passkey) -> "Use your passkey" -> verified', page, async () => {
    await openAs(carol, passkeyUrl);
    await tid(page, 'login-password').click();
    await tid(page, 'login-passkey').waitFor();
    assert.equal(await tid(page, 'login-code').isVisible(), false, 'no code field for passkey users');
    await tid(page, 'login-passkey').click();
    await msgIs(page, 'login-msg', /Verified — you are signed in/);
  });

  await test('Passkey user: a backup code signs in', page, async () => {
    assert.equal(carolCodes.length, 10, 'needs the passkey enrollment above');
    await openAs(carol, passkeyUrl);
    await tid(page, 'login-password').click();
    await tid(page, 'use-backup').click();
    await tid(page, 'login-backup-code').fill(carolCodes[0]);
    await tid(page, 'login-backup-submit').click();
    await msgIs(page, 'login-msg', /Verified — you are signed in\. You have 9 backup codes left\./);
  });

  await test('Switch passkey -> TOTP, proved with the passkey', page, async () => {
    await openAs(carol, passkeyUrl);
    await tid(page, 'switch-to-totp').check();
    await tid(page, 'switch-start-passkey-proof').click();
    await msgIs(page, 'switch-msg', /Scan the new QR code/);
    carolSecret = (await tid(page, 'switch-secret').textContent()).replace(/\s/g, '');
    await tid(page, 'switch-code').fill(totp(carolSecret));
    await tid(page, 'switch-confirm').click();
    await msgIs(page, 'switch-msg', /Switched: you now use your authenticator app/);
    await msgIs(page, 'status', /on \(authenticator app\); 9 backup codes left/);
  });

  await test('Switch TOTP -> passkey, proved with a TOTP code; then the new passkey signs in', page, async () => {
    assert.ok(carolSecret, 'needs the switch above');
    await openAs(carol, passkeyUrl);
    await tid(page, 'switch-to-passkey').check();
    await tid(page, 'switch-proof').fill(totp(carolSecret, Date.now() / 1000 + 30));
    await tid(page, 'switch-start').click();
    await msgIs(page, 'switch-msg', /Switched: you now use your passkey/);
    await msgIs(page, 'status', /on \(passkey\); 9 backup codes left/);
    await tid(page, 'login-password').click();
    await tid(page, 'login-passkey').click();
    await msgIs(page, 'login-msg', /Verified — you are signed in/);
    await page.screenshot({ path: path.join(outDir, 'portal-passkey.png'), fullPage: true });
  });

  // ---- several named factors (DESIGN §9.2) ----------------------------------------------------------------------
  // Dave keeps two authenticator apps and two passkeys: one on this device (the virtual authenticator above) and one on
  // a security key, a second virtual authenticator. Only one of the two answers at a time (automatic presence), as a
  // person touches one device: the device holding an excluded credential would refuse a new registration, and a device
  // without the asked-for credential would answer a sign-in with "not allowed".
  const { authenticatorId: securityKey } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2',
    transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: false } });
  const dave = `e2e-dave-${Date.now()}`;
  const d = { codes: [] };
  const factorRows = () => page.$$eval('[data-testid=factor]', (lis) => lis.map((li) => ({
    id: li.dataset.factorId, method: li.dataset.method, default: li.dataset.default === 'true',
    label: li.querySelector('[data-testid=factor-label]').textContent,
    phone: li.querySelector('[data-testid=factor-phone]')?.textContent ?? null,
    lastUsed: li.querySelector('[data-testid=factor-last-used]').textContent,
  })));
  const row = (id) => page.locator(`[data-testid=factor][data-factor-id="${id}"]`);
  const newRow = async (known) => {
    const rows = await factorRows();
    const fresh = rows.filter((r) => !known.includes(r.id));
    assert.equal(fresh.length, 1, `one new factor in ${JSON.stringify(rows)}`);
    return fresh[0];
  };

  await test('Factors: TOTP enrollment (the existing flow) lists one factor, the default', page, async () => {
    await openAs(dave, passkeyUrl);
    assert.ok(await tid(page, 'factor-empty').isVisible(), '"No factors yet" before any');
    await tid(page, 'totp-account').fill(`${dave}@example.com`);
    await tid(page, 'totp-start').click();
    await tid(page, 'totp-setup').waitFor();
    d.secretA = (await tid(page, 'totp-secret').textContent()).replace(/\s/g, '');
    await tid(page, 'totp-code').fill(totp(d.secretA));
    await tid(page, 'totp-confirm').click();
    await tid(page, 'backup-codes').waitFor();
    d.codes = await tid(page, 'backup-list').locator('li').allTextContents();
    await tid(page, 'backup-done').click();
    await tid(page, 'factor').first().waitFor();
    const rows = await factorRows();
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.equal(rows[0].method, 'totp');
    assert.equal(rows[0].default, true, 'the only factor is the default');
    assert.equal(await row(rows[0].id).getByTestId('factor-default').textContent(), 'Default');
    assert.equal(await row(rows[0].id).getByTestId('factor-make-default').count(), 0, 'no "Make default" on the default');
    assert.ok(await tid(page, 'factor-add-proof-rows').isVisible(), 'adding a factor now asks for a proof');
    d.a = rows[0].id;
  });

  await test('Factors: add a second authenticator app, proved with a code from the first', page, async () => {
    assert.ok(d.a, 'needs the enrollment above');
    await openAs(dave, passkeyUrl);
    await tid(page, 'factor-add-method').selectOption('totp');
    await tid(page, 'factor-add-label').fill('Tablet app');
    await tid(page, 'factor-add-via').selectOption(d.a);
    await tid(page, 'factor-add-proof').fill(totp(d.secretA, Date.now() / 1000 + 30)); // the confirm code's step is spent
    await tid(page, 'factor-add-start').click();
    await tid(page, 'factor-add-totp').waitFor();
    assert.match(await tid(page, 'factor-add-qr').getAttribute('src'), /^data:image\/png;base64,/);
    d.secretB = (await tid(page, 'factor-add-secret').textContent()).replace(/\s/g, '');
    assert.notEqual(d.secretB, d.secretA, 'a secret of its own');
    await tid(page, 'factor-add-code').fill(totp(d.secretB));
    await tid(page, 'factor-add-confirm').click();
    await msgIs(page, 'factors-msg', /^Added "Tablet app"\.$/);
    assert.equal(await tid(page, 'backup-codes').isVisible(), false, 'no new backup codes: 2FA was already on');
    const b = await newRow([d.a]);
    assert.deepEqual([b.method, b.label, b.default], ['totp', 'Tablet app', false]);
    d.b = b.id;
    await msgIs(page, 'status', /on \(authenticator app\); 10 backup codes left/);
  });

  await test('Factors: add a passkey (virtual authenticator), then a second one on a security key (backup-code proof)', page, async () => {
    assert.ok(d.b, 'needs the second app above');
    await openAs(dave, passkeyUrl);
    await tid(page, 'factor-add-method').selectOption('passkey');
    await tid(page, 'factor-add-label').fill('This laptop');
    await tid(page, 'factor-add-via').selectOption(d.b);
    await tid(page, 'factor-add-proof').fill(totp(d.secretB, Date.now() / 1000 + 30));
    await tid(page, 'factor-add-start').click();
    await msgIs(page, 'factors-msg', /^Added "This laptop"\.$/);
    const p1 = await newRow([d.a, d.b]);
    assert.deepEqual([p1.method, p1.default], ['passkey', false]);
    d.p1 = p1.id;

    // The second passkey on the security key; the platform authenticator, which holds an excluded credential, is idle.
    await presence(authenticator, false);
    await presence(securityKey, true);
    try {
      await tid(page, 'factor-add-method').selectOption('passkey');
      await tid(page, 'factor-add-label').fill('Security key');
      await tid(page, 'factor-add-via').selectOption('backup');
      await tid(page, 'factor-add-proof').fill(d.codes[0]);
      await tid(page, 'factor-add-start').click();
      await msgIs(page, 'factors-msg', /^Added "Security key"\.$/);
    } finally {
      await presence(securityKey, false);
      await presence(authenticator, true);
    }
    const p2 = await newRow([d.a, d.b, d.p1]);
    assert.equal(p2.method, 'passkey');
    d.p2 = p2.id;
    assert.equal((await cdp.send('WebAuthn.getCredentials', { authenticatorId: securityKey })).credentials.length, 1,
      'the security key holds the second passkey');
    await msgIs(page, 'status', /9 backup codes left/);
    await page.screenshot({ path: path.join(outDir, 'portal-factors.png'), fullPage: true });
  });

  await test('Factors: rename one inline, make a passkey the default; sign-in then asks for it and its "last used" shows', page, async () => {
    assert.ok(d.p2, 'needs the passkeys above');
    await openAs(dave, passkeyUrl);
    await row(d.p2).getByTestId('factor-rename').click();
    await row(d.p2).getByTestId('factor-rename-input').fill('YubiKey 5');
    await row(d.p2).getByTestId('factor-rename-save').click();
    await msgIs(page, 'factors-msg', /^Renamed to "YubiKey 5"\.$/);
    assert.equal(await row(d.p2).getByTestId('factor-label').textContent(), 'YubiKey 5');

    await row(d.p1).getByTestId('factor-make-default').click();
    await msgIs(page, 'factors-msg', /^"This laptop" is now your default/);
    const rows = await factorRows();
    assert.deepEqual(rows.filter((r) => r.default).map((r) => r.id), [d.p1], 'exactly one default');
    await msgIs(page, 'status', /on \(passkey\); 9 backup codes left/);

    await tid(page, 'login-password').click();
    await tid(page, 'login-passkey').waitFor();
    const verify = page.waitForResponse((r) => r.url().endsWith('/api/verify'));
    await tid(page, 'login-passkey').click();
    await msgIs(page, 'login-msg', /Verified — you are signed in/);
    assert.equal((await (await verify).json()).factorId, d.p1, '/verify names the passkey that signed');
    await msgIs(page, 'status', /on \(passkey\)/);
    await row(d.p1).getByTestId('factor-last-used').filter({ hasText: /^Last used \d{4}-\d\d-\d\d \d\d:\d\d UTC$/ }).waitFor();
    assert.equal(await row(d.p2).getByTestId('factor-last-used').textContent(), 'Never used');
  });

  await test('Factors: add a phone (proved with the passkey); a code it gets by SMS proves the removal of an app', page, async () => {
    assert.ok(d.p2, 'needs the passkeys above');
    await openAs(dave, passkeyUrl);
    await tid(page, 'factor-add-method').selectOption('phone');
    await tid(page, 'factor-add-label').fill('Work phone');
    await tid(page, 'factor-add-phone').fill('+13035550126');
    await tid(page, 'factor-add-channel').selectOption('sms');
    await tid(page, 'factor-add-via').selectOption(d.p1);
    let since = service.output.length;
    await tid(page, 'factor-add-start').click();
    await msgIs(page, 'factors-msg', /^We sent a code by SMS to .+\. Type it below to finish\.$/);
    await tid(page, 'factor-add-code').fill(await devCode(service, since));
    await tid(page, 'factor-add-confirm').click();
    await msgIs(page, 'factors-msg', /^Added "Work phone"\.$/);
    const phone = await newRow([d.a, d.b, d.p1, d.p2]);
    assert.equal(phone.method, 'phone');
    assert.match(phone.phone, /^\+1.*\*.*0126$/, 'the number is shown masked');
    assert.equal(await row(phone.id).getByTestId('factor-method').textContent(), 'Phone (SMS)');
    d.phone = phone.id;

    await row(d.b).getByTestId('factor-remove').click();
    await tid(page, 'factor-remove-via').selectOption(d.phone);
    since = service.output.length;
    await tid(page, 'factor-remove-proof-sms').click(); // a 'proof' code, sent to the phone chosen
    await msgIs(page, 'factors-msg', /^We sent a code by SMS to .*0126\. Type it above\.$/);
    await tid(page, 'factor-remove-proof').fill(await devCode(service, since));
    await tid(page, 'factor-remove-submit').click();
    await msgIs(page, 'factors-msg', /^Removed "Tablet app"\.$/);
    assert.equal(await row(d.b).count(), 0);
  });

  await test('Factors: remove one with a backup code, two with a passkey proof; the last one cannot go (last_factor)', page, async () => {
    assert.ok(d.phone, 'needs the factors above');
    await openAs(dave, passkeyUrl);
    // The first app, proved with a backup code.
    await row(d.a).getByTestId('factor-remove').click();
    await tid(page, 'factor-remove-form').waitFor();
    assert.ok(!(await tid(page, 'factor-remove-via').locator('option').evaluateAll((os) => os.map((o) => o.value))).includes(d.a),
      'a factor cannot prove its own removal');
    await tid(page, 'factor-remove-via').selectOption('backup');
    await tid(page, 'factor-remove-proof').fill(d.codes[1]);
    await tid(page, 'factor-remove-submit').click();
    await msgIs(page, 'factors-msg', /^Removed "/);
    assert.equal(await row(d.a).count(), 0);
    // The security key and the phone, each proved with the laptop's passkey (a 'proof' challenge for it).
    for (const id of [d.p2, d.phone]) {
      await row(id).getByTestId('factor-remove').click();
      await tid(page, 'factor-remove-via').selectOption(d.p1);
      assert.equal(await tid(page, 'factor-remove-proof').isVisible(), false, 'a passkey needs no code field');
      await tid(page, 'factor-remove-submit').click();
      await msgIs(page, 'factors-msg', /^Removed "/);
      assert.equal(await row(id).count(), 0);
    }
    assert.deepEqual((await factorRows()).map((r) => r.id), [d.p1]);
    // The last factor: 2FA cannot be turned off by the person. A valid backup code does not change that.
    await row(d.p1).getByTestId('factor-remove').click();
    assert.deepEqual(await tid(page, 'factor-remove-via').locator('option').evaluateAll((os) => os.map((o) => o.value)), ['backup']);
    await tid(page, 'factor-remove-proof').fill(d.codes[2]);
    await tid(page, 'factor-remove-submit').click();
    await page.locator('[data-testid=factors-msg][data-code=last_factor]').waitFor({ timeout: 10000 })
      .catch(async () => { throw new Error(`no last_factor message; it says: "${await tid(page, 'factors-msg').textContent()}"`); });
    assert.match(await tid(page, 'factors-msg').getAttribute('class'), /error/);
    assert.ok((await tid(page, 'factors-msg').textContent()).length > 0, 'the detail is shown');
    await msgIs(page, 'status', /on \(passkey\); 8 backup codes left/); // the refused change did not spend the code
    assert.deepEqual((await factorRows()).map((r) => r.id), [d.p1]);
  });

  await test('Factors: security notices (signed webhooks) for an added and a removed factor', page, async () => {
    await openAs(dave, passkeyUrl);
    await noticeShown(/^A factor was added to your account( \(a passkey\))?$/);
    await noticeShown(/^A factor was removed from your account( \(a phone\))?$/);
  });
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: securityKey });

  await test('Enrollment prompt: "Skip for now" signs the person in', page, async () => {
    await openAs(`e2e-cy-${Date.now()}`);
    await tid(page, 'login-password').click();
    await tid(page, 'prompt-skip').click();
    await msgIs(page, 'login-msg', /Skipped for now — you are signed in/);
    assert.equal(await tid(page, 'enroll-prompt').isVisible(), false);
  });

  await rememberedBrowserTests({ test, page, tid, msgIs, openAs, portalUrl, totp });

  await test('The browser never sees the API key', page, async () => {
    const html = await page.content();
    const js = await (await fetch(`${portalUrl}/app.js`)).text();
    assert.ok(!html.includes(adminKey) && !js.includes(adminKey));
    assert.deepEqual(pageErrors, [], 'no JavaScript errors on the page');
  });

  await test('Swagger UI: operations listed, Authorize with the admin key, GET /v1/api-keys -> Execute -> 200', page, async () => {
    await page.goto(`${serviceUrl}/swagger`);
    await page.locator('.opblock').first().waitFor({ timeout: 15000 });
    const operations = await page.locator('.opblock').count();
    assert.ok(operations >= 10, `only ${operations} operations listed`);
    await page.locator('button.authorize').first().click();
    await page.locator('.modal-ux input').first().fill(adminKey);
    await page.locator('.modal-ux .auth-btn-wrapper button.authorize').click();
    await page.locator('.modal-ux button.btn-done').click();
    const op = page.locator('.opblock-get', { has: page.locator('.opblock-summary-path[data-path="/v1/api-keys"]') });
    await op.locator('.opblock-summary').first().click();
    await op.locator('.try-out__btn').click();
    await op.locator('.execute').click();
    const status = op.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor({ timeout: 15000 });
    const code = (await status.textContent()).trim();
    await op.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(outDir, 'swagger-ui-api-keys.png'), fullPage: false });
    log(`     Swagger UI: ${operations} operations; GET /v1/api-keys answered ${code} in the UI`);
    assert.equal(code, '200');
  });
}

let exitCode = 1;
let setupFailed = false;
try {
  await main();
  exitCode = results.every((r) => r.ok) && results.length > 0 ? 0 : 1;
} catch (e) {
  setupFailed = true;
  log(`setup failed: ${e.stack || e}`);
} finally {
  await cleanup();
  const passed = results.filter((r) => r.ok).length;
  console.log(`e2e: ${passed} passed, ${results.length - passed} failed${setupFailed ? ', SETUP FAILED' : ''}  (${((Date.now() - t0) / 1000).toFixed(1)}s; screenshots and logs in .data/e2e/)`);
  process.exit(exitCode);
}
