#!/usr/bin/env bash
# gpu-bench.sh: ringserve's CUDA executor on one GPU machine, in one run:
# build, GPU tests, compute-sanitizer, and the issue's GPU benchmarks, then a
# short table. Nothing is downloaded: the GPU machine has no network.
#
# What it measures (synth models of Llama 3 8B shapes, made on the machine itself)
#   decode   `engine_bench --device cuda` on synth 8b q4_0 and f16: tokens/s at
#            batch 1 against the memory-bandwidth bound (weight bytes read per
#            token / the device-to-device copy bandwidth engine_bench measures;
#            target >= 0.8 of it), and aggregate tokens/s at batch 8, 32, 64, 128.
#   load     cold load of the f16 file to the GPU (`ringserve load --device cuda`)
#            against the disk's O_DIRECT read rate of the same file
#            (`dd iflag=direct bs=16M`), alternating, ROUNDS rounds each, page
#            cache dropped before each run where allowed; medians; target >= 0.9.
#   peer     Hugging Face transformers greedy generation of the same shapes with
#            random float16 weights on the same GPU (perf/gpu_peer.py), decode
#            tokens/s at batch 1 and 32, and ringserve's f16 figures over it.
#   tests    gpu_tests, then gpu_tests under `compute-sanitizer --tool memcheck`.
#
# Steps and how long each should take on an H100 machine (16 cores); estimates
# until steps.jsonl says (the full build took 5 min on 2 cores, synth of the
# 1b preset 10 s for f16 on one core):
#   build     configure + ninja ringserve engine_bench gpu_tests   ~1-3 min (seconds when up to date)
#   tests     gpu_tests                                            < 1 min
#   sanitize  gpu_tests under compute-sanitizer memcheck           ~2-5 min (SANITIZE_TIMEOUT caps it)
#   synth     ringserve synth 8b q4_0 and f16, both at once        ~1-3 min (skipped when the files exist)
#   load      ROUNDS x (dd + ringserve load) of the 14 GB f16 file ~1-2 min, depending on the disk
#   decode    engine_bench on both files                           ~2 min
#   peer      gpu_peer.py at batch 1 and 32                        ~1-2 min
# STEPS (default: all, in this order) picks a subset; every step that needs the
# binaries first runs the build (a no-op when up to date), and load, decode
# and peer make the synth files when they are missing.
#
# Usage
#   perf/gpu-bench.sh fetch-deps   here, on Debian 12 with apt: the build's -dev
#                                  packages and their libraries as .debs in .gpu-deps/
#   perf/gpu-bench.sh              on the GPU machine, from the repository root
#   Environment knobs (defaults):
#     STEPS="build tests sanitize synth load decode peer"
#     CUDA_ARCHS=90        BUILD=<repo>/build-gpu       RESULTS=<repo>/perf/out/gpu
#     MODELS=<repo>/perf/out/gpu-models   PRESET=8b (tiny: a quick check of the script)   ROUNDS=3 (load)
#     DECODE_STEPS=64 REPEATS=5 PROMPT=512 (engine_bench)   PEER_TOKENS=64 PEER_REPEATS=3
#     SANITIZE_TIMEOUT=300 (s)   SANITIZE_FILTER=* (gtest filter under compute-sanitizer)
#     JOBS=$(nproc)
#   With .gpu-deps/ present the script unpacks it into /tmp/gpu-deps (dpkg -x,
#   never into /) and builds against that prefix; without it, against the system.
#
# On the lent GPU machine (the `run` tool: 10 minutes a command, so three calls
# in a row, each carrying the .debs). The build (build-gpu/), the models and the
# results stay on a warm machine between calls; a machine that went back in
# between (30 s idle) is fresh, and each call then rebuilds and re-makes the
# models it needs, which every split below leaves time for:
#   run(command="STEPS='build tests sanitize' perf/gpu-bench.sh", carry=[".gpu-deps"], timeout_s=600)
#   run(command="STEPS='synth load decode' perf/gpu-bench.sh", carry=[".gpu-deps"], timeout_s=600)
#   run(command="STEPS=peer perf/gpu-bench.sh", carry=[".gpu-deps"], timeout_s=600)
# Each call leaves in $OUT: summary.txt (the table), results.jsonl (every JSON
# line, tagged) and gpu-bench.tar.gz (every log and raw output so far).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
debs=$repo/.gpu-deps

