#!/usr/bin/env bash
# Fleet endpoint: watch directories, find sensitive data, publish every
# finding to the central NATS JetStream stream (nats-post), spooled on disk
# while the cluster is out of reach.
set -euo pipefail

DLP_PROG=fleet-endpoint
# shellcheck source=pipelines/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: fleet-endpoint.sh [--servers URL,...] [--stream NAME] [--replicas N]
                         [--host NAME] [--state-dir DIR] [--spool DIR]
                         [--log-dir DIR] [--mounts] [--nightfall]
                         [--stage NAME [--ready]] [DIR...]

The endpoint half of fleet DLP: every finding on this machine goes to a
NATS JetStream stream, where pipelines/fleet-central.sh (or any NATS
consumer: Vector, Fluent Bit, Benthos) collects them. Runs until stopped
with Ctrl-C or SIGTERM:

  fswatch-json --state STATE_DIR/watch.state --only-content-changes DIR... \
    | path-filter --preset ignore-temp | pii-scan --state STATE_DIR/findings.state \
    | nats-post --servers URL... --spool STATE_DIR/spool >> STATE_DIR/logs/deliveries.ndjson

Each finding is published once: the watcher's baseline drops touches and
saves without new content, and the finding state reports a finding when it
first appears ("status":"new") and once more when it is gone from its file,
or the file is deleted or moved away ("status":"resolved"), across
restarts. Each message id is the finding's identity (host, file, detector,
key, status), so a batch sent twice is stored once.

With --nightfall, detection runs in Nightfall's cloud instead (the
tutorial's endpoint DLP, see endpoint-dlp.sh), and its verified results are
published:

  nf-webhook --listen $LISTEN | nats-post ...
  fswatch-json ... DIR... | path-filter ... | nf-upload >> LOG_DIR/scans.ndjson

Each record carries this machine's `host` (--host) and goes to subject
dlp.finding.<host>. nats-post keeps every batch in an on-disk spool until
the cluster acknowledges it: a laptop offline for a day publishes what it
found when it is back, after a restart too.

Stages: with --stage NAME the script runs one pipeline in the foreground
and nothing else, as the systemd units do (pipelines/README.md):
  scan     the offline pipeline above (dlp-fleet-endpoint.service)
  results  with --nightfall: nf-webhook | nats-post
  scanner  with --nightfall: fswatch-json | path-filter | nf-upload
           (the two grouped by dlp-fleet-endpoint-nightfall.target)
