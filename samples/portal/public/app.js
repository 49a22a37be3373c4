// Sample portal page: vanilla JS, no build step. Every call goes to this portal's own backend (/api/...), which
// holds the AuthService API key; the browser never sees it.
'use strict';

/** An element by its data-testid, else by its id. */
const $ = (name) => document.querySelector(`[data-testid="${name}"]`) || document.getElementById(name);
const userId = () => $('user-id').value.trim();

/** Calls the portal backend. Resolves to the JSON answer; throws an Error whose message is AuthService's `detail`. */
async function api(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (method === 'GET') {
    path += '?' + new URLSearchParams({ userId: userId() });
  } else {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify({ userId: userId(), ...body });
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new Error('The portal cannot be reached. Check your connection and try again.');
  }
  const json = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(json.detail || `Request failed (${response.status}).`);
    error.code = json.code;
    error.status = response.status;
    throw error;
  }
  return json;
}

function say(testid, text, kind = 'ok') {
  const el = $(testid);
  el.textContent = text;
  el.className = `msg ${kind}`;
}

/** Runs an action with its button disabled; shows AuthService's error detail in the section's message line. */
async function act(button, msgTestid, action) {
  if (button) button.disabled = true;
  say(msgTestid, '', 'ok');
  try {
    await action();
  } catch (e) {
    say(msgTestid, e.message, 'error');
  } finally {
    if (button) button.disabled = false;
  }
}

const show = (el, visible = true) => { el.hidden = !visible; };

let statusRequest = 0;
async function refreshStatus() {
  const el = $('status');
  const mine = ++statusRequest; // only the latest request may write: an older, slower answer may be another user's
  try {
    const s = await api('GET', '/api/status');
    if (mine !== statusRequest) return;
    if (!s.enabled) {
      el.textContent = `${s.userId}: two-factor authentication is off` +
        (s.pending ? ` (a ${s.pending.method} setup is waiting for its first code)` : '') + '.';
    } else {
      const how = s.method === 'phone' ? `phone ${s.phoneNumber}` : 'authenticator app';
      el.textContent = `${s.userId}: two-factor authentication is on (${how}); ${s.backupCodesRemaining} backup codes left` +
        (s.locked ? '; LOCKED — contact support' : '') + '.';
    }
  } catch (e) {
    if (mine === statusRequest) el.textContent = e.message;
  }
}

let noticesRequest = 0;
/** The security notices the portal backend received from AuthService for this user (signed webhooks). */
async function refreshNotices() {
  const mine = ++noticesRequest;
  try {
    const { items } = await api('GET', '/api/notices');
    if (mine !== noticesRequest) return;
    $('notices').replaceChildren(...items.map((n) => {
      const li = document.createElement('li');
      li.textContent = n.text; // text, never HTML
      li.dataset.type = n.type;
      return li;
    }));
  } catch { /* the next poll tries again */ }
}
setInterval(refreshNotices, 1000);

function showBackupCodes(codes) {
  const list = $('backup-list');
  list.replaceChildren(...codes.map((code) => {
    const li = document.createElement('li');
    const c = document.createElement('code');
    c.textContent = code;
    li.append(c);
    return li;
  }));
  const section = $('backup-codes');
  show(section);
  section.focus();
}

function showTotpSecret(answer, qrTestid, secretTestid) {
  $(qrTestid).src = answer.qrCodePng; // a data: URI made by AuthService
  $(secretTestid).textContent = answer.secret.replace(/(.{4})/g, '$1 ').trim();
}

// --- user -----------------------------------------------------------------------------------------------------
$('user-id').form.addEventListener('submit', (e) => { e.preventDefault(); refreshStatus(); refreshNotices(); });

// --- sign in --------------------------------------------------------------------------------------------------
$('login-password').addEventListener('click', (e) => act(e.currentTarget, 'login-msg', async () => {
  show($('login-verify'), false);
  show($('enroll-prompt'), false);
  const d = await api('POST', '/api/login-decision');
  if (d.locked) {
    say('login-msg', 'Your second factor is locked after too many failed attempts. Contact support.', 'error');
  } else if (d.action === 'verify') {
    const phone = d.method === 'phone';
    $('login-verify-hint').textContent = phone
      ? 'Password accepted. Choose how to get your code, then type it in.'
      : 'Password accepted. Type the code from your authenticator app.';
    show($('login-phone-buttons'), phone);
    show($('login-backup-form'), false);
    show($('login-code-form'));
    show($('login-verify'));
    $('login-code').value = '';
    $('login-code').focus();
  } else if (d.action === 'enroll_prompt') {
    show($('prompt-skip'), d.canSkip);
    show($('enroll-prompt'));
    say('login-msg', 'Signed in. Two-factor authentication is not set up yet.');
  } else {
    say('login-msg', 'Signed in (no second factor needed).');
  }
}));

for (const channel of ['sms', 'call']) {
  $(`login-${channel}`).addEventListener('click', (e) => act(e.currentTarget, 'login-msg', async () => {
    const c = await api('POST', '/api/challenge', { channel });
    say('login-msg', channel === 'sms' ? `We sent a code by SMS to ${c.phoneNumber}.` : `We are calling ${c.phoneNumber} with your code.`);
    $('login-code').focus();
  }));
}

$('login-code-form').addEventListener('submit', (e) => {
  e.preventDefault();
  act(e.submitter, 'login-msg', async () => {
    const v = await api('POST', '/api/verify', { code: $('login-code').value });
    verified(v);
  });
});

