#!/usr/bin/env bash
# structured-bench.sh: what constrained decoding costs (perf/results/structured.md).
#
# What it measures
#   1. perf/structured_bench on the Llama 3.2 vocabulary (128,256 tokens, from
#      ../shared/tokenizers): per schema (a nested object, an array of objects
#      with formats, a recursive $ref tree) the compile time from schema text to
#      automaton (median of 50), and per generated token the mask
#      (Matcher::allowed) while valid documents, tokenized as a model writes
#      them, are fed through the matcher: "cold" over the first documents of a
#      freshly compiled grammar (each state's tokens computed on first use),
#      "warm" after; and the cost of masking a row of logits with it.
#   2. Decode with and without a json_schema constraint in the same run:
#      `ringserve run` on MODEL (synth 1b q4_0, CPU), TOKENS tokens with
#      --ignore-eos, greedy, ROUNDS rounds alternating which goes first;
#      decode tokens/s (run --json's decode_tok_s), medians and their ratio
#      (the issue's target: constrained ≥ 0.95× unconstrained).
#
# Usage: perf/structured-bench.sh [BUILD_DIR]   (default <repo>/build)
#   MODEL=perf/out/synth-1b-q4_0.gguf (written with `ringserve synth` if missing)
#   ROUNDS=5 TOKENS=64 THREADS=2 DOCUMENTS=200
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
model=${MODEL:-$repo/perf/out/synth-1b-q4_0.gguf}
rounds=${ROUNDS:-5}
tokens=${TOKENS:-64}
threads=${THREADS:-2}
documents=${DOCUMENTS:-200}

cmake --build "$build" --target ringserve structured_bench >/dev/null
echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# commit: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet || echo '+changes')"

echo "## masks: $build/perf/structured_bench (vocabulary, documents $documents)"
"$build/perf/structured_bench" "$repo/../shared/tokenizers/llama3.2-vocab.gguf" "$documents"

if [[ ! -f $model ]]; then
  mkdir -p "$(dirname "$model")"
  "$build/ringserve" synth --preset 1b --type q4_0 -o "$model"
fi
schema=$(mktemp --suffix=.json)
trap 'rm -f "$schema"' EXIT
echo '{"type":"object","properties":{"title":{"type":"string"},"chapters":{"type":"array","items":{"type":"object",
"properties":{"name":{"type":"string"},"pages":{"type":"integer"}},"required":["name","pages"]}}},
"required":["title","chapters"]}' >"$schema"

echo "## decode: ringserve run on $model, $tokens tokens, --ignore-eos, greedy, $threads threads; $rounds rounds"
rate() {  # decode tokens/s of one run; extra arguments go to ringserve run
  "$build/ringserve" run --model "$model" -n "$tokens" --json --ignore-eos --threads "$threads" \
    -p "Write the table of contents of a book." "$@" 2>/dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["tokens"]), d["decode_tok_s"])'
}
free_rates=() schema_rates=()
for ((r = 1; r <= rounds; ++r)); do
  if ((r % 2)); then
    read -r n_free free < <(rate)
    read -r n_schema constrained < <(rate --json-schema "$schema")
  else
    read -r n_schema constrained < <(rate --json-schema "$schema")
    read -r n_free free < <(rate)
  fi
  echo "round $r: unconstrained $free tok/s ($n_free tokens), json_schema $constrained tok/s ($n_schema tokens)"
  free_rates+=("$free") schema_rates+=("$constrained")
done
python3 - "${free_rates[*]}" "${schema_rates[*]}" <<'PY'
import statistics, sys
free = [float(x) for x in sys.argv[1].split()]
constrained = [float(x) for x in sys.argv[2].split()]
f, c = statistics.median(free), statistics.median(constrained)
print(f"median: unconstrained {f:.2f} tok/s, json_schema {c:.2f} tok/s, ratio {c / f:.3f}")
PY