After the same checks as without --stage, the script's process becomes
the stage's first command (fswatch-json, nf-webhook): SIGTERM to it stops
the stage, the rest of the pipe draining first, and its exit status is the
stage's. The tools' diagnostics go to stderr (the unit's journal), not to
LOG_DIR/fleet-endpoint.log.

Options:
  --servers URL,...  NATS servers (default $NATS_URL, else nats://127.0.0.1:4222)
  --stream NAME      JetStream stream (default DLP; created when missing)
  --replicas N       replicas when the stream is created (default 1; 3 on a cluster)
  --host NAME        the name records carry (default $DLP_HOST, else the host name)
  --state-dir DIR    this instance's finding state, baseline, spool and logs
                     (default $XDG_STATE_HOME/dlp-pipes/fleet/ID, where ID
                     is made from the host, the stream and the directories,
                     so two instances on one machine never share them)
  --spool DIR        nats-post's spool (default STATE_DIR/spool)
  --log-dir DIR      the tools' diagnostics and nats-post's delivery records
                     (default STATE_DIR/logs)
  --mounts           also watch removable media as it is mounted: findings
                     there carry "removable":true, and "copied_from" when
                     the file is a copy of a watched one
  --nightfall        detect with Nightfall (needs NIGHTFALL_API_KEY,
                     NIGHTFALL_SIGNING_SECRET, NIGHTFALL_SERVER_URL; LISTEN
                     is nf-webhook's address, default 127.0.0.1:8000)
  --stage NAME       run only the pipeline NAME in the foreground, as above:
                     scan, or with --nightfall results or scanner
  --ready            with --stage results: wait until nf-webhook accepts
                     connections on $LISTEN, up to 20 s, then exit 0 (1 when
                     it does not); with another stage: exit 0 at once (the
                     results unit's ExecStartPost=)
  -h, --help         show this help

Credentials come from the environment only: NATS_CREDS (a .creds file),
NATS_USER/NATS_PASSWORD or NATS_TOKEN; TLS: tls:// URLs, NATS_CA,
NATS_CERT/NATS_KEY. DIRs default to those of ~/Desktop ~/Documents
~/Downloads that exist. DLP_DEBOUNCE_MS: quiet time before a changed file
is scanned (default 500).

Exit status: 0 stopped by SIGINT/SIGTERM; 1 a pipeline ended by itself;
2 usage or configuration error. With --stage: the status of the stage's
first command (143 after SIGTERM), or 2.

Examples:
  NATS_CREDS=/etc/dlp/laptop.creds pipelines/fleet-endpoint.sh --servers tls://nats.corp:4222
  pipelines/fleet-endpoint.sh --servers nats://10.0.0.5:4222 --replicas 3 --host web-01 /srv/share
EOF
}

servers=${NATS_URL:-nats://127.0.0.1:4222}
stream=DLP
replicas=1
host=${DLP_HOST:-}
state_dir=
spool=
log_dir=${DLP_LOG_DIR:-}
mounts=()
nightfall=
stage=
ready=
dirs=()
while [ $# -gt 0 ]; do
    case $1 in
    --servers) dlp_need_arg $# "$1"; servers=$2; shift ;;
    --stream) dlp_need_arg $# "$1"; stream=$2; shift ;;
    --replicas) dlp_need_arg $# "$1"; replicas=$2; shift ;;
    --host) dlp_need_arg $# "$1"; host=$2; shift ;;
    --state-dir) dlp_need_arg $# "$1"; state_dir=$2; shift ;;
    --spool) dlp_need_arg $# "$1"; spool=$2; shift ;;
    --log-dir) dlp_need_arg $# "$1"; log_dir=$2; shift ;;
    --mounts) mounts=(--mounts) ;;
    --nightfall) nightfall=1 ;;
    --stage) dlp_need_arg $# "$1"; stage=$2; shift ;;
    --ready) ready=1 ;;
    *) dlp_common_arg "$@" || break ;;
    esac
    shift
done
if [ -n "$stage" ] && [ -n "$nightfall" ]; then
    dlp_check_stage "$stage" "with --nightfall the stages are" results scanner
elif [ -n "$stage" ]; then
    dlp_check_stage "$stage" "without --nightfall (whose stages are results and scanner) the stage is" scan
elif [ -n "$ready" ]; then
    dlp_usage_error "--ready needs --stage"
fi

if [ -n "$nightfall" ]; then
    require_env NIGHTFALL_API_KEY NIGHTFALL_SIGNING_SECRET NIGHTFALL_SERVER_URL
fi
listen=${LISTEN:-127.0.0.1:8000}
if [ "$stage" = results ] && [ -n "$ready" ]; then
    dlp_wait_listening "$listen" 20 ||
        dlp_die 1 "nf-webhook is not accepting connections on $listen after 20 s"
    exit 0
