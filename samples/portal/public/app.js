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

/** Shows a message line; an error carries AuthService's stable `code` in data-code (e.g. last_factor). */
function say(testid, text, kind = 'ok', code = '') {
  const el = $(testid);
  el.textContent = text;
  el.className = `msg ${kind}`;
  if (code) el.dataset.code = code;
  else delete el.dataset.code;
}

/** Runs an action with its button disabled; shows AuthService's error detail in the section's message line. */
async function act(button, msgTestid, action) {
  if (button) button.disabled = true;
  say(msgTestid, '', 'ok');
  try {
    await action();
  } catch (e) {
    say(msgTestid, e.message, 'error', e.code);
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
      const how = s.method === 'phone' ? `phone ${s.phoneNumber}` : s.method === 'passkey' ? 'passkey' : 'authenticator app';
      el.textContent = `${s.userId}: two-factor authentication is on (${how}); ${s.backupCodesRemaining} backup codes left` +
        (s.locked ? '; LOCKED — contact support' : '') + '.';
    }
    renderFactors(s.factors, s.enabled);
  } catch (e) {
    if (mine === statusRequest) {
      el.textContent = e.message;
      renderFactors([], false);
    }
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

// --- passkeys (WebAuthn) ----------------------------------------------------------------------------------------
// AuthService speaks the WebAuthn Level 3 JSON forms; browsers that lack parse…FromJSON()/toJSON() get the same
// conversion by hand (base64url <-> ArrayBuffer).
const b64u = {
  decode: (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0)).buffer,
  encode: (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
};
const descriptors = (list) => (list || []).map((c) => ({ ...c, id: b64u.decode(c.id) }));

function creationOptions(json) {
  if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  return { ...json, challenge: b64u.decode(json.challenge), user: { ...json.user, id: b64u.decode(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials) };
}

function requestOptions(json) {
  if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  return { ...json, challenge: b64u.decode(json.challenge), allowCredentials: descriptors(json.allowCredentials) };
}

function credentialJson(c) {
  if (typeof c.toJSON === 'function') return c.toJSON();
  const r = c.response;
  const response = r.attestationObject
    ? { clientDataJSON: b64u.encode(r.clientDataJSON), attestationObject: b64u.encode(r.attestationObject), transports: r.getTransports?.() ?? [] }
    : { clientDataJSON: b64u.encode(r.clientDataJSON), authenticatorData: b64u.encode(r.authenticatorData),
      signature: b64u.encode(r.signature), ...(r.userHandle ? { userHandle: b64u.encode(r.userHandle) } : {}) };
  return { id: c.id, rawId: b64u.encode(c.rawId), type: c.type, response, clientExtensionResults: {} };
}

/** Runs navigator.credentials.create() with AuthService's creation options; the person's device asks for consent. */
async function createPasskey(options) {
  try {
    return credentialJson(await navigator.credentials.create({ publicKey: creationOptions(options) }));
  } catch (e) {
    throw new Error(`No passkey was created (${e.name}). Try again, or choose another method.`);
  }
}

/** A fresh challenge from AuthService, signed by the person's passkey: the AuthenticationResponseJSON. A 'login' challenge
 *  is accepted only to sign in; a 'proof' challenge only to prove a change (switch, new backup codes). */
async function passkeyAssertion(purpose = 'login', factorId = undefined) {
  const c = await api('POST', '/api/challenge', { channel: 'passkey', purpose, factorId });
  try {
    return credentialJson(await navigator.credentials.get({ publicKey: requestOptions(c.options) }));
  } catch (e) {
    throw new Error(`Your passkey was not used (${e.name}). Try again, or use a backup code.`);
  }
}

const methodName = (m) => ({ phone: 'your phone', passkey: 'your passkey', totp: 'your authenticator app' })[m] ?? m;

function showTotpSecret(answer, qrTestid, secretTestid) {
  $(qrTestid).src = answer.qrCodePng; // a data: URI made by AuthService
  $(secretTestid).textContent = answer.secret.replace(/(.{4})/g, '$1 ').trim();
}

// --- user -----------------------------------------------------------------------------------------------------
$('user-id').form.addEventListener('submit', (e) => {
  e.preventDefault();
  closeRemove();
  endAdd();
  refreshStatus();
  refreshNotices();
});

// --- sign in --------------------------------------------------------------------------------------------------
$('login-password').addEventListener('click', (e) => act(e.currentTarget, 'login-msg', async () => {
  show($('login-verify'), false);
  show($('enroll-prompt'), false);
  const d = await api('POST', '/api/login-decision');
  if (d.locked) {
    say('login-msg', 'Your second factor is locked after too many failed attempts. Contact support.', 'error');
  } else if (d.action === 'verify') {
    const phone = d.method === 'phone';
    const passkey = d.method === 'passkey';
    $('login-verify-hint').textContent = phone
      ? 'Password accepted. Choose how to get your code, then type it in.'
      : passkey ? 'Password accepted. Confirm it is you with your passkey.'
        : 'Password accepted. Type the code from your authenticator app.';
    show($('login-phone-buttons'), phone);
    show($('login-passkey-row'), passkey);
    show($('login-backup-form'), false);
    show($('login-code-form'), !passkey);
    show($('login-verify'));
    $('login-code').value = '';
    $('login-code').focus();
  } else if (d.reason === 'trusted_device') {
    say('login-msg', 'Signed in — this browser is remembered, no code needed.');
  } else if (d.action === 'enroll_prompt') {
    show($('prompt-skip'), d.canSkip);
    show($('enroll-prompt'));
    say('login-msg', d.canSkip
      ? 'Signed in. Two-factor authentication is not set up yet.'
      : 'Two-factor authentication must be set up before you can continue.');
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
    const v = await api('POST', '/api/verify', { code: $('login-code').value, ...remembering() });
    verified(v);
  });
});

$('login-passkey').addEventListener('click', (e) => act(e.currentTarget, 'login-msg', async () => {
  verified(await api('POST', '/api/verify', { credential: await passkeyAssertion(), ...remembering() }));
}));

$('use-backup').addEventListener('click', (e) => {
  e.preventDefault();
  show($('login-code-form'), false);
  show($('login-phone-buttons'), false);
  show($('login-passkey-row'), false);
  show($('login-backup-form'));
  $('login-backup-code').focus();
});

$('login-backup-form').addEventListener('submit', (e) => {
  e.preventDefault();
  act(e.submitter, 'login-msg', async () => {
    const v = await api('POST', '/api/verify', { backupCode: $('login-backup-code').value, ...remembering() });
    verified(v);
  });
});

function verified(v) {
  show($('login-verify'), false);
  const left = v.method === 'backup_code' ? ` You have ${v.backupCodesRemaining} backup codes left.` : '';
  const remembered = v.deviceRemembered ? ' This browser is remembered for 30 days.' : '';
  say('login-msg', `Verified — you are signed in.${left}${remembered}`);
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
$('passkey-setup').addEventListener('click', (e) => act(e.currentTarget, 'setup-msg', async () => {
  const p = await api('POST', '/api/enroll', { method: 'passkey', accountName: userId(), displayName: userId() });
  const r = await api('POST', '/api/confirm', { credential: await createPasskey(p.options) });
  say('setup-msg', 'Passkey set up. Two-factor authentication is on.');
  showBackupCodes(r.backupCodes);
  refreshStatus();
}));

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
  const withPasskey = e.submitter?.dataset.proof === 'passkey';
  act(e.submitter, 'switch-msg', async () => {
    const proof = withPasskey ? { proofCredential: await passkeyAssertion('proof') } : { proof: $('switch-proof').value };
    const body = method === 'phone'
      ? { method, phoneNumber: $('switch-phone').value, channel, ...proof }
      : { method, accountName: userId(), displayName: userId(), ...proof };
    const r = await api('POST', '/api/switch', body);
    $('switch-proof').value = '';
    if (method === 'passkey') {
      show($('switch-totp'), false);
      const s = await api('POST', '/api/switch/confirm', { credential: await createPasskey(r.options) });
      say('switch-msg', `Switched: you now use ${methodName(s.method)}. Your backup codes still work.`);
      refreshStatus();
      return;
    }
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
    say('switch-msg', `Switched: you now use ${methodName(r.method)}. Your backup codes still work.`);
    refreshStatus();
  });
});

// A phone user proves a change with a code sent for that purpose: a sign-in code is not accepted as a proof.
for (const button of document.querySelectorAll('[data-proof-for]')) {
  const where = button.dataset.proofFor;
  button.addEventListener('click', (e) => act(e.currentTarget, where === 'switch' ? 'switch-msg' : 'codes-msg', async () => {
    const channel = button.dataset.channel;
    const c = await api('POST', '/api/challenge', { channel, purpose: 'proof' });
    say(where === 'switch' ? 'switch-msg' : 'codes-msg',
      channel === 'sms' ? `We sent a code by SMS to ${c.phoneNumber}. Type it above.` : `We are calling ${c.phoneNumber} with your code.`);
    $(`${where}-proof`).focus();
  }));
}

// --- backup codes ---------------------------------------------------------------------------------------------
$('backup-count').addEventListener('click', (e) => act(e.currentTarget, 'codes-msg', async () => {
  const r = await api('GET', '/api/backup-codes');
  say('codes-msg', `You have ${r.remaining} backup codes left.`);
}));

$('regen-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const withPasskey = e.submitter?.dataset.proof === 'passkey';
  act(e.submitter, 'codes-msg', async () => {
    const proof = withPasskey ? { proofCredential: await passkeyAssertion('proof') } : { proof: $('regen-proof').value };
    const r = await api('POST', '/api/backup-codes', proof);
    $('regen-proof').value = '';
    say('codes-msg', 'New backup codes made; every older code stopped working.');
    showBackupCodes(r.backupCodes);
  });
});

