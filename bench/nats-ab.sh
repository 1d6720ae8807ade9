#!/usr/bin/env bash
# A/B of nats-post builds: the same findings published by each binary in
# turn (alternating, ROUNDS rounds) to one JetStream server, each run into
# a stream of its own with a fresh spool; every run is checked for
# completeness. Prints records/s, MB/s, wall/user/sys seconds and peak RSS
# per run, then the median per binary and its ratio to the first one, with
# the load average before and after (run it on an idle machine).
#   bench/nats-ab.sh [-n RECORDS=200000] [-r ROUNDS=3] [NAME=]BIN [NAME=]BIN...
# (unnamed binaries are called A, B, C... in the order given; the ratios
# are to the first). Example: the working tree against main's build
#   git worktree add /tmp/main main && (cd /tmp/main && cargo build --profile dist -p nats-post)
#   cargo build --profile dist -p nats-post
#   bench/nats-ab.sh main=/tmp/main/target/dist/nats-post new=target/dist/nats-post
set -euo pipefail
cd "$(dirname "$0")/.."
N=200000
ROUNDS=3
while getopts n:r: o; do
    case $o in
    n) N=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    *) sed -n '2,13p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -lt 2 ]; then
    sed -n '2,13p' "$0" >&2
    exit 2
fi
BINS=()
NAMES=()
LETTERS=(A B C D E F G H)
for b in "$@"; do
    name=${LETTERS[${#BINS[@]}]}
    case $b in *=*) name=${b%%=*} b=${b#*=} ;; esac
    [ -x "$b" ] || { echo "nats-ab.sh: $b is not an executable" >&2; exit 2; }
    BINS+=("$(realpath "$b")")
    NAMES+=("$name")
done
OUT=bench/out/nats-ab
PORT=${NATS_AB_PORT:-15222}
rm -rf "$OUT"
mkdir -p "$OUT"
python3 bench/gen_records.py findings "$N" >"$OUT/in.ndjson"
MB=$(python3 -c "import os; print(os.path.getsize('$OUT/in.ndjson') / 1e6)")
# The server's store holds every run's stream (RECORDS x runs messages): removed at the end.
stop() {
    NATS_DIR=$OUT/srv NATS_PORT=$PORT dev/nats-dev.sh stop >/dev/null 2>&1 || true
    rm -rf "$OUT/srv"
}
trap stop EXIT
NATS_DIR=$OUT/srv NATS_PORT=$PORT dev/nats-dev.sh start --cluster 1 2>/dev/null

echo "nats-post A/B: $N findings ($(printf '%.0f' "$MB") MB), $ROUNDS rounds, $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in "${!BINS[@]}"; do echo "${NAMES[$i]} = ${BINS[$i]}"; done
: >"$OUT/runs"
for r in $(seq 1 "$ROUNDS"); do
    for i in "${!BINS[@]}"; do
        v=${NAMES[$i]}
        s=$i-$r
        /usr/bin/time -f "%e %U %S %M" -o "$OUT/time" "${BINS[$i]}" \
            --servers "nats://127.0.0.1:$PORT" --stream "AB$i$r" --subject "ab$i$r.{type}.{host}" \
            --host bench --spool "$OUT/spool-$s" <"$OUT/in.ndjson" >"$OUT/out.ndjson"
        got=$(python3 -c "import json; print(sum(r['records'] for r in map(json.loads, open('$OUT/out.ndjson')) if r['status'] == 'delivered'))")
        if [ "$got" -ne "$N" ]; then
            echo "nats-ab.sh: $v round $r delivered $got of $N records" >&2
            exit 1
        fi
        read -r wall user sys rss <"$OUT/time"
        echo "$v $wall $user $sys $rss" >>"$OUT/runs"
        printf '%-6s round %d: %7.0f rec/s %5.1f MB/s  wall %5.2f s  user %5.2f s  sys %5.2f s  %6d KB\n' \
            "$v" "$r" "$(python3 -c "print($N / $wall)")" "$(python3 -c "print($MB / $wall)")" "$wall" "$user" "$sys" "$rss"
        rm -rf "$OUT/spool-$s"
    done
done
python3 - "$OUT/runs" "$N" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    v, wall, user, sys_, rss = line.split()
    runs.setdefault(v, []).append((float(wall), float(user), float(sys_)))
n = int(sys.argv[2])
base = None
for v, rs in runs.items():
    rate = statistics.median(n / w for w, _, _ in rs)
    user = statistics.median(u for _, u, _ in rs)
    base = base or rate
    print(f"{v:6} median: {rate:7.0f} rec/s ({rate / base:.3f}x the first), user {user:.2f} s, range {min(n / w for w, _, _ in rs):.0f}-{max(n / w for w, _, _ in rs):.0f} rec/s")
EOF
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
