#!/usr/bin/env bash
# End-to-end tests: start `sandhive up` on a private data dir and a free
# loopback port (or, with SANDHIVE_E2E_CLUSTER=1, a cluster of one control,
# three nodes and a gateway), then drive it with the official `e2b` npm SDK
# under `node --test`.
#
#   tests/e2e/run.sh <path-to-sandhive-binary> [extra node --test args...]
#
# Environment:
#   SANDHIVE_E2E_CLUSTER=1       run against a gateway of a 3-node cluster
#   SANDHIVE_E2E_KEEP=1          keep the temp dir (data dirs and logs) afterwards
#   SANDHIVE_E2E_READY_TIMEOUT   seconds to wait for /ready (default 60)
#   SANDHIVE_E2E_FILES           test files to run, relative to tests/e2e
#                                (default: every *.test.mjs)
#
# Exits with node's status (or 1 if sandhive never became ready).
set -euo pipefail

usage() {
  echo "usage: $0 <path-to-sandhive-binary> [extra node --test args...]" >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
SANDHIVE=$1
shift
[[ -x "$SANDHIVE" ]] || { echo "not an executable: $SANDHIVE" >&2; exit 2; }
# Absolute, so that changing directory below does not break a relative path.
SANDHIVE=$(cd "$(dirname "$SANDHIVE")" && pwd)/$(basename "$SANDHIVE")

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
READY_TIMEOUT=${SANDHIVE_E2E_READY_TIMEOUT:-60}

for tool in node npm curl python3; do
  command -v "$tool" >/dev/null || { echo "missing required tool: $tool" >&2; exit 2; }
done
# The e2b SDK needs Node >= 20.18.1; an older Node is a host that cannot run
# these tests (77: ctest reports them skipped), not a failure of sandhive.
if ! node -e 'const [a,b,c]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&(b>18||(b==18&&c>=1)))?0:1)'; then
  echo "SKIPPED: the e2b SDK needs Node >= 20.18.1, this host has $(node --version)" >&2
  exit 77
fi

# 1. Dependencies: install from the lockfile when node_modules is missing or
#    older than package-lock.json.
if [[ ! -d "$SCRIPT_DIR/node_modules" || "$SCRIPT_DIR/package-lock.json" -nt "$SCRIPT_DIR/node_modules" ]]; then
  echo "==> npm ci in $SCRIPT_DIR"
  (cd "$SCRIPT_DIR" && npm ci --no-audit --no-fund)
  touch "$SCRIPT_DIR/node_modules"
fi

# 2. Temp dir, free port.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sandhive-e2e.XXXXXX")
DATA_DIR=$TMP/data
LOG=$TMP/up.log
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
# Every process started, in start order; UP_PID is the one serving HTTP.
PIDS=()
UP_PID=

start() {
  local log=$1
  shift
  echo "==> sandhive $*"
  "$SANDHIVE" "$@" >"$log" 2>&1 &
  PIDS+=($!)
  UP_PID=$!
}

# shellcheck disable=SC2317  # called from the EXIT trap
stop_one() {
  local pid=$1
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$pid" 2>/dev/null && (( waited < 200 )); do
      sleep 0.1
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "==> sandhive (pid $pid) did not stop within 20 s of SIGTERM; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317  # called from the EXIT trap
stop_sandhive() {
  # Last started first: gateway, nodes, control.
  local i
  for (( i = ${#PIDS[@]} - 1; i >= 0; i-- )); do
    stop_one "${PIDS[$i]}"
  done
  PIDS=()
  UP_PID=
}

# shellcheck disable=SC2317  # the EXIT trap
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_sandhive
  if [[ -n "${SANDHIVE_E2E_KEEP:-}" ]]; then
    echo "==> kept $TMP (up.log, data/)"
  else
    rm -rf "$TMP"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

print_log() {
  local f
  for f in "$TMP"/*.log; do
    echo "----- $f -----" >&2
    cat "$f" >&2 || true
  done
  echo "----- end of logs -----" >&2
}

# 3. Start sandhive: `up`, or a control, three nodes and a gateway.
deadline=$((SECONDS + READY_TIMEOUT))
if [[ -n "${SANDHIVE_E2E_CLUSTER:-}" ]]; then
  CLUSTER=127.0.0.1:$(free_port)
  start "$TMP/control.log" control --data-dir "$DATA_DIR" --cluster-listen "$CLUSTER"
  until [[ -s $DATA_DIR/cluster-secret && -s $DATA_DIR/api-key ]]; do
    (( SECONDS < deadline )) || { echo "==> the control did not start" >&2; print_log; exit 1; }
    sleep 0.25
  done
  for n in 1 2 3; do
    start "$TMP/node$n.log" node --data-dir "$TMP/node$n" --join "$CLUSTER" \
      --name "node$n" --cluster-secret-file "$DATA_DIR/cluster-secret" --pool-size 1
  done
  LOG=$TMP/gateway.log
  start "$LOG" gateway --join "$CLUSTER" --listen "127.0.0.1:$PORT" \
    --cluster-secret-file "$DATA_DIR/cluster-secret" --name gateway1
  until (( $(grep -c ' joined (' "$TMP/control.log" || true) >= 3 )); do
    (( SECONDS < deadline )) || { echo "==> the nodes did not join" >&2; print_log; exit 1; }
    sleep 0.25
  done
  READY_PATH=/templates
else
  start "$LOG" up --data-dir "$DATA_DIR" --listen "127.0.0.1:$PORT"
  READY_PATH=/ready
fi

# 4. Wait until it serves (a gateway: once it joined the control).
ready() {
  curl -fsS -o /dev/null --max-time 5 -H "X-API-KEY: $(head -n 1 "$DATA_DIR/api-key" 2>/dev/null)" \
    "$URL$READY_PATH" 2>/dev/null
}
until ready; do
  if ! kill -0 "$UP_PID" 2>/dev/null; then
    wait "$UP_PID" && rc=0 || rc=$?
    UP_PID=
    echo "==> sandhive exited (status $rc) before it was ready" >&2
    print_log
    exit 1
  fi
  if (( SECONDS >= deadline )); then
    echo "==> sandhive was not ready within ${READY_TIMEOUT} s" >&2
    print_log
    exit 1
  fi
  sleep 0.25
done
echo "==> ready at $URL"

# 5. API key.
KEY_FILE=$DATA_DIR/api-key
if [[ ! -r "$KEY_FILE" ]]; then
  echo "==> no API key at $KEY_FILE" >&2
  print_log
  exit 1
fi
API_KEY=$(head -n 1 "$KEY_FILE" | tr -d '[:space:]')
if [[ ! "$API_KEY" =~ ^e2b_[0-9a-f]{40}$ ]]; then
  echo "==> unexpected API key format in $KEY_FILE" >&2
  exit 1
fi

export E2B_API_URL=$URL
export E2B_SANDBOX_URL=$URL
export E2B_API_KEY=$API_KEY
# Never let a developer's own settings redirect the SDK.
unset E2B_DOMAIN E2B_DEBUG E2B_ACCESS_TOKEN || true

# 6. Run the suite. Paths relative to the script dir.
cd "$SCRIPT_DIR"
if [[ -n "${SANDHIVE_E2E_FILES:-}" ]]; then
  read -r -a FILES <<<"$SANDHIVE_E2E_FILES"
else
  FILES=(./*.test.mjs)
fi
set +e
node --test --test-concurrency=1 --test-reporter=spec --test-force-exit "$@" "${FILES[@]}"
status=$?
set -e

if (( status != 0 )); then
  echo "==> tests failed (status $status); last 100 lines of $LOG:" >&2
  tail -n 100 "$LOG" >&2 || true
fi
exit "$status"
