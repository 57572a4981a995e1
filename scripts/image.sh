#!/usr/bin/env bash
# Builds Augur's container image from the Dockerfile with podman, without any container
# registry, then smoke-tests it. The Debian 12 bases are made here: debootstrap (minbase)
# from this machine's configured Debian mirror, imported with `podman import` as
# localhost/augur-base:bookworm (build stage) and :bookworm-slim (runtime stage: no docs
# but copyright files, no man pages, locales or iconv modules); the build runs with
# --pull=never.
#
#   scripts/image.sh                  # build augur:<version> and smoke-test it
#   scripts/image.sh --no-smoke       # build only
#   scripts/image.sh --rebuild-base   # remake the debootstrapped bases first
#   scripts/image.sh --tag augur:dev
#
# podman's storage (bases, layers) lives in --state DIR (default ~/.cache/augur-image),
# outside the source tree, so that later runs are warm; the compiler cache is a build cache
# mount (buildah keeps it in /var/tmp/buildah-cache). podman runs with a private
# CONTAINERS_CONF: runc (crun refuses hybrid cgroup hierarchies), and default_ulimits at
# this process' hard nofile limit and the largest nproc limit runc may set (podman's
# defaults are refused without CAP_SYS_RESOURCE). Needs root (debootstrap, rootful podman).
# Measured cold and warm times: README.md, "Deploy on Kubernetes".
# The smoke test (tests/e2e/image_smoke.py): every binary runs, the user is not root, and
# the containerised augur serves /healthz, /readyz, /metrics and answers KEDA's
# GetMetricSpec, GetMetrics, IsActive against a Prometheus on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

tag="" smoke=1 rebuild_base=0
state="${AUGUR_IMAGE_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/augur-image}"
while (($#)); do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --no-smoke) smoke=0; shift ;;
    --rebuild-base) rebuild_base=1; shift ;;
    --state) state="$2"; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "image.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$tag" ]; then
  version=$(sed -n 's/^project([^)]*VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt | head -1)
  tag="augur:${version:-dev}"
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "image.sh: needs root (debootstrap and podman's rootful storage)" >&2
  exit 2
fi

bash scripts/setup-deps.sh --image

mkdir -p "$state"
state=$(cd "$state" && pwd)
export CONTAINERS_CONF="$state/containers.conf"
export CONTAINERS_STORAGE_CONF="$state/storage.conf"
nofile=$(ulimit -Hn)
write_conf() {  # write_conf NPROC (empty: none given)
  cat >"$CONTAINERS_CONF" <<EOF
# Written by scripts/image.sh.
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}"${1:+, \"nproc=$1:$1\"}]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
}
write_conf ""
cat >"$CONTAINERS_STORAGE_CONF" <<EOF
# Written by scripts/image.sh.
[storage]
driver = "overlay"
graphroot = "$state/storage"
runroot = "$state/run"
EOF
podman=(podman)

# The machine's Debian sources (deb822 or one-line form), for debootstrap and for apt
# inside the images.
mirror="" sources=()
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  [ -f "$f" ] || continue
  sources+=("$f")
  if [ -z "$mirror" ]; then
    mirror=$(sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian\)[[:space:]]*$/\1/p; s/^deb[[:space:]]\+\(http[^[:space:]]*\/debian\)[[:space:]]\+bookworm[[:space:]].*/\1/p' "$f" | head -1)
  fi
done
if [ -z "$mirror" ]; then
  echo "image.sh: no Debian mirror for bookworm in /etc/apt/sources.list(.d/debian.sources)" >&2
  exit 1
fi

timer_start=$(date +%s)
phase() { echo "image.sh: $* (+$(( $(date +%s) - timer_start ))s)"; }

