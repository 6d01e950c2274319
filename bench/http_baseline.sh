#!/usr/bin/env bash
# Gateway HTTP baseline: requests/s and p99 latency of GET /health (answered
# by the gateway alone) and GET /ready (a round trip through the bridge, the
# supervisor and both detached backend actors, plus PostgreSQL and Redis),
# next to nginx answering a static 204 on the same machine in the same run.
#
#   bench/http_baseline.sh [runs] [seconds-per-run] [connections]
#
# Runs alternate between the servers so that machine noise hits all alike;
# the figures are medians over the runs, ratios are against nginx.
set -euo pipefail
runs=${1:-5}
secs=${2:-5}
conns=${3:-50}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bin=${SANDHIVE_BINARY:-$here/../build/sandhive}
ensure_wrk_nginx

work=$(mktemp -d /tmp/sbx-bench-XXXXXX)
sh_port=$(free_port)
ng_port=$(free_port)

nginx_conf "$work/nginx.conf" "$ng_port" "return 204;"
nginx -c "$work/nginx.conf"
"$bin" up --data-dir "$work/data" --listen "127.0.0.1:$sh_port" \
  --log-level warn >"$work/sandhive.out" 2>"$work/sandhive.err" &
sh_pid=$!
cleanup() {
  kill "$sh_pid" 2>/dev/null || true
  wait "$sh_pid" 2>/dev/null || true
  nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$sh_port/ready" >/dev/null && break
  sleep 0.2
done


declare -A rps p99
targets=(nginx health ready)
declare -A url=(
  [nginx]="http://127.0.0.1:$ng_port/health"
  [health]="http://127.0.0.1:$sh_port/health"
  [ready]="http://127.0.0.1:$sh_port/ready"
)
for t in "${targets[@]}"; do rps[$t]=""; p99[$t]=""; done
for r in $(seq "$runs"); do
  for t in "${targets[@]}"; do
    read -r x y _ < <(wrk_measure "${url[$t]}")
    rps[$t]+="$x"$'\n'
    p99[$t]+="$y"$'\n'
  done
done

base=$(printf "%s" "${rps[nginx]}" | median)
printf "runs=%s x %ss, %s connections, wrk -t2; medians\n" "$runs" "$secs" "$conns"
printf "%-28s %12s %10s %10s\n" "target" "requests/s" "p99 ms" "vs nginx"
for t in "${targets[@]}"; do
  m=$(printf "%s" "${rps[$t]}" | median)
  l=$(printf "%s" "${p99[$t]}" | median)
  case $t in
    nginx) name="nginx static 204" ;;
    health) name="sandhive GET /health" ;;
    ready) name="sandhive GET /ready (actors)" ;;
  esac
  printf "%-28s %12s %10s %9.0f%%\n" "$name" "$m" "$l" "$(awk -v a="$m" -v b="$base" 'BEGIN { print 100 * a / b }')"
done
