// The gateway's web UI: one page over the same /v1 API every client uses, with the API key the
// user signs in with (kept in this tab's sessionStorage only, sent as a bearer token), so that
// policy decides what it shows and allows exactly as for any client. No build step: a plain ES
// module, and Chart.js from its own package. Elements are built with textContent, never HTML
// strings: key descriptions and tags are user input.
const main = document.getElementById('main');
const statusLine = document.getElementById('status');
const logout = document.getElementById('logout');
const TOKEN = 'kmsgw-api-key';

const PROVIDERS = ['local', 'aws', 'azure', 'gcp', 'pkcs11'];
const STATES = ['PRE_ACTIVE', 'ACTIVE', 'SUSPENDED', 'DEACTIVATED', 'COMPROMISED', 'PENDING_DELETION', 'DESTROYED'];
const SPECS = ['AES_256', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'EC_P256', 'EC_P384', 'EC_SECP256K1', 'ED25519', 'HMAC_256', 'HMAC_384', 'HMAC_512'];
const SORTS = [['id', 'Id'], ['-createdAt', 'Newest'], ['createdAt', 'Oldest'], ['-lastUsedAt', 'Recently used'], ['lastUsedAt', 'Least recently used'], ['nextRotationAt', 'Rotation due'], ['state', 'State'], ['spec', 'Spec']];

/** Builds an element: attributes (on* are listeners), then children (strings become text). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `the gateway answered ${status}`);
    this.status = status;
  }
}

async function request(method, path, body, headers = {}) {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN) ?? ''}`, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN);
    location.hash = '#/login';
  }
  return res;
}

async function api(method, path, body, headers) {
  const res = await request(method, path, body, headers);
  const text = await res.text();
  const data = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function say(message, isError = false) {
  statusLine.textContent = message;
  statusLine.className = isError ? 'error' : '';
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const keyName = (k) => (k.aliases?.length ? `alias/${k.aliases[0]}` : k.id);
const table = (caption, headers, rows, empty = 'None.') => (rows.length === 0
  ? h('p', {}, `${caption}: ${empty}`)
  : h('table', {}, h('caption', {}, caption), h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => (c instanceof Node && c.tagName === 'TD' ? c : h('td', {}, c))))))));

/** A section that loads on its own: one refusal (an auditor-only trail, say) does not hide the rest. */
function section(title, load) {
  const body = h('div', {}, h('p', {}, 'Loading…'));
  const el = h('section', { 'aria-labelledby': `s-${title}` }, h('h2', { id: `s-${title}` }, title), body);
  load().then((content) => body.replaceChildren(content)).catch((err) => {
    body.replaceChildren(h('p', { class: 'error' }, err.status === 403 ? 'Your roles may not read this.' : err.message));
  });
  return el;
}

// --- sign in ---------------------------------------------------------------------------------

function login() {
  const input = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', required: true, size: 60 });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', {
    async onsubmit(event) {
      event.preventDefault();
      sessionStorage.setItem(TOKEN, input.value.trim());
      const res = await request('GET', '/v1/keys?limit=1');
      if (res.status === 401) {
        error.textContent = 'That API key is not valid (unknown, revoked or expired).';
        return;
      }
      location.hash = '#/keys';
    },
  }, h('label', { for: 'api-key' }, 'API key'), input, h('p', {}, h('button', { type: 'submit' }, 'Sign in')), error);
  main.append(h('h1', {}, 'Sign in'), h('p', {}, 'Sign in with a gateway API key (kmsgw_…). It stays in this browser tab only.'), form);
}

// --- inventory -------------------------------------------------------------------------------

/** A labelled form control: the label names the control alone (not its options). */
function field(label, control) {
  control.id ||= `f-${control.name}`;
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
}

function select(name, label, options, value) {
  return field(label, h('select', { name }, h('option', { value: '' }, 'any'),
    options.map((o) => { const [v, t] = Array.isArray(o) ? o : [o, o]; return h('option', { value: v, selected: v === value }, t); })));
}

