// End-to-end: StreamIsActive as KEDA's external-push trigger uses it, against the real
// augur, through Node's pure-JavaScript gRPC (@grpc/grpc-js). KEDA up to v2.17 acts on a
// `false` message (on a stale copy of the ScaledObject: it can scale a minReplicaCount 0
// workload to zero early), so augur must send nothing while the object is inactive, and
// `true` on each inactive -> active transition (docs/keda.md §2, §7).
//
// The object's query reads augur_e2e_switch, a gauge the harness serves and this test
// sets (POST AUGUR_E2E_SWITCH_URL?value=V); Prometheus scrapes it every second, augur
// refreshes the object every second. "Augur had the chance to send" is observed, not
// slept for: augur's own count of Prometheus queries (one per refresh, and every
// refresh wakes the object's streams) must grow by 3 while the stream stays silent.
// Run by tests/e2e/harness.py.
'use strict';

const assert = require('node:assert/strict');
const { requireEnv, loadModules, callUnary } = require('./lib');

const WAIT_MS = 60000;

async function setSwitch(value) {
  const res = await fetch(`${requireEnv('AUGUR_E2E_SWITCH_URL')}?value=${value}`,
    { method: 'POST', signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 204, `setting the switch to ${value}`);
}

// augur_prometheus_query_duration_seconds_count from augur's /metrics: its refreshes.
async function refreshes() {
  const text = await (await fetch(`http://${requireEnv('AUGUR_E2E_HTTP')}/metrics`,
    { signal: AbortSignal.timeout(5000) })).text();
  const m = text.match(/^augur_prometheus_query_duration_seconds_count (\S+)$/m);
  return m ? Number(m[1]) : 0;
}

// Resolves once `probe()` returns true, polling every `pauseMs`; rejects after WAIT_MS.
async function until(what, probe, pauseMs = 200) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  throw new Error(`${what}: not within ${WAIT_MS} ms`);
}

async function main() {
  const { grpc, protoLoader } = loadModules();
  const addr = requireEnv('AUGUR_E2E_GRPC');
  const def = protoLoader.loadSync(requireEnv('AUGUR_E2E_PROTO'),
    { keepCase: true, longs: String, defaults: true });
  const client = new (grpc.loadPackageDefinition(def).externalscaler.ExternalScaler)(
    addr, grpc.credentials.createInsecure());
  const ref = {
    name: 'reports-worker', namespace: 'shop',
    scalerMetadata: {
      scalerAddress: addr,
      query: requireEnv('AUGUR_E2E_SWITCH_QUERY'),
      targetValue: '1',
      activationThreshold: '5',
      mode: 'shadow',           // the value is the observed level: the test decides activity
      history: '10m',
      step: '5s',
      minHistory: '0s',
      refreshInterval: '1s',
    },
  };
  await setSwitch(0);

  const messages = [];
  let streamError = null;
  const stream = client.StreamIsActive(ref);
  stream.on('data', (m) => {
    messages.push(m.result);
    console.log(`StreamIsActive message: ${JSON.stringify(m)}`);
  });
  stream.on('error', (e) => { if (e.code !== grpc.status.CANCELLED) streamError = e; });
  stream.on('status', () => {});

  // Inactive: IsActive answers false, and three refreshes later the stream is still silent.
  await until('a first answer, inactive', async () => {
    try {
      const r = await callUnary(client, 'IsActive', ref);
      return r.result === false;
    } catch (e) {
      if (e.code === grpc.status.UNAVAILABLE) return false;
      throw e;
    }
  });
  let seen = await refreshes();
  await until('3 more refreshes', async () => (await refreshes()) >= seen + 3);
  assert.equal(streamError, null, `the stream failed: ${streamError && streamError.details}`);
  assert.deepEqual(messages, [], 'nothing is sent while the object is inactive (no `false`)');
  console.log('inactive for 3 refreshes: no message');

  // inactive -> active: one `true`.
  await setSwitch(10);
  await until('a `true` after the object became active', async () => messages.length >= 1);
  assert.deepEqual(messages, [true], 'one `true` on activation');
  assert.equal((await callUnary(client, 'IsActive', ref)).result, true);

  // active -> inactive: nothing; then active again: another `true`.
  await setSwitch(0);
  await until('IsActive false again', async () => (await callUnary(client, 'IsActive', ref)).result === false);
  seen = await refreshes();
  await until('3 more refreshes', async () => (await refreshes()) >= seen + 3);
  assert.deepEqual(messages, [true], 'deactivation sends nothing (KEDA deactivates by polling)');
  await setSwitch(10);
  await until('a second `true`', async () => messages.length >= 2);
  assert.deepEqual(messages, [true, true], 'a `true` for each inactive -> active transition');
  assert.equal(streamError, null, `the stream failed: ${streamError && streamError.details}`);

  stream.cancel();
  client.close();
  console.log('OK: StreamIsActive sends only `true`, once per activation');
}

main().catch((err) => {
  console.error(`FAIL: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
