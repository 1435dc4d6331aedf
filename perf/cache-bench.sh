#!/usr/bin/env bash
# cache-bench.sh: the prefix cache on and off, in interleaved rounds, on the
# same model and machine (perf/results/cache.md).
#
#   shared prefix  perf/scenarios/prefix-cache-2k.json: p50 TTFT with the cache
#                  and without it (--no-prefix-cache): the prefill it saves;
#   no hits        perf/scenarios/prefix-cache-miss.json: output tokens/s with
#                  and without it: what hashing and lookups cost when nothing is shared.
#
# Usage: perf/cache-bench.sh [BUILD_DIR]     (default <repo>/build)
#   MODEL=perf/out/synth-1b-q4_0.gguf (made with synth when missing) ROUNDS=2
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
rounds=${ROUNDS:-2}
model=${MODEL:-$repo/perf/out/synth-1b-q4_0.gguf}
out=$repo/perf/out/cache-bench
mkdir -p "$out"
cmake --build "$build" --target ringserve ringperf >/dev/null
[[ -f $model ]] || "$build/ringserve" synth --preset 1b --type q4_0 -o "$model" --log-level warn

echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; model $(basename "$model")"
# One scenario, the cache on or off: its single point's p50 TTFT and output tokens/s as one JSON line.
measure() {
  local scenario=$1 cache=$2 dir=$out/$1-$2-$3
  local flags="--model $model --ctx-size 4096 --max-seqs 8"
  [[ $cache == off ]] && flags+=" --no-prefix-cache"
  SERVE_ARGS="$flags" "$repo/perf/ringperf/run-against-ringserve.sh" "$build" \
    "$repo/perf/scenarios/$scenario.json" "$dir" >/dev/null 2>&1
  python3 -c 'import json,sys
p = json.load(open(sys.argv[1]))["points"][0]
print(json.dumps({"succeeded": p["succeeded"], "ttft_p50_ms": p["ttft_ms"]["p50"],
                  "output_tokens_per_s": p["output_tokens_per_s"], "mean_prompt_tokens": p["mean_prompt_tokens"]}))' \
    "$dir/results.json"
}
for round in $(seq "$rounds"); do
  for scenario in prefix-cache-2k prefix-cache-miss; do
    # Alternate which goes first, so that neither always meets a warmer or cooler machine.
    order="on off"
    (( round % 2 == 0 )) && order="off on"
    for cache in $order; do
      echo "$scenario cache $cache round $round: $(measure "$scenario" "$cache" "$round")"
    done
  done
done
