#!/usr/bin/env bash
# Starts ringserve on a free loopback port (the built-in demo model unless SERVE_ARGS names a
# model), waits until it is ready, runs a ringperf scenario against it, and stops the server.
# This is `make perf`.
#
# usage: perf/ringperf/run-against-ringserve.sh BUILD_DIR SCENARIO OUT_DIR [ringperf run options...]
#   SERVE_ARGS     extra `ringserve serve` flags, e.g. "--model model.gguf --max-seqs 32"
#   READY_TIMEOUT  seconds to wait for /ready (default 300)
# The server's log is left in OUT_DIR/ringserve.log beside ringperf's results.
set -euo pipefail

if [[ $# -lt 3 ]]; then
  sed -n '2,10p' "$0" >&2
  exit 2
fi
build=$1 scenario=$2 out=$3
shift 3
mkdir -p "$out"
log="$out/ringserve.log"

# shellcheck disable=SC2086  # SERVE_ARGS is a list of flags
"$build/ringserve" serve --host 127.0.0.1 --port 0 --no-pin ${SERVE_ARGS:-} >"$log" 2>&1 &
server=$!
# SIGTERM drains and exits; a server that has not exited 15 s later is killed, so a hang in its
# shutdown never hangs this script.
stop_server() {
  kill -TERM "$server" 2>/dev/null || return 0
  for ((i = 0; i < 150; i++)); do
    kill -0 "$server" 2>/dev/null || { wait "$server" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "ringserve did not exit 15 s after SIGTERM: killed (see $log)" >&2
  kill -KILL "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
trap stop_server EXIT

# --port 0 picks a free port; the log says which: "listening on http://127.0.0.1:PORT".
url=""
for ((i = 0; i < 300; i++)); do
  url=$(grep -so 'listening on http://[^ ]*' "$log" | head -1 | cut -d' ' -f3 || true)
  [[ -n $url ]] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "ringserve exited before listening" >&2; exit 1; }
  sleep 0.1
done
[[ -n $url ]] || { cat "$log" >&2; echo "ringserve did not say where it listens" >&2; exit 1; }

# /ready answers 200 once the model is loaded and a warm-up step has run.
deadline=$((SECONDS + ${READY_TIMEOUT:-300}))
until curl -sf -o /dev/null "$url/ready"; do
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "ringserve exited while loading" >&2; exit 1; }
  ((SECONDS < deadline)) || { echo "ringserve not ready after ${READY_TIMEOUT:-300} s" >&2; exit 1; }
  sleep 0.2
done

echo "ringperf: $scenario against ringserve at $url (log: $log)" >&2
"$build/ringperf" run "$scenario" --url "$url" --out "$out" "$@"
