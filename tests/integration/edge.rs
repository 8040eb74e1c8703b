//! The HTTP edge over raw TCP (spec §13.2, §2.9, §11.3): what a slow, broken or oversized
//! request gets, byte for byte. Every server here uses `--http-read-timeout=1s`.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::factories::ClusterFactory;
use crate::faults::{database_url, free_port};
use crate::helpers::{assert_error, row_counts, Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;
const CLUSTERS: &str = "/api/hyperfleet/v1/clusters";
const READ_TIMEOUT: Duration = Duration::from_secs(1);

async fn spawn(pool: PgPool) -> TestApp {
    TestApp::spawn_with(pool, &["--http-read-timeout=1s"]).await
}

fn host_port(address: &str) -> &str {
    address.trim_start_matches("http://")
}

/// What the server sent on a connection until it closed it.
struct Exchange {
    bytes: Vec<u8>,
    /// From the last byte sent to the close.
    closed_after: Duration,
}

impl Exchange {
    /// Status, headers (lower-case names) and the body as JSON (`Null` when empty or not JSON).
    fn response(&self) -> (u16, HashMap<String, String>, Value) {
        let text = String::from_utf8_lossy(&self.bytes);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("a complete response: {text:?}"));
        let mut lines = head.lines();
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        (status, headers, serde_json::from_str(body).unwrap_or(Value::Null))
    }
}

/// Sends the parts with `pause` between them, then reads until the server closes (at most
/// `limit`). A reset counts as a close; writes after the server has closed are ignored.
async fn send_raw(address: &str, parts: &[&[u8]], pause: Duration, limit: Duration) -> Exchange {
    let mut socket = TcpStream::connect(host_port(address)).await.unwrap();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(pause).await;
        }
        let _ = socket.write_all(part).await;
    }
    let sent = Instant::now();
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server closes the connection within {limit:?}; got {:?}",
        String::from_utf8_lossy(&bytes)
    );
    Exchange { bytes, closed_after: sent.elapsed() }
}

/// Asserts the connection was closed with nothing written, within the read timeout + 1 s.
#[track_caller]
fn assert_closed_silently(exchange: &Exchange, what: &str) {
    assert!(exchange.bytes.is_empty(), "{what}: no response, got {:?}", String::from_utf8_lossy(&exchange.bytes));
    assert!(
        exchange.closed_after <= READ_TIMEOUT + Duration::from_secs(1),
        "{what}: closed after {:?}",
        exchange.closed_after
    );
}

/// Asserts an edge answer of the API listener: status, the error body, `X-Operation-ID`, close.
#[track_caller]
fn assert_edge_error(exchange: &Exchange, status: u16, reason: &str) {
    let (got, headers, body) = exchange.response();
    let answer = Answer {
        status: got,
        headers: headers
            .iter()
            .map(|(n, v)| (n.parse::<reqwest::header::HeaderName>().unwrap(), v.parse().unwrap()))
            .collect(),
        body,
        text: String::from_utf8_lossy(&exchange.bytes).into_owned(),
    };
    assert_error(&answer, status, 17, reason);
    assert_eq!(answer.header("connection"), Some("close"), "{}", answer.text);
}

