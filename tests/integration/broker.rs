//! Publishing events to a real RabbitMQ (issue 12): the CloudEvents on a bound queue, unroutable
//! messages retried, a bad `--broker-url`, the broker down at start-up, stopped and restarted
//! under load (a private node from `scripts/dev-mq.sh private`), and three real replicas with
//! the publishing one SIGKILLed mid-run. Every test uses its own exchange and queue.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicQosOptions, ExchangeDeclareOptions, ExchangeDeleteOptions,
    QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties, ExchangeKind};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::factories::{ClusterFactory, NodePoolFactory};
use crate::helpers::{Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;
const CLUSTERS: &str = "/api/hyperfleet/v1/clusters";
const BIN: &str = env!("CARGO_BIN_EXE_hyperfleet");

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/dev-mq.sh")
}

/// Runs `scripts/dev-mq.sh` and returns its stdout; the test fails (never skips) when the script
/// cannot provide a broker.
fn dev_mq(args: &[&str], env: &[(&str, String)]) -> String {
    let mut command = Command::new(script());
    command.args(args).stdin(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("scripts/dev-mq.sh runs");
    assert!(
        output.status.success(),
        "scripts/dev-mq.sh {args:?} could not provide RabbitMQ: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The development broker (`scripts/dev-mq.sh url`).
fn broker_url() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| dev_mq(&["url"], &[])).clone()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A name no other test run uses.
fn unique(prefix: &str) -> String {
    format!("{prefix}.{}", uuid::Uuid::now_v7().simple())
}

/// A private RabbitMQ node in a temporary directory; stopped and deleted on drop.
struct PrivateBroker {
    dir: PathBuf,
    url: String,
}

impl PrivateBroker {
    /// A node to be started on `port` (a free one when `None`); nothing runs until `start`.
    fn new(port: Option<u16>) -> PrivateBroker {
        let dir = std::env::temp_dir().join(unique("hyperfleet-mq"));
        let port = port.unwrap_or_else(free_port);
        PrivateBroker { dir, url: format!("amqp://guest:guest@127.0.0.1:{port}/%2f") }
    }

    fn start(&self) {
        let port = self.url.rsplit(':').next().unwrap().trim_end_matches("/%2f").to_owned();
        let url = dev_mq(&["private", self.dir.to_str().unwrap()], &[("DEV_MQ_PORT", port)]);
        assert_eq!(url, self.url, "the node listens where it was asked to");
    }

    fn stop(&self) {
        dev_mq(&["stop", self.dir.to_str().unwrap()], &[]);
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = Command::new(script()).args(["stop", self.dir.to_str().unwrap()]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn connect(url: &str) -> lapin::Result<Connection> {
    Connection::connect(url, ConnectionProperties::default()).await
}

/// Declares the exchange as the service does and a durable queue bound to `#`.
async fn bind_queue(url: &str, exchange: &str, queue: &str) {
    let connection = connect(url).await.expect("the test connects to RabbitMQ");
    let channel = connection.create_channel().await.unwrap();
    let durable = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
    channel.exchange_declare(exchange.into(), ExchangeKind::Topic, durable, FieldTable::default()).await.unwrap();
    let options = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
    channel.queue_declare(queue.into(), options, FieldTable::default()).await.unwrap();
    channel
        .queue_bind(queue.into(), exchange.into(), "#".into(), QueueBindOptions::default(), FieldTable::default())
        .await
        .unwrap();
    let _ = connection.close(200, "bound".into()).await;
}

/// Removes what a test declared on the shared broker.
async fn delete_topology(url: &str, exchange: &str, queue: &str) {
    if let Ok(connection) = connect(url).await {
        if let Ok(channel) = connection.create_channel().await {
            let _ = channel.queue_delete(queue.into(), QueueDeleteOptions::default()).await;
            let _ = channel.exchange_delete(exchange.into(), ExchangeDeleteOptions::default()).await;
        }
        let _ = connection.close(200, "done".into()).await;
    }
}

/// One message as a consumer received it.
#[derive(Debug, Clone)]
struct Received {
    routing_key: String,
    content_type: Option<String>,
    delivery_mode: Option<u8>,
    body: Value,
}

impl Received {
    fn id(&self) -> i64 {
        self.body["id"].as_str().expect("a string id").parse().expect("a decimal id")
    }
}

/// Consumes (and acknowledges) `queue` until every id of `want` has arrived, then for another
/// `linger` to catch duplicates; fails after `timeout`.
async fn collect(url: &str, queue: &str, want: &HashSet<i64>, linger: Duration, timeout: Duration) -> Vec<Received> {
    let connection = connect(url).await.expect("the test connects to RabbitMQ");
    let channel = connection.create_channel().await.unwrap();
    channel.basic_qos(500, BasicQosOptions::default()).await.unwrap();
    let mut consumer = channel
        .basic_consume(queue.into(), "".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut seen = HashSet::new();
    let deadline = Instant::now() + timeout;
    let mut complete_at: Option<Instant> = None;
    loop {
        let until = complete_at.map_or(deadline, |at| at + linger);
        let now = Instant::now();
        if now >= until {
            break;
        }
        let Ok(next) = tokio::time::timeout(until - now, consumer.next()).await else { break };
        let delivery = next.expect("the consumer stays open").expect("a delivery");
        let message = Received {
            routing_key: delivery.routing_key.as_str().to_owned(),
            content_type: delivery.properties.content_type().as_ref().map(|c| c.as_str().to_owned()),
            delivery_mode: *delivery.properties.delivery_mode(),
            body: serde_json::from_slice(&delivery.data).expect("the body is JSON"),
        };
        delivery.ack(BasicAckOptions::default()).await.unwrap();
        seen.insert(message.id());
        received.push(message);
        if complete_at.is_none() && want.is_subset(&seen) {
            complete_at = Some(Instant::now());
        }
    }
    let _ = connection.close(200, "collected".into()).await;
    let missing: Vec<&i64> = want.difference(&seen).collect();
    assert!(missing.is_empty(), "{} events never arrived, e.g. {:?}", missing.len(), &missing[..missing.len().min(10)]);
    received
}

async fn event_ids(pool: &PgPool) -> HashSet<i64> {
    sqlx::query_scalar::<_, i64>("SELECT id FROM events").fetch_all(pool).await.unwrap().into_iter().collect()
}

async fn unpublished(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE published_at IS NULL").fetch_one(pool).await.unwrap()
}

/// Polls `check` until it holds, failing after `timeout`.
async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The replica's `/metrics`, on a fresh connection each time: these tests poll it while the
/// replica is busy, and a pooled keep-alive connection the server has just closed would fail
/// the request for reasons that have nothing to do with the test.
async fn metrics_text(app: &TestApp) -> String {
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).timeout(Duration::from_secs(10)).build().unwrap();
    let response = client.get(format!("{}/metrics", app.metrics_address)).send().await.expect("/metrics answers");
    response.text().await.expect("the metrics are readable")
}

/// The value of an unlabelled metric line (`name value`).
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

async fn spawn_publishing(pool: PgPool, url: &str, exchange: &str) -> TestApp {
    let flags = [format!("--broker-url={url}"), format!("--broker-exchange={exchange}")];
    TestApp::spawn_with(pool, &flags.iter().map(String::as_str).collect::<Vec<_>>()).await
}

/// First arrivals only (consumers dedupe by id); asserts each resource's events arrived in id
/// order and returns the ids per resource.
fn assert_per_resource_order(received: &[Received]) -> HashMap<String, Vec<i64>> {
    let mut first = HashSet::new();
    let mut per_resource: HashMap<String, Vec<i64>> = HashMap::new();
    for message in received {
        if first.insert(message.id()) {
            let subject = message.body["subject"].as_str().unwrap().to_owned();
            per_resource.entry(subject).or_default().push(message.id());
        }
    }
    for (subject, ids) in &per_resource {
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{subject}: events out of order: {ids:?}");
    }
    per_resource
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn created_patched_and_deleted_resources_arrive_as_cloudevents_on_a_bound_queue(pool: PgPool) {
    let url = broker_url();
    let (exchange, queue) = (unique("hyperfleet.test"), unique("hyperfleet.test.q"));
    bind_queue(&url, &exchange, &queue).await;
    let app = spawn_publishing(pool.clone(), &url, &exchange).await;

    let cluster = ClusterFactory::new().create(&app).await;
    let cluster_href = cluster["href"].as_str().unwrap().to_owned();
    let patched = Answer::of(app.patch(&cluster_href, r#"{"spec":{"region":"eu-west-1"}}"#).await).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let node_pool = NodePoolFactory::new(cluster["id"].as_str().unwrap()).create(&app).await;
    let node_pool_href = node_pool["href"].as_str().unwrap().to_owned();
    let deleted = app.delete(&cluster_href).await;
    assert_eq!(deleted.status(), 204);

    let ids = event_ids(&pool).await;
    assert_eq!(ids.len(), 5, "create, update, node pool create, node pool delete, cluster delete");
    let received = collect(&url, &queue, &ids, Duration::from_millis(300), Duration::from_secs(30)).await;
    assert_eq!(received.len(), 5, "each event exactly once: {received:?}");

    let rows: Vec<(i64, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT id, created_at FROM events ORDER BY id").fetch_all(&pool).await.unwrap();
    let time = |i: usize| rows[i].1.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let (cluster_id, node_pool_id) = (cluster["id"].clone(), node_pool["id"].clone());
    let owner = json!({"id": cluster_id, "kind": "Cluster", "href": cluster_href});
    let expected = [
        (
            "cluster.created",
            &cluster_href,
            json!({"id": cluster_id, "kind": "Cluster", "href": cluster_href, "generation": 1}),
        ),
        (
            "cluster.updated",
            &cluster_href,
            json!({"id": cluster_id, "kind": "Cluster", "href": cluster_href, "generation": 2}),
        ),
        (
            "nodepool.created",
            &node_pool_href,
            json!({"id": node_pool_id, "kind": "NodePool", "href": node_pool_href, "generation": 1, "owner_references": owner}),
        ),
        (
            "nodepool.deleted",
            &node_pool_href,
            json!({"id": node_pool_id, "kind": "NodePool", "href": node_pool_href, "generation": 1, "owner_references": owner}),
        ),
        (
            "cluster.deleted",
            &cluster_href,
            json!({"id": cluster_id, "kind": "Cluster", "href": cluster_href, "generation": 2}),
        ),
    ];
    for (i, (message, (key, subject, data))) in received.iter().zip(expected).enumerate() {
        assert_eq!(message.routing_key, key, "message {i}");
        assert_eq!(message.content_type.as_deref(), Some("application/cloudevents+json"), "message {i}");
        assert_eq!(message.delivery_mode, Some(2), "message {i} is persistent");
        assert_eq!(
            message.body,
            json!({
                "specversion": "1.0",
                "id": rows[i].0.to_string(),
                "source": "/api/hyperfleet/v1",
                "type": format!("com.hyperfleet.{key}"),
                "subject": subject,
                "time": time(i),
                "datacontenttype": "application/json",
                "data": data,
            }),
            "message {i}"
        );
    }
    crate::asyncapi::assert_broker_messages_match_the_document(
        &received.iter().map(|m| m.body.clone()).collect::<Vec<_>>(),
    );

    wait_until("published_at on every event", Duration::from_secs(10), || async { unpublished(&pool).await == 0 })
        .await;
    let metrics = metrics_text(&app).await;
    assert_eq!(metric(&metrics, "hyperfleet_broker_connected"), Some(1.0), "{metrics}");
    assert!(
        metrics.contains("hyperfleet_broker_published_total{type=\"com.hyperfleet.cluster.created\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hyperfleet_broker_published_total{type=\"com.hyperfleet.nodepool.deleted\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("hyperfleet_broker_publish_lag_seconds_count 5"), "{metrics}");
    assert_eq!(metric(&metrics, "hyperfleet_broker_publish_errors_total"), Some(0.0), "{metrics}");
    let readyz = Answer::of(app.client.get(format!("{}/readyz", app.health_address)).send().await.unwrap()).await;
    assert_eq!((readyz.status, readyz.body.clone()), (200, json!({"status": "ok", "broker": "connected"})));

    app.stop().await;
    delete_topology(&url, &exchange, &queue).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn without_a_broker_url_nothing_is_published_and_readiness_is_unchanged(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    ClusterFactory::new().create(&app).await;
    let readyz = Answer::of(app.client.get(format!("{}/readyz", app.health_address)).send().await.unwrap()).await;
    assert_eq!((readyz.status, readyz.body), (200, json!({"status": "ok"})));
    let metrics = metrics_text(&app).await;
    assert!(!metrics.contains("hyperfleet_broker_"), "no broker series without --broker-url");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(unpublished(&pool).await, 1, "the event waits in the outbox");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_unroutable_event_is_retried_until_a_queue_is_bound_and_nothing_is_skipped(pool: PgPool) {
    let url = broker_url();
    let (exchange, queue) = (unique("hyperfleet.test"), unique("hyperfleet.test.q"));
    let app = spawn_publishing(pool.clone(), &url, &exchange).await;
    let first = ClusterFactory::new().create(&app).await;
    ClusterFactory::new().create(&app).await;

    wait_until("a returned message counted as a publish error", Duration::from_secs(15), || async {
        metric(&metrics_text(&app).await, "hyperfleet_broker_publish_errors_total").unwrap_or(0.0) >= 1.0
    })
    .await;
    assert_eq!(unpublished(&pool).await, 2, "a returned message is not marked published");
    wait_until("the backlog gauge", Duration::from_secs(10), || async {
        metric(&metrics_text(&app).await, "hyperfleet_broker_unpublished_events") == Some(2.0)
    })
    .await;

    bind_queue(&url, &exchange, &queue).await;
    let ids = event_ids(&pool).await;
    let received = collect(&url, &queue, &ids, Duration::from_millis(300), Duration::from_secs(30)).await;
    let order: Vec<i64> = received.iter().map(Received::id).collect();
    let mut sorted: Vec<i64> = ids.into_iter().collect();
    sorted.sort();
    assert_eq!(order, sorted, "both events, once each, in id order");
    assert_eq!(received[0].body["data"]["id"], first["id"]);
    wait_until("both marked published", Duration::from_secs(10), || async { unpublished(&pool).await == 0 }).await;
    app.stop().await;
    delete_topology(&url, &exchange, &queue).await;
}

/// Flags, environment, and the message expected on stderr.
type BadSetting = (&'static [&'static str], &'static [(&'static str, &'static str)], &'static str);

#[tokio::test]
async fn a_bad_broker_setting_exits_with_2_naming_the_flag_without_echoing_the_url() {
    let cases: [BadSetting; 4] = [
        (
            &["--broker-url=http://app:s3cret@mq.example.com/"],
            &[],
            "invalid value for '--broker-url': the scheme must be amqp or amqps",
        ),
        (&["--broker-url=amqp://app:s3cret@mq.example.com:99999/"], &[], "invalid value for '--broker-url'"),
        (&[], &[("HYPERFLEET_BROKER_URL", "amqp:app:s3cret")], "invalid value for '--broker-url': the URL has no host"),
        (
            &["--broker-url=amqp://app:s3cret@localhost/", "--broker-exchange=amq.topic"],
            &[],
            "invalid value 'amq.topic' for '--broker-exchange'",
        ),
    ];
    for (flags, env, message) in cases {
        let output = Command::new(BIN)
            .args(["serve", "--enable-jwt=false", "--database-url=postgres://unused@127.0.0.1:1/unused"])
            .args(flags)
            .env_remove("HYPERFLEET_BROKER_URL")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flags:?} {env:?}: {stderr}");
        assert!(stderr.contains(message), "{flags:?} {env:?}: {stderr}");
        assert!(!stderr.contains("s3cret"), "{flags:?} {env:?}: the password leaked: {stderr}");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn with_the_broker_down_at_start_up_the_api_serves_and_events_follow_once_it_is_up(pool: PgPool) {
    let broker = PrivateBroker::new(None);
    let exchange = unique("hyperfleet.test");
    let app = spawn_publishing(pool.clone(), &broker.url, &exchange).await;

    let created = ClusterFactory::new().create(&app).await;
    let readyz = Answer::of(app.client.get(format!("{}/readyz", app.health_address)).send().await.unwrap()).await;
    assert_eq!((readyz.status, readyz.body.clone()), (200, json!({"status": "ok", "broker": "unreachable"})));
    wait_until("the backlog gauge counts the waiting event", Duration::from_secs(15), || async {
        metric(&metrics_text(&app).await, "hyperfleet_broker_unpublished_events") == Some(1.0)
    })
    .await;
    let metrics = metrics_text(&app).await;
    assert_eq!(metric(&metrics, "hyperfleet_broker_connected"), Some(0.0), "{metrics}");
    assert_eq!(unpublished(&pool).await, 1);

    broker.start();
    let queue = unique("hyperfleet.test.q");
    bind_queue(&broker.url, &exchange, &queue).await;
    ClusterFactory::new().create(&app).await;
    let ids = event_ids(&pool).await;
    let received = collect(&broker.url, &queue, &ids, Duration::from_millis(300), Duration::from_secs(60)).await;
    assert_eq!(received[0].body["data"]["id"], created["id"], "the event of the outage comes first");
    assert_eq!(received.iter().map(Received::id).collect::<HashSet<_>>(), ids);
    wait_until("connected", Duration::from_secs(5), || async {
        metric(&metrics_text(&app).await, "hyperfleet_broker_connected") == Some(1.0)
    })
    .await;
    let readyz = Answer::of(app.client.get(format!("{}/readyz", app.health_address)).send().await.unwrap()).await;
    assert_eq!(readyz.body, json!({"status": "ok", "broker": "connected"}));
    app.stop().await;
}

/// Creates a cluster and patches it `patches` times through `app`; returns the changes made.
async fn churn(app: &TestApp, patches: usize) -> usize {
    let cluster = ClusterFactory::new().create(app).await;
    let href = cluster["href"].as_str().unwrap();
    for i in 0..patches {
        let answer = Answer::of(app.patch(href, &format!(r#"{{"spec":{{"step":{i}}}}}"#)).await).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    1 + patches
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_broker_stopped_for_ten_seconds_under_load_gets_every_event_afterwards_in_order(pool: PgPool) {
    let broker = PrivateBroker::new(None);
    broker.start();
    let (exchange, queue) = (unique("hyperfleet.test"), unique("hyperfleet.test.q"));
    bind_queue(&broker.url, &exchange, &queue).await;
    let app = Arc::new(spawn_publishing(pool.clone(), &broker.url, &exchange).await);
    wait_until("connected", Duration::from_secs(15), || async {
        metric(&metrics_text(&app).await, "hyperfleet_broker_connected") == Some(1.0)
    })
    .await;

    // About 25 changes a second for 16 s, across the outage.
    let changes = Arc::new(AtomicUsize::new(0));
    let load = {
        let (app, changes) = (Arc::clone(&app), Arc::clone(&changes));
        tokio::spawn(async move {
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(16) {
                changes.fetch_add(churn(&app, 4).await, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    broker.stop();
    let stopped = Instant::now();
    wait_until("the replica notices the outage", Duration::from_secs(5), || async {
        metric(&metrics_text(&app).await, "hyperfleet_broker_connected") == Some(0.0)
    })
    .await;
    let readyz = Answer::of(app.client.get(format!("{}/readyz", app.health_address)).send().await.unwrap()).await;
    assert_eq!((readyz.status, readyz.body.clone()), (200, json!({"status": "ok", "broker": "unreachable"})));
    let during = changes.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(stopped.elapsed())).await;
    assert!(changes.load(Ordering::SeqCst) > during, "the API kept taking writes while the broker was down");
    broker.start();
    load.await.unwrap();

    let ids = event_ids(&pool).await;
    assert_eq!(ids.len(), changes.load(Ordering::SeqCst), "one event per change");
    let received = collect(&broker.url, &queue, &ids, Duration::from_millis(500), Duration::from_secs(90)).await;
    let per_resource = assert_per_resource_order(&received);
    for (subject, resource_ids) in per_resource {
        assert_eq!(resource_ids.len(), 5, "{subject}: created and four updates");
    }
    wait_until("every event marked published", Duration::from_secs(20), || async { unpublished(&pool).await == 0 })
        .await;
    let metrics = metrics_text(&app).await;
    assert_eq!(metric(&metrics, "hyperfleet_broker_unpublished_events"), Some(0.0), "{metrics}");
    drop(metrics);
    Arc::try_unwrap(app).ok().expect("the load is done").stop().await;
}

/// A `hyperfleet serve` process with its own ports.
struct Replica {
    child: std::process::Child,
    api: String,
    metrics: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn database_url(pool: &PgPool) -> String {
    let options = pool.connect_options();
    let database: String = sqlx::query_scalar("SELECT current_database()").fetch_one(pool).await.unwrap();
    format!("postgres://{}@{}:{}/{database}", options.get_username(), options.get_host(), options.get_port())
}

async fn start_replica(database: &str, broker: &str, exchange: &str, log: &Path) -> Replica {
    let (api, health, metrics) = (free_port(), free_port(), free_port());
    let child = Command::new(BIN)
        .arg("serve")
        .arg("--enable-jwt=false")
        .arg(format!("--api-server-bindaddress=127.0.0.1:{api}"))
        .arg(format!("--health-check-server-bindaddress=127.0.0.1:{health}"))
        .arg(format!("--metrics-server-bindaddress=127.0.0.1:{metrics}"))
        .arg("--api-workers=2")
        .arg(format!("--broker-exchange={exchange}"))
        .env("HYPERFLEET_BROKER_URL", broker)
        .env("HYPERFLEET_DATABASE_URL", database)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("the hyperfleet binary starts");
    let replica =
        Replica { child, api: format!("http://127.0.0.1:{api}"), metrics: format!("http://127.0.0.1:{metrics}") };
    let client = reqwest::Client::new();
    let ready = format!("http://127.0.0.1:{health}/readyz");
    wait_until("the replica is ready", Duration::from_secs(20), || async {
        client.get(&ready).send().await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    replica
}

async fn published_by(client: &reqwest::Client, replica: &Replica) -> f64 {
    let Ok(response) = client.get(format!("{}/metrics", replica.metrics)).send().await else { return 0.0 };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|line| line.starts_with("hyperfleet_broker_published_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn three_replicas_publish_every_event_when_the_publishing_one_is_killed_mid_run(pool: PgPool) {
    let url = broker_url();
    let (exchange, queue) = (unique("hyperfleet.test"), unique("hyperfleet.test.q"));
    bind_queue(&url, &exchange, &queue).await;
    let database = database_url(&pool).await;
    let logs: Vec<PathBuf> =
        (0..3).map(|i| std::env::temp_dir().join(format!("{}-{i}.log", unique("hyperfleet-replica")))).collect();
    let mut replicas = Vec::new();
    for log in &logs {
        replicas.push(start_replica(&database, &url, &exchange, log).await);
    }
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();

    // One event, to learn which replica publishes.
    let first = client.post(format!("{}{CLUSTERS}", replicas[0].api)).body(r#"{"name":"leader-probe","spec":{}}"#);
    assert_eq!(first.send().await.unwrap().status(), 201);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut publisher = None;
    while publisher.is_none() {
        assert!(Instant::now() < deadline, "no replica publishes");
        for (i, replica) in replicas.iter().enumerate() {
            if published_by(&client, replica).await > 0.0 {
                publisher = Some(i);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let publisher = publisher.unwrap();
    let writers: Vec<String> =
        replicas.iter().enumerate().filter(|(i, _)| *i != publisher).map(|(_, r)| r.api.clone()).collect();

    // 999 more changes (200 clusters with four patches each, minus one), written through the two
    // other replicas so every write's outcome is known; the publisher is killed after about 400.
    let done = Arc::new(AtomicUsize::new(1));
    let mut workers = Vec::new();
    for w in 0..8usize {
        let (client, writers, done) = (client.clone(), writers.clone(), Arc::clone(&done));
        workers.push(tokio::spawn(async move {
            for n in (w..200).step_by(8) {
                let api = &writers[n % writers.len()];
                let created = client
                    .post(format!("{api}{CLUSTERS}"))
                    .body(format!(r#"{{"name":"replica-load-{n}","spec":{{}}}}"#))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(created.status(), 201);
                let body: Value = created.json().await.unwrap();
                done.fetch_add(1, Ordering::SeqCst);
                let patches = if n == 199 { 3 } else { 4 };
                for p in 0..patches {
                    let api = &writers[(n + p + 1) % writers.len()];
                    let patched = client
                        .patch(format!("{api}{}", body["href"].as_str().unwrap()))
                        .body(format!(r#"{{"labels":{{"step":"{p}"}}}}"#))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(patched.status(), 200);
                    done.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    wait_until("400 changes", Duration::from_secs(60), || async { done.load(Ordering::SeqCst) >= 400 }).await;
    assert_eq!(unsafe { libc::kill(replicas[publisher].child.id() as i32, libc::SIGKILL) }, 0);
    let _ = replicas[publisher].child.wait();
    for worker in workers {
        worker.await.unwrap();
    }
    assert_eq!(done.load(Ordering::SeqCst), 1000);

    let ids = event_ids(&pool).await;
    assert_eq!(ids.len(), 1000, "one event per change");
    let received = collect(&url, &queue, &ids, Duration::from_secs(1), Duration::from_secs(60)).await;
    let mut arrivals: HashMap<i64, usize> = HashMap::new();
    for message in &received {
        *arrivals.entry(message.id()).or_default() += 1;
    }
    let mut duplicates: Vec<i64> = arrivals.iter().filter(|(_, n)| **n > 1).map(|(id, _)| *id).collect();
    duplicates.sort();
    assert!(arrivals.values().all(|n| *n <= 2), "no event arrives more than twice");
    // Event ids are not dense (they carry the writing transaction's id), so the batch in flight
    // is a run of at most BATCH consecutive events in id order, not a range of BATCH id values.
    let batch = hyperfleet::events::publisher::BATCH as usize;
    let mut in_order: Vec<i64> = ids.iter().copied().collect();
    in_order.sort();
    let positions: Vec<usize> = duplicates.iter().map(|id| in_order.binary_search(id).unwrap()).collect();
    assert!(
        duplicates.len() <= batch && positions.last().zip(positions.first()).is_none_or(|(l, f)| l - f < batch),
        "duplicates only from the one batch in flight at the kill: {duplicates:?} at positions {positions:?}"
    );
    assert_per_resource_order(&received);
    let survivors: Vec<&Replica> =
        replicas.iter().enumerate().filter(|(i, _)| *i != publisher).map(|(_, r)| r).collect();
    let mut after_kill = 0.0;
    for replica in survivors {
        after_kill += published_by(&client, replica).await;
    }
    assert!(after_kill > 0.0, "another replica took over publishing");
    wait_until("every event marked published", Duration::from_secs(20), || async { unpublished(&pool).await == 0 })
        .await;
    drop(replicas);
    for log in logs {
        let _ = std::fs::remove_file(log);
    }
    delete_topology(&url, &exchange, &queue).await;
}
