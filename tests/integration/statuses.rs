//! Adapter status reports, aggregation and their concurrency, through the real server.

use rand::seq::SliceRandom;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::factories::{ClusterFactory, NodePoolFactory, ReportFactory};
use crate::helpers::{assert_error, Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;

fn href(body: &Value) -> String {
    body["href"].as_str().unwrap().to_owned()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_contract_example_report_is_stored_and_aggregated(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let body = r#"{"adapter":"hive-adapter","observed_generation":1,
        "conditions":[{"adapter":"hive-adapter","type":"Available","status":"True","observed_generation":1,
                       "reason":"ClusterProvisioned","message":"Cluster successfully provisioned"}],
        "data":{"zone":"example.com"}}"#;
    let answer = Answer::of(app.post(&format!("{}/statuses", href(&cluster)), body).await).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let stored = &answer.body;
    let t = stored["created_at"].as_str().unwrap().to_owned();
    assert_eq!(
        stored,
        &json!({"adapter": "hive-adapter", "observed_generation": 1,
            "conditions": [{"adapter": "hive-adapter", "type": "Available", "status": "True", "reason": "ClusterProvisioned",
                "message": "Cluster successfully provisioned", "observed_generation": 1,
                "created_at": t, "updated_at": t, "last_transition_time": t}],
            "data": {"zone": "example.com"}, "created_at": t, "updated_at": t})
    );
    let after = app.get_json(&href(&cluster), 200).await;
    assert_eq!(
        after["status"],
        json!({"phase": "Ready", "observed_generation": 1, "last_transition_time": t, "updated_at": t,
            "adapters": [{"adapter": "hive-adapter", "type": "Available", "status": "True", "reason": "ClusterProvisioned",
                "message": "Cluster successfully provisioned", "observed_generation": 1, "created_at": t, "updated_at": t}]})
    );
    assert_eq!(after["updated_at"], cluster["updated_at"], "reports never change the resource's updated_at");
    assert_eq!(after["generation"], 1);
    let list = app.get_json(&format!("{}/statuses", href(&cluster)), 200).await;
    assert_eq!(list, json!({"kind": "AdapterStatusList", "page": 1, "size": 1, "total": 1, "items": [stored]}));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_phase_timeline_of_section_7_7(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let path = href(&cluster);
    let t0 = cluster["created_at"].clone();
    let status = |c: &Value| {
        (c["status"]["phase"].clone(), c["status"]["last_transition_time"].clone(), c["status"]["updated_at"].clone())
    };

    let r1 = ReportFactory::new("dns", 1).available("True").post(&app, &path).await;
    assert_eq!(r1.status, 201);
    let t1 = r1.body["updated_at"].clone();
    assert_eq!(status(&app.get_json(&path, 200).await), (json!("Ready"), t1.clone(), t1.clone()));

    let r2 = ReportFactory::new("dns", 1).available("True").post(&app, &path).await;
    let t2 = r2.body["updated_at"].clone();
    assert_eq!(status(&app.get_json(&path, 200).await), (json!("Ready"), t1.clone(), t2.clone()));
    assert_eq!(r2.body["created_at"], t1, "the adapter status keeps its first created_at");

    let r3 = ReportFactory::new("dns", 1).available("False").post(&app, &path).await;
    let t3 = r3.body["updated_at"].clone();
    assert_eq!(status(&app.get_json(&path, 200).await), (json!("Failed"), t3.clone(), t3.clone()));

    let stale = ReportFactory::new("dns", 0).available("True").post(&app, &path).await;
    assert_eq!(stale.status, 204);
    assert!(stale.text.is_empty());
    assert_eq!(status(&app.get_json(&path, 200).await), (json!("Failed"), t3.clone(), t3.clone()));

    let patched = Answer::of(app.patch(&path, r#"{"spec":{"changed":true}}"#).await).await;
    let t5 = patched.body["updated_at"].clone();
    assert_eq!(status(&patched.body), (json!("Failed"), t3.clone(), t5.clone()));
    assert_ne!(t5, t0);
    let statuses = app.get_json(&format!("{path}/statuses"), 200).await;
    assert_eq!(statuses["items"][0]["conditions"][0]["status"], "False", "the stale report changed nothing");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn required_mode_counts_only_current_reports_of_listed_adapters(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--required-adapters-cluster=validation,dns"]).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let path = href(&cluster);
    let phase = |c: &Value| {
        (c["status"]["phase"].as_str().unwrap().to_owned(), c["status"]["observed_generation"].as_i64().unwrap())
    };

    ReportFactory::new("validation", 1).available("True").post(&app, &path).await;
    assert_eq!(phase(&app.get_json(&path, 200).await), ("NotReady".into(), 0));
    ReportFactory::new("placement", 1).available("False").post(&app, &path).await;
    ReportFactory::new("dns", 1).available("True").post(&app, &path).await;
    let ready = app.get_json(&path, 200).await;
    assert_eq!(phase(&ready), ("Ready".into(), 1));
    assert_eq!(ready["status"]["adapters"].as_array().unwrap().len(), 3, "unlisted adapters are summarised too");

    let patched = Answer::of(app.patch(&path, r#"{"spec":{"v":2}}"#).await).await;
    assert_eq!(phase(&patched.body), ("NotReady".into(), 1), "the PATCH made every report stale");
    assert_eq!(patched.body["status"]["last_transition_time"], patched.body["updated_at"]);

    ReportFactory::new("validation", 2).available("True").post(&app, &path).await;
    ReportFactory::new("dns", 2).available("False").post(&app, &path).await;
    assert_eq!(phase(&app.get_json(&path, 200).await), ("Failed".into(), 2));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn node_pool_reports_update_only_the_node_pool(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let np = NodePoolFactory::new(cluster["id"].as_str().unwrap()).create(&app).await;
    let answer = ReportFactory::new("np-adapter", 1).available("True").post(&app, &href(&np)).await;
    assert_eq!(answer.status, 201);
    assert_eq!(app.get_json(&href(&np), 200).await["status"]["phase"], "Ready");
    assert_eq!(app.get_json(&href(&cluster), 200).await, cluster);
    assert_eq!(app.get_json(&format!("{}/statuses", href(&cluster)), 200).await["total"], 0);
    assert_eq!(app.get_json(&format!("{}/statuses", href(&np)), 200).await["total"], 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn reports_to_missing_resources_are_404_after_body_checks(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let a = ClusterFactory::new().create(&app).await;
    let b = ClusterFactory::new().create(&app).await;
    let np = NodePoolFactory::new(a["id"].as_str().unwrap()).create(&app).await;
    let np_id = np["id"].as_str().unwrap();
    let b_id = b["id"].as_str().unwrap();
    let report = ReportFactory::new("dns", 1).available("True").body().to_string();
    let unknown = "/api/hyperfleet/v1/clusters/01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a/statuses";
    assert_error(
        &Answer::of(app.post(unknown, &report).await).await,
        404,
        7,
        "Cluster with id='01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a' not found",
    );
    assert_eq!(Answer::of(app.post(unknown, "{}").await).await.status, 400, "the body is checked first");
    let wrong_parent = format!("/api/hyperfleet/v1/clusters/{b_id}/nodepools/{np_id}/statuses");
    assert_error(
        &Answer::of(app.post(&wrong_parent, &report).await).await,
        404,
        7,
        &format!("NodePool with id='{np_id}' not found in Cluster with id='{b_id}'"),
    );
    assert_error(
        &Answer::of(app.get(&wrong_parent).await).await,
        404,
        7,
        &format!("NodePool with id='{np_id}' not found in Cluster with id='{b_id}'"),
    );
    assert_error(
        &Answer::of(app.get("/api/hyperfleet/v1/clusters/x/statuses").await).await,
        404,
        7,
        "Cluster with id='x' not found",
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn bad_reports_are_rejected_and_change_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let path = format!("{}/statuses", href(&cluster));
    let cases: &[(&str, u16, u16, &str)] = &[
        (r#"{"adapter":"a","observed_generation":1}"#, 400, 8, "conditions is required"),
        (
            r#"{"adapter":"a","observed_generation":1,"conditions":[{"type":"Available","status":"True"},{"type":"Available","status":"False"}]}"#,
            400,
            8,
            "conditions[1].type 'Available' is duplicated",
        ),
        (
            r#"{"adapter":"a","observed_generation":1,"conditions":[{"type":"A","status":"True","severity":"x"}]}"#,
            400,
            17,
            "Invalid request format: unknown field \"conditions[0].severity\"",
        ),
        (
            r#"{"adapter":"a","observed_generation":1,"conditions":[],"extra":1}"#,
            400,
            17,
            "Invalid request format: unknown field \"extra\"",
        ),
        (
            r#"{"adapter":"a","adapter":"b","observed_generation":1,"conditions":[]}"#,
            400,
            17,
            "Invalid request format: duplicate field \"adapter\"",
        ),
    ];
    for (body, status, code, reason) in cases {
        assert_error(&Answer::of(app.post(&path, body).await).await, *status, *code, reason);
    }
    assert_eq!(app.get_json(&path, 200).await["total"], 0);
    assert_eq!(app.get_json(&href(&cluster), 200).await, cluster);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn status_lists_are_sorted_by_adapter_and_paged(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new().create(&app).await;
    for adapter in ["zeta", "Alpha", "beta", "_under"] {
        assert_eq!(ReportFactory::new(adapter, 1).post(&app, &href(&cluster)).await.status, 201);
    }
    let list =
        app.get_json(&format!("{}/statuses?pageSize=2&page=2&search=bogus&orderBy=nope", href(&cluster)), 200).await;
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|s| s["adapter"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["beta", "zeta"], "byte order: Alpha, _under, beta, zeta");
    assert_eq!((list["page"].clone(), list["size"].clone(), list["total"].clone()), (json!(2), json!(2), json!(4)));
    assert_error(
        &Answer::of(app.get(&format!("{}/statuses?size=0", href(&cluster))).await).await,
        400,
        21,
        "size must be a positive integer",
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn fifty_adapters_reporting_at_once_are_all_stored(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let path = href(&cluster);
    let reports: Vec<ReportFactory> = (0..50)
        .map(|i| ReportFactory::new(&format!("adapter-{i:02}"), 1).available(if i == 17 { "False" } else { "True" }))
        .collect();
    let answers = futures_util::future::join_all(reports.iter().map(|r| r.post(&app, &path))).await;
    assert!(answers.iter().all(|a| a.status == 201), "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    let statuses = app.get_json(&format!("{path}/statuses?pageSize=100"), 200).await;
    assert_eq!(statuses["total"], 50);
    let after = app.get_json(&path, 200).await;
    assert_eq!(after["status"]["phase"], "Failed", "adapter-17 reported False");
    assert_eq!(after["status"]["adapters"].as_array().unwrap().len(), 50, "no summary lost");

    // Now every adapter reports True, again all at once: the aggregate must agree.
    let reports: Vec<ReportFactory> =
        (0..50).map(|i| ReportFactory::new(&format!("adapter-{i:02}"), 1).available("True")).collect();
    futures_util::future::join_all(reports.iter().map(|r| r.post(&app, &path))).await;
    let after = app.get_json(&path, 200).await;
    assert_eq!(after["status"]["phase"], "Ready");
    assert!(after["status"]["adapters"].as_array().unwrap().iter().all(|a| a["status"] == "True"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn one_adapter_reporting_generations_out_of_order_ends_at_the_highest(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let path = href(&cluster);
    let mut generations: Vec<i64> = (1..=40).collect();
    generations.shuffle(&mut rand::thread_rng());
    let reports: Vec<ReportFactory> = generations
        .iter()
        .map(|g| ReportFactory::new("dns", *g).available(if *g == 40 { "True" } else { "False" }))
        .collect();
    let answers = futures_util::future::join_all(reports.iter().map(|r| r.post(&app, &path))).await;
    assert!(answers.iter().all(|a| a.status == 201 || a.status == 204));
    let statuses = app.get_json(&format!("{path}/statuses"), 200).await;
    assert_eq!(statuses["items"][0]["observed_generation"], 40);
    let after = app.get_json(&path, 200).await;
    assert_eq!(
        (after["status"]["phase"].clone(), after["status"]["observed_generation"].clone()),
        (json!("Ready"), json!(40))
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn interleaved_patches_and_reports_keep_the_phase_consistent(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--required-adapters-cluster=dns"]).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let path = href(&cluster);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let patch = format!(r#"{{"spec":{{"round":{i}}}}}"#);
        tasks.push((true, patch));
        tasks.push((false, String::new()));
    }
    let app_ref = &app;
    let path_ref = &path;
    futures_util::future::join_all(tasks.into_iter().map(|(is_patch, body)| async move {
        if is_patch {
            app_ref.patch(path_ref, &body).await.status().as_u16()
        } else {
            // Report for whatever generation the adapter last saw.
            let seen = app_ref.get_json(path_ref, 200).await["generation"].as_i64().unwrap();
            ReportFactory::new("dns", seen).available("True").post(app_ref, path_ref).await.status
        }
    }))
    .await;
    let after = app.get_json(&path, 200).await;
    let stored = app.get_json(&format!("{path}/statuses"), 200).await;
    let reported = stored["items"][0]["observed_generation"].as_i64().unwrap();
    let generation = after["generation"].as_i64().unwrap();
    let expected = if reported == generation { "Ready" } else { "NotReady" };
    assert_eq!(after["status"]["phase"], expected, "generation {generation}, stored report at {reported}");
    assert_eq!(after["status"]["observed_generation"], reported);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn reports_are_counted_by_result(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new().create(&app).await;
    ReportFactory::new("dns", 2).available("True").post(&app, &href(&cluster)).await;
    ReportFactory::new("dns", 1).available("True").post(&app, &href(&cluster)).await;
    let text = app.client.get(format!("{}/metrics", app.metrics_address)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"hyperfleet_status_reports_total{resource_type="Cluster",result="accepted"} 1"#), "{text}");
    assert!(text.contains(r#"hyperfleet_status_reports_total{resource_type="Cluster",result="discarded"} 1"#));
    assert!(text.contains(
        r#"hyperfleet_status_phase_transitions_total{from="NotReady",resource_type="Cluster",to="Ready"} 1"#
    ));
    assert!(text.contains(r#"hyperfleet_status_aggregation_duration_seconds_count{resource_type="Cluster"} 1"#));
    assert!(text.contains(r#"hyperfleet_events_created_total{event_type="Create",source="Clusters"} 1"#));
}

/// Regression (found by schemathesis): a report whose `data` held a number near the largest
/// double was stored, then reading it back overflowed the JSON number parser and answered 500.
#[sqlx::test(migrator = "MIGRATOR")]
async fn report_data_at_the_edges_of_a_double_is_stored_and_returned(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let statuses = format!("{}/statuses", href(&cluster));
    let report = r#"{"adapter":"dns","observed_generation":1,"conditions":null,
        "data":{"max":[-1.7976931348623157e308],"int":11975522951671744735215616},"metadata":{"tiny":5e-324}}"#;
    let answer = Answer::of(app.post(&statuses, report).await).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let listed = app.get_json(&statuses, 200).await;
    for (body, what) in [(&answer.body, "create"), (&listed["items"][0], "list")] {
        assert_eq!(body["data"]["max"][0].as_f64(), Some(f64::MIN), "{what}: {body}");
        assert_eq!(body["data"]["int"].as_f64(), Some(11975522951671744735215616.0), "{what}");
        assert_eq!(body["metadata"]["tiny"].as_f64(), Some(5e-324), "{what}");
        assert_eq!(body["conditions"], json!([]), "{what}");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_resources_gauge_counts_live_resources_by_phase(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let ready = ClusterFactory::new().create(&app).await;
    let failed = ClusterFactory::new().create(&app).await;
    let deleted = ClusterFactory::new().create(&app).await;
    ClusterFactory::new().create(&app).await;
    NodePoolFactory::new(ready["id"].as_str().unwrap()).create(&app).await;
    ReportFactory::new("dns", 1).available("True").post(&app, &href(&ready)).await;
    ReportFactory::new("dns", 1).available("False").post(&app, &href(&failed)).await;
    assert_eq!(Answer::of(app.delete(&href(&deleted)).await).await.status, 204);

    hyperfleet::ops::metrics::refresh_resource_gauges_once(&app.state.context.metrics, &app.state.context.db)
        .await
        .unwrap();
    let text = app.client.get(format!("{}/metrics", app.metrics_address)).send().await.unwrap().text().await.unwrap();
    for (series, value) in [
        (r#"hyperfleet_resources{phase="Ready",resource_type="Cluster"}"#, 1),
        (r#"hyperfleet_resources{phase="Failed",resource_type="Cluster"}"#, 1),
        (r#"hyperfleet_resources{phase="NotReady",resource_type="Cluster"}"#, 1),
        (r#"hyperfleet_resources{phase="NotReady",resource_type="NodePool"}"#, 1),
        (r#"hyperfleet_resources{phase="Ready",resource_type="NodePool"}"#, 0),
        (r#"hyperfleet_resources{phase="Failed",resource_type="NodePool"}"#, 0),
    ] {
        assert!(text.contains(&format!("{series} {value}\n")), "{series} {value}:\n{text}");
    }
}
