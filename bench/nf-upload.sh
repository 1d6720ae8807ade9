#!/usr/bin/env bash
# Benchmark: nf-upload vs the official Nightfall Python SDK's scan_file,
# both uploading the same files to nf-emulator on loopback.
#   bench/nf-upload.sh [SMALL_FILES=300] [LARGE_FILES=4] [LARGE_MB=20]
set -euo pipefail
cd "$(dirname "$0")/.."
SMALL=${1:-300}
LARGE=${2:-4}
LARGE_MB=${3:-20}
OUT=bench/out/nf-upload
rm -rf "$OUT" && mkdir -p "$OUT/small" "$OUT/large" "$OUT/spool"

cargo build --profile dist -q -p nf-upload -p nf-emulator -p nf-webhook
PY=$(bash tests/py/ensure-venv.sh)
export NIGHTFALL_SIGNING_SECRET=bench-secret NIGHTFALL_API_KEY=NF-bench
for i in $(seq 1 "$SMALL"); do
    printf 'row %d card 5433-9502-3725-7862 ssn 536-22-8726 %*s\n' "$i" 8000 "" > "$OUT/small/f$i.txt"
done
for i in $(seq 1 "$LARGE"); do
    head -c $((LARGE_MB * 1024 * 1024)) /dev/urandom | base64 > "$OUT/large/big$i.txt"
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
EPORT=$(free_port); WPORT=$(free_port)
target/dist/nf-emulator --listen "127.0.0.1:$EPORT" --rate 0 2> "$OUT/emulator.log" &
EMU=$!
target/dist/nf-webhook --listen "127.0.0.1:$WPORT" --spool "$OUT/spool" > /dev/null 2> "$OUT/webhook.log" &
HOOK=$!
trap 'kill $EMU $HOOK 2>/dev/null || true' EXIT
for p in $EPORT $WPORT; do
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
done
export NIGHTFALL_API_URL="http://127.0.0.1:$EPORT"
HOOK_URL="http://127.0.0.1:$WPORT/ingest"

measure() { # NAME DIR CMD...: best wall time of 2 runs, with the client's CPU time
    local name=$1 dir=$2; shift 2
    local files bytes best=999 cpu=0 t w c
    files=$(find "$dir" -type f | wc -l)
    bytes=$(du -cb "$dir"/* | tail -1 | cut -f1)
    for _ in 1 2; do
        /usr/bin/time -f "%e %U %S" -o "$OUT/time.txt" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"
        read -r t u sy < "$OUT/time.txt"
        w=$t; c=$(python3 -c "print($u+$sy)")
        if python3 -c "import sys; sys.exit(0 if $w < $best else 1)"; then best=$w; cpu=$c; fi
    done
    python3 - "$name" "$files" "$bytes" "$best" "$cpu" <<'PY'
import sys
name, files, nbytes, dt, cpu = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
print(f"{name:26s} {files:4d} files {nbytes/1e6:7.1f} MB {dt:6.2f} s  {files/dt:7.1f} files/s {nbytes/1e6/dt:7.1f} MB/s  client CPU {cpu:5.2f} s")
PY
}

# Warm up: the first scan request runs the webhook challenge.
find "$OUT/small" -type f | head -3 | target/dist/nf-upload --paths --rate 0 --dedupe-window 0 --webhook-url "$HOOK_URL" > /dev/null

echo "== $SMALL small files (8 KB) and $LARGE large files (${LARGE_MB} MB of base64 → $((LARGE_MB*4/3)) MB)"
for set in small large; do
    measure "nf-upload-$set-c4" "$OUT/$set" sh -c "find '$OUT/$set' -type f | target/dist/nf-upload --paths --rate 0 --concurrency 4 --dedupe-window 0 --webhook-url $HOOK_URL"
    measure "nf-upload-$set-c1" "$OUT/$set" sh -c "find '$OUT/$set' -type f | target/dist/nf-upload --paths --rate 0 --concurrency 1 --dedupe-window 0 --webhook-url $HOOK_URL"
    measure "python-sdk-$set" "$OUT/$set" sh -c "find '$OUT/$set' -type f | '$PY' bench/nf_upload_sdk.py '$NIGHTFALL_API_URL' $HOOK_URL"
done
grep -c scan_initiated "$OUT"/nf-upload-small-c4.out | sed 's/^/scan_initiated records (small, c4): /'
