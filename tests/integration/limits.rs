//! The input limits and timeouts of spec §13.2 and §13.4, as the README documents them:
//! body size (also streamed without `Content-Length`), `search` length, page-size clamp, request
//! head size, the whole-request timeout and the database statement timeout. Each answers with the
//! contract's error body and leaves nothing written.

use std::time::{Duration, Instant};

use futures_util::stream;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::factories::{ClusterFactory, NodePoolFactory};
use crate::helpers::{assert_error, row_counts, spawn_configured, Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;
const CLUSTERS: &str = "/api/hyperfleet/v1/clusters";

fn href(resource: &serde_json::Value) -> String {
    resource["href"].as_str().unwrap().to_owned()
}

/// A create body of exactly `len` bytes.
fn cluster_body_of_len(name: &str, len: usize) -> String {
    let prefix = format!(r#"{{"name":"{name}","spec":{{"x":""#);
    let fill = len - prefix.len() - r#""}}"#.len();
    let body = format!("{prefix}{}\"}}}}", "a".repeat(fill));
    assert_eq!(body.len(), len);
    body
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_configured_body_limit_is_enforced_on_every_write(pool: PgPool) {
    let app = TestApp::spawn_with(pool.clone(), &["--http-max-body-bytes=2048"]).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let node_pool = NodePoolFactory::new(cluster["id"].as_str().unwrap()).create(&app).await;
    let before = row_counts(&pool).await;

    let too_big = cluster_body_of_len("too-big", 2049);
    let report = format!(r#"{{"adapter":"a","observed_generation":1,"data":{{"x":"{}"}}}}"#, "b".repeat(2100));
    let patch = format!(r#"{{"spec":{{"x":"{}"}}}}"#, "c".repeat(2100));
    let cases = [
        (reqwest::Method::POST, CLUSTERS.to_owned(), too_big.clone(), "cluster create"),
        (reqwest::Method::PATCH, href(&cluster), patch.clone(), "cluster patch"),
        (reqwest::Method::POST, format!("{}/nodepools", href(&cluster)), too_big.clone(), "node-pool create"),
        (reqwest::Method::PATCH, href(&node_pool), patch, "node-pool patch"),
        (reqwest::Method::POST, format!("{}/statuses", href(&cluster)), report.clone(), "cluster status"),
        (reqwest::Method::POST, format!("{}/statuses", href(&node_pool)), report, "node-pool status"),
    ];
    for (method, path, body, what) in cases {
        let answer = Answer::of(app.request(method, &path, Some(&body)).await).await;
        assert_eq!(answer.status, 413, "{what}: {}", answer.text);
        assert_error(&answer, 413, 18, "Request body is larger than 2048 bytes");
    }
    assert_eq!(row_counts(&pool).await, before, "nothing was written");

    let answer = Answer::of(app.post(CLUSTERS, &cluster_body_of_len("fits-exactly", 2048)).await).await;
    assert_eq!(answer.status, 201, "a body of exactly the limit is accepted: {}", answer.text);
}

/// A streamed body, as `Transfer-Encoding: chunked` without `Content-Length`.
fn chunked(body: String, chunk: usize) -> reqwest::Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.into_bytes().chunks(chunk).map(|c| Ok(c.to_vec())).collect();
    reqwest::Body::wrap_stream(stream::iter(chunks))
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_chunked_body_is_cut_off_at_the_limit(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let big = cluster_body_of_len("streamed-big", 1_048_577);
    let response =
        app.client.post(app.url(CLUSTERS)).body(chunked(big, 64 * 1024)).send().await.expect("the server answers");
    assert!(response.headers().get("content-length").is_some() || response.status() == 413);
    let answer = Answer::of(response).await;
    assert_error(&answer, 413, 18, "Request body is larger than 1048576 bytes");
    assert_eq!(row_counts(&pool).await.clusters, 0, "nothing was written");

    let fits = cluster_body_of_len("streamed-fits", 1_048_576);
    let answer =
        Answer::of(app.client.post(app.url(CLUSTERS)).body(chunked(fits, 64 * 1024)).send().await.unwrap()).await;
    assert_eq!(answer.status, 201, "a streamed body of exactly the limit is decoded: {}", &answer.text[..100]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_chunked_body_over_a_configured_limit_gets_413(pool: PgPool) {
    let app = TestApp::spawn_with(pool.clone(), &["--http-max-body-bytes=1024"]).await;
    let body = cluster_body_of_len("streamed", 4096);
    let answer = Answer::of(app.client.post(app.url(CLUSTERS)).body(chunked(body, 100)).send().await.unwrap()).await;
    assert_error(&answer, 413, 18, "Request body is larger than 1024 bytes");
    assert_eq!(row_counts(&pool).await.clusters, 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn search_over_4096_characters_is_rejected_on_every_list(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let search = format!("name='{}'", "x".repeat(4090));
    assert_eq!(search.chars().count(), 4097);
    let ok = format!("name='{}'", "x".repeat(4089));
    for list in
        [CLUSTERS.to_owned(), "/api/hyperfleet/v1/nodepools".to_owned(), format!("{}/nodepools", href(&cluster))]
    {
        let answer = Answer::of(app.get(&format!("{list}?search={search}")).await).await;
        assert_error(&answer, 400, 21, "search must be at most 4096 characters");
        let answer = Answer::of(app.get(&format!("{list}?search={ok}")).await).await;
        assert_eq!(answer.status, 200, "{list}: 4096 characters are accepted: {}", answer.text);
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn node_pool_and_event_pages_are_clamped_to_1000(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let cluster = ClusterFactory::new().create(&app).await;
    sqlx::query(
        "INSERT INTO node_pools (id, cluster_id, name, spec, status_last_transition_time, status_updated_at, \
         created_at, updated_at, created_by, updated_by) \
         SELECT gen_random_uuid(), $1::uuid, 'bulk-' || i, '{}', now(), now(), now(), now(), 'system', 'system' \
         FROM generate_series(1, 1001) AS i",
    )
    .bind(cluster["id"].as_str().unwrap())
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO events (source, source_id, event_type) \
         SELECT 'Clusters', $1::uuid, 'Update' FROM generate_series(1, 1001)",
    )
    .bind(cluster["id"].as_str().unwrap())
    .execute(&pool)
    .await
    .unwrap();
    for path in [
        format!("{}/nodepools?pageSize=99999999999999999999999", href(&cluster)),
        "/api/hyperfleet/v1/nodepools?size=1001".to_owned(),
        "/api/hyperfleet/v1/events?pageSize=2147483648".to_owned(),
    ] {
        let body = app.get_json(&path, 200).await;
        assert_eq!(body["size"], 1000, "{path}");
        assert_eq!(body["items"].as_array().unwrap().len(), 1000, "{path}");
    }
}

/// Sends raw bytes and returns the status line and the rest of what the server sent before it
/// closed the connection (writes may fail once the server has answered and hung up).
async fn raw_exchange(app: &TestApp, request: Vec<u8>) -> (String, String) {
    let address = app.address.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let _ = socket.write_all(&request).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server answers and closes the connection");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.lines().next().unwrap_or_default().to_owned();
    (status, text)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn oversized_request_heads_get_431_and_the_server_keeps_serving(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let head = |headers: String| {
        format!("GET /api/hyperfleet HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n").into_bytes()
    };
    // Under the 64 KiB limit (spec §2.9): a 60 KiB header is served.
    let (status, text) = raw_exchange(&app, head(format!("X-Big: {}\r\n", "a".repeat(60 * 1024)))).await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{}", &text[..text.len().min(300)]);
    let cases = [
        (format!("X-Big: {}\r\n", "a".repeat(65 * 1024)), "one header over 64 KiB"),
        ((0..20).map(|i| format!("X-H{i}: {}\r\n", "b".repeat(4096))).collect(), "80 KiB of headers"),
        (format!("X-Big: {}\r\n", "a".repeat(130 * 1024)), "one header over 128 KiB"),
        ((0..40).map(|i| format!("X-H{i}: {}\r\n", "b".repeat(4096))).collect(), "160 KiB of headers"),
        ((0..100).map(|i| format!("X-H{i}: v\r\n")).collect(), "more than 96 headers"),
    ];
    for (headers, what) in cases {
        let (status, _) = raw_exchange(&app, head(headers)).await;
        assert_eq!(status, "HTTP/1.1 431 Request Header Fields Too Large", "{what}");
    }
    let answer = Answer::of(app.get("/api/hyperfleet").await).await;
    assert_eq!(answer.status, 200, "later requests are served");

    // The edge answers with the contract's error body.
    let response = app.client.get(app.url("/api/hyperfleet")).header("x-big", "c".repeat(70 * 1024)).send().await;
    let answer = Answer::of(response.unwrap()).await;
    assert_error(&answer, 431, 17, "Invalid request format: request header fields too large");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn malformed_request_lines_get_400_and_the_server_keeps_serving(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for (request, what) in [
        (b"GARBAGE\r\n\r\n".to_vec(), "no method or path"),
        (b"GET /api/hyperfleet HTTP/9.9\r\n\r\n".to_vec(), "unknown version"),
        (b"GET /api/\x00hyperfleet HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), "NUL in the path"),
        (b"GET /api/hyperfleet HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n".to_vec(), "space in a header name"),
        (
            b"POST /api/hyperfleet/v1/clusters HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
                .to_vec(),
            "two different Content-Length headers",
        ),
        (
            b"POST /api/hyperfleet/v1/clusters HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
                .to_vec(),
            "a bad chunk size",
        ),
    ] {
        let (status, _) = raw_exchange(&app, request).await;
        assert!(status.starts_with("HTTP/1.1 4"), "{what}: {status}");
    }
    assert_eq!(Answer::of(app.get("/api/hyperfleet").await).await.status, 200);
}

/// Holds `FOR UPDATE` on a cluster row from outside the application until dropped.
async fn lock_cluster(pool: &PgPool, id: &str) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM clusters WHERE id = $1::uuid FOR UPDATE").bind(id).execute(&mut *tx).await.unwrap();
    tx
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_write_timeout_answers_503_and_rolls_the_request_back(pool: PgPool) {
    let app = TestApp::spawn_with(pool.clone(), &["--http-write-timeout=700ms"]).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let before = row_counts(&pool).await;
    let lock = lock_cluster(&pool, cluster["id"].as_str().unwrap()).await;

    let started = Instant::now();
    let answer = Answer::of(app.patch(&href(&cluster), r#"{"spec":{"changed":true}}"#).await).await;
    let elapsed = started.elapsed();
    assert_error(&answer, 503, 90, "Request timed out; retry later");
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert!(elapsed >= Duration::from_millis(700) && elapsed < Duration::from_secs(5), "{elapsed:?}");
    lock.rollback().await.unwrap();

    // The PATCH's transaction was dropped with the request: nothing changed, no event.
    let current = app.get_json(&href(&cluster), 200).await;
    assert_eq!(current["spec"], cluster["spec"]);
    assert_eq!(current["generation"], 1);
    assert_eq!(row_counts(&pool).await, before);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_statement_timeout_answers_503_for_lock_waits(pool: PgPool) {
    let app = spawn_configured(&pool, &["--db-statement-timeout=300ms"]).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let node_pool = NodePoolFactory::new(cluster["id"].as_str().unwrap()).create(&app).await;
    let before = row_counts(&pool).await;
    let lock = lock_cluster(&pool, cluster["id"].as_str().unwrap()).await;

    let report = r#"{"adapter":"dns","observed_generation":1,"conditions":[{"type":"Available","status":"True"}]}"#;
    let cases = [
        (reqwest::Method::PATCH, href(&cluster), Some(r#"{"labels":{"a":"b"}}"#), "cluster patch"),
        (reqwest::Method::POST, format!("{}/statuses", href(&cluster)), Some(report), "cluster status"),
        (
            reqwest::Method::POST,
            format!("{}/nodepools", href(&cluster)),
            Some(r#"{"name":"p2","spec":{}}"#),
            "pool create",
        ),
        (reqwest::Method::DELETE, href(&cluster), None, "cluster delete"),
    ];
    for (method, path, body, what) in cases {
        let started = Instant::now();
        let answer = Answer::of(app.request(method, &path, body).await).await;
        assert_eq!(answer.status, 503, "{what}: {}", answer.text);
        assert_error(&answer, 503, 90, "Database request timed out; retry later");
        assert!(started.elapsed() < Duration::from_secs(5), "{what}: {:?}", started.elapsed());
    }
    lock.rollback().await.unwrap();
    assert_eq!(row_counts(&pool).await, before, "every timed-out request was rolled back");
    assert_eq!(app.get_json(&href(&node_pool), 200).await["generation"], 1);
    assert_eq!(app.get_json(&href(&cluster), 200).await["labels"], cluster["labels"]);
}
