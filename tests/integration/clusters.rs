//! Clusters and node pools: shapes, validation, conflicts, PATCH, DELETE and their concurrency.

use std::collections::HashSet;

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::factories::{ClusterFactory, NodePoolFactory};
use crate::helpers::{assert_error, Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;
const CLUSTERS: &str = "/api/hyperfleet/v1/clusters";

fn href(body: &Value) -> String {
    body["href"].as_str().unwrap().to_owned()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn creating_a_cluster_returns_the_full_resource(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let body = r#"{"kind":"Cluster","name":"prod-cluster-1","spec":{"region":"us-west-2","version":"4.15","nodes":3},"labels":{"env":"production"}}"#;
    let answer = Answer::of(app.post(CLUSTERS, body).await).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let c = &answer.body;
    let id = c["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert_eq!(id, id.to_lowercase());
    assert_eq!(answer.header("location"), Some(format!("{CLUSTERS}/{id}").as_str()));
    assert_eq!(c["kind"], "Cluster");
    assert_eq!(c["href"], format!("{CLUSTERS}/{id}"));
    assert_eq!(c["name"], "prod-cluster-1");
    assert_eq!(c["generation"], 1);
    assert_eq!(c["spec"], json!({"region": "us-west-2", "version": "4.15", "nodes": 3}));
    assert_eq!(c["labels"], json!({"env": "production"}));
    assert_eq!(c["created_by"], "system");
    assert_eq!(c["updated_by"], "system");
    let created = c["created_at"].as_str().unwrap();
    assert_eq!(created.len(), "2025-11-13T10:00:00.123456Z".len(), "six fractional digits: {created}");
    assert!(created.ends_with('Z'));
    assert_eq!(c["updated_at"], created);
    assert_eq!(
        c["status"],
        json!({"phase": "NotReady", "observed_generation": 0, "last_transition_time": created, "updated_at": created, "adapters": []})
    );
    assert!(c.get("owner_references").is_none());
    let fetched = app.get_json(&format!("{CLUSTERS}/{id}"), 200).await;
    assert_eq!(&fetched, c, "GET returns what create returned");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn labels_are_always_present(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let without = ClusterFactory::new().create(&app).await;
    assert_eq!(without["labels"], json!({}));
    let answer = Answer::of(
        app.post(CLUSTERS, r#"{"name":"with-null-labels","spec":{},"labels":null,"id":"","href":"/x"}"#).await,
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.body["labels"], json!({}));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn reading_unknown_deleted_or_non_uuid_clusters_is_404(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cases = [
        ("01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a", "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a"),
        ("not-a-uuid", "not-a-uuid"),
        ("1%20or%201=1", "1 or 1=1"),
        ("%27%3B--", "';--"),
        ("a..b", "a..b"),
        ("01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a%2F..", "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a/.."),
    ];
    for (segment, text) in cases {
        let answer = Answer::of(app.get(&format!("{CLUSTERS}/{segment}")).await).await;
        assert_error(&answer, 404, 7, &format!("Cluster with id='{text}' not found"));
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_uppercase_uuid_finds_the_cluster(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let id = cluster["id"].as_str().unwrap();
    let fetched = app.get_json(&format!("{CLUSTERS}/{}", id.to_uppercase()), 200).await;
    assert_eq!(fetched["id"], id, "responses use the lowercase form");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_contract_examples_of_bad_create_bodies(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let answer =
        Answer::of(app.post(CLUSTERS, r#"{"kind":"cluster","name":"Prod_1","spec":"x","generation":3}"#).await).await;
    assert_error(&answer, 400, 17, "Invalid request format: unknown field \"generation\"");

    let answer = Answer::of(app.post(CLUSTERS, r#"{"kind":"cluster","name":"Prod_1","spec":"x"}"#).await).await;
    let name_rule = "name must start and end with lowercase letter or number, and contain only lowercase letters, numbers, and hyphens";
    assert_error(&answer, 400, 8, &format!("{name_rule}; kind must be 'Cluster'; spec must be a JSON object"));
    assert_eq!(
        answer.body["details"],
        json!([{"field": "name", "error": name_rule}, {"field": "kind", "error": "kind must be 'Cluster'"},
               {"field": "spec", "error": "spec must be a JSON object"}])
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn undecodable_create_bodies_are_malformed(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cases: &[(&str, Option<&str>)] = &[
        ("", Some("Invalid request format: request body is empty")),
        ("  \n", Some("Invalid request format: request body is empty")),
        ("[]", Some("Invalid request format: request body must be a JSON object")),
        ("null", Some("Invalid request format: request body must be a JSON object")),
        (r#"{"name":"a","name":"b","spec":{}}"#, Some("Invalid request format: duplicate field \"name\"")),
        (r#"{"status":{},"name":"abc","spec":{}}"#, Some("Invalid request format: unknown field \"status\"")),
        (r#"{"created_by":"me","name":"abc","spec":{}}"#, Some("Invalid request format: unknown field \"created_by\"")),
        (r#"{"name":"abc","spec":{}"#, None),
        (r#"{'name':'abc'}"#, None),
        (r#"{"name":"abc","spec":{}} {}"#, None),
        (r#"{"name":"abc","spec":{"n":1e400}}"#, None),
    ];
    for (body, reason) in cases {
        let answer = Answer::of(app.post(CLUSTERS, body).await).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        assert_eq!(answer.body["code"], "hyperfleet-17", "{body}");
        match reason {
            Some(reason) => assert_error(&answer, 400, 17, reason),
            None => assert!(answer.body["reason"].as_str().unwrap().starts_with("Invalid request format: "), "{body}"),
        }
    }
    let total = app.get_json(CLUSTERS, 200).await["total"].clone();
    assert_eq!(total, 0, "nothing was written for rejected requests");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn bodies_over_the_limit_get_413_without_writing(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let big = format!(r#"{{"name":"big-one","spec":{{"x":"{}"}}}}"#, "a".repeat(1_048_577));
    let answer = Answer::of(app.post(CLUSTERS, &big).await).await;
    assert_error(&answer, 413, 18, "Request body is larger than 1048576 bytes");
    // Exactly at the limit is decoded normally.
    let prefix = r#"{"name":"just-fits","spec":{"x":""#;
    let fill = 1_048_576 - prefix.len() - r#""}}"#.len();
    let exact = format!("{prefix}{}\"}}}}", "a".repeat(fill));
    assert_eq!(exact.len(), 1_048_576);
    let answer = Answer::of(app.post(CLUSTERS, &exact).await).await;
    assert_eq!(answer.status, 201, "{}", &answer.text[..200.min(answer.text.len())]);
    assert_eq!(app.get_json(CLUSTERS, 200).await["total"], 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_taken_name_conflicts_until_the_cluster_is_deleted(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let first = ClusterFactory::new().name("taken-name").create(&app).await;
    let answer =
        Answer::of(app.post(CLUSTERS, &ClusterFactory::new().name("taken-name").body().to_string()).await).await;
    assert_error(&answer, 409, 6, "Cluster with name='taken-name' already exists");
    assert_eq!(Answer::of(app.delete(&href(&first)).await).await.status, 204);
    let again = ClusterFactory::new().name("taken-name").create(&app).await;
    assert_ne!(again["id"], first["id"], "ids are never reused");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn concurrent_creates_of_one_name_yield_exactly_one_cluster(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let body = ClusterFactory::new().name("race").body().to_string();
    let answers =
        futures_util::future::join_all((0..20).map(|_| async { Answer::of(app.post(CLUSTERS, &body).await).await }))
            .await;
    let reasons: Vec<&Value> = answers.iter().filter(|a| a.status >= 500).map(|a| &a.body).collect();
    assert!(reasons.is_empty(), "{reasons:?}");
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
    assert_eq!(app.get_json(CLUSTERS, 200).await["total"], 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn concurrent_creates_of_distinct_names_all_land(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let bodies: Vec<String> =
        (0..50).map(|i| ClusterFactory::new().name(&format!("c-{i}")).body().to_string()).collect();
    let answers =
        futures_util::future::join_all(bodies.iter().map(|b| async { Answer::of(app.post(CLUSTERS, b).await).await }))
            .await;
    let failures: Vec<&str> = answers.iter().filter(|a| a.status != 201).map(|a| a.text.as_str()).collect();
    assert!(failures.is_empty(), "{failures:?}");
    let list = app.get_json(&format!("{CLUSTERS}?pageSize=1000"), 200).await;
    assert_eq!(list["total"], 50);
    let names: HashSet<&str> = list["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 50);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'Create'")
        .fetch_one(&app.state.context.db.pool().clone())
        .await
        .unwrap();
    assert_eq!(events, 50, "one Create event per cluster");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn patch_bumps_the_generation_only_when_something_changes(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new()
        .spec(json!({"nodes": 3, "tags": ["a", "b"]}))
        .labels(json!({"env": "dev"}))
        .create(&app)
        .await;
    let path = href(&cluster);

    let same =
        Answer::of(app.patch(&path, r#"{"spec":{"tags":["a","b"],"nodes":3.0},"labels":{"env":"dev"}}"#).await).await;
    assert_eq!(same.status, 200, "{}", same.text);
    assert_eq!(same.body, cluster, "a no-op PATCH changes nothing, not even timestamps");

    let changed = Answer::of(app.patch(&path, r#"{"spec":{"nodes":5}}"#).await).await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.body["generation"], 2);
    assert_eq!(changed.body["spec"], json!({"nodes": 5}), "the spec is replaced, never merged");
    assert_eq!(changed.body["labels"], json!({"env": "dev"}));
    assert_ne!(changed.body["updated_at"], cluster["updated_at"]);
    assert_eq!(changed.body["created_at"], cluster["created_at"]);
    assert_eq!(
        changed.body["status"]["updated_at"], changed.body["updated_at"],
        "re-aggregated in the same transaction"
    );

    let labels = Answer::of(app.patch(&path, r#"{"labels":{"env":"prod"}}"#).await).await;
    assert_eq!(labels.body["generation"], 3);
    assert_eq!(labels.body["labels"], json!({"env": "prod"}));
    let nothing_new = Answer::of(app.patch(&path, r#"{"labels":{"env":"prod"},"spec":null}"#).await).await;
    assert_error(&nothing_new, 400, 8, "spec must be a JSON object");
    let cleared = Answer::of(app.patch(&path, r#"{"labels":{}}"#).await).await;
    assert_eq!((cleared.body["generation"].clone(), cleared.body["labels"].clone()), (json!(4), json!({})));

    let events: Vec<String> = sqlx::query_scalar("SELECT event_type FROM events ORDER BY id")
        .fetch_all(app.state.context.db.pool())
        .await
        .unwrap();
    assert_eq!(events, vec!["Create", "Update", "Update", "Update"]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn patch_errors(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let path = href(&cluster);
    assert_error(
        &Answer::of(app.patch(&path, "{}").await).await,
        400,
        8,
        "request body must contain at least one of: spec, labels",
    );
    assert_error(
        &Answer::of(app.patch(&path, r#"{"name":"new-name"}"#).await).await,
        400,
        17,
        "Invalid request format: unknown field \"name\"",
    );
    assert_error(
        &Answer::of(app.patch(&format!("{CLUSTERS}/not-a-uuid"), r#"{"spec":{}}"#).await).await,
        404,
        7,
        "Cluster with id='not-a-uuid' not found",
    );
    // A bad body is reported before the unknown id.
    assert_eq!(Answer::of(app.patch(&format!("{CLUSTERS}/not-a-uuid"), "{}").await).await.status, 400);

    sqlx::query("UPDATE clusters SET generation = 2147483647").execute(&pool).await.unwrap();
    assert_error(
        &Answer::of(app.patch(&path, r#"{"spec":{"x":1}}"#).await).await,
        409,
        6,
        "Cluster generation cannot be incremented beyond 2147483647",
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn deleting_a_cluster_cascades_to_node_pools_and_statuses(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let other = ClusterFactory::new().create(&app).await;
    let np1 = NodePoolFactory::new(cluster["id"].as_str().unwrap()).create(&app).await;
    let np2 = NodePoolFactory::new(cluster["id"].as_str().unwrap()).create(&app).await;
    let kept = NodePoolFactory::new(other["id"].as_str().unwrap()).create(&app).await;
    let report = r#"{"adapter":"dns","observed_generation":1,"conditions":[]}"#;
    for target in [href(&cluster), href(&np1), href(&kept)] {
        assert_eq!(Answer::of(app.post(&format!("{target}/statuses"), report).await).await.status, 201);
    }

    let answer = Answer::of(app.delete(&href(&cluster)).await).await;
    assert_eq!(answer.status, 204);
    assert!(answer.text.is_empty());

    for gone in [href(&cluster), href(&np1), href(&np2)] {
        assert_eq!(Answer::of(app.get(&gone).await).await.status, 404, "{gone}");
        assert_eq!(Answer::of(app.get(&format!("{gone}/statuses")).await).await.status, 404);
    }
    assert_error(
        &Answer::of(app.delete(&href(&cluster)).await).await,
        404,
        7,
        &format!("Cluster with id='{}' not found", cluster["id"].as_str().unwrap()),
    );
    assert_eq!(app.get_json("/api/hyperfleet/v1/nodepools", 200).await["total"], 1);
    assert_eq!(app.get_json(&format!("{}/statuses", href(&kept)), 200).await["total"], 1);

    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM adapter_statuses WHERE deleted_at IS NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(live, 1, "only the other cluster's node-pool status stays live");
    let deleted_by: Vec<Option<String>> = sqlx::query_scalar("SELECT deleted_by FROM node_pools WHERE cluster_id = $1")
        .bind(uuid::Uuid::parse_str(cluster["id"].as_str().unwrap()).unwrap())
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(deleted_by, vec![Some("system".to_owned()); 2], "rows stay, soft-deleted");

    let mut pools = [np1["id"].as_str().unwrap().to_owned(), np2["id"].as_str().unwrap().to_owned()];
    pools.sort();
    let deletes: Vec<(String, String)> =
        sqlx::query_as("SELECT source, source_id::text FROM events WHERE event_type = 'Delete' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        deletes,
        vec![
            ("NodePools".to_owned(), pools[0].clone()),
            ("NodePools".to_owned(), pools[1].clone()),
            ("Clusters".to_owned(), cluster["id"].as_str().unwrap().to_owned()),
        ],
        "node pools first, in ascending id order, then the cluster"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn node_pools_belong_to_one_cluster(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let a = ClusterFactory::new().create(&app).await;
    let b = ClusterFactory::new().create(&app).await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let np = NodePoolFactory::new(a_id).name("workers").labels(json!({"pool_type": "worker"})).create(&app).await;
    let np_id = np["id"].as_str().unwrap();
    assert_eq!(np["kind"], "NodePool");
    assert_eq!(np["href"], format!("{CLUSTERS}/{a_id}/nodepools/{np_id}"));
    assert_eq!(np["owner_references"], json!({"id": a_id, "kind": "Cluster", "href": format!("{CLUSTERS}/{a_id}")}));
    assert_eq!(np["status"]["phase"], "NotReady");

    NodePoolFactory::new(b_id).name("workers").create(&app).await;
    let dup =
        Answer::of(app.post(&format!("{CLUSTERS}/{a_id}/nodepools"), r#"{"name":"workers","spec":{}}"#).await).await;
    assert_error(&dup, 409, 6, &format!("NodePool with name='workers' already exists in Cluster with id='{a_id}'"));

    let elsewhere = Answer::of(app.get(&format!("{CLUSTERS}/{b_id}/nodepools/{np_id}")).await).await;
    assert_error(&elsewhere, 404, 7, &format!("NodePool with id='{np_id}' not found in Cluster with id='{b_id}'"));
    let junk = Answer::of(app.get(&format!("{CLUSTERS}/{a_id}/nodepools/junk")).await).await;
    assert_error(&junk, 404, 7, &format!("NodePool with id='junk' not found in Cluster with id='{a_id}'"));
    let no_cluster = Answer::of(app.get(&format!("{CLUSTERS}/junk/nodepools/{np_id}")).await).await;
    assert_error(&no_cluster, 404, 7, "Cluster with id='junk' not found");

    let listed = app.get_json(&format!("{CLUSTERS}/{a_id}/nodepools"), 200).await;
    assert_eq!(listed["kind"], "NodePoolList");
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0], np);
    assert_eq!(app.get_json("/api/hyperfleet/v1/nodepools", 200).await["total"], 2);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn node_pool_create_checks_the_body_before_the_cluster(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let unknown = format!("{CLUSTERS}/01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a/nodepools");
    assert_eq!(Answer::of(app.post(&unknown, r#"{"name":"","spec":{}}"#).await).await.status, 400);
    assert_error(
        &Answer::of(app.post(&unknown, r#"{"name":"x","spec":{}}"#).await).await,
        404,
        7,
        "Cluster with id='01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a' not found",
    );
    let cluster = ClusterFactory::new().create(&app).await;
    let path = format!("{}/nodepools", href(&cluster));
    let answer = Answer::of(app.post(&path, r#"{"kind":"Cluster","name":"","spec":{}}"#).await).await;
    assert_error(&answer, 400, 8, "name is required; kind must be 'NodePool'");
    let answer = Answer::of(app.post(&path, r#"{"name":"a","spec":{}}"#).await).await;
    assert_eq!(answer.status, 201, "one character is a valid node-pool name");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn node_pool_patch_and_delete_leave_the_cluster_alone(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let np = NodePoolFactory::new(cluster["id"].as_str().unwrap()).create(&app).await;
    let patched = Answer::of(app.patch(&href(&np), r#"{"spec":{"replicas":10}}"#).await).await;
    assert_eq!(patched.status, 200);
    assert_eq!(patched.body["generation"], 2);
    assert_eq!(app.get_json(&href(&cluster), 200).await, cluster, "the cluster is untouched");
    assert_eq!(Answer::of(app.delete(&href(&np)).await).await.status, 204);
    assert_eq!(Answer::of(app.get(&href(&np)).await).await.status, 404);
    assert_eq!(app.get_json(&href(&cluster), 200).await, cluster);
    let again = Answer::of(app.delete(&href(&np)).await).await;
    assert_error(
        &again,
        404,
        7,
        &format!(
            "NodePool with id='{}' not found in Cluster with id='{}'",
            np["id"].as_str().unwrap(),
            cluster["id"].as_str().unwrap()
        ),
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn pages_report_the_requested_page_the_item_count_and_the_total(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for i in 0..5 {
        ClusterFactory::new().name(&format!("page-{i}")).create(&app).await;
    }
    let first = app.get_json(&format!("{CLUSTERS}?pageSize=2"), 200).await;
    assert_eq!((first["page"].clone(), first["size"].clone(), first["total"].clone()), (json!(1), json!(2), json!(5)));
    let names = |list: &Value| {
        list["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(names(&first), vec!["page-4", "page-3"], "newest first by default");
    let last = app.get_json(&format!("{CLUSTERS}?pageSize=2&page=3"), 200).await;
    assert_eq!(names(&last), vec!["page-0"]);
    let past = app.get_json(&format!("{CLUSTERS}?size=2&page=9"), 200).await;
    assert_eq!(past, json!({"kind": "ClusterList", "page": 9, "size": 0, "total": 5, "items": []}));
    assert_error(
        &Answer::of(app.get(&format!("{CLUSTERS}?page=0")).await).await,
        400,
        21,
        "page must be an integer between 1 and 2147483647",
    );
}

#[sqlx::test(migrations = false)]
async fn an_unmigrated_database_answers_503_until_migrated(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let answer = Answer::of(app.get(CLUSTERS).await).await;
    assert_error(&answer, 503, 90, "Database schema is not up to date; run 'hyperfleet migrate'");
    assert_eq!(answer.header("retry-after"), Some("1"));
    hyperfleet::MIGRATOR.run(&pool).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(Answer::of(app.get(CLUSTERS).await).await.status, 200, "picked up without a restart");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_unreachable_database_answers_503_with_retry_after(_pool: PgPool) {
    let options: sqlx::postgres::PgConnectOptions = "postgres://postgres@127.0.0.1:1/none".parse().unwrap();
    let unreachable = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(300))
        .connect_lazy_with(options);
    let app = TestApp::spawn(unreachable).await;
    for (method, path, body) in [
        (reqwest::Method::GET, CLUSTERS.to_owned(), None),
        (reqwest::Method::POST, CLUSTERS.to_owned(), Some(r#"{"name":"abc","spec":{}}"#)),
        (reqwest::Method::GET, format!("{CLUSTERS}/01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a"), None),
    ] {
        let answer = Answer::of(app.request(method, &path, body).await).await;
        assert_error(&answer, 503, 90, "Database is unavailable; retry later");
        assert_eq!(answer.header("retry-after"), Some("1"));
        assert!(!answer.text.contains("127.0.0.1"), "no driver text in 5xx bodies");
    }
}

/// Regression (found by schemathesis): Postgres renders a stored `1.7976931348623157e308` as a
/// 309-digit integer, and reading that back overflowed serde_json's fast float parser, so the
/// create, and every later read of the resource, answered 500.
#[sqlx::test(migrator = "MIGRATOR")]
async fn free_form_numbers_at_the_edges_of_a_double_survive_the_round_trip(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let spec = r#"{"max":1.7976931348623157e308,"min":-1.7976931348623157e308,"tiny":5e-324,"big":1e308,
        "huge_int":11975522951671744735215616,"u64":18446744073709551615,"i64":-9223372036854775808,"deep":[[1.7976931348623157e308]]}"#;
    let check = |spec: &Value, what: &str| {
        assert_eq!(spec["max"].as_f64(), Some(f64::MAX), "{what}: {spec}");
        assert_eq!(spec["min"].as_f64(), Some(f64::MIN), "{what}");
        assert_eq!(spec["tiny"].as_f64(), Some(5e-324), "{what}");
        assert_eq!(spec["big"].as_f64(), Some(1e308), "{what}");
        assert_eq!(spec["huge_int"].as_f64(), Some(11975522951671744735215616.0), "{what}");
        assert_eq!(spec["u64"].as_u64(), Some(u64::MAX), "{what}: integers in range are exact");
        assert_eq!(spec["i64"].as_i64(), Some(i64::MIN), "{what}: integers in range are exact");
        assert_eq!(spec["deep"][0][0].as_f64(), Some(f64::MAX), "{what}");
    };
    let created = Answer::of(app.post(CLUSTERS, &format!(r#"{{"name":"edges","spec":{spec}}}"#)).await).await;
    assert_eq!(created.status, 201, "{}", created.text);
    check(&created.body["spec"], "create");
    let path = href(&created.body);
    check(&app.get_json(&path, 200).await["spec"], "read");
    check(&app.get_json(CLUSTERS, 200).await["items"][0]["spec"], "list");

    let pool_path = format!("{path}/nodepools");
    let node_pool = Answer::of(app.post(&pool_path, r#"{"name":"p","spec":{}}"#).await).await;
    let patched = Answer::of(app.patch(&href(&node_pool.body), &format!(r#"{{"spec":{spec}}}"#)).await).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    check(&patched.body["spec"], "node pool patch");
}
