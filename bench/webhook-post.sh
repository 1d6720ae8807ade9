#!/usr/bin/env bash
# Benchmark: records/s that webhook-post delivers to a local receiver with
# --batch 100 (and --batch 1 for reference), against what people write
# instead: a `while read line; do curl -d "$line" ...; done` loop and a
# Python requests loop (keep-alive Session). All POST the same FsEvent
# records to the same local receiver (bench/webhook-post-receiver.py),
# which counts what arrives, so every run is checked for completeness.
#   bench/webhook-post.sh [RECORDS=20000] [BASELINE_RECORDS=2000]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
NB=${2:-2000}
OUT=bench/out/webhook-post
mkdir -p "$OUT"

need() { command -v "$1" >/dev/null 2>&1 || { echo "installing $2"; (apt-get update -qq && apt-get install -y -qq "$2") >/dev/null; }; }
need curl curl
need python3 python3
VENV=target/bench-venv
if ! "$VENV/bin/python" -c 'import requests' 2>/dev/null; then
    python3 -m venv "$VENV" >/dev/null
    "$VENV/bin/pip" install -q requests
fi
PY="$VENV/bin/python"

cargo build --profile dist -q -p webhook-post
WP=target/dist/webhook-post

gen() { # gen N FILE
    python3 - "$1" > "$2" <<'PYEOF'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"event_type": "modified", "src_path": f"/srv/user_pii/dir{i % 50}/file{i}.csv",
                      "dest_path": "", "is_directory": False, "is_synthetic": False,
                      "timestamp": "2026-11-22T10:15:03.120511Z", "size": 1000 + i,
                      "sha256": f"{i:064x}", "previous_sha256": f"{i + 1:064x}"}, separators=(",", ":")))
PYEOF
}
gen "$N" "$OUT/in-$N.ndjson"
gen "$NB" "$OUT/in-$NB.ndjson"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$PY" bench/webhook-post-receiver.py "$PORT" & RECV=$!
trap 'kill $RECV 2>/dev/null || true; rm -rf "$OUT/spool"' EXIT
for _ in $(seq 100); do curl -s "http://127.0.0.1:$PORT/count" >/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT/hook"
count() { curl -s "http://127.0.0.1:$PORT/count"; }

now() { date +%s.%N; }
declare -A RATE
# run NAME RECORDS CMD...: wall time, records/s, and a check that all arrived.
run() {
    local name=$1 n=$2; shift 2
    local before after t0 t1
    before=$(count)
    t0=$(now)
    "$@"
    t1=$(now)
    after=$(count)
    if [ $((after - before)) -ne "$n" ]; then
        echo "$name: receiver got $((after - before)) records, expected $n" >&2
        exit 1
    fi
    RATE[$name]=$(python3 -c "print(round($n / ($t1 - $t0)))")
    printf '%-34s %8d records %8.2f s %10d records/s\n' "$name" "$n" "$(python3 -c "print($t1 - $t0)")" "${RATE[$name]}"
}

wp() { rm -rf "$OUT/spool"; "$WP" --url "$URL" --spool "$OUT/spool" "$@" > "$OUT/deliveries.ndjson"; }
wp_signed() { WEBHOOK_SIGNING_SECRET=bench wp "$@"; }
curl_loop() {
    while IFS= read -r line; do
        curl -s -o /dev/null -f -H 'Content-Type: application/json' -d "$line" "$URL"
    done < "$OUT/in-$NB.ndjson"
}

echo "webhook-post benchmark: local receiver (Python ThreadingHTTPServer), $(nproc) cores"
run "webhook-post --batch 100" "$N" wp --batch 100 < "$OUT/in-$N.ndjson"
run "webhook-post --batch 100 --sign" "$N" wp_signed --batch 100 --sign < "$OUT/in-$N.ndjson"
run "webhook-post --batch 1" "$NB" wp --batch 1 < "$OUT/in-$NB.ndjson"
run "python requests loop (Session)" "$NB" "$PY" bench/webhook-post-requests.py "$URL" < "$OUT/in-$NB.ndjson"
run "while read; curl -d loop" "$NB" curl_loop

ours=${RATE["webhook-post --batch 100"]}
echo
echo "ratios (records/s of webhook-post --batch 100 over the alternative):"
for k in "webhook-post --batch 1" "python requests loop (Session)" "while read; curl -d loop"; do
    printf '  vs %-32s %8.1fx\n' "$k" "$(python3 -c "print($ours / ${RATE[$k]})")"
done