// --- your factors ---------------------------------------------------------------------------------------------
// Several named factors per user (authenticator apps, phones, passkeys); one is the default, asked for first at sign-in.
const methodLabels = { totp: 'Authenticator app', phone: 'Phone', passkey: 'Passkey' };
const factorName = (f) => f.label || methodLabels[f.method] || f.method;
const factorKind = (f) => (f.method === 'phone' && f.channel ? `Phone (${f.channel === 'call' ? 'call' : 'SMS'})`
  : methodLabels[f.method] ?? f.method);
const when = (iso) => new Date(iso).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

let factors = [];
let removing = null; // the factor whose removal waits for a proof
let adding = null; // the factorId of an added factor waiting for its first code

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  const { testid, ...rest } = props;
  if (testid) e.dataset.testid = testid;
  Object.assign(e, rest);
  e.append(...children);
  return e;
}

function renderFactors(list, enabled) {
  factors = Array.isArray(list) ? list : [];
  show($('factor-empty'), factors.length === 0);
  $('factor-list').replaceChildren(...factors.map(factorItem));
  fillVia('factor-add-via', factors);
  show($('factor-add-proof-rows'), Boolean(enabled)); // the first factor needs no proof; every later one does
  const stillThere = removing && factors.find((f) => f.id === removing.id);
  if (stillThere) openRemove(stillThere);
  else closeRemove();
}

