#!/usr/bin/env bash
# Development tooling, not a deployment: a local NATS JetStream server or
# cluster for development, tests and benchmarks: start, stop, status, and stopping/starting one node (faults).
set -euo pipefail

DLP_PROG=nats-dev
# shellcheck source=pipelines/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../pipelines/lib.sh"

usage() {
    cat <<'EOF'
Usage: nats-dev.sh start [--cluster N] | stop | status | stop-node I | kill-node I | start-node I

Runs a local NATS JetStream server (or an N-node cluster, N=3 is the usual
one) on 127.0.0.1 for development, tests and benchmarks. Not for production:
no TLS, no authentication (pipelines/README.md says how to run a real one).

  start [--cluster N]  start the server(s) and wait until the JetStream API
                       answers on every node (a cluster: until a meta leader
                       is elected); already running nodes are left alone
  stop                 stop every node (SIGTERM, then SIGKILL after 10 s)
  status               one line per node: running or not, JetStream answering
  stop-node I          stop node I (0-based) cleanly (SIGTERM)
  kill-node I          kill node I at once (SIGKILL), as a crash would
  start-node I         start node I again and wait for its JetStream API

Ports: node I serves clients on NATS_PORT+I (NATS_PORT default 4222) and
talks to the other nodes of a cluster on NATS_PORT+N+I. Client URL of a
cluster: nats://127.0.0.1:P,nats://127.0.0.1:P+1,...

Environment:
  NATS_PORT   first client port (default 4222)
  NATS_DIR    directory holding the configuration, data (JetStream store),
              logs and pid files (default: target/nats in the checkout);
              one directory per server set, so tests can run side by side
  NATS_WAIT   seconds to wait for the JetStream API (default 30)

nats-server comes from Debian's package (apt-get install nats-server); when
it is missing and this runs as root with apt-get, it is installed on first
use, and the system service that the package enables is stopped so it does
not take port 4222.

Examples:
  dev/nats-dev.sh start                     # one server on :4222
  NATS_PORT=14222 dev/nats-dev.sh start --cluster 3
  NATS_URL=nats://127.0.0.1:4222 nats-post < findings.ndjson
  dev/nats-dev.sh stop
EOF
}

NATS_PORT=${NATS_PORT:-4222}
NATS_DIR=${NATS_DIR:-$DLP_ROOT/target/nats}
NATS_WAIT=${NATS_WAIT:-30}

case "$NATS_PORT" in
'' | *[!0-9]*) dlp_die 2 "NATS_PORT must be a port number, not '$NATS_PORT'" ;;
esac

# ensure_server: nats-server on PATH, installing Debian's package if possible.
ensure_server() {
    if command -v nats-server >/dev/null 2>&1; then
        return
    fi
    for d in /usr/sbin /usr/local/sbin; do
        if [ -x "$d/nats-server" ]; then
            PATH=$PATH:$d
            return
        fi
    done
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        dlp_die 2 "nats-server is not installed; install it (Debian/Ubuntu: sudo apt-get install nats-server; elsewhere: https://docs.nats.io) and try again"
    fi
    dlp_log "installing nats-server (Debian package)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >&2
    # The package enables a system-wide service on port 4222 without
    # JetStream; this development server must not find it in its way.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nats-server 2>/dev/null; then
        dlp_log "stopping and disabling the nats-server system service the package started"
        systemctl disable --now nats-server >&2 || true
    fi
    PATH=$PATH:/usr/sbin
    command -v nats-server >/dev/null 2>&1 || dlp_die 2 "nats-server still not found after apt-get install"
}

# Cluster size, remembered by `start` for the per-node commands.
nodes() {
    if [ -f "$NATS_DIR/nodes" ]; then
        cat "$NATS_DIR/nodes"
    else
        echo 0
    fi
}

node_pid() {
    local f=$NATS_DIR/n$1/pid
    if [ -f "$f" ]; then
        local pid
        pid=$(cat "$f")
        if kill -0 "$pid" 2>/dev/null; then
            echo "$pid"
            return 0
        fi
    fi
    return 1
}

# write_config I N: the configuration file of node I of N.
write_config() {
    local i=$1 n=$2 d=$NATS_DIR/n$1
    mkdir -p "$d/js"
    {
        echo "server_name: dlp-dev-n$i"
        echo "listen: 127.0.0.1:$((NATS_PORT + i))"
        echo "max_payload: 8MB"
        echo "jetstream {"
        echo "  store_dir: \"$d/js\""
        echo "  max_memory_store: 256MB"
        echo "}"
        if [ "$n" -gt 1 ]; then
            echo "cluster {"
            echo "  name: dlp-dev"
            echo "  listen: 127.0.0.1:$((NATS_PORT + n + i))"
            echo "  routes: ["
            local j
            for ((j = 0; j < n; j++)); do
                if [ "$j" != "$i" ]; then
                    echo "    nats-route://127.0.0.1:$((NATS_PORT + n + j))"
                fi
            done
            echo "  ]"
            echo "}"
        fi
    } >"$d/server.conf"
}

