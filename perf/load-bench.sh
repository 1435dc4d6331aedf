#!/usr/bin/env bash
# load-bench.sh: ringserve's model loader against fio (O_DIRECT) and against cat (page cache).
#
# What it measures
#   How fast `ringserve load MODEL` streams one model file into host memory:
#   io_uring, O_DIRECT, CHUNK_MIB-MiB reads, DEPTH in flight, the bytes landing
#   in a whole-file image. The peer is fio reading the same file the same way
#   (io_uring engine, O_DIRECT, sequential, bs=CHUNK_MIB, iodepth=DEPTH) into
#   its own few reused buffers: the device's speed with nothing else to do.
#   fio runs with force_async=1, the submission mode ringserve uses
#   (IOSQE_ASYNC): on virtio disks fio's default inline submission is ~30%
#   slower, and a handicapped peer would flatter us.
#   Each round runs ringserve and then fio, so drift of the machine (other
#   load, the host's caches) hits both alike; the figures are medians.
#   Then, as root, the page-cache path: `ringserve load --buffered MODEL`
#   against `cat MODEL > /dev/null`, each after dropping the page cache.
#
# How to read it
#   O_DIRECT ratio = ringserve / fio GB/s; target (from the issue) >= 0.95 on
#   a file of 1 GB or more. Buffered ratio = ringserve --buffered / cat GB/s.
#   GB = 1e9 bytes. Compare numbers only between runs on the same machine,
#   disk and settings; the header prints them.
#
# Usage
#   perf/load-bench.sh MODEL [RINGSERVE_BINARY]   (default binary: <repo>/build/ringserve)
#   MODEL: one file (.gguf or .safetensors), 1 GB or more; fio reads it read-only.
#   Environment knobs (defaults):
#     ROUNDS=3     measured rounds        WARMUP=1   unmeasured rounds first (0: none)
#     CHUNK_MIB=16 bytes per read, MiB    DEPTH=8    reads in flight
#   Quick check: ROUNDS=1 WARMUP=0 perf/load-bench.sh /var/tmp/model.gguf
#
# Needs fio and python3 (deploy/install-deps.sh --perf). Dropping the page
# cache needs root; without it the buffered comparison is skipped.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)

ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-1}
CHUNK_MIB=${CHUNK_MIB:-16}
DEPTH=${DEPTH:-8}

die() { echo "load-bench: error: $*" >&2; exit 1; }

# ---------------------------------------------------------------- arguments --