# The build's Debian packages (deploy/install-deps.sh, CMakeLists.txt) and the
# libraries their -dev packages link to; pkgconf and ninja in case the GPU
# machine has none.
dep_packages=(
  liburing-dev liburing2
  libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3
  libhwy-dev libhwy1
  libmimalloc-dev libmimalloc2.0
  libfmt-dev libfmt9
  libcli11-dev
  libsimdjson-dev libsimdjson14
  node-llhttp
  libgtest-dev libgmock-dev
  libbenchmark-dev libbenchmark1debian
  pkgconf pkgconf-bin libpkgconf3
  ninja-build
)

die() { echo "gpu-bench: error: $*" >&2; exit 1; }
say() { echo "== gpu-bench: $*" >&2; }

if [[ ${1:-} == fetch-deps ]]; then
  command -v apt-get >/dev/null || die "fetch-deps needs apt-get (Debian 12, as the packages are Debian 12's)"
  rm -rf "$debs" && mkdir -p "$debs"
  say "downloading ${#dep_packages[@]} packages into $debs"
  (cd "$debs" && apt-get download -q "${dep_packages[@]}") ||
    die "apt-get download failed (stale package lists? run apt-get update)"
  # Every library a -dev package depends on must be in the list: the GPU machine cannot fetch it.
  for deb in "$debs"/*-dev_*.deb; do
    dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//; s/|.*//' | grep '^lib' |
      while read -r needed; do
        [[ " ${dep_packages[*]} " == *" $needed "* ]] ||
          echo "gpu-bench: warning: $(basename "$deb") needs $needed, which is not fetched" >&2
      done
  done
  fetched=("$debs"/*.deb)
  echo "${#fetched[@]} packages, $(du -sh "$debs" | cut -f1) in $debs (carry it: the limit is 64 MiB)"
  exit 0
fi
(($# == 0)) || die "usage: perf/gpu-bench.sh [fetch-deps]   (knobs in the environment; see the header)"

all_steps="build tests sanitize synth load decode peer"
steps=${STEPS:-$all_steps}
for s in $steps; do [[ " $all_steps " == *" $s "* ]] || die "unknown step '$s' in STEPS (known: $all_steps)"; done
has_step() { [[ " $steps " == *" $1 "* ]]; }
cuda_archs=${CUDA_ARCHS:-90}
build=${BUILD:-$repo/build-gpu}
results=${RESULTS:-$repo/perf/out/gpu}
models=${MODELS:-$repo/perf/out/gpu-models}
preset=${PRESET:-8b}
rounds=${ROUNDS:-3}
decode_steps=${DECODE_STEPS:-64}
repeats=${REPEATS:-5}
prompt=${PROMPT:-512}
peer_tokens=${PEER_TOKENS:-64}
peer_repeats=${PEER_REPEATS:-3}
sanitize_timeout=${SANITIZE_TIMEOUT:-300}
sanitize_filter=${SANITIZE_FILTER:-*}
jobs=${JOBS:-$(nproc)}
for knob in rounds decode_steps repeats prompt peer_tokens peer_repeats sanitize_timeout jobs; do
  [[ ${!knob} =~ ^[1-9][0-9]*$ ]] || die "${knob^^} must be a positive integer, got '${!knob}'"
done
mkdir -p "$results" "$models"
export LC_ALL=C  # dd's and the tools' messages in one language, for parsing

# On any exit: the table as far as the run got, and with it every raw output and log, back to the
# caller's $OUT (the `run` tool).
finish() {
  if declare -F table >/dev/null; then table >"$results/summary.txt" 2>/dev/null || true; fi
  [[ -n ${OUT:-} && -d ${OUT:-} ]] || return 0
  cp -f "$results/summary.txt" "$OUT/" 2>/dev/null || true
  python3 - "$results" >"$OUT/results.jsonl" 2>/dev/null <<'EOF' || true
import glob, json, os, sys
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.jsonl"))):
    for line in open(path):
        if line.strip().startswith("{"):
            print(json.dumps({"source": os.path.basename(path), **json.loads(line)}))
EOF
  tar -czf "$OUT/gpu-bench.tar.gz" -C "$(dirname "$results")" "$(basename "$results")" 2>/dev/null || true
}
trap finish EXIT

# ------------------------------------------------------------- dependencies --

deps=/tmp/gpu-deps
cmake_dep_flags=()
ninja_bin=$(command -v ninja || true)
rs_ld_path=""  # the unpacked libraries, for our binaries only (rs below)
use_deps() {
  if [[ ! -d $debs ]]; then
    say "no $debs: building against the system's packages (deploy/install-deps.sh)"
    return 0
  fi
  local stamp packages=("$debs"/*.deb)
  [[ -f ${packages[0]} ]] || die "$debs holds no .deb files (perf/gpu-bench.sh fetch-deps fills it)"
  stamp=$(stat -c '%n %s' "${packages[@]}" | md5sum | cut -d' ' -f1)
  if [[ $(cat "$deps/.stamp" 2>/dev/null) != "$stamp" ]]; then
    say "unpacking ${#packages[@]} packages from $debs into $deps"
    rm -rf "$deps" && mkdir -p "$deps"
    for deb in "${packages[@]}"; do
      if command -v dpkg >/dev/null; then
        dpkg -x "$deb" "$deps"
      else  # a .deb is an ar archive holding data.tar.*; tar detects its compression in a file, not a pipe
        local member
        member=$(ar t "$deb" | grep '^data\.tar')
        (cd "$deps" && ar x "$deb" "$member" && tar -xf "$member" --no-same-owner && rm "$member")
      fi
    done
    echo "$stamp" >"$deps/.stamp"
  fi
  local libdir=$deps/usr/lib/x86_64-linux-gnu
  rs_ld_path=$libdir
  # pkgconf from the prefix, seeing only the prefix's .pc files; paths in them rebased onto it.
  cat >"$deps/pkg-config" <<EOF
#!/bin/sh
LD_LIBRARY_PATH=$libdir exec $deps/usr/bin/pkgconf "\$@"
EOF
  chmod +x "$deps/pkg-config"
  export PKG_CONFIG_PATH=$libdir/pkgconfig:$deps/usr/share/pkgconfig
  export PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH
  export PKG_CONFIG_SYSROOT_DIR=$deps
  export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1  # keep -I$deps/usr/include
  [[ -n $ninja_bin ]] || ninja_bin=$deps/usr/bin/ninja
  cmake_dep_flags=(
    -DCMAKE_PREFIX_PATH="$deps/usr"
    -DPKG_CONFIG_EXECUTABLE="$deps/pkg-config"
    -DLLHTTP_SOURCE_DIR="$deps/usr/share/llhttp"
    -DLLHTTP_INCLUDE_DIR="$deps/usr/share/include/llhttp"
  )
}

# Runs one of our binaries with the unpacked libraries visible (their RPATH names them too).
rs() {
  if [[ -z $rs_ld_path ]]; then "$@"; else LD_LIBRARY_PATH=$rs_ld_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$@"; fi
}

# ------------------------------------------------------------------- build --

find_cuda_tool() {  # PATH, then beside nvcc, then the toolkit's usual places (compute-sanitizer has a folder)
  local found dir
  found=$(command -v "$1" || true)
  for dir in ${nvcc:+"$(dirname "$nvcc")" "$(dirname "$nvcc")/../$1"} /usr/local/cuda/bin "/usr/local/cuda/$1"; do
    if [[ -z $found && -x $dir/$1 ]]; then found=$(cd "$dir" && pwd)/$1; fi
  done
  echo "$found"
}
nvcc=$(find_cuda_tool nvcc)

step_build() {
  use_deps
  command -v cmake >/dev/null || die "cmake not found"
  [[ -n $ninja_bin && -x $ninja_bin ]] || die "ninja not found (carry .gpu-deps: it holds ninja-build)"
  [[ -n $nvcc ]] || die "nvcc not found on PATH nor in /usr/local/cuda/bin"
  say "build: configure $build (Release, CUDA architectures $cuda_archs)," \
    "ninja -j$jobs ringserve engine_bench gpu_tests"
  # CMAKE_POLICY_VERSION_MINIMUM: CMake 4 refuses package config files that ask for a policy level under 3.5
  # (CMake 3 warns that it is unused).
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_MAKE_PROGRAM="$ninja_bin" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES="$cuda_archs" -DCMAKE_POLICY_VERSION_MINIMUM=3.5 \
    "${cmake_dep_flags[@]}" >"$results/cmake.log" 2>&1 ||
    { tail -40 "$results/cmake.log" >&2; die "cmake failed"; }
  ! grep -q 'nvcc not found' "$results/cmake.log" || die "CMake did not take $nvcc: the build would have no CUDA"
  if [[ -d $debs ]]; then  # every package found must come from the prefix, or the build tested the wrong thing
    local stray
    local found='^((fmt|CLI11|mimalloc|simdjson|GTest|benchmark)_DIR|pkgcfg_lib_[^:]*|LLHTTP_(INCLUDE|SOURCE)_DIR):'
    stray=$(grep -E "$found(FILE)?PATH=" "$build/CMakeCache.txt" | grep -v "=$deps/" || true)
    [[ -z $stray ]] || { echo "$stray" >&2; die "CMake found packages outside $deps"; }
  fi
  "$ninja_bin" -C "$build" -j "$jobs" ringserve engine_bench gpu_tests >"$results/build.log" 2>&1 ||
    { tail -60 "$results/build.log" >&2; die "the build failed ($results/build.log)"; }
  say "build: done ($(tail -1 "$results/build.log"))"
}

# ------------------------------------------------------------------- tests --

# record NAME STATUS DETAIL: one line of status.jsonl, which the table reads.
record() {
  python3 -c 'import json, sys
print(json.dumps({"what": "status", "name": sys.argv[1], "status": sys.argv[2], "detail": sys.argv[3]}))' \
    "$1" "$2" "$3" >>"$results/status.jsonl"
}

# gtest's summary of a log: "N passed, M failed, K skipped".
gtest_summary() {
  local passed failed skipped
  passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
  failed=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
  skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
  echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
}

step_tests() {
  say "tests: $build/tests/gpu_tests (log: $results/gpu_tests.log)"
  local rc=0
  rs "$build/tests/gpu_tests" >"$results/gpu_tests.log" 2>&1 || rc=$?
  local summary
  summary=$(gtest_summary "$results/gpu_tests.log")
  if ((rc != 0)); then
    record gpu_tests FAIL "exit $rc; $summary"
    grep '^\[  FAILED  \]' "$results/gpu_tests.log" >&2 || tail -20 "$results/gpu_tests.log" >&2
  elif [[ $summary != *" 0 skipped" ]]; then
    record gpu_tests SKIPPED "$summary: every test should run on a GPU machine; is the device visible?"
  else
    record gpu_tests PASS "$summary"
  fi
  say "tests: $(tail -1 "$results/status.jsonl")"
}

step_sanitize() {
  local sanitizer
  sanitizer=$(find_cuda_tool compute-sanitizer)
  if [[ -z $sanitizer ]]; then
    record sanitizer MISSING "compute-sanitizer not found"
    return 0
  fi
  say "sanitize: compute-sanitizer --tool memcheck gpu_tests --gtest_filter='$sanitize_filter'" \
    "(at most $sanitize_timeout s; log: $results/sanitizer.log)"
  local rc=0
  rs timeout "$sanitize_timeout" "$sanitizer" --tool memcheck --error-exitcode 86 --print-limit 100 \
    "$build/tests/gpu_tests" --gtest_filter="$sanitize_filter" >"$results/sanitizer.log" 2>&1 || rc=$?
  local summary errors
  summary=$(gtest_summary "$results/sanitizer.log")
  errors=$(sed -n 's/^========= ERROR SUMMARY: \([0-9]*\) error.*/\1/p' "$results/sanitizer.log" | tail -1)
  case $rc in
    0) record sanitizer PASS "${errors:-0} errors; $summary" ;;
    86) record sanitizer FAIL "${errors:-?} memcheck errors; $summary" ;;
    124) record sanitizer TIMEOUT "over ${sanitize_timeout} s (SANITIZE_FILTER narrows it); $summary" ;;
    *) record sanitizer FAIL "exit $rc; ${errors:-?} memcheck errors; $summary" ;;
  esac
  say "sanitize: $(tail -1 "$results/status.jsonl")"
}