async fn metric(app: &TestApp, series: &str) -> f64 {
    let text = app.client.get(format!("{}/metrics", app.metrics_address)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{series} is exposed"))
}

fn post_head(length: usize) -> String {
    format!("POST {CLUSTERS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_body_that_stops_short_of_its_length_is_closed_without_a_response(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let before = row_counts(&pool).await;
    let head = post_head(100);
    let started = Instant::now();
    let exchange =
        send_raw(&app.address, &[head.as_bytes(), b"{\"name\":\"x"], Duration::ZERO, Duration::from_secs(5)).await;
    assert_closed_silently(&exchange, "10 of 100 body bytes");
    assert!(started.elapsed() >= READ_TIMEOUT, "not before the read timeout: {:?}", started.elapsed());
    assert_eq!(row_counts(&pool).await, before, "nothing was written");
    assert_eq!(metric(&app, "hyperfleet_http_read_timeouts_total").await, 1.0);
    assert_eq!(Answer::of(app.get("/api/hyperfleet").await).await.status, 200, "the server keeps serving");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_half_sent_head_is_closed_without_a_response_on_every_listener(pool: PgPool) {
    let app = spawn(pool).await;
    for (address, what) in [(&app.address, "api"), (&app.health_address, "health"), (&app.metrics_address, "metrics")] {
        let exchange = send_raw(address, &[b"GET /api/hyperfleet HT"], Duration::ZERO, Duration::from_secs(5)).await;
        assert_closed_silently(&exchange, &format!("{what}: half a request line"));
        let exchange = send_raw(
            address,
            &[b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half: "],
            Duration::ZERO,
            Duration::from_secs(5),
        )
        .await;
        assert_closed_silently(&exchange, &format!("{what}: half a header"));
        let exchange = send_raw(address, &[], Duration::ZERO, Duration::from_secs(5)).await;
        assert_closed_silently(&exchange, &format!("{what}: a connection that never sends"));
    }
    assert_eq!(metric(&app, "hyperfleet_http_read_timeouts_total").await, 9.0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_chunked_body_that_stalls_is_closed_without_a_response(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let head = format!("POST {CLUSTERS} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    let exchange =
        send_raw(&app.address, &[head.as_bytes(), b"5\r\n{\"nam\r\n"], Duration::ZERO, Duration::from_secs(5)).await;
    assert_closed_silently(&exchange, "a streamed body without its last chunk");
    assert_eq!(row_counts(&pool).await.clusters, 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_trickled_head_is_cut_at_the_read_timeout_counted_from_its_first_byte(pool: PgPool) {
    let app = spawn(pool).await;
    let mut socket = TcpStream::connect(host_port(&app.address)).await.unwrap();
    let started = Instant::now();
    // One byte every 200 ms would keep a per-read timeout happy for ever.
    let mut closed = false;
    for byte in b"GET /api/hyperfleet HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
        if socket.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 64];
        if let Ok(read) = tokio::time::timeout(Duration::from_millis(200), socket.read(&mut buf)).await {
            assert!(matches!(read, Ok(0) | Err(_)), "no response bytes: {read:?}");
            closed = true;
            break;
        }
    }
    assert!(closed, "the server closed the connection");
    let elapsed = started.elapsed();
    assert!(elapsed >= READ_TIMEOUT && elapsed <= READ_TIMEOUT + Duration::from_secs(1), "closed after {elapsed:?}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_body_sent_slowly_but_within_the_read_timeout_is_served(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--http-read-timeout=3s"]).await;
    let body = br#"{"name":"slow-but-fine","spec":{}}"#;
    let head = post_head(body.len()).into_bytes();
    // Head, then the body in four pieces 400 ms apart: 1.6 s in all, under the 3 s limit.
    let parts: Vec<&[u8]> = vec![&head, &body[..8], &body[8..16], &body[16..24], &body[24..]];
    let exchange = send_raw(&app.address, &parts, Duration::from_millis(400), Duration::from_secs(10)).await;
    let (status, headers, created) = exchange.response();
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], "slow-but-fine");
    assert!(headers.contains_key("x-operation-id"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_handler_slower_than_the_read_timeout_is_not_cut_off(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let id = cluster["id"].as_str().unwrap().to_owned();
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM clusters WHERE id = $1::uuid FOR UPDATE").bind(&id).execute(&mut *lock).await.unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1800)).await;
        lock.rollback().await.unwrap();
    });
    // The request arrives whole at once; its handler then waits 1.8 s on the row lock.
    let answer = Answer::of(app.patch(&format!("{CLUSTERS}/{id}"), r#"{"labels":{"slow":"handler"}}"#).await).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["labels"]["slow"], "handler");
    release.await.unwrap();
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn oversized_heads_get_431_with_the_error_body_and_the_connection_closes(pool: PgPool) {
    let app = spawn(pool).await;
    let cases = [
        (
            format!("GET /api/hyperfleet?q={} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(66 * 1024)),
            "request line over 64 KiB",
        ),
        (format!("GET /api/hyperfleet HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(65 * 1024)), "one header"),
        (format!("GET /api/hyperfleet HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(200 * 1024)), "200 KiB"),
        (
            format!(
                "GET /api/hyperfleet HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..100).map(|i| format!("X-H{i}: v\r\n")).collect::<String>()
            ),
            "more than 96 headers",
        ),
    ];
    for (request, what) in &cases {
        let exchange = send_raw(&app.address, &[request.as_bytes()], Duration::ZERO, Duration::from_secs(5)).await;
        assert_edge_error(&exchange, 431, "Invalid request format: request header fields too large");
        let (_, headers, _) = exchange.response();
        assert!(headers.contains_key("x-operation-id"), "{what}");
    }
    assert_eq!(metric(&app, "hyperfleet_http_protocol_errors_total{kind=\"head_too_large\"}").await, 4.0);

    // The ops servers answer 431 with an empty body (they never send the JSON error body).
    let request = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(65 * 1024));
    let exchange = send_raw(&app.health_address, &[request.as_bytes()], Duration::ZERO, Duration::from_secs(5)).await;
    let (status, headers, body) = exchange.response();
    assert_eq!((status, body), (431, Value::Null));
    assert_eq!(headers.get("content-length").map(String::as_str), Some("0"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn broken_heads_get_400_with_the_error_body_and_the_connection_closes(pool: PgPool) {
    let app = spawn(pool).await;
    let cases: &[(&[u8], &str, &str)] = &[
        (b"GARBAGE\r\n\r\n", "malformed request line", "no target"),
        (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", "malformed request line", "a TLS client hello"),
        (b"GET /api/hyperfleet HTTP/9.9\r\nHost: x\r\n\r\n", "malformed request line", "unknown version"),
        (b"GET /api/\x00hyperfleet HTTP/1.1\r\nHost: x\r\n\r\n", "malformed request line", "NUL in the target"),
        (
            b"GET /api/hyperfleet HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n",
            "malformed request header",
            "space in a name",
        ),
        (b"GET /api/hyperfleet HTTP/1.1\r\n\r\n", "malformed request header", "no Host"),
        (
            b"POST /api/hyperfleet/v1/clusters HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "malformed request header",
            "two Content-Length headers",
        ),
        (
            b"POST /api/hyperfleet/v1/clusters HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            "malformed request header",
            "a transfer coding other than chunked",
        ),
    ];
    for (request, reason, what) in cases {
        let exchange = send_raw(&app.address, &[request], Duration::ZERO, Duration::from_secs(5)).await;
        assert!(!exchange.bytes.is_empty(), "{what}: answered");
        assert_edge_error(&exchange, 400, &format!("Invalid request format: {reason}"));
    }
    assert_eq!(metric(&app, "hyperfleet_http_protocol_errors_total{kind=\"request_line\"}").await, 4.0);
    assert_eq!(metric(&app, "hyperfleet_http_protocol_errors_total{kind=\"header\"}").await, 4.0);

    let exchange = send_raw(&app.metrics_address, &[b"GARBAGE\r\n\r\n"], Duration::ZERO, Duration::from_secs(5)).await;
    let (status, _, body) = exchange.response();
    assert_eq!((status, body), (400, Value::Null), "the ops servers answer with an empty body");
    assert_eq!(Answer::of(app.get("/api/hyperfleet").await).await.status, 200, "the server keeps serving");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_broken_chunked_body_is_answered_by_the_request_with_the_error_body(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let request = format!("POST {CLUSTERS} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    let exchange = send_raw(&app.address, &[request.as_bytes()], Duration::ZERO, Duration::from_secs(5)).await;
    let (status, headers, body) = exchange.response();
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "hyperfleet-17");
    assert_eq!(body["operation_id"].as_str(), headers.get("x-operation-id").map(String::as_str));
    assert_eq!(row_counts(&pool).await.clusters, 0);
    assert_eq!(metric(&app, "hyperfleet_http_protocol_errors_total{kind=\"body\"}").await, 1.0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_broken_request_after_a_good_one_on_the_same_connection_gets_both_answers_in_order(pool: PgPool) {
    let app = spawn(pool).await;
    let exchange = send_raw(
        &app.address,
        &[b"GET /api/hyperfleet HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP\r\n\r\n"],
        Duration::ZERO,
        Duration::from_secs(5),
    )
    .await;
    let text = String::from_utf8_lossy(&exchange.bytes);
    let second = text.find("HTTP/1.1 400 Bad Request").unwrap_or_else(|| panic!("a 400 follows: {text}"));
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    let rest = Exchange { bytes: exchange.bytes[second..].to_vec(), closed_after: exchange.closed_after };
    assert_edge_error(&rest, 400, "Invalid request format: malformed request line");
}

/// Runs the real binary with JSON logs at `debug` on stderr, sends every kind of client fault
/// and a read timeout, stops it, and returns the log records.
async fn faults_logged_by_the_binary(pool: &PgPool) -> Vec<Value> {
    let log = std::env::temp_dir().join(format!("hyperfleet-edge-{}-{}.log", std::process::id(), free_port()));
    let (api_port, health_port, metrics_port) = (free_port(), free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_hyperfleet"))
        .args(["serve", "--enable-jwt=false", "--log-format=json", "--log-level=debug", "--http-read-timeout=1s"])
        .arg(format!("--api-server-bindaddress=127.0.0.1:{api_port}"))
        .arg(format!("--health-check-server-bindaddress=127.0.0.1:{health_port}"))
        .arg(format!("--metrics-server-bindaddress=127.0.0.1:{metrics_port}"))
        .env("HYPERFLEET_DATABASE_URL", database_url(pool).await)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("the hyperfleet binary starts");
    let api = format!("127.0.0.1:{api_port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(&api).await.is_err() {
        assert!(Instant::now() < deadline, "the binary listens");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let big = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(200 * 1024));
    let requests: Vec<&[u8]> = vec![
        b"GARBAGE\r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n",
        b"POST /api/hyperfleet/v1/clusters HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        big.as_bytes(),
        b"GET / HT",
    ];
    for request in requests {
        send_raw(&api, &[request], Duration::ZERO, Duration::from_secs(5)).await;
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a JSON record ({e}): {l}"))).collect()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn client_protocol_errors_are_logged_at_debug_and_never_at_error(pool: PgPool) {
    let records = faults_logged_by_the_binary(&pool).await;
    let errors: Vec<_> = records.iter().filter(|r| r["level"] == "ERROR").collect();
    assert!(errors.is_empty(), "no error records: {errors:?}");
    let faults: Vec<_> = records
        .iter()
        .filter(|r| r["message"].as_str().is_some_and(|m| m.starts_with("client protocol error")))
        .collect();
    assert_eq!(faults.len(), 5, "one record per fault: {faults:?}");
    assert!(faults.iter().all(|r| r["level"] == "DEBUG"), "{faults:?}");
    let timeouts = records.iter().filter(|r| r["message"].as_str().is_some_and(|m| m.contains("read timeout"))).count();
    assert_eq!(timeouts, 1, "the stalled head is logged once");
}
