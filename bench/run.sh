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
