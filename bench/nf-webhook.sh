#!/usr/bin/env bash
# Benchmark: verified webhooks/s and latency on loopback, nf-webhook (profile dist)
# versus the endpoint-DLP tutorial's Flask app under gunicorn (same
# validation via the official SDK). Both get signed "no findings" results,
# so neither fetches findings; nf-webhook still spools each one durably
# (fsync, group-committed with whatever arrived at the same time) before
# answering. A second nf-webhook run with the spool on tmpfs (/dev/shm, no
# real fsync) shows the ceiling the disk leaves; a third holds 1,000 idle
# and 1,000 trickling (a byte a second) connections open beside the load
# (bench/hold_connections.py, reopening any the server closes), as a client
# trying to starve the receiver would.
# Usage: bench/nf-webhook.sh [TOTAL] [CONCURRENCY]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
total="${1:-20000}"
conc="${2:-32}"
export NIGHTFALL_SIGNING_SECRET="bench-secret-$$"

venv="$root/target/bench-venv"
if ! "$venv/bin/python" -c "import flask, gunicorn, nightfall" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check flask gunicorn "nightfall==1.4.1"
fi
cargo build --quiet --profile dist -p nf-webhook --bin nf-webhook --example nf-webhook-load
bin="$root/target/dist/nf-webhook"
load="$root/target/dist/examples/nf-webhook-load"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
rss_kb() { local sum=0; for p in "$@"; do sum=$((sum + $(awk '/VmHWM/{print $2}' "/proc/$p/status"))); done; echo "$sum"; }

# nf-webhook: $1 = spool dir, $2 = slow connections to hold open (idle,
# and as many trickling); sets ours, ours_rss, batches
run_ours() {
    rm -rf "$1"
    port=$(free_port)
    "$bin" --listen "127.0.0.1:$port" --spool "$1" >/dev/null 2>"$work/nfw.err" &
    nfw=$!
    wait_port "$port"
    hold=""
    if [ "${2:-0}" -gt 0 ]; then
        python3 "$root/bench/hold_connections.py" "$port" "$2" "$2" 2>"$work/hold.err" &
        hold=$!
        sleep 3
    fi
    "$load" "$port" 500 "$conc" >/dev/null   # warm-up
    ours=$("$load" "$port" "$total" "$conc")
    ours_rss=$(rss_kb "$nfw")
    if [ -n "$hold" ]; then
        held=$(ls "/proc/$nfw/fd" | wc -l)
        kill "$hold"; wait "$hold" || true
    fi
    kill -TERM "$nfw"; wait "$nfw" || true
    batches=$(sed -n 's/.*spooled \([0-9]*\) result(s) in \([0-9]*\) write(s).*/\1 \2/p' "$work/nfw.err" | tail -1)
    rm -rf "$1"
}
# spool on the same disk as the build (real fsync), then on tmpfs
run_ours "$root/target/bench-nf-webhook-spool"
disk="$ours" disk_rss="$ours_rss" disk_batches="$batches"
shm="{}" shm_rss=0 shm_batches=""
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    run_ours "/dev/shm/bench-nf-webhook-spool-$$"
    shm="$ours" shm_rss="$ours_rss" shm_batches="$batches"
fi
held=0
run_ours "$root/target/bench-nf-webhook-spool" 1000
slow="$ours" slow_rss="$ours_rss" slow_batches="$batches" slow_fds="$held"

# tutorial Flask app under gunicorn, one sync worker per core
port=$(free_port)
workers=$(nproc)
(cd "$root/bench" && exec "$venv/bin/gunicorn" -w "$workers" -b "127.0.0.1:$port" --log-level warning \
    nf_webhook_flask_app:app >/dev/null 2>"$work/gunicorn.err") &
gpid=$!
wait_port "$port"
"$load" "$port" 500 "$conc" >/dev/null
flask=$("$load" "$port" "$total" "$conc")
flask_rss=$(rss_kb $gpid $(pgrep -P "$gpid"))
kill -TERM "$gpid"; wait "$gpid" || true

python3 - "$disk" "$flask" "$disk_rss" "$flask_rss" "$workers" "$total" "$conc" "$shm" "$shm_rss" "$disk_batches" "$shm_batches" "$slow" "$slow_rss" "$slow_batches" "$slow_fds" <<'PY'
import json, sys
o, f = json.loads(sys.argv[1]), json.loads(sys.argv[2])
orss, frss, w, total, conc = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
t, trss = json.loads(sys.argv[8]), int(sys.argv[9])
def per_write(b):
    n = b.split()
    return f"{int(n[0]) / int(n[1]):.1f}" if len(n) == 2 and int(n[1]) else "-"
print(f"{total} signed webhooks, {conc} concurrent clients, loopback, one connection per request")
print(f"{'':30}{'webhooks/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'failed':>8}{'peak RSS MB':>13}{'per fsync':>11}")
rows = [("nf-webhook (dist, disk)", o, orss, per_write(sys.argv[10]))]
if t:
    rows.append(("nf-webhook (spool on tmpfs)", t, trss, per_write(sys.argv[11])))
s, srss = json.loads(sys.argv[12]), int(sys.argv[13])
rows.append(("nf-webhook (disk, 2,000 slow)", s, srss, per_write(sys.argv[14])))
rows.append((f"Flask+gunicorn ({w} workers)", f, frss, "-"))
for name, r, rss, pw in rows:
    print(f"{name:30}{r['rps']:>12.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['failed']:>8}{rss/1024:>13.1f}{pw:>11}")
print(f"throughput ratio {o['rps']/f['rps']:.1f}x, p99 ratio {f['p99_ms']/o['p99_ms']:.1f}x lower (disk spool vs Flask)")
if t:
    print(f"tmpfs ceiling: {t['rps']/f['rps']:.1f}x Flask")
print(f"with 1,000 idle + 1,000 trickling connections held open: {s['rps']/o['rps']:.2f}x the throughput, "
      f"p99 {s['p99_ms']:.1f} ms, {sys.argv[15]} fds open in nf-webhook at the end")
PY
