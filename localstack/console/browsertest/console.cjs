// Drives the console in headless Debian Chromium with playwright-core and prints what it saw
// as one JSON object; the Go test (localstack/console) asserts on it.
//
// usage: NODE_PATH=<.tools>/node_modules node console.cjs <base URL> <chromium> <user data dir> <screenshot.png>
'use strict';
const { chromium } = require('playwright-core');

const [base, executablePath, userDataDir, shot] = process.argv.slice(2);
const seen = { external: [], consoleErrors: [], steps: {} };

async function main() {
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    // Without the background-networking flags Chromium calls Google's hosts at start, which a
    // closed network refuses; the rest keep a test browser quiet and deterministic.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(20000);
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('data:')) seen.external.push(r.url()); });
  page.on('console', (m) => { if (m.type() === 'error') seen.consoleErrors.push(m.text()); });
  const ready = (path) => page.waitForSelector(`body[data-ready="${path}"]`);
  const errorBox = async () => (await page.isVisible('#error')) ? (await page.textContent('#error')) : '';

  // A data steward (events/access/stewards.json): every zone, PII included.
  await page.goto(base + '/console/');
  await page.fill('#caller', 'arn:aws:iam::123456789012:role/sluice-data-steward');
  await page.press('#caller', 'Enter');
  await page.reload();

  // The datasets page.
  await ready('/');
  seen.steps.datasets = {
    names: await page.$$eval('#datasets tbody tr', (rs) => rs.map((r) => r.dataset.dataset)),
    error: await errorBox(),
  };

  // A dataset page: schema with PII, zones, quality, masked samples, the lineage drawing.
  await page.click('#datasets a[href="#/d/customers"]');
  await ready('/d/customers');
  seen.steps.dataset = {
    columns: await page.$$eval('#schema tbody tr', (rs) => rs.map((r) => ({ name: r.dataset.column, pii: r.dataset.pii, badge: r.querySelector('.badge[class*="pii-"]').textContent }))),
    zones: await page.$$eval('#zones tbody tr', (rs) => rs.map((r) => ({ zone: r.dataset.zone, rows: r.children[2].firstChild.textContent }))),
    records: await page.$$eval('#quality .card b', (bs) => bs.map((b) => b.textContent)),
    reasons: await page.$$eval('#reasons tbody tr', (rs) => rs.length),
    previews: await page.$$eval('#samples pre.preview', (ps) => ps.map((p) => p.textContent)),
    svgNodes: await page.$$eval('#lineage svg g.node', (gs) => gs.map((g) => g.dataset.id)),
    svgEdges: await page.$$eval('#lineage svg g.edge', (gs) => gs.length),
    svgBox: await page.$eval('#lineage svg', (s) => { const b = s.getBoundingClientRect(); return [b.width, b.height]; }).catch(() => null),
    error: await errorBox(),
  };
  await page.screenshot({ path: shot, fullPage: true });

  // The query form: rows, and the next page.
  await page.goto(base + '/console/#/query?dataset=user_events');
  await ready('/query');
  await page.fill('#query', JSON.stringify({ dataset: 'user_events', zone: 'cleansed', columns: ['user_id', 'event_type'], order_by: [{ column: 'user_id' }], limit: 30 }));
  await page.fill('#page-size', '20');
  await page.click('#run');
  await page.waitForSelector('#results tbody tr');
  const first = await page.$$eval('#results tbody tr', (rs) => rs.length);
  const header = await page.$$eval('#results thead th', (hs) => hs.map((h) => h.textContent));
  const state = await page.textContent('#status [data-state]');
  let second = 0;
  if (await page.isEnabled('#next')) {
    const firstCell = await page.textContent('#results tbody tr td');
    await page.click('#next');
    await page.waitForFunction((c) => { const td = document.querySelector('#results tbody tr td'); return td && td.textContent !== c; }, firstCell);
    second = await page.$$eval('#results tbody tr', (rs) => rs.length);
  }
  seen.steps.query = { first, second, header, state, error: await errorBox() };

  // A query the API refuses as malformed: its message shows.
  await page.fill('#query', JSON.stringify({ dataset: 'user_events', columns: ['no_such_column'] }));
  await page.click('#run');
  await page.waitForSelector('#error:not([hidden])');
  seen.steps.badQuery = { error: await errorBox(), status: await page.getAttribute('#error', 'data-status') };

  // An analyst may read cleansed but not its PII: the access rules' 403 shows, and what the
  // analyst may not read is left out of the dataset page.
  await page.fill('#caller', 'arn:aws:iam::123456789012:role/sluice-analyst');
  await page.press('#caller', 'Enter');
  await page.goto(base + '/console/#/query?dataset=user_events');
  await ready('/query');
  await page.fill('#query', JSON.stringify({ dataset: 'user_events', zone: 'cleansed', columns: ['user_id'] }));
  await page.click('#run');
  await page.waitForSelector('#error:not([hidden])');
  seen.steps.refused = { error: await errorBox(), status: await page.getAttribute('#error', 'data-status') };
  await page.goto(base + '/console/#/d/customers');
  await ready('/d/customers');
  seen.steps.analyst = {
    columns: await page.$$eval('#schema tbody tr', (rs) => rs.map((r) => r.dataset.column)),
    zones: await page.$$eval('#zones tbody tr', (rs) => rs.map((r) => r.dataset.zone)),
  };

  await ctx.close();
}

main().then(() => {
  process.stdout.write(JSON.stringify(seen));
}, (err) => {
  seen.fatal = String(err && err.stack || err);
  process.stdout.write(JSON.stringify(seen));
  process.exit(1);
});
