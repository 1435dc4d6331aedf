#!/usr/bin/env bash
# api-bench.sh: the OpenAI API under streaming load, on a real-sized model on
# the CPU: throughput, latency, and what serving costs per streamed token.
#
# What it measures
#   Starts `ringserve serve` on MODEL (default: the synth 1b model in q4_0,
#   written first if missing) and runs perf/api-bench.mjs against it: for each
#   concurrency level in CLIENTS, that many clients each send one unmeasured
#   warm-up request, then REQUESTS streaming POST /v1/completions back to back
#   (a closed loop), each with a prompt of about PROMPT_TOKENS tokens and
#   max_tokens MAX_TOKENS with ignore_eos, temperature 0.
#   Per level: aggregate output tokens/s (all output tokens / wall time of the
#   level), TTFT p50/p99 (send to the first chunk with text), TPOT (median of
#   (e2e - ttft) / (tokens - 1)); and the serving overhead: CPU time of the
#   server's shard threads (HTTP + SSE + JSON + detokenizing) per streamed
#   token, against the engine's step time from /metrics. The issue's target:
#   under 5% of the step time.
#
# How to read it
#   See the comment at the top of perf/api-bench.mjs and perf/results/api.md.
#   Client, server and compute threads share this machine's cores: on a 2-core
#   machine the engine's compute threads (THREADS, default every core) compete
#   with the shard and the client, and anything else running (a compiler)
#   slows every step many times over, since the compute pool's threads wait
#   for each other at every region. The header prints the load average.
#
# Usage
#   perf/api-bench.sh [MODEL] [RINGSERVE_BINARY]
#     MODEL             default /var/tmp/synth-1b-q4_0.gguf; if missing, written with
#                       ringserve synth --preset 1b --type q4_0 -o MODEL
#     RINGSERVE_BINARY  default <repo>/build/ringserve
#   Environment knobs (defaults):
#     CLIENTS="1 8 32"  concurrency levels     MAX_TOKENS=64      tokens per request
#     PROMPT_TOKENS=128 prompt length (BOS included, checked with POST /tokenize)
#     REQUESTS=3        measured requests per client per level
#     DURATION=         seconds per level instead of REQUESTS (each client starts
#                       new requests until then; at least one each)
#     THREADS=          the server's compute threads (--threads; default: every core)
#     IDLE=3            seconds of no load before the levels, to measure the
#                       shards' idle CPU (0: skip)
#     SERVER_ARGS=      more `ringserve serve` arguments (e.g. "--max-seqs 128"
#                       for more than 64 clients: beyond --max-seqs requests queue)
#     READY_TIMEOUT=120 seconds to wait for GET /ready
#   Quick check: CLIENTS="1 4" MAX_TOKENS=16 REQUESTS=1 perf/api-bench.sh
#
# Needs node >= 20 (no npm packages) and curl. Exits non-zero if the server
# fails to start or any request fails; missing the target does not fail it.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)

die() { echo "api-bench: error: $*" >&2; exit 1; }

CLIENTS=${CLIENTS:-"1 8 32"}
MAX_TOKENS=${MAX_TOKENS:-64}
PROMPT_TOKENS=${PROMPT_TOKENS:-128}
REQUESTS=${REQUESTS:-3}
DURATION=${DURATION:-}
THREADS=${THREADS:-}
IDLE=${IDLE:-3}
SERVER_ARGS=${SERVER_ARGS:-}
READY_TIMEOUT=${READY_TIMEOUT:-120}

model=${1:-/var/tmp/synth-1b-q4_0.gguf}
ringserve_bin=${2:-$repo_root/build/ringserve}
[[ -x $ringserve_bin ]] || die "ringserve binary not found or not executable: $ringserve_bin (build with: cmake --build $repo_root/build --target ringserve)"
for tool in node curl; do
  command -v "$tool" >/dev/null || die "'$tool' not found"
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "node >= 20 needed, found $(node --version)"
for knob in MAX_TOKENS PROMPT_TOKENS REQUESTS READY_TIMEOUT; do
  [[ ${!knob} =~ ^[1-9][0-9]*$ ]] || die "$knob must be a positive integer, got '${!knob}'"
