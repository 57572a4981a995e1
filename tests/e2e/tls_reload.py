#!/usr/bin/env python3
"""End-to-end: augur re-reads its TLS files when Kubernetes updates the mounted Secret.

Run by `harness.py --tls --tls-secret-volume`: augur serves mTLS from a directory laid out
as kubelet mounts a Secret (tls.crt, tls.key, ca.crt -> ..data/..., ..data -> ..<ts>/).
The test rotates it as kubelet does (new timestamped directory, `..data` swapped by an
atomic rename), with certificates from a new CA (k8s/tls/make-certs.sh), and checks with
two clients no one on this project wrote, Debian's python3-grpcio and Python's ssl module:

  1. the first connection after the swap gets the new certificate (its SHA-256 is the new
     file's), and a gRPC client trusting only the new CA, with the new client
     certificate, is served;
  2. a gRPC connection opened before the swap keeps working (it is not dropped), while a
     new connection trusting only the old CA is refused;
  3. a bad update (a key that does not match the certificate; then a file that is not
     PEM) is refused: the previous certificate is still served, augur logs
     `tls_reload_failed` saying why, and /metrics counts the reloads and shows the served
     certificate's expiry.
"""

import hashlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    import grpc
except ImportError:
    sys.exit("python3-grpcio is missing: run scripts/setup-deps.sh (Debian's python3-grpcio); "
             "this test must run with /usr/bin/python3")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_NAME = "augur.augur.svc.cluster.local"  # what make-certs.sh puts in the certificate
failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failures.append(what)


def env(name):
    v = os.environ.get(name)
    if not v:
        sys.exit(f"{name} is not set: run through tests/e2e/harness.py --tls --tls-secret-volume")
    return v


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def scaled_object_ref(name, namespace, metadata):
    """externalscaler.ScaledObjectRef{name=1, namespace=2, map<string,string> scalerMetadata=3}."""
    out = field(1, name.encode()) + field(2, namespace.encode())
    for k, v in sorted(metadata.items()):
        out += field(3, field(1, k.encode()) + field(2, v.encode()))
    return out


def make_certs(out_dir):
    r = subprocess.run(["bash", os.path.join(REPO, "k8s", "tls", "make-certs.sh"), out_dir, "2"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        sys.exit(f"make-certs.sh failed: {r.stdout}{r.stderr}")
    return out_dir


def rotate(volume, files, generation):
    """Updates the Secret volume as kubelet's atomic writer does."""
    stamp = f"..2026_01_01_00_00_{generation:02d}.000000001"
    new_dir = os.path.join(volume, stamp)
    os.makedirs(new_dir)
    for name, content in files.items():
        with open(os.path.join(new_dir, name), "wb") as f:
            f.write(content)
    old = os.readlink(os.path.join(volume, "..data"))
    os.symlink(stamp, os.path.join(volume, "..data_tmp"))
    os.rename(os.path.join(volume, "..data_tmp"), os.path.join(volume, "..data"))
    shutil.rmtree(os.path.join(volume, old))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def fingerprint_of_file(pem_path):
    with open(pem_path) as f:
        pem = f.read()
    first = pem[:pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(first)).hexdigest()


def served_fingerprint(addr, ca, cert, key):
    """SHA-256 of the certificate augur presents on a new TLS connection."""
    host, port = addr.rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["h2"])
    try:
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            with ctx.wrap_socket(sock, server_hostname=SERVER_NAME) as tls:
                return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()
    except (ssl.SSLError, OSError) as e:
        return f"no certificate ({e})"


def channel(addr, certs_dir):
    creds = grpc.ssl_channel_credentials(root_certificates=read(os.path.join(certs_dir, "ca.crt")),
                                         private_key=read(os.path.join(certs_dir, "client.key")),
                                         certificate_chain=read(os.path.join(certs_dir, "client.crt")))
    # A channel of its own (no subchannel shared with the others): one connection each.
    return grpc.secure_channel(addr, creds, options=[("grpc.ssl_target_name_override", SERVER_NAME),
                                                     ("grpc.use_local_subchannel_pool", 1)])


def get_metric_spec(ch, request):
    call = ch.unary_unary("/externalscaler.ExternalScaler/GetMetricSpec")
    return call(request, timeout=5)


def metrics_text(http_addr):
    with urllib.request.urlopen(f"http://{http_addr}/metrics", timeout=5) as r:
        return r.read().decode()


def not_after(pem_path):
    out = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", pem_path],
                         capture_output=True, text=True, timeout=10).stdout
    return out.strip().split("=", 1)[1]


