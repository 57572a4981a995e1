// End-to-end: augur's web view in a real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core from npm; Playwright's own browser download is never used).
// Objects are tracked through grpc-js as KEDA would: a known one (the harness' daily
// cycle), one held in fallback (minHistory longer than its history), and one with a
// hostile name and secret-bearing metadata. Then, in the browser:
//   * / lists them; the hostile name shows as text (no element, no script ran);
//   * /objects/e2e/webview has the chart with the observed, forecast, band and returned
//     series (and the fallback object its shaded fallback spans), the model, the
//     components and Explain's why;
//   * a missing object gives the 404 page; /api/v1/... serve the same data as JSON;
//   * no request leaves augur's origin, the page carries a Content-Security-Policy, and
//     no secret (header value, query parameter) appears anywhere.
// Screenshots go to $AUGUR_E2E_SCREENSHOT_DIR (the build dir). With --readme PNG it only
// tracks the known object, waits for a few answers and writes that page's screenshot to
// PNG (scripts/screenshot.sh: the README's picture). Run by tests/e2e/harness.py.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { requireEnv, loadModules, callUnary, withRetry } = require('./lib');

const CHROMIUM = process.env.AUGUR_E2E_CHROMIUM || '/usr/bin/chromium';
// This machine's closed network: no background connections, no sandbox as root.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SECRET = 's3cr3t-e2e-token';

