// End-to-end: every query of the Grafana dashboard (k8s/grafana-dashboard.json) is valid
// PromQL and finds augur's real series. An object is tracked through grpc-js (as KEDA
// would), the harness' Prometheus scrapes augur's /metrics, and each panel's expression —
// with the dashboard variables set to "all" — runs against that Prometheus. Run by
// tests/e2e/harness.py.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { requireEnv, loadModules, callUnary, withRetry } = require('./lib');

const DASHBOARD = path.join(__dirname, '..', '..', 'k8s', 'grafana-dashboard.json');

async function promQuery(promUrl, expr) {
  const url = `${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return res.json();
}

async function main() {
  const { grpc, protoLoader } = loadModules();
  const addr = requireEnv('AUGUR_E2E_GRPC');
  const promUrl = requireEnv('AUGUR_E2E_PROM_URL');
  const protoPath = requireEnv('AUGUR_E2E_PROTO');
  const def = protoLoader.loadSync(protoPath, { keepCase: true, longs: String, defaults: true });
  const client = new (grpc.loadPackageDefinition(def).externalscaler.ExternalScaler)(
    addr, grpc.credentials.createInsecure());
  const ref = {
    name: 'dashboard', namespace: 'e2e',
    scalerMetadata: {
      query: requireEnv('AUGUR_E2E_QUERY'), targetValue: '10', history: '3d', step: '1m', seasonality: '1d',
    },
  };
  const spec = await withRetry(() => callUnary(client, 'GetMetricSpec', ref), grpc, 'GetMetricSpec');
  const metricName = spec.metricSpecs[0].metricName;
  await withRetry(() => callUnary(client, 'GetMetrics', { scaledObjectRef: ref, metricName }), grpc, 'GetMetrics');

  // Wait (bounded) until Prometheus holds two scrapes of augur with this object, so that
  // rate() has something to work on.
  const deadline = Date.now() + 30000;
  for (;;) {
    await callUnary(client, 'GetMetrics', { scaledObjectRef: ref, metricName });
    const r = await promQuery(promUrl,
      'count_over_time(augur_returned_value{namespace="e2e",scaledobject="dashboard"}[1m])');
    if (r.status === 'success' && r.data.result.length && Number(r.data.result[0].value[1]) >= 3) break;
    assert.ok(Date.now() < deadline, `Prometheus never scraped augur's per-object series: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 500));
  }
  client.close();

  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
  const targets = dashboard.panels.flatMap((p) => (p.targets || []).map((t) => ({ panel: p.title, expr: t.expr })));
  assert.ok(targets.length >= 10, `the dashboard has queries (${targets.length})`);
  // Series that exist as soon as an object is tracked and served; error counters and
  // histograms of failures may legitimately be empty in a healthy run.
  const mustFind = /augur_(observed_value|forecast_peak|returned_value|fallback|answer_age_seconds|answer_reason|grpc_requests_total\{pod=~"\.\*"\}|grpc_request_duration_seconds_bucket|prometheus_query_duration_seconds_bucket|fits_total|fit_duration_seconds_bucket|tracked_objects|model_error|last_fit_duration_seconds)/;
  const failures = [];
  for (const { panel, expr } of targets) {
    const q = expr.replace(/\$__rate_interval/g, '1m').replace(/\$(namespace|scaledobject|pod)\b/g, '.*');
    const r = await promQuery(promUrl, q);
    if (r.status !== 'success') {
      failures.push(`${panel}: ${q}: ${r.error}`);
      continue;
    }
    const n = r.data.result.length;
    console.log(`${n > 0 ? 'ok   ' : 'empty'} ${panel}: ${q.slice(0, 110)}`);
    if (n === 0 && mustFind.test(q)) failures.push(`${panel}: ${q}: no series, expected augur's`);
  }
  assert.deepEqual(failures, [], `dashboard queries failing:\n${failures.join('\n')}`);
  console.log(`OK: all ${targets.length} dashboard queries parse; per-object and RPC panels find augur's series`);
}

main().catch((err) => {
  console.error(`FAIL: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
