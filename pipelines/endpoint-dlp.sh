#!/usr/bin/env bash
# Nightfall's endpoint-DLP tutorial as one command: a verified webhook
# receiver writing findings to CSV, and a watcher uploading changed files.
set -euo pipefail

DLP_PROG=endpoint-dlp
# shellcheck source=pipelines/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: endpoint-dlp.sh [--output FILE] [--scans FILE] [--log-dir DIR]
                       [--spool DIR] [--redact] [--stage NAME [--ready]]
                       [DIR...]

Nightfall's endpoint-DLP tutorial (scanner.py + app.py) as one command.
Runs two pipelines until stopped with Ctrl-C or SIGTERM:

  webhook: nf-webhook --listen $LISTEN | findings-csv --append FILE
  scanner: fswatch-json --initial-scan DIR... \
             | path-filter --preset user-docs --preset ignore-temp \
             | nf-upload >> SCANS

Nightfall scans each uploaded file and POSTs the result to
$NIGHTFALL_SERVER_URL/ingest, which must reach nf-webhook on $LISTEN
(through a tunnel such as ngrok or a reverse proxy).

Settings come from the environment or, for those not set there, from
~/.config/dlp-pipes/env (NAME=value lines; it must be yours and mode 0600).
Environment (required; never put them on a command line):
  NIGHTFALL_API_KEY         API key used by nf-upload
  NIGHTFALL_SIGNING_SECRET  webhook signing secret checked by nf-webhook
  NIGHTFALL_SERVER_URL      public base URL of nf-webhook (/ingest is appended)
Optional:
  LISTEN             nf-webhook's listen address (default 127.0.0.1:8000);
                     port 0 lets nf-webhook pick a free port (tests, a local
                     nf-emulator), and a NIGHTFALL_SERVER_URL ending in :0
                     then gets that port
  NIGHTFALL_API_URL  API base URL (default https://api.nightfall.ai)
  DLP_DEBOUNCE_MS    quiet time before a changed file is uploaded (default 500)

DIRs default to those of ~/Desktop ~/Documents ~/Downloads that exist
(filtered with path-filter's user-docs preset, like the tutorial's regexes);
named DIRs are filtered with ignore-temp only.

Stages: with --stage NAME the script runs one of its pipelines in the
foreground and nothing else, as the systemd units do (one unit per stage,
grouped by dlp-endpoint.target; see pipelines/README.md):
  webhook  nf-webhook --listen $LISTEN | findings-csv --append FILE
  scanner  fswatch-json --initial-scan DIR... | path-filter | nf-upload >> SCANS
After the same checks as without --stage (settings, the API check, the
CSV's header for webhook), the script's process becomes the stage's first
command (nf-webhook, fswatch-json): SIGTERM to it stops the stage, the rest
of the pipe draining first, and its exit status is the stage's. The tools'
diagnostics go to stderr (the unit's journal), not to --log-dir.

Options:
  -o, --output FILE  findings CSV to append to (default: ./results.csv)
  --scans FILE       ScanRequest records from nf-upload (default: ./scans.ndjson);
                     failed ones can be fed again, see nf-upload --help
  --log-dir DIR      the tools' diagnostics: webhook.log and scanner.log
                     (default: $XDG_STATE_HOME/dlp-pipes/logs, i.e.
                     ~/.local/state/dlp-pipes/logs)
  --spool DIR        nf-webhook's spool of accepted results
                     (default: nf-webhook's, $XDG_STATE_HOME/dlp-pipes/nf-webhook)
  --redact           mask findings in the CSV (keep the last 4 characters)
  --stage NAME       run only the pipeline NAME (webhook or scanner) in the
                     foreground, as above; LISTEN needs a fixed port
  --ready            with --stage webhook: wait until nf-webhook accepts
                     connections on $LISTEN, up to 20 s, then exit 0 (1 when
                     it does not); with --stage scanner: exit 0 at once (the
                     webhook unit's ExecStartPost=, so the scanner unit
                     starts once results can come back)
  -h, --help         show this help

Exit status: 0 stopped by SIGINT/SIGTERM; 1 a pipeline ended by itself (the
other is then stopped too) or did not drain in time; 2 usage or
configuration error (a missing variable is named). With --stage: the
status of the stage's first command (143 after SIGTERM), or 2.

Examples:
  nohup pipelines/endpoint-dlp.sh > dlp.log 2>&1 &
  LISTEN=0.0.0.0:8000 pipelines/endpoint-dlp.sh --output ~/dlp/results.csv ~/Downloads
  pipelines/endpoint-dlp.sh --stage webhook --output ~/dlp/results.csv
EOF
}

output=results.csv
scans=scans.ndjson
log_dir=${DLP_LOG_DIR:-}
spool_args=()
csv_args=()
dirs=()
stage=
ready=
while [ $# -gt 0 ]; do
    case $1 in
    -o | --output) dlp_need_arg $# "$1"; output=$2; shift ;;
    --scans) dlp_need_arg $# "$1"; scans=$2; shift ;;
    --log-dir) dlp_need_arg $# "$1"; log_dir=$2; shift ;;
    --spool) dlp_need_arg $# "$1"; spool_args=(--spool "$2"); shift ;;
    --redact) csv_args+=(--redact) ;;
    --stage) dlp_need_arg $# "$1"; stage=$2; shift ;;
    --ready) ready=1 ;;
    *) dlp_common_arg "$@" || break ;;
    esac
    shift
