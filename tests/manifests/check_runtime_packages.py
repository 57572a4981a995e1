#!/usr/bin/env python3
"""Checks that the Dockerfile's runtime stage installs every shared library the built
binaries load (there is no Docker engine here to build the image, so this is the proof).

Usage: check_runtime_packages.py --dockerfile PATH BINARY...

For each binary: `ldd` lists the libraries, `dpkg -S` names the Debian package of each,
and each such package must be installed by the last stage's `apt-get install` line,
directly or as a dependency (`apt-cache depends --recurse`), or be part of every Debian
base image (Priority: required). Every package the Dockerfile names must exist
(`apt-cache policy` shows a candidate). Exit 0 when covered; 1 listing what is missing. With --self-test-drop PKG, the check
runs as if the Dockerfile lacked PKG and succeeds only if it reports it (proof it can fail).
"""

import argparse
import os
import re
import subprocess
import sys


def sh(argv):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout


def runtime_packages(dockerfile):
    with open(dockerfile) as f:
        text = f.read().replace("\\\n", " ")
    stages = re.split(r"(?im)^FROM\s", text)
    last = stages[-1]
    pkgs = []
    for m in re.finditer(r"apt-get install ([^&\n]*)", last):
        pkgs += [t for t in m.group(1).split() if not t.startswith("-")]
    return pkgs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dockerfile", required=True)
    ap.add_argument("--self-test-drop", metavar="PKG",
                    help="self-test: pretend the Dockerfile lacks PKG; succeed only if that is caught")
    ap.add_argument("binaries", nargs="+")
    args = ap.parse_args()
    problems = []

    listed = runtime_packages(args.dockerfile)
    if args.self_test_drop:
        if args.self_test_drop not in listed:
            print(f"FAIL: the Dockerfile does not install {args.self_test_drop}; nothing to drop")
            return 1
        listed.remove(args.self_test_drop)
    if not listed:
        problems.append("no `apt-get install` in the Dockerfile's last stage")
    for p in listed:
        _, out = sh(["apt-cache", "policy", p])
        if not re.search(r"Candidate: (?!\(none\))", out):
            problems.append(f"Dockerfile installs {p}, which apt does not know (no candidate)")

    rc, deps = sh(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                   "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + listed)
    covered = set(listed)
    for line in deps.splitlines():
        m = re.match(r"^\s*(?:\|?(?:Pre)?Depends:\s*)?<?([a-z0-9][a-z0-9.+-]*)(?::[a-z0-9]+)?>?\s*$", line)
        if m:
            covered.add(m.group(1))

    # Every library of every binary, resolved once; dpkg and apt-cache asked in batches.
    users = {}  # library path -> binaries loading it
    for binary in args.binaries:
        rc, out = sh(["ldd", binary])
        if rc != 0:
            problems.append(f"ldd {binary} failed")
            continue
        for line in out.splitlines():
            if "not found" in line:
                problems.append(f"{os.path.basename(binary)}: {line.strip()}")
                continue
            m = re.search(r"=>\s*(/\S+)", line)
            if m:
                users.setdefault(m.group(1), []).append(os.path.basename(binary))

    def spellings(lib):
        # /lib is a symlink to /usr/lib on Debian 12; dpkg knows one spelling.
        alt = lib.replace("/usr/lib/", "/lib/", 1) if lib.startswith("/usr/lib/") else "/usr" + lib
        return {lib, alt, os.path.realpath(lib)}

    wanted = {}
    for lib in users:
        for path in spellings(lib):
            wanted[path] = lib
    _, out = sh(["dpkg", "-S"] + sorted(wanted))
    owner = {}  # library -> package
    for line in out.splitlines():
        m = re.match(r"^([^:,\s]+)(?::[a-z0-9]+)?(?:, [^:]+)*: (/\S+)$", line)
        if m and m.group(2) in wanted:
            owner.setdefault(wanted[m.group(2)], m.group(1))
    uncovered = sorted({p for p in owner.values() if p not in covered})
    base = set()
    if uncovered:
        _, show = sh(["apt-cache", "show", "--no-all-versions"] + uncovered)
        for record in show.split("\n\n"):
            m = re.search(r"^Package: (\S+)", record, re.M)
            if m and (re.search(r"^Priority: required", record, re.M) or
                      re.search(r"^Essential: yes", record, re.M)):
                base.add(m.group(1))
    for lib, bins in sorted(users.items()):
        pkg = owner.get(lib)
        who = ", ".join(sorted(set(bins)))
        if pkg is None:
            problems.append(f"{who}: {lib} belongs to no Debian package")
        elif pkg not in covered and pkg not in base:
            problems.append(f"{who}: {os.path.basename(lib)} comes from {pkg}, "
                            "which the Dockerfile's runtime stage does not install")

    if args.self_test_drop:
        caught = [p for p in problems if args.self_test_drop in p]
        print(("caught: " if caught else "MISSED: ") + f"runtime stage without {args.self_test_drop}")
        for p in caught:
            print(f"  {p}")
        return 0 if caught else 1
    if problems:
        print("FAIL:\n  " + "\n  ".join(sorted(set(problems))))
        return 1
    print(f"OK: the runtime stage ({' '.join(listed)}) covers every library of "
          f"{', '.join(os.path.basename(b) for b in args.binaries)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
