#!/usr/bin/env bash
# Benchmark: CPU per event of file-integrity watching (fswatch-json's
# content and metadata baseline, and --who attribution) beside inotifywait.
#   bench/fim.sh [N=20000]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
WORK=${FSWATCH_BENCH_DIR:-target/fswatch-bench}
command -v inotifywait >/dev/null || (apt-get update -qq && apt-get install -y -qq inotify-tools) >/dev/null
[ -x /usr/bin/time ] || (apt-get update -qq && apt-get install -y -qq time) >/dev/null
cargo build --profile dist -q -p fswatch-json
mkdir -p "$WORK"
exec python3 bench/fim_bench.py "$N" "$(realpath "$WORK")" "$(realpath target/dist/fswatch-json)"