(($# >= 1)) || die "usage: perf/load-bench.sh MODEL [RINGSERVE_BINARY]"
model=$1
ringserve_bin=${2:-$repo_root/build/ringserve}
[[ -f $model && -r $model ]] || die "MODEL must be a readable file: $model"
[[ -x $ringserve_bin ]] || die "ringserve binary not found or not executable: $ringserve_bin (build with: cmake --build $repo_root/build)"
for tool in fio python3; do
  command -v "$tool" >/dev/null || die "'$tool' not found (install with: deploy/install-deps.sh --perf)"
done
for knob in ROUNDS CHUNK_MIB DEPTH; do
  [[ ${!knob} =~ ^[1-9][0-9]*$ ]] || die "$knob must be a positive integer, got '${!knob}'"
done
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer, got '$WARMUP'"
model_bytes=$(stat -c %s "$model")
((model_bytes >= 1000000000)) || echo "load-bench: warning: $model is under 1 GB; the target is defined for 1 GB or more" >&2

median() {  # median of the numbers given as arguments, to 3 decimals
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
    END { printf "%.3f\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", (b > 0 ? a / b : 0) }'; }

# json_field FIELD: that field of the one JSON object on stdin (python3's json module).
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# run_ringserve [--buffered]: one `ringserve load`; sets gbps. Fails loudly, with its output.
run_ringserve() {
  local out
  if ! out=$("$ringserve_bin" load "$@" --chunk-mib "$CHUNK_MIB" --depth "$DEPTH" "$model" 2>"$tmp/ringserve.err"); then
    printf 'load-bench: ringserve load %s failed:\n%s\n' "$*" "$(cat "$tmp/ringserve.err")" >&2
    exit 1
  fi
  gbps=$(json_field gbps <<<"$out")
}

fio_cmd=(fio --name=seqread "--filename=$model" --rw=read "--bs=${CHUNK_MIB}M" "--iodepth=$DEPTH"
  --ioengine=io_uring --force_async=1 --direct=1 --numjobs=1 --readonly --output-format=json)

# run_fio: one fio run; sets gbps from its read bandwidth.
run_fio() {
  local out
  if ! out=$("${fio_cmd[@]}" 2>"$tmp/fio.err"); then
    printf 'load-bench: fio failed:\n%s\n' "$(cat "$tmp/fio.err")" >&2
    exit 1
  fi
  gbps=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["jobs"][0]["read"]["bw_bytes"] / 1e9)' <<<"$out")
}

drop_page_cache() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# run_cat: `cat MODEL > /dev/null` from a cold page cache; sets gbps.
run_cat() {
  local t0 t1
  t0=$(date +%s.%N)
  cat "$model" >/dev/null
  t1=$(date +%s.%N)
  gbps=$(awk -v b="$model_bytes" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.3f\n", b / (t1 - t0) / 1e9 }')
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/load-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ------------------------------------------------------------------ header --

model_dir=$(dirname "$model")
disk_device=$(df --output=source "$model_dir" | tail -n1)
disk_fs=$(df --output=fstype "$model_dir" | tail -n1)
disk_info=$(lsblk -ndo NAME,MODEL,SIZE,ROTA,TRAN "$disk_device" 2>/dev/null | tr -s ' ') || true
cpu_model=$(lscpu 2>/dev/null | awk -F: '/^Model name:/ { sub(/^ */, "", $2); print $2; exit }') || true
ringserve_version=$("$ringserve_bin" --version 2>&1 | head -n1) || ringserve_version="?"
repo_rev=$(git -C "$repo_root" rev-parse --short HEAD 2>/dev/null) || repo_rev="?"
if [[ $repo_rev != "?" ]] && ! git -C "$repo_root" diff --quiet HEAD 2>/dev/null; then repo_rev+="+dirty"; fi

echo "== load-bench: ringserve load vs fio (O_DIRECT), --buffered vs cat (page cache) =="
echo "kernel     $(uname -r)"
echo "cpu        ${cpu_model:-?} ($(nproc) CPUs usable), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "disk       $disk_device ($disk_fs)${disk_info:+, lsblk: $disk_info}"
echo "fio        $(fio --version)"
echo "ringserve  $ringserve_version, $ringserve_bin (repo at $repo_rev)"
echo "model      $model, $model_bytes bytes ($(awk -v b="$model_bytes" 'BEGIN { printf "%.2f", b / 1e9 }') GB)"
echo "config     ROUNDS=$ROUNDS WARMUP=$WARMUP CHUNK_MIB=$CHUNK_MIB DEPTH=$DEPTH"
echo "ringserve  $ringserve_bin load --chunk-mib $CHUNK_MIB --depth $DEPTH MODEL"
echo "fio        ${fio_cmd[*]}"
echo

# ------------------------------------------------------- O_DIRECT vs fio --

for ((round = 1; round <= WARMUP; round++)); do
  run_ringserve
  run_fio
done
rs_gbps=() fio_gbps=()
for ((round = 1; round <= ROUNDS; round++)); do
  run_ringserve
  rs_gbps+=("$gbps")
  line=$(printf 'round %d/%d  ringserve %6.3f GB/s' "$round" "$ROUNDS" "$gbps")
  run_fio
  fio_gbps+=("$gbps")
  printf '%s  |  fio %6.3f GB/s  |  ratio %s\n' "$line" "$gbps" "$(ratio "${rs_gbps[-1]}" "$gbps")"
done
rs_med=$(median "${rs_gbps[@]}")
fio_med=$(median "${fio_gbps[@]}")
direct_ratio=$(ratio "$rs_med" "$fio_med")
echo
echo "O_DIRECT medians over $ROUNDS round(s): ringserve $rs_med GB/s, fio $fio_med GB/s"
echo "ratio ringserve/fio: $direct_ratio   (target >= 0.95)"
if awk -v r="$direct_ratio" 'BEGIN { exit !(r >= 0.95) }'; then echo "target     met"; else echo "target     NOT met"; fi

# --------------------------------------------------- buffered vs cat --

echo
if [[ $(id -u) -ne 0 ]]; then
  echo "buffered   skipped: dropping the page cache (/proc/sys/vm/drop_caches) needs root"
  exit 0
fi
rs_buffered=() cat_gbps=()
for ((round = 1; round <= ROUNDS; round++)); do
  drop_page_cache
  run_ringserve --buffered
  rs_buffered+=("$gbps")
  line=$(printf 'round %d/%d  ringserve --buffered %6.3f GB/s' "$round" "$ROUNDS" "$gbps")
  drop_page_cache
  run_cat
  cat_gbps+=("$gbps")
  printf '%s  |  cat %6.3f GB/s  |  ratio %s\n' "$line" "$gbps" "$(ratio "${rs_buffered[-1]}" "$gbps")"
done
rs_buffered_med=$(median "${rs_buffered[@]}")
cat_med=$(median "${cat_gbps[@]}")
echo
echo "buffered medians over $ROUNDS round(s), page cache dropped before each run:" \
  "ringserve --buffered $rs_buffered_med GB/s, cat $cat_med GB/s"
echo "ratio ringserve --buffered/cat: $(ratio "$rs_buffered_med" "$cat_med")"
