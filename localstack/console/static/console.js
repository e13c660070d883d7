// sluice console: a page over the lake's own HTTP API (GET /datasets, GET /lineage?format=svg,
// POST /queries), served from the same address, so the browser talks to nothing else. Every
// text is put in the page as text, never as markup; the one exception is the lineage drawing,
// which the API renders with every label escaped and which is parsed as SVG, not HTML.
'use strict';

const $ = (sel, el = document) => el.querySelector(sel);

// h builds an element: h('td', {class: 'num'}, 'text', child, ...).
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'style') e.style.cssText = v; // through the CSSOM: the page's CSP refuses style attributes
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat(Infinity)) {
    if (k == null || k === false) continue;
    e.append(k instanceof Node ? k : String(k));
  }
  return e;
}

class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// api calls the lake's API and throws an APIError with the API's own message for any answer
// that is not 2xx (the API answers {"error": "..."}; API Gateway itself {"message": "..."}).
async function api(method, path, body) {
  const opts = { method, headers: {} };
  const caller = localStorage.getItem('sluice.caller');
  if (caller) opts.headers['X-Sluice-Caller'] = caller;
  if (body !== undefined) { opts.body = body; opts.headers['Content-Type'] = 'application/json'; }
  let resp;
  try {
    resp = await fetch(path, opts);
  } catch (e) {
    throw new APIError(0, 'the API cannot be reached (' + e.message + '): is the local lake or the signing proxy still running?');
  }
  const text = await resp.text();
  if (!resp.ok) {
    let msg = text.trim() || resp.statusText;
    try { const j = JSON.parse(text); msg = j.error || j.message || msg; } catch (_) { /* not JSON: the text as is */ }
    throw new APIError(resp.status, msg);
  }
  return { status: resp.status, text };
}

async function apiJSON(method, path, body) {
  return JSON.parse((await api(method, path, body)).text);
}

// showError puts a failed call's message at the top of the page, where it cannot be missed.
function showError(err, doing) {
  const box = $('#error');
  let title = 'Error: ';
  if (err.status === 403) title = 'Refused (403): ';
  else if (err.status === 401) title = 'Not signed (401): ';
  else if (err.status) title = 'Error ' + err.status + ': ';
  box.replaceChildren(h('strong', {}, title), h('span', { class: 'msg' }, err.message),
    doing ? h('div', { class: 'what' }, 'while ' + doing) : null);
  box.dataset.status = String(err.status || 0);
  box.hidden = false;
}

function clearError() { $('#error').hidden = true; }

const fmt = {
  int: (n) => (n == null ? '' : Number(n).toLocaleString('en-US')),
  mb: (b) => (b == null ? '' : (b / 1e6).toFixed(2) + ' MB'),
  age(iso) {
    if (!iso) return h('span', { class: 'muted' }, 'never');
    const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    const txt = s < 90 ? Math.round(s) + ' s ago' : s < 5400 ? Math.round(s / 60) + ' min ago'
      : s < 172800 ? Math.round(s / 3600) + ' h ago' : Math.round(s / 86400) + ' days ago';
    return h('span', { class: s < 3600 ? 'fresh-ok' : 'fresh-old', title: iso }, txt);
  },
};

function piiBadge(pii) {
  return h('span', { class: 'badge pii-' + pii, title: 'curated zone: ' + pii }, pii === 'keep' ? 'no PII' : 'PII: ' + pii);
}

// ---- pages ----

async function datasetsPage(main) {
  const { datasets } = await apiJSON('GET', '/datasets');
  const zones = ['raw', 'cleansed', 'curated', 'quarantine'];
  const rows = datasets.map((d) => {
    const z = Object.fromEntries(d.zones.map((s) => [s.zone, s]));
    const pii = Object.entries(d.pii || {}).map(([k, n]) => h('span', { class: 'badge pii-' + k }, n + ' ' + k));
    return h('tr', { 'data-dataset': d.name },
      h('td', {}, h('a', { href: '#/d/' + encodeURIComponent(d.name) }, d.name), h('div', { class: 'muted' }, d.doc || '')),
      h('td', {}, pii.length ? pii : h('span', { class: 'muted' }, 'none')),
      zones.map((name) => h('td', { class: 'num' }, z[name] ? fmt.int(z[name].rows) : h('span', { class: 'muted', title: 'not visible to you' }, '—'))),
      h('td', {}, fmt.age(d.last_write)));
  });
  main.replaceChildren(
    h('h1', {}, 'Datasets'),
    h('p', { class: 'muted' }, datasets.length + ' datasets you may read. Rows per zone from the Parquet footers and the quarantine; freshness is the newest write in any zone.'),
    h('table', { id: 'datasets' },
      h('thead', {}, h('tr', {}, h('th', {}, 'dataset'), h('th', {}, 'PII columns'),
        zones.map((z) => h('th', { class: 'num' }, z + ' rows')), h('th', {}, 'last write'))),
      h('tbody', {}, rows)));
}

