#!/usr/bin/env bash
# Soak (issue 20): ringserve on synth 1b q4_0 (CPU) under perf/scenarios/soak.json's load (its inflection
# concurrency) for SOAK_MINUTES, its RSS and gauges sampled every SAMPLE_SECONDS; then checks that no
# request failed, that memory stayed flat and that nothing is held once the load stops. This is `make soak`.
#
# usage: perf/soak.sh [BUILD_DIR]            (default: build; needs ringserve and ringperf there)
#   SOAK_MINUTES         length of the load, warm-up included (default 30)
#   SOAK_WARMUP_MINUTES  not compared (default 3), and longer until the KV pool has been filled once
#   SOAK_KV_GIB          --kv-cache-gib (default 0.125: 256 blocks; 4 users need at most 128). The pool's pages
#                        are touched on first use and the prefix cache keeps taking fresh blocks until the pool
#                        is full, so a pool that fills only late would grow RSS through the soak without a leak
#   SOAK_MODEL           the model (default perf/out/synth-1b-q4_0.gguf, written by `ringserve synth` if missing)
#   SOAK_OUT             results folder (default perf/out/soak)
#   SAMPLE_SECONDS       sampling period (default 10)
#   SERVE_ARGS           more `ringserve serve` flags
#
# Output: one line per check, "PASS check: figures" or "FAIL ...", also written with the figures to
# SOAK_OUT/summary.md; samples in SOAK_OUT/samples.csv (seconds, RSS, KV usage, cached blocks, evictions,
# sequences, connections), ringperf's results and the server's log beside them. Exit status 1 when a check
# fails. RSS flat: the mean of the last 10 minutes is within 2% of the mean of the first 10 after the
# warm-up; a soak shorter than 30 minutes plus warm-up compares thirds of what follows the warm-up.
set -euo pipefail

build=${1:-build}
minutes=${SOAK_MINUTES:-30}
warmup=${SOAK_WARMUP_MINUTES:-3}
kv_gib=${SOAK_KV_GIB:-0.125}
model=${SOAK_MODEL:-perf/out/synth-1b-q4_0.gguf}
out=${SOAK_OUT:-perf/out/soak}
period=${SAMPLE_SECONDS:-10}
mkdir -p "$out"
log=$out/ringserve.log

if [[ ! -f $model ]]; then
  echo "soak: writing $model (ringserve synth --preset 1b --type q4_0)" >&2
  "$build/ringserve" synth --preset 1b --type q4_0 -o "$model"
fi

# shellcheck disable=SC2086  # SERVE_ARGS is a list of flags
"$build/ringserve" serve --model "$model" --host 127.0.0.1 --port 0 --no-pin --kv-cache-gib "$kv_gib" \
  ${SERVE_ARGS:-} >"$log" 2>&1 &
