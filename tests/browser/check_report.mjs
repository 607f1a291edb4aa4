// Opens an hwprune HTML report from file in headless Chromium (Debian's, driven by
// playwright-core from web/node_modules) with every network request refused, and fails on a
// console error, a page error, a chart that did not render, or a chart whose mark count is
// not the expected one.
//
// Usage: node check_report.mjs REPORT.html [--screenshot OUT.png] [CHART:KIND=N ...]
//   CHART: a chart's element id (e.g. sweep-0-dsp); KIND: symbol, line or rect (Vega's
//   mark-<kind> groups of the plot, legends left out); N: the number of marks expected.
// Exit status 0 when all checks pass; 1 with one line per failure otherwise.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const args = process.argv.slice(2);
if (args.length < 1) {
  console.error('usage: node check_report.mjs REPORT.html [--screenshot OUT.png] [CHART:KIND=N ...]');
  process.exit(2);
}
const report = path.resolve(args[0]);
let screenshot = null;
const expected = [];
for (let i = 1; i < args.length; i++) {
  if (args[i] === '--screenshot') { screenshot = args[++i]; continue; }
  const m = /^([\w-]+):(symbol|line|rect)=(\d+)$/.exec(args[i]);
  if (!m) { console.error(`bad expectation "${args[i]}" (want CHART:KIND=N)`); process.exit(2); }
  expected.push({ chart: m[1], kind: m[2], count: Number(m[3]) });
}

const failures = [];
const browser = await chromium.launch({
  executablePath: process.env.HWPRUNE_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('console', (msg) => {
    if (msg.type() === 'error') failures.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => failures.push(`page error: ${err.message}`));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    failures.push(`network request refused: ${url}`);
    return route.abort();
  });
  await page.goto(pathToFileURL(report).href);
  await page.waitForFunction(() => document.body && document.body.dataset.rendered !== undefined,
    null, { timeout: 30000 });
  const state = await page.evaluate(() => {
    const charts = [...document.querySelectorAll('div.chart')].map((div) => {
      const count = (kind) => div.querySelectorAll(`svg g.mark-${kind}.role-mark > path`).length;
      return { id: div.id, svg: div.querySelectorAll('svg').length,
               symbol: count('symbol'), line: count('line'), rect: count('rect') };
    });
    return { rendered: Number(document.body.dataset.rendered),
             failed: Number(document.body.dataset.failed), charts };
  });
  if (state.failed !== 0) failures.push(`${state.failed} charts failed to render`);
  if (state.rendered !== state.charts.length)
    failures.push(`${state.rendered} of ${state.charts.length} charts rendered`);
  for (const c of state.charts) {
    if (c.svg === 0) failures.push(`chart ${c.id}: no SVG`);
    else if (c.symbol + c.line + c.rect === 0) failures.push(`chart ${c.id}: SVG without marks`);
  }
  for (const e of expected) {
    const c = state.charts.find((x) => x.id === e.chart);
    if (!c) failures.push(`chart ${e.chart}: not in the page (charts: ${state.charts.map((x) => x.id).join(', ')})`);
    else if (c[e.kind] !== e.count) failures.push(`chart ${e.chart}: ${c[e.kind]} ${e.kind} marks, expected ${e.count}`);
  }
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`${path.basename(report)}: ${state.rendered} charts rendered: ` +
    state.charts.map((c) => `${c.id} (${c.symbol} symbol, ${c.line} line, ${c.rect} rect)`).join(', '));
} catch (err) {
  failures.push(`browser: ${err.message.split('\n')[0]}`);
} finally {
  await browser.close();
}
for (const f of failures) console.error(`FAIL ${path.basename(report)}: ${f}`);
process.exit(failures.length ? 1 : 0);
