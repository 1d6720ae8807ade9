#!/usr/bin/env bash
# Benchmark: fswatch-json vs `inotifywait -m -r` vs Python watchdog.
#   bench/fswatch.sh [N=100000]
# Creates N files in a burst under each watcher (optimised build of ours, profile dist) and
# prints: created events reported out of N, CPU seconds of the watcher,
# CPU per event, peak RSS (/usr/bin/time -v) and the time from the first
# write to the last event; then the peak RSS of each watching 10,000 idle
# directories. Kernel limits are left as they are (printed below).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
WORK=${FSWATCH_BENCH_DIR:-target/fswatch-bench}

need() { command -v "$1" >/dev/null 2>&1 || { echo "installing $2"; (apt-get update -qq && apt-get install -y -qq "$2") >/dev/null; }; }
need inotifywait inotify-tools
[ -x /usr/bin/time ] || need /usr/bin/time time

VENV=target/bench-venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c "import watchdog" 2>/dev/null || "$VENV/bin/pip" install -q watchdog

cargo build --profile dist -q -p fswatch-json
echo "kernel: max_user_watches=$(cat /proc/sys/fs/inotify/max_user_watches)" \
     "max_queued_events=$(cat /proc/sys/fs/inotify/max_queued_events); $(nproc) CPUs"
mkdir -p "$WORK"
exec "$VENV/bin/python" bench/fswatch_bench.py "$N" "$(realpath "$WORK")" "$(realpath target/dist/fswatch-json)" "$PWD/$VENV/bin/python"
