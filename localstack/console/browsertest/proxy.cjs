// Drives the console through the signing proxy (make console) in headless Debian Chromium and
// prints what it saw as one JSON object; the Go test (localstack/console) asserts on it.
//
// usage: NODE_PATH=<.tools>/node_modules node proxy.cjs <proxy URL> <chromium> <user data dir>
'use strict';
const { chromium } = require('playwright-core');

const [base, executablePath, userDataDir] = process.argv.slice(2);
const seen = { external: [], consoleErrors: [] };

async function main() {
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(20000);
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('data:')) seen.external.push(r.url()); });
  page.on('console', (m) => { if (m.type() === 'error') seen.consoleErrors.push(m.text()); });
  const ready = (path) => page.waitForSelector(`body[data-ready="${path}"]`);

  await page.goto(base + '/');
  await ready('/');
  seen.url = page.url();
  seen.names = await page.$$eval('#datasets tbody tr', (rs) => rs.map((r) => r.dataset.dataset));
  await page.goto(base + '/console/#/query?dataset=user_events');
  await ready('/query');
  await page.fill('#query', JSON.stringify({ dataset: 'user_events', columns: ['event_type'], limit: 5 }));
  await page.click('#run');
  await page.waitForSelector('#results tbody tr');
  seen.rows = await page.$$eval('#results tbody tr', (rs) => rs.length);
  await ctx.close();
}

main().then(() => process.stdout.write(JSON.stringify(seen)), (err) => {
  seen.fatal = String(err && err.stack || err);
  process.stdout.write(JSON.stringify(seen));
  process.exit(1);
});
