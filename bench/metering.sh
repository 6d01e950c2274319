#!/usr/bin/env bash
# The cost of usage metering on a node with 500 running sandboxes: the CPU
# a `sandhive up` (node, billing and all) uses while its sandboxes idle,
# with usage measured every 10 s (the default) and every 1 s, against the
# same platform with metering in effect off (every hour) in the same run.
# PostgreSQL's CPU (where billing writes the records) is shown beside it.
#
#   bench/metering.sh [sandboxes] [windows] [window-seconds]
#
# Each setting gets a fresh platform and its sandboxes; CPU % is of one core,
# over WINDOWS windows of WINDOW-SECONDS each: median and the highest.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
B=${SANDHIVE:-$here/../build/sandhive}
N=${1:-500}
WINDOWS=${2:-6}
SECS=${3:-10}
tmp=$(mktemp -d /tmp/sandhive-metering-bench.XXXXXX)
pid=
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# CPU seconds (user + system) used so far by the processes in PIDS.
cpu_s() {
  local hz total=0 p
  hz=$(getconf CLK_TCK)
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] || continue
    total=$(awk -v t="$total" -v hz="$hz" '{ printf "%.3f", t + ($14 + $15) / hz }' "/proc/$p/stat")
  done
  echo "$total"
}

# The embedded PostgreSQL's processes below process $1.
pg_pids() {
  ps -e -o pid=,ppid=,comm= | awk -v root="$1" '
    { parent[$1] = $2; name[$1] = $3 }
    END {
      for (p in parent) {
        if (name[p] != "postgres") continue
        for (q = parent[p]; q > 1; q = parent[q]) if (q == root) { printf "%s ", p; break }
      }
    }'
}

# run INTERVAL: one platform metering every INTERVAL; prints a result line.
run_one() {
  local interval=$1 dir=$tmp/$1 port created w c0 c1 p0 p1 pg
  port=$(free_port)
  mkdir -p "$dir"
  "$B" up --data-dir "$dir" --listen "127.0.0.1:$port" --usage-interval "$interval" \
    --capacity-vcpu 100000 --capacity-memory-mb 100000000 --max-sandboxes $((N + 50)) \
    --pool-size 0 --log-level warn >"$dir.log" 2>&1 &
  pid=$!
  for (( i = 0; i < 240; i++ )); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ready") == 200 ]] && break
    sleep 0.5
  done
  local key
  key=$(head -n1 "$dir/api-key")
  "$B" admin --data-dir "$dir" \
    -c "quota set default plan=enterprise max_sandboxes=$((N + 10)) rate_create=100000" >/dev/null
  created=$(seq "$N" | xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' \
    -X POST -H "X-API-KEY: $key" -H 'Content-Type: application/json' \
    -d '{"templateID":"base","timeout":3600}' "http://127.0.0.1:$port/sandboxes" | grep -c '^201$' || true)
  sleep 5 # starts settle; a first round of usage goes out
  pg=$(pg_pids "$pid")
  local cpu=() pcpu=()
  for (( w = 0; w < WINDOWS; w++ )); do
    c0=$(cpu_s "$pid"); p0=$(cpu_s $pg)
    sleep "$SECS"
    c1=$(cpu_s "$pid"); p1=$(cpu_s $pg)
    cpu+=("$(awk -v a="$c0" -v b="$c1" -v s="$SECS" 'BEGIN { printf "%.2f", (b - a) * 100 / s }')")
    pcpu+=("$(awk -v a="$p0" -v b="$p1" -v s="$SECS" 'BEGIN { printf "%.2f", (b - a) * 100 / s }')")
  done
  printf '%-8s %5s sandboxes   sandhive CPU %%: median %6s  max %6s   PostgreSQL CPU %%: median %6s  max %6s\n' \
    "$interval" "$created" \
    "$(printf '%s\n' "${cpu[@]}" | median)" "$(printf '%s\n' "${cpu[@]}" | sort -n | tail -1)" \
    "$(printf '%s\n' "${pcpu[@]}" | median)" "$(printf '%s\n' "${pcpu[@]}" | sort -n | tail -1)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  pid=
}

echo "metering cost with $N idle sandboxes, $WINDOWS windows of $SECS s (CPU % of one core)"
for interval in 1h 10s 1s; do run_one "$interval"; done
