#!/usr/bin/env bash
# Offline endpoint DLP: watch directories and append every finding of the
# built-in detector to a CSV file. No account, no network.
set -euo pipefail

DLP_PROG=local-dlp
# shellcheck source=pipelines/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: local-dlp.sh [--once] [--output FILE] [--redact] [--quarantine DIR] [--notify] [DIR...]

Offline endpoint DLP, no account needed. Scans the directories with the
built-in detector (card numbers, SSNs, API keys, private keys) and appends
one CSV row per finding to FILE:

  fswatch-json --initial-scan DIR... | path-filter --preset ignore-temp \
    | pii-scan | findings-csv >> FILE

It first reports what is already there, then keeps watching until stopped
with Ctrl-C or SIGTERM (the pipeline is drained and flushed first).

DIRs default to those of ~/Desktop ~/Documents ~/Downloads that exist; when
none does, the bundled examples/sample-data is scanned instead (and said so).
Bursts of events on one file (create, write, close) are coalesced after
DLP_DEBOUNCE_MS of quiet (default 500), so a file is scanned once per save.
The tools are built with cargo on first use (set DLP_BIN_DIR to use
prebuilt binaries instead).

Options:
  --once         scan what is there now, print a summary and exit
                 (pii-scan DIR... | path-filter | findings-csv >> FILE)
  -o, --output FILE
                 CSV file to append to (default: ./results.csv; - = stdout);
                 the header row is written only when the file is new or empty
  --redact       mask findings in the CSV (keep the last 4 characters)
  --quarantine DIR
                 also move files with VERY_LIKELY findings into this vault
                 (dlp-remediate --quarantine DIR --leave-note; restore with
                 dlp-remediate --quarantine DIR restore ID)
  --notify       also send the file's owner a desktop notification
                 (dlp-remediate --notify); action records are appended to
                 DLP_ACTIONS (default: actions.ndjson beside the CSV file)
  -h, --help     show this help

Exit status: 0 ok (or stopped by a signal), 1 some files could not be read
or the pipeline ended by itself, 2 usage or build error.

Examples:
  pipelines/local-dlp.sh --once examples/sample-data
  pipelines/local-dlp.sh --output ~/dlp/results.csv ~/Documents ~/Downloads
EOF
}

once=
output=results.csv
csv_args=()
rem_args=() # dlp-remediate arguments (--quarantine, --notify)
dirs=()
while [ $# -gt 0 ]; do
    case $1 in
    --once) once=1 ;;
    -o | --output)
        [ $# -ge 2 ] || dlp_usage_error "$1 needs a FILE"
        output=$2
        shift
        ;;
    --output=*) output=${1#--output=} ;;
    --redact) csv_args+=(--redact) ;;
    --quarantine) # remediation (dlp-remediate)
        [ $# -ge 2 ] || dlp_usage_error "$1 needs a DIR"
        rem_args+=(--quarantine "$2" --leave-note)
        shift
        ;;
    --notify) rem_args+=(--notify) ;; # remediation (dlp-remediate)
    -h | --help)
        usage
        exit 0
        ;;
    --)
        shift
        dirs+=("$@")
        break
        ;;
    -*) dlp_usage_error "unknown option: $1" ;;
    *) dirs+=("$1") ;;
    esac
    shift
done
[ -n "$output" ] || dlp_usage_error "--output needs a FILE"