make_bases() {
  local root="$state/rootfs"
  phase "debootstrap bookworm (minbase) from $mirror"
  rm -rf "$root"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$state/debootstrap.log" 2>&1 || {
    tail -20 "$state/debootstrap.log" >&2
    exit 1
  }
  # apt inside the images uses the same suites as this machine (updates, security).
  rm -f "$root/etc/apt/sources.list"
  for f in "${sources[@]}"; do
    case "$f" in
      *.sources) cp "$f" "$root/etc/apt/sources.list.d/" ;;
      *) cp "$f" "$root/etc/apt/sources.list" ;;
    esac
  done
  # No package lists or caches (apt-get update in a stage makes its own): 12 MB of
  # pkgcache.bin/srcpkgcache.bin would otherwise stay in the base layer for good.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
         "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/var/cache/debconf/*-old \
         "$root"/var/lib/dpkg/*-old
  tar -C "$root" --numeric-owner -c . | "${podman[@]}" import \
    --change 'CMD ["/bin/bash"]' - localhost/augur-base:bookworm >/dev/null
  # The slim variant: what Docker's debian:12-slim leaves out, plus glibc's iconv modules
  # (8 MB; augur's binaries convert no character sets: UTF-8 and ASCII are built into
  # glibc), and dpkg told to keep leaving them out of packages installed later.
  cat >"$root/etc/dpkg/dpkg.cfg.d/augur-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/lib/*/gconv/*
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
         "$root"/usr/share/lintian/* "$root"/usr/lib/*/gconv
  tar -C "$root" --numeric-owner -c . | "${podman[@]}" import \
    --change 'CMD ["/bin/bash"]' - localhost/augur-base:bookworm-slim >/dev/null
  rm -rf "$root"
}

if ((rebuild_base)) || ! "${podman[@]}" image exists localhost/augur-base:bookworm ||
   ! "${podman[@]}" image exists localhost/augur-base:bookworm-slim; then
  make_bases
fi
# Rootful podman sets RLIMIT_NPROC too (to 1048576 unless told); runc's setrlimit is
# refused above some limit that `ulimit -Hu` does not show on every machine (seen: 96365
# shown, 32768 the largest accepted), so the largest value that works is probed.
nproc_hard=$(ulimit -Hu)
[ "$nproc_hard" = unlimited ] && nproc_hard=4194304
nproc=""
for n in "$nproc_hard" 65536 32768 16384 8192 4096; do
  ((n <= nproc_hard)) || continue
  write_conf "$n"
  if "${podman[@]}" run --rm --network=none localhost/augur-base:bookworm-slim true >/dev/null 2>&1; then
    nproc=$n; break
  fi
done
if [ -z "$nproc" ]; then
  echo "image.sh: podman cannot start a container here (nproc limits up to $nproc_hard tried):" >&2
  "${podman[@]}" run --rm --network=none localhost/augur-base:bookworm-slim true >&2 || true
  exit 1
fi
phase "container limits: nofile=$nofile nproc=$nproc"
phase "bases: $("${podman[@]}" image inspect --format '{{.Size}}' localhost/augur-base:bookworm) and $("${podman[@]}" image inspect --format '{{.Size}}' localhost/augur-base:bookworm-slim) bytes"

phase "podman build -t $tag (--pull=never)"
"${podman[@]}" build --pull=never --network=host \
  --build-arg BUILD_BASE=localhost/augur-base:bookworm \
  --build-arg RUNTIME_BASE=localhost/augur-base:bookworm-slim \
  --build-arg AUGUR_REVISION="$(git describe --always --dirty 2>/dev/null || echo unknown)" \
  -t "$tag" -f Dockerfile .
size=$("${podman[@]}" image inspect --format '{{.Size}}' "$tag")
phase "built $tag: $size bytes ($((size / 1024 / 1024)) MiB)"

if ((smoke)); then
  phase "smoke test"
  "${podman[@]}" image prune -f >/dev/null 2>&1 || true
  python3 tests/e2e/image_smoke.py --image "$tag" --podman "$(command -v podman)"
fi
phase "done"