$('use-backup').addEventListener('click', (e) => {
  e.preventDefault();
  show($('login-code-form'), false);
  show($('login-phone-buttons'), false);
  show($('login-backup-form'));
  $('login-backup-code').focus();
});

$('login-backup-form').addEventListener('submit', (e) => {
  e.preventDefault();
  act(e.submitter, 'login-msg', async () => {
    const v = await api('POST', '/api/verify', { backupCode: $('login-backup-code').value });
    verified(v);
  });
});

function verified(v) {
  show($('login-verify'), false);
  const left = v.method === 'backup_code' ? ` You have ${v.backupCodesRemaining} backup codes left.` : '';
  say('login-msg', `Verified — you are signed in.${left}`);
  refreshStatus();
}

$('prompt-setup').addEventListener('click', () => {
  show($('enroll-prompt'), false);
  say('login-msg', '');
  $('setup').scrollIntoView();
  $('setup').focus();
});

$('prompt-skip').addEventListener('click', (e) => act(e.currentTarget, 'login-msg', async () => {
  const s = await api('POST', '/api/skip');
  show($('enroll-prompt'), false);
  say('login-msg', 'Skipped for now — you are signed in.' +
    (s.canSkipAgain ? '' : ' Next time you will need to set up two-factor authentication.'));
}));

// --- set up ---------------------------------------------------------------------------------------------------
$('totp-start-form').addEventListener('submit', (e) => {
  e.preventDefault();
  act(e.submitter, 'setup-msg', async () => {
    const t = await api('POST', '/api/enroll', { method: 'totp', accountName: $('totp-account').value || userId() });
    showTotpSecret(t, 'totp-qr', 'totp-secret');
    show($('totp-setup'));
    $('totp-code').value = '';
    $('totp-code').focus();
  });
});

$('totp-confirm-form').addEventListener('submit', (e) => {
  e.preventDefault();
  act(e.submitter, 'setup-msg', async () => {
    const r = await api('POST', '/api/confirm', { code: $('totp-code').value });
    show($('totp-setup'), false);
    say('setup-msg', 'Authenticator app set up. Two-factor authentication is on.');
    showBackupCodes(r.backupCodes);
    refreshStatus();
  });
});

$('phone-start-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const channel = e.submitter?.dataset.channel || 'sms';
  act(e.submitter, 'setup-msg', async () => {
    const p = await api('POST', '/api/enroll', { method: 'phone', phoneNumber: $('phone-number').value, channel });
    say('setup-msg', channel === 'sms' ? `We sent a code by SMS to ${p.phoneNumber}.` : `We are calling ${p.phoneNumber} with your code.`);
    show($('phone-confirm-form'));
    $('phone-code').focus();
  });
});

$('phone-confirm-form').addEventListener('submit', (e) => {
  e.preventDefault();
  act(e.submitter, 'setup-msg', async () => {
    const r = await api('POST', '/api/confirm', { code: $('phone-code').value });
    show($('phone-confirm-form'), false);
    say('setup-msg', 'Phone set up. Two-factor authentication is on.');
    showBackupCodes(r.backupCodes);
    refreshStatus();
  });
});

$('backup-done').addEventListener('click', () => {
  $('backup-list').replaceChildren(); // gone from the page, as promised
  show($('backup-codes'), false);
});

// --- switch method --------------------------------------------------------------------------------------------
$('switch-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const method = new FormData(e.currentTarget).get('switch-method');
  const channel = e.submitter?.dataset.channel || 'sms';
  act(e.submitter, 'switch-msg', async () => {
    const body = method === 'phone'
      ? { method, phoneNumber: $('switch-phone').value, channel, proof: $('switch-proof').value }
      : { method, accountName: userId(), proof: $('switch-proof').value };
    const r = await api('POST', '/api/switch', body);
    $('switch-proof').value = '';
    if (method === 'totp') {
      showTotpSecret(r, 'switch-qr', 'switch-secret');
      show($('switch-totp'));
      say('switch-msg', 'Scan the new QR code, then confirm with a code from the app. Your current method works until then.');
    } else {
      show($('switch-totp'), false);
      say('switch-msg', `We sent a code to ${r.phoneNumber}. Confirm it to finish; your current method works until then.`);
    }
    show($('switch-confirm-form'));
    $('switch-code').focus();
  });
});

$('switch-confirm-form').addEventListener('submit', (e) => {
  e.preventDefault();
  act(e.submitter, 'switch-msg', async () => {
    const r = await api('POST', '/api/switch/confirm', { code: $('switch-code').value });
    show($('switch-confirm-form'), false);
    show($('switch-totp'), false);
    say('switch-msg', `Switched: you now use ${r.method === 'phone' ? 'your phone' : 'your authenticator app'}. Your backup codes still work.`);
    refreshStatus();
  });
});

// --- backup codes ---------------------------------------------------------------------------------------------
$('backup-count').addEventListener('click', (e) => act(e.currentTarget, 'codes-msg', async () => {
  const r = await api('GET', '/api/backup-codes');
  say('codes-msg', `You have ${r.remaining} backup codes left.`);
}));

$('regen-form').addEventListener('submit', (e) => {
  e.preventDefault();
  act(e.submitter, 'codes-msg', async () => {
    const r = await api('POST', '/api/backup-codes', { proof: $('regen-proof').value });
    $('regen-proof').value = '';
    say('codes-msg', 'New backup codes made; every older code stopped working.');
    showBackupCodes(r.backupCodes);
  });
});

refreshStatus();