def main():
    addr, http_addr = env("AUGUR_E2E_GRPC"), env("AUGUR_E2E_HTTP")
    first, volume, log_path = env("AUGUR_E2E_TLS_DIR"), env("AUGUR_E2E_TLS_SECRET_DIR"), env("AUGUR_E2E_LOG")
    request = scaled_object_ref("checkout-tls", "shop", {
        "scalerAddress": f"{SERVER_NAME}:6000", "enableTLS": "true",
        "query": env("AUGUR_E2E_QUERY"), "targetValue": "50"})

    def served(certs_dir):
        return served_fingerprint(addr, os.path.join(certs_dir, "ca.crt"),
                                  os.path.join(certs_dir, "client.crt"), os.path.join(certs_dir, "client.key"))

    check(served(first) == fingerprint_of_file(os.path.join(first, "server.crt")),
          "before the rotation augur serves the certificate it started with")
    old_channel = channel(addr, first)
    grpc.channel_ready_future(old_channel).result(timeout=10)
    check(b"augur-checkout-tls" in get_metric_spec(old_channel, request),
          "GetMetricSpec over mTLS with the first certificates")

    with tempfile.TemporaryDirectory(prefix="augur-tls-reload-") as tmp:
        second = make_certs(os.path.join(tmp, "second"))  # a new CA, new server and client certificates
        third = make_certs(os.path.join(tmp, "third"))
        rotate(volume, {"tls.crt": read(os.path.join(second, "server.crt")),
                        "tls.key": read(os.path.join(second, "server.key")),
                        "ca.crt": read(os.path.join(second, "ca.crt"))}, 2)
        # The files are re-read before every handshake: the very next connection has them.
        check(served(second) == fingerprint_of_file(os.path.join(second, "server.crt")),
              "the first connection after the Secret update gets the new certificate")
        new_channel = channel(addr, second)
        try:
            check(b"augur-checkout-tls" in get_metric_spec(new_channel, request),
                  "a client trusting only the new CA, with the new client certificate, is served")
        except grpc.RpcError as e:
            check(False, f"a client of the new CA is served (got {e.code().name}: {e.details()})")
        try:
            check(b"augur-checkout-tls" in get_metric_spec(old_channel, request),
                  "the connection opened before the update still works (not dropped)")
        except grpc.RpcError as e:
            check(False, f"the connection opened before the update still works (got {e.code().name}: {e.details()})")
        stale = channel(addr, first)
        try:
            get_metric_spec(stale, request)
            check(False, "a new connection trusting only the old CA is refused")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.UNAVAILABLE,
                  f"a new connection trusting only the old CA is refused ({e.code().name})")
        stale.close()

        # Bad updates keep the current certificate and say why.
        served_now = fingerprint_of_file(os.path.join(second, "server.crt"))
        bad_updates = [
            ("a key that is not the certificate's", {
                "tls.crt": read(os.path.join(third, "server.crt")),
                "tls.key": read(os.path.join(second, "server.key")),
                "ca.crt": read(os.path.join(third, "ca.crt"))}, "is not the key of the certificate"),
            ("a certificate file that is not PEM", {
                "tls.crt": b"not a certificate\n",
                "tls.key": read(os.path.join(third, "server.key")),
                "ca.crt": read(os.path.join(third, "ca.crt"))}, "holds no PEM certificate"),
        ]
        for generation, (what, files, reason) in enumerate(bad_updates, start=3):
            rotate(volume, files, generation)
            check(served(second) == served_now, f"after an update with {what}, the previous certificate is served")
            try:
                check(b"augur-checkout-tls" in get_metric_spec(channel(addr, second), request),
                      f"after an update with {what}, new connections are still served")
            except grpc.RpcError as e:
                check(False, f"after an update with {what}, new connections are served (got {e.code().name})")
            with open(log_path, errors="replace") as f:
                log = f.read()
            check(re.search(r"event=tls_reload_failed .*" + re.escape(reason), log) is not None,
                  f"augur logs tls_reload_failed: ...{reason}...")
        check(len(re.findall(r"event=tls_reloaded ", open(log_path, errors="replace").read())) == 1,
              "augur logged exactly one tls_reloaded")

        text = metrics_text(http_addr)
        check(re.search(r'^augur_tls_reloads_total\{result="ok"\} 1$', text, re.M) is not None,
              "augur_tls_reloads_total{result=\"ok\"} is 1")
        check(re.search(r'^augur_tls_reloads_total\{result="error"\} 2$', text, re.M) is not None,
              "augur_tls_reloads_total{result=\"error\"} is 2")
        m = re.search(r"^augur_tls_certificate_expiry_timestamp_seconds (\S+)$", text, re.M)
        expiry = time.strftime("%b %e %H:%M:%S %Y GMT", time.gmtime(float(m.group(1)))) if m else None
        want = re.sub(r"\s+", " ", not_after(os.path.join(second, "server.crt")))
        check(expiry is not None and re.sub(r"\s+", " ", expiry) == want,
              f"augur_tls_certificate_expiry_timestamp_seconds is the served certificate's notAfter ({want})")
        new_channel.close()
    old_channel.close()

    if failures:
        print(f"FAIL: {len(failures)} check(s) failed")
        return 1
    print("OK: certificate rotation under a live augur, as Kubernetes does it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