server=$!
sampler=""
stop_all() {
  [[ -n $sampler ]] && kill "$sampler" 2>/dev/null
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
trap stop_all EXIT

url=""
for ((i = 0; i < 300 && ${#url} == 0; i++)); do
  url=$(grep -so 'listening on http://[^ ]*' "$log" | head -1 | cut -d' ' -f3 || true)
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "soak: ringserve exited" >&2; exit 1; }
  [[ -n $url ]] || sleep 0.1
done
[[ -n $url ]] || { echo "soak: ringserve did not say where it listens" >&2; exit 1; }
until curl -sf -o /dev/null "$url/ready"; do
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "soak: ringserve exited while loading" >&2; exit 1; }
  sleep 0.5
done

# The named metrics from /metrics, each summed over its labels (shards), comma-separated.
metrics() {
  curl -sf "$url/metrics" | awk -v names="$*" '!/^#/ {name = $1; sub(/\{.*/, "", name); v[name] += $NF}
    END {n = split(names, want, " "); for (i = 1; i <= n; i++) printf "%s%g", (i > 1 ? "," : ""), v[want[i]]}'
}
# One sample: seconds since the load started, RSS (KiB), and the gauges.
sample() {
  echo "$((SECONDS - start)),$(awk '/^VmRSS:/ {print $2}' "/proc/$server/status"),$(metrics \
    ringserve_kv_cache_usage_ratio ringserve_prefix_cache_blocks ringserve_prefix_cache_evictions_total \
    ringserve_num_sequences_running ringserve_http_connections_open)"
}
curl -sf "$url/metrics" >"$out/metrics-start.txt"  # responses counted from here: /ready's 503s are not the load's
start=$SECONDS
echo "seconds,rss_kib,kv_usage,cached_blocks,evictions,sequences_running,connections_open" >"$out/samples.csv"
(while sleep "$period"; do sample >>"$out/samples.csv"; done) &
sampler=$!

# soak.json with its window stretched to SOAK_MINUTES (less its warm-up).
python3 - "$minutes" perf/scenarios/soak.json "$out/soak.json" <<'EOF'
import json, sys
minutes, source, target = float(sys.argv[1]), sys.argv[2], sys.argv[3]
scenario = json.load(open(source))
scenario["load"]["duration_seconds"] = max(1, round(minutes * 60 - scenario["load"]["warmup_seconds"]))
json.dump(scenario, open(target, "w"), indent=1)
EOF
echo "soak: $minutes minutes of perf/scenarios/soak.json against $url (pid $server), results in $out" >&2
"$build/ringperf" run "$out/soak.json" --url "$url" --out "$out" --no-progress >"$out/ringperf.log" 2>&1 ||
  { cat "$out/ringperf.log" >&2; echo "soak: ringperf failed" >&2; exit 1; }
load_end=$((SECONDS - start))
kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
sampler=""

# The clients are gone: the gauges have 30 s to come back to idle (the scrape's own connection is open).
for ((i = 0; i < 60; i++)); do
  [[ $(metrics ringserve_num_sequences_running ringserve_num_sequences_waiting ringserve_kv_cache_usage_ratio \
    ringserve_http_connections_open) == 0,0,0,1 ]] && break
  sleep 0.5
done
curl -sf "$url/metrics" >"$out/metrics-end.txt"
uptime >"$out/uptime.txt"
kill -TERM "$server"
status=0
wait "$server" || status=$?
trap - EXIT

python3 - "$out" "$warmup" "$load_end" "$status" "$minutes" <<'EOF'
import csv, json, re, sys
out, warmup_min, load_end, status, minutes = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rows = [{k: float(v or 0) for k, v in r.items()} for r in csv.DictReader(open(f"{out}/samples.csv"))]
result = json.load(open(f"{out}/results.json"))["points"][0]

def read_metrics(path):
    """Each metric summed over its labels, responses by status code, and sequences cancelled."""
    metrics, codes = {}, {}
    for line in open(path):
        if line.strip() and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            metrics[key.split("{")[0]] = metrics.get(key.split("{")[0], 0) + float(value)
            if code := re.search(r'ringserve_http_requests_total\{.*code="(\d+)"', key):
                codes[code.group(1)] = codes.get(code.group(1), 0) + float(value)
            if 'outcome="cancelled"' in key:
                metrics["cancelled"] = float(value)
    return metrics, codes

metrics, codes = read_metrics(f"{out}/metrics-end.txt")
_, codes_before = read_metrics(f"{out}/metrics-start.txt")
codes = {code: n - codes_before.get(code, 0) for code, n in codes.items()}
lines, failed = [], 0

def check(name, ok, detail):
    global failed
    failed += not ok
    lines.append(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")
    print(lines[-1], flush=True)

errors = {k: v for k, v in result["errors"].items() if v}
check("zero errors", result["failed"] == 0 and not errors and result["succeeded"] > 0,
      f"{result['succeeded']} requests succeeded, {result['failed']} failed {errors or ''}".rstrip())
http_errors = {code: n for code, n in codes.items() if code >= "400" and n}
check("no 4xx or 5xx answered", not http_errors, f"{http_errors or 'none'} (the server's count from the load's start; "
      f"{codes.get('200', 0):g} answered 200)")

# The warm-up ends at SOAK_WARMUP_MINUTES, or later once the KV pool has been filled (the first eviction).
filled = next((r["seconds"] for r in rows if r["evictions"] > 0), None)
warm_end = max(warmup_min * 60, filled or 0)
measured = [r for r in rows if warm_end <= r["seconds"] <= load_end]
span = (measured[-1]["seconds"] - measured[0]["seconds"]) if len(measured) > 1 else 0
window = min(600, span / 3)
first = [r["rss_kib"] for r in measured if r["seconds"] <= measured[0]["seconds"] + window]
last = [r["rss_kib"] for r in measured if r["seconds"] >= measured[-1]["seconds"] - window]
if first and last and window > 0:
    a, b = sum(first) / len(first) / 1024, sum(last) / len(last) / 1024
    # The least-squares slope after the warm-up: a slow leak shows there before it passes 2%.
    xs, ys = [r["seconds"] / 60 for r in measured], [r["rss_kib"] / 1024 for r in measured]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    check("RSS flat", abs(b - a) / a <= 0.02 and filled is not None,
          f"mean {a:.1f} MiB over the first {window / 60:.1f} min after the warm-up ({warm_end / 60:.1f} min), "
          f"{b:.1f} MiB over the last: {100 * (b - a) / a:+.2f}% (limit 2%), slope {slope:+.2f} MiB/min; KV pool "
          + (f"filled at {filled / 60:.1f} min" if filled is not None else "never filled: RSS not comparable"))
else:
    check("RSS flat", False, f"too few samples after a {warm_end / 60:.1f} min warm-up")
for name, want in (("ringserve_kv_cache_usage_ratio", 0), ("ringserve_num_sequences_running", 0),
                   ("ringserve_num_sequences_waiting", 0), ("ringserve_http_connections_open", 1)):
    check(f"{name} back to {want} at the end", metrics.get(name) == want,
          f"{metrics.get(name, float('nan')):g}" + (" (the final scrape's own)" if want else ""))
check("exit status 0 on SIGTERM", status == 0, str(status))

rss = [r["rss_kib"] / 1024 for r in rows]
with open(f"{out}/summary.md", "w") as f:
    f.write(f"# soak: {minutes} minutes, {result['concurrency']} users\n\n")
    f.write(f"- requests: {result['succeeded']} succeeded, {result['failed']} failed, {result['unfinished']} "
            f"unfinished at the window's end; {result['requests_per_s']:.2f} req/s, "
            f"{result['output_tokens_per_s']:.1f} output tok/s, TTFT p50 {result['ttft_ms']['p50']:.0f} ms, "
            f"p99 {result['ttft_ms']['p99']:.0f} ms, NTPOT p50 {result['ntpot_ms']['p50']:.1f} ms\n")
    f.write(f"- RSS: min {min(rss):.1f}, max {max(rss):.1f} MiB over {len(rows)} samples; "
            f"sequences cancelled {metrics.get('cancelled', 0):g} "
            f"(the requests in flight when the window closed)\n")
    f.write(f"- load average at the end: {open(f'{out}/uptime.txt').read().strip()}\n\n")
    f.write("\n".join(lines) + "\n")
sys.exit(1 if failed else 0)
EOF
