#!/usr/bin/env bash
# Installs ringserve's build and test dependencies from Debian packages.
# Idempotent: prints nothing and changes nothing when everything is present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  liburing-dev        # io_uring
  node-llhttp         # HTTP/1.1 parser sources, built as a static library by our CMake
  libsimdjson-dev     # JSON
  libmimalloc-dev     # process allocator
  libxxhash-dev       # hashing
  libcli11-dev        # command line
  libfmt-dev          # formatting
  libpcre2-dev        # Unicode-aware regexes for BPE pre-tokenizers
  libhwy-dev          # Highway: SIMD kernels written once, dispatched at run time
  libgtest-dev libgmock-dev libbenchmark-dev   # tests and micro-benchmarks
  curl                # smoke checks of a running server
  prometheus          # promtool: tests check /metrics with the real validator
)
# Optional extras: --perf for the benchmark peers, --fuzz for libFuzzer (clang).
for extra in "$@"; do
  case "$extra" in
    --perf) packages+=(wrk nginx-light fio fortunes libsentencepiece-dev) ;;  # fortunes: tokenize-bench's English corpus
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) echo "install-deps: unknown option $extra (known: --perf, --fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