async function datasetPage(main, name) {
  const d = await apiJSON('GET', '/datasets/' + encodeURIComponent(name));
  const q = d.quality;
  main.replaceChildren(
    h('h1', {}, d.name),
    h('p', {}, d.doc || '', ' ', h('span', { class: 'muted' }, 'contract ' + d.contract_version + ' · event time ' + d.event_time + ' · key ' + d.key.join(', ')),
      ' ', h('a', { href: '#/query?dataset=' + encodeURIComponent(d.name) }, 'query it')),
    h('h2', {}, 'Freshness and zones'),
    zonesTable(d),
    h('h2', {}, 'Schema'),
    schemaTable(d),
    h('h2', {}, 'Quality'),
    q ? qualitySection(q) : h('p', { class: 'muted' }, 'You may read neither the cleansed nor the quarantine zone of this dataset.'),
    h('h2', {}, 'Lineage'),
    h('div', { id: 'lineage' }, h('span', { class: 'muted' }, 'drawing…')));
  await drawLineage($('#lineage'), d.name);
}

function zonesTable(d) {
  return h('table', { id: 'zones' },
    h('thead', {}, h('tr', {}, ['zone', 'objects', 'rows', 'size', 'last write', 'where'].map((t, i) => h('th', { class: i && i < 4 ? 'num' : null }, t)))),
    h('tbody', {}, d.zones.map((z) => h('tr', { 'data-zone': z.zone },
      h('td', {}, z.zone),
      h('td', { class: 'num' }, fmt.int(z.objects)),
      h('td', { class: 'num' }, fmt.int(z.rows), z.uncounted ? h('div', { class: 'muted' }, '+ ' + z.uncounted + ' objects not counted') : null),
      h('td', { class: 'num' }, fmt.mb(z.bytes)),
      h('td', {}, fmt.age(z.last_write)),
      h('td', {}, h('code', {}, z.prefixes.map((p) => 's3://' + z.bucket + '/' + p).join('  ')),
        z.error ? h('div', { class: 'error' }, z.error) : null)))));
}

function schemaTable(d) {
  return h('table', { id: 'schema' },
    h('thead', {}, h('tr', {}, ['column', 'type', 'PII', 'rules', 'zones you may read it in'].map((t) => h('th', {}, t)))),
    h('tbody', {}, d.columns.map((c) => {
      const rules = [];
      const r = c.rules || {};
      if (r.min != null || r.max != null) rules.push('range [' + (r.min ?? '') + ', ' + (r.max ?? '') + ']');
      if (r.pattern) rules.push('pattern ' + r.pattern);
      if (r.min_length || r.max_length) rules.push('length ' + (r.min_length || 0) + '..' + (r.max_length || '∞'));
      if (c.symbols) rules.push('one of ' + c.symbols.join(', '));
      if (c.coerce) rules.push('takes ' + c.coerce.replaceAll('_', ' '));
      return h('tr', { 'data-column': c.name, 'data-pii': c.pii },
        h('td', {}, h('b', {}, c.name), c.key ? h('span', { class: 'badge' }, 'key') : null,
          c.event_time ? h('span', { class: 'badge' }, 'event time') : null, c.doc ? h('div', { class: 'muted' }, c.doc) : null),
        h('td', {}, c.type + (c.nullable ? ' (optional)' : '')),
        h('td', {}, piiBadge(c.pii)),
        h('td', {}, h('code', {}, rules.join('; '))),
        h('td', {}, c.zones.join(', ')));
    })));
}

