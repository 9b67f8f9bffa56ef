// The CustomerJourneyData dashboard: one page, hash routes, every figure from the hub's /v1/ API
// with the token signed in with (kept in this tab's sessionStorage). No library, no inline code
// (the hub's Content-Security-Policy forbids it), text always set as text (never as HTML).
'use strict';

const TOKEN_KEY = 'cjd.token';
const ROUTES = ['overview', 'fleet', 'customers', 'segments', 'offers', 'journeys', 'privacy'];
let refreshTimer = null;

// ---- small DOM helpers ----------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// A value as the API gave it: numbers and decimal strings unchanged, null as an em dash.
function shown(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function tile(label, field, value) {
  return el('div', { class: 'tile', 'data-field': field },
    el('div', { class: 'label', text: label }),
    el('div', { class: 'value', text: shown(value) }));
}

function table(columns, rows, opts = {}) {
  const thead = el('thead', {}, el('tr', {}, columns.map((c) => {
    const th = el('th', { scope: 'col', class: c.num ? 'num' : null });
    if (opts.sortable && c.key) {
      const dir = opts.sort && opts.sort.key === c.key ? opts.sort.dir : null;
      if (dir) th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
      th.append(el('button', { type: 'button', 'data-sort': c.key, text: c.label,
        onclick: () => opts.onSort(c.key) }));
    } else {
      th.textContent = c.label;
    }
    return th;
  })));
  const tbody = el('tbody', {}, rows.map((r) => el('tr', r._attrs || {}, columns.map((c) => {
    const v = c.cell ? c.cell(r) : shown(r[c.key]);
    return el('td', { class: c.num ? 'num' : null, 'data-col': c.key || null }, v);
  }))));
  return el('div', { class: 'scroll' }, el('table', { 'aria-label': opts.label || null }, thead, tbody));
}

// ---- the API ---------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const e = body && body.error ? body.error : {};
    super(e.message || ('HTTP ' + status));
    this.status = status;
    this.code = e.code;
    this.field = e.field;
  }
}

async function api(path, options = {}) {
  const headers = { Authorization: 'Bearer ' + sessionStorage.getItem(TOKEN_KEY) };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method: options.method || 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    cache: 'no-store',
    credentials: 'omit',
  });
  let body = null;
  try { body = await res.json(); } catch (_) { body = null; }
  if (res.status === 401) {
    signOut('The hub refused the token (401): sign in again.');
    throw new ApiError(401, body);
  }
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

function errorBox(err) {
  const what = err.status === 403 ? 'This token\'s role may not see this page (403): '
    : err.status === 404 ? 'Not available on this hub (404): ' : '';
  return el('p', { class: 'error', role: 'alert', text: what + err.message });
}

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) p.set(k, v);
  const s = p.toString();
  return s ? '?' + s : '';
}

// ---- sign-in and routing ---------------------------------------------------------------------

// A token passed once in the fragment ("#token=..." or "#/fleet?token=...") is moved into
// session storage and removed from the address bar (and so from history).
function takeTokenFromFragment() {
  const h = location.hash;
  let route = 'overview';
  let token = null;
  if (h.startsWith('#token=')) {
    token = decodeURIComponent(h.slice(7));
  } else {
    const m = /^#\/([a-z]+)\?(.*)$/.exec(h);
    if (m) {
      const p = new URLSearchParams(m[2]);
      token = p.get('token');
      route = m[1];
      p.delete('token');
      if (token !== null) {
        const rest = p.toString();
        history.replaceState(null, '', location.pathname + '#/' + route + (rest ? '?' + rest : ''));
      }
    }
  }
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    if (h.startsWith('#token=')) history.replaceState(null, '', location.pathname + '#/' + route);
  }
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (refreshTimer) clearInterval(refreshTimer);
  refreshTimer = null;
  document.getElementById('sign-in-error').textContent = message || '';
  render();
}

function currentRoute() {
  const m = /^#\/([a-z]+)/.exec(location.hash);
  return m && ROUTES.includes(m[1]) ? m[1] : 'overview';
}

