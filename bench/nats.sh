#!/usr/bin/env bash
# Benchmark: records/s and MB/s of nats-post (publish, every record
# acknowledged by JetStream, spooled and fsynced per batch) and nats-tail
# (durable pull consumer, ack after write), on the same findings, against
# one JetStream server and a 3-node cluster (stream replicas 3), beside a
# plain nats-py publish/consume loop (what a user writes instead). Then the
# end-to-end latency of the fleet pipelines: a file saved on an endpoint ->
# its row in the central CSV (fleet-endpoint.sh -> fleet-central.sh).
# Every run is checked for completeness.
# The saves come at random gaps (0.2 s to 6 s, longer than the pull
# heartbeat), as on a real laptop, into live pipelines (no --exit-at-end).
#   bench/nats.sh [RECORDS=1000000] [PY_RECORDS=20000] [LATENCY_FILES=30]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
NPY=${2:-20000}
NLAT=${3:-30}
OUT=bench/out/nats
rm -rf "$OUT"
mkdir -p "$OUT"

PY=$(tests/py/ensure-nats-venv.sh)
cargo build --profile dist --locked -q -p nats-post -p nats-tail -p fswatch-json -p path-filter -p pii-scan -p findings-csv -p findings-report
BIN=$PWD/target/dist

python3 bench/gen_records.py findings "$N" >"$OUT/in.ndjson"
head -n "$NPY" "$OUT/in.ndjson" >"$OUT/in-py.ndjson"
MB=$(python3 -c "import os; print(os.path.getsize('$OUT/in.ndjson') / 1e6)")
MBPY=$(python3 -c "import os; print(os.path.getsize('$OUT/in-py.ndjson') / 1e6)")

now() { date +%s.%N; }
declare -A RATE
# report NAME RECORDS MEGABYTES T0 T1
report() {
    RATE[$1]=$(python3 -c "print(round($2 / ($5 - $4)))")
    printf '%-44s %8d rec %7.1f MB %7.2f s %9d rec/s %7.1f MB/s\n' "$1" "$2" "$3" \
        "$(python3 -c "print($5 - $4)")" "${RATE[$1]}" "$(python3 -c "print($3 / ($5 - $4))")"
}
check() { # check NAME GOT WANT
    if [ "$2" -ne "$3" ]; then
        echo "$1: got $2 records, expected $3" >&2
        exit 1
    fi
}

