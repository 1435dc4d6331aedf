#!/usr/bin/env bash
# semantic-cache-bench.sh: the semantic cache on and off, in interleaved rounds,
# on the same model and machine (perf/results/semantic-cache.md).
#
# perf/scenarios/semantic-cache-half.json against `ringserve serve` on a 1B
# model with an embedding model loaded (--embedding-model), once with
# --semantic-cache and once without: only the cache differs. Half of the
# requests repeat one of 8 questions, the others ask a fresh one. Each run
# prints its point's output tokens/s, requests/s, p50 end-to-end latency and
# TTFT, and the cache's own counters from /metrics (scraped every 2 s while the
# run lasts, so the last scrape may miss the final 2 s): lookups, hits by tier
# (exact, semantic), inserts.
#
# Usage: perf/semantic-cache-bench.sh [BUILD_DIR]     (default <repo>/build)
#   MODEL=perf/out/synth-1b-q4_0.gguf  EMBEDDING_MODEL=perf/out/synth-bge-small-f16.gguf
#   (both made with `ringserve synth` when missing)  ROUNDS=3
#   SEMANTIC_ARGS="--semantic-threshold 0.999": more flags for the cache-on server.
#   ARMS="on off": the servers compared; add off-no-prefix (no semantic cache and
#   --no-prefix-cache) to see what the prefix cache already saves the baseline
#   on the repeated questions (it skips their prefill).
#
# Why 0.999 and not the default 0.95: the synth encoder's weights are random, and
# it maps any two of this workload's texts (random common words) to a cosine of
# 0.90-0.995 (measured over 44,850 pairs: median 0.975), where a trained
# bge-small puts unrelated questions well below 0.95. At 0.95 nearly every fresh
# question would be a false semantic hit and the figure would measure the
# synth model, not the cache (the /metrics counters show it: semantic_hits).
# At 0.999 fresh questions miss and repeats hit, as with a trained model; the
# embedding of every message the exact tier misses is still computed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
rounds=${ROUNDS:-3}
model=${MODEL:-$repo/perf/out/synth-1b-q4_0.gguf}
embedding=${EMBEDDING_MODEL:-$repo/perf/out/synth-bge-small-f16.gguf}
scenario=$repo/perf/scenarios/semantic-cache-half.json
semantic_args=${SEMANTIC_ARGS-"--semantic-threshold 0.999"}
arms=${ARMS:-"on off"}
out=$repo/perf/out/semantic-cache-bench
mkdir -p "$out"
cmake --build "$build" --target ringserve ringperf >/dev/null
[[ -f $model ]] || "$build/ringserve" synth --preset 1b --type q4_0 -o "$model" --log-level warn
[[ -f $embedding ]] ||
  "$build/ringserve" synth --arch bert --preset bge-small --type f16 -o "$embedding" --log-level warn

echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; model $(basename "$model")," \
  "embedding model $(basename "$embedding"); cache-on flags: --semantic-cache $semantic_args;" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"

# Copies the server's /metrics to $2 every 2 s while it answers; the server's log ($1) says where it listens.
scrape_metrics() {
  local log=$1 dest=$2 url=""
  for ((i = 0; i < 3000; i++)); do
    url=$(grep -so 'listening on http://[^ ]*' "$log" | head -1 | cut -d' ' -f3 || true)
    [[ -n $url ]] && break
    sleep 0.1
  done
  [[ -n $url ]] || return 0
  while curl -sf -o "$dest.part" "$url/metrics"; do
    mv "$dest.part" "$dest"
    sleep 2
  done
}

# One run of an arm: its point's figures, split by hits and misses, and the cache's counters as one JSON line.
measure() {
  local arm=$1 dir=$out/$1-$2
  local flags="--model $model --ctx-size 2048 --max-seqs 4 --embedding-model $embedding"
  case $arm in
    on) flags+=" --semantic-cache $semantic_args" ;;
    off) ;;
    off-no-prefix) flags+=" --no-prefix-cache" ;;
    *) echo "semantic-cache-bench: unknown arm $arm" >&2; return 1 ;;
  esac
  rm -rf "$dir" && mkdir -p "$dir"
  scrape_metrics "$dir/ringserve.log" "$dir/metrics.txt" &
  local scraper=$!
  SERVE_ARGS="$flags" "$repo/perf/ringperf/run-against-ringserve.sh" "$build" "$scenario" "$dir" >/dev/null 2>&1
  wait "$scraper" || true
  python3 - "$dir/results.json" "$dir/metrics.txt" <<'EOF'
