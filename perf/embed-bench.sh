#!/usr/bin/env bash
# embed-bench.sh: ringserve's CPU sentence encoder against llama.cpp's
# llama-embedding, on the same synth BERT file, in one run
# (perf/results/semantic-cache.md).
#
# What it measures (same thread count on both sides, interleaved rounds, the
#   order alternating): the forward pass of one batch of INPUTS inputs of
#   exactly TOKENS tokens each ([CLS] and [SEP] included), all in one call, as
#   /v1/embeddings runs the requests that wait together.
#   ringserve: perf/embed_bench.cc times cpu::BertEncoder::encode() of the whole
#     batch: one warm-up call, then RUNS calls; their mean (and median).
#   llama.cpp: llama-embedding on the same texts, the batch given 1 + RUNS
#     times (-c = -b = -ub = INPUTS × TOKENS, so each copy is one llama_decode),
#     and its own perf print, "prompt eval time", over RUNS: the mean of a batch.
#     In the pinned llama.cpp (node-llama-cpp 3.22.1) that counter never holds
#     the first batch's compute (growing the output buffer synchronizes before
#     it and books the batch's tokens at ~0 ms), so the first copy is the
#     warm-up on that side too; the raw line also gives the median gap between
#     its batch_decode log lines (batches 2..), which must agree.
#   Before the rounds, a check that llama.cpp's tokenizer gives the same ids as
#   ours for every input (llama-embedding --verbose-prompt).
# The inputs: embed_bench's seeded lower-case words, filled out with 2-letter
#   words (one id each in the synth WordPiece vocabulary) to the exact count.
# The model: `ringserve synth --arch bert --preset PRESET --type TYPE` (random
#   weights, bge-small: 384 wide, 12 layers, 12 heads, FFN 1536, CLS pooling).
# The peer: perf/llama-cpp.sh (node-llama-cpp's llama.cpp built natively);
#   LLAMA_CPP_BIN=DIR takes an existing build's bin/ instead. Without either the
#   script measures ringserve alone and says so.
#
# Usage: perf/embed-bench.sh [BUILD_DIR]     (default <repo>/build)
#   THREADS=2 TYPES="f16 f32" PRESET=bge-small ROUNDS=5 RUNS=3 INPUTS=32 TOKENS=64
# Output: one JSON line per side and round, then per type the medians over the
#   rounds and ours / llama.cpp in speed (above 1: ringserve is faster).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
out=$repo/perf/out
threads=${THREADS:-2}
types=${TYPES:-"f16 f32"}
preset=${PRESET:-bge-small}
rounds=${ROUNDS:-5}
runs=${RUNS:-3}
inputs=${INPUTS:-32}
tokens=${TOKENS:-64}
batch_tokens=$((inputs * tokens))
work=$out/embed-bench
mkdir -p "$work"

cmake --build "$build" --target ringserve embed_bench >/dev/null
# shellcheck source=perf/llama-cpp.sh
source "$repo/perf/llama-cpp.sh"
llama_embedding=$(llama_cpp_tool "$out" llama-embedding)
[[ -n $llama_embedding ]] || echo "embed-bench: no llama.cpp: measuring ringserve alone" >&2

echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; threads $threads;" \
  "$inputs inputs × $tokens tokens a batch; rounds $rounds × $runs runs; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# llama-embedding on `prompts`: its log (stderr; -lv 4 for the perf print) to `log`, its stdout to `log`.stdout.
llama() {
  local model=$1 prompts=$2 log=$3
  shift 3
  "$llama_embedding" -m "$model" -f "$prompts" -t "$threads" -tb "$threads" -c "$batch_tokens" -b "$batch_tokens" \
    -ub "$batch_tokens" -lv 4 "$@" >"$log.stdout" 2>"$log"
}

