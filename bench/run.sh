#!/usr/bin/env bash
# `make bench`: the service against the database's own limit for the same work (issue 8).
#
# Builds the release binary, recreates the hyperfleet_bench database, serves it on free ports,
# seeds it through the API (bench/seed.py), then for each scenario drives DURATION seconds of
# load at CONNECTIONS connections with wrk (bench/wrk/*.lua) and runs pgbench on the exact SQL the
# service issues for one such request (written by examples/bench_sql.rs) at the same concurrency
# and duration, right after, so the ratio holds on a noisy machine.
#
# Environment (defaults): DURATION=15 CONNECTIONS=32 WRK_THREADS=2 PGBENCH_JOBS=2
#   SCENARIOS="get list search create status status_hot create_broker"
#   create_broker = create with the server restarted with --broker-url (scripts/dev-mq.sh url;
#   a durable queue bound to `#` takes every message); it adds the publish lag, commit to
#   broker confirm, from `published_at - created_at` of the events it wrote.
#   CLUSTERS=10000 NODEPOOL_CLUSTERS=1000 NODEPOOLS_PER_CLUSTER=2 STATUS_CLUSTERS=2000 ADAPTERS=4
#   SKIP_BUILD=1 (reuse target/release/hyperfleet)  OUT_DIR=target/bench
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

DURATION="${DURATION:-15}"
CONNECTIONS="${CONNECTIONS:-32}"
PGBENCH_JOBS="${PGBENCH_JOBS:-2}"
SCENARIOS="${SCENARIOS:-get list search create status status_hot create_broker}"
DB_NAME=hyperfleet_bench

trap stop_server EXIT
ensure_tools
build_release
say "writing the pgbench scripts (cargo run --example bench_sql)"
cargo run --quiet --locked --example bench_sql -- "$OUT_DIR/pgbench"

url="$(fresh_database "$DB_NAME")"
start_server "$url"
: >"$OUT_DIR/wrk.log"
: >"$OUT_DIR/pgbench.log"

python3 "$ROOT/bench/seed.py" "$API_URL" "$OUT_DIR/cluster_ids.txt"
nids=$(wc -l <"$OUT_DIR/cluster_ids.txt")
hot_id=$(head -n 1 "$OUT_DIR/cluster_ids.txt")
# pgbench draws its random clusters from the same ids as wrk (see examples/bench_sql.rs).
psql -X -q -v ON_ERROR_STOP=1 "$url" >/dev/null <<SQL
CREATE TABLE bench_ids (n serial PRIMARY KEY, id uuid NOT NULL);
\copy bench_ids (id) FROM '$OUT_DIR/cluster_ids.txt'
VACUUM ANALYZE;
SQL

# Creates notify the service's event processor, which reconciles each event in a transaction of
# its own; let it finish before the next measurement so one scenario's work never lands in another.
drain_events() {
    local left
    for _ in $(seq 1 600); do
        left=$(psql -X -At "$url" -c "SELECT count(*) FROM events WHERE reconciled_at IS NULL")
        [ "$left" = 0 ] && return
        sleep 0.5
    done
    say "warning: $left events still unreconciled"
}
drain_events

run_pgbench() { # SCENARIO -> "tps=… lat_ms=… failed=…"
    local script="$OUT_DIR/pgbench/$1.sql" out
    out=$(pgbench -n -M prepared -c "$CONNECTIONS" -j "$PGBENCH_JOBS" -T "$DURATION" \
        -D nids="$nids" -D cid="$hot_id" -f "$script" "$url" 2>&1) || { echo "$out" >&2; return 1; }
    printf '== %s\n%s\n' "$1" "$out" >>"$OUT_DIR/pgbench.log"
    local tps lat failed
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
    lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
    printf 'tps=%.1f lat_ms=%s failed=%s\n' "$tps" "$lat" "${failed:-0}"
}

rss_before=$(rss_mib "$SERVER_PID")
say "server RSS after seeding: $rss_before MiB"
declare -A script_of=([get]=get.lua [list]=list.lua [search]=search.lua [create]=create.lua
    [status]=status.lua [status_hot]=status.lua [create_broker]=create.lua)
declare -A pgbench_of=([create_broker]=create)

# Restarts the server with publishing on, to a fresh exchange with one bound durable queue.
BROKER_URL_BENCH="" BENCH_EXCHANGE="hyperfleet.bench.$$" BENCH_QUEUE="hyperfleet.bench.$$.all"
start_publishing_server() {
    BROKER_URL_BENCH="$("$ROOT/scripts/dev-mq.sh" url)"
    cargo run --quiet --locked --example bench_broker -- bind "$BROKER_URL_BENCH" "$BENCH_EXCHANGE" "$BENCH_QUEUE"
    stop_server
    HYPERFLEET_BROKER_URL="$BROKER_URL_BENCH" HYPERFLEET_BROKER_EXCHANGE="$BENCH_EXCHANGE" start_server "$url"
}
cleanup() {
    stop_server
    if [ -n "$BROKER_URL_BENCH" ]; then
        cargo run --quiet --locked --example bench_broker -- delete "$BROKER_URL_BENCH" "$BENCH_EXCHANGE" "$BENCH_QUEUE" >/dev/null || true
    fi
}
trap cleanup EXIT

