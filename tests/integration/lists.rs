//! Pagination and ordering of the cluster and node-pool lists (§6.1, §6.2), hostile list
//! parameters, `HEAD`, and soft-deleted rows. Rows that the API cannot shape (equal
//! `created_at`, chosen ids, over a thousand clusters) are written with SQL.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::factories::{ClusterFactory, NodePoolFactory};
use crate::helpers::{assert_error, Answer, TestApp};
use crate::search::{names, CLUSTERS, NODE_POOLS};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;

/// Inserts one live cluster with the given id, name, phase, labels and creation time.
async fn insert_cluster(pool: &PgPool, id: &str, name: &str, phase: &str, labels: Value, created_at: &str) {
    sqlx::query(
        "INSERT INTO clusters (id, name, spec, labels, status_phase, status_last_transition_time, \
         status_updated_at, created_at, updated_at, created_by, updated_by) \
         VALUES ($1::uuid, $2, '{}', $3, $4, $5::timestamptz, $5::timestamptz, $5::timestamptz, \
         $5::timestamptz, 'system', 'system')",
    )
    .bind(id)
    .bind(name)
    .bind(labels)
    .bind(phase)
    .bind(created_at)
    .execute(pool)
    .await
    .expect("the cluster is inserted");
}

/// Inserts `live` live clusters `bulk-<n>`, one second apart, and `deleted` soft-deleted ones.
async fn insert_many(pool: &PgPool, live: i32, deleted: i32) {
    sqlx::query(
        "INSERT INTO clusters (id, name, spec, labels, status_last_transition_time, status_updated_at, \
         created_at, updated_at, created_by, updated_by, deleted_at, deleted_by) \
         SELECT gen_random_uuid(), 'bulk-' || i, '{}', '{}', t, t, t, t, 'system', 'system', \
                CASE WHEN i > $1 THEN t END, CASE WHEN i > $1 THEN 'system' END \
         FROM generate_series(1, $1 + $2) AS i, \
              LATERAL (SELECT timestamptz '2025-01-01' + i * interval '1 second' AS t) AS times",
    )
    .bind(live)
    .bind(deleted)
    .execute(pool)
    .await
    .expect("the clusters are inserted");
}

