// End-to-end: the Grafana dashboard (k8s/grafana-dashboard.json) and the alert rules
// (k8s/alerts/augur-rules.yaml) against a real Prometheus scraping the real augur.
//   1. The dashboard's structure: a JSON model Grafana imports (uid, title, schemaVersion,
//      unique panel ids, panels on the 24-column grid, every query on the `datasource`
//      variable, unique refIds, every $variable defined).
//   2. An object is tracked through grpc-js (as KEDA would), plus one whose PromQL is
//      invalid and one call with bad metadata, so that the error series exist too.
//   3. Every variable query finds the object's labels; every panel expression — with the
//      variables set to "All" and to the object's own values — is valid PromQL and returns
//      data (a typo'd metric or label returns nothing and fails here).
//   4. Every alert expression is valid and evaluates; its signal (the expression without
//      its threshold) returns data where the metric is augur's own or `up`. The keda_* and
//      kube_* rules can only be parsed here: no KEDA or kube-state-metrics runs (their
//      behaviour is covered by promtool's unit tests, k8s/alerts/augur-rules.test.yaml).
// Run by tests/e2e/harness.py.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { requireEnv, loadModules, callUnary, withRetry } = require('./lib');

const REPO = path.join(__dirname, '..', '..');
const DASHBOARD = path.join(REPO, 'k8s', 'grafana-dashboard.json');
const RULES = path.join(REPO, 'k8s', 'alerts', 'augur-rules.yaml');
const NS = 'e2e';
const NAME = 'dashboard';

async function promGet(promUrl, apiPath, params) {
  const qs = new URLSearchParams(params).toString();
  const res = await fetch(`${promUrl}${apiPath}?${qs}`, { signal: AbortSignal.timeout(5000) });
  return res.json();
}
const promQuery = (promUrl, expr) => promGet(promUrl, '/api/v1/query', { query: expr });

function checkStructure(d) {
  const problems = [];
  for (const key of ['uid', 'title', 'schemaVersion', 'panels', 'templating', 'time']) {
    if (d[key] === undefined) problems.push(`no top-level "${key}"`);
  }
  if (!Number.isInteger(d.schemaVersion)) problems.push('schemaVersion is not an integer');
  const vars = (d.templating && d.templating.list) || [];
  const varNames = new Set(vars.map((v) => v.name));
  const ds = vars.find((v) => v.type === 'datasource');
  if (!ds || ds.name !== 'datasource' || ds.query !== 'prometheus') {
    problems.push('no `datasource` variable of type datasource (query prometheus)');
  }
  for (const v of vars.filter((x) => x.type === 'query')) {
    if (!v.datasource || v.datasource.uid !== '${datasource}') problems.push(`variable ${v.name} not on \${datasource}`);
    const q = typeof v.query === 'string' ? v.query : v.query && v.query.query;
    if (!/^label_values\(.+,\s*[a-zA-Z_]\w*\)$/.test(q || '')) problems.push(`variable ${v.name}: query ${q} is not label_values(...)`);
    if (v.definition !== q) problems.push(`variable ${v.name}: definition differs from its query`);
  }
  const ids = new Set();
  const all = [];
  for (const p of d.panels || []) {
    all.push(p);
    for (const inner of p.panels || []) all.push(inner);
  }
  for (const p of all) {
    const where = `panel ${p.id} "${p.title}"`;
    if (!Number.isInteger(p.id)) problems.push(`${where}: id is not an integer`);
    if (ids.has(p.id)) problems.push(`${where}: id used twice`);
    ids.add(p.id);
    if (!p.type || !p.title) problems.push(`${where}: no type or title`);
    const g = p.gridPos || {};
    if (![g.x, g.y, g.w, g.h].every(Number.isInteger) || g.x < 0 || g.w < 1 || g.x + g.w > 24 || g.h < 1) {
      problems.push(`${where}: gridPos ${JSON.stringify(g)} is not on the 24-column grid`);
    }
    if (p.type === 'row') continue;
    if (!p.datasource || p.datasource.uid !== '${datasource}' || p.datasource.type !== 'prometheus') {
      problems.push(`${where}: datasource is not the \${datasource} variable`);
    }
    if (!p.fieldConfig || !p.fieldConfig.defaults || !Array.isArray(p.fieldConfig.overrides)) {
      problems.push(`${where}: no fieldConfig.defaults/overrides`);
    }
    const targets = p.targets || [];
    if (!targets.length) problems.push(`${where}: no queries`);
    const refIds = new Set();
    for (const t of targets) {
      if (!t.refId || refIds.has(t.refId)) problems.push(`${where}: refId ${t.refId} missing or used twice`);
      refIds.add(t.refId);
      if (!t.expr) problems.push(`${where}: target ${t.refId} has no expr`);
      if (!t.datasource || t.datasource.uid !== '${datasource}') problems.push(`${where}: target ${t.refId} not on \${datasource}`);
      for (const m of (t.expr || '').matchAll(/\$(\w+)/g)) {
        if (m[1] !== '__rate_interval' && !varNames.has(m[1])) problems.push(`${where}: $${m[1]} is not a variable`);
      }
    }
  }
  return problems;
}

