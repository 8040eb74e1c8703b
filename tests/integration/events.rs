//! The event log: which requests write events, the paged list and its filters, and the processor
//! (reconciliation, handlers, sweeps, LISTEN reconnects, several replicas on one database).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use hyperfleet::events::{EventHandler, EventRecord};
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::factories::{ClusterFactory, NodePoolFactory, ReportFactory};
use crate::helpers::{assert_error, settings_from_flags, Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;
pub const EVENTS: &str = "/api/hyperfleet/v1/events";
const CLUSTERS: &str = "/api/hyperfleet/v1/clusters";

/// Polls `check` until it holds, for at most 30 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every event in id order, read through the API, once the event horizon has passed every event
/// in the table. The horizon is the oldest transaction running anywhere on the server, and the
/// other tests' databases share the server: one of them holding a transaction open for a few
/// seconds (a lock held on purpose) would otherwise hide this test's newest events for as long.
pub async fn all_events(app: &TestApp) -> Vec<Value> {
    eventually("the event horizon passes every event", || async {
        sqlx::query_scalar::<_, bool>("SELECT events_horizon() > (SELECT coalesce(max(id), 0) FROM events)")
            .fetch_one(app.state.context.db.pool())
            .await
            .unwrap()
    })
    .await;
    let mut events = Vec::new();
    let mut after: i64 = 0;
    loop {
        let page = app.get_json(&format!("{EVENTS}?after={after}&pageSize=1000"), 200).await;
        let items = page["items"].as_array().unwrap().clone();
        let Some(last) = items.last() else { return events };
        after = last["id"].as_str().unwrap().parse().unwrap();
        events.extend(items);
    }
}

/// `(source, source_id, event_type)` of each event.
fn triples(events: &[Value]) -> Vec<(String, String, String)> {
    events
        .iter()
        .map(|e| {
            let field = |k: &str| e[k].as_str().unwrap().to_owned();
            (field("source"), field("source_id"), field("event_type"))
        })
        .collect()
}

fn triple(source: &str, id: &Value, event_type: &str) -> (String, String, String) {
    (source.to_owned(), id.as_str().unwrap().to_owned(), event_type.to_owned())
}

fn event_id(event: &Value) -> i64 {
    event["id"].as_str().unwrap().parse().unwrap()
}

/// Counts how often each event reached the handlers (shared by every replica of a test).
#[derive(Default)]
pub struct CountingHandler {
    counts: Mutex<HashMap<i64, usize>>,
}

impl CountingHandler {
    pub fn counts(&self) -> HashMap<i64, usize> {
        self.counts.lock().unwrap().clone()
    }
}

impl EventHandler for CountingHandler {
    fn name(&self) -> &str {
        "counting"
    }

    fn handle<'a>(&'a self, event: &'a EventRecord) -> BoxFuture<'a, anyhow::Result<()>> {
        *self.counts.lock().unwrap().entry(event.id).or_default() += 1;
        Box::pin(async { Ok(()) })
    }
}

/// Fails while `failing` is set, counting its attempts.
#[derive(Default)]
struct FlakyHandler {
    failing: AtomicBool,
    attempts: AtomicUsize,
}

impl EventHandler for FlakyHandler {
    fn name(&self) -> &str {
        "flaky"
    }

    fn handle<'a>(&'a self, _event: &'a EventRecord) -> BoxFuture<'a, anyhow::Result<()>> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let failing = self.failing.load(Ordering::SeqCst);
        Box::pin(async move {
            if failing {
                anyhow::bail!("the downstream system is unavailable");
            }
            Ok(())
        })
    }
}

async fn spawn_with_handler(pool: PgPool, flags: &[&str], handler: Arc<dyn EventHandler>) -> TestApp {
    TestApp::spawn_with_handlers(pool, settings_from_flags(flags), vec![handler]).await
}

async fn unreconciled(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE reconciled_at IS NULL").fetch_one(pool).await.unwrap()
}

