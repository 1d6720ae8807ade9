# shellcheck shell=bash
# Shared functions for the pipelines/ scripts; sourced, never run.
#
# Provides: log helpers (dlp_log, dlp_warn, dlp_die), the command line's
# common words (dlp_need_arg, dlp_common_arg), the settings file
# (dlp_load_env) and require_env, tool location/building (dlp_tools), the
# default user directories, and
# process-group management for long-running pipelines (dlp_start_job,
# dlp_wait_jobs, dlp_stop_jobs) with traps that stop everything cleanly.
#
# Environment understood by every script:
#   DLP_BIN_DIR       use the tool binaries in this directory and never build
#                     (tests point it at target/debug); installed copies of
#                     this file default it to the installed tools (below)
#   DLP_STOP_TIMEOUT  seconds a pipeline may take to drain after SIGTERM
#                     before its whole process group is killed (default 20)
#   DLP_ENV_FILE      the settings file (default
#                     ${XDG_CONFIG_HOME:-~/.config}/dlp-pipes/env)
#   DLP_HELP_ROOT     where an installed copy's README is said to be in
#                     --help (install.sh sets it while staging a package)

if [ -z "${BASH_VERSION:-}" ]; then
    echo "dlp-pipes: pipelines/lib.sh needs bash" >&2
    exit 2
fi

DLP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The directory of the installed tools: empty in a checkout (the scripts
# build the tools); install.sh and the Debian package write it in their
# copy of this file, so installed scripts run the installed tools.
DLP_INSTALLED_BIN_DIR=
DLP_PROG=${DLP_PROG:-$(basename "$0" .sh)}

# dlp_help: the script's usage() as this copy should say it. Installed, the
# commands are named as installed (local-dlp, not pipelines/local-dlp.sh),
# the README is named where it is, and what holds only in a checkout (the
# tools being built with cargo) is left out.
dlp_help() {
    if [ -z "$DLP_INSTALLED_BIN_DIR" ]; then
        usage
        return
    fi
    local root=${DLP_HELP_ROOT:-$DLP_ROOT}
    usage | sed -e "s|pipelines/README\.md|$root/pipelines/README.md|g" \
        -e "s|\([ (]\)examples/sample-data|\1$root/examples/sample-data|g" \
        -e 's|pipelines/\([a-z-]*\)\.sh|\1|g' \
        -e 's/\(local-dlp\|endpoint-dlp\|fim-notify\|fleet-endpoint\|fleet-central\)\.sh/\1/g' \
        -e '/^The tools are built with cargo on first use/,/instead)\.$/d'
}

# --- logging ---------------------------------------------------------------

dlp_log() { printf '%s: %s\n' "$DLP_PROG" "$*" >&2; }
dlp_warn() { printf '%s: warning: %s\n' "$DLP_PROG" "$*" >&2; }

# dlp_die [CODE] MESSAGE: print MESSAGE and exit with CODE (default 2).
dlp_die() {
    local code=2
    if [ $# -gt 1 ]; then
        code=$1
        shift
    fi
    printf '%s: %s\n' "$DLP_PROG" "$*" >&2
    exit "$code"
}

# dlp_usage_error MESSAGE: message, usage text (function `usage`), exit 2.
dlp_usage_error() {
    printf '%s: %s\n\n' "$DLP_PROG" "$*" >&2
    dlp_help >&2
    exit 2
}

# --- command line ------------------------------------------------------------

# dlp_need_arg COUNT OPTION: a usage error unless COUNT (the $# of the
# words from OPTION on) leaves a value for OPTION.
dlp_need_arg() { [ "$1" -ge 2 ] || dlp_usage_error "$2 needs a value"; }

# dlp_common_arg WORD...: the words every script reads alike, for the last
# branch of its option `case` (WORD... the words left, the one in hand
# first): -h/--help prints the help and exits 0, `--` makes every later
# word an operand, any other option is a usage error, an operand is
# appended to the caller's array `dirs`. Returns 1 after `--` (every word
# is taken: the caller's loop ends), else 0.
dlp_common_arg() {
    case $1 in
    -h | --help) dlp_help; exit 0 ;;
    --) shift; dirs+=("$@"); return 1 ;;
    -*) dlp_usage_error "unknown option: $1" ;;
    *) dirs+=("$1") ;;
    esac
}

