// End-to-end: Node's pure-JavaScript gRPC (@grpc/grpc-js + @grpc/proto-loader), which no
// one on this project wrote, loads externalscaler.proto and drives the real augur as KEDA
// does: GetMetricSpec -> GetMetrics -> IsActive (twice, as two polls), then the push
// streams StreamIsActive and StreamMetricSpec (first message, then cancel), then the
// error a typo in a metadata key must produce. Run by tests/e2e/harness.py, which
// provides AUGUR_E2E_* (see there).
'use strict';

const assert = require('node:assert/strict');
const path = require('node:path');
const { requireEnv, loadModules, callUnary, withRetry, firstMessage } = require('./lib');

async function main() {
  const { grpc, protoLoader } = loadModules();
  const addr = requireEnv('AUGUR_E2E_GRPC');
  const protoPath = requireEnv('AUGUR_E2E_PROTO');
  const min = Number(requireEnv('AUGUR_E2E_MIN'));
  const max = Number(requireEnv('AUGUR_E2E_MAX'));
  const noise = Number(requireEnv('AUGUR_E2E_NOISE'));
  const promUrl = requireEnv('AUGUR_E2E_PROM_URL');
  // The load now, read from the same Prometheus with an HTTP client of Node's own.
  async function currentLoad() {
    const url = `${promUrl}/api/v1/query?query=${encodeURIComponent(requireEnv('AUGUR_E2E_QUERY'))}`;
    const body = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).json();
    assert.equal(body.status, 'success', `Prometheus query: ${JSON.stringify(body)}`);
    assert.equal(body.data.result.length, 1, 'one series');
    return Number(body.data.result[0].value[1]);
  }

  const def = protoLoader.loadSync(protoPath, {
    keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
    includeDirs: [path.dirname(protoPath)],
  });
  const pkg = grpc.loadPackageDefinition(def).externalscaler;
  assert.ok(pkg && pkg.ExternalScaler, 'externalscaler.ExternalScaler in the proto');
  const client = new pkg.ExternalScaler(addr, grpc.credentials.createInsecure());

  // What KEDA sends: every trigger metadata key verbatim, its own keys included.
  const ref = {
    name: 'checkout',
    namespace: 'shop',
    scalerMetadata: {
      scalerAddress: addr,
      query: requireEnv('AUGUR_E2E_QUERY'),
      targetValue: '12.5',
      activationThreshold: '10',
      horizon: '5m',
      history: '3d',
      step: '1m',
      seasonality: '1d',
      minHistory: '1h',
    },
  };

  // Poll 1. The first call for a new object may be UNAVAILABLE while its first answer is
  // computed (KEDA retries); bounded retries.
  const spec = await withRetry(() => callUnary(client, 'GetMetricSpec', ref), grpc, 'GetMetricSpec');
  assert.equal(spec.metricSpecs.length, 1, `exactly one MetricSpec: ${JSON.stringify(spec)}`);
  const ms = spec.metricSpecs[0];
  assert.match(ms.metricName, /^[a-z0-9-]+$/, 'metric name is lowercase [a-z0-9-] as the HPA needs');
  assert.equal(ms.targetSizeFloat, 12.5, 'targetSizeFloat = targetValue');
  assert.equal(Number(ms.targetSize), 13, 'targetSize = ceil(targetValue)');
  console.log(`GetMetricSpec: ${JSON.stringify(ms)}`);

  const values = [];
  for (let poll = 1; poll <= 2; poll++) {
    if (poll > 1) {
      const again = await callUnary(client, 'GetMetricSpec', ref);
      assert.deepEqual(again, spec, 'GetMetricSpec is stable across polls');
    }
    const metrics = await withRetry(
      () => callUnary(client, 'GetMetrics', { scaledObjectRef: ref, metricName: ms.metricName }),
      grpc, 'GetMetrics');
    assert.equal(metrics.metricValues.length, 1, `exactly one MetricValue: ${JSON.stringify(metrics)}`);
    const mv = metrics.metricValues[0];
    assert.equal(mv.metricName, ms.metricName, 'value carries the requested metric name');
    assert.ok(Number.isFinite(mv.metricValueFloat), 'metricValueFloat is a finite number');
    assert.equal(Number(mv.metricValue), Math.ceil(mv.metricValueFloat),
      `metricValue = ceil(metricValueFloat): ${JSON.stringify(mv)}`);
    // Predictive mode answers max(current, forecast peak); the series stays in [min, max],
    // so a plausible answer lies in that range, with room for forecast error.
    const slack = 0.25 * (max - min);
    assert.ok(mv.metricValueFloat >= min && mv.metricValueFloat <= max + slack,
      `value ${mv.metricValueFloat} within the backfilled series' range [${min}, ${max + slack}]`);
    values.push(mv.metricValueFloat);
    // Predictive mode never answers less than the load now (what a reactive scaler uses),
    // up to the series' noise between Augur's last refresh and this instant.
    const observed = await currentLoad();
    assert.ok(mv.metricValueFloat >= observed - 2 * noise - 1,
      `value ${mv.metricValueFloat} is not below the observed load ${observed} (predictive mode)`);

    const active = await callUnary(client, 'IsActive', ref);
    assert.equal(active.result, true, `IsActive: value ${mv.metricValueFloat} > activationThreshold 10`);
    console.log(`poll ${poll}: GetMetrics ${JSON.stringify(mv)}, IsActive ${active.result}`);
  }

  // external-push: KEDA keeps StreamIsActive open; a first message must come.
  const streamActive = await firstMessage(client.StreamIsActive(ref), 'StreamIsActive', grpc);
  assert.equal(typeof streamActive.result, 'boolean', 'StreamIsActive message has a boolean result');
  assert.equal(streamActive.result, true, 'StreamIsActive reports the active object');
  console.log(`StreamIsActive: first message ${JSON.stringify(streamActive)}, cancelled`);

  // StreamMetricSpec (KEDA v2.21+): sends the current specs at once, equal to GetMetricSpec's.
  const streamSpec = await firstMessage(client.StreamMetricSpec(ref), 'StreamMetricSpec', grpc);
  assert.deepEqual(streamSpec, spec, 'StreamMetricSpec sends the same specs as GetMetricSpec');
  console.log(`StreamMetricSpec: first message ${JSON.stringify(streamSpec)}, cancelled`);

  // A typo in a key must be INVALID_ARGUMENT naming it, never a silent default.
  const typo = { ...ref, name: 'typo', scalerMetadata: { ...ref.scalerMetadata } };
  delete typo.scalerMetadata.targetValue;
  typo.scalerMetadata.targetvalue = '12.5';
  await assert.rejects(callUnary(client, 'GetMetricSpec', typo), (err) => {
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT, `code ${err.code}: ${err.details}`);
    assert.match(err.details, /targetvalue/, 'the message names the unknown key');
    console.log(`typo rejected: ${err.details}`);
    return true;
  });

  client.close();
  console.log(`OK: KEDA call order against augur at ${addr}; values ${values.join(', ')}`);
}

main().catch((err) => {
  console.error(`FAIL: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