function factorItem(f) {
  const li = el('li', { testid: 'factor' });
  li.dataset.factorId = f.id;
  li.dataset.method = f.method;
  if (f.default) li.dataset.default = 'true';
  const what = el('div', { className: 'what' },
    el('span', { testid: 'factor-label', className: 'label', textContent: factorName(f) }),
    el('span', { testid: 'factor-method', textContent: factorKind(f) }));
  if (f.phoneNumber) what.append(el('span', { testid: 'factor-phone', textContent: f.phoneNumber }));
  if (f.default) what.append(el('span', { testid: 'factor-default', className: 'badge', textContent: 'Default' }));
  what.append(el('span', { testid: 'factor-last-used', className: 'note',
    textContent: f.lastUsedAt ? `Last used ${when(f.lastUsedAt)}` : 'Never used' }));

  const rename = el('form', { testid: 'factor-rename-form', className: 'row', autocomplete: 'off', hidden: true },
    el('input', { testid: 'factor-rename-input', value: f.label ?? '', maxLength: 64, spellcheck: false,
      title: `New name for ${factorName(f)}` }),
    el('button', { testid: 'factor-rename-save', type: 'submit', textContent: 'Save' }),
    el('button', { testid: 'factor-rename-cancel', type: 'button', className: 'secondary', textContent: 'Cancel' }));
  const actions = el('div', { className: 'row actions' },
    el('button', { testid: 'factor-rename', type: 'button', className: 'secondary', textContent: 'Rename' }));
  if (!f.default) {
    actions.append(el('button', { testid: 'factor-make-default', type: 'button', className: 'secondary', textContent: 'Make default' }));
  }
  actions.append(el('button', { testid: 'factor-remove', type: 'button', className: 'secondary', textContent: 'Remove' }));

  actions.querySelector('[data-testid=factor-rename]').addEventListener('click', () => {
    show(actions, false);
    show(rename);
    rename.elements[0].select();
  });
  rename.querySelector('[data-testid=factor-rename-cancel]').addEventListener('click', () => {
    show(rename, false);
    show(actions);
  });
  rename.addEventListener('submit', (e) => {
    e.preventDefault();
    act(e.submitter, 'factors-msg', async () => {
      const r = await api('PATCH', '/api/factors', { factorId: f.id, label: rename.elements[0].value });
      await refreshStatus(); // the list first, then the message: whoever reads the message sees the new list
      say('factors-msg', `Renamed to "${factorName({ ...f, label: r.label ?? rename.elements[0].value })}".`);
    });
  });
  actions.querySelector('[data-testid=factor-make-default]')?.addEventListener('click', (e) => act(e.currentTarget, 'factors-msg', async () => {
    await api('PATCH', '/api/factors', { factorId: f.id, default: true });
    await refreshStatus();
    say('factors-msg', `"${factorName(f)}" is now your default: sign-in asks for it first.`);
  }));
  actions.querySelector('[data-testid=factor-remove]').addEventListener('click', () => {
    say('factors-msg', '');
    openRemove(f);
    $('factor-remove-form').scrollIntoView({ block: 'nearest' });
  });
  li.append(what, actions, rename);
  return li;
}

