#!/usr/bin/env bash
# `make bench-scale`: does per-request cost grow with the fleet? (issue 8 item 3)
#
# Grows the hyperfleet_bench_scale database with SQL (generate_series) to each size of SIZES
# clusters and, at each, measures with wrk (DURATION seconds, CONNECTIONS connections) GET of a
# random cluster and the first list page of 100 in the default order, and with pgbench (one
# client) the list statement and the count(*) it contains, so the cost of the `total` (which
# spec §14.1 allows to grow) can be told apart from the page. At the largest size it
# EXPLAINs (ANALYZE, BUFFERS) every list statement (examples/bench_sql.rs --statements) at a
# shallow and a deep page into $OUT_DIR/explain.txt.
#
# Environment (defaults): SIZES="1000 10000 100000 1000000" DURATION=10 CONNECTIONS=32
#   DEEP_PAGE=5000 SKIP_BUILD=1 OUT_DIR=target/bench
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

SIZES="${SIZES:-1000 10000 100000 1000000}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
DEEP_PAGE="${DEEP_PAGE:-5000}"
DB_NAME=hyperfleet_bench_scale

trap stop_server EXIT
ensure_tools
build_release
statements="$(cargo run --quiet --locked --example bench_sql -- --statements)"
url="$(fresh_database "$DB_NAME")"
start_server "$url"
: >"$OUT_DIR/wrk.log"

# Adds clusters up to SIZE: created one second apart going back in time (so the default order is
# a real walk of the index), labelled like bench/seed.py's, 1 in 4 Ready. A few node pools go to
# the newest clusters so the node-pool list has something to page.
grow_to() { # SIZE
    psql -X -q -v ON_ERROR_STOP=1 -v size="$1" "$url" >/dev/null <<'SQL'
INSERT INTO clusters (id, name, spec, labels, generation, status_phase, status_observed_generation,
                      status_last_transition_time, status_updated_at, status_adapters,
                      created_at, updated_at, created_by, updated_by)
SELECT gen_random_uuid(), 'scale-' || i, '{"region": "us-east-1", "version": "4.15", "nodes": 3}',
       jsonb_build_object('env', (ARRAY['prod', 'staging', 'dev', 'test'])[i % 4 + 1], 'team', 'team-' || i % 100,
                          'index', i::text),
       1, CASE WHEN i % 4 = 0 THEN 'Ready' ELSE 'NotReady' END, 0, t, t, '[]', t, t, 'system', 'system'
FROM generate_series((SELECT count(*) FROM clusters) + 1, :size) AS i,
     LATERAL (SELECT timestamptz '2025-01-01' - make_interval(secs => i)) AS c(t);
INSERT INTO node_pools (id, cluster_id, name, spec, labels, generation, status_phase, status_observed_generation,
                        status_last_transition_time, status_updated_at, status_adapters,
                        created_at, updated_at, created_by, updated_by)
SELECT gen_random_uuid(), c.id, 'pool-' || j, '{"replicas": 3}', '{}', 1, 'NotReady', 0, c.created_at, c.created_at,
       '[]', c.created_at, c.created_at, 'system', 'system'
FROM (SELECT id, created_at FROM clusters c WHERE NOT EXISTS (SELECT 1 FROM node_pools n WHERE n.cluster_id = c.id)
      ORDER BY created_at LIMIT greatest(:size / 100 - (SELECT count(DISTINCT cluster_id) FROM node_pools), 0)) c,
     generate_series(1, 5) AS j;
VACUUM ANALYZE clusters;
VACUUM ANALYZE node_pools;
SQL
}

list_sql=$(awk -F '\t' '$1 == "clusters" { print $2 }' <<<"$statements")
pg_latency() { # SQL -> average latency in ms of one client for DURATION/2 seconds
    local script="$OUT_DIR/pgbench-scale.sql"
    echo "$1;" >"$script"
    pgbench -n -M prepared -c 1 -j 1 -T "$(( (DURATION + 1) / 2 ))" -f "$script" "$url" 2>&1 |
        sed -n 's/^latency average = \([0-9.]*\) ms/\1/p'
}