fn ids(answer: &Answer) -> Vec<String> {
    answer.body["items"]
        .as_array()
        .map(|items| items.iter().map(|item| item["id"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

async fn list(app: &TestApp, path: &str) -> Answer {
    let answer = Answer::of(app.get(path).await).await;
    assert_eq!(answer.status, 200, "GET {path}: {}", answer.text);
    answer
}

/// Five clusters whose id order differs from their name order, with two `created_at` ties:
///
/// | name | id ends | phase    | labels             | created_at |
/// |------|---------|----------|--------------------|------------|
/// | c-a  | 01      | Ready    | env=prod tier=gold | 2025-01-01 |
/// | c-b  | 03      | NotReady | —                  | 2025-01-02 |
/// | c-c  | 02      | Failed   | env=dev            | 2025-01-02 |
/// | c-d  | 05      | Ready    | env=Prod           | 2025-01-03 |
/// | c-e  | 04      | NotReady | env=prod           | 2025-01-03 |
async fn seed_five(pool: &PgPool) {
    let id = |n: u8| format!("01940000-0000-7000-8000-0000000000{n:02}");
    insert_cluster(pool, &id(1), "c-a", "Ready", json!({"env": "prod", "tier": "gold"}), "2025-01-01").await;
    insert_cluster(pool, &id(3), "c-b", "NotReady", json!({}), "2025-01-02").await;
    insert_cluster(pool, &id(2), "c-c", "Failed", json!({"env": "dev"}), "2025-01-02").await;
    insert_cluster(pool, &id(5), "c-d", "Ready", json!({"env": "Prod"}), "2025-01-03").await;
    insert_cluster(pool, &id(4), "c-e", "NotReady", json!({"env": "prod"}), "2025-01-03").await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn orderings_give_the_exact_sequence(pool: PgPool) {
    seed_five(&pool).await;
    let app = TestApp::spawn(pool).await;
    let cases: &[(&str, &[&str], &str)] = &[
        ("", &["c-d", "c-e", "c-b", "c-c", "c-a"], "default: created_at desc, ties by id desc"),
        ("order=asc", &["c-a", "c-c", "c-b", "c-e", "c-d"], "order=asc: oldest first, ties by id asc"),
        ("order=DESC", &["c-d", "c-e", "c-b", "c-c", "c-a"], "order is case-insensitive"),
        ("orderBy=name", &["c-a", "c-b", "c-c", "c-d", "c-e"], "name A→Z"),
        ("orderBy=name%20desc", &["c-e", "c-d", "c-c", "c-b", "c-a"], "name desc"),
        ("orderBy=name&order=desc", &["c-e", "c-d", "c-c", "c-b", "c-a"], "order applies without a direction"),
        ("orderBy=name+ASC&order=desc", &["c-a", "c-b", "c-c", "c-d", "c-e"], "an explicit direction wins"),
        ("orderBy=+name+desc+", &["c-e", "c-d", "c-c", "c-b", "c-a"], "elements are trimmed"),
        ("orderBy=created_at", &["c-a", "c-c", "c-b", "c-e", "c-d"], "created_at asc, then id asc"),
        ("orderBy=created_at%20desc", &["c-d", "c-e", "c-b", "c-c", "c-a"], "the id follows the last direction"),
        ("orderBy=created_at,name", &["c-a", "c-b", "c-c", "c-d", "c-e"], "a second key breaks ties first"),
        ("orderBy=created_at,name&order=desc", &["c-e", "c-d", "c-c", "c-b", "c-a"], "order for both elements"),
        (
            "orderBy=status.phase%20asc,%20created_at%20desc",
            &["c-c", "c-e", "c-b", "c-d", "c-a"],
            "phase in byte order, then newest first",
        ),
        ("orderBy=status_phase+desc,name", &["c-a", "c-d", "c-b", "c-e", "c-c"], "the raw alias"),
        ("orderBy=labels.env", &["c-d", "c-c", "c-a", "c-e", "c-b"], "byte order, a missing label last in asc"),
        ("orderBy=labels.env%20desc", &["c-b", "c-e", "c-a", "c-c", "c-d"], "a missing label first in desc"),
        ("orderBy=labels.env&order=desc", &["c-b", "c-e", "c-a", "c-c", "c-d"], "order=desc on a label"),
        ("orderBy=labels.tier", &["c-a", "c-c", "c-b", "c-e", "c-d"], "NULLs tie and fall back to id asc"),
        ("orderBy=labels.tier+desc", &["c-d", "c-e", "c-b", "c-c", "c-a"], "NULLs first, by id desc"),
        ("orderBy=id%20desc", &["c-d", "c-e", "c-b", "c-c", "c-a"], "id itself"),
        ("orderBy=id,name", &["c-a", "c-c", "c-b", "c-e", "c-d"], "id listed: not appended"),
        ("orderBy=generation,updated_at%20desc", &["c-d", "c-e", "c-b", "c-c", "c-a"], "ties all the way to id"),
        ("orderBy=&order=asc", &["c-a", "c-c", "c-b", "c-e", "c-d"], "a blank orderBy is absent"),
        ("orderBy=name&orderBy=spec", &["c-a", "c-b", "c-c", "c-d", "c-e"], "the first occurrence wins"),
    ];
    let mut failures = Vec::new();
    for (query, want, why) in cases {
        let answer = list(&app, &format!("{CLUSTERS}?{query}")).await;
        if names(&answer) != *want {
            failures.push(format!("{why} — ?{query}: want {want:?}, got {:?}", names(&answer)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn bad_list_parameters_get_400_with_their_reason(pool: PgPool) {
    seed_five(&pool).await;
    let app = TestApp::spawn(pool).await;
    let seventeen = vec!["name"; 17].join(",");
    let page = "page must be an integer between 1 and 2147483647";
    let page_size = "pageSize must be a positive integer";
    let size = "size must be a positive integer";
    let order = "order must be 'asc' or 'desc'";
    let cases: Vec<(String, String, &str)> = vec![
        ("page=0".into(), page.into(), "zero"),
        ("page=-1".into(), page.into(), "negative"),
        ("page=1.5".into(), page.into(), "a fraction"),
        ("page=abc".into(), page.into(), "not a number"),
        ("page=2147483648".into(), page.into(), "above int4"),
        ("page=99999999999999999999999".into(), page.into(), "above int8"),
        ("page=%2B1".into(), page.into(), "a plus sign"),
        ("page=1%202".into(), page.into(), "two numbers"),
        ("page=%EF%BC%91".into(), page.into(), "a full-width digit"),
        ("page=abc&page=2".into(), page.into(), "the first occurrence is used"),
        ("pageSize=0".into(), page_size.into(), "zero"),
        ("pageSize=-3".into(), page_size.into(), "negative"),
        ("pageSize=1e3".into(), page_size.into(), "an exponent"),
        ("pageSize=ten&size=5".into(), page_size.into(), "pageSize is read when present"),
        ("size=0".into(), size.into(), "size zero"),
        ("size=x".into(), size.into(), "size not a number"),
        ("pageSize=%20&size=-1".into(), size.into(), "a blank pageSize falls back to size"),
        ("order=up".into(), order.into(), "bad order"),
        ("order=ascending&orderBy=name".into(), order.into(), "order is checked with orderBy"),
        ("order=asc%3B".into(), order.into(), "order with a semicolon"),
        ("orderBy=".to_owned() + &seventeen, "orderBy accepts at most 16 fields".into(), "17 fields"),
        ("orderBy=spec".into(), "bad order value 'spec'".into(), "spec is not sortable"),
        ("orderBy=kind".into(), "bad order value 'kind'".into(), "kind is not sortable"),
        ("orderBy=name%20sideways".into(), "bad order value 'name sideways'".into(), "a bad direction"),
        ("orderBy=name;drop".into(), "bad order value 'name;drop'".into(), "a semicolon"),
        ("orderBy=name,,id".into(), "bad order value ''".into(), "an empty element"),
        ("orderBy=name,".into(), "bad order value ''".into(), "a trailing comma"),
        ("orderBy=name+asc+desc".into(), "bad order value 'name asc desc'".into(), "three words"),
        ("orderBy=NAME".into(), "bad order value 'NAME'".into(), "field names are case-sensitive"),
        ("orderBy=labels".into(), "bad order value 'labels'".into(), "labels without a key"),
        ("orderBy=labels.".into(), "bad order value 'labels.'".into(), "an empty label key"),
        ("orderBy=labels.-x".into(), "bad order value 'labels.-x'".into(), "an invalid label key"),
        ("orderBy=owner_id".into(), "bad order value 'owner_id'".into(), "a node-pool field"),
        ("orderBy=name%00".into(), "bad order value 'name\0'".into(), "a NUL"),
        ("page=0&order=up".into(), page.into(), "paging is checked first"),
        ("search=name%3D&orderBy=spec".into(), "bad order value 'spec'".into(), "ordering before search"),
    ];
    let mut failures = Vec::new();
    for (query, reason, why) in &cases {
        let answer = Answer::of(app.get(&format!("{CLUSTERS}?{query}")).await).await;
        let ok = answer.status == 400
            && answer.body["code"] == "hyperfleet-21"
            && answer.body["reason"].as_str() == Some(reason.as_str());
        if !ok {
            failures.push(format!("{why} — ?{query}: want {reason:?}, got {} {}", answer.status, answer.text));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The whole error body once, on each of the three lists.
    let cluster = "01940000-0000-7000-8000-000000000001";
    for path in [CLUSTERS.to_owned(), NODE_POOLS.to_owned(), format!("{CLUSTERS}/{cluster}/nodepools")] {
        let answer = Answer::of(app.get(&format!("{path}?orderBy=name;drop")).await).await;
        assert_error(&answer, 400, 21, "bad order value 'name;drop'");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn accepted_paging_values_and_their_defaults(pool: PgPool) {
    seed_five(&pool).await;
    let app = TestApp::spawn(pool).await;
    let all = ["c-d", "c-e", "c-b", "c-c", "c-a"];
    let cases: &[(&str, i64, &[&str], &str)] = &[
        ("", 1, &all, "defaults: page 1, 100 per page"),
        ("page=&pageSize=&size=", 1, &all, "blank values are absent"),
        ("page=%20&pageSize=%09", 1, &all, "whitespace-only values are absent"),
        ("page=+2+&pageSize=+2+", 2, &["c-b", "c-c"], "values are trimmed"),
        ("page=0002&pageSize=002", 2, &["c-b", "c-c"], "leading zeros"),
        ("size=2", 1, &["c-d", "c-e"], "size is an alias"),
        ("size=2&page=3", 3, &["c-a"], "the last page"),
        ("pageSize=3&size=2", 1, &["c-d", "c-e", "c-b"], "pageSize wins over size"),
        ("size=2&pageSize=3", 1, &["c-d", "c-e", "c-b"], "whatever the order of the parameters"),
        ("pageSize=&size=2", 1, &["c-d", "c-e"], "a blank pageSize falls back to size"),
        ("page=2&page=abc&pageSize=4", 2, &["c-a"], "the first occurrence wins"),
        ("pageSize=2&pageSize=0", 1, &["c-d", "c-e"], "a later bad value is ignored"),
        ("page=&page=2&pageSize=2", 1, &["c-d", "c-e"], "a blank first occurrence is absent"),
        ("page=4&pageSize=2", 4, &[], "a page past the end"),
        ("page=2147483647&pageSize=1000", 2147483647, &[], "the last page number"),
        ("pageSize=99999999999999999999999999", 1, &all, "a huge page size is clamped"),
        ("unknown=1&search=", 1, &all, "unknown parameters are ignored"),
    ];
    let mut failures = Vec::new();
    for (query, page, want, why) in cases {
        let answer = list(&app, &format!("{CLUSTERS}?{query}")).await;
        let body = &answer.body;
        let expected = (json!(page), json!(want.len()), json!(5), *want);
        let got = (body["page"].clone(), body["size"].clone(), body["total"].clone(), names(&answer));
        if body["kind"] != "ClusterList" || got.0 != expected.0 || got.1 != expected.1 || got.2 != expected.2 {
            failures.push(format!("{why} — ?{query}: got {}", answer.text));
        } else if got.3 != expected.3 {
            failures.push(format!("{why} — ?{query}: want {want:?}, got {:?}", got.3));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn walking_pages_of_one_visits_every_row_once_in_order(pool: PgPool) {
    seed_five(&pool).await;
    insert_cluster(&pool, "01940000-0000-7000-8000-000000000007", "c-f", "Ready", json!({}), "2025-01-03").await;
    insert_cluster(&pool, "01940000-0000-7000-8000-000000000006", "c-g", "Ready", json!({}), "2025-01-02").await;
    let app = TestApp::spawn(pool).await;
    for ordering in ["", "&order=asc", "&orderBy=labels.env", "&orderBy=status.phase+desc", "&orderBy=created_at"] {
        let everything = list(&app, &format!("{CLUSTERS}?pageSize=1000{ordering}")).await;
        let all = ids(&everything);
        assert_eq!(all.len(), 7);
        for page_size in [1, 2, 3] {
            let mut walked = Vec::new();
            let pages = all.len().div_ceil(page_size);
            for page in 1..=pages + 1 {
                let answer = list(&app, &format!("{CLUSTERS}?pageSize={page_size}&page={page}{ordering}")).await;
                assert_eq!(answer.body["total"], 7, "{ordering}: total on every page");
                assert_eq!(answer.body["page"], page, "{ordering}");
                let expected_size = all.len().saturating_sub((page - 1) * page_size).min(page_size);
                assert_eq!(answer.body["size"], expected_size, "{ordering} page {page} of {page_size}");
                walked.extend(ids(&answer));
            }
            assert_eq!(walked, all, "{ordering}, pages of {page_size}: no duplicates, no gaps, same order");
        }
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn page_sizes_above_1000_are_clamped(pool: PgPool) {
    insert_many(&pool, 1203, 4).await;
    let app = TestApp::spawn(pool.clone()).await;
    let first = list(&app, &format!("{CLUSTERS}?pageSize=5000")).await;
    assert_eq!(
        (&first.body["size"], &first.body["total"], &first.body["page"]),
        (&json!(1000), &json!(1203), &json!(1))
    );
    let second = list(&app, &format!("{CLUSTERS}?pageSize=5000&page=2")).await;
    assert_eq!((&second.body["size"], &second.body["total"]), (&json!(203), &json!(1203)));
    let third = list(&app, &format!("{CLUSTERS}?size=1001&page=3")).await;
    assert_eq!(third.body, json!({"kind": "ClusterList", "page": 3, "size": 0, "total": 1203, "items": []}));
    assert_eq!(list(&app, &format!("{CLUSTERS}?size=5000")).await.body["size"], 1000, "size is clamped too");
    assert_eq!(list(&app, CLUSTERS).await.body["size"], 100, "100 by default");

    let mut seen: Vec<String> = ids(&first);
    seen.extend(ids(&second));
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 1203, "two pages hold every live cluster once");
    let live: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM clusters WHERE deleted_at IS NULL ORDER BY created_at DESC, id DESC")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(seen, live, "newest first, and no soft-deleted row");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn soft_deleted_rows_are_neither_listed_nor_counted(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let kept = ClusterFactory::new().name("kept").labels(json!({"env": "prod"})).create(&app).await;
    let gone = ClusterFactory::new().name("gone").labels(json!({"env": "prod"})).create(&app).await;
    let kept_id = kept["id"].as_str().unwrap();
    let gone_id = gone["id"].as_str().unwrap();
    let np_kept = NodePoolFactory::new(kept_id).name("np-kept").create(&app).await;
    let np_gone = NodePoolFactory::new(kept_id).name("np-gone").create(&app).await;
    NodePoolFactory::new(gone_id).name("np-orphan").create(&app).await;
    for href in [np_gone["href"].as_str().unwrap(), gone["href"].as_str().unwrap()] {
        assert_eq!(Answer::of(app.delete(href).await).await.status, 204, "DELETE {href}");
    }

    let clusters = list(&app, CLUSTERS).await;
    assert_eq!((names(&clusters), &clusters.body["total"]), (vec!["kept".to_owned()], &json!(1)));
    let searched = list(&app, &format!("{CLUSTERS}?search=labels.env%3D'prod'&orderBy=name")).await;
    assert_eq!((names(&searched), &searched.body["total"]), (vec!["kept".to_owned()], &json!(1)));
    let pools = list(&app, NODE_POOLS).await;
    assert_eq!(pools.body["items"], json!([np_kept]), "the orphan went with its cluster");
    assert_eq!(pools.body["total"], 1);
    let own = list(&app, &format!("{CLUSTERS}/{kept_id}/nodepools?pageSize=1&page=2")).await;
    assert_eq!(own.body, json!({"kind": "NodePoolList", "page": 2, "size": 0, "total": 1, "items": []}));

    // A name freed by the delete can be taken again, and both lists count the new one only.
    ClusterFactory::new().name("gone").create(&app).await;
    let again = list(&app, &format!("{CLUSTERS}?search=name%3D'gone'")).await;
    assert_eq!(again.body["total"], 1);
    assert_ne!(again.body["items"][0]["id"], gone_id);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn node_pool_lists_page_and_order_like_clusters(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let a = ClusterFactory::new().create(&app).await;
    let b = ClusterFactory::new().create(&app).await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    for name in ["p3", "p1", "p2"] {
        NodePoolFactory::new(a_id).name(name).create(&app).await;
    }
    NodePoolFactory::new(b_id).name("p0").create(&app).await;

    let own = list(&app, &format!("{CLUSTERS}/{a_id}/nodepools?orderBy=name&pageSize=2")).await;
    assert_eq!(
        (names(&own), &own.body["total"], &own.body["size"]),
        (vec!["p1".into(), "p2".into()], &json!(3), &json!(2))
    );
    let rest = list(&app, &format!("{CLUSTERS}/{a_id}/nodepools?orderBy=name&pageSize=2&page=2")).await;
    assert_eq!(names(&rest), vec!["p3"]);
    let all = list(&app, &format!("{NODE_POOLS}?orderBy=owner_id,name+desc")).await;
    let mut want = vec![(a_id, "p3"), (a_id, "p2"), (a_id, "p1"), (b_id, "p0")];
    want.sort_by(|x, y| x.0.cmp(y.0));
    let got: Vec<(&str, &str)> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|np| (np["owner_references"]["id"].as_str().unwrap(), np["name"].as_str().unwrap()))
        .collect();
    assert_eq!(got, want, "by owner, then name desc");
    let newest = list(&app, &format!("{NODE_POOLS}?size=1")).await;
    assert_eq!((names(&newest), &newest.body["total"]), (vec!["p0".to_owned()], &json!(4)), "newest first");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn hostile_list_parameters_are_rejected_and_change_nothing(pool: PgPool) {
    seed_five(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let cluster = "01940000-0000-7000-8000-000000000001";
    NodePoolFactory::new(cluster).name("np").create(&app).await;
    let hostile = [
        "orderBy=name;drop%20table%20clusters",
        "orderBy=name%20desc,%20(select%201)",
        "orderBy=labels.env')%20desc%20--",
        "orderBy=name%20desc%20--",
        "orderBy=pg_sleep(10)",
        "orderBy=1",
        "orderBy=name%20nulls%20first",
        "order=asc;drop%20table%20clusters",
        "order=asc%20--",
        "page=1;drop%20table%20clusters",
        "page=1%20or%201=1",
        "page=(select%201)",
        "pageSize=1)--",
        "size=1%27",
        "search=name%3D'x'%3Bdrop%20table%20clusters",
        "search=1%3D1",
        "search=name%3D'x'%20or%20pg_sleep(10)%20is%20null",
        "search=%22name%22%3D'c-a'",
    ];
    for path in [CLUSTERS.to_owned(), NODE_POOLS.to_owned(), format!("{CLUSTERS}/{cluster}/nodepools")] {
        for query in hostile {
            let answer = Answer::of(app.get(&format!("{path}?{query}")).await).await;
            assert_eq!(answer.status, 400, "{path}?{query}: {}", answer.text);
            assert_eq!(answer.body["code"], "hyperfleet-21", "{path}?{query}");
        }
    }
    // A quote inside a value matches literally.
    for search in ["name%3D'c-a''%20or%20''x''%3D''x'", "name%3D'''%20or%20''%3D'"] {
        let literal = list(&app, &format!("{CLUSTERS}?search={search}")).await;
        assert_eq!(literal.body["total"], 0, "{search}");
    }

    let tables: i64 =
        sqlx::query_scalar("SELECT (SELECT count(*) FROM clusters) * 100 + (SELECT count(*) FROM node_pools)")
            .fetch_one(&pool)
            .await
            .expect("both tables are still there");
    assert_eq!(tables, 501, "five clusters and one node pool");
    assert_eq!(list(&app, CLUSTERS).await.body["total"], 5);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn head_on_lists_answers_like_get_without_a_body(pool: PgPool) {
    seed_five(&pool).await;
    let app = TestApp::spawn(pool).await;
    let cluster = "01940000-0000-7000-8000-000000000001";
    let unknown = "01940000-0000-7000-8000-0000000000ff";
    let cases = [
        (CLUSTERS.to_owned(), 200),
        (format!("{CLUSTERS}?pageSize=2&orderBy=name"), 200),
        (NODE_POOLS.to_owned(), 200),
        (format!("{CLUSTERS}/{cluster}/nodepools"), 200),
        (format!("{CLUSTERS}?page=0"), 400),
        (format!("{NODE_POOLS}?search=NAME%3D'x'"), 400),
        (format!("{CLUSTERS}/{unknown}/nodepools"), 404),
    ];
    for (path, status) in cases {
        let get = Answer::of(app.get(&path).await).await;
        let head = Answer::of(app.request(Method::HEAD, &path, None).await).await;
        assert_eq!((get.status, head.status), (status, status), "GET and HEAD {path}");
        assert_eq!(head.text, "", "HEAD {path} has no body");
        assert_eq!(head.header("content-type"), Some("application/json"), "HEAD {path}");
        assert!(head.header("x-operation-id").is_some(), "HEAD {path}");
    }
}