# Waits until the broker has confirmed every event.
drain_published() {
    local left
    for _ in $(seq 1 600); do
        left=$(psql -X -At "$url" -c "SELECT count(*) FROM events WHERE published_at IS NULL")
        [ "$left" = 0 ] && return
        sleep 0.5
    done
    say "warning: $left events still unpublished"
}
lag=""
results=()
for scenario in $SCENARIOS; do
    say "$scenario: wrk ${DURATION}s c=$CONNECTIONS"
    hot=""
    [ "$scenario" = status_hot ] && hot="$hot_id"
    if [ "$scenario" = create_broker ]; then
        start_publishing_server
        # Events written before publishing was on are handed over first; keep them out of the run.
        drain_published
        first_id=$(psql -X -At "$url" -c "SELECT COALESCE(max(id), 0) FROM events")
    fi
    service=$(HOT_ID="$hot" IDS_FILE="$OUT_DIR/cluster_ids.txt" run_wrk "${script_of[$scenario]}" "$DURATION" "$CONNECTIONS")
    drain_events
    if [ "$scenario" = create_broker ]; then
        drain_published
        lag=$(psql -X -At -F ' ' "$url" -c "SELECT count(*),
                round(1000 * extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY published_at - created_at))::numeric, 1),
                round(1000 * extract(epoch FROM percentile_cont(0.99) WITHIN GROUP (ORDER BY published_at - created_at))::numeric, 1),
                round(1000 * extract(epoch FROM max(published_at - created_at))::numeric, 1)
            FROM events WHERE id > $first_id")
        say "$scenario: publish lag (events, p50 ms, p99 ms, max ms): $lag"
    fi
    say "$scenario: pgbench ${DURATION}s c=$CONNECTIONS"
    limit=$(run_pgbench "${pgbench_of[$scenario]:-$scenario}")
    drain_events
    results+=("$scenario $service $limit load=$(cut -d' ' -f1 /proc/loadavg)")
    say "$scenario: service {$service} limit {$limit}"
done
rss_after=$(rss_mib "$SERVER_PID")

# Reference limits in plain SQL (bench/sql/ref_*.sql): what pg_notify costs a writing transaction,
# and what a list's count(*) and OFFSET cost with one client.
references=()
if [ "${REFERENCE:-1}" = 1 ]; then
    live=$(psql -X -At "$url" -c "SELECT count(*) FROM clusters WHERE deleted_at IS NULL")
    for ref in count:1 count_offset:1 insert:"$CONNECTIONS" insert_notify:"$CONNECTIONS"; do
        name=${ref%%:*} clients=${ref##*:}
        say "reference $name: pgbench ${DURATION}s c=$clients"
        out=$(pgbench -n -M prepared -c "$clients" -j "$(( clients < PGBENCH_JOBS ? clients : PGBENCH_JOBS ))" \
            -T "$DURATION" -f "$ROOT/bench/sql/ref_$name.sql" "$url" 2>&1)
        printf '== ref_%s\n%s\n' "$name" "$out" >>"$OUT_DIR/pgbench.log"
        references+=("$(printf '%-14s c=%-3s %10.1f tps %9s ms' "$name" "$clients" \
            "$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")" \
            "$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")")")
    done
fi

{
    echo
    echo "HyperFleet API vs pgbench (same SQL), ${DURATION}s per scenario, concurrency $CONNECTIONS, $(nproc) cores"
    echo "seed: $nids clusters through the API; $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '%-11s %9s %8s %8s %7s %7s %10s %9s %6s %5s\n' scenario "req/s" "p50 ms" "p99 ms" non2xx sockerr "pg tps" "pg lat ms" ratio load
    for line in "${results[@]}"; do
        read -r name rest <<<"$line"
        rps=$(field "$rest" rps) tps=$(field "$rest" tps)
        ratio=$(awk -v a="$rps" -v b="$tps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
        printf '%-11s %9s %8s %8s %7s %7s %10s %9s %6s %5s\n' "$name" "$rps" "$(field "$rest" p50_ms)" \
            "$(field "$rest" p99_ms)" "$(field "$rest" non2xx)" "$(field "$rest" socket_errors)" "$tps" \
            "$(field "$rest" lat_ms)" "$ratio" "$(field "$rest" load)"
    done
    echo "server RSS: $rss_before MiB after seeding, $rss_after MiB after the run"
    if [ -n "$lag" ]; then
        read -r n p50 p99 max <<<"$lag"
        echo "create_broker publish lag (created_at to published_at, $n events): p50 $p50 ms, p99 $p99 ms, max $max ms"
    fi
    [ ${#references[@]} -eq 0 ] || { echo "reference limits (plain SQL, from $live live clusters):"; printf '  %s\n' "${references[@]}"; }
} | tee "$OUT_DIR/summary.txt"