pub async fn metrics_text(app: &TestApp) -> String {
    app.client.get(format!("{}/metrics", app.metrics_address)).send().await.unwrap().text().await.unwrap()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn writes_record_the_events_of_section_9_2_and_nothing_else(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new().name("events-a").create(&app).await;
    let cid = &cluster["id"];
    let href = cluster["href"].as_str().unwrap();
    let np1 = NodePoolFactory::new(cid.as_str().unwrap()).create(&app).await;
    let np2 = NodePoolFactory::new(cid.as_str().unwrap()).create(&app).await;
    let np1_href = np1["href"].as_str().unwrap();
    let np2_href = np2["href"].as_str().unwrap();

    let changed = Answer::of(app.patch(href, r#"{"spec":{"region":"eu-west-1"}}"#).await).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let noop = Answer::of(app.patch(href, r#"{"spec":{"region":"eu-west-1"}}"#).await).await;
    assert_eq!(noop.status, 200, "a no-op PATCH succeeds: {}", noop.text);
    assert_eq!(noop.body["generation"], 2, "a no-op PATCH does not bump the generation");
    let np_changed = Answer::of(app.patch(np1_href, r#"{"labels":{"tier":"gold"}}"#).await).await;
    assert_eq!(np_changed.status, 200, "{}", np_changed.text);
    assert_eq!(ReportFactory::new("dns", 2).available("True").post(&app, href).await.status, 201);
    assert_eq!(ReportFactory::new("dns", 1).available("True").post(&app, np1_href).await.status, 201);
    assert_eq!(ReportFactory::new("dns", 0).available("False").post(&app, href).await.status, 204, "stale report");
    assert_eq!(app.get(href).await.status(), 200);

    // Failed requests write nothing.
    let duplicate =
        Answer::of(app.post(CLUSTERS, &ClusterFactory::new().name("events-a").body().to_string()).await).await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.text);
    let missing = format!("{CLUSTERS}/01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a");
    assert_eq!(app.patch(&missing, r#"{"spec":{}}"#).await.status(), 404);
    assert_eq!(app.delete(&missing).await.status(), 404);
    assert_eq!(app.patch(href, r#"{"spec":"x"}"#).await.status(), 400);

    assert_eq!(app.delete(np2_href).await.status(), 204);
    assert_eq!(app.delete(np2_href).await.status(), 404, "a repeated DELETE writes nothing");
    let np3 = NodePoolFactory::new(cid.as_str().unwrap()).create(&app).await;
    assert_eq!(app.delete(href).await.status(), 204);

    let events = all_events(&app).await;
    let expected = vec![
        triple("Clusters", cid, "Create"),
        triple("NodePools", &np1["id"], "Create"),
        triple("NodePools", &np2["id"], "Create"),
        triple("Clusters", cid, "Update"),
        triple("NodePools", &np1["id"], "Update"),
        triple("NodePools", &np2["id"], "Delete"),
        triple("NodePools", &np3["id"], "Create"),
        // The cascade: node pools in ascending id order, then the cluster.
        triple("NodePools", &np1["id"], "Delete"),
        triple("NodePools", &np3["id"], "Delete"),
        triple("Clusters", cid, "Delete"),
    ];
    assert_eq!(triples(&events), expected);
    let ids: Vec<i64> = events.iter().map(event_id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids ascend: {ids:?}");
    assert!(ids[0] >= 1);
    // The two cascade events and the cluster's share the deleting transaction's timestamp.
    assert_eq!(events[7]["created_at"], events[9]["created_at"]);
    assert_eq!(events[8]["created_at"], events[9]["created_at"]);
    for event in &events {
        let href = match event["source"].as_str().unwrap() {
            "Clusters" => format!("{CLUSTERS}/{}", cid.as_str().unwrap()),
            _ => format!("{CLUSTERS}/{}/nodepools/{}", cid.as_str().unwrap(), event["source_id"].as_str().unwrap()),
        };
        assert_eq!(event["source_href"], href, "hrefs stay valid after deletion: {event}");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn events_have_the_contract_shape(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let node_pool = NodePoolFactory::new(cluster["id"].as_str().unwrap()).create(&app).await;
    eventually("both events are reconciled", || async {
        all_events(&app).await.iter().all(|e| e.get("reconciled_at").is_some())
    })
    .await;
    let answer = Answer::of(app.get(EVENTS).await).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let body = &answer.body;
    assert_eq!(body["kind"], "EventList");
    assert_eq!(body["page"], 1);
    assert_eq!(body["size"], 2);
    assert_eq!(body["total"], 2);
    let items = body["items"].as_array().unwrap();
    let first = items[0].as_object().unwrap();
    let keys: Vec<&str> = first.keys().map(String::as_str).collect();
    let mut expected_keys =
        vec!["kind", "id", "source", "source_id", "source_href", "event_type", "created_at", "reconciled_at"];
    expected_keys.sort_unstable();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected_keys);
    assert_eq!(items[0]["kind"], "Event");
    assert!(items[0]["id"].is_string(), "ids are decimal strings: {}", items[0]);
    assert_eq!(items[0]["source"], "Clusters");
    assert_eq!(items[0]["source_id"], cluster["id"]);
    assert_eq!(items[0]["source_href"], cluster["href"]);
    assert_eq!(items[0]["created_at"], cluster["created_at"], "the event carries the transaction time");
    assert_eq!(items[1]["source"], "NodePools");
    assert_eq!(items[1]["source_href"], node_pool["href"]);
    for item in items {
        for key in ["created_at", "reconciled_at"] {
            let time = item[key].as_str().unwrap();
            assert_eq!(time.len(), "2025-11-13T10:00:00.123456Z".len(), "six fractional digits: {time}");
            assert!(time.ends_with('Z'), "{time}");
        }
        assert!(item["reconciled_at"].as_str() >= item["created_at"].as_str(), "{item}");
    }
    assert!(!answer.text.contains("null"), "no nulls: {}", answer.text);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_events_list_filters_by_cursor_source_id_and_type(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let a = ClusterFactory::new().create(&app).await;
    let b = ClusterFactory::new().create(&app).await;
    let np = NodePoolFactory::new(a["id"].as_str().unwrap()).create(&app).await;
    assert_eq!(app.patch(b["href"].as_str().unwrap(), r#"{"labels":{"x":"y"}}"#).await.status(), 200);
    assert_eq!(app.delete(np["href"].as_str().unwrap()).await.status(), 204);
    let all = all_events(&app).await;
    assert_eq!(all.len(), 5);
    let ids: Vec<i64> = all.iter().map(event_id).collect();
    let select = |keep: &dyn Fn(&Value) -> bool| -> Vec<i64> { all.iter().filter(|e| keep(e)).map(event_id).collect() };
    let a_id = a["id"].as_str().unwrap();
    let np_id = np["id"].as_str().unwrap();
    let cases: Vec<(String, Vec<i64>, &str)> = vec![
        (String::new(), ids.clone(), "no filter"),
        ("source=Clusters".into(), select(&|e| e["source"] == "Clusters"), "clusters only"),
        ("source=NodePools".into(), select(&|e| e["source"] == "NodePools"), "node pools only"),
        ("source=Clusters,NodePools".into(), ids.clone(), "both sources"),
        ("source=NodePools,%20Clusters,".into(), ids.clone(), "blanks and empty items"),
        (format!("source_id={a_id}"), select(&|e| e["source_id"] == a_id), "one cluster"),
        (format!("source_id={}", np_id.to_uppercase()), select(&|e| e["source_id"] == np_id), "upper-case id"),
        ("event_type=Update".into(), select(&|e| e["event_type"] == "Update"), "updates"),
        ("event_type=Create,Delete".into(), select(&|e| e["event_type"] != "Update"), "a list is an OR"),
        (
            "source=NodePools&event_type=Delete".into(),
            select(&|e| e["source"] == "NodePools" && e["event_type"] == "Delete"),
            "filters combine with AND",
        ),
        (format!("after={}", ids[1]), ids[2..].to_vec(), "after a cursor"),
        (
            format!("after={}&source=Clusters", ids[0]),
            select(&|e| e["source"] == "Clusters")[1..].to_vec(),
            "cursor and filter",
        ),
        ("after=0".into(), ids.clone(), "zero means from the start"),
        (format!("after={}", ids[4]), vec![], "after the newest"),
        ("after=9223372036854775807".into(), vec![], "largest cursor"),
        ("source_id=01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a".into(), vec![], "unknown resource"),
        ("orderBy=id%20desc&order=desc&search=garbage(((".into(), ids.clone(), "ordering and search are ignored"),
        ("source=&after=%20".into(), ids.clone(), "blank values are absent"),
    ];
    for (query, expected, why) in cases {
        let body = app.get_json(&format!("{EVENTS}?{query}"), 200).await;
        let got: Vec<i64> = body["items"].as_array().unwrap().iter().map(event_id).collect();
        assert_eq!(got, expected, "{why}: {query}");
        assert_eq!(body["total"], expected.len(), "{why}: total of {query}");
        assert_eq!(body["size"], expected.len(), "{why}: size of {query}");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_events_list_pages_in_id_order(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for _ in 0..7 {
        ClusterFactory::new().create(&app).await;
    }
    let ids: Vec<i64> = all_events(&app).await.iter().map(event_id).collect();
    let cases = [
        ("pageSize=3", 1, ids[0..3].to_vec(), "first page"),
        ("pageSize=3&page=2", 2, ids[3..6].to_vec(), "second page"),
        ("pageSize=3&page=3", 3, ids[6..7].to_vec(), "last, partial page"),
        ("pageSize=3&page=4", 4, vec![], "past the end"),
        ("size=2&page=2", 2, ids[2..4].to_vec(), "size alias"),
        ("pageSize=5&size=2", 1, ids[0..5].to_vec(), "pageSize wins"),
        ("pageSize=99999999999999999999", 1, ids.clone(), "clamped page size"),
    ];
    for (query, page, expected, why) in cases {
        let body = app.get_json(&format!("{EVENTS}?{query}"), 200).await;
        let got: Vec<i64> = body["items"].as_array().unwrap().iter().map(event_id).collect();
        assert_eq!(got, expected, "{why}: {query}");
        assert_eq!(body["page"], page, "{why}");
        assert_eq!(body["size"], expected.len(), "{why}");
        assert_eq!(body["total"], 7, "{why}: total counts every match");
    }
    let after = app.get_json(&format!("{EVENTS}?after={}&pageSize=2&page=2", ids[1]), 200).await;
    let got: Vec<i64> = after["items"].as_array().unwrap().iter().map(event_id).collect();
    assert_eq!(got, ids[4..6].to_vec(), "pages count from the cursor");
    assert_eq!(after["total"], 5);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn bad_event_list_parameters_are_rejected_with_their_message(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let after = "after must be a non-negative integer";
    let source = "source must be a comma-separated list of: Clusters, NodePools";
    let source_id = "source_id must be a UUID";
    let event_type = "event_type must be a comma-separated list of: Create, Update, Delete";
    let cases = [
        ("after=-1", after, "negative"),
        ("after=abc", after, "letters"),
        ("after=1.5", after, "fraction"),
        ("after=%2B1", after, "sign"),
        ("after=9223372036854775808", after, "beyond 2^63-1"),
        ("source=clusters", source, "wrong case"),
        ("source=Clusters,Pools", source, "one unknown value"),
        ("source=,", source, "a list of nothing"),
        ("source_id=abc", source_id, "not a uuid"),
        ("source_id=01939f4e8a3c7d129e456b7c8d9e0f1a", source_id, "unhyphenated"),
        ("source_id=01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a%00", source_id, "trailing NUL"),
        ("event_type=update", event_type, "wrong case"),
        ("event_type=Create|Delete", event_type, "wrong separator"),
        ("page=0", "page must be an integer between 1 and 2147483647", "paging"),
        ("pageSize=0", "pageSize must be a positive integer", "page size"),
        ("after=x&source=y&source_id=z&event_type=w&page=0", after, "after is checked first"),
        ("source=y&source_id=z&event_type=w&page=0", source, "then source"),
        ("source_id=z&event_type=w&page=0", source_id, "then source_id"),
        ("event_type=w&page=0", event_type, "then event_type"),
    ];
    for (query, reason, why) in cases {
        let answer = Answer::of(app.get(&format!("{EVENTS}?{query}")).await).await;
        assert_eq!(answer.status, 400, "{why}: {query}: {}", answer.text);
        assert_error(&answer, 400, 21, reason);
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_events_route_allows_only_reads(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let answer = Answer::of(app.post(EVENTS, "{}").await).await;
    assert_error(&answer, 405, 10, "HTTP Method not implemented for this endpoint");
    assert_eq!(answer.header("allow"), Some("GET, HEAD, OPTIONS"));
    let options = app.request(reqwest::Method::OPTIONS, EVENTS, None).await;
    assert_eq!(options.status(), 204);
    assert_eq!(options.headers().get("allow").unwrap(), "GET, HEAD, OPTIONS");
    let head = app.request(reqwest::Method::HEAD, &format!("{EVENTS}?source=x"), None).await;
    assert_eq!(head.status(), 400, "HEAD validates like GET");
    let head = app.request(reqwest::Method::HEAD, EVENTS, None).await;
    assert_eq!(head.status(), 200);
    assert_eq!(head.text().await.unwrap(), "");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_processor_reconciles_events_and_exposes_metrics(pool: PgPool) {
    let app = TestApp::spawn_with(pool.clone(), &["--event-sweep-interval=200ms"]).await;
    let cluster = ClusterFactory::new().create(&app).await;
    assert_eq!(app.patch(cluster["href"].as_str().unwrap(), r#"{"labels":{"a":"b"}}"#).await.status(), 200);
    NodePoolFactory::new(cluster["id"].as_str().unwrap()).create(&app).await;
    eventually("every event is reconciled", || async { unreconciled(&pool).await == 0 }).await;
    let events = all_events(&app).await;
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e["reconciled_at"].is_string()), "{events:?}");

    let before = all_events(&app).await;
    assert_eq!(before, events, "reading events does not change them");

    let text = metrics_text(&app).await;
    for line in [
        r#"hyperfleet_events_processed_total{event_type="Create",source="Clusters"} 1"#,
        r#"hyperfleet_events_processed_total{event_type="Update",source="Clusters"} 1"#,
        r#"hyperfleet_events_processed_total{event_type="Create",source="NodePools"} 1"#,
        r#"hyperfleet_events_created_total{event_type="Create",source="Clusters"} 1"#,
        "hyperfleet_event_processing_lag_seconds_count 3",
        r#"hyperfleet_event_processing_lag_seconds_bucket{le="300"} 3"#,
    ] {
        assert!(text.lines().any(|l| l == line), "metrics contain {line}:\n{text}");
    }
    // The gauge is what the last sweep counted, so it may lag behind until the next one.
    eventually("a sweep finds nothing unreconciled", || async {
        metrics_text(&app).await.lines().any(|l| l == "hyperfleet_events_unreconciled 0")
    })
    .await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_failing_handler_leaves_the_event_for_the_next_sweep(pool: PgPool) {
    let flaky = Arc::new(FlakyHandler::default());
    flaky.failing.store(true, Ordering::SeqCst);
    let app = spawn_with_handler(pool.clone(), &["--event-sweep-interval=200ms"], flaky.clone()).await;
    ClusterFactory::new().create(&app).await;
    eventually("the handler is retried by sweeps", || async { flaky.attempts.load(Ordering::SeqCst) >= 3 }).await;
    assert_eq!(unreconciled(&pool).await, 1, "a failed attempt rolls back");
    let answer = Answer::of(app.get(EVENTS).await).await;
    let event = &answer.body["items"][0];
    assert_eq!(event["event_type"], "Create");
    assert!(event.get("reconciled_at").is_none(), "omitted until processed: {event}");
    assert!(!answer.text.contains("null"), "{}", answer.text);
    eventually("the gauge counts the unreconciled event", || async {
        metrics_text(&app).await.lines().any(|l| l == "hyperfleet_events_unreconciled 1")
    })
    .await;
    let processed = r#"hyperfleet_events_processed_total{event_type="Create",source="Clusters"}"#;
    assert!(metrics_text(&app).await.contains(processed), "the metrics handler ran before the failure");

    flaky.failing.store(false, Ordering::SeqCst);
    eventually("a later sweep reconciles it", || async { unreconciled(&pool).await == 0 }).await;
    assert!(all_events(&app).await[0]["reconciled_at"].is_string());
    eventually("the gauge drops to zero", || async {
        metrics_text(&app).await.lines().any(|l| l == "hyperfleet_events_unreconciled 0")
    })
    .await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn events_committed_while_no_replica_listens_are_swept_at_start_up(pool: PgPool) {
    for _ in 0..3 {
        sqlx::query(
            "INSERT INTO events (source, source_id, event_type) VALUES ('Clusters', gen_random_uuid(), 'Create')",
        )
        .execute(&pool)
        .await
        .unwrap();
    }
    let counter = Arc::new(CountingHandler::default());
    let app = spawn_with_handler(pool.clone(), &["--event-sweep-interval=1h"], counter.clone()).await;
    eventually("the start-up sweep reconciles all three", || async { unreconciled(&pool).await == 0 }).await;
    let counts = counter.counts();
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    drop(app);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_listener_reconnects_and_sweeps_after_losing_its_connection(pool: PgPool) {
    let counter = Arc::new(CountingHandler::default());
    let app = spawn_with_handler(pool.clone(), &["--event-sweep-interval=1h"], counter.clone()).await;
    let listener_pid = || async {
        sqlx::query_scalar::<_, i32>(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'hyperfleet-listener' \
             AND datname = current_database() AND query ILIKE 'LISTEN%'",
        )
        .fetch_optional(&pool)
        .await
        .unwrap()
    };
    eventually("the listener is connected", || async { listener_pid().await.is_some() }).await;
    let first = listener_pid().await.unwrap();
    let terminated: bool =
        sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(first).fetch_one(&pool).await.unwrap();
    assert!(terminated);
    // Committed (and notified) while nobody listens: only the reconnect sweep can find it.
    sqlx::query(
        "WITH e AS (INSERT INTO events (source, source_id, event_type) \
         VALUES ('Clusters', gen_random_uuid(), 'Update') RETURNING id) \
         SELECT pg_notify('events', id::text) FROM e",
    )
    .execute(&pool)
    .await
    .unwrap();
    eventually("the reconnect sweep reconciles the event", || async { unreconciled(&pool).await == 0 }).await;
    let second = listener_pid().await.expect("a new LISTEN connection");
    assert_ne!(second, first);
    assert_eq!(counter.counts().values().sum::<usize>(), 1);
    // Notifications flow again on the new connection.
    ClusterFactory::new().create(&app).await;
    eventually("the new event is reconciled", || async { unreconciled(&pool).await == 0 }).await;
    assert_eq!(counter.counts().values().sum::<usize>(), 2);
}

/// One unit of the replica workload: a cluster created, patched and sometimes deleted, and for
/// the first ones a node pool created and patched too. Returns the number of events written.
async fn churn(apps: &[&TestApp], i: usize, with_node_pool: bool) -> usize {
    let app = |k: usize| apps[(i + k) % apps.len()];
    let cluster = ClusterFactory::new().create(app(0)).await;
    let href = cluster["href"].as_str().unwrap();
    let mut events = 1;
    if with_node_pool {
        let np = NodePoolFactory::new(cluster["id"].as_str().unwrap()).create(app(1)).await;
        let answer = Answer::of(app(2).patch(np["href"].as_str().unwrap(), r#"{"spec":{"replicas":5}}"#).await).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        events += 2;
    }
    let answer = Answer::of(app(1).patch(href, &json!({"spec": {"n": i}}).to_string()).await).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    events += 1;
    if i % 5 == 0 {
        let answer = Answer::of(app(2).delete(href).await).await;
        assert_eq!(answer.status, 204, "{}", answer.text);
        events += if with_node_pool { 2 } else { 1 };
    }
    events
}

async fn run_churn(apps: &[&TestApp], range: std::ops::Range<usize>, node_pools_below: usize) -> usize {
    futures_util::stream::iter(range)
        .map(|i| churn(apps, i, i < node_pools_below))
        .buffer_unordered(8)
        .fold(0, |sum, n| async move { sum + n })
        .await
}

fn processed_total(metrics: &hyperfleet::metrics::Metrics) -> u64 {
    let metrics = &metrics.events_processed;
    let mut total = 0;
    for source in ["Clusters", "NodePools"] {
        for event_type in ["Create", "Update", "Delete"] {
            total += metrics.with_label_values(&[source, event_type]).get();
        }
    }
    total
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn three_replicas_reconcile_every_event_exactly_once_even_when_one_stops(pool: PgPool) {
    let counter = Arc::new(CountingHandler::default());
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let own_pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with((*pool.connect_options()).clone());
        replicas.push(spawn_with_handler(own_pool, &["--event-sweep-interval=1s"], counter.clone()).await);
    }
    let third = replicas.pop().unwrap();
    let third_metrics = third.state.context.metrics.clone();
    let (first, second) = (&replicas[0], &replicas[1]);

    // 800 clusters, the first 200 with a node pool: 1,000 resources through all replicas; the
    // third replica is stopped while the second half runs.
    let mut written = run_churn(&[first, second, &third], 0..300, 200).await;
    let survivors = [first, second];
    let (more, exit) = tokio::join!(run_churn(&survivors, 300..800, 200), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        third.stop().await
    });
    written += more;
    assert_eq!(exit, 0, "the stopped replica drained cleanly");

    eventually("every event is reconciled", || async { unreconciled(&pool).await == 0 }).await;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM events ORDER BY id").fetch_all(&pool).await.unwrap();
    assert_eq!(ids.len(), written, "one event per change");
    assert_eq!(written, 800 + 800 + 200 + 200 + 160 + 40);

    let counts = counter.counts();
    let invocations: usize = counts.values().sum();
    assert_eq!(invocations, ids.len(), "handlers ran once per event in total");
    let handled: HashSet<i64> = counts.keys().copied().collect();
    assert_eq!(handled, ids.iter().copied().collect::<HashSet<_>>(), "every event was handled");
    let repeated: Vec<(&i64, &usize)> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(repeated.is_empty(), "events handled more than once: {repeated:?}");

    let per_replica = [
        processed_total(&first.state.context.metrics),
        processed_total(&second.state.context.metrics),
        processed_total(&third_metrics),
    ];
    assert_eq!(per_replica.iter().sum::<u64>(), ids.len() as u64, "processed counters add up: {per_replica:?}");

    for replica in replicas {
        assert_eq!(replica.stop().await, 0);
    }
}