fi
[ -z "$ready" ] || exit 0
if [ ${#dirs[@]} -eq 0 ]; then
    mapfile -t dirs < <(dlp_default_dirs)
    [ ${#dirs[@]} -gt 0 ] ||
        dlp_usage_error "none of ~/Desktop ~/Documents ~/Downloads exists; name the directories to watch"
fi
dlp_check_dirs "${dirs[@]}"
host_args=()
if [ -n "$host" ]; then host_args=(--host "$host"); fi
# The tools check the name (--host); the instance is named after the one used.
state_dir=${state_dir:-$(dlp_state_home)/fleet/$(dlp_instance_id --with "$(dlp_host_name "$host")" --with "$stream" "${dirs[@]}")}
spool=${spool:-$state_dir/spool}
log_dir=${log_dir:-$state_dir/logs}
mkdir -p "$state_dir" "$log_dir"
chmod 700 "$state_dir" "$log_dir" 2>/dev/null || true
post=(nats-post --servers "$servers" --stream "$stream" --replicas "$replicas" --spool "$spool" "${host_args[@]}")
deliveries=$log_dir/deliveries.ndjson
log=$log_dir/fleet-endpoint.log
watch_args=(--debounce "${DLP_DEBOUNCE_MS:-500}" --state "$state_dir/watch.state" --only-content-changes "${mounts[@]}" "${host_args[@]}")
# The first start reports what is there; later starts what changed while stopped.
[ -e "$state_dir/watch.state" ] || watch_args+=(--initial-scan)

if [ -n "$nightfall" ]; then
    dlp_tools fswatch-json path-filter nf-upload nf-webhook nats-post
else
    dlp_tools fswatch-json path-filter pii-scan nats-post
fi
# Settings nats-post refuses (a bad URL, credentials on the command line)
# are reported now rather than by a pipeline that dies later. `--help`
# cannot check them; an empty input with no wait for the cluster does.
st=0
"${post[@]}" --max-retry-time 0 --grace 0 </dev/null >/dev/null 2>"$log_dir/check.err" || st=$?
if [ "$st" -ge 2 ]; then
    cat "$log_dir/check.err" >&2
    dlp_die 2 "nats-post refused the settings (see above; spool $spool)"
fi

# One stage in the foreground (see "stages" in lib.sh).
case $stage in
scan)
    dlp_log "stage scan: watching ${dirs[*]}; findings go to stream $stream on $servers as host $(dlp_host_name "$host") (state in $state_dir)"
    exec fswatch-json "${watch_args[@]}" "${dirs[@]}" \
        > >(exec path-filter --preset ignore-temp \
            > >(exec pii-scan --state "$state_dir/findings.state" "${host_args[@]}" \
                > >(exec "${post[@]}" >>"$deliveries")))
    ;;
results)
    dlp_log "stage results: nf-webhook on $listen; findings go to stream $stream on $servers"
    exec nf-webhook --listen "$listen" > >(exec "${post[@]}" >>"$deliveries")
    ;;
scanner)
    dlp_log "stage scanner: watching ${dirs[*]}; scans -> $log_dir/scans.ndjson"
    exec fswatch-json "${watch_args[@]}" "${dirs[@]}" \
        > >(exec path-filter --preset ignore-temp \
            > >(exec nf-upload "${host_args[@]}" >>"$log_dir/scans.ndjson"))
    ;;
esac

dlp_traps
if [ -n "$nightfall" ]; then
    from=$(dlp_file_size "$log")
    nf-webhook --listen "$listen" 2>>"$log" | "${post[@]}" >>"$deliveries" 2>>"$log" &
    dlp_job_started results
    for ((i = 0; i < 200; i++)); do
        dlp_log_has "$log" "$from" "nf-webhook: listening" && break
        [ -z "$DLP_SIGNALLED" ] || { dlp_stop_jobs || true; exit 0; }
        dlp_nap 0.1
    done
    if ! dlp_log_has "$log" "$from" "nf-webhook: listening"; then
        dlp_log "nf-webhook did not start; last lines of $log:"
        dlp_log_tail "$log" "$from"
        dlp_stop_jobs || true
        exit 1
    fi
    fswatch-json "${watch_args[@]}" "${dirs[@]}" 2>>"$log" |
        path-filter --preset ignore-temp 2>>"$log" |
        nf-upload "${host_args[@]}" >>"$log_dir/scans.ndjson" 2>>"$log" &
    dlp_job_started scanner
else
    fswatch-json "${watch_args[@]}" "${dirs[@]}" 2>>"$log" |
        path-filter --preset ignore-temp 2>>"$log" |
        pii-scan --state "$state_dir/findings.state" "${host_args[@]}" 2>>"$log" |
        "${post[@]}" >>"$deliveries" 2>>"$log" &
    dlp_job_started scan
fi
dlp_log "watching ${dirs[*]}; findings go to stream $stream on $servers as host $(dlp_host_name "$host") (state in $state_dir, logs in $log_dir; Ctrl-C or SIGTERM stops)"

dlp_supervise || true
dlp_log "a pipeline ended by itself; last lines of $log:"
dlp_log_tail "$log" 0
dlp_stop_jobs || true
exit 1
