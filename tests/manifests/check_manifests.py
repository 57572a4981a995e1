#!/usr/bin/env python3
"""Checks that the Kubernetes manifests parse and agree with the code.

Usage: check_manifests.py --augur PATH [--k8s DIR] [--kubectl PATH] [--dockerfile PATH]
                          [--readme PATH] [--metrics-source FILE...]

The truth comes from the binary, not from a copied list:
  * flags:          every `--flag` that `augur --help` prints;
  * metadata keys:  every line of `augur --print-metadata-keys`;
  * defaults:       the default ports (6000 gRPC, 8080 HTTP) as `augur --help` states them;
  * version:        `augur --version` (project(VERSION) in CMakeLists.txt).
Checks:
  * every *.yaml parses (all documents) and has apiVersion, kind, metadata.name (patch
    files that a kustomization names are checked as part of what it renders); every
    *.json parses;
  * every directory with a kustomization.yaml renders with `kubectl kustomize` (Debian's
    kubernetes-client, kustomize 2.0.3, or newer) and what it renders passes the checks
    below; `kubectl kustomize k8s/` renders exactly k8s/base/;
  * Deployments running augur: every argument is a flag `augur --help` lists (and every
    AUGUR_* env var matches one), --listen/--http-listen ports equal the `grpc`/`http`
    containerPorts and the defaults, probes hit those ports (gRPC probes on the health
    services `liveness`/`readiness`, HTTP probes on /healthz and /readyz), non-root,
    read-only root filesystem, requests and limits set; --tls-* files are mounted; the
    shutdown fits: --shutdown-drain (or its default) plus the ~4 s stop is within
    terminationGracePeriodSeconds (default 30), and a drain is at least as long as the
    readiness probe takes to turn the pod not-ready (periodSeconds x failureThreshold);
  * Services and ServiceMonitors name ports that the Deployment exposes;
  * a PodDisruptionBudget keeps an augur pod up (KEDA has no fallback for an unreachable
    scaler);
  * ScaledObjects with an external/external-push trigger: every metadata key is one augur
    knows (or its <key>FromEnv form), scalerAddress points at the Service's gRPC port,
    `fallback` is configured, and then every trigger writes `metricType: AverageValue`
    (KEDA v2.14-v2.17's webhook requires it); no Augur trigger uses `metricType: Value`
    (Augur answers a total, which Value multiplies by the replica count); no two
    ScaledObjects of a namespace scale the same workload (KEDA's webhook refuses the
    second); enableTLS comes with a TriggerAuthentication carrying
    caCert/tlsClientCert/tlsClientKey;
  * NetworkPolicies selecting augur let in only what they name: the grpc port from KEDA's
    namespace, the http port from Prometheus, and name only augur's ports;
  * every image tag `augur:X` (and `augur_X_` package name, `augur X` version line) in
    k8s/, the Dockerfile and README.md is augur's version;
  * the Dockerfile EXPOSEs the container ports;
  * README.md (with --readme) documents every flag and every metadata key, and no flag
    augur does not have;
  * the Grafana dashboard only queries augur_* metrics the scaler's source defines
    (when --metrics-source is given).
Exit code 0 when everything agrees; 1 with one line per problem otherwise.
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys

try:
    import yaml
except ImportError:
    sys.exit("python3-yaml is missing: run scripts/setup-deps.sh")

DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT = 6000, 8080
KEDA_TLS_PARAMS = {"caCert", "tlsClientCert", "tlsClientKey"}


class Checker:
    def __init__(self):
        self.problems = []

    def fail(self, where, msg):
        self.problems.append(f"{where}: {msg}")


def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def augur_truth(augur, c):
    rc, help_text = run([augur, "--help"])
    if rc != 0:
        c.fail("augur --help", f"exit code {rc}: {help_text[:300]}")
    flags = set(re.findall(r"(?<![\w-])--([a-z0-9][a-z0-9-]*)", help_text))
    rc, keys_text = run([augur, "--print-metadata-keys"])
    if rc != 0:
        c.fail("augur --print-metadata-keys", f"exit code {rc}: {keys_text[:300]}")
    # Augur's keys, then KEDA's, each list under a '#' heading.
    keys, keda_keys, section = set(), set(), None
    for line in keys_text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            section = "keda" if "KEDA" in line else "augur"
        elif line:
            (keda_keys if section == "keda" else keys).add(line)
    if not keda_keys:
        c.fail("augur --print-metadata-keys", "lists no KEDA keys under a '# KEDA...' heading")
    if not flags:
        c.fail("augur --help", "lists no flags")
    if not keys:
        c.fail("augur --print-metadata-keys", "prints no keys")
    rc, version_text = run([augur, "--version"])
    m = re.match(r"augur (\S+) \(revision \S+\)\n?$", version_text)
    if rc != 0 or not m:
        c.fail("augur --version", f"exit code {rc}, not 'augur X (revision Y)': {version_text[:300]!r}")
    return flags, keys, keda_keys, help_text, (m.group(1) if m else None)


# augur's version where people read it: an image reference (augur:0.2.0 in image:,
# docker build -t, docker run), the package (augur_0.2.0_amd64.deb), --version's output
# (augur 0.2.0 (revision ...)).
VERSION_MENTION = re.compile(r"(?<![\w.-])augur([:_ ])([0-9]+\.[0-9]+\.[0-9]+(?:-[\w.]+)?)")


def check_image_tags(path, where, version, c):
    """Every mention of a version of augur in the file must be its version (they are
    written by hand)."""
    with open(path) as f:
        for n, line in enumerate(f, 1):
            for sep, tag in VERSION_MENTION.findall(line):
                if tag != version:
                    c.fail(f"{where}:{n}", f"augur{sep}{tag}: {tag} is not augur's version {version} "
                                           f"(`augur --version`; bump it with project(VERSION))")


def port_of(addr):
    m = re.search(r":(\d+)$", addr or "")
    return int(m.group(1)) if m else None


def kustomizations(k8s_dir):
    """{directory: parsed kustomization.yaml} under k8s_dir (unparsable ones left out)."""
    out = {}
    for path in sorted(glob.glob(os.path.join(k8s_dir, "**", "kustomization.yaml"), recursive=True)):
        try:
            with open(path) as f:
                out[os.path.dirname(path)] = yaml.safe_load(f) or {}
        except yaml.YAMLError:
            pass
    return out


def patch_files(k8s_dir, c):
    """The files kustomizations use as patches (not resources of their own)."""
    patches = set()
    for directory, k in kustomizations(k8s_dir).items():
        names = list(k.get("patchesStrategicMerge") or [])
        names += [p.get("path") for p in k.get("patchesJson6902") or [] if p.get("path")]
        for name in names:
            path = os.path.normpath(os.path.join(directory, name))
            if not os.path.exists(path):
                c.fail(os.path.relpath(os.path.join(directory, "kustomization.yaml"), k8s_dir),
                       f"names patch {name}, which does not exist")
            patches.add(path)
    return patches


def load_documents(k8s_dir, c):
    docs = []  # (file, doc)
    files = sorted(glob.glob(os.path.join(k8s_dir, "**", "*.yaml"), recursive=True) +
                   glob.glob(os.path.join(k8s_dir, "**", "*.yml"), recursive=True))
    if not files:
        c.fail(k8s_dir, "no manifests found")
    patches = patch_files(k8s_dir, c)
    for path in files:
        if os.path.normpath(path) in patches:
            continue
        rel = os.path.relpath(path, k8s_dir)
        try:
            with open(path) as f:
                loaded = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            c.fail(rel, f"does not parse as YAML: {e}")
            continue
        for d in loaded:
            if not isinstance(d, dict):
                c.fail(rel, "a document is not a mapping")
                continue
            if ("groups" in d or "rule_files" in d) and "kind" not in d:
                continue  # a plain Prometheus rule file or its promtool tests (k8s/alerts/):
                          # alert_rules.py and promtool check them
            if d.get("kind") == "Kustomization":
                for field in ("resources", "bases"):
                    for res in d.get(field) or []:
                        if not os.path.exists(os.path.join(os.path.dirname(path), res)):
                            c.fail(rel, f"lists {field[:-1]} {res}, which does not exist")
                continue
            for field in ("apiVersion", "kind"):
                if not d.get(field):
                    c.fail(rel, f"a document has no {field}")
            if not (d.get("metadata") or {}).get("name"):
                c.fail(rel, f"a {d.get('kind')} has no metadata.name")
            docs.append((rel, d))
    for path in sorted(glob.glob(os.path.join(k8s_dir, "**", "*.json"), recursive=True)):
        try:
            with open(path) as f:
                json.load(f)
        except ValueError as e:
            c.fail(os.path.relpath(path, k8s_dir), f"does not parse as JSON: {e}")
    return docs


def split_arg(arg):
    m = re.match(r"^--([a-z0-9][a-z0-9-]*)(?:=(.*))?$", arg)
    return (m.group(1), m.group(2)) if m else (None, None)


STOP_SECONDS = 4  # after the drain: the gRPC stop's 2 s grace, the 1.5 s refresh wait


def seconds_of(text):
    """A duration as augur writes it ("10s", "1m30s", "500ms", a bare number = seconds);
    None if it is not one."""
    if re.fullmatch(r"\d+(\.\d+)?", text or ""):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text or "")
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * unit[u] for n, u in parts)


def check_shutdown(where, spec, ct, values, help_text, c):
    m = re.search(r"--shutdown-drain\b[^\n]*\(=([^)]*)\)", help_text)
    text = values.get("shutdown-drain") or (m.group(1) if m else None)
    if text is None:
        return
    drain = seconds_of(text)
    if drain is None:
        c.fail(where, f"--shutdown-drain={text} is not a duration")
        return
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if drain + STOP_SECONDS > grace:
        c.fail(where, f"--shutdown-drain {text} + {STOP_SECONDS} s of stop exceeds "
                      f"terminationGracePeriodSeconds {grace}: Kubernetes would kill augur mid-shutdown")
    probe = ct.get("readinessProbe") or {}
    to_not_ready = probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3)
    if drain > 0 and drain < to_not_ready:
        c.fail(where, f"--shutdown-drain {text} is shorter than the readinessProbe takes to see the pod "
                      f"not ready ({to_not_ready} s = periodSeconds x failureThreshold)")


def check_deployment(rel, d, flags, help_text, c):
    """Returns {port name: containerPort} of the augur container, or None if not augur."""
    spec = ((d.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = spec.get("containers") or []
    augur = [x for x in containers if x.get("name") == "augur"]
    if not augur:
        return None
    ct = augur[0]
    where = f"{rel} Deployment/{d['metadata']['name']}"
    ports = {p.get("name"): p.get("containerPort") for p in ct.get("ports") or []}
    for name, default in (("grpc", DEFAULT_GRPC_PORT), ("http", DEFAULT_HTTP_PORT)):
        if name not in ports:
            c.fail(where, f"no containerPort named {name}")
        elif ports[name] != default:
            c.fail(where, f"containerPort {name} is {ports[name]}, but augur's default is {default}")

    args = list(ct.get("args") or []) + list(ct.get("command") or [])[1:]
    values = {}
    i = 0
    while i < len(args):
        arg = str(args[i])
        name, value = split_arg(arg)
        if name is None:
            if arg.startswith("-"):
                c.fail(where, f"argument {arg!r} is not a --flag")
            i += 1
            continue
        if name not in flags:
            c.fail(where, f"flag --{name} is not one `augur --help` lists")
        if value is None and i + 1 < len(args) and not str(args[i + 1]).startswith("--"):
            value = str(args[i + 1])
            i += 1
        values[name] = value
        i += 1
    for env in ct.get("env") or []:
        n = env.get("name", "")
        if n.startswith("AUGUR_"):
            flag = n[len("AUGUR_"):].lower().replace("_", "-")
            if flag not in flags:
                c.fail(where, f"env {n} matches no flag (--{flag} is not in `augur --help`)")
            values.setdefault(flag, env.get("value"))

    for flag, name, default in (("listen", "grpc", DEFAULT_GRPC_PORT), ("http-listen", "http", DEFAULT_HTTP_PORT)):
        if flag in flags and not re.search(rf"--{flag}\b[^\n]*{default}", help_text):
            c.fail("augur --help", f"--{flag} does not show the default port {default} the manifests assume")
        port = port_of(values.get(flag)) if values.get(flag) else default
        if port != ports.get(name):
            c.fail(where, f"--{flag} port {port} differs from containerPort {name}={ports.get(name)}")

    for probe_name, service, path in (("livenessProbe", "liveness", "/healthz"),
                                      ("readinessProbe", "readiness", "/readyz")):
        probe = ct.get(probe_name)
        if not probe:
            c.fail(where, f"no {probe_name}")
            continue
        if "grpc" in probe:
            if values.get("tls-cert"):
                c.fail(where, f"{probe_name} is a gRPC probe, but kubelet's gRPC probes cannot use TLS")
            if probe["grpc"].get("port") != ports.get("grpc"):
                c.fail(where, f"{probe_name} gRPC port {probe['grpc'].get('port')} is not the grpc containerPort {ports.get('grpc')}")
            if probe["grpc"].get("service") != service:
                c.fail(where, f"{probe_name} asks health service {probe['grpc'].get('service')!r}, want {service!r}")
        elif "httpGet" in probe:
            hp = probe["httpGet"].get("port")
            if hp not in (ports.get("http"), "http"):
                c.fail(where, f"{probe_name} HTTP port {hp} is not the http containerPort {ports.get('http')}")
            if probe["httpGet"].get("path") != path:
                c.fail(where, f"{probe_name} path {probe['httpGet'].get('path')}, want {path}")
        else:
            c.fail(where, f"{probe_name} is neither a grpc nor an httpGet probe")

    check_shutdown(where, spec, ct, values, help_text, c)

    psc, csc = spec.get("securityContext") or {}, ct.get("securityContext") or {}
    if not (psc.get("runAsNonRoot") or csc.get("runAsNonRoot")):
        c.fail(where, "runAsNonRoot is not set")
    if not csc.get("readOnlyRootFilesystem"):
        c.fail(where, "readOnlyRootFilesystem is not set")
    if csc.get("allowPrivilegeEscalation") is not False:
        c.fail(where, "allowPrivilegeEscalation is not false")
    res = ct.get("resources") or {}
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if not (res.get(kind) or {}).get(r):
                c.fail(where, f"resources.{kind}.{r} is not set")
    if (d.get("spec") or {}).get("replicas", 1) < 2:
        c.fail(where, "fewer than 2 replicas")

    mounts = [m.get("mountPath", "") for m in ct.get("volumeMounts") or []]
    for flag in ("tls-cert", "tls-key", "tls-client-ca", "prometheus-ca-file", "prometheus-cert-file",
                 "prometheus-key-file", "prometheus-bearer-token-file", "prometheus-basic-auth-password-file"):
        path = values.get(flag)
        if path and not any(path.startswith(m.rstrip("/") + "/") for m in mounts):
            c.fail(where, f"--{flag}={path} is not under any mounted volume")
    return ports


def render_kustomizations(k8s_dir, kubectl, c):
    """{directory relative to k8s_dir: [rendered documents]} of every kustomization."""
    rendered = {}
    dirs = sorted(kustomizations(k8s_dir))
    if dirs and not kubectl:
        c.fail(k8s_dir, "kubectl not found: it renders the kustomizations (run scripts/setup-deps.sh, "
               "which installs Debian's kubernetes-client)")
        return rendered
    for directory in dirs:
        rel = os.path.relpath(directory, k8s_dir)
        r = subprocess.run([kubectl, "kustomize", directory], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            c.fail(f"kubectl kustomize {rel}", f"exit code {r.returncode}: {r.stderr.strip()[:500]}")
            continue
        try:
            rendered[rel] = [d for d in yaml.safe_load_all(r.stdout) if d is not None]
        except yaml.YAMLError as e:
            c.fail(f"kubectl kustomize {rel}", f"renders YAML that does not parse: {e}")
    return rendered


def selects(selector, labels):
    match = (selector or {}).get("matchLabels") or {}
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def check_disruption_budget(docs, pod_labels, c):
    if not any(d.get("kind") == "PodDisruptionBudget" and selects((d.get("spec") or {}).get("selector"), labels)
               and ((d.get("spec") or {}).get("minAvailable", 0) or 0) >= 1
               for _, d in docs for labels in pod_labels):
        c.fail("k8s", "no PodDisruptionBudget with minAvailable >= 1 selects the augur pods "
               "(KEDA has no fallback while Augur is unreachable)")


def check_network_policy(rel, d, pod_labels, ports, c):
    spec = d.get("spec") or {}
    if not any(selects(spec.get("podSelector"), labels) for labels in pod_labels):
        return
    where = f"{rel} NetworkPolicy/{d['metadata']['name']}"
    by_number = {v: k for k, v in ports.items()}
    opened = {}
    for rule in spec.get("ingress") or []:
        peers = rule.get("from") or []
        if not peers:
            c.fail(where, "an ingress rule without `from` admits every client")
        for p in rule.get("ports") or []:
            port = p.get("port")
            name = port if port in ports else by_number.get(port)
            if name is None:
                c.fail(where, f"port {port!r} is not a port of the augur container ({ports})")
                continue
            opened.setdefault(name, []).extend(peers)
        if not rule.get("ports"):
            c.fail(where, "an ingress rule without `ports` opens every port")
    for name, want in (("grpc", "KEDA's namespace"), ("http", "Prometheus")):
        if name not in opened:
            c.fail(where, f"does not let {want} reach the {name} port {ports.get(name)}")
    for peer in opened.get("grpc", []):
        ns = ((peer.get("namespaceSelector") or {}).get("matchLabels") or {}).get("kubernetes.io/metadata.name")
        if ns is None or "keda" not in ns:
            c.fail(where, f"the grpc port admits {peer}, not KEDA's namespace")
    for peer in opened.get("http", []):
        pods = ((peer.get("podSelector") or {}).get("matchLabels") or {})
        if "prometheus" not in " ".join(str(v) for v in pods.values()):
            c.fail(where, f"the http port admits {peer}, not Prometheus' pods")


def check(args):
    c = Checker()
    flags, augur_keys, keda_keys, help_text, version = augur_truth(args.augur, c)
    keys = augur_keys | keda_keys
    docs = load_documents(args.k8s, c)
    rendered = render_kustomizations(args.k8s, args.kubectl, c)
    if "." in rendered and "base" in rendered and rendered["."] != rendered["base"]:
        c.fail("kubectl kustomize k8s", "renders something else than k8s/base (keep the two lists equal)")
    if version:
        tagged = sorted(glob.glob(os.path.join(args.k8s, "**", "*.y*ml"), recursive=True))
        tagged = [(p, os.path.relpath(p, args.k8s)) for p in tagged]
        tagged += [(p, os.path.basename(p)) for p in (args.dockerfile, args.readme) if p]
        for path, where in tagged:
            check_image_tags(path, where, version, c)

    deployments = {}
    pod_labels = []
    sources = [(rel, d) for rel, d in docs] + [(f"kubectl kustomize {k}", d)
                                               for k, ds in rendered.items() for d in ds]
    for rel, d in sources:
        if d.get("kind") == "Deployment":
            ports = check_deployment(rel, d, flags, help_text, c)
            if ports is not None:
                deployments[(d["metadata"].get("namespace"), d["metadata"]["name"])] = ports
                pod_labels.append((((d.get("spec") or {}).get("template") or {}).get("metadata") or {})
                                  .get("labels") or {})
    if not deployments:
        c.fail(args.k8s, "no Deployment runs a container named augur")
    all_ports = {}
    for ports in deployments.values():
        all_ports.update(ports)
    if deployments:
        check_disruption_budget(docs, pod_labels, c)
    for rel, d in docs:
        if d.get("kind") == "NetworkPolicy":
            check_network_policy(rel, d, pod_labels, all_ports, c)

    services = {}
    for rel, d in docs:
        if d.get("kind") == "Service":
            ns, name = d["metadata"].get("namespace"), d["metadata"]["name"]
            for p in (d.get("spec") or {}).get("ports") or []:
                tp = p.get("targetPort", p.get("port"))
                if tp not in all_ports and tp not in all_ports.values():
                    c.fail(f"{rel} Service/{name}", f"targetPort {tp} is not a port of the augur container")
                services[(ns, name, p.get("name"))] = p.get("port")
    for rel, d in docs:
        if d.get("kind") == "ServiceMonitor":
            for ep in (d.get("spec") or {}).get("endpoints") or []:
                if not any(k[2] == ep.get("port") for k in services):
                    c.fail(f"{rel} ServiceMonitor", f"endpoint port {ep.get('port')!r} is no Service port name")
                if ep.get("honorLabels") is not True:
                    c.fail(f"{rel} ServiceMonitor", "honorLabels is not true: the per-object `namespace` "
                           "label would become exported_namespace")

    trigger_auths = {}
    for rel, d in docs:
        if d.get("kind") in ("TriggerAuthentication", "ClusterTriggerAuthentication"):
            params = {r.get("parameter") for r in (d.get("spec") or {}).get("secretTargetRef") or []}
            trigger_auths[(d["metadata"].get("namespace"), d["metadata"]["name"])] = params

    scaled = 0
    targets = {}  # (namespace, kind, workload) -> ScaledObject
    for rel, d in docs:
        if d.get("kind") not in ("ScaledObject", "ScaledJob"):
            continue
        name, ns = d["metadata"]["name"], d["metadata"].get("namespace")
        where = f"{rel} {d['kind']}/{name}"
        spec = d.get("spec") or {}
        if d["kind"] == "ScaledObject":
            ref = spec.get("scaleTargetRef") or {}
            target = (ns, ref.get("kind", "Deployment"), ref.get("name"))
            other = targets.setdefault(target, (rel, name))
            if other[1] != name:
                c.fail(where, f"scales {target[1]} {target[2]}, as ScaledObject/{other[1]} ({other[0]}) "
                       "does: KEDA's admission webhook refuses the second")
        for t in spec.get("triggers") or []:
            if t.get("type") not in ("external", "external-push"):
                continue
            scaled += 1
            metric_type = t.get("metricType")
            if metric_type == "Value":
                c.fail(where, "metricType: Value: Augur answers the total load, which the HPA would "
                       "multiply by the replica count (use AverageValue)")
            if d["kind"] == "ScaledObject" and spec.get("fallback") and metric_type != "AverageValue":
                c.fail(where, "fallback without `metricType: AverageValue` written on the trigger "
                       "(KEDA v2.14-v2.17's webhook refuses it)")
            md = t.get("metadata") or {}
            for k, v in md.items():
                base = k[:-len("FromEnv")] if k.endswith("FromEnv") and len(k) > len("FromEnv") else k
                if k not in keys and base not in keys:
                    c.fail(where, f"metadata key {k!r} is not one `augur --print-metadata-keys` knows")
                if not isinstance(v, str):
                    c.fail(where, f"metadata value of {k!r} is not a string (KEDA needs strings; quote it)")
            addr = md.get("scalerAddress", "")
            m = re.match(r"^([a-z0-9.-]+):(\d+)$", addr)
            if not m:
                c.fail(where, f"scalerAddress {addr!r} is not host:port")
            else:
                host, port = m.group(1), int(m.group(2))
                parts = host.split(".")
                svc_port = services.get((parts[1] if len(parts) > 1 else ns, parts[0], "grpc"))
                if svc_port is None:
                    c.fail(where, f"scalerAddress {addr!r} names no Service with a grpc port in the manifests")
                elif svc_port != port:
                    c.fail(where, f"scalerAddress port {port} is not the Service's grpc port {svc_port}")
            for k in ("query", "targetValue"):
                if k not in md and k + "FromEnv" not in md:
                    c.fail(where, f"required metadata key {k!r} is missing")
            if d["kind"] == "ScaledObject":
                fb = spec.get("fallback") or {}
                if not (fb.get("failureThreshold") and "replicas" in fb):
                    c.fail(where, "no fallback with failureThreshold and replicas")
            if str(md.get("enableTLS", "false")).lower() == "true":
                ref = (t.get("authenticationRef") or {}).get("name")
                params = trigger_auths.get((ns, ref))
                if params is None:
                    c.fail(where, f"enableTLS without a TriggerAuthentication (authenticationRef {ref!r})")
                elif not KEDA_TLS_PARAMS <= params:
                    c.fail(where, f"TriggerAuthentication {ref} lacks {sorted(KEDA_TLS_PARAMS - params)}")
    if scaled == 0:
        c.fail(args.k8s, "no ScaledObject with an external or external-push trigger")

    if args.dockerfile:
        with open(args.dockerfile) as f:
            exposed = {int(p.split("/")[0]) for line in f if line.strip().upper().startswith("EXPOSE")
                       for p in line.split()[1:]}
        for name, port in sorted(all_ports.items()):
            if port not in exposed:
                c.fail("Dockerfile", f"does not EXPOSE the {name} port {port}")

    if args.readme:
        with open(args.readme) as f:
            readme = f.read()
        for flag in sorted(flags):
            if f"`--{flag}`" not in readme:
                c.fail("README.md", f"does not document the flag --{flag} (`augur --help` lists it)")
        for key in sorted(keys):
            if f"`{key}`" not in readme:
                c.fail("README.md", f"does not document the metadata key {key}")
        for flag in sorted(set(re.findall(r"`--([a-z0-9-]+)", readme)) - flags):
            if flag.startswith(("prometheus-", "tls-", "listen", "http-", "allow-", "log-", "max-", "first-", "idle-")):
                c.fail("README.md", f"documents --{flag}, which `augur --help` does not list")

    if args.metrics_source:
        defined = set()
        for path in args.metrics_source:
            with open(path) as f:
                defined |= set(re.findall(r'"(augur_[a-z0-9_]+)"', f.read()))
        for path in sorted(glob.glob(os.path.join(args.k8s, "**", "*.json"), recursive=True)):
            with open(path) as f:
                text = f.read()
            used = set(re.findall(r"\b(augur_[a-z0-9_]+?)(?:_bucket|_sum|_count)?\b", text))
            for metric in sorted(used):
                base = re.sub(r"_(bucket|sum|count)$", "", metric)
                if metric not in defined and base not in defined:
                    c.fail(os.path.relpath(path, args.k8s), f"queries {metric}, which the scaler does not export")
    return c.problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--augur", required=True)
    ap.add_argument("--k8s", default=os.path.join(os.path.dirname(__file__), "..", "..", "k8s"))
    ap.add_argument("--dockerfile")
    ap.add_argument("--metrics-source", nargs="*", default=[])
    ap.add_argument("--readme", help="README.md: must document every flag and metadata key")
    ap.add_argument("--kubectl", default=shutil.which("kubectl"),
                    help="kubectl for `kubectl kustomize` (default: the one on PATH)")
    args = ap.parse_args()
    problems = check(args)
    if problems:
        print(f"{len(problems)} problem(s) in the manifests:")
        for p in problems:
            print(f"  {p}")
        return 1
    print(f"manifests in {os.path.normpath(args.k8s)} agree with {args.augur}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
