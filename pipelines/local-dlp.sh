#!/usr/bin/env bash
# Offline endpoint DLP: watch directories and append every finding of the
# built-in detector to a CSV file. No account, no network.
set -euo pipefail

DLP_PROG=local-dlp
# shellcheck source=pipelines/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: local-dlp.sh [--once] [--output FILE] [--redact] [--columns LIST | --preset NAME]
                    [--state-dir DIR]
                    [--no-state] [--quarantine DIR] [--notify] [--mounts]
                    [--host NAME] [DIR...]

Offline endpoint DLP, no account needed. Scans the directories with the
built-in detector (card numbers, SSNs, API keys, private keys) and appends
one CSV row per finding to FILE, once per finding:

  fswatch-json --state STATE/watch.state --only-content-changes DIR... \
    | path-filter --preset ignore-temp \
    | pii-scan --state STATE/findings.state \
    | findings-csv --preset local --append FILE

It first reports what is already there, then keeps watching until stopped
with Ctrl-C or SIGTERM (the pipeline is drained and flushed first).
A finding gets one row (status "new") when it first appears in a file;
touching a file, saving it without new findings or restarting adds no row;
a finding edited out, or in a file deleted or moved away, gets one row with
status "resolved". What has been reported is kept in STATE, by default
.FILE.state beside FILE. To start over, delete FILE (its state is then
cleared on the next start) or STATE.

DIRs default to those of ~/Desktop ~/Documents ~/Downloads that exist; when
none does, the bundled examples/sample-data is scanned instead (and said so).
Bursts of events on one file (create, write, close) are coalesced after
DLP_DEBOUNCE_MS of quiet (default 500), so a file is scanned once per save.
The tools are built with cargo on first use (set DLP_BIN_DIR to use
prebuilt binaries instead).

Options:
  --once         scan what is there now, print a summary and exit
                 (pii-scan DIR... | path-filter | findings-csv --append FILE
                 --summary)
  -o, --output FILE
                 CSV file to append to (default: ./results.csv; - = stdout);
                 the header row is written only when the file is new or
                 empty, and a file with other columns is refused
  --redact       mask findings in the CSV (keep the last 4 characters)
  --columns LIST, --preset NAME
                 the CSV's columns, as findings-csv takes them (e.g.
                 --preset tutorial: Nightfall's tutorial CSV; without a
                 status column, resolved findings are not written)
  --state-dir DIR
                 keep the finding state and the watcher's baseline in DIR
                 (default: .FILE.state beside FILE; for -o -,
                 $XDG_STATE_HOME/dlp-pipes/local/stdout)
  --no-state     report every finding on every scan (no status column)
  --quarantine DIR
                 also move files with VERY_LIKELY findings into this vault
                 (dlp-remediate --quarantine DIR --leave-note; restore with
                 dlp-remediate --quarantine DIR restore ID); the findings of a
                 quarantined file then get rows with status "quarantined",
                 not "resolved"
  --notify       also send the file's owner a desktop notification
                 (dlp-remediate --notify; a notice not delivered is reported);
                 action records are appended to DLP_ACTIONS (default:
                 actions.ndjson beside the CSV file)
  --mounts       also scan removable media as it is mounted (fswatch-json
                 --mounts); the CSV gains the columns removable and
                 copied_from (the watched file a copy on the media came from)
  --host NAME    the host name records carry (default $DLP_HOST, else the
                 machine's)
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
state_dir=
use_state=1
csv_args=()
csv_select=() # --columns/--preset as given
rem_args=() # dlp-remediate arguments (--quarantine, --notify)
mounts=()
host_args=()
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
    --columns | --preset)
        [ $# -ge 2 ] || dlp_usage_error "$1 needs a value"
        csv_select=("$1" "$2")
        shift
        ;;
    --state-dir)
        [ $# -ge 2 ] || dlp_usage_error "$1 needs a DIR"
        state_dir=$2
        shift
        ;;
    --no-state) use_state= ;;
    --quarantine) # remediation (dlp-remediate)
        [ $# -ge 2 ] || dlp_usage_error "$1 needs a DIR"
        rem_args+=(--quarantine "$2" --leave-note)
        shift
        ;;
    --notify) rem_args+=(--notify) ;; # remediation (dlp-remediate)
    --mounts) mounts=(--mounts) ;;
    --host)
        [ $# -ge 2 ] || dlp_usage_error "$1 needs a NAME"
        host_args=(--host "$2")
        shift
        ;;
    *) dlp_common_arg "$@" || break ;;
    esac
    shift
done
[ -n "$output" ] || dlp_usage_error "--output needs a FILE"
dlp_load_env

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

# The finding state: what has been reported to this output already.
# The CSV's columns are findings-csv's preset for these options:
# local[-no-state][-mounts].
preset=local
scan_state=()
state_existed=
if [ -n "$use_state" ]; then
    if [ -z "$state_dir" ]; then
        if [ "$output" = - ]; then
            state_dir=$(dlp_state_home)/local/stdout
        else
            state_dir=$(dirname "$output")/.$(basename "$output").state
        fi
    fi
    scan_state=(--state "$state_dir/findings.state")
    if [ "$output" != - ] && [ -d "$state_dir" ] && ! [ -s "$output" ]; then
        dlp_log "$output is new: starting over (clearing the finding state in $state_dir)"
        # pii-scan removes its state and key once it holds the state's lock.
        scan_state+=(--reset-state)
        rm -f -- "$state_dir/watch.state"
    elif [ -e "$state_dir/findings.state" ]; then
        state_existed=1
    fi
    mkdir -p "$state_dir"
    chmod 700 "$state_dir" 2>/dev/null || true
