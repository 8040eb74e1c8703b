//! The indexes of §10.6 serve the list statements (§14.1): with 20 000 clusters and 60 000 node
//! pools of realistic width, `EXPLAIN` of the exact statement the service issues shows index
//! scans only, and the `total` read from an index (index-only or bitmap), never a table scan.

use hyperfleet::dao::lists::{resources_statement, ResourceQuery};
use hyperfleet::model::kind::ResourceKind;
use hyperfleet::search::{Filter, Ordering};
use serde_json::Value;
use sqlx::{Execute, PgPool};
use uuid::Uuid;

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;

/// Rows shaped like the benchmark data of §14: a few spec members, two labels, and five adapter
/// summaries in the status. Every tenth cluster (with its node pools) is soft-deleted.
const SEED: [&str; 2] = [
    "INSERT INTO clusters (id, name, spec, labels, generation, status_phase, status_observed_generation,
       status_last_transition_time, status_updated_at, status_adapters, created_at, updated_at, created_by,
       updated_by, deleted_at, deleted_by)
     SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || substr(md5(i::text), 1, 20))::uuid,
            'c-' || i, jsonb_build_object('region', 'us-east-' || i % 3, 'version', '4.15', 'nodes', i % 7),
            jsonb_build_object('env', (ARRAY['prod', 'dev', 'staging', 'qa'])[1 + i % 4] || (i % 50),
                               'team', 't' || (i % 200)),
            1 + i % 3, (ARRAY['Ready', 'NotReady', 'Failed'])[1 + i % 3], i % 3, ts, ts,
            (SELECT jsonb_agg(jsonb_build_object('adapter', 'adapter-' || a, 'type', 'Available',
                      'status', 'True', 'reason', 'AdapterReady', 'message', 'the adapter reconciled the resource',
                      'observed_generation', 1, 'created_at', ts, 'updated_at', ts))
               FROM generate_series(1, 5) AS a),
            ts, ts, 'system', 'system',
            CASE WHEN i % 10 = 0 THEN ts END, CASE WHEN i % 10 = 0 THEN 'system' END
     FROM generate_series(1, 20000) AS i,
          LATERAL (SELECT timestamptz '2025-01-01' + i * interval '1 minute' AS ts) AS t",
    "INSERT INTO node_pools (id, cluster_id, name, spec, labels, generation, status_phase,
       status_observed_generation, status_last_transition_time, status_updated_at, status_adapters, created_at,
       updated_at, created_by, updated_by, deleted_at, deleted_by)
     SELECT (lpad(to_hex((extract(epoch FROM c.created_at) * 1000)::bigint + j), 12, '0')
               || substr(md5(c.id::text || j), 1, 20))::uuid,
            c.id, 'np-' || j, jsonb_build_object('instance_type', 'm5.2xlarge', 'replicas', j, 'disk_size', 200),
            jsonb_build_object('pool_type', 'worker' || j), 1, c.status_phase, 0, c.created_at, c.created_at,
            c.status_adapters, c.created_at + j * interval '1 second', c.created_at, 'system', 'system',
            c.deleted_at, c.deleted_by
     FROM clusters AS c, generate_series(1, 3) AS j",
];

