#!/usr/bin/env bash
# The whole Nightfall endpoint-DLP flow on this machine, no account needed:
# nf-emulator stands in for api.nightfall.ai and endpoint-dlp.sh runs as is.
set -euo pipefail

DLP_PROG=demo-nightfall
# shellcheck source=pipelines/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: demo-nightfall.sh [--keep] [DIR]

Shows the Nightfall endpoint-DLP flow end to end without an account:

  1. starts nf-emulator (a local stand-in for Nightfall's API) on a free
     loopback port, with a throwaway API key and signing secret that exist
     only in this script's environment;
  2. runs pipelines/endpoint-dlp.sh against it (nf-webhook | findings-csv,
     and fswatch-json | path-filter | nf-upload), watching DIR (default: a
     new temporary directory);
  3. writes a small file with synthetic card numbers, an SSN and an API key
     into DIR, waits until the findings come back through the signed webhook
     as CSV rows, prints them, removes the file and stops everything.

With DIR, files already in it are uploaded to the emulator too (nothing
leaves this machine). Finishes within about a minute; exit 0 when the rows
arrived, 1 when they did not (the logs are shown), 2 on usage errors.

Options:
  --keep      keep the work directory (CSV, scans, logs) and print its path
  -h, --help  show this help
EOF
}

keep=
dir=
while [ $# -gt 0 ]; do
    case $1 in
    --keep) keep=1 ;;
    -h | --help) dlp_help; exit 0 ;;
    -*) dlp_usage_error "unknown option: $1" ;;
    *)
        [ -z "$dir" ] || dlp_usage_error "only one DIR, please"
        dir=$1
        ;;
    esac
    shift
done
if [ -n "$dir" ]; then dlp_check_dirs "$dir"; fi

dlp_tools fswatch-json path-filter nf-upload nf-webhook findings-csv nf-emulator
export DLP_BIN_DIR=$DLP_BIN # endpoint-dlp.sh need not look again

work=$(mktemp -d "${TMPDIR:-/tmp}/dlp-demo.XXXXXX")
watched=${dir:-$work/watched}
mkdir -p "$watched" "$work/logs"
sample=
cleanup() {
    dlp_stop_jobs >/dev/null 2>&1 || true
    if [ -n "$sample" ]; then rm -f "$sample"; fi
    if [ -n "$keep" ]; then
        dlp_log "kept $work (results.csv, scans.ndjson, logs/)"
    else
        rm -rf "$work"
    fi
}
dlp_traps
trap cleanup EXIT

# random_hex N: N random bytes as hex.
random_hex() { od -An -tx1 -N "$1" /dev/urandom | tr -d ' \n'; }

# Throwaway credentials, exported to the children only.
NIGHTFALL_API_KEY=NF-demo-$(random_hex 16)
NIGHTFALL_SIGNING_SECRET=$(random_hex 32)
export NIGHTFALL_API_KEY NIGHTFALL_SIGNING_SECRET