function render() {
  const signedIn = !!sessionStorage.getItem(TOKEN_KEY);
  document.getElementById('sign-in').hidden = signedIn;
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('sign-out').hidden = !signedIn;
  const page = document.getElementById('page');
  page.replaceChildren();
  page.removeAttribute('data-page');
  if (refreshTimer) clearInterval(refreshTimer);
  refreshTimer = null;
  if (!signedIn) {
    document.title = 'Sign in — CustomerJourneyData';
    document.getElementById('token').focus();
    return;
  }
  const route = currentRoute();
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === '#/' + route) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = route[0].toUpperCase() + route.slice(1) + ' — CustomerJourneyData';
  page.setAttribute('data-page', route);
  page.setAttribute('aria-busy', 'true');
  PAGES[route](page).catch((err) => {
    if (err.status !== 401) page.append(errorBox(err));
  }).finally(() => {
    // When the page had all its figures, in ms since the navigation started (tests read it).
    page.setAttribute('data-rendered-ms', String(Math.round(performance.now())));
    page.setAttribute('aria-busy', 'false');
  });
}

// ---- charts (inline SVG, with the figures also as a table for screen readers) ----------------

function barChart(title, field, points) {
  const w = 340, h = 150, pad = 24;
  const values = points.map((p) => (p.value === null ? 0 : Number(p.value)));
  const max = Math.max(0, ...values);
  const min = Math.min(0, ...values);
  const span = max - min || 1;
  const bw = points.length ? (w - pad) / points.length : 0;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', title);
  const zero = h - pad - ((0 - min) / span) * (h - 2 * pad);
  values.forEach((v, i) => {
    const r = document.createElementNS(svg.namespaceURI, 'rect');
    const y = h - pad - ((v - min) / span) * (h - 2 * pad);
    r.setAttribute('class', 'bar');
    r.setAttribute('x', String(pad + i * bw + 1));
    r.setAttribute('width', String(Math.max(1, bw - 2)));
    r.setAttribute('y', String(Math.min(y, zero)));
    r.setAttribute('height', String(Math.max(0.5, Math.abs(zero - y))));
    const t = document.createElementNS(svg.namespaceURI, 'title');
    t.textContent = points[i].label + ': ' + shown(points[i].value);
    r.append(t);
    svg.append(r);
  });
  const axis = document.createElementNS(svg.namespaceURI, 'line');
  axis.setAttribute('class', 'axis');
  axis.setAttribute('x1', String(pad)); axis.setAttribute('x2', String(w));
  axis.setAttribute('y1', String(zero)); axis.setAttribute('y2', String(zero));
  svg.append(axis);
  for (const [text, y] of [[shown(max), pad - 6], [shown(min), h - 6]]) {
    const t = document.createElementNS(svg.namespaceURI, 'text');
    t.setAttribute('x', '0'); t.setAttribute('y', String(y));
    t.textContent = text;
    svg.append(t);
  }
  if (points.length) {
    const t = document.createElementNS(svg.namespaceURI, 'text');
    t.setAttribute('x', String(pad)); t.setAttribute('y', String(h - 6));
    t.textContent = points[0].label + ' … ' + points[points.length - 1].label;
    svg.append(t);
  }
  const details = el('details', {}, el('summary', { text: 'Figures' }),
    table([{ label: 'Month', key: 'label' }, { label: title, key: 'value', num: true }], points));
  return el('figure', { 'data-chart': field }, el('figcaption', { text: title }), svg, details);
}

// ---- pages -----------------------------------------------------------------------------------

const PAGES = {};

const OVERVIEW_TILES = [
  ['Customers', 'customers'], ['Orders', 'orders'], ['Revenue (gross)', 'revenue_gross'],
  ['Revenue (net)', 'revenue_net'], ['Average order value', 'average_order_value'],
  ['Purchase frequency', 'purchase_frequency'], ['Repeat purchase rate', 'repeat_purchase_rate'],
  ['Repeat customers', 'repeat_customers'], ['CLV (gross)', 'clv_gross'], ['CLV (net)', 'clv_net'],
  ['New customers', 'new_customers'],
];

