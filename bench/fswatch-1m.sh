#!/usr/bin/env bash
# Benchmark: fswatch-json at a million files, with a stalled consumer.
#   bench/fswatch-1m.sh [DIRS=1000] [FILES_PER_DIR=1000] [STALL_SECONDS=30]
# Creates DIRS empty directories, starts the watcher on them, then writes
# DIRS x FILES_PER_DIR one-byte files while the watcher's stdout is not read
# for STALL_SECONDS (`| (sleep STALL; cat)`). Kernel limits are left as
# they are (printed below); with the default fs.inotify.max_queued_events
# (16384) the kernel queue overflows during the stall, and fswatch-json's
# rescan must report every file. The same burst runs under
# `inotifywait -m -r`, then under fswatch-json with no stall (the RSS
# baseline: the backlog must not add to it). Prints each figure beside its
# goal. The tree goes to /dev/shm when writable (FSWATCH_BENCH_TREE
# overrides; 1M one-byte files take about 5 GB of tmpfs memory and 1M
# inodes) and is removed afterwards. FSWATCH_JSON=PATH runs that binary
# instead of building the dist profile.
set -euo pipefail
cd "$(dirname "$0")/.."
DIRS=${1:-1000}
FILES=${2:-1000}
STALL=${3:-30}
WORK=${FSWATCH_BENCH_DIR:-target/fswatch-bench}
if [ -n "${FSWATCH_BENCH_TREE:-}" ]; then TREE=$FSWATCH_BENCH_TREE
elif [ -w /dev/shm ]; then TREE=/dev/shm
else TREE=$WORK; fi

need() { command -v "$1" >/dev/null 2>&1 || { echo "installing $2"; (apt-get update -qq && apt-get install -y -qq "$2") >/dev/null; }; }
need inotifywait inotify-tools
[ -x /usr/bin/time ] || need /usr/bin/time time

# FSWATCH_JSON names a binary already built (then nothing is built).
if [ -z "${FSWATCH_JSON:-}" ]; then
    cargo build --profile dist -q -p fswatch-json
    FSWATCH_JSON=target/dist/fswatch-json
fi
mkdir -p "$WORK"
free=$(df --output=iavail "$TREE" | tail -1)
need_inodes=$((DIRS * FILES + DIRS + 1000))
if [ "$free" -lt "$need_inodes" ]; then
    echo "fswatch-1m: $TREE has $free free inodes; $need_inodes needed (set FSWATCH_BENCH_TREE)" >&2
    exit 1
fi
echo "kernel: $(sysctl fs.inotify.max_queued_events fs.inotify.max_user_watches | tr '\n' ' ')"
echo "machine: $(nproc) CPUs; load before:$(uptime | sed 's/.*load average://')"
echo "tree: $TREE ($(df --output=fstype "$TREE" | tail -1))"
python3 bench/fswatch_1m.py "$DIRS" "$FILES" "$STALL" "$(realpath "$TREE")" "$(realpath "$WORK")" \
    "$(realpath "$FSWATCH_JSON")"
echo "machine: load after:$(uptime | sed 's/.*load average://')"
