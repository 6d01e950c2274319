#!/usr/bin/env bash
# End-to-end cluster figures on loopback (clusters made by
# deploy/local-cluster.sh): creates per second through 2 gateways onto 3
# nodes, against 1 gateway and 1 node in the same run (the baseline), create
# latency, and the time the control takes to notice a node killed with
# SIGKILL.
#
#   bench/cluster.sh [rounds] [creates-per-round] [concurrency]
#
# A round is bench/create_load.py: CONCURRENCY workers on keep-alive
# connections, each creating a sandbox and killing it again, spread over the
# gateways, until the round's creates are done (a steady state: at most
# CONCURRENCY sandboxes live, so one node has room for all of them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
B=${SANDHIVE:-$here/../build/sandhive}
LC=$here/../deploy/local-cluster.sh
ROUNDS=${1:-5}
N=${2:-200}
CONC=${3:-8}
tmp=$(mktemp -d /tmp/sandhive-cluster-bench.XXXXXX)
clusters=()
cleanup() {
  for d in "${clusters[@]}"; do SANDHIVE=$B "$LC" stop --dir "$d" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# cluster NAME NODES GATEWAYS: starts one; sets DIR, KEY, GW_PORTS.
cluster() {
  DIR=$tmp/$1
  clusters+=("$DIR")
  local port http
  port=$(free_port)
  http=$(free_port)
  SANDHIVE=$B "$LC" start --dir "$DIR" --nodes "$2" --gateways "$3" --port "$port" \
    --http-port "$http" --pool-size 4 >/dev/null
  KEY=$(head -n1 "$DIR/control/api-key")
  GW_PORTS=()
  for (( g = 0; g < $3; g++ )); do GW_PORTS+=($(( http + g ))); done
  # Room for the load on the bootstrap team's limits, set as operators do.
  "$B" admin --data-dir "$DIR/control" \
    -c "quota set default plan=enterprise rate_create=100000" >/dev/null
  sleep 3 # warm pools fill
}

p99() { sort -n | awk '{ a[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; print a[i] }'; }

# CPU seconds (user + system) a process has used so far.
cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$1/stat"
}

# ROUNDS rounds of N creates; prints the median creates/s, and the rounds'
# figures (and the control's CPU per create) on stderr.
measure() {
  local label=$1 rates=() p50s=() p99s=()
  local control; control=$(cat "$DIR/pids/control.pid")
  local cpu0; cpu0=$(cpu_s "$control")
  for (( r = 0; r < ROUNDS; r++ )); do
    local out
    out=$(python3 "$here/create_load.py" "$KEY" "$N" "$CONC" "${GW_PORTS[@]}")
    rates+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["creates_per_s"])' "$out")")
    p50s+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["p50_ms"])' "$out")")
    p99s+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["p99_ms"])' "$out")")
    local bad; bad=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["failures"])' "$out")
    (( bad == 0 )) || echo "   ($bad creates failed)" >&2
  done
  local med; med=$(printf '%s\n' "${rates[@]}" | median)
  local cpu1; cpu1=$(cpu_s "$control")
  printf '%-22s creates/s median %6s (rounds: %s); latency ms median of rounds: p50 %s, p99 %s; control CPU %s ms per create\n' \
    "$label" "$med" "${rates[*]}" "$(printf '%s\n' "${p50s[@]}" | median)" \
    "$(printf '%s\n' "${p99s[@]}" | median)" \
    "$(echo "scale=3; ($cpu1 - $cpu0) * 1000 / ($ROUNDS * $N)" | bc)" >&2
  echo "$med"
}

echo "== $ROUNDS rounds of $N creates (each killed again), $CONC at a time"
cluster one 1 1
base=$(measure "1 gateway, 1 node")
SANDHIVE=$B "$LC" stop --dir "$DIR" >/dev/null
cluster three 3 2
big=$(measure "2 gateways, 3 nodes")
echo "ratio (2 gateways, 3 nodes / 1 gateway, 1 node): $(echo "scale=2; $big / $base" | bc)"

echo "== time to detect a node killed with SIGKILL (control log)"
log=$DIR/logs/control.log
dets=()
for (( k = 0; k < 5; k++ )); do
  n=$(( k % 3 + 1 ))
  before=$(grep -c "node node$n lost" "$log" || true)
  joins=$(grep -c "node node$n joined" "$log" || true)
  t0=$(now_ms)
  kill -KILL "$(cat "$DIR/pids/node$n.pid")"
  while kill -0 "$(cat "$DIR/pids/node$n.pid")" 2>/dev/null \
    && [[ $(awk '{ print $3 }' "/proc/$(cat "$DIR/pids/node$n.pid")/stat" 2>/dev/null) != Z ]]; do
    sleep 0.01
  done
  until (( $(grep -c "node node$n lost" "$log" || true) > before )); do sleep 0.01; done
  at=$(grep "node node$n lost" "$log" | tail -n1 | awk '{ print $2 }')
  t1=$(python3 -c "import datetime,sys; print(int(datetime.datetime.strptime(sys.argv[1], '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc).timestamp()*1000))" "$at")
  dets+=($(( t1 - t0 )))
  SANDHIVE=$B "$LC" node "$n" --dir "$DIR" >/dev/null
  until (( $(grep -c "node node$n joined" "$log" || true) > joins )); do sleep 0.1; done
done
echo "detection ms: ${dets[*]} (median $(printf '%s\n' "${dets[@]}" | median))"