PAGES.overview = async (page) => {
  const params = new URLSearchParams((location.hash.split('?')[1]) || '');
  const form = el('form', { class: 'filters', 'aria-label': 'Period, store and channel' },
    el('div', {}, el('label', { for: 'f-from', text: 'From (month)' }),
      el('input', { id: 'f-from', name: 'from', type: 'month', value: params.get('from') || '' })),
    el('div', {}, el('label', { for: 'f-to', text: 'To (month, not included)' }),
      el('input', { id: 'f-to', name: 'to', type: 'month', value: params.get('to') || '' })),
    el('div', {}, el('label', { for: 'f-store', text: 'Store' }),
      el('input', { id: 'f-store', name: 'store', value: params.get('store') || '', size: 12 })),
    el('div', {}, el('label', { for: 'f-channel', text: 'Channel' }),
      el('select', { id: 'f-channel', name: 'channel' },
        ['', 'store', 'web', 'app', 'kiosk', 'email', 'phone', 'other'].map((c) =>
          el('option', { value: c, selected: c === (params.get('channel') || ''), text: c || 'all' })))),
    el('button', { type: 'submit', text: 'Show' }));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    location.hash = '#/overview' + qs(Object.fromEntries(f.entries()));
  });
  page.append(el('h1', { text: 'Overview' }), form);
  const query = {};
  for (const k of ['from', 'to', 'store', 'channel']) if (params.get(k)) query[k] = params.get(k);
  const m = await api('/v1/metrics' + qs(query));
  page.append(el('p', { class: 'muted', 'data-field': 'currency',
    text: 'Currency ' + shown(m.currency) + (m.other_currencies && m.other_currencies.length
      ? ' (also: ' + m.other_currencies.map((c) => c.currency || c).join(', ') + ')' : '') }));
  page.append(el('div', { class: 'tiles' }, OVERVIEW_TILES.map(([label, field]) => tile(label, field, m[field]))));
  const monthly = m.monthly || [];
  const series = (field) => monthly.map((r) => ({ label: r.month, value: r[field] }));
  page.append(el('h2', { text: 'By month' }), el('div', { class: 'charts' },
    barChart('Customers', 'customers', series('customers')),
    barChart('Revenue (gross)', 'revenue_gross', series('revenue_gross')),
    barChart('Average order value', 'average_order_value', series('average_order_value')),
    barChart('Customer growth rate', 'customer_growth_rate', series('customer_growth_rate'))));
};

PAGES.fleet = async (page) => {
  page.append(el('h1', { text: 'Fleet' }));
  const state = { sort: { key: 'device_id', dir: 1 }, store: '', online: '' };
  const filters = el('form', { class: 'filters', 'aria-label': 'Filter devices' });
  const alertsBox = el('div', { id: 'alerts' });
  const tableBox = el('div', { id: 'devices' });
  const stamp = el('p', { class: 'muted', id: 'fleet-updated' });
  page.append(alertsBox, filters, tableBox, stamp);
  let devices = [];
  const draw = () => {
    let rows = devices.filter((d) => (!state.store || d.store_id === state.store) &&
      (!state.online || (state.online === 'online') === !!d.online));
    const k = state.sort.key;
    rows = rows.slice().sort((a, b) => {
      const x = a[k], y = b[k];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * state.sort.dir;
    });
    for (const r of rows) r._attrs = { 'data-device': r.device_id };
    tableBox.replaceChildren(table([
      { label: 'Device', key: 'device_id' },
      { label: 'Store', key: 'store_id' },
      { label: 'Kind', key: 'kind' },
      { label: 'State', key: 'online', cell: (d) => el('span', {
        class: d.online ? 'state-online' : 'state-offline', text: d.online ? 'online' : 'offline' }) },
      { label: 'Last seen', key: 'last_seen' },
      { label: 'Backlog', key: 'backlog', num: true },
      { label: 'Backlog age (s)', key: 'backlog_age_s', num: true },
      { label: 'Acked / last seq', key: 'acked_seq', cell: (d) => shown(d.acked_seq) + ' / ' + shown(d.last_seq) },
      { label: 'Clock skew (ms)', key: 'clock_skew_ms', num: true },
      { label: 'Version', key: 'version' },
      { label: 'Offers (held / target)', key: 'offers_version',
        cell: (d) => shown(d.offers_version) + ' / ' + shown(d.offers_target) },
    ], rows, { sortable: true, sort: state.sort, label: 'Devices',
      onSort: (key) => {
        state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
        draw();
      } }));
  };
  const stores = () => [...new Set(devices.map((d) => d.store_id))].sort();
  const drawFilters = () => {
    filters.replaceChildren(
      el('div', {}, el('label', { for: 'fleet-store', text: 'Store' }),
        el('select', { id: 'fleet-store', onchange: (e) => { state.store = e.target.value; draw(); } },
          el('option', { value: '', text: 'all' }),
          stores().map((s) => el('option', { value: s, selected: s === state.store, text: s })))),
      el('div', {}, el('label', { for: 'fleet-state', text: 'State' }),
        el('select', { id: 'fleet-state', onchange: (e) => { state.online = e.target.value; draw(); } },
          ['', 'online', 'offline'].map((s) =>
            el('option', { value: s, selected: s === state.online, text: s || 'all' })))));
  };
  const load = async () => {
    const [d, a] = await Promise.all([api('/v1/devices'), api('/v1/alerts')]);
    devices = d.devices || [];
    const list = a.alerts || [];
    alertsBox.replaceChildren(el('h2', { text: 'Alerts (' + list.length + ')' }),
      list.length === 0 ? el('p', { class: 'muted', text: 'No alerts.' })
        : el('ul', { class: 'alerts' }, list.map((x) => el('li', { 'data-alert': x.kind, 'data-device': x.device_id },
          el('span', { class: 'sev-' + x.severity, text: x.severity + ' ' }),
          x.kind + ': ' + x.message))));
    const focused = document.activeElement && document.activeElement.id;
    drawFilters();
    draw();
    if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
    stamp.textContent = devices.length + ' devices, ' + devices.filter((x) => x.online).length +
      ' online; updated ' + new Date().toLocaleTimeString() + ' (every 5 s)';
  };
  await load();
  refreshTimer = setInterval(() => { load().catch(() => {}); }, 5000);
};