function qualitySection(q) {
  const peak = Math.max(1, ...q.days.map((d) => d.valid + d.quarantined));
  const pct = q.records_in ? (100 * q.quarantined / q.records_in).toFixed(1) + '%' : '–';
  return h('div', { id: 'quality' },
    h('div', { class: 'cards' },
      h('div', { class: 'card' }, h('b', {}, fmt.int(q.records_in)), 'records in'),
      h('div', { class: 'card' }, h('b', {}, fmt.int(q.valid)), 'valid'),
      h('div', { class: 'card' }, h('b', {}, fmt.int(q.quarantined)), 'quarantined (' + pct + ')')),
    h('p', { class: 'muted' }, 'Written ' + q.from.slice(0, 10) + ' to ' + q.to.slice(0, 10) + ' (UTC), by the time each object was written.',
      q.partial ? ' Partial: some objects were not read.' : '',
      q.unseen && q.unseen.length ? ' Without the ' + q.unseen.join(' and ') + ' zone, which you may not read.' : ''),
    h('div', { class: 'trend', id: 'trend' }, q.days.map((d) => [
      h('span', {}, d.date),
      h('div', { class: 'bar', title: d.valid + ' valid, ' + d.quarantined + ' quarantined' },
        h('div', { class: 'v', style: 'width:' + (100 * d.valid / peak) + '%' }),
        h('div', { class: 'q', style: 'width:' + (100 * d.quarantined / peak) + '%' })),
      h('span', { class: 'muted' }, fmt.int(d.valid) + ' / ' + fmt.int(d.quarantined)),
    ])),
    h('div', { class: 'legend muted' }, h('span', { class: 'v', style: 'background:#3c8d5a' }), 'valid', h('span', { style: 'background:#c8553d' }), 'quarantined'),
    h('h3', {}, 'Quarantine reasons'),
    q.reasons.length ? h('table', { id: 'reasons' },
      h('thead', {}, h('tr', {}, h('th', {}, 'reason'), h('th', { class: 'num' }, 'records'))),
      h('tbody', {}, q.reasons.map((r) => h('tr', {}, h('td', {}, h('code', {}, r.reason)), h('td', { class: 'num' }, fmt.int(r.count))))))
      : h('p', { class: 'muted' }, 'Nothing quarantined in the window.'),
    h('h3', {}, 'Latest quarantined records (masked)'),
    q.samples.length ? h('table', { id: 'samples' },
      h('thead', {}, h('tr', {}, ['when', 'reason', 'detail', 'record (values masked but for non-PII columns you may read)'].map((t) => h('th', {}, t)))),
      h('tbody', {}, q.samples.map((s) => h('tr', {},
        h('td', {}, fmt.age(s.at), h('div', { class: 'muted' }, s.source || '')),
        h('td', {}, h('code', {}, s.reason), s.field ? h('div', {}, 'field ', h('code', {}, s.field)) : null),
        h('td', {}, s.detail),
        h('td', {}, h('pre', { class: 'preview' }, s.preview))))))
      : h('p', { class: 'muted' }, 'No samples.'));
}

// drawLineage fetches the graph drawn by the API and puts the SVG in the page: parsed as an
// SVG document (not HTML), and only if it is one.
async function drawLineage(box, name) {
  try {
    const { text } = await api('GET', '/lineage?dataset=' + encodeURIComponent(name) + '&format=svg');
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    const svg = doc.documentElement;
    if (svg.nodeName !== 'svg' || doc.querySelector('parsererror, script, foreignObject')) {
      throw new APIError(0, 'the lineage drawing is not a plain SVG image');
    }
    box.replaceChildren(document.importNode(svg, true));
  } catch (err) {
    box.replaceChildren(h('div', { class: 'error' }, (err.status ? err.status + ': ' : '') + err.message));
    if (err.status === 403) showError(err, 'reading the lineage of ' + name);
  }
}

const example = (ds) => JSON.stringify({ dataset: ds || 'user_events', limit: 100 }, null, 2);