# llama.cpp's figures from a timed run's log as one JSON line.
llama_figures() {
  python3 - "$1" "$runs" "$batch_tokens" <<'EOF'
import json, re, statistics, sys
log, runs, batch_tokens = open(sys.argv[1]).read(), int(sys.argv[2]), int(sys.argv[3])
m = re.search(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens", log)
if not m:
    sys.exit("embed-bench: no 'prompt eval time' in llama-embedding's log " + sys.argv[1])
eval_ms, eval_tokens = float(m.group(1)), int(m.group(2))
stamps = []  # the log's "M.SS.mmm.uuu" timestamps of each batch_decode line, in ms
for line in log.splitlines():
    if "batch_decode: n_tokens" in line:
        mm, ss, ms, us = map(int, line.split()[0].split("."))
        stamps.append(mm * 60e3 + ss * 1e3 + ms + us / 1e3)
gaps = [b - a for a, b in zip(stamps[1:], stamps[2:])]  # batches 2.. (the first is the warm-up)
mean = eval_ms / runs
print(json.dumps({"mean_ms": round(mean, 2), "tok_s": round(batch_tokens / (mean / 1e3), 1),
                  "prompt_eval_ms": eval_ms, "prompt_eval_tokens": eval_tokens,
                  "log_gap_median_ms": round(statistics.median(gaps), 2) if gaps else None}))
EOF
}

summary=()
for type in $types; do
  model=$out/synth-$preset-$type.gguf
  [[ -f $model ]] || "$build/ringserve" synth --arch bert --preset "$preset" --type "$type" -o "$model" --log-level warn
  bench=("$build/perf/embed_bench" "$model" --threads "$threads" --inputs "$inputs" --tokens "$tokens" --runs "$runs")
  # The texts (one per line) and our ids; then llama.cpp's ids of the same texts must be the same.
  "${bench[@]}" --runs 1 --prompts "$work/prompts.txt" --ids "$work/ids-ringserve.txt" >/dev/null 2>&1
  if [[ -n $llama_embedding ]]; then
    llama "$model" "$work/prompts.txt" "$work/check-$type.log" --verbose-prompt
    python3 - "$work/check-$type.log.stdout" "$work/ids-ringserve.txt" "$inputs" "$tokens" <<'EOF'
import re, sys
log, ours = open(sys.argv[1]).read(), [l.split() for l in open(sys.argv[2])]
inputs, tokens = int(sys.argv[3]), int(sys.argv[4])
# --verbose-prompt writes to stdout, per prompt, one "   ID -> 'piece'" line per token, then blank lines.
theirs, previous_was_id = [], False
for line in log.splitlines():
    is_id = re.match(r"^\s*\d+ -> '", line) is not None
    if is_id and not previous_was_id:
        theirs.append([])
    if is_id:
        theirs[-1].append(line.split()[0])
    previous_was_id = is_id
same = theirs == ours and len(ours) == inputs and all(len(ids) == tokens for ids in ours)
print(f"tokens: {len(theirs)} inputs, llama.cpp's ids {'identical to ours' if same else 'DIFFER from ours'}"
      f" ({tokens} each: {all(len(ids) == tokens for ids in theirs)})")
sys.exit(0 if same else 1)
EOF
    for ((copy = 0; copy <= runs; copy++)); do cat "$work/prompts.txt"; done >"$work/prompts-x$((runs + 1)).txt"
  fi
  for round in $(seq "$rounds"); do
    order="ringserve llama.cpp"
    (( round % 2 == 0 )) && order="llama.cpp ringserve"
    for side in $order; do
      if [[ $side == ringserve ]]; then
        echo "ringserve $type round $round: $("${bench[@]}" 2>/dev/null)"
      elif [[ -n $llama_embedding ]]; then
        llama "$model" "$work/prompts-x$((runs + 1)).txt" "$work/llama-$type-$round.log"
        echo "llama.cpp $type round $round: $(llama_figures "$work/llama-$type-$round.log")"
      fi
    done
  done | tee "$work/rounds-$type.txt"
  summary+=("$(python3 - "$work/rounds-$type.txt" "$type" <<'EOF'
import json, statistics, sys
ours, theirs = [], []
for line in open(sys.argv[1]):
    who, _, rest = line.partition(" round ")
    figures = json.loads(rest.split(": ", 1)[1])
    if who.startswith("ringserve"):
        ours.append(sum(figures["runs_ms"]) / len(figures["runs_ms"]))
    else:
        theirs.append(figures["mean_ms"])
row = f"| {sys.argv[2]} | {statistics.median(ours):.0f} ms ({len(ours)} rounds: {min(ours):.0f}–{max(ours):.0f})"
if theirs:
    ratio = statistics.median(theirs) / statistics.median(ours)
    row += f" | {statistics.median(theirs):.0f} ms ({min(theirs):.0f}–{max(theirs):.0f}) | **{ratio:.2f}×** |"
else:
    row += " | – | – |"
print(row)
EOF
)")
done
echo
echo "| type | ringserve, median of rounds (range) | llama.cpp, median (range) | ringserve speed / llama.cpp |"
echo "|---|---:|---:|---:|"
printf '%s\n' "${summary[@]}"
