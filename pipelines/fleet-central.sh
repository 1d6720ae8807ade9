#!/usr/bin/env bash
# Fleet centre: collect every endpoint's findings from the NATS JetStream
# stream into one CSV, and keep an HTML report of it up to date.
set -euo pipefail

DLP_PROG=fleet-central
# shellcheck source=pipelines/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: fleet-central.sh [--servers URL,...] [--stream NAME] [--durable NAME]
                        [--output FILE] [--report FILE] [--report-every SECS]
                        [--log-dir DIR] [--redact] [--once | --stage NAME]

The central half of fleet DLP: reads the findings every endpoint publishes
(pipelines/fleet-endpoint.sh) from the NATS JetStream stream through a
durable consumer, appends them to one CSV (findings-csv --preset fleet:
host, status, severity, file, finding, its key and first-seen time), and
rewrites an HTML report of the whole CSV every SECS seconds:

  nats-tail --durable central --from-beginning --filter 'dlp.finding.*' \
    | findings-csv --preset fleet --append FILE
  every SECS: findings-report FILE > REPORT   (written atomically)

A finding is acknowledged to the stream only once its row is written, so a
crash or kill loses nothing (a row may be written twice, at most one pull
batch). Several fleet-central instances with one --durable share the work
(each writes its own CSV). Runs until stopped with Ctrl-C or SIGTERM; with
--once it reads what the stream holds, writes the report and exits (cron).

Stages: with --stage NAME the script runs one part in the foreground and
nothing else, as the systemd units do (grouped by dlp-fleet-central.target;
see pipelines/README.md):
  collect  nats-tail | findings-csv: the script's process becomes nats-tail
           (SIGTERM to it stops the stage, findings-csv draining first) and
           its exit status is the stage's
  report   findings-report FILE > REPORT once, then exit (0 written, 1 not);
           dlp-fleet-central-report.timer runs it every 5 minutes
After the same checks as without --stage; the tools' diagnostics go to
stderr (the unit's journal), not to --log-dir.

Options:
  --servers URL,...   NATS servers (default $NATS_URL, else nats://127.0.0.1:4222)
  --stream NAME       JetStream stream (default DLP)
  --durable NAME      durable consumer (default central)
  -o, --output FILE   CSV to append to (default ./central.csv)
  --report FILE       HTML report (default ./report.html; - for none)
  --report-every SECS seconds between reports (default 300)
  --log-dir DIR       the tools' diagnostics (default $XDG_STATE_HOME/dlp-pipes/logs)
  --redact            mask findings in the CSV (the report masks them anyway)
  --once              read to the end of the stream, report, exit
  --stage NAME        run only collect or report, as above
  -h, --help          show this help

Credentials come from the environment only: NATS_CREDS, NATS_USER/
NATS_PASSWORD or NATS_TOKEN; TLS: tls:// URLs, NATS_CA, NATS_CERT/NATS_KEY.

Exit status: 0 ok (or stopped by a signal); 1 a pipeline ended by itself
or some records were rejected; 2 usage or configuration error. With
--stage collect: nats-tail's status (143 after SIGTERM), or 2.

Examples:
  pipelines/fleet-central.sh --servers nats://n1:4222,nats://n2:4222,nats://n3:4222 \
      --output /srv/dlp/central.csv --report /var/www/dlp/index.html
  */15 * * * * pipelines/fleet-central.sh --once --output /srv/dlp/central.csv --report /var/www/dlp/index.html
EOF
}

servers=${NATS_URL:-nats://127.0.0.1:4222}
stream=DLP
durable=central
output=central.csv
report=report.html
every=300
log_dir=${DLP_LOG_DIR:-}
csv_args=()
once=
stage=
while [ $# -gt 0 ]; do
    case $1 in
    --servers) dlp_need_arg $# "$1"; servers=$2; shift ;;
    --stream) dlp_need_arg $# "$1"; stream=$2; shift ;;
    --durable) dlp_need_arg $# "$1"; durable=$2; shift ;;
    -o | --output) dlp_need_arg $# "$1"; output=$2; shift ;;
    --report) dlp_need_arg $# "$1"; report=$2; shift ;;
    --report-every) dlp_need_arg $# "$1"; every=$2; shift ;;
    --log-dir) dlp_need_arg $# "$1"; log_dir=$2; shift ;;
    --redact) csv_args+=(--redact) ;;
    --once) once=1 ;;
    --stage) dlp_need_arg $# "$1"; stage=$2; shift ;;
    -h | --help) dlp_help; exit 0 ;;
    *) dlp_usage_error "unknown option: $1" ;;
    esac
    shift