if [ ${#dirs[@]} -eq 0 ]; then
    mapfile -t dirs < <(dlp_default_dirs)
    if [ ${#dirs[@]} -eq 0 ]; then
        dirs=("$DLP_ROOT/examples/sample-data")
        dlp_log "none of ~/Desktop ~/Documents ~/Downloads exists; scanning the bundled synthetic samples in ${dirs[0]} instead (name directories to scan your own)"
    fi
fi
for d in "${dirs[@]}"; do
    if [ -n "$once" ]; then
        [ -e "$d" ] || dlp_usage_error "no such file or directory: $d"
    else
        [ -d "$d" ] || dlp_usage_error "not a directory: $d"
    fi
done
if [ "$output" != - ]; then
    mkdir -p "$(dirname "$output")"
fi

# write_csv ARGS...: findings-csv into the chosen output.
write_csv() {
    if [ "$output" = - ]; then
        remediate | findings-csv "$@"
    else
        remediate | findings-csv "$@" >>"$output"
    fi
}

# --- remediation (--quarantine/--notify) -------------------------------------
# remediate: pass findings through; with --quarantine/--notify, also feed them
# to dlp-remediate, whose action records are appended to $actions. A failed
# action (status 1) is a warning; only a fatal error (2) fails the pipeline.
actions=${DLP_ACTIONS:-$(dirname -- "$output")/actions.ndjson}
actions_from=$(dlp_file_size "$actions")
remediate() {
    [ ${#rem_args[@]} -gt 0 ] || { cat; return; }
    local st=0
    tee >(dlp-remediate "${rem_args[@]}" >>"$actions") || st=$?
    wait $! || [ $? -lt 2 ] || st=2
    return $st
}
# remediation_summary: one line per action kind, after a --once scan.
remediation_summary() {
    [ ${#rem_args[@]} -gt 0 ] && [ -s "$actions" ] || return 0
    tail -c "+$((actions_from + 1))" "$actions" | grep -o '"action":"[a-z]*"' | cut -d'"' -f4 |
        sort | uniq -c | while read -r n what; do echo "$DLP_PROG: $n file(s) $what (records in $actions)"; done
}

# summary FINDINGS_NDJSON: count findings by detector, say where they went.
summary() {
    local n files where
    n=$(grep -c . "$1" || true)
    files=$(grep -o '"path":"[^"]*"' "$1" | sort -u | grep -c . || true)
    if [ "$output" = - ]; then where="standard output"; else where=$output; fi
    echo "$DLP_PROG: $n finding(s) in $files file(s) under ${dirs[*]}"
    if [ "$n" -gt 0 ]; then
        grep -o '"detector":"[^"]*"' "$1" | sed -e 's/^"detector":"//' -e 's/"$//' |
            sort | uniq -c | sort -rn | sed -e 's/^ */  /'
    fi
    echo "$DLP_PROG: CSV rows appended to $where"
}

if [ -n "$once" ]; then
    dlp_tools pii-scan path-filter findings-csv ${rem_args[0]:+dlp-remediate}
    found=$(mktemp "${TMPDIR:-/tmp}/local-dlp.XXXXXX")
    trap 'rm -f "$found"' EXIT
    set +e
    pii-scan "${dirs[@]}" | path-filter --preset ignore-temp | tee "$found" | write_csv "${csv_args[@]}"
    st=("${PIPESTATUS[@]}")
    set -e
    if [ "${st[0]}" -ge 2 ] || [ "${st[1]}" -ge 2 ] || [ "${st[2]}" -ne 0 ] || [ "${st[3]}" -ne 0 ]; then
        dlp_die 2 "scan failed (pii-scan ${st[0]}, path-filter ${st[1]}, tee ${st[2]}, findings-csv ${st[3]})"
    fi
    if [ "$output" = - ]; then summary "$found" >&2; else summary "$found"; fi
    remediation_summary
    if [ "${st[0]}" -ne 0 ] || [ "${st[1]}" -ne 0 ]; then
        dlp_warn "some files could not be scanned (see the messages above)"
        exit 1
    fi
    exit 0
fi

dlp_tools fswatch-json path-filter pii-scan findings-csv ${rem_args[0]:+dlp-remediate}
dlp_traps
fswatch-json --initial-scan --debounce "${DLP_DEBOUNCE_MS:-500}" "${dirs[@]}" | path-filter --preset ignore-temp | pii-scan | write_csv "${csv_args[@]}" &
dlp_job_started scan
if [ "$output" = - ]; then where="standard output"; else where=$output; fi
dlp_log "watching ${dirs[*]}; findings are appended to $where (Ctrl-C or SIGTERM stops)"

dlp_supervise || true
# The watcher never ends by itself unless something is wrong.
dlp_stop_jobs || true
exit 1