done
if [ -n "$stage" ]; then
    dlp_check_stage "$stage" "the stages are" webhook scanner
elif [ -n "$ready" ]; then
    dlp_usage_error "--ready needs --stage"
fi

dlp_load_env
require_env NIGHTFALL_API_KEY NIGHTFALL_SIGNING_SECRET NIGHTFALL_SERVER_URL
listen=${LISTEN:-127.0.0.1:8000}
case $listen in
*:[0-9]*) ;;
*) dlp_usage_error "LISTEN must be HOST:PORT, not '$listen'" ;;
esac
if [ "$stage" = webhook ]; then
    # The scanner's NIGHTFALL_SERVER_URL must name the port: it cannot be
    # picked at start when the stages run apart.
    [ "${listen##*:}" != 0 ] ||
        dlp_usage_error "--stage webhook needs a fixed port in LISTEN, not '$listen'"
    if [ -n "$ready" ]; then
        dlp_wait_listening "$listen" 20 ||
            dlp_die 1 "nf-webhook is not accepting connections on $listen after 20 s"
        exit 0
    fi
fi
[ -z "$ready" ] || exit 0

filter=(--preset ignore-temp)
if [ "$stage" = webhook ]; then
    # The webhook stage watches nothing.
    dirs=()
elif [ ${#dirs[@]} -eq 0 ]; then
    mapfile -t dirs < <(dlp_default_dirs)
    [ ${#dirs[@]} -gt 0 ] ||
        dlp_usage_error "none of ~/Desktop ~/Documents ~/Downloads exists; name the directories to watch"
    case $HOME in
    /home/* | /Users/*) filter=(--preset user-docs --preset ignore-temp) ;;
    esac
fi
[ "$stage" = webhook ] || dlp_check_dirs "${dirs[@]}"
log_dir=${log_dir:-$(dlp_state_home)/logs}
mkdir -p "$(dirname "$output")" "$(dirname "$scans")"
if [ -z "$stage" ]; then
    mkdir -p "$log_dir"
    chmod 700 "$log_dir" 2>/dev/null || true
fi
webhook_log=$log_dir/webhook.log
scanner_log=$log_dir/scanner.log

dlp_tools fswatch-json path-filter nf-upload nf-webhook findings-csv

# Preflight: the API answers and accepts the key, before anything starts
# (nf-upload names the host it tried and what it answered).
if ! preflight=$(nf-upload --preflight 2>&1); then
    printf '%s\n' "$preflight" >&2
    dlp_die 2 "the Nightfall API is not usable (see above); nothing was started"
fi
dlp_log "${preflight#nf-upload: }"
csv_args+=(--append "$output")
# findings-csv writes the header to a new or empty FILE and refuses one
# with other columns (naming both headers), before anything starts.
if [ "$stage" != scanner ]; then
    findings-csv "${csv_args[@]}" </dev/null ||
        dlp_die 2 "nothing was started: move $output away or choose another --output"
fi

# One stage in the foreground (see "stages" in lib.sh).
case $stage in
webhook)
    dlp_log "stage webhook: nf-webhook on $listen; findings -> $output"
    exec nf-webhook --listen "$listen" "${spool_args[@]}" > >(exec findings-csv "${csv_args[@]}")
    ;;
scanner)
    dlp_log "stage scanner: watching ${dirs[*]}; scans -> $scans"
    exec fswatch-json --initial-scan --debounce "${DLP_DEBOUNCE_MS:-500}" "${dirs[@]}" \
        > >(exec path-filter "${filter[@]}" > >(exec nf-upload >>"$scans"))
    ;;
esac

dlp_traps

# Webhook half first, so results have somewhere to go.
webhook_from=$(dlp_file_size "$webhook_log")
nf-webhook --listen "$listen" "${spool_args[@]}" 2>>"$webhook_log" |
    findings-csv "${csv_args[@]}" 2>>"$webhook_log" &
dlp_job_started webhook

# fail_start WHAT LOG OFFSET: a pipeline did not come up.
fail_start() {
    dlp_log "$1; last lines of $2:"
    dlp_log_tail "$2" "$3"
    dlp_stop_jobs || true
    exit 1
}

# Ready when nf-webhook says it listens (a port that merely answers could
# belong to another program).
for ((i = 0; i < 200; i++)); do
    dlp_log_has "$webhook_log" "$webhook_from" "nf-webhook: listening" && break
    [ -z "$DLP_SIGNALLED" ] || { dlp_stop_jobs || true; exit 0; }
    kill -0 "${DLP_JOB_PIDS[0]}" 2>/dev/null || fail_start "nf-webhook did not start" "$webhook_log" "$webhook_from"
    dlp_nap 0.1
done
if [ "${listen##*:}" = 0 ]; then
    # The port nf-webhook picked, from its "listening on http://ADDR" line.
    bound=$(tail -c "+$((webhook_from + 1))" "$webhook_log" |
        sed -n 's|.*nf-webhook: listening on http://\([^ ]*\).*|\1|p' | tail -n 1)
    if [ -n "$bound" ]; then
        listen=$bound
        case $NIGHTFALL_SERVER_URL in
        *:0) NIGHTFALL_SERVER_URL=${NIGHTFALL_SERVER_URL%:0}:${bound##*:} ;;
        esac
        export NIGHTFALL_SERVER_URL
    fi
fi
if ! dlp_log_has "$webhook_log" "$webhook_from" "nf-webhook: listening" || ! dlp_tcp_open "$listen"; then
    fail_start "nf-webhook is not listening on $listen after 20 s" "$webhook_log" "$webhook_from"
fi

scanner_from=$(dlp_file_size "$scanner_log")
fswatch-json --initial-scan --debounce "${DLP_DEBOUNCE_MS:-500}" "${dirs[@]}" 2>>"$scanner_log" |
    path-filter "${filter[@]}" 2>>"$scanner_log" |
    nf-upload >>"$scans" 2>>"$scanner_log" &
dlp_job_started scanner

# Ready once the watcher has placed its watches (after its initial scan).
for ((i = 0; i < 300; i++)); do
    dlp_log_has "$scanner_log" "$scanner_from" "fswatch-json: watching" && break
    [ -z "$DLP_SIGNALLED" ] || break
    kill -0 "${DLP_JOB_PIDS[1]}" 2>/dev/null || fail_start "the scanner pipeline did not start" "$scanner_log" "$scanner_from"
    dlp_nap 0.1
done
if dlp_log_has "$scanner_log" "$scanner_from" "fswatch-json: watching"; then
    dlp_log "ready: watching ${dirs[*]}; nf-webhook on $listen; findings -> $output; scans -> $scans; logs in $log_dir"
else
    dlp_log "still scanning ${dirs[*]} (large trees take a while); findings -> $output; logs in $log_dir"
fi

dlp_supervise || true
case $DLP_JOB_FAILED in
webhook) dlp_log "nf-webhook stopped; last lines of $webhook_log:"; dlp_log_tail "$webhook_log" "$webhook_from" ;;
*) dlp_log "the scanner stopped; last lines of $scanner_log:"; dlp_log_tail "$scanner_log" "$scanner_from" ;;
esac
dlp_log "stopping the other pipeline"
dlp_stop_jobs || true
exit 1