import csv, json, os, re, statistics, sys
p = json.load(open(sys.argv[1]))["points"][0]
line = {"succeeded": p["succeeded"], "failed": p["failed"], "window_s": round(p["window_s"], 1),
        "output_tokens_per_s": round(p["output_tokens_per_s"], 2), "requests_per_s": round(p["requests_per_s"], 3),
        "e2e_p50_ms": round(p["e2e_ms"]["p50"]), "ttft_p50_ms": round(p["ttft_ms"]["p50"]),
        "mean_output_tokens": round(p["mean_output_tokens"], 1)}
# The requests sent in the window (requests.csv, sent_s >= 0), split: a cached answer arrives in one or two SSE
# events, a generated one in about one per token (17 or more of the 32 here).
rows = [r for r in csv.DictReader(open(os.path.join(os.path.dirname(sys.argv[1]), "requests.csv")))
        if float(r["sent_s"]) >= 0 and r["http_status"] == "200"]
misses = [r for r in rows if int(r["text_chunks"]) > 2]
p50 = lambda key: round(statistics.median(float(r[key]) for r in misses)) if misses else None
line["split"] = {"sent": len(rows), "hits": len(rows) - len(misses), "miss_e2e_p50_ms": p50("e2e_ms"),
                 "miss_ttft_p50_ms": p50("ttft_ms"), "miss_tpot_p50_ms": p50("tpot_ms")}
metrics = open(sys.argv[2]).read() if os.path.exists(sys.argv[2]) else ""
if "ringserve_semantic_cache_lookups_total" in metrics:  # the cache-on server's
    def value(pattern):
        m = re.search("^" + pattern + r" (\S+)$", metrics, re.M)
        return int(float(m.group(1))) if m else None
    line["cache"] = {"lookups": value("ringserve_semantic_cache_lookups_total"),
                     "exact_hits": value(r'ringserve_semantic_cache_hits_total\{tier="exact"\}'),
                     "semantic_hits": value(r'ringserve_semantic_cache_hits_total\{tier="semantic"\}'),
                     "inserts": value("ringserve_semantic_cache_inserts_total")}
print(json.dumps(line))
EOF
}

for round in $(seq "$rounds"); do
  # Reverse the order every other round, so that no arm always meets a warmer or cooler machine.
  order=$arms
  (( round % 2 == 0 )) && order=$(tr ' ' '\n' <<<"$arms" | tac | tr '\n' ' ')
  for arm in $order; do
    echo "semantic cache $arm round $round (load $(cut -d' ' -f1 /proc/loadavg)): $(measure "$arm" "$round")"
  done
done | tee "$out/rounds.txt"

python3 - "$out/rounds.txt" <<'EOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    arm = line.split()[2]
    runs.setdefault(arm, []).append(json.loads(line.split("): ", 1)[1]))
med = lambda arm, key: statistics.median(r[key] for r in runs[arm])
print("\n| arm | rounds | output tok/s | requests/s | e2e p50 | hits / sent |")
print("|---|---:|---:|---:|---:|---:|")
for arm, rs in runs.items():
    hits = sum(r["split"]["hits"] for r in rs) / max(1, sum(r["split"]["sent"] for r in rs))
    print(f"| {arm} | {len(rs)} | {med(arm, 'output_tokens_per_s'):.1f} | {med(arm, 'requests_per_s'):.2f} "
          f"| {med(arm, 'e2e_p50_ms'):.0f} ms | {hits:.0%} |")
if "on" in runs:
    for base in (arm for arm in runs if arm != "on"):
        ratio = med("on", "output_tokens_per_s") / med(base, "output_tokens_per_s")
        print(f"\non / {base}, medians of output tokens/s: **{ratio:.2f}×**")
EOF
