#!/usr/bin/env python3
"""Builds the Debian package with CPack into a scratch folder and checks it.

Usage: check_package.py --cpack CPACK --config CPackConfig.cmake --source DIR --version X.Y.Z
                        --dockerfile Dockerfile

Checks (dpkg-deb -f / -c, then dpkg-deb -x into a scratch root):
  * Package augur, Version = the project version, Architecture = dpkg --print-architecture;
  * Depends was computed (dpkg-shlibdeps): it names libc6 and libstdc++6 and every runtime
    library package the Dockerfile's runtime stage installs (two independent answers to
    "what do the binaries load"), and no -dev package;
  * the file list: usr/bin/augur, augur-forecast, augur-loadtest; every file of k8s/ under
    usr/share/augur/k8s (make-certs.sh executable); README.md and every docs/*.md under
    usr/share/doc/augur; nothing else outside those folders;
  * the unpacked augur prints `augur <version> (revision ...)` for --version.
Prints the time each step took. Exit 0 when all hold, 1 with one line per problem.
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, **kw)


def dockerfile_runtime_packages(path):
    """The packages `apt-get install` names in the Dockerfile's last stage."""
    text = open(path).read().replace("\\\n", " ")
    stages = re.split(r"^FROM ", text, flags=re.M)
    runtime = stages[-1]
    packages = set()
    for m in re.finditer(r"apt-get install ([^&]*)", runtime):
        packages |= {w for w in m.group(1).split() if not w.startswith("-")}
    return packages - {"ca-certificates"}


def depends_names(depends):
    """'libc6 (>= 2.34), libfoo1 | libbar1' -> {'libc6', 'libfoo1', 'libbar1'}"""
    names = set()
    for item in depends.split(","):
        for alt in item.split("|"):
            alt = alt.strip()
            if alt:
                names.add(re.split(r"[\s(:]", alt)[0])
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpack", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--dockerfile", required=True)
    args = ap.parse_args()
    problems = []
    with tempfile.TemporaryDirectory(prefix="augur-package-") as tmp:
        t0 = time.monotonic()
        r = run([args.cpack, "-G", "DEB", "--config", args.config, "-B", tmp])
        t_cpack = time.monotonic() - t0
        debs = glob.glob(os.path.join(tmp, "*.deb"))
        if r.returncode != 0 or len(debs) != 1:
            print(f"cpack failed (exit {r.returncode}, packages {debs}):\n{r.stdout}{r.stderr}")
            return 1
        deb = debs[0]
        print(f"built {os.path.basename(deb)} ({os.path.getsize(deb) / 1e6:.1f} MB) in {t_cpack:.1f} s")

        fields = {}
        for name in ("Package", "Version", "Architecture", "Depends", "Maintainer"):
            fields[name] = run(["dpkg-deb", "-f", deb, name]).stdout.strip()
        arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        for name, want in (("Package", "augur"), ("Version", args.version), ("Architecture", arch)):
            if fields[name] != want:
                problems.append(f"control: {name} is {fields[name]!r}, expected {want!r}")
        if not fields["Maintainer"]:
            problems.append("control: no Maintainer")
        depends = depends_names(fields["Depends"])
        print(f"Depends: {fields['Depends']}")
        expected = {"libc6", "libstdc++6"} | dockerfile_runtime_packages(args.dockerfile)
        for p in sorted(expected - depends):
            problems.append(f"control: Depends lacks {p} (the binaries load it: dpkg-shlibdeps "
                            f"should have found it)")
        for p in sorted(d for d in depends if d.endswith("-dev")):
            problems.append(f"control: Depends names the development package {p}")

        listing = run(["dpkg-deb", "-c", deb]).stdout.splitlines()
        files = {}  # path -> mode string
        for line in listing:
            parts = line.split()
            if len(parts) >= 6 and not parts[0].startswith("d"):
                files[parts[5].lstrip(".").lstrip("/")] = parts[0]
        want = {f"usr/bin/{b}" for b in ("augur", "augur-forecast", "augur-loadtest")}
        k8s = os.path.join(args.source, "k8s")
        for root, _, names in os.walk(k8s):
            for n in names:
                rel = os.path.relpath(os.path.join(root, n), k8s)
                want.add(f"usr/share/augur/k8s/{rel}")
        want.add("usr/share/doc/augur/README.md")
        for doc in glob.glob(os.path.join(args.source, "docs", "*.md")):
            want.add(f"usr/share/doc/augur/{os.path.basename(doc)}")
        for p in sorted(want - set(files)):
            problems.append(f"files: {p} is not in the package")
        for p in sorted(set(files) - want):
            problems.append(f"files: {p} is in the package but not expected")
        for p in sorted(p for p in want & set(files) if p.startswith("usr/bin/") or p.endswith(".sh")):
            if "x" not in files[p]:
                problems.append(f"files: {p} is not executable ({files[p]})")
        print(f"{len(files)} files")

        root = os.path.join(tmp, "root")
        t0 = time.monotonic()
        run(["dpkg-deb", "-x", deb, root])
        v = run([os.path.join(root, "usr", "bin", "augur"), "--version"])
        print(f"unpacked in {time.monotonic() - t0:.1f} s; augur --version: {v.stdout.strip()!r}")
        if v.returncode != 0 or not re.fullmatch(rf"augur {re.escape(args.version)} \(revision \S+\)\n", v.stdout):
            problems.append(f"the packaged augur --version: exit {v.returncode}, {v.stdout!r}{v.stderr!r}")
    if problems:
        print(f"{len(problems)} problem(s) in the package:")
        for p in problems:
            print(f"  {p}")
        return 1
    print("package OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
