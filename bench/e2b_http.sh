#!/usr/bin/env bash
# E2B control plane throughput: requests/s and p99 latency of an
# authenticated GET /sandboxes/{id} (X-API-KEY, a live sandbox: key check in
# the gateway's cache, route lookup, one request to the sandbox actor, JSON
# reply) next to nginx answering a static 200 with a body of the same size on
# the same machine in the same run, and sandhive's GET /health for scale.
#
#   bench/e2b_http.sh [runs] [seconds-per-run] [connections]
#
# Runs alternate between the targets so that machine noise hits all alike;
# the figures are medians over the runs, ratios are against nginx.
set -euo pipefail
runs=${1:-5}
secs=${2:-5}
conns=${3:-50}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bin=${SANDHIVE_BINARY:-$here/../build/sandhive}
ensure_wrk_nginx

work=$(mktemp -d /tmp/sbx-e2b-http-XXXXXX)
# A private copy of the binaries: a rebuild of build/ meanwhile changes nothing.
mkdir "$work/bin"
cp "$bin" "$(dirname "$bin")/sandhive-envd" "$work/bin/"
sh_port=$(free_port)

"$work/bin/sandhive" up --data-dir "$work/data" --listen "127.0.0.1:$sh_port" \
  --log-level warn >"$work/sandhive.out" 2>"$work/sandhive.err" &
sh_pid=$!
ng_started=
cleanup() {
  kill "$sh_pid" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$sh_pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$sh_pid" 2>/dev/null || true
  wait "$sh_pid" 2>/dev/null || true
  [[ -z "$ng_started" ]] || nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ready=
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$sh_port/ready" >/dev/null && { ready=1; break; }
  sleep 0.2
done
if [[ -z "$ready" ]]; then
  echo "sandhive did not become ready in 60 s:" >&2
  tail -n 20 "$work/sandhive.err" >&2
  exit 1
fi
key=$(head -n 1 "$work/data/api-key" | tr -d '[:space:]')
# Measured with the rate limit checked on every request (a Redis round
# trip), but set out of the way: this measures throughput, not the limit.
"$work/bin/sandhive" admin --data-dir "$work/data" \
  -c "quota set default rate_create=1000000 rate_control=1000000" >/dev/null
# One live sandbox for the whole run (an hour's lifetime; no command is ever
# run in it).
id=$(curl -sf -X POST "http://127.0.0.1:$sh_port/v2/sandboxes" -H "X-API-KEY: $key" \
  -H 'Content-Type: application/json' -d '{"templateID":"base","timeout":3600}' |
  sed -n 's/.*"sandboxID":"\([^"]*\)".*/\1/p')
[[ -n "$id" ]] || { echo "could not create a sandbox" >&2; exit 1; }
detail=$(curl -sf "http://127.0.0.1:$sh_port/sandboxes/$id" -H "X-API-KEY: $key")

# nginx serves the same JSON document sandhive returns (same body size). Its
# port is picked now that sandhive's embedded PostgreSQL and Redis have theirs.
ng_port=$(free_port)
nginx_conf "$work/nginx.conf" "$ng_port" \
  "default_type application/json; return 200 '$detail';"
nginx -c "$work/nginx.conf"
ng_started=1


declare -A rps p99 bad
targets=(nginx get health)
declare -A url=(
  [nginx]="http://127.0.0.1:$ng_port/sandboxes/$id"
  [get]="http://127.0.0.1:$sh_port/sandboxes/$id"
  [health]="http://127.0.0.1:$sh_port/health"
)
for t in "${targets[@]}"; do rps[$t]=""; p99[$t]=""; bad[$t]=0; done
for _ in $(seq "$runs"); do
  for t in "${targets[@]}"; do
    # Every target gets the key header; only GET /sandboxes/{id} looks at it.
    read -r x y z < <(wrk_measure -H "X-API-KEY: $key" "${url[$t]}")
    rps[$t]+="$x"$'\n'
    p99[$t]+="$y"$'\n'
    bad[$t]=$(( ${bad[$t]} + z ))
  done
done

base=$(printf "%s" "${rps[nginx]}" | median)
printf "runs=%s x %ss, %s connections, wrk -t2; medians; body %s bytes\n" "$runs" "$secs" "$conns" "${#detail}"
printf "%-40s %12s %10s %10s %8s\n" "target" "requests/s" "p99 ms" "vs nginx" "non-2xx"
for t in "${targets[@]}"; do
  m=$(printf "%s" "${rps[$t]}" | median)
  l=$(printf "%s" "${p99[$t]}" | median)
  case $t in
    nginx) name="nginx static 200 (same JSON body)" ;;
    get) name="sandhive GET /sandboxes/{id} (X-API-KEY)" ;;
    health) name="sandhive GET /health" ;;
  esac
  printf "%-40s %12s %10s %9.0f%% %8s\n" "$name" "$m" "$l" "$(awk -v a="$m" -v b="$base" 'BEGIN { print 100 * a / b }')" "${bad[$t]}"
done
m=$(printf "%s" "${rps[get]}" | median)
awk -v a="$m" -v b="$base" 'BEGIN { r = 100 * a / b; printf "target: GET /sandboxes/{id} >= 40%% of nginx: %.0f%%, %s\n", r, (r >= 40 ? "met" : "NOT met") }'
