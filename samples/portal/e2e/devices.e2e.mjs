// e2e: "Remember this browser for 30 days" on the sample portal (AuthService DESIGN §9.3): remember, sign in again without a
// code, forget it, asked again; the token only ever in an HttpOnly, Secure, SameSite=Lax cookie.
import assert from 'node:assert/strict';

/** A TOTP user made through the portal's own API (confirmed with the current step): its base32 secret and backup codes. */
async function totpUser(portalUrl, userId, totp) {
  const post = async (path, body) => {
    const r = await fetch(`${portalUrl}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ userId, ...body }) });
    assert.ok(r.ok, `${path}: ${r.status} ${await r.clone().text()}`);
    return r.json();
  };
  const { secret } = await post('/api/enroll', { method: 'totp', accountName: `${userId}@example.com` });
  const { backupCodes } = await post('/api/confirm', { code: totp(secret) });
  return { secret, backupCodes };
}

export async function rememberedBrowserTests({ test, page, tid, msgIs, openAs, portalUrl, totp }) {
  const dora = `e2e-dora-${Date.now()}`;
  let secret;
  let backupCodes = [];
  const signIn = async () => {
    await openAs(dora);
    await tid(page, 'login-password').click();
  };
  const askedForCode = async () => {
    await signIn();
    await tid(page, 'login-code').waitFor();
  };

  await test('Remembered browser: tick "Remember this browser", then the next sign-in needs no code', page, async () => {
    ({ secret, backupCodes } = await totpUser(portalUrl, dora, totp));
    await askedForCode();
    await tid(page, 'login-remember').check();
    await tid(page, 'login-code').fill(totp(secret, Date.now() / 1000 + 30));
    await tid(page, 'login-code-submit').click();
    await msgIs(page, 'login-msg', /Verified — you are signed in\. This browser is remembered for 30 days\./);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'portal_device');
    assert.ok(cookie, 'the portal set its device cookie');
    assert.deepEqual([cookie.httpOnly, cookie.secure, cookie.sameSite], [true, true, 'Lax']);
    assert.ok(cookie.expires > Date.now() / 1000 + 29 * 86400, 'kept about 30 days');
    assert.ok(!(await page.evaluate(() => document.cookie)).includes(cookie.value), 'page scripts cannot read the token');

    await signIn();
    await msgIs(page, 'login-msg', /Signed in — this browser is remembered, no code needed\./);
    assert.equal(await tid(page, 'login-verify').isVisible(), false, 'no code asked');
    for (const notice of [/^A new sign-in to your account$/, /^A browser was remembered for sign-in: /]) {
      await tid(page, 'notices').locator('li', { hasText: notice }).first().waitFor({ timeout: 15000 }); // webhooks
    }
  });

  await test('Remembered browser: listed without its token; "Forget" -> the code is asked again', page, async () => {
    assert.ok(secret, 'needs the test above');
    await openAs(dora);
    await tid(page, 'devices-refresh').click();
    await tid(page, 'device').first().waitFor();
    assert.equal(await tid(page, 'device').count(), 1);
    assert.match(await tid(page, 'device-label').textContent(), /^(Chrome|Browser)( on \w+)?$/);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'portal_device');
    assert.ok(!(await page.content()).includes(cookie.value), 'the token is never on the page');
    await tid(page, 'device-revoke').click();
    await msgIs(page, 'devices-msg', /Forgot ".*": it asks for a code at the next sign-in\./);
    assert.equal(await tid(page, 'device').count(), 0);
    await askedForCode();
  });

  await test('Remembered browser: "Forget all browsers" -> the code is asked again', page, async () => {
    assert.ok(secret, 'needs the tests above');
    await askedForCode();
    await tid(page, 'login-remember').check(); // with a backup code this time (the app's next step may not have come yet)
    await tid(page, 'use-backup').click();
    await tid(page, 'login-backup-code').fill(backupCodes[0]);
    await tid(page, 'login-backup-submit').click();
    await msgIs(page, 'login-msg', /This browser is remembered/);
    await signIn();
    await msgIs(page, 'login-msg', /no code needed/);
    await tid(page, 'devices-revoke-all').click();
    await msgIs(page, 'devices-msg', /Forgot 1 browser\(s\)/);
    await askedForCode();
  });
}
