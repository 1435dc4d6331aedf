#!/usr/bin/env bash
# Installs ringserve's build and test dependencies from Debian packages.
# Idempotent: prints nothing and changes nothing when everything is present.
set -euo pipefail

# What building ringserve needs (deploy/Dockerfile's build stage installs only these: --build-only).
packages=(
  build-essential cmake ninja-build pkg-config
  liburing-dev        # io_uring
  node-llhttp         # HTTP/1.1 parser sources, built as a static library by our CMake
  libsimdjson-dev     # JSON
  libmimalloc-dev     # process allocator
  libxxhash-dev       # hashing
  liburcu-dev         # userspace RCU: the prefix cache's lock-free block-hash index (cache/)
  libcli11-dev        # command line
  libfmt-dev          # formatting
  libpcre2-dev        # Unicode-aware regexes for BPE pre-tokenizers
  libicu-dev          # ICU: WordPiece's Unicode categories, lowercasing and NFD
  libhwy-dev          # Highway: SIMD kernels written once, dispatched at run time
  libbenchmark-dev    # perf/'s micro-benchmarks (CMake needs it to configure)
)
# What the tests need beyond that.
test_packages=(
  libgtest-dev libgmock-dev
  curl                # smoke checks of a running server
  gnuplot-nox         # ringperf's latency-throughput chart (perf/ringperf/)
  prometheus          # promtool: tests check /metrics with the real validator
  nodejs npm          # tests/sdk: the official OpenAI SDK against the server
  python3-yaml        # tests/app/check_manifests.py: deploy/'s manifests parse as YAML
)
# Options: --build-only for the build alone (no test packages, no OpenAI SDK); extras: --perf for the
# benchmark peers, --fuzz for libFuzzer (clang), --image for `make test-image` (buildah, and mmdebstrap
# and podman to make its Debian base: no registry needed).
build_only=false
extras=()
for extra in "$@"; do
  case "$extra" in
    --build-only) build_only=true ;;
    --perf) extras+=(wrk nginx-light fio fortunes libsentencepiece-dev) ;;  # fortunes: tokenize-bench's English corpus
    --fuzz) extras+=(clang libclang-rt-14-dev time) ;;  # time: fuzz-long reports CPU seconds
    --image) extras+=(buildah podman mmdebstrap uidmap curl) ;;
    *) echo "install-deps: unknown option $extra (known: --build-only, --perf, --fuzz, --image)" >&2; exit 2 ;;
  esac
done
if ! $build_only; then packages+=("${test_packages[@]}"); fi
packages+=("${extras[@]}")

# Names that installed packages provide count as present: NodeSource's nodejs provides (and
# conflicts with) Debian's npm, so asking apt for npm there would fail.
provided=" $(dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null |
             awk -F'|' '$1 ~ /^ii/ && $2 != "" { gsub(/ *\([^)]*\)/, "", $2); gsub(/, */, " ", $2); printf "%s ", $2 }')"
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && [[ $provided != *" $p "* ]]; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if $build_only; then exit 0; fi

# The pinned OpenAI SDK and zod (its structured-output helper's schema library) for tests/sdk
# (from its package-lock.json). On a developer's machine a
# failure here (no registry access, say) is a warning and the OpenAiSdk test skips; under CI
# (CI set to anything) nothing may skip, so it is an error.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ ! -d "$repo_root/tests/sdk/node_modules/openai" || ! -d "$repo_root/tests/sdk/node_modules/zod" ]]; then
  if ! npm_log=$(npm ci --prefix "$repo_root/tests/sdk" --no-audit --no-fund --loglevel=error 2>&1); then
    if [[ -n "${CI:-}" ]]; then
      echo "install-deps: error: could not install the OpenAI SDK (npm ci --prefix tests/sdk), which CI must run:" >&2
      echo "$npm_log" | tail -20 >&2
      exit 1
    fi
    echo "install-deps: warning: could not install the OpenAI SDK (npm ci --prefix tests/sdk); the OpenAI SDK test will be skipped" >&2
  fi
fi