async function queryPage(main, params) {
  let names = [];
  try { names = (await apiJSON('GET', '/datasets')).datasets.map((d) => d.name); } catch (_) { /* the form works without the list */ }
  const ds = params.get('dataset') || names[0];
  const text = h('textarea', { id: 'query', spellcheck: 'false' });
  text.value = example(ds);
  const size = h('input', { id: 'page-size', type: 'number', min: '1', max: '1000', value: '20' });
  const status = h('div', { id: 'status', class: 'muted' });
  const out = h('div', { id: 'results-wrap' });
  const next = h('button', { id: 'next', class: 'secondary', disabled: true }, 'Next page');
  const run = h('button', { id: 'run' }, 'Run query');
  let current = null; // {id, token}

  const render = (page, first) => {
    const table = h('table', { id: 'results' },
      h('thead', {}, h('tr', {}, page.columns.map((c) => h('th', { title: c.type }, c.name)))),
      h('tbody', {}, page.rows.map((r) => h('tr', {}, r.map((v) => h('td', {}, v == null ? h('span', { class: 'muted' }, 'NULL')
        : typeof v === 'object' ? JSON.stringify(v) : String(v)))))));
    out.replaceChildren(table);
    current.token = page.next_token || '';
    current.page = first ? 1 : current.page + 1;
    next.disabled = !current.token;
    status.append(' · page ' + current.page + ', ' + page.rows.length + ' rows' + (current.token ? '' : ' (last page)'));
  };

  run.addEventListener('click', async () => {
    clearError();
    run.disabled = true; next.disabled = true;
    status.replaceChildren('running…');
    out.replaceChildren();
    try {
      const n = Number(size.value) || 20;
      let st = await apiJSON('POST', '/queries?wait=10&page_size=' + n, text.value);
      current = { id: st.id, n };
      while (!['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(st.state)) {
        status.replaceChildren(st.state.toLowerCase() + '…');
        await new Promise((r) => setTimeout(r, 700));
        st = { ...st, ...(await apiJSON('GET', '/queries/' + encodeURIComponent(current.id))) };
      }
      status.replaceChildren(h('span', { 'data-state': st.state }, st.state), ' · ' + fmt.int(st.bytes_scanned) + ' bytes scanned · ' + st.run_time_ms + ' ms',
        st.sql ? h('details', {}, h('summary', {}, 'SQL'), h('pre', {}, st.sql)) : null);
      if (st.state !== 'SUCCEEDED') throw new APIError(0, 'the query ' + st.state.toLowerCase() + ': ' + (st.error || 'no reason given'));
      const page = st.results || await apiJSON('GET', '/queries/' + encodeURIComponent(current.id) + '/results?page_size=' + n);
      render(page, true);
    } catch (err) {
      status.replaceChildren();
      showError(err, 'running the query');
    } finally {
      run.disabled = false;
    }
  });
  next.addEventListener('click', async () => {
    next.disabled = true;
    try {
      const page = await apiJSON('GET', '/queries/' + encodeURIComponent(current.id) + '/results?page_size=' + current.n + '&page_token=' + encodeURIComponent(current.token));
      render(page, false);
    } catch (err) {
      showError(err, 'reading the next page');
    }
  });

  main.replaceChildren(
    h('h1', {}, 'Query'),
    h('p', { class: 'muted' }, 'A structured query (see the README: dataset, columns, where, group_by, aggregates, order_by, limit, zone). ',
      names.length ? 'Datasets: ' + names.join(', ') + '.' : ''),
    text,
    h('div', { class: 'row' }, run, h('label', {}, 'rows a page ', size), next),
    status, out);
}

// ---- routing: #/ (datasets), #/d/<name>, #/query[?dataset=] ----

async function route() {
  clearError();
  const main = $('#main');
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = hash.split('?');
  const params = new URLSearchParams(qs || '');
  document.body.dataset.ready = '';
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  try {
    if (path.startsWith('/d/')) await datasetPage(main, decodeURIComponent(path.slice(3)));
    else if (path === '/query') await queryPage(main, params);
    else await datasetsPage(main);
  } catch (err) {
    main.replaceChildren(h('p', { class: 'muted' }, 'Nothing to show.'));
    showError(err, 'loading ' + (path === '/' ? 'the datasets' : path));
  }
  document.body.dataset.ready = path;
}

$('#where').textContent = location.host;
window.addEventListener('hashchange', route);
// Who the local host is asked as: kept for the session's next pages, and the page drawn again.
$('#caller').value = localStorage.getItem('sluice.caller') || '';
$('#caller').addEventListener('change', (e) => {
  const v = e.target.value.trim();
  if (v) localStorage.setItem('sluice.caller', v); else localStorage.removeItem('sluice.caller');
  route();
});
route();
