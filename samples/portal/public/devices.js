// Remembered browsers on the sample portal page (AuthService DESIGN §9.3). The device token itself lives in an HttpOnly
// cookie the portal's server sets: this page never sees it, it only asks to remember, lists and forgets.
'use strict';

/** Sent with every verify: whether the person ticked "Remember this browser for 30 days". */
const remembering = () => ({ remember: $('login-remember').checked });

function deviceItem(d) {
  const forget = el('button', { testid: 'device-revoke', type: 'button', className: 'secondary', textContent: 'Forget' });
  forget.addEventListener('click', (e) => act(e.currentTarget, 'devices-msg', async () => {
    await api('DELETE', '/api/devices', { deviceId: d.id });
    await refreshDevices();
    say('devices-msg', `Forgot "${d.label}": it asks for a code at the next sign-in.`);
  }));
  const li = el('li', { testid: 'device' },
    el('span', { testid: 'device-label', className: 'label', textContent: d.label }), ' ',
    el('span', { className: 'note', textContent: `remembered ${when(d.createdAt)}, ` +
      (d.lastUsedAt ? `last used ${when(d.lastUsedAt)}` : 'not used since') + `, until ${when(d.expiresAt)}` }), ' ',
    forget);
  li.dataset.deviceId = d.id;
  return li;
}

async function refreshDevices() {
  const r = await api('GET', '/api/devices');
  $('devices').replaceChildren(...r.devices.map(deviceItem));
  say('devices-msg', r.devices.length ? '' : 'No remembered browsers.');
}

$('devices-refresh').addEventListener('click', (e) => act(e.currentTarget, 'devices-msg', refreshDevices));

$('devices-revoke-all').addEventListener('click', (e) => act(e.currentTarget, 'devices-msg', async () => {
  const r = await api('POST', '/api/devices/revoke-all');
  await refreshDevices();
  say('devices-msg', `Forgot ${r.revoked} browser(s): each asks for a code at the next sign-in.`);
}));
