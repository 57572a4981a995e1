#!/usr/bin/env python3
"""End-to-end harness: a real Prometheus and the real `augur`, both on loopback.

Usage:
  harness.py --augur PATH [--prometheus PATH] [--promtool PATH] [--days N]
             [--tls [--tls-secret-volume]] [--augur-arg ARG]... -- CMD [ARGS...]

What it does, in order (every wait is bounded; everything it starts is ended on exit,
whatever happens):
  1. serves a synthetic daily-cycle gauge `augur_e2e_load` and a gauge the test sets,
     `augur_e2e_switch` (0 until a POST to /switch?value=V), on 127.0.0.1:<free port>
     (a tiny HTTP /metrics endpoint in this process), and later augur's own /metrics;
  2. writes N days of the same series' history as OpenMetrics and backfills it with
     `promtool tsdb create-blocks-from openmetrics` into a temporary data dir;
  3. starts Prometheus on 127.0.0.1:<free port>, scraping the gauge every second, and
     waits until /-/ready answers;
  4. starts `augur --listen 127.0.0.1:0 --http-listen 127.0.0.1:0` and reads the ports it
     bound from its `event=listening` log line;
  5. runs CMD with these environment variables, and exits with CMD's exit code:
       AUGUR_E2E_GRPC        host:port of augur's gRPC server
       AUGUR_E2E_HTTP        host:port of augur's HTTP server
       AUGUR_E2E_PROM_URL    http://127.0.0.1:<port> of the Prometheus
       AUGUR_E2E_QUERY       a PromQL query returning the one synthetic series
       AUGUR_E2E_MIN / _MAX  the range of values the series takes (noise included)
       AUGUR_E2E_NOISE       the noise's bound (values are within +- this of the sine)
       AUGUR_E2E_PROTO       path of externalscaler.proto (repo root)
       AUGUR_E2E_LOG         augur's log file (for diagnostics)
       AUGUR_E2E_POD         the `pod` label Prometheus adds to augur's series (scrape job "augur")
       AUGUR_E2E_TLS_DIR     with --tls: ca.crt, server.*, client.* from k8s/tls/make-certs.sh
       AUGUR_E2E_TLS_SECRET_DIR  with --tls-secret-volume: the directory augur's --tls-*
                             files are in, laid out as kubelet mounts a Secret (tls.crt,
                             tls.key, ca.crt -> ..data/..., ..data -> ..<timestamp>/), so
                             that the test can rotate them as Kubernetes does
       AUGUR_E2E_SWITCH_URL  POST here with ?value=V to set augur_e2e_switch
       AUGUR_E2E_SWITCH_QUERY  a PromQL query returning that one series
On failure, the tail of augur's and Prometheus' logs is printed.
"""

import argparse
import ctypes
import http.server
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
METRIC = "augur_e2e_load"
SWITCH = "augur_e2e_switch"
JOB = "augur-e2e"
AUGUR_POD = "augur-e2e-0"  # the `pod` target label of augur's scrape (as in a cluster)
DAY = 86400.0
BASE, AMPLITUDE, NOISE = 100.0, 60.0, 3.0
STEP_SECONDS = 60


