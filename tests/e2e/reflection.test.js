// End-to-end: server reflection, as grpcurl uses it (`list`, `describe`, then a call built
// from the fetched descriptor, with no .proto file on the client), through an npm
// reflection client no one on this project wrote (grpc-js-reflection-client, protocol
// grpc.reflection.v1alpha as gRPC 1.51 serves it). Run by tests/e2e/harness.py.
'use strict';

const assert = require('node:assert/strict');
const { requireEnv, loadModules, callUnary, withRetry, deadline } = require('./lib');

async function main() {
  const { grpc } = loadModules();
  let GrpcReflection;
  try {
    ({ GrpcReflection } = require('grpc-js-reflection-client'));
  } catch (e) {
    throw new Error(`grpc-js-reflection-client is missing (${e.message}); run scripts/setup-deps.sh`);
  }
  const addr = requireEnv('AUGUR_E2E_GRPC');
  const reflection = new GrpcReflection(addr, grpc.credentials.createInsecure());
  const opts = () => ({ deadline: deadline() });

  // grpcurl list
  const services = await reflection.listServices('', new grpc.Metadata(), opts());
  console.log(`list: ${services.join(', ')}`);
  for (const want of ['externalscaler.ExternalScaler', 'grpc.health.v1.Health', 'augur.v1.Inspector']) {
    assert.ok(services.includes(want), `reflection lists ${want}: got ${services.join(', ')}`);
  }

  // grpcurl describe externalscaler.ExternalScaler
  const methods = await reflection.listMethods('externalscaler.ExternalScaler', new grpc.Metadata(), opts());
  const names = methods.map((m) => m.name).sort();
  console.log(`describe externalscaler.ExternalScaler: ${names.join(', ')}`);
  assert.deepEqual(names, ['GetMetricSpec', 'GetMetrics', 'IsActive', 'StreamIsActive', 'StreamMetricSpec']);

  // A client built only from the descriptor fetched by reflection, calling GetMetricSpec
  // and GetMetrics (grpcurl -d '{...}' ... externalscaler.ExternalScaler/GetMetrics).
  const descriptor = await reflection.getDescriptorBySymbol('externalscaler.ExternalScaler', new grpc.Metadata(), opts());
  const pkg = descriptor.getPackageObject({ keepCase: true, longs: String, enums: String, defaults: true });
  assert.ok(pkg.externalscaler && pkg.externalscaler.ExternalScaler, 'descriptor yields the ExternalScaler service');
  const scaler = new pkg.externalscaler.ExternalScaler(addr, grpc.credentials.createInsecure());
  // The descriptor fetched by reflection describes the map field as what it is on the
  // wire: repeated entry messages {key, value}. Depending on how the client library
  // rebuilds it, it serializes a plain object or wants the entries: ask its serializer.
  const metadata = {
    query: requireEnv('AUGUR_E2E_QUERY'), targetValue: '50', history: '3d', step: '1m',
    seasonality: '1d', minHistory: '1h',
  };
  const serialize = pkg.externalscaler.ExternalScaler.service.GetMetricSpec.requestSerialize;
  let asMap = true;
  try {
    serialize({ name: 'probe', scalerMetadata: { k: 'v' } });
  } catch (e) {
    asMap = false;
  }
  console.log(`reflected ScaledObjectRef.scalerMetadata: ${asMap ? 'a map' : 'repeated {key, value} entries'}`);
  const ref = {
    name: 'reflected',
    namespace: 'e2e',
    scalerMetadata: asMap ? metadata : Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  const spec = await withRetry(() => callUnary(scaler, 'GetMetricSpec', ref), grpc, 'GetMetricSpec');
  assert.equal(spec.metricSpecs.length, 1, `one spec: ${JSON.stringify(spec)}`);
  assert.equal(spec.metricSpecs[0].targetSizeFloat, 50);
  const metricName = spec.metricSpecs[0].metricName;
  const metrics = await withRetry(() => callUnary(scaler, 'GetMetrics', { scaledObjectRef: ref, metricName }),
    grpc, 'GetMetrics');
  assert.equal(metrics.metricValues.length, 1, `one value: ${JSON.stringify(metrics)}`);
  console.log(`GetMetrics via reflected descriptor: ${JSON.stringify(metrics.metricValues[0])}`);

  // The Inspector, also from reflection only: List shows the object, Explain says why.
  const inspectorMethods = await reflection.listMethods('augur.v1.Inspector', new grpc.Metadata(), opts());
  const inames = inspectorMethods.map((m) => m.name);
  console.log(`describe augur.v1.Inspector: ${inames.join(', ')}`);
  assert.ok(inames.includes('List') && inames.includes('Explain'), 'Inspector has List and Explain');
  const idesc = await reflection.getDescriptorBySymbol('augur.v1.Inspector', new grpc.Metadata(), opts());
  const ipkg = idesc.getPackageObject({ keepCase: true, longs: String, enums: String, defaults: true });
  const inspector = new ipkg.augur.v1.Inspector(addr, grpc.credentials.createInsecure());
  const listed = await callUnary(inspector, 'List', {});
  const listedText = JSON.stringify(listed);
  assert.ok(listedText.includes('reflected'), `Inspector/List shows the object: ${listedText.slice(0, 500)}`);
  const explained = await callUnary(inspector, 'Explain', ref);
  const explainedText = JSON.stringify(explained);
  assert.ok(Array.isArray(explained.forecast) && explained.forecast.length > 0,
    `Explain carries forecast points: ${explainedText.slice(0, 300)}`);
  console.log(`Inspector/Explain: ${explainedText.slice(0, 300)}...`);

  scaler.close();
  inspector.close();
  console.log('OK: reflection list, describe, and calls through reflected descriptors');
}

main().catch((err) => {
  console.error(`FAIL: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