rows=()
for size in $SIZES; do
    say "growing to $size clusters"
    started=$(date +%s)
    grow_to "$size"
    say "  seeded in $(( $(date +%s) - started )) s"
    psql -X -q "$url" -c "\\copy (SELECT id FROM clusters ORDER BY random() LIMIT 10000) TO '$OUT_DIR/scale_ids.txt'"
    get=$(IDS_FILE="$OUT_DIR/scale_ids.txt" run_wrk get.lua "$DURATION" "$CONNECTIONS")
    list=$(run_wrk list.lua "$DURATION" "$CONNECTIONS")
    search=$(run_wrk search.lua "$DURATION" "$CONNECTIONS")
    # The statement the service runs for the first page, and its count(*) on its own.
    list_ms=$(pg_latency "$(sed 's/\$1/0/; s/\$2/100/; s/\$3/0/' <<<"$list_sql")")
    count_ms=$(pg_latency "SELECT count(*) FROM clusters WHERE deleted_at IS NULL")
    rows+=("$size get[$get] list[$list] search[$search] list_sql_ms=$list_ms count_ms=$count_ms load=$(cut -d' ' -f1 /proc/loadavg)")
    say "  $size: get {$get} list {$list} search {$search} list statement $list_ms ms, count $count_ms ms (1 client)"
done

# EXPLAIN each list statement as the service runs it: a prepared statement, executed with the
# first page's and a deep page's offset.
deep_id=$(psql -X -At "$url" -c "SELECT id FROM clusters WHERE deleted_at IS NULL ORDER BY id DESC OFFSET 100 LIMIT 1")
{
    echo "EXPLAIN (ANALYZE, BUFFERS) at $(psql -X -At "$url" -c 'SELECT count(*) FROM clusters') clusters;"
    echo "pages of 100: page 1 (offset 0) and page $DEEP_PAGE (offset $(( (DEEP_PAGE - 1) * 100 )))"
    while IFS=$'\t' read -r name sql; do
        # A search binds its value twice (count and page); the parameters are in order of use.
        nparams=$(grep -o '\$[0-9]*' <<<"$sql" | sort -u | wc -l)
        for page in 1 "$DEEP_PAGE"; do
            offset=$(( (page - 1) * 100 ))
            case "$name" in
                # A keyset walk has no offset: its deep page starts 100 ids before the highest.
                clusters_keyset) args="0, '$( [ "$page" = 1 ] && echo 00000000-0000-0000-0000-000000000000 || echo "$deep_id")', 100, 0" ;;
                clusters_label) args="'{\"team\": \"team-7\"}', '{\"team\": \"team-7\"}', $offset, 100, $offset" ;;
                clusters_phase) args="'Ready', 'Ready', $offset, 100, $offset" ;;
                *) args="$offset, 100, $offset" ;;
            esac
            [ "$(tr -cd ',' <<<"$args" | wc -c)" -eq $(( nparams - 1 )) ] ||
                { say "$name has $nparams parameters; update bench/scale.sh"; exit 1; }
            echo
            echo "== $name, page $page"
            echo "$sql"
            psql -X -q -v ON_ERROR_STOP=1 "$url" <<SQL
PREPARE q AS $sql;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE q($args);
SQL
        done
    done <<<"$statements"
} >"$OUT_DIR/explain.txt"
say "plans written to $OUT_DIR/explain.txt"

{
    echo
    echo "Scaling: wrk ${DURATION}s c=$CONNECTIONS per size; pgbench 1 client for the statement and its count"
    printf '%9s %9s %8s %8s | %9s %8s %8s | %9s %8s %8s | %12s %9s %5s\n' clusters "get r/s" "p50 ms" "p99 ms" \
        "list r/s" "p50 ms" "p99 ms" "srch r/s" "p50 ms" "p99 ms" "list sql ms" "count ms" load
    for row in "${rows[@]}"; do
        size=${row%% *}
        get=$(sed 's/.*get\[\([^]]*\)\].*/\1/' <<<"$row") list=$(sed 's/.*list\[\([^]]*\)\].*/\1/' <<<"$row")
        search=$(sed 's/.*search\[\([^]]*\)\].*/\1/' <<<"$row")
        printf '%9s %9s %8s %8s | %9s %8s %8s | %9s %8s %8s | %12s %9s %5s\n' "$size" "$(field "$get" rps)" \
            "$(field "$get" p50_ms)" "$(field "$get" p99_ms)" "$(field "$list" rps)" "$(field "$list" p50_ms)" \
            "$(field "$list" p99_ms)" "$(field "$search" rps)" "$(field "$search" p50_ms)" "$(field "$search" p99_ms)" \
            "$(field "$row" list_sql_ms)" "$(field "$row" count_ms)" "$(field "$row" load)"
    done
    echo "server RSS after the run: $(rss_mib "$SERVER_PID") MiB"
} | tee "$OUT_DIR/scale.txt"