else
    preset=local-no-state
fi
if [ ${#mounts[@]} -gt 0 ]; then preset=$preset-mounts; fi
if [ ${#csv_select[@]} -gt 0 ]; then
    csv_args+=("${csv_select[@]}") # --columns or --preset as given
else
    csv_args+=(--preset "$preset")
fi
if [ "$output" != - ]; then csv_args+=(--append "$output"); fi

# Before anything is scanned (the finding state would count what is found
# as reported): findings-csv checks the columns and the output, and writes
# the header to a new or empty file; rows with other columns under an
# older header would make the file unreadable as one table, so such a file
# is refused (findings-csv names both headers).
# Every tool this run uses, built (when needed) in one go.
tools=(pii-scan path-filter findings-csv)
if [ -z "$once" ]; then tools+=(fswatch-json); fi
if [ ${#rem_args[@]} -gt 0 ]; then tools+=(dlp-remediate); fi
dlp_tools "${tools[@]}"
if [ ${#csv_select[@]} -gt 0 ]; then
    findings-csv "${csv_select[@]}" --header never </dev/null ||
        dlp_usage_error "findings-csv refused ${csv_select[*]}"
fi
if [ "$output" != - ]; then
    findings-csv "${csv_args[@]}" </dev/null ||
        dlp_die 2 "nothing was scanned: move $output away, choose another --output${use_state:+, or use --no-state for the columns without status}"
fi

# --- remediation (--quarantine/--notify) -------------------------------------
# remediate: pass findings through; with --quarantine/--notify, through
# dlp-remediate --pass-findings, which acts on them, appends its action records
# to $actions and passes the findings on (the resolved ones of a file it
# quarantined as "quarantined"); after a --once scan it says what it did
# (--summary: files per action, failed actions, notices not delivered). A
# failed action (status 1) is a warning; only a fatal error (2) fails the
# pipeline.
actions=${DLP_ACTIONS:-$(dirname -- "$output")/actions.ndjson}
rem_summary=()
if [ -n "$once" ]; then rem_summary=(--summary); fi
remediate() {
    [ ${#rem_args[@]} -gt 0 ] || { cat; return; }
    local r=0
    dlp-remediate --pass-findings --actions "$actions" "${rem_summary[@]}" "${rem_args[@]}" || r=$?
    [ "$r" -lt 2 ] || dlp_stopped_by_signal "$r" || return 2
}

# The end of the summary (findings-csv --summary says the counts, on
# stdout with --append, else on stderr): where the rows went.
summary_end() {
    local where=$output
    if [ "$output" = - ]; then where="standard output"; fi
    if [ -n "$state_existed" ]; then
        echo "$DLP_PROG: findings reported before are not repeated (state: $state_dir)"
    fi
    echo "$DLP_PROG: CSV rows appended to $where"
}

if [ -n "$once" ]; then
    # The summary: open findings (no status, or new) in how many files and
    # per detector, resolved and quarantined ones.
    summary=(--summary "--summary-label=$DLP_PROG" "--summary-under=${dirs[*]}")
    if [ -n "$state_existed" ]; then summary+=(--summary-new); fi
    set +e
    pii-scan "${scan_state[@]}" "${host_args[@]}" "${dirs[@]}" | path-filter --preset ignore-temp | remediate | findings-csv "${csv_args[@]}" "${summary[@]}"
    st=("${PIPESTATUS[@]}")
    set -e
    if dlp_stopped_by_signal "${st[@]}"; then
        dlp_log "stopped by a signal"
        exit 0
    fi
    if [ "${st[0]}" -ge 2 ] || [ "${st[1]}" -ge 2 ] || [ "${st[2]}" -ne 0 ] || [ "${st[3]}" -ne 0 ]; then
        dlp_die 2 "scan failed (pii-scan ${st[0]}, path-filter ${st[1]}, remediation ${st[2]}, findings-csv ${st[3]})"
    fi
    if [ "$output" = - ]; then summary_end >&2; else summary_end; fi
    if [ "${st[0]}" -ne 0 ] || [ "${st[1]}" -ne 0 ]; then
        dlp_warn "some files could not be scanned (see the messages above)"
        exit 1
    fi
    exit 0
fi

watch_args=(--debounce "${DLP_DEBOUNCE_MS:-500}")
if [ -n "$use_state" ]; then
    # Touches and saves without new content are dropped at the source; after
    # the first run, a start reports only what changed while stopped.
    watch_args+=(--state "$state_dir/watch.state" --only-content-changes)
    [ -e "$state_dir/watch.state" ] || watch_args+=(--initial-scan)
else
    watch_args+=(--initial-scan)
fi

dlp_traps
# At a terminal, each new or resolved finding is also said in one line.
announce=()
if [ -t 2 ]; then announce=(--announce); fi
fswatch-json "${watch_args[@]}" "${mounts[@]}" "${host_args[@]}" "${dirs[@]}" | path-filter --preset ignore-temp | pii-scan "${scan_state[@]}" "${host_args[@]}" "${announce[@]}" | remediate | findings-csv "${csv_args[@]}" &
dlp_job_started scan
if [ "$output" = - ]; then where="standard output"; else where=$output; fi
dlp_log "watching ${dirs[*]}; findings are appended to $where (Ctrl-C or SIGTERM stops)"

dlp_supervise || true
# The watcher never ends by itself unless something is wrong.
dlp_stop_jobs || true
exit 1