# js_answers PORT: true when the JetStream API on PORT returns account
# information (on a cluster only once a meta leader exists).
js_answers() {
    local port=$1 reply
    reply=$(
        exec 2>/dev/null
        exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
        printf 'CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.natsdev 1\r\nPUB $JS.API.INFO _INBOX.natsdev 0\r\n\r\n' >&3
        # The INFO line, then the reply's MSG line and its payload.
        while IFS= read -r -t 2 line <&3; do
            case "$line" in
            MSG\ _INBOX.natsdev*)
                IFS= read -r -t 2 line <&3 && printf '%s\n' "$line"
                exit 0
                ;;
            esac
        done
        exit 1
    ) || return 1
    case "$reply" in
    *'"type":"io.nats.jetstream.api.v1.account_info_response"'*'"error"'*) return 1 ;;
    *'"type":"io.nats.jetstream.api.v1.account_info_response"'*) return 0 ;;
    *) return 1 ;;
    esac
}

start_node() {
    local i=$1 d=$NATS_DIR/n$1
    if node_pid "$i" >/dev/null; then
        return
    fi
    [ -f "$d/server.conf" ] || dlp_die 2 "node $i has no configuration in $d; run start first"
    # Each server in its own session, so a test's process group kill or a
    # terminal's Ctrl-C does not take it down by accident.
    setsid nats-server -c "$d/server.conf" >>"$d/log" 2>&1 </dev/null &
    echo $! >"$d/pid"
}

wait_node() {
    local i=$1 deadline=$((SECONDS + NATS_WAIT))
    while ! js_answers $((NATS_PORT + i)); do
        if ! node_pid "$i" >/dev/null; then
            tail -n 20 "$NATS_DIR/n$i/log" >&2 || true
            dlp_die 2 "node $i (port $((NATS_PORT + i))) exited; log: $NATS_DIR/n$i/log"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            dlp_die 2 "node $i (port $((NATS_PORT + i))) did not answer the JetStream API within ${NATS_WAIT}s; log: $NATS_DIR/n$i/log"
        fi
        sleep 0.1
    done
}

urls() {
    local n=$1 i out=""
    for ((i = 0; i < n; i++)); do
        out+="${out:+,}nats://127.0.0.1:$((NATS_PORT + i))"
    done
    echo "$out"
}

stop_node() {
    local i=$1 sig=${2:-TERM} pid
    pid=$(node_pid "$i") || return 0
    kill -s "$sig" "$pid" 2>/dev/null || true
    local k
    for ((k = 0; k < 100; k++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.1
    fi
    rm -f "$NATS_DIR/n$i/pid"
}

node_arg() {
    local i=${1:-}
    case "$i" in
    '' | *[!0-9]*) dlp_usage_error "a node number (0-based) is required" ;;
    esac
    [ "$i" -lt "$(nodes)" ] || dlp_die 2 "no node $i (the server set in $NATS_DIR has $(nodes) node(s))"
    echo "$i"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
start)
    n=1
    while [ $# -gt 0 ]; do
        case "$1" in
        --cluster)
            [ $# -ge 2 ] || dlp_usage_error "--cluster needs a number of nodes"
            n=$2
            shift 2
            ;;
        --cluster=*)
            n=${1#--cluster=}
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *) dlp_usage_error "unknown argument: $1" ;;
        esac
    done
    case "$n" in
    '' | *[!0-9]* | 0) dlp_usage_error "--cluster needs a positive number of nodes, not '$n'" ;;
    esac
    ensure_server
    mkdir -p "$NATS_DIR"
    old=$(nodes)
    if [ "$old" != 0 ] && [ "$old" != "$n" ]; then
        for ((i = 0; i < old; i++)); do
            if node_pid "$i" >/dev/null; then
                dlp_die 2 "a server set of $old node(s) is running in $NATS_DIR; stop it first"
            fi
        done
    fi
    echo "$n" >"$NATS_DIR/nodes"
    for ((i = 0; i < n; i++)); do
        write_config "$i" "$n"
        start_node "$i"
    done
    for ((i = 0; i < n; i++)); do
        wait_node "$i"
    done
    dlp_log "JetStream ready: $(urls "$n") (data in $NATS_DIR)"
    ;;
stop)
    n=$(nodes)
    for ((i = 0; i < n; i++)); do
        stop_node "$i"
    done
    dlp_log "stopped ($NATS_DIR)"
    ;;
status)
    n=$(nodes)
    [ "$n" != 0 ] || dlp_die 1 "no server set in $NATS_DIR"
    down=0
    for ((i = 0; i < n; i++)); do
        port=$((NATS_PORT + i))
        if pid=$(node_pid "$i"); then
            if js_answers "$port"; then
                echo "node $i: running (pid $pid), nats://127.0.0.1:$port, JetStream ready"
            else
                echo "node $i: running (pid $pid), nats://127.0.0.1:$port, JetStream not answering"
                down=1
            fi
        else
            echo "node $i: stopped (nats://127.0.0.1:$port)"
            down=1
        fi
    done
    exit "$down"
    ;;
stop-node)
    stop_node "$(node_arg "${1:-}")" TERM
    ;;
kill-node)
    stop_node "$(node_arg "${1:-}")" KILL
    ;;
start-node)
    i=$(node_arg "${1:-}")
    ensure_server
    start_node "$i"
    wait_node "$i"
    ;;
-h | --help | help)
    usage
    ;;
*)
    dlp_usage_error "unknown command: ${cmd:-none}"
    ;;
esac