PAGES.customers = async (page) => {
  const params = new URLSearchParams((location.hash.split('?')[1]) || '');
  const form = el('form', { class: 'filters', role: 'search' },
    el('div', {}, el('label', { for: 'c-id', text: 'Identifier (type:value, e.g. email:ann@example.com)' }),
      el('input', { id: 'c-id', name: 'identifier', size: 40, value: params.get('identifier') || '', required: true })),
    el('button', { type: 'submit', text: 'Find' }));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = '#/customers' + qs({ identifier: form.identifier.value.trim() });
  });
  page.append(el('h1', { text: 'Customers' }), form);
  const identifier = params.get('identifier');
  if (!identifier) return;
  let p;
  try {
    p = await api('/v1/profiles' + qs({ identifier, events_limit: 100 }));
  } catch (err) {
    page.append(errorBox(err));
    return;
  }
  const t = p.traits || {};
  page.append(el('h2', { text: 'Profile ' + p.profile_id }),
    el('div', { class: 'tiles' }, ['orders', 'revenue_gross', 'revenue_net', 'average_order_value',
      'clv_net', 'last_order_at', 'first_seen', 'last_seen', 'favourite_store'].map((f) => tile(f.replace(/_/g, ' '), f, t[f]))),
    el('h2', { text: 'Identifiers' }),
    table([{ label: 'Type', key: 'type' }, { label: 'Value', key: 'value' }, { label: 'Attached', key: 'attached_at' }],
      p.identifiers || [], { label: 'Identifiers' }),
    el('h2', { text: 'Attributes' }),
    table([{ label: 'Name', key: 'k' }, { label: 'Value', key: 'v' }],
      Object.entries(p.attributes || {}).map(([k, v]) => ({ k, v })), { label: 'Attributes' }),
    el('h2', { text: 'Segments' }),
    el('p', { id: 'profile-segments', text: (p.segments || []).length ? p.segments.join(', ') : 'In no segment.' }),
    el('h2', { text: 'Journey stage' }),
    el('p', { 'data-field': 'journey_stage', text: p.journey_stage ? 'current ' + shown(p.journey_stage.current) +
      ', furthest ' + shown(p.journey_stage.furthest) : '—' }));
  const merges = el('div', {});
  if ((p.merged_from || []).length) {
    merges.append(el('p', { text: 'Merged from profiles ' + p.merged_from.join(', ') + '.' }),
      el('button', { type: 'button', class: 'secondary', id: 'split', text: 'Split the latest merge…',
        onclick: async () => {
          if (!confirm('Undo the latest merge into profile ' + p.profile_id + '? The two profiles stay apart from then on.')) return;
          try {
            const r = await api('/v1/profiles/' + p.profile_id + '/split', { method: 'POST', body: {} });
            merges.append(el('p', { role: 'status', text: 'Split: profile ' + r.restored_profile_id + ' restored.' }));
          } catch (err) { merges.append(errorBox(err)); }
        } }));
  } else {
    merges.append(el('p', { class: 'muted', text: 'No merges.' }));
  }
  page.append(el('h2', { text: 'Merges' }), merges);
  page.append(el('h2', { text: 'Timeline (latest 100 events, store and web)' }),
    table([{ label: 'When', key: 'at' }, { label: 'Type', key: 'type' }, { label: 'Channel', key: 'channel' },
      { label: 'Store', key: 'store' }, { label: 'Source', key: 'source' }],
    (p.events || []).map((e) => ({ at: e.event.occurred_at, type: e.event.type, channel: e.event.channel,
      store: e.event.store_id, source: e.source })), { label: 'Timeline' }));
};

