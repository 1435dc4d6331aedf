#!/usr/bin/env bash
# http-bench.sh: ringserve's HTTP front end against nginx, GET /health over loopback.
#
# What it measures
#   Pure HTTP/1.1 keep-alive request handling: no model, no engine work. Both
#   servers answer GET /health with the same 200 application/json body
#   ({"status":"ok"}\n, 16 bytes). ringserve runs with one shard and nginx
#   (Debian package, config from perf/nginx-health.conf) with one worker, both
#   pinned to SERVER_CPU; wrk runs pinned to CLIENT_CPU. Each round runs wrk
#   against ringserve and then against nginx, so slow drift of the machine
#   (thermal, neighbours) hits both alike. One unmeasured warm-up run per server
#   comes first.
#
# How to read it
#   The table shows, per server, the MEDIAN over the rounds of wrk's
#   requests/s and of its 99th-percentile latency (wrk --latency, uncorrected),
#   the median CPU the server process used during its runs (100% = one core),
#   and how busy the CLIENT_CPU cores were (wrk plus the kernel's loopback work;
#   100% = all of them). Then:
#     req/s ratio = ringserve / nginx   (higher is better for ringserve)
#     p99 ratio   = ringserve / nginx   (lower is better for ringserve)
#   Target (from the issue): req/s ratio >= 1.20 with p99 ratio <= 1.00.
#   Per-round lines also show "conns", the TCP connections the server accepted
#   during the run: it should be CONNECTIONS + 1 (wrk first makes one probe
#   connection to check the address); more means the server closed
#   keep-alive connections and wrk reconnected (wrk reports no error for that),
#   and the script prints a note.
#   Server CPU well below 100% (with client CPU near 100%) means the server was
#   not the bottleneck, wrk was, and the ratios then understate the difference;
#   the script prints a note when that happens.
#   Compare numbers only between runs on the same machine, kernel and settings;
#   the header prints them so a result can be reproduced.
#
# Usage
#   perf/http-bench.sh [RINGSERVE_BINARY]       (default: <repo>/build/ringserve)
#   Environment knobs (defaults):
#     CONNECTIONS=64  wrk connections (-c)        THREADS=1   wrk threads (-t)
#     DURATION=10s    wrk duration per run (-d)   ROUNDS=5    measured rounds
#     WARMUP=1s       unmeasured run per server before the rounds (0: none)
#     SERVER_CPU=0    the one CPU both servers are pinned to
#     CLIENT_CPU=1    CPU list wrk is pinned to (taskset -c syntax)
#     SERVER_CPU_QUOTA=50  percent of SERVER_CPU each server may use (a CPU
#                     cgroup, 10 ms period); "none" for no limit. On a 2-core
#                     machine one wrk thread saturates its core at about the
#                     rate either server reaches on a full core, so unlimited
#                     runs measure wrk; with both servers held to the same
#                     share, the server is the bottleneck and req/s compares
#                     the servers' work per request.
#     RINGSERVE_ARGS= extra `ringserve serve` flags, e.g. "--io-backend epoll"
#                     (the front end as it runs where io_uring is refused)
#     PIPELINE=1      requests wrk sends back to back on a connection before
#                     reading the responses (HTTP/1.1 pipelining, via a wrk
#                     Lua script); above 1 it shows how each server batches.
#   Quick check: ROUNDS=1 DURATION=2s perf/http-bench.sh
#
# Needs wrk, nginx, curl, taskset and python3 (deploy/install-deps.sh --perf).
# Exits non-zero if a server fails to start or any wrk run reports socket
# errors or non-2xx/3xx responses; missing the target does not fail the run.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)

CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-1s}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SERVER_CPU_QUOTA=${SERVER_CPU_QUOTA:-50}
PIPELINE=${PIPELINE:-1}
[[ $PIPELINE =~ ^[1-9][0-9]*$ ]] || die "PIPELINE must be a positive integer, not '$PIPELINE'"

