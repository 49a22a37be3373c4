// AuthService support console: a client of the public /v1 API only. The admin key is typed in, kept in sessionStorage
// (this tab's; a browser may restore it with a reopened tab or copy it to a duplicated one: sign out when done) and sent
// as the Bearer header: never in a URL, a cookie or local storage.
// Everything the API answers is written with textContent, never as HTML.
const KEY = 'authservice.console.adminKey';
const $ = (id) => document.getElementById(id);
// userId: the user the view shows, and the one its actions go to (both change together, when a Find has read them all).
// reset: what the open reset confirmation names, and so what its Yes sends.
const state = { userId: null, reset: null, keyNames: new Map() };

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.title);
    this.status = status;
    this.problem = problem;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY) ?? ''}`, Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit',
  });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!response.ok) {
    throw new ApiError(response.status, json?.title ? json : { title: `HTTP ${response.status}`, detail: response.statusText });
  }
  return json;
}

function showError(e) {
  const problem = e instanceof ApiError ? e.problem : { title: 'Something went wrong.', detail: String(e?.message ?? e) };
  $('error-title').textContent = problem.title ?? '';
  $('error-detail').textContent = problem.detail ?? '';
  $('error').hidden = false;
}

function clearError() { $('error').hidden = true; }

/**
 * Runs an action, with its error shown as the problem's title and detail. Unless `repeatable` (a Find, where the latest one
 * wins), the button that started it (a form's buttons, for a submit) stays disabled until it is done, so a double click sends
 * one request, not two: one reset, one bypass code, one key.
 */
function guarded(action, { repeatable = false } = {}) {
  return async (event) => {
    event?.preventDefault();
    const target = repeatable ? null : event?.currentTarget; // read now: it is gone once the handler has awaited
    const controls = target instanceof HTMLFormElement ? [...target.querySelectorAll('button')]
      : target instanceof HTMLButtonElement ? [target] : [];
    clearError();
    for (const control of controls) control.disabled = true;
    try { await action(event); } catch (e) { showError(e); } finally { for (const control of controls) control.disabled = false; }
  };
}

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function row(cells) {
  const tr = el('tr');
  for (const cell of cells) {
    const td = el('td');
    if (cell instanceof Node) td.append(cell); else td.textContent = cell ?? '—';
    tr.append(td);
  }
  return tr;
}

function button(text, label, onClick, testId) {
  const b = el('button', text, { type: 'button', 'aria-label': label });
  if (testId) b.dataset.testid = testId;
  b.addEventListener('click', guarded(onClick));
  return b;
}

const when = (iso) => (iso ? new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');
const userPath = (rest = '', userId = state.userId) => `/v1/users/${encodeURIComponent(userId)}/two-factor${rest}`;

async function copy(text, buttonId) {
  await navigator.clipboard.writeText(text);
  $(buttonId).textContent = 'Copied';
}

// A view read anew (a Find, a refresh, another endpoint's deliveries) supersedes the reads of it still on their way: only
// the latest may show what it read, so the answers for two users or two endpoints never mix in one view.
const latest = {};
function begin(view) {
  const n = (latest[view] ?? 0) + 1;
  latest[view] = n;
  return () => latest[view] === n;
}

/**
 * A newest-first list read a page at a time (the audit trail, webhook deliveries): "Older" appends the page before the last
 * one shown, following its nextBefore. A page asked for by an earlier list (before another user or endpoint was shown, or
 * a second click on Older) is dropped.
 */
class PagedList {
  constructor(bodyId, moreId, limit) {
    this.body = $(bodyId);
    this.more = $(moreId);
    this.limit = limit;
    this.shown = null;
  }

  read(path, before) { return api('GET', `${path}?limit=${this.limit}${before ? `&before=${before}` : ''}`); }

  /** Shows `page`, the first one of `path`, in place of the list shown before. Read with read(path): the caller shows it
   * together with the rest of its view. */
  show(path, toRow, page) {
    this.shown = { path, toRow, before: null };
    this.body.replaceChildren();
    this.append(this.shown, page);
  }

  async older() {
    const list = this.shown;
    const { before } = list;
    const page = await this.read(list.path, before);
    if (this.shown !== list || list.before !== before) return;
    this.append(list, page);
  }

  append(list, page) {
    this.body.append(...page.items.map((item) => list.toRow(item)));
    list.before = page.nextBefore;
    this.more.hidden = !page.nextBefore;
  }
}

const audit = new PagedList('audit', 'audit-more', 20);
const deliveries = new PagedList('deliveries', 'deliveries-more', 50);

// ---- screens --------------------------------------------------------------------------------------------------------
function show(screen) {
  for (const name of ['user', 'webhooks', 'keys']) {
    $(`screen-${name}`).hidden = name !== screen;
    const navButton = document.querySelector(`nav button[data-screen="${name}"]`);
    if (name === screen) navButton.setAttribute('aria-current', 'page'); else navButton.removeAttribute('aria-current');
  }
  if (screen === 'webhooks') return loadWebhooks();
  if (screen === 'keys') return loadKeys();
  $('user-id').focus();
  return undefined;
}

function signedIn(yes) {
  $('login').hidden = yes;
  $('nav').hidden = !yes;
  if (!yes) {
    for (const name of ['user', 'webhooks', 'keys']) $(`screen-${name}`).hidden = true;
    $('admin-key').focus();
  }
}

async function signIn() {
  sessionStorage.setItem(KEY, $('admin-key').value.trim());
  $('admin-key').value = '';
  try {
    rememberKeyNames(await api('GET', '/v1/api-keys')); // needs the admin scope: a wrong or weaker key is refused here
  } catch (e) {
    sessionStorage.removeItem(KEY);
    throw e;
  }
  signedIn(true);
  await show('user');
}

/** Forgets the key and reloads the page as it came: nothing of this session (a shown-once bypass code or API key, a user,
 * a list) is left in it for whoever signs in next in this tab. Hiding screens would leave all that in the DOM. */
function signOut() {
  sessionStorage.removeItem(KEY);
  window.location.reload();
}

// ---- user -----------------------------------------------------------------------------------------------------------
async function findUser() {
  await loadUser($('user-id').value.trim(), true);
}

/**
 * Reads all the view shows of `userId` before showing any of it: a failed read leaves the user shown before, with the
 * actions still going to them; a later Find or refresh started meanwhile wins. `fresh` (a Find) also drops what the
 * actions showed of the user before (a shown-once code, an open confirmation, the notice).
 */
async function loadUser(userId, fresh = false) {
  const current = begin('user');
  const status = await api('GET', userPath('', userId));
  const backup = status.enabled ? (await api('GET', userPath('/backup-codes', userId))).remaining : status.backupCodesRemaining;
  const devices = await readDevices(userId);
  const events = userPath('/events', userId);
  const firstEvents = await audit.read(events);
  if (!current()) return;
  if (fresh) {
    clearBypass();
    closeReset();
    $('notice').textContent = '';
  }
  state.userId = userId;
  showStatus(status, backup);
  showDevices(devices);
  audit.show(events, auditRow, firstEvents);
  $('user-view').hidden = false;
}

function showStatus(status, backup) {
  const facts = $('status');
  facts.replaceChildren();
  for (const [term, value] of [['User', status.userId], ['2FA', status.enabled ? 'enabled' : 'not enabled'],
    ['Default method', status.method], ['Enabled at', when(status.enabledAt)], ['Locked', status.locked ? 'yes' : 'no'],
    ['Backup codes left', backup], ['Pending', status.pending ? JSON.stringify(status.pending) : 'none']]) {
    facts.append(el('dt', term), el('dd', value ?? '—'));
  }
  $('factors').replaceChildren(...(status.factors ?? []).map((f) =>
    row([f.label, f.method, f.phoneNumber, f.default ? 'yes' : 'no', when(f.createdAt), when(f.lastUsedAt)])));
}

/** Remembered devices, or null where this deployment has no such route (it answers 404 there: the block stays hidden). */
async function readDevices(userId) {
  let body;
  try {
    body = await api('GET', userPath('/devices', userId));
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return null;
    throw e;
  }
  return Array.isArray(body) ? body : (body?.items ?? body?.devices ?? []);
}

function showDevices(items) {
  $('devices').replaceChildren(...(items ?? []).map((d) => row([d.label ?? d.name ?? d.id, when(d.createdAt), when(d.lastUsedAt),
    button('Revoke', `Revoke device ${d.label ?? d.id}`, async () => { await api('DELETE', userPath(`/devices/${encodeURIComponent(d.id)}`)); await loadUser(state.userId); })])));
  $('devices-block').hidden = items === null;
}

// The acting key by its name where this console knows it, else its whole id (the first characters of a version-7 id are
// its creation time: two keys made within a minute share them).
const auditRow = (e) => row([when(e.occurredAt), e.type, el('code', JSON.stringify(e.details)),
  e.apiKeyId ? (state.keyNames.get(e.apiKeyId) ?? el('code', e.apiKeyId)) : '—']);

function rememberKeyNames(list) {
  state.keyNames = new Map(list.items.map((k) => [k.id, k.name]));
}

/** Takes a shown-once bypass code out of the page, not only out of sight. */
function clearBypass() {
  $('bypass-result').hidden = true;
  $('bypass-code').textContent = '';
  $('bypass-expiry').textContent = '';
}

async function issueBypass() {
  const { userId } = state;
  const body = {
    reason: $('bypass-reason').value, ticket: $('bypass-ticket').value,
    uses: Number($('bypass-uses').value), validMinutes: Number($('bypass-minutes').value),
  };
  const issued = await api('POST', userPath('/bypass-codes', userId), body);
  if (state.userId !== userId) return; // another user was found meanwhile: their view must not show this user's code
  $('bypass-code').textContent = issued.code;
  $('bypass-copy').textContent = 'Copy';
  $('bypass-expiry').textContent = `${issued.uses} use(s), until ${when(issued.expiresAt)}.`;
  $('bypass-result').hidden = false;
  $('bypass-copy').focus();
  await loadUser(userId);
}

async function revokeBypass() {
  const { userId } = state;
  const revoked = await api('DELETE', userPath('/bypass-codes', userId));
  if (state.userId !== userId) return; // another user was found meanwhile: the code shown, if any, is theirs
  clearBypass();
  $('notice').textContent = `${revoked.revoked} live bypass code(s) revoked.`;
  await loadUser(userId);
}

/** Opens the confirmation. Yes sends the user, reason and ticket it names, taken now; editing a field closes it. */
function startReset() {
  state.reset = { userId: state.userId, reason: $('reset-reason').value, ticket: $('reset-ticket').value };
  $('reset-confirm-text').textContent =
    `Remove every factor, backup code and bypass code of ${state.reset.userId} (ticket ${state.reset.ticket})? They sign in with the first factor alone until they enroll again.`;
  $('reset-confirm').hidden = false;
  $('reset-no').focus();
}

function closeReset() {
  state.reset = null;
  $('reset-confirm').hidden = true;
}

async function confirmReset() {
  const { userId, reason, ticket } = state.reset;
  const reset = await api('POST', userPath('/reset', userId), { reason, ticket });
  closeReset();
  if (state.userId !== userId) return; // another user was found meanwhile: nothing shown is this user's any more
  clearBypass(); // the reset revoked it
  $('notice').textContent = reset.hadFactor
    ? `Two-factor authentication of ${userId} was reset.`
    : `${userId} had no second factor; anything pending (an enrollment, a code, failure counts) was cleared, and the reset is audited.`;
  await loadUser(userId);
}

// ---- webhooks -------------------------------------------------------------------------------------------------------
async function loadWebhooks() {
  const list = await api('GET', '/v1/webhooks');
  $('webhooks').replaceChildren(...list.items.map((w) => row([el('code', w.url), w.events.join(', '), when(w.createdAt),
    button('Deliveries', `Deliveries of ${w.url}`, () => loadDeliveries(w), 'deliveries-open')])));
}

/** The newest page of the endpoint's deliveries; "Older" reaches the rest (an old failed one to redeliver). */
async function loadDeliveries(endpoint) {
  const current = begin('deliveries');
  const path = `/v1/webhooks/${endpoint.id}/deliveries`;
  const page = await deliveries.read(path);
  if (!current()) return;
  $('deliveries-heading').textContent = `Deliveries to ${endpoint.url}`;
  deliveries.show(path, (d) => deliveryRow(endpoint, d), page);
  $('deliveries-block').hidden = false;
}

const deliveryRow = (endpoint, d) => row([d.id, d.type, d.userId, d.status, d.attempts, d.lastError ?? '—',
  d.status === 'pending' ? when(d.nextAttemptAt) : '—', when(d.createdAt),
  button('Redeliver', `Redeliver ${d.type} ${d.id}`, async () => {
    const queued = await api('POST', `/v1/webhooks/${endpoint.id}/deliveries/${d.id}/redeliver`);
    $('webhooks-notice').textContent = `Delivery ${d.id} queued again as ${queued.id} (${queued.status}).`;
    await loadDeliveries(endpoint);
  }, 'redeliver')]);

// ---- API keys -------------------------------------------------------------------------------------------------------
async function loadKeys() {
  const list = await api('GET', '/v1/api-keys');
  rememberKeyNames(list);
  $('keys').replaceChildren(...list.items.map((k) => row([k.name, el('code', k.prefix), k.scopes.join(', '), when(k.createdAt), when(k.revokedAt),
    k.revokedAt ? '—' : revokeControl(k, list.items)])));
}

/** Revoke, behind a confirmation in the key's row: every request with the key fails from then on (the portal's, or this
 * console's own). */
function revokeControl(k, keys) {
  const cell = el('span');
  // A generated key is listed by its first characters; the bootstrap key as "bootstrap", so it is this console's when no
  // other active key's characters begin the one typed in.
  const typed = sessionStorage.getItem(KEY) ?? '';
  const begins = (key) => key.prefix && key.prefix !== 'bootstrap' && typed.startsWith(key.prefix);
  const isOwn = k.prefix === 'bootstrap' ? !keys.some((other) => !other.revokedAt && begins(other)) : begins(k);
  const own = isOwn ? ' This console is signed in with it, and signs out.' : '';
  const start = button('Revoke', `Revoke key ${k.name}`, () => {
    const cancel = button('Cancel', `Keep key ${k.name}`, () => cell.replaceChildren(start), 'key-revoke-no');
    const yes = button('Yes, revoke', `Yes, revoke key ${k.name}`, async () => {
      cancel.disabled = true; // the revocation is on its way: no Cancel, Revoke, Yes that would send it twice
      try {
        await api('DELETE', `/v1/api-keys/${k.id}`);
        if (isOwn) {
          signOut(); // every later request of this console would fail with its key
          return;
        }
        $('keys-notice').textContent = `Key ${k.name} revoked.`;
        await loadKeys();
      } finally {
        cancel.disabled = false;
      }
    }, 'key-revoke-yes');
    cell.replaceChildren(el('span', `Revoke ${k.name}? Every request with it fails from now on.${own} `, { 'data-testid': 'key-revoke-text' }),
      yes, cancel);
  }, 'key-revoke');
  cell.append(start);
  return cell;
}

async function createKey() {
  const scopes = [...document.querySelectorAll('#key-form input[type=checkbox]:checked')].map((c) => c.value);
  const created = await api('POST', '/v1/api-keys', { name: $('key-name').value, scopes });
  $('key-value').textContent = created.key;
  $('key-copy').textContent = 'Copy';
  $('key-result').hidden = false;
  $('keys-notice').textContent = `Key ${created.name} created.`;
  await loadKeys();
}

// ---- wiring ---------------------------------------------------------------------------------------------------------
async function wire() {
  // Browsers may refill form fields on a reload (sign-out reloads): what the last session typed must not come back.
  for (const form of document.forms) form.reset();
  $('login-form').addEventListener('submit', guarded(signIn));
  $('sign-out').addEventListener('click', signOut);
  for (const b of document.querySelectorAll('nav button[data-screen]')) b.addEventListener('click', guarded(() => show(b.dataset.screen)));
  $('find-form').addEventListener('submit', guarded(findUser, { repeatable: true }));
  $('audit-more').addEventListener('click', guarded(() => audit.older()));
  $('deliveries-more').addEventListener('click', guarded(() => deliveries.older()));
  $('bypass-form').addEventListener('submit', guarded(issueBypass));
  $('bypass-revoke').addEventListener('click', guarded(revokeBypass));
  $('bypass-copy').addEventListener('click', guarded(() => copy($('bypass-code').textContent, 'bypass-copy')));
  $('reset-form').addEventListener('submit', guarded(startReset));
  $('reset-yes').addEventListener('click', guarded(confirmReset));
  $('reset-form').addEventListener('input', closeReset); // the open confirmation no longer names what the fields hold
  $('reset-no').addEventListener('click', closeReset);
  $('key-form').addEventListener('submit', guarded(createKey));
  $('key-copy').addEventListener('click', guarded(() => copy($('key-value').textContent, 'key-copy')));
  if (sessionStorage.getItem(KEY)) {
    signedIn(true);
    // The audit trail names the acting keys: their names first, as signing in loads them (a failure shows on the first action).
    try { rememberKeyNames(await api('GET', '/v1/api-keys')); } catch { /* shown by the next request */ }
    show('user');
  } else {
    signedIn(false);
  }
}

wire();