done
if [ -n "$stage" ]; then
    dlp_check_stage "$stage" "the stages are" collect report
    [ -z "$once" ] || dlp_usage_error "--once and --stage exclude each other"
fi
case $every in
'' | *[!0-9.]*) dlp_usage_error "--report-every needs a number of seconds, not '$every'" ;;
esac
log_dir=${log_dir:-$(dlp_state_home)/logs}
mkdir -p "$log_dir" "$(dirname "$output")"
[ "$report" = - ] || mkdir -p "$(dirname "$report")"
chmod 700 "$log_dir" 2>/dev/null || true
log=$log_dir/fleet-central.log
# A stage's diagnostics go to its unit's journal.
[ -z "$stage" ] || log=/dev/stderr
report_state=$(dirname "$report")/.$(basename "$report").state
tail_args=(--servers "$servers" --stream "$stream" --durable "$durable" --from-beginning --filter 'dlp.finding.*')

dlp_tools nats-tail findings-csv findings-report
csv_args+=(--preset fleet --append "$output")
# Before anything is read from the stream: findings-csv writes the header
# to a new or empty FILE and refuses one with other columns (naming both
# headers).
findings-csv "${csv_args[@]}" </dev/null ||
    dlp_die 2 "nothing was read from the stream: move $output away or choose another --output"

# make_report: the whole CSV as HTML, replaced atomically.
make_report() {
    [ "$report" != - ] || return 0
    [ -s "$output" ] || return 0
    # The report's state (the open findings' keys) marks what is new since
    # the previous report.
    if findings-report --title "DLP fleet findings" --state "$report_state" "$output" >"$report.tmp" 2>>"$log"; then
        mv -f "$report.tmp" "$report"
    else
        rm -f "$report.tmp"
        dlp_warn "findings-report failed (see ${stage:+above}${stage:-$log})"
        return 1
    fi
}

# One stage in the foreground (see "stages" in lib.sh).
case $stage in
collect)
    dlp_log "stage collect: stream $stream from $servers into $output"
    exec nats-tail "${tail_args[@]}" > >(exec findings-csv "${csv_args[@]}")
    ;;
report)
    make_report || exit 1
    [ "$report" = - ] || dlp_log "report written to $report"
    exit 0
    ;;
esac

if [ -n "$once" ]; then
    set +e
    nats-tail "${tail_args[@]}" --exit-at-end 2>>"$log" | findings-csv "${csv_args[@]}" 2>>"$log"
    st=("${PIPESTATUS[@]}")
    set -e
    if dlp_stopped_by_signal "${st[@]}"; then
        dlp_log "stopped by a signal"
        exit 0
    fi
    if [ "${st[0]}" -ge 2 ] || [ "${st[1]}" -ge 2 ]; then
        dlp_log "reading the stream failed (nats-tail ${st[0]}, findings-csv ${st[1]}); last lines of $log:"
        dlp_log_tail "$log" 0
        exit 2
    fi
    make_report || exit 1
    [ "$report" = - ] || dlp_log "report written to $report"
    [ "${st[0]}" -eq 0 ] && [ "${st[1]}" -eq 0 ] || exit 1
    exit 0
fi

dlp_traps
nats-tail "${tail_args[@]}" 2>>"$log" | findings-csv "${csv_args[@]}" 2>>"$log" &
dlp_job_started collect
if [ "$report" != - ]; then
    (
        trap 'exit 0' TERM INT
        while :; do
            sleep "$every" &
            wait $! || true
            make_report || true
        done
    ) &
    dlp_job_started report
fi
dlp_log "collecting stream $stream from $servers into $output${report:+; report $report every ${every}s} (Ctrl-C or SIGTERM stops)"

if dlp_wait_jobs; then
    dlp_log "stopping"
    forced=0
    dlp_stop_jobs || forced=1
    make_report || true
    dlp_log "stopped"
    exit "$forced"
fi
dlp_log "a pipeline ended by itself; last lines of $log:"
dlp_log_tail "$log" 0
dlp_stop_jobs || true
exit 1