PAGES.segments = async (page) => {
  page.append(el('h1', { text: 'Segments' }));
  const result = el('div', { id: 'segment-result' });
  const form = el('form', { id: 'segment-form', 'aria-label': 'Create or edit a segment' },
    el('div', { class: 'row' },
      el('div', {}, el('label', { for: 's-id', text: 'Id (a-z, 0-9, _ and -)' }), el('input', { id: 's-id', name: 'id', required: true })),
      el('div', {}, el('label', { for: 's-name', text: 'Name' }), el('input', { id: 's-name', name: 'name' }))),
    el('div', {}, el('label', { for: 's-rule', text: 'Rule (e.g. orders >= 2 and revenue_net > 100)' }),
      el('textarea', { id: 's-rule', name: 'rule', rows: 3, cols: 70, required: true, 'aria-describedby': 'segment-result' })),
    el('div', { class: 'row' }, el('button', { type: 'submit', text: 'Save segment' })), result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    result.replaceChildren();
    const body = { id: form.elements.id.value.trim(), rule: form.elements.rule.value };
    if (form.elements.name.value.trim()) body.name = form.elements.name.value.trim();
    try {
      const s = await api('/v1/segments', { method: 'POST', body });
      result.append(el('p', { role: 'status', text: 'Saved segment ' + s.id + '.' }));
      await list();
    } catch (err) {
      const m = /^at (\d+): /.exec(err.message || '');
      if (err.field === 'rule' && m) {
        const pos = Number(m[1]);
        const chars = [...body.rule];
        result.append(el('p', { class: 'error', role: 'alert', 'data-error-field': 'rule', text: err.message }),
          el('pre', { class: 'rule-error', 'aria-hidden': 'true', text: chars.join('') + '\n' + ' '.repeat(Math.max(0, pos - 1)) + '^' }));
        const ta = form.rule;
        ta.focus();
        const before = chars.slice(0, pos - 1).join('').length;
        ta.setSelectionRange(before, before);
      } else {
        result.append(el('p', { class: 'error', role: 'alert', 'data-error-field': err.field || '', text: err.message }));
      }
    }
  });
  const listBox = el('div', { id: 'segment-list' });
  const list = async () => {
    const s = await api('/v1/segments');
    const rows = (s.segments || []).map((x) => Object.assign({ _attrs: { 'data-segment': x.id } }, x));
    listBox.replaceChildren(table([
      { label: 'Id', key: 'id' }, { label: 'Name', key: 'name' }, { label: 'Members', key: 'members', num: true },
      { label: 'Rule', key: 'rule', cell: (x) => el('code', { text: x.rule }) },
      { label: 'Built in', key: 'builtin', cell: (x) => (x.builtin ? 'yes' : '') },
      { label: 'Evaluated', key: 'evaluated_at' },
      { label: '', key: null, cell: (x) => (x.builtin ? '' : el('button', { type: 'button', class: 'secondary',
        text: 'Edit', onclick: () => { form.elements.id.value = x.id; form.elements.name.value = x.name || ''; form.rule.value = x.rule; form.rule.focus(); } })) },
    ], rows, { label: 'Segments' }));
  };
  page.append(form, el('h2', { text: 'All segments' }), listBox);
  await list();
};

