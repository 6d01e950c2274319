#!/usr/bin/env bash
# E2B API latency, through the official e2b npm SDK (bench/e2b_sdk.mjs) and
# over raw HTTP/1.1 without it (bench/e2b_raw.mjs): warm create, commands.run
# ('true'), files.write + files.read of 1 KiB, kill; with same-run host
# baselines (spawnSync from node of `bash -c true`, `/bin/true` and
# `chroot <base template> /bin/bash -l -c true`).
#
#   bench/e2b_api.sh [rounds] [iterations] [create-iterations]
#
# Each round runs the SDK script, then the raw one, against one
# `sandhive up --pool-size 4`; the report pools the samples of all rounds.
# Creates are paced (250 ms apart) so that every one is a claim from a full
# warm pool. A last phase restarts sandhive with --pool-size 0 and measures
# cold creates (E2B_BENCH_COLD=0 skips it). Every loop stops after
# E2B_BENCH_LOOP_BUDGET_MS (default 120 s) whatever its count.
#
# The sandbox that runs commands is killed seconds after its last command:
# envd (2026-11-22) spins on epoll_wait(..., 0) once the Connect-Timeout-Ms
# deadline of a finished process has passed (60 s for the SDK's default),
# which would load the machine for everything measured after it.
#
# Needs root, node >= 20.18.1 and the SDK installed in tests/e2e
# (cd tests/e2e && npm ci).
set -euo pipefail
rounds=${1:-2}
iters=${2:-200}
create_iters=${3:-60}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bin=${SANDHIVE_BINARY:-$here/../build/sandhive}
sdk=$here/../tests/e2e/node_modules/e2b/dist/index.mjs
[[ -r "$sdk" ]] || { echo "no e2b SDK at $sdk: run npm ci in tests/e2e" >&2; exit 1; }

work=$(mktemp -d /tmp/sbx-e2b-bench-XXXXXX)
# A private copy of the binaries, so that a rebuild of build/ during the run
# does not change what is measured. sandhive-envd must sit next to sandhive.
mkdir "$work/bin"
cp "$bin" "$(dirname "$bin")/sandhive-envd" "$work/bin/"
sh_pid=
stop() {
  [[ -n "$sh_pid" ]] || return 0
  kill "$sh_pid" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$sh_pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$sh_pid" 2>/dev/null || true
  wait "$sh_pid" 2>/dev/null || true
  sh_pid=
}
cleanup() {
  stop
  rm -rf "$work"
}
trap cleanup EXIT

# start <pool-size>: a fresh data dir each time; exports the E2B_* variables.
start() {
  local port data
  port=$(free_port)
  data="$work/data-$1"
  "$work/bin/sandhive" up --data-dir "$data" --listen "127.0.0.1:$port" \
    --pool-size "$1" --log-level warn >"$work/sandhive-$1.out" 2>"$work/sandhive-$1.err" &
  sh_pid=$!
  for _ in $(seq 150); do
    curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break
    kill -0 "$sh_pid" 2>/dev/null || { cat "$work/sandhive-$1.err" >&2; exit 1; }
    sleep 0.2
  done
  curl -sf "http://127.0.0.1:$port/ready" >/dev/null || { echo "sandhive not ready" >&2; exit 1; }
  export E2B_API_URL=http://127.0.0.1:$port E2B_SANDBOX_URL=http://127.0.0.1:$port
  E2B_API_KEY=$(head -n 1 "$data/api-key" | tr -d '[:space:]')
  export E2B_API_KEY
  export E2B_BENCH_ROOTFS=$data/templates/base/rootfs
  # Rate limits are checked on every call, but set out of the way.
  "$work/bin/sandhive" admin --data-dir "$data" \
    -c "quota set default rate_create=1000000 rate_control=1000000" >/dev/null
  # Let the pool fill before measuring.
  sleep 2
}
unset E2B_DOMAIN E2B_DEBUG E2B_ACCESS_TOKEN || true
export E2B_BENCH_ITERS=$iters E2B_BENCH_CREATE_ITERS=$create_iters

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start 4
for r in $(seq "$rounds"); do
  for client in sdk raw; do
    echo "-- round $r: $client" >&2
    E2B_BENCH_OUT="$work/$client-$r.json" timeout 900 node "$here/e2b_$client.mjs"
  done
done
stop

if [[ ${E2B_BENCH_COLD:-1} != 0 ]]; then
  start 0
  for client in sdk raw; do
    echo "-- cold creates: $client" >&2
    E2B_BENCH_ONLY=create E2B_BENCH_CREATE_ITERS=$(( create_iters / 2 )) \
      E2B_BENCH_OUT="$work/$client-cold.json" timeout 900 node "$here/e2b_$client.mjs"
  done
  stop
fi

printf "load average before %s, after %s (2 cores)\n" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf "rounds=%s, %s iterations (run, files, host spawn) and %s (create, kill) per round and client; sandhive --pool-size 4, creates paced %s ms apart\n" \
  "$rounds" "$iters" "$create_iters" "${E2B_BENCH_PACE_MS:-250}"
node "$here/e2b_report.mjs" "$work"/*.json
