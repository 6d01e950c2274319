#!/usr/bin/env bash
# Runs every benchmark in bench/ and prints its figures. Needs a built tree
# (cmake --build build) and root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
echo "== HTTP gateway baseline (bench/http_baseline.sh)"
"$here/http_baseline.sh" "$@"
echo
echo "== Sandbox runtime (build/bench/sandbox_bench)"
"$here/../build/bench/sandbox_bench" --full
echo
echo "== E2B API throughput: GET /sandboxes/{id} vs nginx (bench/e2b_http.sh)"
"$here/e2b_http.sh" "$@"
echo
echo "== E2B API latency through the e2b SDK and raw HTTP (bench/e2b_api.sh)"
if [[ -r "$here/../tests/e2e/node_modules/e2b/dist/index.mjs" ]]; then
  "$here/e2b_api.sh"
else
  echo "skipped: the e2b SDK is not installed (cd tests/e2e && npm ci)"
fi
echo
echo "== Placement decisions (build/bench/placement_bench)"
"$here/../build/bench/placement_bench"
echo
echo "== Cluster: creates/s through 2 gateways onto 3 nodes, node-loss detection (bench/cluster.sh)"
"$here/cluster.sh"
echo
echo "== Metering: CPU of a platform with 500 idle sandboxes, metered every 1 h / 10 s / 1 s (bench/metering.sh)"
"$here/metering.sh"
