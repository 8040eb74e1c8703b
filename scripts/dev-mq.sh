#!/usr/bin/env bash
# Finds or starts a RabbitMQ for development and tests, and prints an AMQP URL.
#
#   scripts/dev-mq.sh url             print the URL of a broker (see below)
#   scripts/dev-mq.sh private DIR     start (or restart) a private node whose state lives in DIR,
#                                     on loopback ports chosen the first time (AMQP: $DEV_MQ_PORT,
#                                     else a free one); print its URL
#   scripts/dev-mq.sh stop DIR        stop the private node of DIR (its state stays, so `private
#                                     DIR` brings the same broker back on the same port)
#   scripts/dev-mq.sh teardown        stop and delete the private node under .dev/ (if any)
#
# Where `url` finds the broker, first match wins:
#   1. $BROKER_URL, else $AMQP_URL, used as is;
#   2. a broker on 127.0.0.1:5672 that accepts guest/guest (checked with an AMQP handshake);
#   3. a private node under .dev/rabbitmq (like `private .dev/rabbitmq`). The Debian package
#      rabbitmq-server is installed with apt-get when it is missing.
#      DEV_MQ_PRIVATE=1 skips step 2.
# Private nodes listen on 127.0.0.1 only, use guest/guest, run as the `rabbitmq` user when
# started as root, and share the machine's epmd. Progress goes to stderr; only the URL to stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV_NODE_DIR="$ROOT/.dev/rabbitmq"
SBIN=/usr/lib/rabbitmq/bin

say() { echo "dev-mq: $*" >&2; }

install_rabbitmq() {
    say "rabbitmq-server not found; installing it with apt-get"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >&2
}

ensure_installed() {
    [ -x "$SBIN/rabbitmq-server" ] && return
    install_rabbitmq
    [ -x "$SBIN/rabbitmq-server" ] || { say "rabbitmq-server is still missing after installing it"; exit 1; }
}

# Whether an AMQP 0-9-1 broker answers on host:port: send the protocol header and expect the
# start method (frame type 1), not just an open port.
amqp_answers() { # HOST PORT
    python3 - "$1" "$2" <<'EOF' 2>/dev/null
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
    s.sendall(b"AMQP\x00\x00\x09\x01")
    s.settimeout(3)
    sys.exit(0 if s.recv(1) == b"\x01" else 1)
except OSError:
    sys.exit(1)
EOF
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

as_mq_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u rabbitmq -- "$@"
    else
        "$@"
    fi
}

# The environment of the node in DIR: every path inside DIR, the system's rabbitmq-env.conf
# ignored, no plugins.
node_env() { # DIR
    local dir="$1" port dist
    read -r port dist <"$dir/ports"
    echo env HOME="$dir" \
        RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
        RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
        RABBITMQ_NODENAME="hyperfleet-$port@localhost" \
        RABBITMQ_NODE_PORT="$port" \
        RABBITMQ_DIST_PORT="$dist" \
        RABBITMQ_MNESIA_BASE="$dir/mnesia" \
        RABBITMQ_LOG_BASE="$dir/log" \
        RABBITMQ_PID_FILE="$dir/node.pid" \
        ERL_EPMD_ADDRESS=127.0.0.1
}

cmd_private() { # DIR
    local dir="${1:?usage: dev-mq.sh private DIR}" port
    ensure_installed
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ ! -s "$dir/ports" ]; then
        echo "${DEV_MQ_PORT:-$(free_port)} $(free_port)" >"$dir/ports"
        : >"$dir/rabbitmq-env.conf"
        echo '[].' >"$dir/enabled_plugins"
        read -r port _ <"$dir/ports"
        printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$port" >"$dir/rabbitmq.conf"
        mkdir -p "$dir/mnesia" "$dir/log"
        [ "$(id -u)" -eq 0 ] && chown -R rabbitmq: "$dir"
    fi
    read -r port _ <"$dir/ports"
    if ! amqp_answers 127.0.0.1 "$port"; then
        say "starting a private RabbitMQ node on 127.0.0.1:$port ($dir)"
        # setsid: the node outlives this script and ignores the caller's signals.
        # shellcheck disable=SC2046
        as_mq_user $(node_env "$dir") setsid "$SBIN/rabbitmq-server" >>"$dir/log/console.log" 2>&1 </dev/null &
        # shellcheck disable=SC2046
        as_mq_user $(node_env "$dir") "$SBIN/rabbitmqctl" -q --timeout 120 wait "$dir/node.pid" >&2 ||
            { say "the node did not start; see $dir/log"; exit 1; }
        local tries=0
        until amqp_answers 127.0.0.1 "$port"; do
            tries=$((tries + 1))
            [ "$tries" -lt 60 ] || { say "the node does not accept AMQP; see $dir/log"; exit 1; }
            sleep 0.5
        done
    fi
    echo "amqp://guest:guest@127.0.0.1:$port/%2f"
}

cmd_stop() { # DIR
    local dir="${1:?usage: dev-mq.sh stop DIR}" pid tries=0
    [ -s "$dir/ports" ] || return 0
    dir="$(cd "$dir" && pwd)"
    pid="$(cat "$dir/node.pid" 2>/dev/null || true)"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    # `rabbitmqctl stop PIDFILE` can wait forever when the node removes its pid file first, so
    # stop without it and watch the process; a node that hangs is killed after 60 s.
    # shellcheck disable=SC2046
    as_mq_user $(node_env "$dir") timeout 60 "$SBIN/rabbitmqctl" -q stop >/dev/null 2>&1 || true
    while kill -0 "$pid" 2>/dev/null; do
        tries=$((tries + 1))
        if [ "$tries" -ge 120 ]; then
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
}

cmd_url() {
    if [ -n "${BROKER_URL:-}" ]; then
        echo "$BROKER_URL"
        return
    fi
    if [ -n "${AMQP_URL:-}" ]; then
        echo "$AMQP_URL"
        return
    fi
    if [ "${DEV_MQ_PRIVATE:-0}" != 1 ] && amqp_answers 127.0.0.1 5672; then
        echo "amqp://guest:guest@127.0.0.1:5672/%2f"
        return
    fi
    cmd_private "$DEV_NODE_DIR"
}

cmd_teardown() {
    cmd_stop "$DEV_NODE_DIR"
    rm -rf "$DEV_NODE_DIR"
    say "private node removed"
}

case "${1:-url}" in
    url) cmd_url ;;
    private) shift; cmd_private "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    teardown) cmd_teardown ;;
    *) echo "usage: $0 url | private DIR | stop DIR | teardown" >&2; exit 2 ;;
esac