/// Loads the rows, then makes the statistics and the visibility map what a table that autovacuum
/// has visited would have (index-only scans depend on the latter).
async fn load(pool: &PgPool) {
    for table in ["clusters", "node_pools"] {
        // Our own VACUUM below must not race an autovacuum ANALYZE holding back the horizon.
        sqlx::query(&format!("ALTER TABLE {table} SET (autovacuum_enabled = false)")).execute(pool).await.unwrap();
    }
    for statement in SEED {
        sqlx::query(statement).execute(pool).await.expect("the rows are inserted");
    }
    for table in ["clusters", "node_pools"] {
        let mut attempts = 0;
        loop {
            sqlx::query(&format!("VACUUM (ANALYZE) {table}")).execute(pool).await.expect("VACUUM runs");
            let (pages, visible): (i32, i32) =
                sqlx::query_as("SELECT relpages, relallvisible FROM pg_class WHERE relname = $1")
                    .bind(table)
                    .fetch_one(pool)
                    .await
                    .unwrap();
            attempts += 1;
            if visible == pages || attempts == 5 {
                assert_eq!(visible, pages, "every page of {table} is all-visible");
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

/// One scan node, e.g. `Index Only Scan using clusters_live_phase_idx`.
fn describe(node: &Value) -> Option<String> {
    let node_type = node["Node Type"].as_str()?;
    if !node_type.contains("Scan") {
        return None;
    }
    let backward = if node["Scan Direction"] == "Backward" { " Backward" } else { "" };
    Some(match (node["Index Name"].as_str(), node["Relation Name"].as_str()) {
        (Some(index), _) => format!("{node_type}{backward} using {index}"),
        (None, Some(table)) => format!("{node_type} on {table}"),
        (None, None) => node_type.to_owned(),
    })
}

fn scans(node: &Value, out: &mut Vec<String>) {
    out.extend(describe(node));
    for child in node["Plans"].as_array().into_iter().flatten() {
        scans(child, out);
    }
}

/// The first node of this type, searched depth-first.
fn find<'a>(node: &'a Value, node_type: &str) -> Option<&'a Value> {
    if node["Node Type"] == node_type {
        return Some(node);
    }
    node["Plans"].as_array().into_iter().flatten().find_map(|child| find(child, node_type))
}

/// The plan (with `ANALYZE`: as executed) of the statement the service would run.
async fn plan(pool: &PgPool, query: &ResourceQuery<'_>, analyze: bool) -> Value {
    let mut statement = resources_statement(query);
    let options = if analyze { "ANALYZE, FORMAT JSON" } else { "FORMAT JSON" };
    let sql = format!("EXPLAIN ({options}) {}", statement.sql());
    let arguments = statement.build().take_arguments().expect("the values encode").unwrap_or_default();
    let plan: Value = sqlx::query_scalar_with(&sql, arguments).fetch_one(pool).await.expect("EXPLAIN runs");
    plan[0]["Plan"].clone()
}

/// The scans of the count (under the `Aggregate`), of the page (under the `Limit`), and all.
fn sides(root: &Value) -> (Vec<String>, Vec<String>, Vec<String>) {
    let side = |node_type| {
        let mut out = Vec::new();
        scans(find(root, node_type).unwrap_or_else(|| panic!("a {node_type} node in {root}")), &mut out);
        out
    };
    let mut all = Vec::new();
    scans(root, &mut all);
    (side("Aggregate"), side("Limit"), all)
}

/// How often each scan node ran, in an analysed plan.
fn loops(node: &Value, out: &mut Vec<(String, i64)>) {
    if let Some(scan) = describe(node) {
        out.push((scan, node["Actual Loops"].as_i64().unwrap_or(-1)));
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        loops(child, out);
    }
}

struct Case {
    why: &'static str,
    kind: ResourceKind,
    per_cluster: bool,
    search: &'static str,
    order: Option<&'static str>,
    offset: i64,
    /// Every scan of the count must start with one of these.
    count: &'static [&'static str],
    /// Every scan of the page must start with one of these.
    page: &'static [&'static str],
}

/// The unfiltered lists of all clusters or all node pools read the maintained total: the 64
/// counter rows of one kind, through the key or by reading the two-page table whole.
const MAINTAINED_TOTAL: &[&str] = &[
    "Seq Scan on resource_counts",
    "Index Scan using resource_counts_pkey",
    "Bitmap Heap Scan on resource_counts",
    "Bitmap Index Scan using resource_counts_pkey",
];

/// Both indexes that start with `cluster_id` can count one cluster's node pools.
const ONE_CLUSTERS_NODE_POOLS: &[&str] = &[
    "Index Only Scan using node_pools_live_cluster_created_idx",
    "Index Only Scan using node_pools_cluster_name_live_key",
];

