#!/usr/bin/env bash
# Soak: a live nats-tail on a durable consumer (no --exit-at-end) left
# running for MINUTES while nats-post publishes bursts of 1 to 20 records
# at random gaps of 0.1 s to 8 s (longer than the pull heartbeat and the
# pull expiry), on a 3-node cluster whose nodes are killed and restarted
# in turn. Every record must be written exactly once; prints the number of
# bursts, records, duplicates and the post-to-write latency (median, p99).
#   bench/nats-soak.sh [MINUTES=5]
set -euo pipefail
cd "$(dirname "$0")/.."
MIN=${1:-5}
OUT=bench/out/nats-soak
rm -rf "$OUT"
mkdir -p "$OUT"
cargo build --profile dist --locked -q -p nats-post -p nats-tail
BIN=$PWD/target/dist
port=14522
NATS_DIR=$OUT/srv NATS_PORT=$port dev/nats-dev.sh start --cluster 3 2>/dev/null
url=nats://127.0.0.1:$port,nats://127.0.0.1:$((port + 1)),nats://127.0.0.1:$((port + 2))
TP=
cleanup() {
    [ -z "$TP" ] || kill -TERM "$TP" 2>/dev/null || true
    wait 2>/dev/null || true
    NATS_DIR=$OUT/srv NATS_PORT=$port dev/nats-dev.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
"$BIN/nats-tail" --servers "$url" --durable soak --from-beginning --ack-wait 10s 2>"$OUT/tail.err" |
    python3 -c '
import sys, time
with open(sys.argv[1], "w") as out:
    for line in sys.stdin:
        out.write(f"{time.time():.4f} {line}")
        out.flush()
' "$OUT/written.log" &
TP=$!
python3 - "$OUT" "$BIN/nats-post" "$url" "$MIN" "$port" <<'PYEOF'
import json, os, random, statistics, subprocess, sys, time
out, post, url, minutes, port = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
random.seed(11)
sent = {}  # id -> time posted
end = time.time() + minutes * 60
bursts = 0
restarts = 0
node_down = None
def ctl(*args):
    env = dict(os.environ, NATS_DIR=os.path.join(out, "srv"), NATS_PORT=str(port))
    subprocess.run(["dev/nats-dev.sh", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while time.time() < end:
    time.sleep(random.uniform(0.1, 8.0))
    if bursts and bursts % 15 == 0 and node_down is None:
        node_down = random.randrange(3)
        ctl("kill-node", str(node_down))
    elif bursts % 15 == 7 and node_down is not None:
        ctl("start-node", str(node_down))
        node_down, restarts = None, restarts + 1
    n = random.randint(1, 20)
    lines = []
    t = time.time()
    for i in range(n):
        rid = f"b{bursts}-r{i}"
        sent[rid] = t
        lines.append(json.dumps({"path": f"/soak/{rid}", "detector": "US Social Security Number",
                                 "confidence": "LIKELY", "finding": "536-22-8726", "id": rid}))
    subprocess.run([post, "--servers", url, "--replicas", "3", "--host", "soak",
                    "--spool", os.path.join(out, "spool")],
                   input=("\n".join(lines) + "\n").encode(), check=True,
                   stdout=subprocess.DEVNULL)
    bursts += 1
if node_down is not None:
    ctl("start-node", str(node_down))
# Let the last ones arrive.
deadline = time.time() + 30
while time.time() < deadline:
    seen = {}
    for l in open(os.path.join(out, "written.log")):
        ts, rec = l.split(" ", 1)
        rid = json.loads(rec)["id"]
        seen.setdefault(rid, []).append(float(ts))
    if len(seen) >= len(sent):
        break
    time.sleep(0.5)
missing = [r for r in sent if r not in seen]
dups = sum(len(v) - 1 for v in seen.values())
lat = sorted(seen[r][0] - sent[r] for r in sent if r in seen)
p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else float("nan")
print(f"soak {minutes:g} min: {bursts} bursts, {len(sent)} records, {restarts} node restarts; "
      f"written {len(seen)}, missing {len(missing)}, written twice {dups}; "
      f"post->write latency median {statistics.median(lat)*1000:.0f} ms, p99 {p99*1000:.0f} ms, max {lat[-1]*1000:.0f} ms")
if missing:
    sys.exit(f"missing: {missing[:10]}")
PYEOF
