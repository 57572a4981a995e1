#!/usr/bin/env python3
"""End-to-end: Debian's python3-grpcio calls augur's grpc.health.v1.Health/Check.

python3-grpcio ships no generated health stubs, so the two one-field messages are
encoded by hand (HealthCheckRequest{string service = 1},
HealthCheckResponse{ServingStatus status = 1}) and sent with a generic unary call, as
kubelet's native gRPC probe does. Also checks the HTTP side (/healthz, /readyz, /metrics).
Run by tests/e2e/harness.py, which sets AUGUR_E2E_GRPC and AUGUR_E2E_HTTP.
"""

import os
import sys
import time
import urllib.request

try:
    import grpc
except ImportError:
    sys.exit("python3-grpcio is missing: run scripts/setup-deps.sh (Debian's python3-grpcio); "
             "this test must run with /usr/bin/python3")

SERVING_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def encode_request(service):
    raw = service.encode()
    return b"" if not raw else b"\x0a" + varint(len(raw)) + raw


def decode_response(data):
    """Returns the `status` field (1, varint) of a HealthCheckResponse; 0 if absent."""
    i, status = 0, 0
    while i < len(data):
        key = data[i]
        i += 1
        if key & 7 != 0:
            raise ValueError(f"unexpected wire type in HealthCheckResponse: {data!r}")
        value, shift = 0, 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if key >> 3 == 1:
            status = value
    return status


def check(channel, service):
    call = channel.unary_unary("/grpc.health.v1.Health/Check",
                               request_serializer=encode_request,
                               response_deserializer=decode_response)
    return call(service, timeout=5)


def main():
    addr, http_addr = os.environ.get("AUGUR_E2E_GRPC"), os.environ.get("AUGUR_E2E_HTTP")
    if not addr or not http_addr:
        sys.exit("AUGUR_E2E_GRPC/AUGUR_E2E_HTTP not set: run through tests/e2e/harness.py")
    assert encode_request("") == b"" and encode_request("liveness") == b"\x0a\x08liveness"
    assert decode_response(b"\x08\x01") == 1 and decode_response(b"") == 0

    failures = []
    with grpc.insecure_channel(addr) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        for service in ("", "liveness", "readiness"):
            # Readiness may take a moment after start; poll it, bounded.
            status, deadline = None, time.monotonic() + 15
            while time.monotonic() < deadline:
                status = check(channel, service)
                if status == 1 or service != "readiness":
                    break
                time.sleep(0.2)
            print(f"Health/Check service={service!r}: {SERVING_STATUS.get(status, status)}")
            if status != 1:
                failures.append(f"service {service!r} is {SERVING_STATUS.get(status, status)}, want SERVING")
        try:
            status = check(channel, "no.such.Service")
            failures.append(f"unknown service answered {status}, want NOT_FOUND")
        except grpc.RpcError as e:
            print(f"Health/Check unknown service: {e.code().name}")
            if e.code() != grpc.StatusCode.NOT_FOUND:
                failures.append(f"unknown service: {e.code().name}, want NOT_FOUND")

    for path, must_contain in (("/healthz", None), ("/readyz", None), ("/metrics", "augur_")):
        try:
            with urllib.request.urlopen(f"http://{http_addr}{path}", timeout=5) as r:
                body = r.read().decode(errors="replace")
                print(f"GET {path}: {r.status}")
                if r.status != 200:
                    failures.append(f"{path}: HTTP {r.status}")
                if must_contain and must_contain not in body:
                    failures.append(f"{path} has no {must_contain!r} metric")
        except OSError as e:
            failures.append(f"{path}: {e}")

    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        return 1
    print("OK: health service (python3-grpcio) and HTTP endpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
