#!/usr/bin/env bash
# A whole sandhive cluster on this machine, on loopback: one control, N nodes
# and M gateways as separate processes, each with its own data dir under DIR.
#
#   deploy/local-cluster.sh start  [--dir DIR] [--nodes N] [--gateways M]
#                                  [--port P] [--http-port H] [--pool-size S]
#   deploy/local-cluster.sh stop   [--dir DIR]
#   deploy/local-cluster.sh status [--dir DIR]
#   deploy/local-cluster.sh node I [--dir DIR]   (re)start node I after it died
#
# Ports: the control's cluster port P (default 4000) and its /metrics P+1;
# node i's /metrics P+10+i; gateway j's HTTP H+j-1 (default 3000, so the
# first gateway is where E2B_API_URL points). Logs in DIR/logs, pids in
# DIR/pids; DIR/cluster.env has the addresses for scripts. `stop` ends
# gateways, then nodes, then the control (each gets 30 s, then SIGKILL).
# Needs root (nodes run sandboxes) and a built sandhive ($SANDHIVE, default
# build/sandhive).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
B=${SANDHIVE:-$here/../build/sandhive}
cmd=${1:-}
shift || true
NODE_INDEX=
if [[ $cmd == node ]]; then NODE_INDEX=${1:-}; shift || true; fi
DIR=${SANDHIVE_CLUSTER_DIR:-/tmp/sandhive-cluster}
NODES=2
GATEWAYS=1
PORT=4000
HTTP_PORT=3000
POOL=2
while (( $# )); do
  case $1 in
    --dir) DIR=$2; shift 2 ;;
    --nodes) NODES=$2; shift 2 ;;
    --gateways) GATEWAYS=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --http-port) HTTP_PORT=$2; shift 2 ;;
    --pool-size) POOL=$2; shift 2 ;;
    *) echo "local-cluster: unknown option $1" >&2; exit 2 ;;
  esac
done

die() { echo "local-cluster: $*" >&2; exit 1; }

# A live process, not a zombie waiting for a parent to reap it.
alive() {
  [[ -f $1 ]] || return 1
  local pid; pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null && [[ $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) != Z ]]
}

launch() { # NAME ARGS...: starts one process in the background
  local name=$1; shift
  setsid "$B" "$@" >"$DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/pids/$name.pid"
}

wait_for() { # SECONDS WHAT COMMAND...: polls until the command succeeds
  local limit=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < deadline )) || die "$what did not happen within ${limit}s (logs in $DIR/logs)"
    sleep 0.2
  done
}

launch_node() { # I: node I, as start makes it
  launch "node$1" node --data-dir "$DIR/node$1" --join "127.0.0.1:$PORT" --name "node$1" \
    --cluster-secret-file "$DIR/control/cluster-secret" \
    --metrics-listen "127.0.0.1:$(( PORT + 10 + $1 ))" --pool-size "$POOL"
}

joined() { (( $(grep -c ' joined (' "$DIR/logs/control.log" || true) >= NODES )); }

start() {
  [[ -x $B ]] || die "no sandhive binary at $B (build first, or set SANDHIVE)"
  for p in "$DIR"/pids/*.pid; do
    alive "$p" && die "a cluster already runs in $DIR ($(basename "$p" .pid)); stop it first"
  done
  mkdir -p "$DIR/logs" "$DIR/pids"
  rm -f "$DIR"/pids/*.pid
  local cluster=127.0.0.1:$PORT secret=$DIR/control/cluster-secret
  launch control control --data-dir "$DIR/control" --cluster-listen "$cluster" \
    --metrics-listen "127.0.0.1:$(( PORT + 1 ))"
  wait_for 60 "the control starting" test -s "$secret" -a -s "$DIR/control/api-key" \
    -a -s "$DIR/control/cluster-address"
  for (( i = 1; i <= NODES; i++ )); do launch_node "$i"; done
  local urls=()
  for (( j = 1; j <= GATEWAYS; j++ )); do
    local port=$(( HTTP_PORT + j - 1 ))
    launch "gw$j" gateway --join "$cluster" --listen "127.0.0.1:$port" --name "gw$j" \
      --cluster-secret-file "$secret"
    urls+=("http://127.0.0.1:$port")
  done
  wait_for 120 "$NODES node(s) joining" joined
  for u in "${urls[@]}"; do
    wait_for 60 "$u answering /ready" curl -fsS -m 2 "$u/ready"
  done
  cat >"$DIR/cluster.env" <<ENV
PORT=$PORT
POOL=$POOL
CLUSTER=$cluster
CONTROL_DIR=$DIR/control
API_KEY_FILE=$DIR/control/api-key
GATEWAYS="${urls[*]}"
METRICS="127.0.0.1:$(( PORT + 1 ))$(for (( i = 1; i <= NODES; i++ )); do printf ' 127.0.0.1:%d' $(( PORT + 10 + i )); done)"
ENV
  echo "sandhive cluster up in $DIR: control $cluster, $NODES node(s), gateway(s) ${urls[*]}"
  echo "  export E2B_API_URL=${urls[0]} E2B_SANDBOX_URL=${urls[0]} E2B_API_KEY=\$(cat $DIR/control/api-key)"
  echo "  $B admin --data-dir $DIR/control"
}

stop_one() { # stops the processes whose pid files match a glob
  local files=() pids=()
  for p in "$DIR"/pids/$1.pid; do
    [[ -f $p ]] || continue
    files+=("$p")
    alive "$p" && pids+=("$(cat "$p")")
  done
  (( ${#pids[@]} )) && kill -TERM "${pids[@]}" 2>/dev/null || true
  local deadline=$(( $(date +%s) + 30 ))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do
      if (( $(date +%s) >= deadline )); then
        echo "local-cluster: pid $pid did not stop in 30 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.1
    done
  done
  (( ${#files[@]} )) && rm -f "${files[@]}"
  return 0
}

stop() {
  [[ -d $DIR/pids ]] || { echo "no cluster in $DIR"; return 0; }
  stop_one 'gw*'
  stop_one 'node*'
  stop_one control
  echo "sandhive cluster in $DIR stopped"
}

status() {
  local any=0
  for p in "$DIR"/pids/*.pid; do
    [[ -f $p ]] || continue
    any=1
    if alive "$p"; then state=running; else state=dead; fi
    printf '%-10s pid %-8s %s\n' "$(basename "$p" .pid)" "$(cat "$p")" "$state"
  done
  (( any )) || { echo "no cluster in $DIR"; return 1; }
  alive "$DIR/pids/control.pid" && "$B" admin --data-dir "$DIR/control" -c nodes
}

node() {
  [[ $NODE_INDEX =~ ^[0-9]+$ ]] || die "usage: local-cluster.sh node I [--dir DIR]"
  [[ -f $DIR/cluster.env ]] || die "no cluster in $DIR"
  # shellcheck disable=SC1091
  PORT=$(. "$DIR/cluster.env"; echo "$PORT"); POOL=$(. "$DIR/cluster.env"; echo "$POOL")
  alive "$DIR/pids/node$NODE_INDEX.pid" && die "node$NODE_INDEX runs already"
  launch_node "$NODE_INDEX"
  echo "node$NODE_INDEX started"
}

case $cmd in
  start) start ;;
  node) node ;;
  stop) stop ;;
  status) status ;;
  *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
