#!/usr/bin/env bash
# snapshot-bench.sh: a prefix-cache snapshot's load against the prefill it
# saves, and its read rate against dd's O_DIRECT rate on the same file, in
# interleaved rounds (perf/results/cache.md).
#
#   prefill   `ringserve run -n 1 --json` on a 2,048-token prompt: its ttft_ms
#   load      `ringserve serve --prefix-cache-file` with that prompt's blocks: the
#             log's "loaded in X ms (G GB/s)"
#   dd        `dd iflag=direct bs=4M` of the snapshot file
#
# Usage: perf/snapshot-bench.sh [BUILD_DIR]     (default <repo>/build)
#   MODEL=perf/out/synth-1b-q4_0.gguf ROUNDS=3
#   BASELINE=/path/to/ringserve   also load with that binary each round, in alternating order (a change's before)
#   PREFILL=0                     skip the prefills (load and dd only)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
rounds=${ROUNDS:-3}
model=${MODEL:-$repo/perf/out/synth-1b-q4_0.gguf}
out=$repo/perf/out/snapshot-bench
mkdir -p "$out"
cmake --build "$build" --target ringserve >/dev/null
[[ -f $model ]] || "$build/ringserve" synth --preset 1b --type q4_0 -o "$model" --log-level warn

# A 2,048-token prompt for a byte vocabulary (synth's): 2,046 bytes of seeded words after BOS and the space marker.
prompt=$(python3 -c 'import random; r = random.Random(7); w = []
while len(" ".join(w)) < 2046: w.append("".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(2, 9))))
print(" ".join(w)[:2046])')
python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$prompt" >"$out/prompts.jsonl"
snapshot=$out/preamble.rkv
"$build/ringserve" warm --model "$model" --prompts "$out/prompts.jsonl" -o "$snapshot" --log-level warn

echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; model $(basename "$model"); snapshot $(stat -c %s "$snapshot") bytes"
# One start of BINARY with the snapshot: the loader's figures and the time from start to "ready: serving".
load_once() {
  local binary=$1 log=$out/serve.log start
  start=$(date +%s.%N)
  "$binary" serve --host 127.0.0.1 --port 0 --no-pin --model "$model" --prefix-cache-file "$snapshot" >"$log" 2>&1 &
  local server=$!
  for _ in $(seq 6000); do grep -q "ready: serving" "$log" && break; sleep 0.01; done
  local ready_s
  ready_s=$(echo "$(date +%s.%N) - $start" | bc)
  kill -TERM "$server"; wait "$server" || true
  sed -n "s/.*loaded in \([0-9.]*\) ms (\([0-9.]*\) GB\/s.*/{\"load_ms\":\1,\"load_gb_s\":\2,\"ready_s\":$ready_s}/p" "$log"
}
for round in $(seq "$rounds"); do
  if [[ ${PREFILL:-1} != 0 ]]; then
    echo "prefill round $round: $(printf '%s' "$prompt" | "$build/ringserve" run --model "$model" -n 1 --json \
      --log-level warn | python3 -c 'import json,sys; print(json.dumps({"prefill_ms": json.load(sys.stdin)["ttft_ms"]}))')"
  fi
  if [[ -n ${BASELINE:-} && $((round % 2)) == 1 ]]; then echo "baseline load round $round: $(load_once "$BASELINE")"; fi
  echo "load round $round: $(load_once "$build/ringserve")"
  if [[ -n ${BASELINE:-} && $((round % 2)) == 0 ]]; then echo "baseline load round $round: $(load_once "$BASELINE")"; fi
  echo "dd round $round: {\"dd_gb_s\":$(dd if="$snapshot" of=/dev/null bs=4M iflag=direct 2>&1 |
    sed -n 's/.*, \([0-9.]*\) \([GM]\)B\/s$/\1 \2/p' | awk '{print ($2 == "M") ? $1 / 1000 : $1}')}"
done