/** The proof fields of a change, the same for adding and removing a factor: "Prove it with" (another factor or a
 *  backup code), a code field, and Text/Call buttons that send a 'proof' code to the phone chosen. */
for (const box of document.querySelectorAll('[data-proof-fields]')) {
  const prefix = box.dataset.proofFields;
  const id = (name) => ({ id: `${prefix}-${name}`, testid: `${prefix}-${name}` });
  const label = (name, text) => Object.assign(el('label', { textContent: text }), { htmlFor: `${prefix}-${name}` });
  const send = (channel, text) => {
    const b = el('button', { ...id(`proof-${channel}`), type: 'button', textContent: text });
    b.dataset.factorProof = prefix;
    b.dataset.channel = channel;
    return b;
  };
  const codeLabel = label('proof', 'Code');
  codeLabel.dataset.proofLabel = prefix;
  box.append(
    el('div', { className: 'row' }, label('via', box.dataset.viaLabel), el('select', id('via'))),
    el('div', { className: 'row' }, codeLabel, el('input', { ...id('proof'), maxLength: 20, spellcheck: false }),
      send('sms', 'Text me a code'), send('call', 'Call me with a code')));
}

/** The "Prove it with" choices: the given factors, then a backup code. Keeps the current choice when it is still there. */
function fillVia(selectId, list) {
  const select = $(selectId);
  const before = select.value;
  select.replaceChildren(...list.map((f) => {
    const o = el('option', { value: f.id, textContent: `${factorName(f)} (${factorKind(f)}${f.phoneNumber ? ` ${f.phoneNumber}` : ''})` });
    o.dataset.method = f.method;
    return o;
  }), el('option', { value: 'backup', textContent: 'A backup code' }));
  select.lastElementChild.dataset.method = 'backup';
  if ([...select.options].some((o) => o.value === before)) select.value = before;
  proofFields(selectId.replace(/-via$/, ''));
}

/** Shows the fields the chosen proof needs: a code (app, phone, backup code), Text/Call buttons (phone), none (passkey). */
function proofFields(prefix) {
  const method = $(`${prefix}-via`).selectedOptions[0]?.dataset.method ?? 'backup';
  const input = $(`${prefix}-proof`);
  const label = document.querySelector(`[data-proof-label="${prefix}"]`);
  label.textContent = { totp: 'Code from the app', phone: 'Code we sent you', backup: 'Backup code' }[method] ?? '';
  show(label, method !== 'passkey');
  show(input, method !== 'passkey');
  input.inputMode = method === 'backup' ? 'text' : 'numeric';
  for (const b of document.querySelectorAll(`[data-factor-proof="${prefix}"]`)) show(b, method === 'phone');
}

/** The proof fields of a change: a passkey assertion (its 'proof' challenge names the chosen passkey), a code, or a
 *  backup code. */
async function proofBody(prefix) {
  const via = $(`${prefix}-via`);
  const method = via.selectedOptions[0]?.dataset.method ?? 'backup';
  if (method === 'passkey') return { proofCredential: await passkeyAssertion('proof', via.value) };
  const value = $(`${prefix}-proof`).value;
  return method === 'backup' ? { proofBackupCode: value } : { proof: value };
}