async function inventory(params) {
  const connections = await api('GET', '/v1/connections').then((r) => r.connections.map((c) => c.name)).catch(() => []);
  const form = h('form', {
    class: 'filters', role: 'search', 'aria-label': 'Filter keys',
    onsubmit(event) {
      event.preventDefault();
      const query = new URLSearchParams([...new FormData(form)].filter(([, v]) => v !== ''));
      location.hash = `#/keys?${query}`;
    },
  },
  select('provider', 'Provider', PROVIDERS, params.get('provider')),
  select('state', 'State', STATES, params.get('state')),
  select('connection', 'Connection', connections, params.get('connection')),
  select('spec', 'Spec', SPECS, params.get('spec')),
  select('managed', 'Managed', [['true', 'managed'], ['false', 'observed']], params.get('managed')),
  field('Owner', h('input', { name: 'owner', value: params.get('owner') ?? '', size: 12 })),
  field('Tag (k:v)', h('input', { name: 'tag', value: params.get('tag') ?? '', size: 14 })),
  field('Sort', h('select', { name: 'sort' }, SORTS.map(([v, t]) => h('option', { value: v, selected: v === (params.get('sort') ?? 'id') }, t)))),
  h('button', { type: 'submit' }, 'Filter'));

  const query = new URLSearchParams(params);
  query.set('limit', '50');
  const page = await api('GET', `/v1/keys?${query}`);
  const rows = page.keys.map((k) => [
    h('a', { href: `#/keys/${encodeURIComponent(k.id)}` }, keyName(k)), k.spec, k.usage, h('span', { class: 'state' }, k.state),
    k.provider, k.connection, k.tags.owner ?? '', k.managed ? 'managed' : 'observed', when(k.lastUsedAt), when(k.nextRotationAt),
  ]);
  const pager = h('div', { class: 'pager' });
  if (page.nextCursor) {
    const next = new URLSearchParams(params);
    next.set('cursor', page.nextCursor);
    pager.append(h('a', { href: `#/keys?${next}` }, 'Next page'));
  }
  pager.append(h('button', { type: 'button', class: 'secondary', onclick: () => exportCsv(params) }, 'Export CSV'));
  main.append(h('h1', {}, 'Key inventory'), form,
    table('Keys', ['Key', 'Spec', 'Usage', 'State', 'Provider', 'Connection', 'Owner', 'Managed', 'Last used', 'Next rotation'], rows, 'no key matches.'), pager);
}

async function exportCsv(params) {
  const query = new URLSearchParams(params);
  query.delete('cursor');
  query.set('format', 'csv');
  const res = await request('GET', `/v1/inventory/export?${query}`);
  if (!res.ok) return say(`Export refused: ${(await res.json()).detail}`, true);
  const link = h('a', { href: URL.createObjectURL(await res.blob()), download: 'kmsgw-inventory.csv' });
  link.click();
  URL.revokeObjectURL(link.href);
}

// --- key detail ------------------------------------------------------------------------------

