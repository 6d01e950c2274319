#!/usr/bin/env bash
# End-to-end cluster figures on loopback: creates per second through 2
# gateways onto 3 nodes (against 1 gateway and 1 node in the same run, the
# baseline), create latency, and the time the control takes to notice a
# node killed with SIGKILL.
#
#   bench/cluster.sh [rounds] [creates-per-round (at most 20: the free plan)]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
B=${SANDHIVE:-$here/../build/sandhive}
ROUNDS=${1:-5}
N=${2:-20} # the default team (free plan) may run 20 at once
CONC=8
tmp=$(mktemp -d /tmp/sandhive-cluster-bench.XXXXXX)
pids=()
stop_all() {
  for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}
cleanup() {
  stop_all
  rm -rf "$tmp"
}
trap cleanup EXIT

start() { local log=$1; shift; "$B" "$@" >"$log" 2>&1 & pids+=($!); }
now_ms() { date +%s%3N; }

# cluster NAME NODES GATEWAYS: starts one; sets CTRL_LOG, KEY, GW_PORTS.
cluster() {
  local name=$1 nodes=$2 gws=$3 d=$tmp/$1
  mkdir -p "$d"
  local cport; cport=$(free_port)
  CLUSTER=127.0.0.1:$cport
  CTRL_LOG=$d/control.log
  start "$CTRL_LOG" control --data-dir "$d/control" --cluster-listen "$CLUSTER"
  until [[ -s $d/control/api-key && -s $d/control/cluster-secret ]]; do sleep 0.2; done
  KEY=$(head -n1 "$d/control/api-key")
  SECRET=$d/control/cluster-secret
  for (( n = 1; n <= nodes; n++ )); do
    NODE_LOG[$n]=$d/node$n.log
    start "$d/node$n.log" node --data-dir "$d/node$n" --join "$CLUSTER" --name "node$n" \
      --cluster-secret-file "$SECRET" --pool-size 4
    NODE_PID[$n]=${pids[-1]}
  done
  GW_PORTS=()
  for (( g = 1; g <= gws; g++ )); do
    local p; p=$(free_port)
    GW_PORTS+=("$p")
    start "$d/gw$g.log" gateway --join "$CLUSTER" --listen "127.0.0.1:$p" \
      --cluster-secret-file "$SECRET" --name "gw$g" --log-level warn
  done
  # Ready: every node joined, and every gateway sees the base template.
  until (( $(grep -c ' joined (' "$CTRL_LOG" || true) >= nodes )); do sleep 0.2; done
  for p in "${GW_PORTS[@]}"; do
    until curl -fsS -m 5 -H "X-API-KEY: $KEY" "127.0.0.1:$p/templates" 2>/dev/null | grep -q '"base"'; do sleep 0.2; done
  done
  sleep 3 # warm pools fill
}

# One round: N creates, CONC at a time, spread over the gateways; prints
# "seconds" and appends each latency (ms) to $tmp/lat.
round() {
  local start_ms end_ms
  start_ms=$(now_ms)
  for (( i = 0; i < N; i++ )); do echo "${GW_PORTS[$(( i % ${#GW_PORTS[@]} ))]}"; done |
    xargs -P "$CONC" -I{} curl -s -o /dev/null -m 30 -w '%{http_code} %{time_total}\n' \
      -X POST "127.0.0.1:{}/v2/sandboxes" -H "X-API-KEY: $KEY" \
      -H 'Content-Type: application/json' -d '{"templateID":"base","timeout":120}' >"$tmp/round"
  end_ms=$(now_ms)
  local bad; bad=$(awk '$1 != 201' "$tmp/round" | wc -l)
  (( bad == 0 )) || echo "   ($bad creates failed)" >&2
  awk '{ printf "%.2f\n", $2 * 1000 }' "$tmp/round" >>"$tmp/lat"
  echo "scale=1; $N * 1000 / ($end_ms - $start_ms)" | bc
  # Kill them all before the next round.
  curl -s -m 10 -H "X-API-KEY: $KEY" "127.0.0.1:${GW_PORTS[0]}/v2/sandboxes?limit=100" |
    python3 -c 'import json,sys; [print(x["sandboxID"]) for x in json.load(sys.stdin)]' |
    xargs -P 4 -I{} curl -s -o /dev/null -X DELETE -H "X-API-KEY: $KEY" "127.0.0.1:${GW_PORTS[0]}/sandboxes/{}"
  sleep 2 # pools refill
}

p99() { sort -n | awk '{ a[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; print a[i] }'; }

measure() {
  local label=$1 rates=()
  : >"$tmp/lat"
  for (( r = 0; r < ROUNDS; r++ )); do rates+=("$(round)"); done
  local med; med=$(printf '%s\n' "${rates[@]}" | median)
  printf '%-26s creates/s median %6s (rounds: %s); latency ms median %s p99 %s\n' \
    "$label" "$med" "${rates[*]}" "$(median <"$tmp/lat")" "$(p99 <"$tmp/lat")" >&2
  echo "$med"
}

echo "== $ROUNDS rounds of $N creates, $CONC at a time"
cluster one 1 1
base=$(measure "1 gateway, 1 node")
stop_all
cluster three 3 2
big=$(measure "2 gateways, 3 nodes")
echo "ratio (2 gateways, 3 nodes / 1 gateway, 1 node): $(echo "scale=2; $big / $base" | bc)"

echo "== time to detect a node killed with SIGKILL (control log)"
dets=()
for (( k = 0; k < 5; k++ )); do
  n=$(( k % 3 + 1 ))
  before=$(grep -c "node node$n lost" "$CTRL_LOG" || true)
  t0=$(now_ms)
  kill -KILL "${NODE_PID[$n]}"
  until (( $(grep -c "node node$n lost" "$CTRL_LOG" || true) > before )); do sleep 0.01; done
  at=$(grep "node node$n lost" "$CTRL_LOG" | tail -n1 | awk '{ print $2 }')
  t1=$(python3 -c "import datetime,sys; print(int(datetime.datetime.strptime(sys.argv[1], '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc).timestamp()*1000))" "$at")
  dets+=($(( t1 - t0 )))
  start "$tmp/three/node$n.again.log" node 2>/dev/null --data-dir "$tmp/three/node$n" --join "$CLUSTER" \
    --name "node$n" --cluster-secret-file "$SECRET" --pool-size 4
  NODE_PID[$n]=${pids[-1]}
  until (( $(grep -c "node node$n joined" "$CTRL_LOG" || true) > before + 1 )); do sleep 0.1; done
done
echo "detection ms: ${dets[*]} (median $(printf '%s\n' "${dets[@]}" | median))"