die() { echo "http-bench: error: $*" >&2; exit 1; }

# ---------------------------------------------------------------- arguments --

ringserve_bin=${1:-$repo_root/build/ringserve}
[[ -x $ringserve_bin ]] || die "ringserve binary not found or not executable: $ringserve_bin (build with: cmake --build $repo_root/build)"
ringserve_bin=$(cd "$(dirname "$ringserve_bin")" && pwd)/$(basename "$ringserve_bin")
nginx_template=$script_dir/nginx-health.conf
[[ -r $nginx_template ]] || die "missing $nginx_template"

for tool in wrk nginx curl taskset python3 awk lscpu; do
  command -v "$tool" >/dev/null || die "'$tool' not found (install with: deploy/install-deps.sh --perf)"
done
[[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || die "CONNECTIONS must be a positive integer, got '$CONNECTIONS'"
[[ $THREADS =~ ^[1-9][0-9]*$ ]] || die "THREADS must be a positive integer, got '$THREADS'"
((THREADS <= CONNECTIONS)) || die "THREADS ($THREADS) must not exceed CONNECTIONS ($CONNECTIONS)"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
[[ $SERVER_CPU =~ ^[0-9]+$ ]] || die "SERVER_CPU must be a single CPU number (one shard, one worker), got '$SERVER_CPU'"
taskset -c "$SERVER_CPU" true 2>/dev/null || die "cannot pin to SERVER_CPU=$SERVER_CPU (allowed: $(taskset -cp $$ | sed 's/.*: //'))"
taskset -c "$CLIENT_CPU" true 2>/dev/null || die "cannot pin to CLIENT_CPU=$CLIENT_CPU (allowed: $(taskset -cp $$ | sed 's/.*: //'))"
[[ $SERVER_CPU != "$CLIENT_CPU" ]] || echo "http-bench: warning: server and client share CPU $SERVER_CPU; results will mostly measure scheduling" >&2

# worker_cpu_affinity takes a bit mask written as binary digits, CPU 0 rightmost.
cpu_mask=1
for ((i = 0; i < SERVER_CPU; i++)); do cpu_mask+=0; done

# ------------------------------------------------------- setup and cleanup --

tmp=$(mktemp -d "${TMPDIR:-/tmp}/http-bench.XXXXXX")
ringserve_pid=""
nginx_pid=""

stop_server() {  # pid: TERM, then KILL if it is still there after 5 s
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cgroups=()
cleanup() {
  stop_server "$ringserve_pid"
  stop_server "$nginx_pid"
  local dir
  for dir in "${cgroups[@]}"; do rmdir "$dir" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "http-bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

free_port() {  # a port nothing listens on, from the kernel's ephemeral range
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_ready NAME PID PORT LOG...: until /health answers; fail, showing the logs,
# if the process exits or 10 s pass.
wait_ready() {
  local name=$1 pid=$2 port=$3 i
  shift 3
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "http-bench: $name exited during startup; its output:" >&2
      cat "$@" 2>/dev/null | sed 's/^/  /' >&2
      exit 1
    fi
    curl -sf --max-time 1 -o /dev/null "http://127.0.0.1:$port/health" && return 0
    sleep 0.1
  done
  echo "http-bench: $name did not answer http://127.0.0.1:$port/health within 10 s; its output:" >&2
  cat "$@" 2>/dev/null | sed 's/^/  /' >&2
  exit 1
}

# cpu_ticks PID...: user + system clock ticks used so far by these processes (all threads).
cpu_ticks() {
  local total=0 pid stat fields
  for pid in "$@"; do
    stat=$(<"/proc/$pid/stat") || continue
    read -ra fields <<<"${stat##*) }"  # fields after "pid (comm) ": [11] utime, [12] stime
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}
clk_tck=$(getconf CLK_TCK)

# The CPUs in CLIENT_CPU ("1", "1,3", "2-5"), space separated.
client_cpus=$(awk -v list="$CLIENT_CPU" 'BEGIN {
  n = split(list, parts, ",")
  for (i = 1; i <= n; i++) {
    if (split(parts[i], r, "-") == 2) { for (c = r[1]; c <= r[2]; c++) printf "%d ", c }
    else printf "%d ", parts[i]
  } }')

# client_jiffies: "busy total" jiffies so far of the CLIENT_CPU cores, from /proc/stat
# (whole cores: wrk plus the kernel's loopback TCP work, plus anything else running there).
client_jiffies() {
  awk -v list=" $client_cpus" '$1 ~ /^cpu[0-9]+$/ && index(list, " " substr($1, 4) " ") {
      busy += $2 + $3 + $4 + $7 + $8 + $9; total += $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }
    END { print busy + 0, total + 0 }' /proc/stat
}

# passive_opens: TCP connections accepted so far in this network namespace
# (/proc/net/snmp Tcp PassiveOpens). wrk opens CONNECTIONS connections per run,
# plus one probe connection it closes at once; more means the server closed
# keep-alive connections and wrk reconnected, which it does silently (no error)
# when the server says "Connection: close".
passive_opens() {
  awk '$1 == "Tcp:" { if (!col) { for (i = 2; i <= NF; i++) if ($i == "PassiveOpens") col = i }
                      else { print $col; exit } }' /proc/net/snmp
}

# to_ms VALUE: wrk's latency ("812.00us", "1.25ms", "2.01s") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/)     printf "%.3f\n", substr(v, 1, length(v) - 2) / 1000
    else if (v ~ /ms$/) printf "%.3f\n", substr(v, 1, length(v) - 2)
    else if (v ~ /s$/)  printf "%.3f\n", substr(v, 1, length(v) - 1) * 1000
    else if (v ~ /m$/)  printf "%.3f\n", substr(v, 1, length(v) - 1) * 60000
    else exit 1 }'
}

median() {  # median of the numbers given as arguments
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
    END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# run_wrk NAME PORT DURATION PIDS...: one wrk run; sets rps, p99_ms, cpu_pct (the
# server PIDS' CPU use, 100 = one core), client_pct (CLIENT_CPU cores busy, 100 = all)
# and conns (TCP connections accepted during the run; CONNECTIONS + 1 when none was closed).
# Fails loudly, printing wrk's output, on socket errors or non-2xx/3xx responses.
run_wrk() {
  local name=$1 port=$2 duration=$3
  shift 3
  local out ticks0 ticks1 t0 t1 p99 errors non2xx client0 client1 opens0
  opens0=$(passive_opens)
  ticks0=$(cpu_ticks "$@")
  client0=$(client_jiffies)
  t0=$(date +%s.%N)
  if ! out=$(taskset -c "$CLIENT_CPU" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency \
      "${wrk_script[@]}" "http://127.0.0.1:$port/health" 2>&1); then
    printf 'http-bench: wrk against %s failed:\n%s\n' "$name" "$out" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  client1=$(client_jiffies)
  ticks1=$(cpu_ticks "$@")
  conns=$(($(passive_opens) - opens0))
  # wrk prints these two lines only when the counts are non-zero. Read errors
  # include the server closing a keep-alive connection without announcing it
  # (Connection: close); timeouts are requests without an answer after 2 s.
  errors=$(awk '/^ *Socket errors:/ { sub(/^ *Socket errors: */, ""); print }' <<<"$out")
  non2xx=$(awk '/^ *Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
  if [[ -n $errors || -n $non2xx ]]; then
    printf 'http-bench: %s: wrk saw %s%s%s; wrk output:\n%s\n' "$name" \
      "${errors:+socket errors ($errors)}" "${errors:+${non2xx:+ and }}" \
      "${non2xx:+$non2xx non-2xx/3xx responses}" "$out" >&2
    exit 1
  fi
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  if [[ -z $rps || -z $p99 ]] || ! p99_ms=$(to_ms "$p99"); then
    printf 'http-bench: cannot parse wrk output for %s:\n%s\n' "$name" "$out" >&2
    exit 1
  fi
  cpu_pct=$(awk -v d="$((ticks1 - ticks0))" -v hz="$clk_tck" -v t0="$t0" -v t1="$t1" \
    'BEGIN { printf "%.0f\n", 100 * d / hz / (t1 - t0) }')
  client_pct=$(awk -v a="$client0" -v b="$client1" \
    'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]; printf "%.0f\n", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }')
}

# ------------------------------------------------------------------ header --

wrk_version=$(wrk -v 2>&1 | head -n1 | sed 's/ *Copyright.*//') || true
nginx_version=$(nginx -v 2>&1 | sed 's/^nginx version: //')
ringserve_version=$("$ringserve_bin" --version 2>&1 | head -n1) || ringserve_version="?"
repo_rev=$(git -C "$repo_root" rev-parse --short HEAD 2>/dev/null) || repo_rev="?"
if [[ $repo_rev != "?" ]] && ! git -C "$repo_root" diff --quiet HEAD 2>/dev/null; then repo_rev+="+dirty"; fi
cpu_model=$(lscpu | awk -F: '/^Model name:/ { sub(/^ */, "", $2); print $2; exit }')

echo "== http-bench: ringserve vs nginx, GET /health over loopback =="
echo "kernel     $(uname -r)"
echo "cpu        ${cpu_model:-?} ($(nproc) CPUs usable)"
echo "wrk        $wrk_version"
echo "nginx      $nginx_version"
echo "ringserve  $ringserve_version, $ringserve_bin (repo at $repo_rev)"

# ---------------------------------------------------------- start servers --

ringserve_port=$(free_port)
nginx_port=$(free_port)
while [[ $nginx_port == "$ringserve_port" ]]; do nginx_port=$(free_port); done

# shellcheck disable=SC2206  # RINGSERVE_ARGS is a list of flags
ringserve_cmd=(taskset -c "$SERVER_CPU" "$ringserve_bin" serve --host 127.0.0.1 --port "$ringserve_port" --shards 1
               ${RINGSERVE_ARGS:-})
"${ringserve_cmd[@]}" >"$tmp/ringserve.log" 2>&1 &
ringserve_pid=$!

sed -e "s|@DIR@|$tmp|g" -e "s|@PORT@|$nginx_port|g" -e "s|@CPU_MASK@|$cpu_mask|g" \
  "$nginx_template" >"$tmp/nginx.conf"
# -p/-e keep nginx away from /usr/share/nginx and /var/log/nginx even before it reads the config.
nginx_cmd=(taskset -c "$SERVER_CPU" nginx -p "$tmp/" -e "$tmp/error.log" -c "$tmp/nginx.conf")
"${nginx_cmd[@]}" >"$tmp/nginx.out" 2>&1 &
nginx_pid=$!

wait_ready ringserve "$ringserve_pid" "$ringserve_port" "$tmp/ringserve.log"
wait_ready nginx "$nginx_pid" "$nginx_port" "$tmp/nginx.out" "$tmp/error.log"
mapfile -t nginx_workers < <(pgrep -P "$nginx_pid" || true)
nginx_pids=("$nginx_pid" "${nginx_workers[@]}")  # master + worker, for CPU accounting

wrk_script=()
if ((PIPELINE > 1)); then
  cat >"$tmp/pipeline.lua" <<LUA
-- $PIPELINE GET /health requests per write; wrk counts each response.
init = function(args)
  local batch = {}
  for i = 1, $PIPELINE do batch[i] = wrk.format("GET", "/health") end
  pipelined = table.concat(batch)
end
request = function() return pipelined end
LUA
  wrk_script=(-s "$tmp/pipeline.lua")
fi

# limit_cpu NAME PID...: holds the processes to SERVER_CPU_QUOTA% of a core.
limit_cpu() {
  local name=$1 dir quota=$((SERVER_CPU_QUOTA * 100)) pid
  shift
  if [[ -d /sys/fs/cgroup/cpu && -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]]; then  # cgroup v1
    dir=/sys/fs/cgroup/cpu/http-bench-$$-$name
    mkdir "$dir" || die "cannot create CPU cgroup $dir (run as root, or SERVER_CPU_QUOTA=none)"
    cgroups+=("$dir")
    echo 10000 >"$dir/cpu.cfs_period_us"
    echo "$quota" >"$dir/cpu.cfs_quota_us"
  else  # cgroup v2
    dir=/sys/fs/cgroup/http-bench-$$-$name
    mkdir "$dir" || die "cannot create CPU cgroup $dir (run as root, or SERVER_CPU_QUOTA=none)"
    cgroups+=("$dir")
    echo "$quota 10000" >"$dir/cpu.max" || die "no cpu controller in $dir (SERVER_CPU_QUOTA=none)"
  fi
  for pid; do echo "$pid" >"$dir/cgroup.procs"; done
}
if [[ $SERVER_CPU_QUOTA != none ]]; then
  limit_cpu ringserve "$ringserve_pid"
  limit_cpu nginx "${nginx_pids[@]}"
fi

# check_response NAME PORT: both must send the same body, or the comparison is
# not like for like; prints the response's size for the report.
check_response() {
  local name=$1 port=$2 body
  body=$(curl -sf "http://127.0.0.1:$port/health"; echo x)  # the x keeps the trailing newline
  [[ ${body%x} == $'{"status":"ok"}\n' ]] || die "$name /health body is not {\"status\":\"ok\"}\\n: '${body%x}'"
  curl -s -o /dev/null -w '%{size_header} B headers + %{size_download} B body, %{content_type}' \
    "http://127.0.0.1:$port/health"
}
ringserve_response=$(check_response ringserve "$ringserve_port")
nginx_response=$(check_response nginx "$nginx_port")

echo
echo "config     CONNECTIONS=$CONNECTIONS THREADS=$THREADS DURATION=$DURATION ROUNDS=$ROUNDS WARMUP=$WARMUP SERVER_CPU=$SERVER_CPU CLIENT_CPU=$CLIENT_CPU SERVER_CPU_QUOTA=$SERVER_CPU_QUOTA PIPELINE=$PIPELINE"
echo "ringserve  ${ringserve_cmd[*]}"
echo "nginx      ${nginx_cmd[*]}   (perf/nginx-health.conf, worker_cpu_affinity $cpu_mask)"
echo "wrk        taskset -c $CLIENT_CPU wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency ${wrk_script[*]} http://127.0.0.1:PORT/health"
echo "responses  ringserve: $ringserve_response; nginx: $nginx_response"
echo

# --------------------------------------------------------------- measure --

if [[ $WARMUP != 0 && $WARMUP != 0s ]]; then
  echo "warm-up    $WARMUP per server"
  run_wrk ringserve "$ringserve_port" "$WARMUP" "$ringserve_pid"
  run_wrk nginx "$nginx_port" "$WARMUP" "${nginx_pids[@]}"
fi

rs_rps=() rs_p99=() rs_cpu=() rs_client=() ng_rps=() ng_p99=() ng_cpu=() ng_client=()
rs_conns_max=0 ng_conns_max=0
for ((round = 1; round <= ROUNDS; round++)); do
  run_wrk ringserve "$ringserve_port" "$DURATION" "$ringserve_pid"
  rs_rps+=("$rps") rs_p99+=("$p99_ms") rs_cpu+=("$cpu_pct") rs_client+=("$client_pct")
  ((conns <= rs_conns_max)) || rs_conns_max=$conns
  line=$(printf 'round %d/%d  ringserve %7.0f req/s  p99 %7.3f ms  cpu %3d%%  conns %d' \
    "$round" "$ROUNDS" "$rps" "$p99_ms" "$cpu_pct" "$conns")
  run_wrk nginx "$nginx_port" "$DURATION" "${nginx_pids[@]}"
  ng_rps+=("$rps") ng_p99+=("$p99_ms") ng_cpu+=("$cpu_pct") ng_client+=("$client_pct")
  ((conns <= ng_conns_max)) || ng_conns_max=$conns
  printf '%s  |  nginx %7.0f req/s  p99 %7.3f ms  cpu %3d%%  conns %d\n' "$line" "$rps" "$p99_ms" "$cpu_pct" "$conns"
done

# ---------------------------------------------------------------- report --

rs_rps_med=$(median "${rs_rps[@]}") rs_p99_med=$(median "${rs_p99[@]}")
rs_cpu_med=$(median "${rs_cpu[@]}") rs_client_med=$(median "${rs_client[@]}")
ng_rps_med=$(median "${ng_rps[@]}") ng_p99_med=$(median "${ng_p99[@]}")
ng_cpu_med=$(median "${ng_cpu[@]}") ng_client_med=$(median "${ng_client[@]}")
rps_ratio=$(awk -v a="$rs_rps_med" -v b="$ng_rps_med" 'BEGIN { printf "%.2f\n", a / b }')
p99_ratio=$(awk -v a="$rs_p99_med" -v b="$ng_p99_med" 'BEGIN { printf "%.2f\n", (b > 0 ? a / b : 0) }')

echo
echo "medians over $ROUNDS round(s) of $DURATION, $CONNECTIONS connections, $THREADS wrk thread(s):"
printf '  %-10s %12s %10s %12s %12s\n' server "req/s" "p99 ms" "server cpu" "client cpu"
printf '  %-10s %12.0f %10.3f %11.0f%% %11.0f%%\n' ringserve "$rs_rps_med" "$rs_p99_med" "$rs_cpu_med" "$rs_client_med"
printf '  %-10s %12.0f %10.3f %11.0f%% %11.0f%%\n' nginx "$ng_rps_med" "$ng_p99_med" "$ng_cpu_med" "$ng_client_med"
echo
echo "req/s ratio ringserve/nginx: $rps_ratio   (target >= 1.20, higher is better)"
if ((PIPELINE > 1)); then
  # wrk times one response per pipelined batch, so its percentiles mean nothing here.
  echo "p99 ratio   n/a with PIPELINE > 1 (wrk does not time pipelined requests)"
  echo "target     defined for PIPELINE=1 only"
else
  echo "p99 ratio   ringserve/nginx: $p99_ratio   (target <= 1.00, lower is better)"
  if awk -v r="$rps_ratio" -v p="$p99_ratio" 'BEGIN { exit !(r >= 1.20 && p <= 1.00) }'; then
    echo "target     met"
  else
    echo "target     NOT met"
  fi
fi
cpu_budget=100
[[ $SERVER_CPU_QUOTA == none ]] || cpu_budget=$SERVER_CPU_QUOTA
if awk -v a="$rs_cpu_med" -v b="$ng_cpu_med" -v c="$cpu_budget" 'BEGIN { exit !(a < 0.95 * c || b < 0.95 * c) }'; then
  echo "note       a server used < 95% of its CPU budget ($cpu_budget%), so it was not the bottleneck: wrk (see" \
    "client cpu) or other load on the machine was, and the ratios understate the difference"
fi
# Expect CONNECTIONS + 1 (wrk's probe); a few more can come from other programs
# on the machine, many mean the server closed connections.
for target in "ringserve $rs_conns_max" "nginx $ng_conns_max"; do
  read -r name max <<<"$target"
  if ((max > CONNECTIONS + CONNECTIONS / 10)); then
    echo "note       $name accepted up to $max connections in a run for $CONNECTIONS wrk connections:" \
      "it closed keep-alive connections mid-run (wrk reconnects without counting an error)"
  fi
done
