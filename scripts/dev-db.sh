#!/usr/bin/env bash
# Finds or starts a PostgreSQL for development and tests, and prints a database URL.
#
#   scripts/dev-db.sh url [NAME]   print a URL for database NAME (default: hyperfleet), creating it
#   scripts/dev-db.sh teardown     stop and delete the private cluster under .dev/ (if any)
#   scripts/dev-db.sh bin          print the directory of initdb/pg_ctl, installing PostgreSQL
#                                  when missing (the fault tests run their own throw-away cluster)
#
# Where the database comes from, first match wins:
#   1. $DATABASE_URL, used as is (NAME is ignored);
#   2. a server on 127.0.0.1:5432 that accepts user postgres without a password;
#   3. a private throw-away cluster under .dev/ on port $DEV_PG_PORT (default 55432), made with
#      the system's initdb/pg_ctl; PostgreSQL is installed with apt-get when it is missing.
#      DEV_PG_PRIVATE=1 skips step 2 (to use the private cluster even when 5432 answers).
# Progress goes to stderr; only the URL goes to stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV_DIR="$ROOT/.dev"
DATA_DIR="$DEV_DIR/pgdata"
SOCK_DIR="$DEV_DIR/pgsock"
LOG_FILE="$DEV_DIR/postgres.log"
DEV_PORT="${DEV_PG_PORT:-55432}"

say() { echo "dev-db: $*" >&2; }

pg_bin_dir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

install_postgres() {
    say "PostgreSQL server binaries not found; installing them with apt-get"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client >&2
}

# Prints the directory of initdb/pg_ctl, installing PostgreSQL first when they are missing.
server_bin_dir() {
    pg_bin_dir && return
    install_postgres
    pg_bin_dir || { say "initdb is still missing after installing PostgreSQL"; exit 1; }
}

psql_ok() { # URL
    command -v psql >/dev/null 2>&1 &&
        PGCONNECT_TIMEOUT=3 psql -w -X -q -At "$1" -c 'SELECT 1' >/dev/null 2>&1
}

ensure_database() { # BASE_URL(without db) NAME
    local base="$1" name="$2"
    if ! PGCONNECT_TIMEOUT=5 psql -w -X -q -At "$base/postgres" \
        -c "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
        PGCONNECT_TIMEOUT=5 psql -w -X -q "$base/postgres" -c "CREATE DATABASE \"$name\"" >/dev/null 2>&1 ||
            PGCONNECT_TIMEOUT=5 psql -w -X -q -At "$base/postgres" \
                -c "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1
    fi
}

as_pg_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start_private_cluster() {
    local bin
    bin=$(server_bin_dir)
    mkdir -p "$DEV_DIR" "$SOCK_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir "$DEV_DIR" postgres
        chown postgres "$DEV_DIR" "$SOCK_DIR"
    fi
    if [ ! -s "$DATA_DIR/PG_VERSION" ]; then
        say "creating a private PostgreSQL cluster in $DATA_DIR"
        rm -rf "$DATA_DIR"
        as_pg_user "$bin/initdb" -D "$DATA_DIR" -U postgres -A trust -E UTF8 --no-locale >/dev/null
    fi
    if ! as_pg_user "$bin/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1; then
        say "starting the private PostgreSQL cluster on 127.0.0.1:$DEV_PORT"
        touch "$LOG_FILE"
        [ "$(id -u)" -eq 0 ] && chown postgres "$LOG_FILE"
        as_pg_user "$bin/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 start \
            -o "-p $DEV_PORT -k $SOCK_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
    fi
    export PATH="$bin:$PATH"
}

cmd_url() {
    local name="${1:-hyperfleet}"
    if [ -n "${DATABASE_URL:-}" ]; then
        echo "$DATABASE_URL"
        return
    fi
    local base="postgres://postgres@127.0.0.1:5432"
    if [ "${DEV_PG_PRIVATE:-0}" != 1 ] && psql_ok "$base/postgres"; then
        ensure_database "$base" "$name"
        echo "$base/$name"
        return
    fi
    start_private_cluster
    base="postgres://postgres@127.0.0.1:$DEV_PORT"
    psql_ok "$base/postgres" || { say "the private cluster does not answer; see $LOG_FILE"; exit 1; }
    ensure_database "$base" "$name"
    echo "$base/$name"
}

cmd_bin() {
    local bin
    bin=$(server_bin_dir)
    # As root, the server must run as an unprivileged user.
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --no-create-home postgres
    fi
    echo "$bin"
}

cmd_teardown() {
    local bin
    bin=$(pg_bin_dir) || true
    if [ -d "$DATA_DIR" ] && [ -n "${bin:-}" ]; then
        as_pg_user "$bin/pg_ctl" -D "$DATA_DIR" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$DEV_DIR"
    say "private cluster removed"
}

case "${1:-url}" in
    url) shift || true; cmd_url "$@" ;;
    teardown) cmd_teardown ;;
    bin) cmd_bin ;;
    *) echo "usage: $0 url [NAME] | bin | teardown" >&2; exit 2 ;;
esac