SETS=()
cleanup() {
    for s in "${SETS[@]}"; do
        NATS_DIR=$OUT/$s NATS_PORT=${s##*-} dev/nats-dev.sh stop >/dev/null 2>&1 || true
    done
    [ -z "${EP:-}" ] || kill -TERM "$EP" 2>/dev/null || true
    [ -z "${CP:-}" ] || kill -TERM "$CP" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$OUT"/srv-* "$OUT"/spool-* "$OUT"/lat
}
trap cleanup EXIT

echo "nats benchmark: $N findings ($(printf '%.0f' "$MB") MB), Python loop on $NPY; $(nproc) cores; nats-server $(nats-server --version 2>/dev/null || echo '(installed on first use)')"
for setup in single:1:14222 cluster:3:14322; do
    IFS=: read -r name nodes port <<<"$setup"
    dir=srv-$name-$port
    SETS+=("$dir")
    NATS_DIR=$OUT/$dir NATS_PORT=$port dev/nats-dev.sh start --cluster "$nodes" 2>/dev/null
    url=$(python3 -c "print(','.join('nats://127.0.0.1:%d' % ($port + i) for i in range($nodes)))")
    echo "-- $name ($nodes node(s), stream replicas $nodes)"

    t0=$(now)
    "$BIN/nats-post" --servers "$url" --replicas "$nodes" --host bench --spool "$OUT/spool-$name" <"$OUT/in.ndjson" >"$OUT/deliveries.ndjson"
    t1=$(now)
    got=$(python3 -c "import json,sys; print(sum(json.loads(l)['records'] for l in open('$OUT/deliveries.ndjson') if json.loads(l)['status']=='delivered'))")
    check nats-post "$got" "$N"
    report "nats-post ($name)" "$N" "$MB" "$t0" "$t1"

    t0=$(now)
    "$BIN/nats-tail" --servers "$url" --durable bench --from-beginning --exit-at-end >"$OUT/tail.ndjson"
    t1=$(now)
    check nats-tail "$(wc -l <"$OUT/tail.ndjson")" "$N"
    report "nats-tail ($name)" "$N" "$MB" "$t0" "$t1"
    rm -f "$OUT/tail.ndjson"

    t0=$(now)
    got=$("$PY" bench/nats_py_loop.py publish "$url" PY py.bench <"$OUT/in-py.ndjson")
    t1=$(now)
    check "python publish" "$got" "$NPY"
    report "nats-py publish loop ($name)" "$NPY" "$MBPY" "$t0" "$t1"

    t0=$(now)
    "$PY" bench/nats_py_loop.py consume "$url" PY pybench "$NPY" >"$OUT/py-tail.ndjson"
    t1=$(now)
    check "python consume" "$(wc -l <"$OUT/py-tail.ndjson")" "$NPY"
    report "nats-py consume loop ($name)" "$NPY" "$MBPY" "$t0" "$t1"

    printf '%-44s nats-post %.0fx, nats-tail %.0fx the Python loop\n' "ratio ($name)" \
        "$(python3 -c "print(${RATE["nats-post ($name)"]} / ${RATE["nats-py publish loop ($name)"]})")" \
        "$(python3 -c "print(${RATE["nats-tail ($name)"]} / ${RATE["nats-py consume loop ($name)"]})")"
    NATS_DIR=$OUT/$dir NATS_PORT=$port dev/nats-dev.sh stop >/dev/null 2>&1
    rm -rf "${OUT:?}/$dir" "$OUT/spool-$name"
done

# End-to-end latency on the 3-node cluster: file save -> central CSV row.
echo "-- latency: file save on an endpoint -> row in the central CSV (fleet-endpoint.sh | fleet-central.sh, live, 3-node cluster, 500 ms debounce)"
port=14422
dir=srv-lat-$port
SETS+=("$dir")
NATS_DIR=$OUT/$dir NATS_PORT=$port dev/nats-dev.sh start --cluster 3 2>/dev/null
url=nats://127.0.0.1:$port,nats://127.0.0.1:$((port + 1)),nats://127.0.0.1:$((port + 2))
mkdir -p "$OUT/lat/watch" "$OUT/lat/state"
export DLP_BIN_DIR=$BIN XDG_STATE_HOME=$OUT/lat/state
pipelines/fleet-central.sh --servers "$url" --output "$OUT/lat/central.csv" --report - 2>"$OUT/lat/central.err" &
CP=$!
DLP_DEBOUNCE_MS=500 pipelines/fleet-endpoint.sh --servers "$url" --replicas 3 "$OUT/lat/watch" 2>"$OUT/lat/endpoint.err" &
EP=$!
sleep 2
python3 - "$OUT/lat" "$NLAT" <<'PYEOF'
import os, statistics, sys, time
d, n = sys.argv[1], int(sys.argv[2])
csv = os.path.join(d, "central.csv")
def wait(name, t0):
    while True:
        try:
            if name in open(csv).read():
                return time.time() - t0
        except FileNotFoundError:
            pass
        if time.time() - t0 > 30:
            sys.exit(f"no row for {name} within 30 s")
        time.sleep(0.005)
# The first file also creates the stream and the central consumer.
t0 = time.time()
open(os.path.join(d, "watch", "warmup.csv"), "w").write("name,ssn\nA,536-22-8726\n")
wait("warmup.csv", t0)
import random
random.seed(7)
lat = []
for i in range(n):
    time.sleep(random.uniform(0.2, 6.0))
    name = f"save{i}.csv"
    t0 = time.time()
    with open(os.path.join(d, "watch", name), "w") as f:
        f.write(f"name,ssn\nB{i},536-22-{8700 + i:04d}\n")
    lat.append(wait(name, t0))
lat.sort()
p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
med = statistics.median(lat)
print(f"{'end-to-end latency over ' + str(n) + ' saves':44s} median {med*1000:.0f} ms, p99 {p99*1000:.0f} ms, max {lat[-1]*1000:.0f} ms (goal < 2000 ms)")
print(f"{'  of which the debounce (quiet time)':44s} 500 ms; beyond it: median {(med-0.5)*1000:.0f} ms, p99 {(p99-0.5)*1000:.0f} ms")
import csv as csvmod
rows = list(csvmod.reader(open(csv, newline="")))[1:]
if len(rows) != n + 1:
    sys.exit(f"central CSV has {len(rows)} rows for {n + 1} findings")
PYEOF