#[sqlx::test(migrator = "MIGRATOR")]
async fn list_statements_are_served_by_indexes(pool: PgPool) {
    load(&pool).await;
    let cluster: Uuid = sqlx::query_scalar("SELECT id FROM clusters WHERE name = 'c-7777'")
        .fetch_one(&pool)
        .await
        .expect("a live cluster");
    use ResourceKind::{Cluster, NodePool};
    let cases = [
        Case {
            why: "default cluster list",
            kind: Cluster,
            per_cluster: false,
            search: "",
            order: None,
            offset: 0,
            count: MAINTAINED_TOTAL,
            page: &["Index Scan Backward using clusters_live_created_idx"],
        },
        Case {
            why: "oldest first",
            kind: Cluster,
            per_cluster: false,
            search: "",
            order: Some("asc"),
            offset: 0,
            count: MAINTAINED_TOTAL,
            page: &["Index Scan using clusters_live_created_idx"],
        },
        Case {
            why: "a deep page",
            kind: Cluster,
            per_cluster: false,
            search: "",
            order: None,
            offset: 15_000,
            count: MAINTAINED_TOTAL,
            page: &["Index Scan Backward using clusters_live_created_idx"],
        },
        Case {
            why: "name = 'x'",
            kind: Cluster,
            per_cluster: false,
            search: "name = 'c-77'",
            order: None,
            offset: 0,
            count: &["Index Only Scan using clusters_name_live_key"],
            page: &["Index Scan using clusters_name_live_key"],
        },
        Case {
            why: "id = '<uuid>'",
            kind: Cluster,
            per_cluster: false,
            search: "id = '01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a'",
            order: None,
            offset: 0,
            count: &["Index Scan using clusters_pkey"],
            page: &["Index Scan using clusters_pkey"],
        },
        Case {
            why: "labels.env = 'prod4'",
            kind: Cluster,
            per_cluster: false,
            search: "labels.env = 'prod4'",
            order: None,
            offset: 0,
            count: &["Bitmap Heap Scan on clusters", "Bitmap Index Scan using clusters_live_labels_idx"],
            page: &["Bitmap Heap Scan on clusters", "Bitmap Index Scan using clusters_live_labels_idx"],
        },
        Case {
            why: "labels.env in (…)",
            kind: Cluster,
            per_cluster: false,
            search: "labels.env in ('prod4', 'dev5')",
            order: None,
            offset: 0,
            count: &["Bitmap Heap Scan on clusters", "Bitmap Index Scan using clusters_live_labels_idx"],
            page: &["Bitmap Heap Scan on clusters", "Bitmap Index Scan using clusters_live_labels_idx"],
        },
        Case {
            why: "status.phase = 'Ready'",
            kind: Cluster,
            per_cluster: false,
            search: "status.phase = 'Ready'",
            order: None,
            offset: 0,
            count: &["Index Only Scan using clusters_live_phase_idx"],
            // A third of the rows match: walking the ordering index until the page is full wins.
            page: &["Index Scan Backward using clusters_live_created_idx", "Index Scan using clusters_live_phase_idx"],
        },
        Case {
            why: "global node-pool list",
            kind: NodePool,
            per_cluster: false,
            search: "",
            order: None,
            offset: 0,
            count: MAINTAINED_TOTAL,
            page: &["Index Scan Backward using node_pools_live_created_idx"],
        },
        Case {
            why: "global node-pool list, a deep page",
            kind: NodePool,
            per_cluster: false,
            search: "",
            order: None,
            offset: 45_000,
            count: MAINTAINED_TOTAL,
            page: &["Index Scan Backward using node_pools_live_created_idx"],
        },
        Case {
            why: "per-cluster node-pool list",
            kind: NodePool,
            per_cluster: true,
            search: "",
            order: None,
            offset: 0,
            count: ONE_CLUSTERS_NODE_POOLS,
            page: &["Index Scan Backward using node_pools_live_cluster_created_idx"],
        },
        Case {
            why: "per-cluster node-pool list with a top-level or",
            kind: NodePool,
            per_cluster: true,
            search: "name = 'np-1' or name = 'np-2'",
            order: None,
            offset: 0,
            count: &[
                "Index Scan using node_pools_live_cluster_created_idx",
                "Index Only Scan using node_pools_cluster_name_live_key",
                "Bitmap",
            ],
            page: &[
                "Index Scan Backward using node_pools_live_cluster_created_idx",
                "Index Scan using node_pools_cluster_name_live_key",
                "Bitmap",
            ],
        },
        Case {
            why: "node pools by owner_id on the global list",
            kind: NodePool,
            per_cluster: false,
            search: "owner_id = '<cluster>'",
            order: None,
            offset: 0,
            count: ONE_CLUSTERS_NODE_POOLS,
            page: &["Index Scan Backward using node_pools_live_cluster_created_idx"],
        },
    ];

    let mut failures = Vec::new();
    let mut summary = Vec::new();
    for case in &cases {
        let search = case.search.replace("<cluster>", &cluster.to_string());
        let filter = Filter::parse(&search, case.kind).expect("a valid search");
        let ordering = Ordering::parse(None, case.order, case.kind).expect("a valid ordering");
        let query = ResourceQuery {
            kind: case.kind,
            cluster: case.per_cluster.then_some(cluster),
            filter: filter.as_ref(),
            ordering: &ordering,
            limit: 100,
            offset: case.offset,
        };
        let (count, page, all) = sides(&plan(&pool, &query, false).await);
        summary.push(format!("{}:\n  count {count:?}\n  page  {page:?}", case.why));
        let fits = |scans: &[String], allowed: &[&str]| {
            !scans.is_empty() && scans.iter().all(|scan| allowed.iter().any(|prefix| scan.starts_with(prefix)))
        };
        if all.iter().any(|scan| scan.starts_with("Seq Scan") && scan != "Seq Scan on resource_counts") {
            failures.push(format!("{}: a sequential scan in {all:?}", case.why));
        }
        if !fits(&count, case.count) {
            failures.push(format!("{}: count by {count:?}, want one of {:?}", case.why, case.count));
        }
        if !fits(&page, case.page) {
            failures.push(format!("{}: page by {page:?}, want one of {:?}", case.why, case.page));
        }
        if case.per_cluster && !all.iter().any(|scan| scan == "Index Scan using clusters_pkey") {
            failures.push(format!("{}: the parent check is not a primary-key lookup: {all:?}", case.why));
        }
    }

    // A keyset walk (`after_id`) reads its page through the primary key at any depth: it starts
    // at the cursor and stops after one page.
    let deep: Uuid = sqlx::query_scalar("SELECT id FROM clusters WHERE deleted_at IS NULL ORDER BY id DESC OFFSET 150")
        .fetch_one(&pool)
        .await
        .unwrap();
    for (why, kind, descending, scan) in [
        ("keyset walk up, deepest page", Cluster, false, "Index Scan using clusters_pkey"),
        ("keyset walk down", Cluster, true, "Index Scan Backward using clusters_pkey"),
        ("keyset walk over node pools", NodePool, false, "Index Scan using node_pools_pkey"),
    ] {
        let ordering = Ordering::after_id(deep, descending);
        let query = ResourceQuery { kind, cluster: None, filter: None, ordering: &ordering, limit: 100, offset: 0 };
        let root = plan(&pool, &query, true).await;
        let mut page = Vec::new();
        loops(find(&root, "Limit").expect("a Limit node"), &mut page);
        summary.push(format!("{why} (analysed):\n  page  {page:?}"));
        if page.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>() != [scan] {
            failures.push(format!("{why}: page by {page:?}, want {scan}"));
        }
    }

    // A page past the end (or any page of an empty result) costs the count and nothing more.
    let ordering = Ordering::parse(None, None, Cluster).unwrap();
    let nothing = Filter::parse("labels.env = 'nowhere'", Cluster).unwrap();
    for (why, filter, offset) in [("page 2147483647", None, 2_147_483_646_000), ("no match", nothing.as_ref(), 0)] {
        let query = ResourceQuery { kind: Cluster, cluster: None, filter, ordering: &ordering, limit: 1000, offset };
        let root = plan(&pool, &query, true).await;
        let mut page = Vec::new();
        loops(find(&root, "Limit").expect("a Limit node"), &mut page);
        summary.push(format!("{why} (analysed):\n  page  {page:?}"));
        if page.is_empty() || page.iter().any(|(_, loops)| *loops != 0) {
            failures.push(format!("{why}: the page was read: {page:?}"));
        }
    }
    println!("{}", summary.join("\n"));
    assert!(failures.is_empty(), "{}\n\nall plans:\n{}", failures.join("\n"), summary.join("\n"));
}