# ------------------------------------------------------------------- synth --

model_file() { echo "$models/synth-$preset-$1.gguf"; }

# Makes the synth files that are missing, all at once (synth is single-threaded).
step_synth() {
  local pids=() types=()
  for type in q4_0 f16; do
    local file
    file=$(model_file "$type")
    if [[ -s $file ]]; then
      say "synth: $file is there ($(stat -c %s "$file") bytes)"
      continue
    fi
    say "synth: ringserve synth --preset $preset --type $type -o $file"
    rs "$build/ringserve" synth --preset "$preset" --type "$type" -o "$file.part" >"$results/synth-$type.log" 2>&1 &
    pids+=($!) types+=("$type")
  done
  local i failed=0
  for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then
      mv "$(model_file "${types[$i]}").part" "$(model_file "${types[$i]}")"
    else
      cat "$results/synth-${types[$i]}.log" >&2
      failed=1
    fi
  done
  ((failed == 0)) || die "ringserve synth failed"
  sync
}

need_models() { [[ -s $(model_file q4_0) && -s $(model_file f16) ]] || step_synth; }

# -------------------------------------------------------------------- load --

median() {  # median of the numbers given as arguments
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
    END { printf "%.3f\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

drop_page_cache() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

step_load() {
  need_models
  local file bytes
  file=$(model_file f16)
  bytes=$(stat -c %s "$file")
  say "load: $file ($bytes bytes) on $(df --output=source,fstype "$(dirname "$file")" | tail -1 | tr -s ' '):" \
    "$rounds rounds of dd iflag=direct bs=16M, then ringserve load --device cuda"
  if ! (echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
    say "load: cannot drop the page cache (not root?); O_DIRECT reads bypass it anyway"
  fi
  local dd_rates=() rs_rates=() round out gbps direct
  : >"$results/load.log"
  for round in $(seq "$rounds"); do
    drop_page_cache
    out=$(dd if="$file" of=/dev/null iflag=direct bs=16M 2>&1) ||
      { echo "$out" >&2; die "dd iflag=direct failed (does this filesystem take O_DIRECT? MODELS=another disk)"; }
    echo "dd round $round: $out" >>"$results/load.log"
    # "N bytes (…) copied, S s, R GB/s": bytes over seconds, not dd's rounded rate.
    dd_rates+=("$(sed -n 's/^\([0-9]*\) bytes.* copied, \([0-9.e+-]*\) s.*/\1 \2/p' <<<"$out" |
      awk '{ printf "%.3f", $1 / $2 / 1e9 }')")
    drop_page_cache
    out=$(rs "$build/ringserve" load "$file" --device cuda 2>>"$results/load.log") ||
      { tail -5 "$results/load.log" >&2; die "ringserve load --device cuda failed"; }
    echo "ringserve round $round: $out" >>"$results/load.log"
    read -r gbps direct < <(python3 -c 'import json, sys
r = json.loads(sys.argv[1]); print(r["gbps"], str(r["direct"]).lower())' "$out")
    rs_rates+=("$gbps")
    echo "{\"what\":\"load\",\"round\":$round,\"dd_gbps\":${dd_rates[-1]},\"ringserve_gbps\":$gbps," \
      "\"direct\":$direct}" | tr -d ' ' |
      tee -a "$results/load.jsonl" >&2
  done
  echo "{\"what\":\"load_median\",\"bytes\":$bytes,\"rounds\":$rounds,\"dd_gbps\":$(median "${dd_rates[@]}")," \
    "\"ringserve_gbps\":$(median "${rs_rates[@]}")}" | tr -d ' ' >>"$results/load.jsonl"
}

# ------------------------------------------------------------------ decode --

step_decode() {
  need_models
  for type in q4_0 f16; do
    local args=(--device cuda --model "$(model_file "$type")" --prompt "$prompt" --steps "$decode_steps"
      --repeats "$repeats")
    say "decode: engine_bench ${args[*]}"
    # Each JSON line tagged with the weight type.
    rs "$build/perf/engine_bench" "${args[@]}" 2>"$results/engine-$type.err" |
      python3 -c 'import json, sys
for line in sys.stdin:
    print(json.dumps({**json.loads(line), "type": sys.argv[1]}), flush=True)' "$type" |
      tee "$results/engine-$type.jsonl" >&2 ||
      { cat "$results/engine-$type.err" >&2; die "engine_bench --device cuda failed on $type"; }
  done
}

# -------------------------------------------------------------------- peer --

step_peer() {
  need_models
  local args=(--model "$(model_file f16)" --batches "1,32" --new-tokens "$peer_tokens" --repeats "$peer_repeats")
  say "peer: perf/gpu_peer.py ${args[*]}"
  PYTHONUNBUFFERED=1 python3 "$repo/perf/gpu_peer.py" "${args[@]}" 2>"$results/peer.err" |
    tee "$results/peer.jsonl" >&2 || { tail -30 "$results/peer.err" >&2; die "gpu_peer.py failed"; }
}

# ------------------------------------------------------------------- table --

table() {
  python3 - "$results" "$preset" <<'EOF'
import json, os, sys

results, preset = sys.argv[1], sys.argv[2]
def lines(name):
    path = os.path.join(results, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip().startswith("{")]

def num(v, fmt="{:.1f}"):
    return "-" if v is None else fmt.format(v)

def ratio(a, b):
    return None if a is None or not b else a / b

engine = {t: lines(f"engine-{t}.jsonl") for t in ("q4_0", "f16")}
device = next((r for t in engine.values() for r in t if r["what"] == "device"), {})
decode = {t: {r["batch"]: r for r in rows if r["what"] == "decode"} for t, rows in engine.items()}
peer = {r["batch"]: r for r in lines("peer.jsonl") if r["what"] == "decode"}
peer_info = next((r for r in lines("peer.jsonl") if r["what"] == "peer"), {})
load = ([r for r in lines("load.jsonl") if r["what"] == "load_median"] or [None])[-1]  # the latest run
status = {r["name"]: r for r in lines("status.jsonl")}

out = []
out.append(f"# {device.get('name', 'GPU ?')}: device copy {num(device.get('copy_gb_s'))} GB/s (read + write)")
out.append("")
out.append(f"| decode, synth {preset} | q4_0 | f16 |")
out.append("|---|---:|---:|")
def cell(t, batch, key):
    return decode[t].get(batch, {}).get(key)
out.append("| batch 1 tok/s | " + " | ".join(num(cell(t, 1, "tok_s")) for t in ("q4_0", "f16")) + " |")
out.append("| batch 1 bound tok/s | " + " | ".join(num(cell(t, 1, "bound_tok_s")) for t in ("q4_0", "f16")) + " |")
out.append("| batch 1 of bound (target >= 0.80) | " +
           " | ".join(num(cell(t, 1, "of_bound"), "{:.2f}") for t in ("q4_0", "f16")) + " |")
for b in (8, 32, 64, 128):
    out.append(f"| batch {b} aggregate tok/s | " + " | ".join(num(cell(t, b, "tok_s")) for t in ("q4_0", "f16")) + " |")
prefill = {t: next((r for r in engine[t] if r["what"] == "prefill"), {}) for t in engine}
tokens = next((r["tokens"] for r in prefill.values() if r), "?")
out.append(f"| prefill {tokens} tokens, tok/s | " + " | ".join(num(prefill[t].get("tok_s")) for t in engine) + " |")
out.append("")
if load:
    out.append(f"cold load, f16 file ({load['bytes'] / 1e9:.2f} GB), medians of {load['rounds']}: ringserve "
               f"{load['ringserve_gbps']:.2f} GB/s, dd O_DIRECT {load['dd_gbps']:.2f} GB/s, ratio "
               f"{num(ratio(load['ringserve_gbps'], load['dd_gbps']), '{:.2f}')} (target >= 0.90)")
else:
    out.append("cold load: not run")
out.append("")
version = f"transformers {peer_info.get('transformers', '?')}, torch {peer_info.get('torch', '?')}"
out.append(f"| f16 decode tok/s | ringserve | {version} | ratio |")
out.append("|---|---:|---:|---:|")
for b in (1, 32):
    ours, theirs = cell("f16", b, "tok_s"), peer.get(b, {}).get("tok_s")
    out.append(f"| batch {b} | {num(ours)} | {num(theirs)} | {num(ratio(ours, theirs), '{:.2f}')} |")
out.append("")
for name in ("gpu_tests", "sanitizer"):
    r = status.get(name)
    out.append(f"{name}: " + (f"{r['status']} ({r['detail']})" if r else "not run"))
print("\n".join(out))
EOF
}

# --------------------------------------------------------------------- run --

say "$(hostname), steps: $steps"
{
  echo "# $(date -u +%FT%TZ) gpu-bench.sh, steps: $steps"
  echo "# repo: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo ?)$(
    git -C "$repo" diff --quiet HEAD 2>/dev/null || echo +dirty)"
  echo "# gpu: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo '?')"
  echo "# cpu: $(nproc) cores; $(ldd --version 2>/dev/null | head -1)"
  echo "# tools: cmake $(cmake --version 2>/dev/null | head -1 | awk '{print $3}')," \
    "nvcc ${nvcc:-none} $("${nvcc:-false}" --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')," \
    "$(c++ --version 2>/dev/null | head -1), $(python3 --version 2>&1)"
  echo "# models: $models on $(df -h --output=source,fstype,avail "$models" | tail -1 | tr -s ' ')"
} | tee -a "$results/header.txt" >&2

# run_step NAME: step_NAME, timed into steps.jsonl (for planning the 10-minute calls).
run_step() {
  local start=$SECONDS
  "step_$1"
  echo "{\"what\":\"step\",\"name\":\"$1\",\"seconds\":$((SECONDS - start))}" | tee -a "$results/steps.jsonl" >&2
}

needs_binaries=0
for s in build tests sanitize synth load decode; do has_step "$s" && needs_binaries=1; done
if has_step peer && [[ ! -s $(model_file f16) ]]; then needs_binaries=1; fi  # the peer reads the f16 file's shapes
if ((needs_binaries)); then run_step build; fi
for s in tests sanitize synth load decode peer; do
  if has_step "$s"; then run_step "$s"; fi
done

table  # finish writes it to summary.txt
