#!/usr/bin/env bash
# cpu-bench.sh: ringserve's CPU executor against llama.cpp built natively for
# this CPU, on the same synth model, in one run.
#
# What it measures (same thread count on both sides, interleaved rounds):
#   decode tokens/s at batch 1, prompt processing tokens/s for a 512-token
#   prompt, and ringserve's aggregate decode tokens/s with 8 and 32 sequences
#   in one batch; plus the bandwidth bound = machine read bandwidth (kernel_bench)
#   / weight bytes read per token.
# The peer: llama.cpp's llama-bench, built from the llama.cpp sources that the
#   node-llama-cpp npm package ships (llama/gitRelease.bundle), with
#   GGML_NATIVE=ON (perf/llama-cpp.sh; LLAMA_CPP_BIN=DIR takes an existing
#   build's tools instead). Install it reproducibly with
#     NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --prefix perf/out node-llama-cpp@3.22.1
#   Without it the script measures ringserve alone and says so.
#
# Usage: perf/cpu-bench.sh [BUILD_DIR]     (default <repo>/build)
#   THREADS=2 TYPES="q4_0 q8_0" ROUNDS=3 PRESET=1b
#   BASELINE=OTHER_BUILD_DIR: that build's engine_bench too, in the same rounds
#   (before and after a change, on the same machine in the same minutes).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
out=$repo/perf/out
threads=${THREADS:-$(nproc)}
types=${TYPES:-"q4_0 q8_0"}
rounds=${ROUNDS:-3}
preset=${PRESET:-1b}
mkdir -p "$out"

cmake --build "$build" --target ringserve engine_bench kernel_bench >/dev/null

# shellcheck source=perf/llama-cpp.sh
source "$repo/perf/llama-cpp.sh"
llama_bench=$(llama_cpp_tool "$out" llama-bench)
[[ -n $llama_bench ]] || echo "cpu-bench: no llama.cpp: measuring ringserve alone" >&2

echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; threads $threads"
# The machine's read bandwidth (GB/s) now: this VM's varies by a fifth from
# minute to minute, so every round measures it beside its decode figures.
read_bandwidth() {
  "$build/perf/kernel_bench" --benchmark_filter="memory_read.*/threads/${threads}/" \
    --benchmark_format=json 2>/dev/null |
    python3 -c 'import json,sys; b=json.load(sys.stdin)["benchmarks"]; print(round(max(x["bytes_per_second"] for x in b)/1e9, 2))'
}
for type in $types; do
  model=$out/synth-$preset-$type.gguf
  [[ -f $model ]] || "$build/ringserve" synth --preset "$preset" --type "$type" -o "$model" --log-level warn
  for round in $(seq "$rounds"); do
    echo "read bandwidth $type round $round: {\"gb_s\":$(read_bandwidth)}"
    "$build/perf/engine_bench" --model "$model" --threads "$threads" --prompt 512 --steps 32 --repeats 3 \
      --batches 1,8,32 2>/dev/null | sed "s/^/ringserve $type round $round: /"
    if [[ -n ${BASELINE:-} ]]; then
      "$BASELINE/perf/engine_bench" --model "$model" --threads "$threads" --prompt 512 --steps 32 --repeats 3 \
        --batches 1,8,32 2>/dev/null | sed "s/^/baseline $type round $round: /"
    fi
    if [[ -n $llama_bench ]]; then
      "$llama_bench" -m "$model" -t "$threads" -p 512 -n 64 -r 3 -o jsonl 2>/dev/null |
        python3 -c 'import json,sys
for line in sys.stdin:
    r = json.loads(line); what = "prefill" if r["n_prompt"] else "decode"
    print(json.dumps({"what": what, "tok_s": round(r["avg_ts"], 2)}))' | sed "s/^/llama.cpp $type round $round: /"
    fi
  done
done