PAGES.offers = async (page) => {
  page.append(el('h1', { text: 'Offers' }));
  const o = await api('/v1/offers');
  const offers = o.offers || [];
  const stats = await Promise.all(offers.map((x) => api('/v1/offers/' + encodeURIComponent(x.id) + '/stats').catch(() => ({}))));
  const rows = offers.map((x, i) => Object.assign({ _attrs: { 'data-offer': x.id } }, x, {
    impressions: stats[i].impressions, redemptions: stats[i].redemptions,
    redemption_rate: stats[i].redemption_rate,
    revenue: stats[i].revenue === undefined ? null : stats[i].revenue + ' ' + (stats[i].currency || '') }));
  page.append(table([
    { label: 'Id', key: 'id' }, { label: 'Title', key: 'title' }, { label: 'Segment', key: 'segment' },
    { label: 'Valid from', key: 'valid_from' }, { label: 'Valid until', key: 'valid_until' },
    { label: 'Priority', key: 'priority', num: true }, { label: 'Impressions', key: 'impressions', num: true },
    { label: 'Redemptions', key: 'redemptions', num: true }, { label: 'Redemption rate', key: 'redemption_rate', num: true },
    { label: 'Revenue', key: 'revenue', num: true },
  ], rows, { label: 'Offers' }));
  if (!offers.length) page.append(el('p', { class: 'muted', text: 'No offers yet (POST /v1/offers or cjdctl).' }));
};

const WEB_TILES = ['visitors', 'sessions', 'page_views', 'product_views', 'add_to_carts', 'orders',
  'page_views_per_session', 'bounce_rate', 'engagement_rate', 'add_to_cart_rate',
  'cart_abandonment_rate', 'checkout_abandonment_rate', 'conversion_rate', 'session_conversion_rate'];
const EVENT_TYPES = ['page_view', 'product_view', 'add_to_cart', 'remove_from_cart', 'checkout_started',
  'order_completed', 'transaction', 'loyalty_scan', 'email_opened', 'email_clicked', 'offer_impression',
  'support_contact', 'identify'];

