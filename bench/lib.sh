# Shared by bench/run.sh and bench/scale.sh (sourced): tools, the benchmark database, the server.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# BENCH_BIN: another build of the binary (with SKIP_BUILD=1), e.g. target/debug/hyperfleet.
BIN="${BENCH_BIN:-$ROOT/target/release/hyperfleet}"
OUT_DIR="${OUT_DIR:-$ROOT/target/bench}"
export BENCH_WRK_DIR="$ROOT/bench/wrk"
export SQLX_OFFLINE=true
mkdir -p "$OUT_DIR"

say() { echo "bench: $*" >&2; }

# Installs wrk and pgbench with apt-get when they are missing.
ensure_tools() {
    local missing=()
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    command -v pgbench >/dev/null 2>&1 || missing+=(postgresql-contrib)
    command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
    [ ${#missing[@]} -eq 0 ] && return
    say "installing ${missing[*]} with apt-get"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 ||
        { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
            $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2; }
}

build_release() {
    if [ "${SKIP_BUILD:-0}" = 1 ] && [ -x "$BIN" ]; then return; fi
    say "building the release binary (make binary)"
    make -C "$ROOT" --no-print-directory binary >&2
}

# Drops and recreates database NAME (which must start with hyperfleet_bench) as `make run`
# finds its server, migrates it and prints its URL. DATABASE_URL is ignored on purpose: the
# benchmark drops its database and must never be pointed at anyone else's.
fresh_database() { # NAME
    local name="$1" url base
    case "$name" in hyperfleet_bench*) ;; *) say "refusing to recreate '$name'"; exit 2 ;; esac
    url="$(env -u DATABASE_URL "$ROOT/scripts/dev-db.sh" url "$name")"
    base="${url%/*}"
    psql -X -q "$base/postgres" -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null
    psql -X -q "$base/postgres" -c "CREATE DATABASE \"$name\"" >/dev/null
    # No TLS on loopback, for the service and pgbench alike: the service's own default is
    # --db-sslmode=disable, and a URL without sslmode would negotiate TLS ("prefer").
    url="$url?sslmode=disable"
    DATABASE_URL="$url" "$BIN" migrate >&2
    echo "$url"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

SERVER_PID=""
# Starts `hyperfleet serve --enable-jwt=false` on free ports and waits for /readyz; sets
# SERVER_PID and API_URL. The log goes to $OUT_DIR/server.log.
start_server() { # DATABASE_URL
    local api health metrics
    api=$(free_port) health=$(free_port) metrics=$(free_port)
    DATABASE_URL="$1" \
        HYPERFLEET_API_SERVER_BINDADDRESS="127.0.0.1:$api" \
        HYPERFLEET_HEALTH_CHECK_SERVER_BINDADDRESS="127.0.0.1:$health" \
        HYPERFLEET_METRICS_SERVER_BINDADDRESS="127.0.0.1:$metrics" \
        "$BIN" serve --enable-jwt=false >"$OUT_DIR/server.log" 2>&1 &
    SERVER_PID=$!
    API_URL="http://127.0.0.1:$api"
    for _ in $(seq 1 100); do
        if curl -fsS "http://127.0.0.1:$health/readyz" >/dev/null 2>&1; then
            say "server $SERVER_PID ready at $API_URL"
            return
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT_DIR/server.log" >&2; say "the server exited"; exit 1; }
        sleep 0.1
    done
    say "the server did not become ready"
    exit 1
}

stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

rss_mib() { # PID
    awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# Runs wrk with SCRIPT against API_URL; prints its RESULT line (fields key=value).
run_wrk() { # SCRIPT DURATION CONNECTIONS
    wrk -t "${WRK_THREADS:-2}" -c "$3" -d "$2s" --timeout 10s -s "$BENCH_WRK_DIR/$1" "$API_URL" |
        tee -a "$OUT_DIR/wrk.log" | grep '^RESULT' | sed 's/^RESULT //'
}

field() { # "k=v k=v" KEY
    tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}
