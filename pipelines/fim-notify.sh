#!/usr/bin/env bash
# File-integrity monitoring: post every access and real content change under
# the given directories to a webhook (Slack or any HTTP endpoint).
set -euo pipefail

DLP_PROG=fim-notify
# shellcheck source=pipelines/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
Usage: fim-notify.sh [--exclude RE]... [--state-dir DIR] DIR...

File-integrity alerts for directories of sensitive data (the FIM article's
watchdog-to-webhook service), until stopped with Ctrl-C or SIGTERM:

  fswatch-json --access --hash --state STATE --only-content-changes \
      --attrs $FIM_ATTRS --debounce 300ms [--host NAME] DIR... \
    | path-filter --event-type $FIM_EVENTS \
    | webhook-post --format $FIM_FORMAT --spool SPOOL

Reported by default: files created (one alert per new file, with what it
holds once written), deleted, moved, changed (only when the content hash
changed: a touch is not an alert), their permissions, owner, group, ACL,
extended attributes, inode or link count changed (attrib, with old and new
values), and read (closed_no_write). Every alert names the machine
([host], from --host, DLP_HOST or the host name).
`opened` events are left out by default: every open ends in a read
(closed_no_write) or a write (modified, when the content changed), and
`touch` opens a file without changing it.
Changes made while the service was stopped are reported on the next start
(from the sha256 baseline in STATE). Alerts wait in SPOOL while the webhook
is down and are delivered, in order, when it is back, even after a restart.
One delivery record per POST is written on standard output.

Settings come from the environment or, for those not set there, from
~/.config/dlp-pipes/env (NAME=value lines; it must be yours and mode 0600).
Environment:
  WATCH_WEBHOOK_URL    where alerts are POSTed (required; e.g. a Slack
                       incoming-webhook URL; never printed)
  FIM_FORMAT           slack (default: {"text": one line per event}) or raw
                       (the FsEvent records as JSON)
  FIM_BATCH            events per POST at most (default 20; a partial batch
                       is sent after 1 s)
  FIM_MAX_PER_MINUTE   events posted per minute at most; the rest become one
                       summary message a minute (default 120)
  FIM_EVENTS           event types to alert on (default
                       created,modified,attrib,deleted,moved,closed_no_write,overflow;
                       add opened,closed for every access; "all" = everything)
  FIM_ATTRS            metadata checked besides content, as AIDE's rule
                       groups (default all: mode,uid,gid,acl,xattrs,ino,nlink;
                       none = content only)
  DLP_HOST             the host name alerts carry (default: the machine's)
  WEBHOOK_SIGNING_SECRET  when set, POSTs are signed (webhook-post --sign)

Options:
  --exclude RE     skip paths matching RE (repeatable; fswatch-json --exclude)
  --host NAME      the host name alerts carry (default DLP_HOST, else the
                   machine's)
  --state-dir DIR  where this instance keeps STATE and SPOOL (default:
                   $XDG_STATE_HOME/dlp-pipes/fim/NAME-HASH, derived from the
                   watched directories, so each set of DIRs has its own)
  -h, --help       show this help

Exit status: 0 stopped by SIGINT/SIGTERM; 1 the pipeline ended by itself;
2 usage or configuration error.

Example:
  WATCH_WEBHOOK_URL=https://hooks.slack.com/services/... pipelines/fim-notify.sh /srv/user_pii
EOF
}

excludes=()
state_dir=
host_args=()
dirs=()
while [ $# -gt 0 ]; do
    case $1 in
    --exclude)
        [ $# -ge 2 ] || dlp_usage_error "--exclude needs a regex"
        excludes+=(--exclude "$2")
        shift
        ;;
    --host)
        [ $# -ge 2 ] || dlp_usage_error "--host needs a NAME"
        host_args=(--host "$2")
        shift
        ;;
    --state-dir)
        [ $# -ge 2 ] || dlp_usage_error "--state-dir needs a directory"
        state_dir=$2
        shift
        ;;
    *) dlp_common_arg "$@" || break ;;
    esac
    shift
done
[ ${#dirs[@]} -gt 0 ] || dlp_usage_error "name at least one directory to protect"
dlp_load_env
require_env WATCH_WEBHOOK_URL
format=${FIM_FORMAT:-slack}
case $format in
slack | raw) ;;
*) dlp_usage_error "FIM_FORMAT must be slack or raw, not '$format'" ;;
esac
batch=${FIM_BATCH:-20}
per_minute=${FIM_MAX_PER_MINUTE:-120}
case $batch$per_minute in
*[!0-9]*) dlp_usage_error "FIM_BATCH and FIM_MAX_PER_MINUTE must be numbers" ;;
esac
events=${FIM_EVENTS:-created,modified,attrib,deleted,moved,closed_no_write,overflow}
attrs=${FIM_ATTRS:-all}
event_filter=(--event-type "$events")
if [ "$events" = all ]; then event_filter=(); fi
dlp_check_dirs "${dirs[@]}"

state_dir=${state_dir:-$(dlp_state_home)/fim/$(dlp_instance_id "${dirs[@]}")}
mkdir -p "$state_dir/spool"
chmod 700 "$state_dir" 2>/dev/null || true

sign=()
if [ -n "${WEBHOOK_SIGNING_SECRET:-}" ]; then sign=(--sign); fi

dlp_tools fswatch-json path-filter webhook-post
path-filter "${event_filter[@]}" </dev/null || dlp_usage_error "bad FIM_EVENTS: $events"
dlp_traps
fswatch-json --access --hash --state "$state_dir/baseline.state" --only-content-changes \
    --attrs "$attrs" --debounce 300ms "${host_args[@]}" "${excludes[@]}" "${dirs[@]}" |
    path-filter "${event_filter[@]}" |
    webhook-post --format "$format" --batch "$batch" --flush-after 1000 \
        --max-per-minute "$per_minute" --max-retry-time 10 --spool "$state_dir/spool" "${sign[@]}" &
dlp_job_started fim
dlp_log "protecting ${dirs[*]}; alerts go to the webhook as $format (state and spool in $state_dir)"

dlp_supervise || true
dlp_stop_jobs || true
exit 1