def load_at(t):
    """The synthetic load at unix time t: a daily sine plus bounded, seeded noise."""
    rng = random.Random(int(t) // STEP_SECONDS)
    return BASE + AMPLITUDE * math.sin(2 * math.pi * (t % DAY) / DAY) + rng.uniform(-NOISE, NOISE)


def log(msg):
    print(f"harness: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    """preexec_fn: the child gets SIGKILL if this harness dies (e.g. killed by ctest)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Processes:
    """Every child process this harness started; ended on exit, TERM then KILL."""

    def __init__(self):
        self.children = []

    def start(self, argv, log_path):
        out = open(log_path, "ab")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             preexec_fn=die_with_parent)
        out.close()
        self.children.append(p)
        return p

    def stop_all(self):
        for p in reversed(self.children):
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 10
        for p in reversed(self.children):
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def tail(path, lines=30):
    try:
        with open(path, "r", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


def serve_workload():
    """Serves the current synthetic load and the switch on 127.0.0.1:<free port>/metrics."""
    switch = {"value": 0.0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            try:
                path, _, query = self.path.partition("?")
                params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
                if path != "/switch" or "value" not in params:
                    raise ValueError("expected POST /switch?value=V")
                switch["value"] = float(params["value"])
                self.send_response(204)
            except ValueError:
                self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            body = (f"# HELP {METRIC} Synthetic load for Augur's end-to-end tests.\n"
                    f"# TYPE {METRIC} gauge\n{METRIC} {load_at(time.time()):.3f}\n"
                    f"# HELP {SWITCH} A level the test sets (POST /switch?value=V).\n"
                    f"# TYPE {SWITCH} gauge\n{SWITCH} {switch['value']:.3f}\n").encode()
            self.send_response(200 if self.path.startswith("/metrics") else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def write_backfill(path, instance, days, end):
    start = end - days * DAY
    t = math.ceil(start / STEP_SECONDS) * STEP_SECONDS
    with open(path, "w") as f:
        f.write(f"# HELP {METRIC} Synthetic load for Augur's end-to-end tests.\n")
        f.write(f"# TYPE {METRIC} gauge\n")
        while t <= end:
            f.write(f'{METRIC}{{instance="{instance}",job="{JOB}"}} {load_at(t):.3f} {int(t)}\n')
            t += STEP_SECONDS
        f.write("# EOF\n")


def wait_http_ok(url, timeout_s, proc=None):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)  # bounded readiness polling of a real server
    return False


def mount_like_kubelet(volume, files):
    """Lays out `files` ({name: source path}) in `volume` as kubelet mounts a Secret:
    the data in a timestamped directory, `..data` pointing at it, and each name a symlink
    through `..data` (an update swaps `..data` atomically)."""
    os.makedirs(volume)
    stamp = "..2026_01_01_00_00_00.000000001"
    os.makedirs(os.path.join(volume, stamp))
    for name, src in files.items():
        shutil.copyfile(src, os.path.join(volume, stamp, name))
        os.symlink(os.path.join("..data", name), os.path.join(volume, name))
    os.symlink(stamp, os.path.join(volume, "..data"))


def parse_listening(line):
    """Returns (grpc, http) addresses from augur's `event=listening ... grpc=H:P http=H:P`."""
    fields = {}
    for token in line.replace('"', " ").split():
        if "=" in token:
            k, v = token.split("=", 1)
            fields[k.strip(",{}")] = v.strip(",{}")
    return fields.get("grpc"), fields.get("http")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--augur", required=True)
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "prometheus")
    ap.add_argument("--promtool", default=shutil.which("promtool") or "promtool")
    ap.add_argument("--augur-arg", action="append", default=[],
                    help="one more argument for augur (repeatable), e.g. --augur-arg=--web-ui=false")
    ap.add_argument("--days", type=float, default=3)
    ap.add_argument("--timeout", type=float, default=240, help="seconds CMD may run")
    ap.add_argument("--tls", action="store_true",
                    help="serve mTLS with certificates from k8s/tls/make-certs.sh (AUGUR_E2E_TLS_DIR)")
    ap.add_argument("--tls-secret-volume", action="store_true",
                    help="with --tls: augur reads its files from a kubelet-style Secret volume "
                         "(AUGUR_E2E_TLS_SECRET_DIR) that the test may rotate")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("no command to run after --")
    for tool in (args.augur, args.prometheus, args.promtool):
        if not (os.path.isfile(tool) and os.access(tool, os.X_OK)) and not shutil.which(tool):
            log(f"{tool} not found: build augur and run scripts/setup-deps.sh (prometheus, promtool)")
            return 2

    procs = Processes()
    tmp = tempfile.mkdtemp(prefix="augur-e2e-")
    prom_log, augur_log = os.path.join(tmp, "prometheus.log"), os.path.join(tmp, "augur.log")

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    ok = False
    try:
        workload = serve_workload()
        instance = f"127.0.0.1:{workload.server_address[1]}"

        # History first, while Prometheus is down: promtool writes blocks into its data dir.
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        om = os.path.join(tmp, "history.om")
        write_backfill(om, instance, args.days, time.time() - STEP_SECONDS)
        r = subprocess.run([args.promtool, "tsdb", "create-blocks-from", "openmetrics", om, data],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            log(f"promtool backfill failed:\n{r.stdout}\n{r.stderr}")
            return 1

        # Augur's own /metrics is scraped too, through a file_sd target file written once
        # augur has bound its port (honor_labels keeps its per-object `namespace` label).
        augur_targets = os.path.join(tmp, "augur-targets.json")
        with open(augur_targets, "w") as f:
            f.write("[]")
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    f"scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n"
                    f"      - targets: ['{instance}']\n"
                    "  - job_name: augur\n    honor_labels: true\n    file_sd_configs:\n"
                    f"      - files: ['{augur_targets}']\n        refresh_interval: 1s\n")
        prom_url, prom = None, None
        for _attempt in range(3):  # the free port can be taken between probe and bind
            port = free_port()
            prom = procs.start([args.prometheus, f"--config.file={config}",
                                f"--storage.tsdb.path={data}",
                                f"--web.listen-address=127.0.0.1:{port}",
                                "--storage.tsdb.retention.time=30d", "--log.level=warn"], prom_log)
            if wait_http_ok(f"http://127.0.0.1:{port}/-/ready", 60, prom):
                prom_url = f"http://127.0.0.1:{port}"
                break
        if prom_url is None:
            log("Prometheus did not become ready:\n" + tail(prom_log))
            return 1

        # No drain at the end (--shutdown-drain 0s): the harness stops augur at once.
        augur_argv = [args.augur, "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
                      "--shutdown-drain", "0s", "--prometheus-url", prom_url,
                      "--log-format", "text"] + args.augur_arg
        tls_dir = secret_dir = ""
        if args.tls:
            # The same certificates the k8s/tls example makes (server name
            # augur.augur.svc.cluster.local, client CN keda-operator).
            tls_dir = os.path.join(tmp, "tls")
            r = subprocess.run(["bash", os.path.join(REPO, "k8s", "tls", "make-certs.sh"), tls_dir, "2"],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                log(f"k8s/tls/make-certs.sh failed:\n{r.stdout}\n{r.stderr}")
                return 1
            files = {"tls.crt": os.path.join(tls_dir, "server.crt"),
                     "tls.key": os.path.join(tls_dir, "server.key"),
                     "ca.crt": os.path.join(tls_dir, "ca.crt")}
            if args.tls_secret_volume:
                secret_dir = os.path.join(tmp, "secret-volume")
                mount_like_kubelet(secret_dir, files)
                files = {name: os.path.join(secret_dir, name) for name in files}
            augur_argv += ["--tls-cert", files["tls.crt"], "--tls-key", files["tls.key"],
                           "--tls-client-ca", files["ca.crt"]]
        augur = procs.start(augur_argv, augur_log)
        grpc_addr = http_addr = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and grpc_addr is None:
            if augur.poll() is not None:
                break
            with open(augur_log, "r", errors="replace") as f:
                for line in f:
                    if "event=listening" in line:
                        grpc_addr, http_addr = parse_listening(line)
                        break
            time.sleep(0.1)  # bounded polling of the server's startup log
        if not grpc_addr or not http_addr:
            log("augur did not log `event=listening grpc=... http=...`:\n" + tail(augur_log))
            return 1
        with open(augur_targets + ".tmp", "w") as f:
            # The labels the Prometheus Operator's ServiceMonitor would add to the target.
            f.write(f'[{{"targets": ["{http_addr}"], '
                    f'"labels": {{"namespace": "augur", "pod": "{AUGUR_POD}"}}}}]')
        os.replace(augur_targets + ".tmp", augur_targets)
        log(f"prometheus {prom_url}, augur grpc={grpc_addr} http={http_addr}, data in {tmp}")

        env = dict(os.environ)
        env.update({
            "AUGUR_E2E_GRPC": grpc_addr,
            "AUGUR_E2E_HTTP": http_addr,
            "AUGUR_E2E_PROM_URL": prom_url,
            "AUGUR_E2E_QUERY": f'{METRIC}{{job="{JOB}"}}',
            "AUGUR_E2E_MIN": str(BASE - AMPLITUDE - NOISE),
            "AUGUR_E2E_MAX": str(BASE + AMPLITUDE + NOISE),
            "AUGUR_E2E_NOISE": str(NOISE),
            "AUGUR_E2E_PROTO": os.path.join(REPO, "externalscaler.proto"),
            "AUGUR_E2E_LOG": augur_log,
            "AUGUR_E2E_POD": AUGUR_POD,
            "AUGUR_E2E_TLS_DIR": tls_dir,
            "AUGUR_E2E_TLS_SECRET_DIR": secret_dir,
            "AUGUR_E2E_SWITCH_URL": f"http://{instance}/switch",
            "AUGUR_E2E_SWITCH_QUERY": f'{SWITCH}{{job="{JOB}"}}',
        })
        try:
            rc = subprocess.run(cmd, env=env, timeout=args.timeout, preexec_fn=die_with_parent).returncode
        except subprocess.TimeoutExpired:
            log(f"{cmd[0]} did not finish within {args.timeout:.0f}s")
            rc = 1
        if augur.poll() is not None:
            log(f"augur exited during the test (code {augur.returncode})")
            rc = rc or 1
        ok = rc == 0
        workload.shutdown()
        return rc
    finally:
        procs.stop_all()
        if not ok:
            log("augur log tail:\n" + tail(augur_log))
            log("prometheus log tail:\n" + tail(prom_log, 10))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
