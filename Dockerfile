# Augur's container image: a Debian 12 build stage with the -dev packages, and a runtime
# stage with only the shared libraries the binaries load (checked against `ldd` by
# tests/manifests/check_runtime_packages.py), stripped binaries, running as a non-root user.
#   docker build -t augur:0.2.0 --build-arg AUGUR_REVISION="$(git describe --always --dirty)" .
# (the context has no .git: without AUGUR_REVISION, `augur --version` says "revision unknown")
#   docker run --rm -p 6000:6000 -p 8080:8080 augur:0.2.0 --prometheus-url=http://prometheus:9090
# Without a registry (podman, locally debootstrapped bases, --pull=never): scripts/image.sh,
# which builds this file with BUILD_BASE/RUNTIME_BASE set to its own bases and smoke-tests
# the image.
ARG BUILD_BASE=debian:12
ARG RUNTIME_BASE=debian:12-slim

FROM ${BUILD_BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates ccache \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto \
      prometheus-cpp-dev libcurl4-openssl-dev nlohmann-json3-dev libeigen3-dev \
      libboost-program-options-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG AUGUR_TARGETS="augur augur-forecast augur-loadtest"
ARG AUGUR_REVISION=""
# The compiler cache survives between builds (a cache mount, not a layer): a rebuild after
# a source change recompiles only what changed.
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
      -DAUGUR_BUILD_TESTS=OFF -DAUGUR_BUILD_BENCH=OFF -DAUGUR_REVISION="${AUGUR_REVISION}" \
 && cmake --build /build --target ${AUGUR_TARGETS} -j"$(nproc)" \
 && mkdir -p /out \
 && for t in ${AUGUR_TARGETS}; do strip --strip-all -o /out/$t /build/$t; done

FROM ${RUNTIME_BASE}
# Only the runtime libraries; apt keeps what it downloaded (12 MB) unless cleaned, and no
# package list, cache or log stays either.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libcurl4 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libboost-program-options1.74.0 ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
      /var/cache/debconf/*-old /var/lib/dpkg/*-old \
 && groupadd --system --gid 65532 augur \
 && useradd --system --uid 65532 --gid augur --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin augur
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
# 6000: gRPC (KEDA external scaler, health, reflection, Inspector); 8080: /metrics, /healthz, /readyz
EXPOSE 6000 8080
ENTRYPOINT ["/usr/local/bin/augur"]
