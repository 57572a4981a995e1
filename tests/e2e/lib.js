// Small helpers shared by the end-to-end clients: environment, promisified calls with
// deadlines, bounded retries, and "first message of a server stream, then cancel".
'use strict';

const CALL_DEADLINE_MS = 5000;

function requireEnv(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: run this through tests/e2e/harness.py (see its header)`);
  }
  return v;
}

function loadModules() {
  try {
    return {
      grpc: require('@grpc/grpc-js'),
      protoLoader: require('@grpc/proto-loader'),
    };
  } catch (e) {
    throw new Error(`the npm packages are missing (${e.message}); run scripts/setup-deps.sh, ` +
      'which runs `npm ci` in tests/e2e');
  }
}

function deadline(ms = CALL_DEADLINE_MS) {
  return new Date(Date.now() + ms);
}

function callUnary(client, method, request, ms = CALL_DEADLINE_MS) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: deadline(ms) }, (err, response) => {
      if (err) reject(err); else resolve(response);
    });
  });
}

// Retries while the server says "not yet" (UNAVAILABLE: first answer still being
// computed), at most `attempts` times, pausing `pauseMs` between attempts.
async function withRetry(fn, grpc, what, attempts = 30, pauseMs = 500) {
  let last;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      if (err.code !== grpc.status.UNAVAILABLE && err.code !== grpc.status.DEADLINE_EXCEEDED) throw err;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
  throw new Error(`${what} still failing after ${attempts} attempts: ${last.code} ${last.details}`);
}

// Resolves with the first message of a server-streaming call, then cancels it and checks
// that the cancellation ends the call. Rejects if the stream ends or fails first, or if no
// message arrives within `ms`.
function firstMessage(call, what, grpc, ms = 20000) {
  return new Promise((resolve, reject) => {
    let first = null;
    const timer = setTimeout(() => {
      call.cancel();
      reject(new Error(`${what}: no message within ${ms} ms`));
    }, ms);
    call.on('data', (msg) => {
      if (first !== null) return;
      first = msg;
      call.cancel();
    });
    call.on('error', (err) => {
      clearTimeout(timer);
      if (first !== null && err.code === grpc.status.CANCELLED) resolve(first);
      else reject(new Error(`${what} failed before a first message: ${err.code} ${err.details}`));
    });
    call.on('end', () => {
      clearTimeout(timer);
      if (first === null) reject(new Error(`${what} ended without sending a message`));
      else resolve(first);
    });
    call.on('status', () => {});
  });
}

module.exports = { requireEnv, loadModules, callUnary, withRetry, firstMessage, deadline };