function loadPlaywright() {
  try {
    return require('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core is missing (${e.message}); run scripts/setup-deps.sh`);
  }
}

async function getJson(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

async function main() {
  const readme = process.argv.indexOf('--readme');
  const readmePng = readme >= 0 ? process.argv[readme + 1] : null;
  const { grpc, protoLoader } = loadModules();
  const { chromium } = loadPlaywright();
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup-deps.sh (Debian's chromium)`);
  const addr = requireEnv('AUGUR_E2E_GRPC');
  const http = `http://${requireEnv('AUGUR_E2E_HTTP')}`;
  const query = requireEnv('AUGUR_E2E_QUERY');
  const def = protoLoader.loadSync(requireEnv('AUGUR_E2E_PROTO'), { keepCase: true, longs: String, defaults: true });
  const client = new (grpc.loadPackageDefinition(def).externalscaler.ExternalScaler)(
    addr, grpc.credentials.createInsecure());

  const known = {
    name: 'webview', namespace: 'e2e',
    scalerMetadata: {
      query, targetValue: '10', history: '3d', step: '1m', seasonality: '1d', horizon: '15m',
      refreshInterval: '1s', quantile: '0.9',
    },
  };
  const fallback = {
    name: 'held-back', namespace: 'e2e',
    scalerMetadata: { query, targetValue: '10', history: '1d', step: '1m', minHistory: '30d', refreshInterval: '1s' },
  };
  const hostile = {
    name: '<script>window.__pwned=1</script>"\'&x', namespace: 'e2e<b>',
    scalerMetadata: {
      query, targetValue: '5', history: '1d', step: '1m', refreshInterval: '1s',
      customHeaders: `Authorization=Bearer ${SECRET}`, queryParameters: `token=${SECRET}`,
    },
  };
  if (readmePng) {
    // The picture: an hour of history (12 x horizon) so that two minutes of answers show.
    known.name = 'checkout';
    known.namespace = 'shop';
    known.scalerMetadata.horizon = '5m';
  }
  const objects = readmePng ? [known] : [known, fallback, hostile];
  for (const ref of objects) {
    const spec = await withRetry(() => callUnary(client, 'GetMetricSpec', ref), grpc, 'GetMetricSpec');
    await withRetry(() => callUnary(client, 'GetMetrics', { scaledObjectRef: ref, metricName: spec.metricSpecs[0].metricName }),
      grpc, 'GetMetrics');
  }
  client.close();

  // A few answers on record (refreshInterval 1s), bounded; more for the README's picture.
  const wantAnswers = readmePng ? Number(process.env.AUGUR_E2E_README_ANSWERS || 120) : 5;
  const deadline = Date.now() + 30000 + wantAnswers * 1500;
  const apiKnown = `${http}/api/v1/objects/${known.namespace}/${known.name}`;
  for (;;) {
    const r = await getJson(apiKnown);
    if (r.status === 200 && r.body.triggers[0].recent.answers.length >= wantAnswers) break;
    assert.ok(Date.now() < deadline, `too few answers recorded: ${JSON.stringify(r.body).slice(0, 300)}`);
    await new Promise((res) => setTimeout(res, 500));
  }

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'augur-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 900 },
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    const requests = [];
    page.on('request', (req) => requests.push(req.url()));
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err)));

    if (readmePng) {
      const res = await page.goto(`${http}/objects/${known.namespace}/${known.name}`);
      assert.equal(res.status(), 200);
      await page.locator('svg.chart [data-series="observed"]').waitFor();
      await page.screenshot({ path: readmePng, clip: { x: 0, y: 0, width: 1100, height: 900 } });
      console.log(`OK: wrote ${readmePng}`);
      return;
    }

    // The list.
    let res = await page.goto(`${http}/`);
    assert.equal(res.status(), 200);
    const csp = res.headers()['content-security-policy'] || '';
    assert.match(csp, /default-src 'none'/, 'the page forbids loading from elsewhere');
    const rows = await page.locator('#objects tbody tr').allInnerTexts();
    assert.equal(rows.length, 3, `three triggers listed: ${JSON.stringify(rows)}`);
    assert.ok(rows.some((r) => r.includes('webview') && r.includes('augur-webview')), 'the known object is listed');
    assert.ok(rows.some((r) => r.includes(hostile.name) && r.includes(hostile.namespace)),
      `the hostile name is shown as text: ${JSON.stringify(rows)}`);
    assert.equal(await page.locator('main script, main b').count(), 0, 'no element made from a name');
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no script ran');
    const shotDir = process.env.AUGUR_E2E_SCREENSHOT_DIR || os.tmpdir();
    await page.screenshot({ path: path.join(shotDir, 'webview-list.png'), fullPage: true });

    // The hostile object's own page, reached through its (percent-encoded) link.
    await page.locator('#objects a', { hasText: 'script' }).click();
    await page.waitForLoadState();
    assert.equal(await page.locator('h1').innerText(), `${hostile.namespace}/${hostile.name}`);
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no script ran on the object page');

    // The known object.
    res = await page.goto(`${http}/objects/e2e/webview`);
    assert.equal(res.status(), 200);
    for (const series of ['observed', 'forecast', 'band', 'quantile', 'returned', 'now']) {
      const n = await page.locator(`svg.chart [data-series="${series}"]`).count();
      assert.ok(n >= 1, `the chart has the ${series} series`);
    }
    const observedPath = await page.locator('svg.chart [data-series="observed"]').getAttribute('d');
    assert.ok(observedPath.split('L').length >= 30, `the observed line has the history's points: ${observedPath.slice(0, 80)}`);
    const returnedPath = await page.locator('svg.chart [data-series="returned"]').getAttribute('d');
    assert.ok(returnedPath.split('L').length >= 5, 'the returned line has the recorded answers');
    assert.equal(await page.locator('svg.chart [data-series="fallback"]').count(), 0, 'the known object is not in fallback');
    const text = await page.locator('main').innerText();
    for (const want of ['Returned to KEDA', 'Why (Inspector/Explain)', 'Model', 'seasonalities',
      'Components over the horizon', 'trend', 'Settings', 'Recent answers']) {
      assert.ok(text.includes(want), `the object page shows "${want}"`);
    }
    await page.screenshot({ path: path.join(shotDir, 'webview-object.png'), fullPage: true });

    // The fallback object: shaded spans, titled with the reason.
    res = await page.goto(`${http}/objects/e2e/held-back`);
    assert.equal(res.status(), 200);
    const spans = page.locator('svg.chart [data-series="fallback"]');
    assert.ok(await spans.count() >= 1, 'the fallback object shows where it answered reactively');
    assert.match(await spans.first().locator('title').textContent(), /fallback: short_history/);
    assert.match(await page.locator('main').innerText(), /fallback: answering reactively/);

    // A missing object: the 404 page.
    res = await page.goto(`${http}/objects/e2e/no-such-object`);
    assert.equal(res.status(), 404);
    assert.equal(await page.locator('#not-found').innerText(), 'Not tracked: e2e/no-such-object');
    await page.screenshot({ path: path.join(shotDir, 'webview-404.png') });

    // Everything came from augur itself.
    const origin = new URL(http).origin;
    const foreign = requests.filter((u) => new URL(u).origin !== origin);
    assert.deepEqual(foreign, [], 'no request left augur');
    assert.deepEqual(errors, [], 'no script error on any page');

    // The JSON API: the same data, no secret.
    const list = await getJson(`${http}/api/v1/objects`);
    assert.equal(list.status, 200);
    assert.equal(list.body.objects.length, 3);
    const one = await getJson(apiKnown);
    const t = one.body.triggers[0];
    assert.ok(t.explanation.forecast.length >= 15, 'the forecast points (15m at 1m)');
    assert.ok(t.explanation.components.some((c) => c.name === 'trend'), 'the components');
    assert.ok(t.recent.observations.length >= 30 && t.recent.answers.length >= 5, 'the recent record');
    assert.equal(t.summary.reason, t.explanation.reason);
    const missing = await getJson(`${http}/api/v1/objects/e2e/no-such-object`);
    assert.equal(missing.status, 404);
    const hostileApi = `${http}/api/v1/objects/${encodeURIComponent(hostile.namespace)}/${encodeURIComponent(hostile.name)}`;
    const hostileJson = await getJson(hostileApi);
    assert.equal(hostileJson.status, 200);
    assert.equal(hostileJson.body.name, hostile.name, 'the JSON carries the name exactly (encoded, not escaped)');
    for (const url of [`${http}/`, `${http}/objects/${encodeURIComponent(hostile.namespace)}/${encodeURIComponent(hostile.name)}`,
      `${http}/api/v1/objects`, hostileApi]) {
      const body = await (await fetch(url)).text();
      assert.ok(!body.includes(SECRET), `${url} shows no secret`);
      if (!url.includes('/api/')) assert.ok(!body.includes('<script>'), `${url} echoes no raw markup`);
    }
    console.log(`OK: list, object page (chart series, model, Explain), fallback spans, 404, JSON API; ` +
      `no foreign request, no secret, names escaped; screenshots in ${shotDir}`);
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`FAIL: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
