#!/usr/bin/env bash
# Installs what Augur needs to build, test and run its demo, from Debian 12's packages
# (and, for the end-to-end tests' independent gRPC clients, the npm packages pinned in
# tests/e2e/package-lock.json). Idempotent: installs only what is missing.
#   scripts/setup-deps.sh           # build, tests, demo
#   scripts/setup-deps.sh --image   # also what scripts/image.sh needs (podman, runc, debootstrap)
set -euo pipefail
cd "$(dirname "$0")/.."
image=0
if [ "${1:-}" = "--image" ]; then image=1; fi

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  prometheus-cpp-dev libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libeigen3-dev
  libboost-program-options-dev libgtest-dev libgmock-dev libbenchmark-dev
  prometheus openssl curl python3 python3-grpcio python3-yaml nodejs npm
  kubernetes-client
  chromium   # the web view's browser tests (driven by playwright-core from tests/e2e)
  clang libclang-rt-14-dev  # the fuzz targets (scripts/fuzz.sh: libFuzzer, ASan, UBSan)
  clang-tidy  # scripts/function_size.sh (the 150-line rule)
)
if ((image)); then
  packages+=(podman runc debootstrap)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# npm may come from outside Debian (e.g. a newer Node.js); only ask apt for it if absent.
if command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do
    case "$p" in npm|nodejs) ;; *) filtered+=("$p") ;; esac
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

# kubectl (for `kubectl kustomize` in the manifest tests): Debian's kubernetes-client,
# unless a kubectl is already installed (another package owning /usr/bin/kubectl would
# make dpkg refuse Debian's).
if command -v kubectl >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do
    [ "$p" = kubernetes-client ] || filtered+=("$p")
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if ((${#missing[@]})); then
  echo "setup-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
else
  echo "setup-deps: all Debian packages present"
fi

# The Debian prometheus package starts a system service; tests run their own servers.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl stop prometheus || true
fi

if [ -f tests/e2e/package-lock.json ]; then
  if [ ! -d tests/e2e/node_modules ] || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules ]; then
    echo "setup-deps: installing the end-to-end tests' npm packages (lockfile)"
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