# --- settings file -----------------------------------------------------------

# dlp_env_file: where the settings file is looked for.
dlp_env_file() {
    printf '%s\n' "${DLP_ENV_FILE:-${XDG_CONFIG_HOME:-$HOME/.config}/dlp-pipes/env}"
}

# dlp_stat_owner_mode FILE: "UID MODE" (octal permission bits) of FILE.
dlp_stat_owner_mode() {
    stat -c '%u %a' -- "$1" 2>/dev/null || stat -f '%u %Lp' -- "$1"
}

# dlp_load_env: read NAME=value lines from the settings file (the same file
# systemd's EnvironmentFile= reads) into the environment. A variable already
# set (non-empty) in the environment wins over the file. The file is refused (exit 2)
# unless it is owned by the user running the script and neither group- nor
# world-readable, since it holds secrets. Lines: `NAME=value`,
# `export NAME=value`, `# comments`, blank; a value may be wrapped in one
# pair of single or double quotes. The file is parsed, never executed.
DLP_ENV_LOADED=
dlp_load_env() {
    local file owner mode line n=0 name value
    file=$(dlp_env_file)
    [ -e "$file" ] || return 0
    [ -f "$file" ] || dlp_die 2 "settings file $file is not a regular file"
    read -r owner mode < <(dlp_stat_owner_mode "$file") ||
        dlp_die 2 "cannot read the owner and mode of $file"
    if [ "$owner" != "$(id -u)" ]; then
        dlp_die 2 "refusing settings file $file: owned by uid $owner, not by you (uid $(id -u)); it holds secrets"
    fi
    if [ $((8#$mode & 8#077)) -ne 0 ]; then
        dlp_die 2 "refusing settings file $file: group or others may access it (mode $mode); run: chmod 600 $file"
    fi
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        line=${line%$'\r'}
        line=${line#"${line%%[![:space:]]*}"}
        case $line in '' | '#'*) continue ;; esac
        line=${line#export }
        name=${line%%=*}
        if [ "$name" = "$line" ] || ! [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
            dlp_die 2 "settings file $file: line $n is not NAME=value"
        fi
        value=${line#*=}
        case $value in
        \"*\") value=${value:1:${#value}-2} ;;
        \'*\') value=${value:1:${#value}-2} ;;
        esac
        if [ -z "${!name:-}" ]; then
            export "$name=$value"
        fi
    done <"$file"
    DLP_ENV_LOADED=$file
}

# require_env NAME...: exit 2 naming every variable that is unset or empty,
# and where it was looked for. Values are never printed.
require_env() {
    local name missing=() file where
    for name in "$@"; do
        if [ -z "${!name:-}" ]; then
            missing+=("$name")
        fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        file=$(dlp_env_file)
        if [ -n "$DLP_ENV_LOADED" ]; then
            where="not set in the environment nor in $file"
        else
            where="not set in the environment, and there is no $file"
        fi
        dlp_die 2 "missing ${missing[*]}: $where (add NAME=value lines to that file, mode 0600, or export them; see pipelines/README.md)"
    fi
}

# --- tools -----------------------------------------------------------------

# dlp_tools_current DIR TOOL...: true when every TOOL is in DIR and no
# source file (crates/, tools/, Cargo.toml, Cargo.lock) is newer than the
# oldest of them.
dlp_tools_current() {
    local dir=$1 t oldest=
    shift
    dlp_any_missing "$dir" "$@" && return 1
    for t in "$@"; do
        if [ -z "$oldest" ] || [ "$dir/$t" -ot "$oldest" ]; then oldest=$dir/$t; fi
    done
    [ -z "$(cd "$DLP_ROOT" && find crates tools Cargo.toml Cargo.lock -newer "$oldest" -type f \
        \( -name '*.rs' -o -name Cargo.toml -o -name Cargo.lock \) -print -quit 2>/dev/null)" ]
}

# dlp_tools TOOL...: put the tools on PATH, building them when needed.
# With DLP_BIN_DIR set (or, in an installed copy, DLP_INSTALLED_BIN_DIR),
# only checks that the binaries are there. Otherwise, unless the TOOLs in
# target/release are current (dlp_tools_current), runs one
# `cargo build --release --locked` of just these tools from the repository
# root, with cargo's own progress on stderr, and puts target/release first
# on PATH. Each script asks once for every tool it runs, so a script builds
# only what it runs (the offline scan does not wait for the NATS and TLS
# crates) and a script whose tools are current does not build at all.
# Without cargo, prebuilt binaries in target/release are used as they are.
dlp_tools() {
    local bindir t missing=()
    if [ -n "${DLP_BIN_DIR:-$DLP_INSTALLED_BIN_DIR}" ]; then
        bindir=${DLP_BIN_DIR:-$DLP_INSTALLED_BIN_DIR}
    else
        bindir=${CARGO_TARGET_DIR:-$DLP_ROOT/target}/release
        if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
            PATH=$HOME/.cargo/bin:$PATH
        fi
        if dlp_tools_current "$bindir" "$@"; then
            :
        elif command -v cargo >/dev/null 2>&1; then
            local pkgs=()
            for t in "$@"; do pkgs+=(-p "$t"); done
            if dlp_any_missing "$bindir" "$@"; then
                dlp_log "building $* (cargo build --release; a few minutes on 2 cores the first time)"
            else
                dlp_log "sources changed: rebuilding $* (cargo build --release)"
            fi
            (cd "$DLP_ROOT" && cargo build --release --locked --bins "${pkgs[@]}") ||
                dlp_die 2 "cargo build failed (see above)"
        elif dlp_any_missing "$bindir" "$@"; then
            dlp_die 2 "cargo not found and the tools are not built in $bindir; install Rust (https://rustup.rs) or set DLP_BIN_DIR to a directory holding: $*"
        fi
    fi
    for t in "$@"; do
        [ -x "$bindir/$t" ] || missing+=("$t")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        dlp_die 2 "not found in $bindir: ${missing[*]}"
    fi
    PATH=$bindir:$PATH
    # shellcheck disable=SC2034 # read by the scripts
    DLP_BIN=$bindir
    export PATH
}

# dlp_any_missing DIR TOOL...: true when a binary is missing from DIR.
dlp_any_missing() {
    local dir=$1 t
    shift
    for t in "$@"; do
        [ -x "$dir/$t" ] || return 0
    done
    return 1
}

# --- directories -----------------------------------------------------------

# dlp_default_dirs: print (one per line) those of ~/Desktop ~/Documents
# ~/Downloads that exist: the directories Nightfall's tutorial watches.
dlp_default_dirs() {
    local d
    for d in "$HOME/Desktop" "$HOME/Documents" "$HOME/Downloads"; do
        if [ -d "$d" ]; then printf '%s\n' "$d"; fi
    done
}

# dlp_check_dirs DIR...: exit 2 unless every DIR is an existing directory.
dlp_check_dirs() {
    local d
    for d in "$@"; do
        [ -d "$d" ] || dlp_usage_error "not a directory: $d"
    done
}

# dlp_state_home: base directory for state, spools and logs.
dlp_state_home() {
    printf '%s\n' "${XDG_STATE_HOME:-$HOME/.local/state}/dlp-pipes"
}

# --- readiness ---------------------------------------------------------------

# dlp_tcp_open HOST:PORT: true when something accepts TCP connections there
# (a wildcard listen address is probed on loopback).
# dlp_host_name [NAME]: NAME when given, else this machine's host name.
dlp_host_name() {
    if [ -n "${1:-}" ]; then
        printf '%s\n' "$1"
    else
        cat /proc/sys/kernel/hostname 2>/dev/null || uname -n
    fi
}

# dlp_instance_id [--with WORD]... DIR...: a readable, stable name for one
# pipeline instance: the first directory's name and a hash of every
# directory's absolute path (and of each WORD: host, stream, ...), so two
# instances on one machine never share state, spool or logs.
dlp_instance_id() {
    local words=() abs=() d name sum
    while [ "${1:-}" = --with ]; do words+=("$2"); shift 2; done
    for d in "$@"; do abs+=("$(cd "$d" && pwd -P)"); done
    name=${abs[0]##*/}
    name=${name//[^A-Za-z0-9._-]/_}
    if command -v sha256sum >/dev/null 2>&1; then
        sum=$(printf '%s\0' "${words[@]}" "${abs[@]}" | sha256sum)
    else
        sum=$(printf '%s\0' "${words[@]}" "${abs[@]}" | shasum -a 256)
    fi
    printf '%s-%s\n' "${name:-root}" "${sum:0:12}"
}

dlp_tcp_open() {
    local host=${1%:*} port=${1##*:}
    host=${host#[}
    host=${host%]}
    case $host in
    0.0.0.0 | "") host=127.0.0.1 ;;
    ::) host=::1 ;;
    esac
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# dlp_wait_listening HOST:PORT SECS: true once something accepts TCP
# connections on HOST:PORT (dlp_tcp_open), false after SECS seconds.
dlp_wait_listening() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        dlp_tcp_open "$1" && return 0
        sleep 0.1
    done
    return 1
}

# dlp_file_size FILE: size in bytes (0 when missing).
dlp_file_size() {
    if [ -e "$1" ]; then wc -c <"$1" | tr -d ' '; else echo 0; fi
}

# dlp_log_has FILE OFFSET TEXT: true when FILE contains TEXT after its
# first OFFSET bytes (logs are appended to across runs).
dlp_log_has() {
    [ -e "$1" ] && tail -c "+$(($2 + 1))" "$1" | grep -qF -- "$3"
}

# dlp_log_tail FILE OFFSET: the last lines this run wrote to FILE, indented.
dlp_log_tail() {
    [ -e "$1" ] && tail -c "+$(($2 + 1))" "$1" | tail -n 8 | sed 's/^/    /' >&2
    return 0
}

# --- pipelines as process groups -------------------------------------------
#
# Each pipeline is started as a background job with job control on, so it
# runs in a process group of its own whose leader is the pipeline's first
# command (the source: a watcher or a server). Stopping sends SIGTERM to the
# source first, so its last records flow through the rest of the pipe and
# every stage ends on end of input having flushed; a pipeline still running
# after DLP_STOP_TIMEOUT seconds gets SIGTERM on its whole group, then
# SIGKILL. A terminal's Ctrl-C reaches only the script, which then stops
# the pipelines in this order.

DLP_JOB_NAMES=()
DLP_JOB_PGIDS=()
DLP_JOB_PIDS=()
DLP_STOPPING=
DLP_SIGNALLED=

# dlp_job_started NAME: record the job just started with `... &`.
# Call right after the `&` line (while job control is on).
dlp_job_started() {
    local pgid
    pgid=$(jobs -p %+)
    DLP_JOB_NAMES+=("$1")
    DLP_JOB_PGIDS+=("$pgid")
    DLP_JOB_PIDS+=("$!")
}

# dlp_traps: on SIGINT/SIGTERM/SIGHUP note the request (the main loop then
# stops the pipelines); on any exit, make sure no pipeline is left behind.
dlp_traps() {
    set -m
    trap 'DLP_SIGNALLED=1' INT TERM HUP
    trap 'dlp_stop_jobs >/dev/null 2>&1 || true' EXIT
}

# dlp_stopped_by_signal STATUS...: true when a status says a tool was ended
# by SIGINT or SIGTERM (the tools exit 128 + the signal: 130, 143), which the
# scripts report as "stopped by a signal", not as a failure.
dlp_stopped_by_signal() {
    local s
    for s in "$@"; do
        case $s in 130 | 143) return 0 ;; esac
    done
    return 1
}

# dlp_alive PGID: true while any process of the group exists.
dlp_alive() { kill -0 -- "-$1" 2>/dev/null; }

# dlp_nap SECONDS: sleep that a trapped signal interrupts at once.
dlp_nap() {
    sleep "$1" &
    wait "$!" 2>/dev/null || true
}

# dlp_wait_jobs: return when a signal arrived (status 0) or when any job
# ended by itself (status 1, after logging which one and how).
dlp_wait_jobs() {
    local i st
    while [ -z "$DLP_SIGNALLED" ]; do
        for i in "${!DLP_JOB_PIDS[@]}"; do
            if ! kill -0 "${DLP_JOB_PIDS[$i]}" 2>/dev/null; then
                # A signal to the whole group (systemd) may end the job
                # just before this script's own trap runs.
                sleep 0.2
                [ -z "$DLP_SIGNALLED" ] || return 0
                st=0
                wait "${DLP_JOB_PIDS[$i]}" 2>/dev/null || st=$?
                dlp_log "${DLP_JOB_NAMES[$i]} pipeline ended (status $st)"
                # shellcheck disable=SC2034 # read by the scripts
                DLP_JOB_FAILED=${DLP_JOB_NAMES[$i]}
                # shellcheck disable=SC2034
                DLP_JOB_STATUS=$st
                return 1
            fi
        done
        dlp_nap 0.5
    done
    return 0
}

# dlp_supervise: wait for a signal or for a job to end. After a signal,
# stop every job and exit (0 when they all drained, 1 otherwise). When a job
# ended by itself, return 1 so the caller can say why, then exit 1 (the
# other jobs are stopped by dlp_stop_jobs before returning).
dlp_supervise() {
    if dlp_wait_jobs; then
        dlp_log "stopping"
        if dlp_stop_jobs; then
            dlp_log "stopped"
            exit 0
        fi
        exit 1
    fi
    return 1
}

# dlp_stop_jobs: stop every started pipeline as described above, the last
# started first (so a consumer started first, such as a webhook receiver,
# still serves what the later pipelines produce while they drain).
# Returns non-zero when some pipeline had to be killed.
dlp_stop_jobs() {
    local i pgid waited forced=0 limit
    [ -z "$DLP_STOPPING" ] || return 0
    DLP_STOPPING=1
    limit=$((${DLP_STOP_TIMEOUT:-20} * 10))
    for ((i = ${#DLP_JOB_PGIDS[@]} - 1; i >= 0; i--)); do
        pgid=${DLP_JOB_PGIDS[$i]}
        kill -TERM "$pgid" 2>/dev/null || true
        waited=0
        while dlp_alive "$pgid" && [ "$waited" -lt "$limit" ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        if dlp_alive "$pgid"; then
            dlp_warn "${DLP_JOB_NAMES[$i]} pipeline did not drain in ${DLP_STOP_TIMEOUT:-20}s; terminating its process group"
            kill -TERM -- "-$pgid" 2>/dev/null || true
            sleep 2
            kill -KILL -- "-$pgid" 2>/dev/null || true
            forced=1
        fi
        wait "${DLP_JOB_PIDS[$i]}" 2>/dev/null || true
    done
    return "$forced"
}

# --- stages: one pipeline in the foreground ----------------------------------
#
# With --stage NAME a script runs one of its pipelines and nothing else: it
# `exec`s the pipeline's first command (the watcher or the server), with the
# rest of the pipe in nested process substitutions, each `exec`ed too. So
# the script's process becomes the source, no shell is left waiting, and the
# whole stage is one process group led by it. A supervisor (systemd: one unit
# per stage) stops the stage as lib.sh stops a pipeline: SIGTERM to the
# source, whose last records flow through the rest of the pipe, each command
# ending on end of input having flushed. The stage's exit status is its
# source's (143 after SIGTERM).

# dlp_check_stage STAGE SAYING NAME...: exit 2 (usage error) unless STAGE is
# one of the NAMEs; SAYING introduces them ("the stages are").
dlp_check_stage() {
    local stage=$1 what=$2 s
    shift 2
    for s in "$@"; do
        [ "$s" != "$stage" ] || return 0
    done
    dlp_usage_error "unknown stage '$stage': $what $*"
}