PAGES.journeys = async (page) => {
  page.append(el('h1', { text: 'Journeys' }));
  const w = await api('/v1/metrics/web');
  page.append(el('h2', { text: 'Web and commerce' }),
    el('div', { class: 'tiles', id: 'web-metrics' }, WEB_TILES.map((f) => tile(f.replace(/_/g, ' '), f, w[f]))));
  // The funnel builder.
  const out = el('div', { id: 'funnel-result' });
  const stepSelect = (i, value) => el('div', {}, el('label', { for: 'step-' + i, text: 'Step ' + (i + 1) }),
    el('select', { id: 'step-' + i, name: 'step' }, el('option', { value: '', text: '—' }),
      EVENT_TYPES.map((t) => el('option', { value: t, selected: t === value, text: t }))));
  const defaults = ['product_view', 'add_to_cart', 'checkout_started', 'order_completed', ''];
  const form = el('form', { id: 'funnel-form', 'aria-label': 'Funnel' },
    el('div', { class: 'row' }, defaults.map((d, i) => stepSelect(i, d))),
    el('div', { class: 'row' },
      el('div', {}, el('label', { for: 'f-order', text: 'Order' }),
        el('select', { id: 'f-order', name: 'order' }, ['sequential', 'strict', 'any'].map((o) => el('option', { value: o, text: o })))),
      el('div', {}, el('label', { for: 'f-window', text: 'Window (days)' }),
        el('input', { id: 'f-window', name: 'window_days', type: 'number', min: 1, max: 366, value: 14 })),
      el('div', {}, el('label', { for: 'f-count', text: 'Count by' }),
        el('select', { id: 'f-count', name: 'count_by' }, ['person', 'session'].map((o) => el('option', { value: o, text: o })))),
      el('button', { type: 'submit', text: 'Run funnel' })), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    const steps = [...form.querySelectorAll('select[name=step]')].map((s) => s.value).filter(Boolean)
      .map((type) => ({ type }));
    try {
      const f = await api('/v1/funnels/query', { method: 'POST', body: {
        steps, order: form.order.value, window_days: Number(form.window_days.value),
        count_by: form.count_by.value, pain_points: steps.length >= 2 } });
      out.append(table([
        { label: 'Step', key: 'step' }, { label: 'Event', key: 'type' }, { label: 'Count', key: 'count', num: true },
        { label: 'From previous', key: 'conversion_from_previous', num: true },
        { label: 'From first', key: 'conversion_from_first', num: true },
        { label: 'Drop-off', key: 'drop_off', num: true },
        { label: 'Median s to convert', key: 'median_seconds_to_convert', num: true },
      ], f.steps.map((s, i) => Object.assign({ type: steps[i].type }, s)), { label: 'Funnel' }));
      const pp = f.pain_points;
      if (pp && pp.factors && pp.factors.length) {
        out.append(el('h3', { text: 'Why they drop after step ' + pp.worst.from_step }),
          table([{ label: 'Factor', key: 'feature' }, { label: 'Odds ratio', key: 'odds_ratio', num: true },
            { label: 'Dropped with', key: 'dropped_with', num: true }, { label: 'Continued with', key: 'continued_with', num: true }],
          pp.factors, { label: 'Pain points' }));
      }
    } catch (err) { out.append(errorBox(err)); }
  });
  page.append(el('h2', { text: 'Funnel' }), form);
  const r = await api('/v1/retention?cohort=first_order_month&period=month');
  const cohorts = r.cohorts || [];
  const width = Math.max(0, ...cohorts.map((c) => c.retained.length));
  const cols = [{ label: 'Cohort', key: 'cohort' }, { label: 'Customers', key: 'customers', num: true }];
  for (let k = 0; k < Math.min(width, 13); ++k) cols.push({ label: 'M+' + k, key: 'm' + k, num: true });
  page.append(el('h2', { text: 'Retention (first order month)' }), table(cols, cohorts.map((c) => {
    const row = { cohort: c.cohort, customers: c.customers };
    c.retained.forEach((n, k) => { row['m' + k] = n; });
    return row;
  }), { label: 'Retention' }));
};

PAGES.privacy = async (page) => {
  page.append(el('h1', { text: 'Privacy' }));
  const e = await api('/v1/privacy/erasures?limit=1000');
  const list = e.erasures || [];
  page.append(el('h2', { text: 'Erasure requests (' + list.length + ')' }),
    table([
      { label: 'Id', key: 'id' }, { label: 'State', key: 'state' }, { label: 'Requested', key: 'requested_at' },
      { label: 'Deadline', key: 'deadline' }, { label: 'Met', key: 'met' },
      { label: 'Hub', key: 'hub', cell: (x) => shown(x.hub && x.hub.state) },
      { label: 'Devices done', key: 'devices', cell: (x) => {
        const d = x.devices || [];
        return d.filter((y) => y.state === 'done').length + ' / ' + d.length;
      } },
      { label: 'Pending devices', key: 'pending', cell: (x) => (x.devices || []).filter((y) => y.state !== 'done').map((y) => y.device_id).join(', ') },
    ], list.map((x) => Object.assign({ _attrs: { 'data-erasure': x.id } }, x)), { label: 'Erasure requests' }));
};

// ---- start -----------------------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  takeTokenFromFragment();
  document.getElementById('sign-in-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = document.getElementById('token').value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    try {
      try {
        await api('/v1/alerts');
      } catch (err) {
        if (err.status !== 403) throw err;  // a known token whose role may not read alerts
      }
      document.getElementById('token').value = '';
      document.getElementById('sign-in-error').textContent = '';
      if (!location.hash.startsWith('#/')) location.hash = '#/overview';
      else render();
    } catch (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      document.getElementById('sign-in-error').textContent =
        err.status === 401 ? 'The hub does not know this token.' : err.message;
    }
  });
  document.getElementById('sign-out').addEventListener('click', () => signOut(''));
  // After a page change, focus moves to the new content (announced by screen readers); on the
  // first load it stays at the top, so Tab reaches the skip link and the navigation first.
  window.addEventListener('hashchange', () => {
    takeTokenFromFragment();
    render();
    document.getElementById('main').focus({ preventScroll: true });
  });
  render();
});