# fail MESSAGE: show the logs and give up.
fail() {
    dlp_log "$1"
    local f
    for f in "$work"/logs/*.log; do
        [ -s "$f" ] || continue
        dlp_log "--- $(basename "$f"):"
        dlp_log_tail "$f" 0
    done
    exit 1
}

deadline=$((SECONDS + 55))

: >"$work/logs/nf-emulator.log" # exists before the job opens it
nf-emulator --listen 127.0.0.1:0 --data-dir "$work/emulator-data" 2>"$work/logs/nf-emulator.log" &
dlp_job_started emulator
api_url=
while [ -z "$api_url" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "nf-emulator did not start"
    kill -0 "${DLP_JOB_PIDS[0]}" 2>/dev/null || fail "nf-emulator exited"
    api_url=$(sed -n 's/^nf-emulator: listening on \(http:[^ ]*\).*/\1/p' "$work/logs/nf-emulator.log" || true)
    [ -n "$api_url" ] || dlp_nap 0.1
done
export NIGHTFALL_API_URL=$api_url
dlp_log "nf-emulator (standing in for api.nightfall.ai) at $api_url"

# A free loopback port for nf-webhook; endpoint-dlp.sh fails fast if it
# was taken meanwhile, and then another one is tried.
ready=
for attempt in 1 2 3; do
    port=
    while [ -z "$port" ]; do
        p=$((20000 + $(od -An -tu2 -N2 /dev/urandom | tr -d ' ') % 40000))
        dlp_tcp_open "127.0.0.1:$p" || port=$p
    done
    export LISTEN=127.0.0.1:$port NIGHTFALL_SERVER_URL=http://127.0.0.1:$port
    log=$work/logs/endpoint-dlp.log
    from=$(dlp_file_size "$log")
    "$DLP_ROOT/pipelines/endpoint-dlp.sh" --output "$work/results.csv" --scans "$work/scans.ndjson" \
        --log-dir "$work/logs" --spool "$work/spool" "$watched" 2>>"$log" &
    dlp_job_started "endpoint-dlp"
    while [ "$SECONDS" -lt "$deadline" ] && [ -z "$DLP_SIGNALLED" ]; do
        if dlp_log_has "$log" "$from" "endpoint-dlp: ready"; then
            ready=1
            break
        fi
        kill -0 "${DLP_JOB_PIDS[$attempt]}" 2>/dev/null || break
        dlp_nap 0.1
    done
    [ -z "$ready" ] || break
    [ -z "$DLP_SIGNALLED" ] || exit 0
    dlp_log "endpoint-dlp.sh did not start (attempt $attempt)"
    kill -TERM "${DLP_JOB_PIDS[$attempt]}" 2>/dev/null || true
    wait "${DLP_JOB_PIDS[$attempt]}" 2>/dev/null || true
done
[ -n "$ready" ] || fail "endpoint-dlp.sh did not start"
dlp_log "endpoint-dlp.sh running: nf-webhook on $LISTEN, watching $watched"

sample=$watched/dlp-demo-$(random_hex 4).txt
cat >"$sample" <<'EOF'
Synthetic customer records for the dlp-pipes demo (not real people).
Name	Credit Card
Rep. Viviana Hintz	5433-9502-3725-7862
Eloisa Champlin	3457-389808-83234
SSN of record: 536-22-8726
deploy token: AKIAQYLPMN5HHHFPZAM2
EOF
expected=4
dlp_log "wrote $sample (2 card numbers, 1 SSN, 1 AWS key ID); waiting for the webhook"

# rows FILE: CSV data rows (each starts with the upload id and the index).
rows() { grep -cE '^[0-9a-f-]{36},[0-9]+,' "$1" 2>/dev/null || true; }
n=0
while [ "$SECONDS" -lt "$deadline" ] && [ -z "$DLP_SIGNALLED" ]; do
    n=$(rows "$work/results.csv")
    [ "$n" -lt "$expected" ] || break
    kill -0 "${DLP_JOB_PIDS[0]}" 2>/dev/null || fail "nf-emulator stopped"
    kill -0 "${DLP_JOB_PIDS[-1]}" 2>/dev/null || fail "endpoint-dlp.sh stopped"
    dlp_nap 0.2
done
[ -z "$DLP_SIGNALLED" ] || exit 0
[ "$n" -gt 0 ] || fail "no findings arrived in time"
[ "$n" -ge "$expected" ] || dlp_warn "only $n of $expected findings arrived in time"

echo "$DLP_PROG: $n finding(s) came back from the (emulated) Nightfall scan into results.csv:"
echo
cat "$work/results.csv"
echo
echo "$DLP_PROG: the upload that produced them (scans.ndjson):"
cat "$work/scans.ndjson"
echo
dlp_log "stopping"
dlp_stop_jobs || fail "a pipeline had to be killed"
dlp_log "done"
