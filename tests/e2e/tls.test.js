// End-to-end: the k8s/tls example as KEDA uses it. Augur serves mTLS with the
// certificates k8s/tls/make-certs.sh makes; @grpc/grpc-js connects the way KEDA does —
// CA, client certificate and key as PEM contents (what the TriggerAuthentication's
// caCert, tlsClientCert, tlsClientKey hold), server name = the host of scalerAddress —
// and calls GetMetricSpec and GetMetrics. Without a client certificate, or trusting
// another CA, the connection must fail. Run by `harness.py --tls`.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { requireEnv, loadModules, callUnary, withRetry } = require('./lib');

async function main() {
  const { grpc, protoLoader } = loadModules();
  const addr = requireEnv('AUGUR_E2E_GRPC');
  const dir = requireEnv('AUGUR_E2E_TLS_DIR');
  const protoPath = requireEnv('AUGUR_E2E_PROTO');
  const pem = (name) => fs.readFileSync(path.join(dir, name));
  const def = protoLoader.loadSync(protoPath, { keepCase: true, longs: String, defaults: true });
  const { ExternalScaler } = grpc.loadPackageDefinition(def).externalscaler;
  // KEDA verifies the name in scalerAddress; the example's Service is augur.augur.svc.cluster.local.
  const channelOptions = { 'grpc.ssl_target_name_override': 'augur.augur.svc.cluster.local' };
  const ref = {
    name: 'checkout-tls', namespace: 'shop',
    scalerMetadata: {
      scalerAddress: 'augur.augur.svc.cluster.local:6000', enableTLS: 'true',
      query: requireEnv('AUGUR_E2E_QUERY'), targetValue: '50', history: '3d', step: '1m', seasonality: '1d',
    },
  };

  const mtls = new ExternalScaler(addr,
    grpc.credentials.createSsl(pem('ca.crt'), pem('client.key'), pem('client.crt')), channelOptions);
  const spec = await withRetry(() => callUnary(mtls, 'GetMetricSpec', ref), grpc, 'GetMetricSpec over mTLS');
  assert.equal(spec.metricSpecs.length, 1);
  assert.equal(spec.metricSpecs[0].targetSizeFloat, 50);
  const metrics = await withRetry(() => callUnary(mtls, 'GetMetrics',
    { scaledObjectRef: ref, metricName: spec.metricSpecs[0].metricName }), grpc, 'GetMetrics over mTLS');
  assert.equal(metrics.metricValues.length, 1);
  console.log(`mTLS as KEDA: GetMetricSpec ${JSON.stringify(spec.metricSpecs[0])}, ` +
    `GetMetrics ${JSON.stringify(metrics.metricValues[0])}`);
  mtls.close();

  // No client certificate: the server requires one.
  const noCert = new ExternalScaler(addr, grpc.credentials.createSsl(pem('ca.crt')), channelOptions);
  await assert.rejects(callUnary(noCert, 'GetMetricSpec', ref, 3000), (err) => {
    assert.equal(err.code, grpc.status.UNAVAILABLE, `without a client certificate: ${err.code} ${err.details}`);
    console.log(`without a client certificate: rejected (${err.details})`);
    return true;
  });
  noCert.close();

  // Plaintext against the TLS port fails too.
  const plain = new ExternalScaler(addr, grpc.credentials.createInsecure());
  await assert.rejects(callUnary(plain, 'GetMetricSpec', ref, 3000), (err) => {
    assert.equal(err.code, grpc.status.UNAVAILABLE, `plaintext: ${err.code} ${err.details}`);
    console.log(`plaintext: rejected (${err.details})`);
    return true;
  });
  plain.close();

  // A client trusting another CA refuses Augur's certificate.
  const otherDir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'augur-other-ca-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=other',
      '-keyout', path.join(otherDir, 'ca.key'), '-out', path.join(otherDir, 'ca.crt')], { stdio: 'ignore' });
    const wrongCa = new ExternalScaler(addr, grpc.credentials.createSsl(
      fs.readFileSync(path.join(otherDir, 'ca.crt')), pem('client.key'), pem('client.crt')), channelOptions);
    await assert.rejects(callUnary(wrongCa, 'GetMetricSpec', ref, 3000), (err) => {
      assert.equal(err.code, grpc.status.UNAVAILABLE, `other CA: ${err.code} ${err.details}`);
      console.log(`trusting another CA: rejected (${err.details})`);
      return true;
    });
    wrongCa.close();
  } finally {
    fs.rmSync(otherDir, { recursive: true, force: true });
  }
  console.log('OK: the k8s/tls example works as KEDA connects, and only that way');
}

main().catch((err) => {
  console.error(`FAIL: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