async function keyDetail(id) {
  const key = await api('GET', `/v1/keys/${encodeURIComponent(id)}`);
  const facts = [
    ['Id', key.id], ['Aliases', key.aliases.join(', ') || '—'], ['Spec', key.spec], ['Usage', key.usage], ['State', key.state],
    ['Managed', key.managed ? 'managed by the gateway' : 'observed (adopt it to use it)'], ['Provider', key.provider], ['Connection', key.connection],
    ['Current version', key.currentVersion], ['Rotation period', key.rotationPeriodDays ? `${key.rotationPeriodDays} days` : '—'],
    ['Next rotation', when(key.nextRotationAt)], ['Last used', when(key.lastUsedAt)], ['Deletion date', when(key.dates.deletion)],
    ['Tags', Object.entries(key.tags).map(([k, v]) => `${k}=${v}`).join(', ') || '—'], ['Description', key.description || '—'],
  ];
  main.append(
    h('p', {}, h('a', { href: '#/keys' }, '← Inventory')),
    h('h1', {}, `Key ${keyName(key)}`),
    h('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    actions(key),
    section('Bindings', async () => table('Where the key lives', ['Role', 'Connection', 'Provider', 'Reference', 'Sync', 'Backend', 'Last seen'],
      key.bindings.map((b) => [b.role, b.connection, b.provider, h('td', { class: 'mono' }, b.ref ?? 'pending'), b.syncStatus, b.backendState, when(b.lastSeenAt)]))),
    section('Versions', async () => {
      const { versions } = await api('GET', `/v1/keys/${key.id}/versions`);
      return table('Versions', ['Version', 'Current', 'Created'], versions.map((v) => [v.version, v.current ? 'current' : '', when(v.createdAt)]));
    }),
    section('Lifecycle history', async () => {
      const { events } = await api('GET', `/v1/keys/${key.id}/events?limit=100`);
      return table('Lifecycle history', ['When', 'Event', 'From', 'To', 'By', 'Reason'],
        events.map((e) => [when(e.at), e.type, e.fromState ?? '', e.toState ?? '', e.actor, e.reason ?? '']));
    }),
    section('Usage', async () => {
      const usage = await api('GET', `/v1/keys/${key.id}/usage`);
      return table('Operations', ['Operation', 'Count', 'Last'], usage.operations.map((o) => [o.operation, o.count, when(o.lastUsedAt)]), 'never used.');
    }),
    section('Compliance findings', async () => {
      const report = await api('GET', `/v1/compliance?key=${key.id}`);
      return table('Findings', ['Rule', 'Finding', 'Fix'], report.findings.map((f) => [f.rule, f.message, f.fix]), 'the key meets every rule in force.');
    }),
    section('Drift', async () => {
      const { drift } = await api('GET', `/v1/drift?keyId=${key.id}`);
      return table('Drift', ['When', 'Type', 'Field', 'Expected', 'Found'],
        drift.map((d) => [when(d.at), d.type, d.detail.field ?? '', JSON.stringify(d.detail.before ?? ''), JSON.stringify(d.detail.after ?? '')]), 'none found.');
    }),
    section('Audit trail', async () => {
      const { events } = await api('GET', `/v1/audit/events?keyId=${key.id}&limit=1000`);
      return table('Recent audit events', ['When', 'Principal', 'Operation', 'Decision', 'Status'],
        events.slice(-20).reverse().map((e) => [when(e.at), e.principal, e.action ?? e.route, e.decision, e.status]));
    }),
  );
}

/** The actions policy may allow; a refusal that needs approvals offers to ask for them. */
function actions(key) {
  const approval = h('input', { id: 'approval', name: 'approval', size: 30, placeholder: 'apr_…' });
  const days = h('input', { id: 'days', name: 'days', type: 'number', min: 7, max: 30, value: 30, size: 4 });
  const ask = h('div', { class: 'actions' });
  const run = (label, operation, path, body) => h('button', {
    type: 'button', class: operation === 'scheduleKeyDeletion' ? 'danger' : undefined,
    async onclick() {
      ask.replaceChildren();
      try {
        await api('POST', `/v1/keys/${key.id}/${path}`, body?.(), approval.value ? { 'kmsgw-approval': approval.value.trim() } : {});
        await route();
        say(`${label}: done.`);
      } catch (err) {
        say(`${label} refused: ${err.message}`, true);
        if (err.status === 403 && /approval/.test(err.message)) ask.append(approvalForm(key, operation));
      }
    },
  }, label);
  // An imported key rotates only with the caller's own wrapped material: through the API or the CLI.
  const buttons = key.origin === 'IMPORTED' ? [] : [run('Rotate', 'rotateKey', 'rotate')];
  if (key.state === 'ACTIVE') buttons.push(run('Suspend', 'suspendKey', 'suspend'));
  if (key.state === 'SUSPENDED') buttons.push(run('Reactivate', 'reactivateKey', 'reactivate'));
  if (key.state === 'PENDING_DELETION') buttons.push(run('Cancel deletion', 'cancelKeyDeletion', 'cancel-deletion'));
  else if (key.state !== 'DESTROYED') buttons.push(field('Deletion window (days)', days), run('Schedule deletion', 'scheduleKeyDeletion', 'schedule-deletion', () => ({ pendingDays: Number(days.value) })));
  return h('section', { 'aria-labelledby': 's-actions' }, h('h2', { id: 's-actions' }, 'Actions'),
    h('div', { class: 'actions' }, buttons, field('Approval (if needed)', approval)), ask);
}

function approvalForm(key, operation) {
  const reason = h('input', { id: 'reason', name: 'reason', required: true, size: 40 });
  const form = h('form', {
    async onsubmit(event) {
      event.preventDefault();
      try {
        const request = await api('POST', '/v1/approvals', { operation, key: key.id, reason: reason.value });
        form.replaceChildren(h('p', {}, 'Approval requested: ', h('span', { class: 'mono' }, request.id),
          '. When others have approved it, enter it under "Approval" and repeat the action.'));
      } catch (err) {
        say(`Approval request refused: ${err.message}`, true);
      }
    },
  }, field(`This needs approval. Reason for ${operation}`, reason), h('button', { type: 'submit' }, 'Request approval'));
  return form;
}

// --- dashboard -------------------------------------------------------------------------------

async function dashboard() {
  const summary = await api('GET', '/v1/inventory/summary?hours=48');
  const total = summary.keys.reduce((n, r) => n + r.keys, 0);
  const observed = summary.keys.filter((r) => !r.managed).reduce((n, r) => n + r.keys, 0);
  const card = (label, value, href) => h('div', { class: 'card' }, h('strong', {}, value), href ? h('a', { href }, label) : label);
  const soon = new Date(Date.now() + 30 * 86_400_000).toISOString();
  main.append(h('h1', {}, 'Dashboard'), h('div', { class: 'cards' },
    card('keys', total.toLocaleString(), '#/keys'),
    card('observed, not managed', observed.toLocaleString(), '#/keys?managed=false'),
    card('rotations overdue', summary.rotation.overdue, `#/keys?sort=nextRotationAt&rotationDueBefore=${encodeURIComponent(new Date().toISOString())}`),
    card('rotations due in 30 days', summary.rotation.next30Days, `#/keys?sort=nextRotationAt&rotationDueBefore=${encodeURIComponent(soon)}`),
    card('keys with open drift', summary.drift)));

  const byProvider = [...new Set(summary.keys.map((r) => r.provider))].sort();
  const states = [...new Set(summary.keys.map((r) => r.state))].sort();
  const hours = [...new Set(summary.operations.map((o) => o.hour))].sort();
  const opsProviders = [...new Set(summary.operations.map((o) => o.provider))].sort();
  const charts = h('div', { class: 'charts' });
  main.append(charts);
  chart(charts, 'Keys by provider and state', `${total} keys across ${byProvider.length} providers`, {
    type: 'bar',
    data: { labels: byProvider, datasets: states.map((s) => ({ label: s, data: byProvider.map((p) => summary.keys.filter((r) => r.provider === p && r.state === s).reduce((n, r) => n + r.keys, 0)) })) },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
  chart(charts, 'Operations per provider, by hour', `${summary.operations.reduce((n, o) => n + o.count, 0)} operations in the last 48 hours`, {
    type: 'line',
    data: { labels: hours.map((x) => new Date(x).toLocaleString()), datasets: opsProviders.map((p) => ({ label: p, data: hours.map((x) => summary.operations.find((o) => o.hour === x && o.provider === p)?.count ?? 0) })) },
    options: { scales: { y: { beginAtZero: true } } },
  });
  const scan = h('button', {
    type: 'button', class: 'secondary',
    async onclick() {
      try {
        const job = await api('POST', '/v1/compliance/scan');
        scan.replaceWith(h('p', { role: 'status' }, `Scan ${job.id} queued; its figures appear here when it finishes.`));
      } catch (err) {
        say(`Scan refused: ${err.message}`, true);
      }
    },
  }, 'Scan every key now');
  const { findings } = summary;
  if (findings) {
    chart(charts, `Keys breaking each rule (scan of ${findings.scanned.toLocaleString()} keys, ${when(findings.finishedAt)})`, `${findings.keys} keys with findings`, {
      type: 'bar', data: { labels: findings.byRule.map((r) => r.rule), datasets: [{ label: 'keys', data: findings.byRule.map((r) => r.keys) }] },
      options: { scales: { y: { beginAtZero: true } } },
    });
  } else {
    charts.append(h('p', {}, 'No compliance scan has finished yet.'));
  }
  charts.append(scan);
}

/** A chart with its figures also in text, for screen readers. */
function chart(into, title, description, config) {
  const canvas = h('canvas', { role: 'img', 'aria-label': `${title}: ${description}` });
  into.append(h('figure', {}, h('figcaption', {}, h('strong', {}, title), ' — ', description), canvas));
  new Chart(canvas, { ...config, options: { ...config.options, animation: false, responsive: true } });
}

// --- routing ---------------------------------------------------------------------------------

async function route() {
  const [path, query = ''] = location.hash.slice(1).split('?');
  const signedIn = Boolean(sessionStorage.getItem(TOKEN));
  logout.hidden = !signedIn;
  if (!signedIn && path !== '/login') {
    location.hash = '#/login';
    return;
  }
  main.replaceChildren();
  say('');
  try {
    if (path === '/login') login();
    else if (path.startsWith('/keys/')) await keyDetail(decodeURIComponent(path.slice('/keys/'.length)));
    else if (path === '/dashboard') await dashboard();
    else await inventory(new URLSearchParams(query));
  } catch (err) {
    if (err.status !== 401) main.append(h('p', { class: 'error', role: 'alert' }, err.message));
  }
  main.focus();
}

logout.addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN);
  location.hash = '#/login';
});
window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', route);