done
((MAX_TOKENS >= 2)) || die "MAX_TOKENS must be at least 2 (TPOT needs two tokens)"
[[ -z $THREADS || $THREADS =~ ^[1-9][0-9]*$ ]] || die "THREADS must be a positive integer, got '$THREADS'"
[[ -z $DURATION || $DURATION =~ ^[0-9]+([.][0-9]+)?$ ]] || die "DURATION must be a number of seconds, got '$DURATION'"
[[ $IDLE =~ ^[0-9]+([.][0-9]+)?$ ]] || die "IDLE must be a number of seconds, got '$IDLE'"
for c in $CLIENTS; do [[ $c =~ ^[1-9][0-9]*$ ]] || die "CLIENTS must be positive integers, got '$CLIENTS'"; done

if [[ ! -f $model ]]; then
  echo "api-bench: $model is missing: writing it with ringserve synth --preset 1b --type q4_0" >&2
  "$ringserve_bin" synth --preset 1b --type q4_0 -o "$model" --log-level warn
fi
[[ -r $model ]] || die "MODEL must be a readable file: $model"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/api-bench.XXXXXX")
server_pid=""

stop_server() {  # TERM, then KILL if it is still there after 15 s (drain is 8 s)
  local i
  [[ -n $server_pid ]] || return 0
  kill -TERM "$server_pid" 2>/dev/null || return 0
  for ((i = 0; i < 150; i++)); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    echo "api-bench: the server did not exit 15 s after SIGTERM: killing it" >&2
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
cleanup() {
  stop_server
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "api-bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

show_log() { sed 's/^/  /' "$tmp/server.log" >&2; }

# ------------------------------------------------------------ the server --

server_cmd=("$ringserve_bin" serve --model "$model" --host 127.0.0.1 --port 0 --no-pin)
[[ -z $THREADS ]] || server_cmd+=(--threads "$THREADS")
# shellcheck disable=SC2206  # SERVER_ARGS is a list of words on purpose
[[ -z $SERVER_ARGS ]] || server_cmd+=($SERVER_ARGS)
: >"$tmp/server.log"  # before the server starts: the redirection below happens in the background
"${server_cmd[@]}" >>"$tmp/server.log" 2>&1 &
server_pid=$!

port=""
for ((i = 0; i < 300; i++)); do  # the port is in the "listening on" line, before the model loads
  kill -0 "$server_pid" 2>/dev/null || { echo "api-bench: the server exited during startup; its output:" >&2; show_log; exit 1; }
  port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$tmp/server.log" | head -n1)
  [[ -z $port ]] || break
  sleep 0.1
done
[[ -n $port ]] || { echo "api-bench: no 'listening on' line from the server in 30 s; its output:" >&2; show_log; exit 1; }
for ((i = 0; ; i++)); do
  kill -0 "$server_pid" 2>/dev/null || { echo "api-bench: the server exited while loading; its output:" >&2; show_log; exit 1; }
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/ready") == 200 ]] && break
  ((i < READY_TIMEOUT * 10)) || { echo "api-bench: /ready not 200 after ${READY_TIMEOUT} s; server output:" >&2; show_log; exit 1; }
  sleep 0.1
done

command="CLIENTS=\"$CLIENTS\" MAX_TOKENS=$MAX_TOKENS PROMPT_TOKENS=$PROMPT_TOKENS REQUESTS=$REQUESTS"
command+=" DURATION=$DURATION THREADS=$THREADS IDLE=$IDLE SERVER_ARGS=\"$SERVER_ARGS\" perf/api-bench.sh $model"
bench_args=(--url "http://127.0.0.1:$port" --pid "$server_pid" --model "$model" --clients "$CLIENTS"
  --server "${server_cmd[*]}" --command "$command"
  --max-tokens "$MAX_TOKENS" --prompt-tokens "$PROMPT_TOKENS" --requests "$REQUESTS" --idle "$IDLE"
  --threads "${THREADS:-$(nproc) (default)}")
[[ -z $DURATION ]] || bench_args+=(--duration "$DURATION")
status=0
node "$script_dir/api-bench.mjs" "${bench_args[@]}" || status=$?

t0=$(date +%s.%N)
stop_server
if ((status == 0)); then
  echo "stop       the server exited $(awk -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }') s after SIGTERM"
else
  echo "api-bench: the benchmark failed (exit $status); server log tail:" >&2
  tail -n 20 "$tmp/server.log" | sed 's/^/  /' >&2
fi
exit "$status"
