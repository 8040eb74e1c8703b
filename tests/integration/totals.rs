//! The maintained totals of unfiltered lists (issue 15): they equal an exact count of live rows
//! after creates, deletes, cascades, concurrent writers and SQL written by hand, and filtered
//! lists still count exactly.

use futures_util::future::join_all;
use serde_json::json;
use sqlx::PgPool;

use crate::factories::{ClusterFactory, NodePoolFactory};
use crate::helpers::TestApp;

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;
const CLUSTERS: &str = "/api/hyperfleet/v1/clusters";
const NODE_POOLS: &str = "/api/hyperfleet/v1/nodepools";

async fn exact(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE deleted_at IS NULL")).fetch_one(pool).await.unwrap()
}

/// The `total` of the unfiltered list at `path`, checked against the exact count of `table`.
async fn assert_total(app: &TestApp, pool: &PgPool, path: &str, table: &str, expected: i64, why: &str) {
    let page = app.get_json(&format!("{path}?pageSize=1"), 200).await;
    assert_eq!(page["total"], expected, "{why}: {path} total ({page})");
    assert_eq!(exact(pool, table).await, expected, "{why}: count(*) of live {table}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn unfiltered_totals_follow_creates_deletes_and_cascades(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    assert_total(&app, &pool, CLUSTERS, "clusters", 0, "empty").await;
    assert_total(&app, &pool, NODE_POOLS, "node_pools", 0, "empty").await;

    let created = join_all((0..24).map(|_| ClusterFactory::new().create(&app))).await;
    assert_total(&app, &pool, CLUSTERS, "clusters", 24, "24 concurrent creates").await;
    let id = |i: usize| created[i]["id"].as_str().unwrap().to_owned();
    join_all(
        (0..3).flat_map(|i| [NodePoolFactory::new(&id(i)).create(&app), NodePoolFactory::new(&id(i)).create(&app)]),
    )
    .await;
    assert_total(&app, &pool, NODE_POOLS, "node_pools", 6, "six node pools on three clusters").await;

    // A refused create changes nothing.
    let taken = json!({"kind": "Cluster", "name": created[0]["name"], "spec": {}}).to_string();
    assert_eq!(app.post(CLUSTERS, &taken).await.status(), 409);
    assert_total(&app, &pool, CLUSTERS, "clusters", 24, "a 409 create").await;

    // Deleting a cluster removes it and, by cascade, its node pools.
    assert_eq!(app.delete(&format!("{CLUSTERS}/{}", id(0))).await.status(), 204);
    assert_total(&app, &pool, CLUSTERS, "clusters", 23, "a cluster deleted").await;
    assert_total(&app, &pool, NODE_POOLS, "node_pools", 4, "its two node pools cascaded").await;
    let pools = app.get_json(&format!("{CLUSTERS}/{}/nodepools", id(1)), 200).await;
    let pool_id = pools["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.delete(&format!("{CLUSTERS}/{}/nodepools/{pool_id}", id(1))).await.status(), 204);
    assert_total(&app, &pool, NODE_POOLS, "node_pools", 3, "one node pool deleted").await;
    // Deleting it again is a 404 and counts nothing.
    assert_eq!(app.delete(&format!("{CLUSTERS}/{}", id(0))).await.status(), 404);
    assert_total(&app, &pool, CLUSTERS, "clusters", 23, "a repeated delete").await;

    // A PATCH and a status report update the row without changing liveness.
    let patch = json!({"labels": {"a": "b"}}).to_string();
    assert_eq!(app.patch(&format!("{CLUSTERS}/{}", id(2)), &patch).await.status(), 200);
    assert_total(&app, &pool, CLUSTERS, "clusters", 23, "a PATCH").await;

    // Concurrent deletes of distinct clusters.
    join_all((3..13).map(|i| {
        let path = format!("{CLUSTERS}/{}", id(i));
        let app = &app;
        async move { assert_eq!(app.delete(&path).await.status(), 204) }
    }))
    .await;
    assert_total(&app, &pool, CLUSTERS, "clusters", 13, "ten concurrent deletes").await;

    // Per-cluster node-pool lists and filtered lists count exactly.
    let of_cluster = app.get_json(&format!("{CLUSTERS}/{}/nodepools?pageSize=1", id(2)), 200).await;
    assert_eq!(of_cluster["total"], 2, "{of_cluster}");
    let filtered = app.get_json(&format!("{CLUSTERS}?search=labels.a%3D'b'"), 200).await;
    assert_eq!(filtered["total"], 1, "{filtered}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn totals_count_rows_written_by_hand_with_soft_and_hard_deletes(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    ClusterFactory::new().create(&app).await;
    sqlx::query(
        "INSERT INTO clusters (id, name, spec, labels, status_last_transition_time, status_updated_at, \
         created_at, updated_at, created_by, updated_by, deleted_at, deleted_by) \
         SELECT gen_random_uuid(), 'hand-' || i, '{}', '{}', now(), now(), now(), now(), 'system', 'system', \
                CASE WHEN i > 8 THEN now() END, CASE WHEN i > 8 THEN 'system' END \
         FROM generate_series(1, 10) AS i",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_total(&app, &pool, CLUSTERS, "clusters", 9, "eight live and two deleted rows inserted at once").await;

    sqlx::query("UPDATE clusters SET deleted_at = NULL, deleted_by = NULL WHERE name = 'hand-9'")
        .execute(&pool)
        .await
        .unwrap();
    assert_total(&app, &pool, CLUSTERS, "clusters", 10, "a soft-deleted row revived").await;

    // A hard delete of live and deleted rows removes only the live ones from the total.
    sqlx::query("DELETE FROM clusters WHERE name IN ('hand-1', 'hand-2', 'hand-10')").execute(&pool).await.unwrap();
    assert_total(&app, &pool, CLUSTERS, "clusters", 8, "two live and one deleted row removed").await;

    // Changes rolled back leave no trace.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("UPDATE clusters SET deleted_at = now(), deleted_by = 'x' WHERE deleted_at IS NULL")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_total(&app, &pool, CLUSTERS, "clusters", 8, "a rolled-back delete").await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn concurrent_creates_spread_over_the_counter_rows(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    join_all((0..16).map(|_| ClusterFactory::new().create(&app))).await;
    let (rows, sum): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE live <> 0), sum(live)::bigint FROM resource_counts WHERE kind = 'clusters'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(sum, 16);
    assert!(rows > 1, "one transaction's counter row is picked by its id, so writers spread out: {rows} rows");
}