// "label_values(metric{...}, label)" -> the label's values among that selector's series.
async function variableValues(promUrl, query) {
  const m = /^label_values\((.+),\s*(\w+)\)$/.exec(query);
  const r = await promGet(promUrl, `/api/v1/label/${m[2]}/values`, { 'match[]': m[1] });
  assert.equal(r.status, 'success', `${query}: ${r.error}`);
  return r.data;
}

function substitute(expr, values) {
  return expr.replace(/\$__rate_interval/g, '1m').replace(/\$(\w+)/g, (all, name) =>
    (name in values ? values[name] : all));
}

async function main() {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
  const structure = checkStructure(dashboard);
  assert.deepEqual(structure, [], `dashboard structure:\n${structure.join('\n')}`);

  let yaml;
  try {
    yaml = require('js-yaml');
  } catch (e) {
    throw new Error(`js-yaml is missing (${e.message}); run scripts/setup-deps.sh`);
  }
  const { grpc, protoLoader } = loadModules();
  const addr = requireEnv('AUGUR_E2E_GRPC');
  const promUrl = requireEnv('AUGUR_E2E_PROM_URL');
  const pod = requireEnv('AUGUR_E2E_POD');
  const def = protoLoader.loadSync(requireEnv('AUGUR_E2E_PROTO'), { keepCase: true, longs: String, defaults: true });
  const client = new (grpc.loadPackageDefinition(def).externalscaler.ExternalScaler)(
    addr, grpc.credentials.createInsecure());
  const ref = {
    name: NAME, namespace: NS,
    scalerMetadata: {
      query: requireEnv('AUGUR_E2E_QUERY'), targetValue: '10', history: '3d', step: '1m', seasonality: '1d',
    },
  };
  const spec = await withRetry(() => callUnary(client, 'GetMetricSpec', ref), grpc, 'GetMetricSpec');
  const metricName = spec.metricSpecs[0].metricName;
  await withRetry(() => callUnary(client, 'GetMetrics', { scaledObjectRef: ref, metricName }), grpc, 'GetMetrics');

  // The error series: a query Prometheus rejects (augur_prometheus_query_errors_total,
  // a non-ok GetMetrics) and metadata augur rejects (a non-ok GetMetricSpec).
  const badQuery = { name: 'bad-query', namespace: NS, scalerMetadata: { query: 'sum(rate(', targetValue: '1' } };
  await assert.rejects(callUnary(client, 'GetMetrics', { scaledObjectRef: badQuery, metricName: 'augur-bad-query' }));
  await assert.rejects(callUnary(client, 'GetMetricSpec', { name: 'bad-metadata', namespace: NS, scalerMetadata: { query: 'up' } }),
    (err) => err.code === grpc.status.INVALID_ARGUMENT);

  // Wait (bounded) until Prometheus holds a few scrapes of augur with every series, so
  // that rate() has something to work on.
  const ready = [
    `count_over_time(augur_returned_value{namespace="${NS}",scaledobject="${NAME}"}[1m]) >= 3`,
    'count_over_time(augur_prometheus_query_errors_total[1m]) >= 3',
    'count_over_time(augur_grpc_requests_total{code!="ok"}[1m]) >= 3',
  ];
  const deadline = Date.now() + 40000;
  for (const q of ready) {
    for (;;) {
      await callUnary(client, 'GetMetrics', { scaledObjectRef: ref, metricName });
      const r = await promQuery(promUrl, q);
      if (r.status === 'success' && r.data.result.length) break;
      assert.ok(Date.now() < deadline, `Prometheus never had ${q}: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 500));
    }
  }
  client.close();

  const failures = [];
  // Variables: each finds the object's (or augur's pod's) value; chained ones in order.
  const concrete = {};
  const all = {};
  for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
    const q = substitute(typeof v.query === 'string' ? v.query : v.query.query, concrete);
    const values = await variableValues(promUrl, q);
    const want = { namespace: NS, scaledobject: NAME, pod }[v.name];
    if (want !== undefined && !values.includes(want)) failures.push(`variable ${v.name}: ${q} gave ${JSON.stringify(values)}, no ${want}`);
    concrete[v.name] = want !== undefined ? want : values[0];
    all[v.name] = v.allValue || '.*';
  }

  const targets = dashboard.panels.flatMap((p) => (p.targets || []).map((t) => ({ panel: p.title, expr: t.expr })));
  for (const { panel, expr } of targets) {
    for (const [which, values] of [['all', all], ['object', concrete]]) {
      const q = substitute(expr, values);
      const r = await promQuery(promUrl, q);
      if (r.status !== 'success') {
        failures.push(`${panel} (${which}): ${q}: ${r.error}`);
        continue;
      }
      const n = r.data.result.length;
      console.log(`${n > 0 ? 'ok   ' : 'EMPTY'} ${which.padEnd(6)} ${panel}: ${q.slice(0, 100)}`);
      if (n === 0) failures.push(`${panel} (${which}): ${q}: no data`);
      // Per-object panels keep triggers apart (one ScaledObject may have several).
      if (/by \([^)]*\btrigger\b/.test(q) && n > 0 && !r.data.result.every((s) => s.metric.trigger)) {
        failures.push(`${panel} (${which}): ${q}: a series without its trigger label`);
      }
    }
  }

  const rules = yaml.load(fs.readFileSync(RULES, 'utf8'));
  let ruleCount = 0;
  for (const group of rules.groups) {
    for (const rule of group.rules) {
      ruleCount += 1;
      const r = await promQuery(promUrl, rule.expr);
      if (r.status !== 'success') {
        failures.push(`rule ${rule.alert}: ${rule.expr}: ${r.error}`);
        continue;
      }
      const signal = rule.expr.trim()
        .replace(/^absent\(([\s\S]*)\)$/, '$1')
        .replace(/\s*(==|!=|>=|<=|>|<)\s*[-0-9.e]+\s*$/, '');
      if (/\b(keda|kube)_\w+/.test(signal)) {
        console.log(`parsed  rule ${rule.alert} (no KEDA / kube-state-metrics here)`);
        continue;
      }
      const s = await promQuery(promUrl, signal);
      const n = s.status === 'success' ? s.data.result.length : 0;
      console.log(`${n > 0 ? 'ok   ' : 'EMPTY'}   rule ${rule.alert}: ${signal.replace(/\s+/g, ' ').slice(0, 100)}`);
      if (n === 0) failures.push(`rule ${rule.alert}: ${signal}: no data (${s.error || 'empty'})`);
    }
  }
  assert.deepEqual(failures, [], `dashboard or rule queries failing:\n${failures.join('\n')}`);
  console.log(`OK: dashboard structure; ${targets.length} dashboard queries x 2 variable settings return data; ` +
    `${ruleCount} alert expressions evaluate, augur's and up's return data`);
}

main().catch((err) => {
  console.error(`FAIL: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