for (const prefix of ['factor-add', 'factor-remove']) {
  $(`${prefix}-via`).addEventListener('change', () => proofFields(prefix));
}

// A phone proves a change with a code sent for that purpose, to that phone.
for (const button of document.querySelectorAll('[data-factor-proof]')) {
  const prefix = button.dataset.factorProof;
  button.addEventListener('click', (e) => act(e.currentTarget, 'factors-msg', async () => {
    const channel = button.dataset.channel;
    const c = await api('POST', '/api/challenge', { channel, purpose: 'proof', factorId: $(`${prefix}-via`).value });
    say('factors-msg', channel === 'sms' ? `We sent a code by SMS to ${c.phoneNumber}. Type it above.` : `We are calling ${c.phoneNumber} with your code.`);
    $(`${prefix}-proof`).focus();
  }));
}

function openRemove(f) {
  const changed = removing?.id !== f.id;
  removing = f;
  $('factor-remove-what').textContent = `Remove "${factorName(f)}"? Prove it is you with another factor or a backup code.`;
  fillVia('factor-remove-via', factors.filter((other) => other.id !== f.id));
  if (changed) $('factor-remove-proof').value = '';
  show($('factor-remove-form'));
}

function closeRemove() {
  removing = null;
  $('factor-remove-proof').value = '';
  show($('factor-remove-form'), false);
}

$('factor-remove-cancel').addEventListener('click', closeRemove);

$('factor-remove-form').addEventListener('submit', (e) => {
  e.preventDefault();
  act(e.submitter, 'factors-msg', async () => {
    const f = removing;
    await api('DELETE', '/api/factors', { factorId: f.id, ...await proofBody('factor-remove') });
    closeRemove();
    await refreshStatus();
    say('factors-msg', `Removed "${factorName(f)}".`);
  });
});

$('factor-add-method').addEventListener('change', (e) => show($('factor-add-phone-row'), e.currentTarget.value === 'phone'));

function endAdd() {
  adding = null;
  show($('factor-add-totp'), false);
  show($('factor-add-confirm-form'), false);
}

$('factor-add-form').addEventListener('submit', (e) => {
  e.preventDefault();
  act(e.submitter, 'factors-msg', async () => {
    endAdd();
    const method = $('factor-add-method').value;
    const details = method === 'phone'
      ? { phoneNumber: $('factor-add-phone').value, channel: $('factor-add-channel').value }
      : { accountName: userId(), displayName: userId() };
    const proof = $('factor-add-proof-rows').hidden ? {} : await proofBody('factor-add');
    const r = await api('POST', '/api/factors', { method, label: $('factor-add-label').value, ...details, ...proof });
    $('factor-add-proof').value = '';
    adding = r.factorId;
    if (method === 'passkey') {
      factorAdded(await api('POST', '/api/factors/confirm', { factorId: adding, credential: await createPasskey(r.options) }));
      return;
    }
    if (method === 'totp') {
      showTotpSecret(r, 'factor-add-qr', 'factor-add-secret');
      show($('factor-add-totp'));
      say('factors-msg', 'Scan the QR code, then confirm with a code from the app.');
    } else {
      say('factors-msg', r.channel === 'call' ? `We are calling ${r.phoneNumber} with your code. Type it below to finish.`
        : `We sent a code by SMS to ${r.phoneNumber}. Type it below to finish.`);
    }
    $('factor-add-code').value = '';
    show($('factor-add-confirm-form'));
    $('factor-add-code').focus();
  });
});

$('factor-add-confirm-form').addEventListener('submit', (e) => {
  e.preventDefault();
  act(e.submitter, 'factors-msg', async () => {
    factorAdded(await api('POST', '/api/factors/confirm', { factorId: adding, code: $('factor-add-code').value }));
  });
});

/** A confirmed factor: `backupCodes` come only when it turned two-factor authentication on. */
async function factorAdded(r) {
  endAdd();
  $('factor-add-label').value = '';
  await refreshStatus();
  say('factors-msg', `Added "${r.factor ? factorName(r.factor) : 'your factor'}".` +
    (r.backupCodes ? ' Two-factor authentication is on.' : ''));
  if (r.backupCodes) showBackupCodes(r.backupCodes);
}

refreshStatus();
