//! The watch stream (Server-Sent Events): format, cursor, filters, lossless resume, limits,
//! slow consumers, shutdown, and delivery on every replica.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::events::{all_events, eventually, metrics_text};
use crate::factories::{ClusterFactory, NodePoolFactory};
use crate::helpers::{assert_error, settings_from_flags, Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;
const WATCH: &str = "/api/hyperfleet/v1/watch";

/// One piece of an SSE stream.
#[derive(Debug, Clone, PartialEq)]
enum Frame {
    Retry(String),
    KeepAlive,
    Event { id: i64, raw_data: String, data: Value },
}

/// A watch stream read frame by frame (frames end with an empty line).
struct Sse {
    response: reqwest::Response,
    buffer: String,
}

async fn request_watch(app: &TestApp, query: &str, last_event_id: Option<&[u8]>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(app.url(&format!("{WATCH}{query}")));
    if let Some(value) = last_event_id {
        request = request.header("Last-Event-ID", reqwest::header::HeaderValue::from_bytes(value).unwrap());
    }
    request.send().await.expect("the watch request is answered")
}

impl Sse {
    async fn open(app: &TestApp, query: &str, last_event_id: Option<&str>) -> Sse {
        let response = request_watch(app, query, last_event_id.map(str::as_bytes)).await;
        assert_eq!(response.status(), 200, "opening {query}");
        let mut sse = Sse { response, buffer: String::new() };
        assert_eq!(sse.frame().await, Some(Frame::Retry("3000".into())), "every stream starts with retry");
        sse
    }

    /// The next raw frame (without its empty line), or `None` when the stream ends.
    async fn raw_frame(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame = self.buffer[..end].to_owned();
                self.buffer.drain(..end + 2);
                return Some(frame);
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("the stream sends something within 10 s");
            match chunk {
                Ok(Some(bytes)) => self.buffer.push_str(std::str::from_utf8(&bytes).expect("UTF-8")),
                Ok(None) | Err(_) => {
                    assert_eq!(self.buffer, "", "the stream ended inside a frame");
                    return None;
                }
            }
        }
    }

    async fn frame(&mut self) -> Option<Frame> {
        let raw = self.raw_frame().await?;
        if raw == ": keep-alive" {
            return Some(Frame::KeepAlive);
        }
        if let Some(value) = raw.strip_prefix("retry: ") {
            return Some(Frame::Retry(value.to_owned()));
        }
        let lines: Vec<&str> = raw.split('\n').collect();
        assert_eq!(lines.len(), 2, "an event is an id line and a data line: {raw:?}");
        let id = lines[0].strip_prefix("id: ").unwrap_or_else(|| panic!("id line: {raw:?}"));
        let raw_data = lines[1].strip_prefix("data: ").unwrap_or_else(|| panic!("data line: {raw:?}")).to_owned();
        let data: Value = serde_json::from_str(&raw_data).expect("data is JSON");
        assert_eq!(data["id"], id, "the id line repeats the event id");
        Some(Frame::Event { id: id.parse().unwrap(), raw_data, data })
    }

    /// The next event, skipping keep-alives; `None` when the stream ends.
    async fn event(&mut self) -> Option<(i64, Value)> {
        loop {
            match self.frame().await? {
                Frame::Event { id, data, .. } => return Some((id, data)),
                Frame::KeepAlive => {}
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Events until one with an id of at least `last` (inclusive).
    async fn events_through(&mut self, last: i64) -> Vec<(i64, Value)> {
        let mut events = Vec::new();
        while events.last().is_none_or(|(id, _)| *id < last) {
            events.push(self.event().await.expect("the stream stays open"));
        }
        events
    }
}

fn ids(events: &[(i64, Value)]) -> Vec<i64> {
    events.iter().map(|(id, _)| *id).collect()
}

fn list_ids(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["id"].as_str().unwrap().parse().unwrap()).collect()
}

async fn max_event_id(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT COALESCE(max(id), 0) FROM events").fetch_one(pool).await.unwrap()
}

fn metric_line_present(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_watch_stream_speaks_server_sent_events(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--watch-keepalive-interval=200ms"]).await;
    let response = request_watch(&app, "", None).await;
    assert_eq!(response.status(), 200);
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("content-type").as_deref(), Some("text/event-stream"));
    assert_eq!(header("cache-control").as_deref(), Some("no-cache"));
    assert_eq!(header("x-accel-buffering").as_deref(), Some("no"));
    assert!(header("x-operation-id").is_some());
    assert!(header("content-encoding").is_none(), "never compressed");
    let mut sse = Sse { response, buffer: String::new() };
    assert_eq!(sse.raw_frame().await.as_deref(), Some("retry: 3000"), "the first bytes are exactly the retry line");

    let cluster = ClusterFactory::new().create(&app).await;
    let (id, raw) = loop {
        match sse.frame().await.unwrap() {
            Frame::Event { id, raw_data, .. } => break (id, raw_data),
            Frame::KeepAlive => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    let cid = cluster["id"].as_str().unwrap();
    let prefix = format!(
        r#"{{"kind":"Event","id":"{id}","source":"Clusters","source_id":"{cid}","source_href":"/api/hyperfleet/v1/clusters/{cid}","event_type":"Create","created_at":"{}""#,
        cluster["created_at"].as_str().unwrap()
    );
    assert!(raw.starts_with(&prefix), "compact JSON in the contract's member order:\n{raw}\n{prefix}");
    let rest = &raw[prefix.len()..];
    let sample = r#","reconciled_at":"2025-11-13T10:07:00.004211Z"}"#;
    let reconciled_ok = rest == "}"
        || (rest.starts_with(r#","reconciled_at":""#) && rest.ends_with(r#"Z"}"#) && rest.len() == sample.len());
    assert!(reconciled_ok, "reconciled_at is omitted or a timestamp: {rest}");

    assert_eq!(sse.frame().await, Some(Frame::KeepAlive), "an idle stream gets keep-alive comments");
    assert_eq!(sse.frame().await, Some(Frame::KeepAlive), "and again after each interval");

    let counted = r#"api_inbound_request_count{code="200",method="GET",path="/api/hyperfleet/v1/watch"} 1"#;
    let text = metrics_text(&app).await;
    assert!(!metric_line_present(&text, counted), "an open stream is not counted yet");
    assert!(metric_line_present(&text, "hyperfleet_watch_subscribers 1"), "{text}");
    drop(sse);
    eventually("the ended stream is counted and released", || async {
        let text = metrics_text(&app).await;
        metric_line_present(&text, counted) && metric_line_present(&text, "hyperfleet_watch_subscribers 0")
    })
    .await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_cursor_is_last_event_id_then_after_then_the_newest_event(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for _ in 0..3 {
        ClusterFactory::new().create(&app).await;
    }
    let e = list_ids(&all_events(&app).await);
    let (e1, e2, e3) = (e[0], e[1], e[2]);

    let mut replay = Sse::open(&app, "?after=0", None).await;
    assert_eq!(ids(&replay.events_through(e3).await), vec![e1, e2, e3], "0 replays the whole log");
    let mut from_header = Sse::open(&app, "?after=0", Some(&e2.to_string())).await;
    let mut from_after = Sse::open(&app, &format!("?after={e1}"), Some("")).await;
    let mut newest = Sse::open(&app, "", None).await;
    let mut beyond = Sse::open(&app, &format!("?after={e3}"), None).await;

    ClusterFactory::new().create(&app).await;
    let e4 = list_ids(&all_events(&app).await)[3];
    assert_eq!(ids(&replay.events_through(e4).await), vec![e4], "then live events");
    assert_eq!(ids(&from_header.events_through(e4).await), vec![e3, e4], "the header wins over after");
    assert_eq!(ids(&from_after.events_through(e4).await), vec![e2, e3, e4], "an empty header counts as absent");
    assert_eq!(ids(&newest.events_through(e4).await), vec![e4], "without a cursor only new events");
    assert_eq!(ids(&beyond.events_through(e4).await), vec![e4], "a cursor at the newest event");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn watch_filters_select_the_matching_events(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let a = ClusterFactory::new().create(&app).await;
    let a_id = a["id"].as_str().unwrap().to_owned();
    let queries = [
        "?after=0&source=NodePools".to_owned(),
        "?after=0&event_type=Update,Delete".to_owned(),
        format!("?after=0&source_id={a_id}"),
        "?after=0&source=Clusters&event_type=Create".to_owned(),
    ];
    // Opened before most writes: each sees a backlog, then live events.
    let mut streams = Vec::new();
    for query in &queries {
        streams.push(Sse::open(&app, query, None).await);
    }
    let b = ClusterFactory::new().create(&app).await;
    let np = NodePoolFactory::new(&a_id).create(&app).await;
    assert_eq!(app.patch(b["href"].as_str().unwrap(), r#"{"spec":{"v":2}}"#).await.status(), 200);
    assert_eq!(app.patch(np["href"].as_str().unwrap(), r#"{"spec":{"v":2}}"#).await.status(), 200);
    assert_eq!(app.delete(a["href"].as_str().unwrap()).await.status(), 204);

    let all = all_events(&app).await;
    let select = |keep: &dyn Fn(&Value) -> bool| -> Vec<i64> {
        list_ids(&all.iter().filter(|e| keep(e)).cloned().collect::<Vec<_>>())
    };
    let expected = [
        select(&|e| e["source"] == "NodePools"),
        select(&|e| e["event_type"] != "Create"),
        select(&|e| e["source_id"] == a_id.as_str()),
        select(&|e| e["source"] == "Clusters" && e["event_type"] == "Create"),
    ];
    for ((stream, query), expected) in streams.iter_mut().zip(&queries).zip(&expected) {
        let got = stream.events_through(*expected.last().unwrap()).await;
        assert_eq!(ids(&got), *expected, "live: {query}");
        // The same filter on a fresh stream reads everything from the table.
        let mut replay = Sse::open(&app, query, None).await;
        assert_eq!(ids(&replay.events_through(*expected.last().unwrap()).await), *expected, "backlog: {query}");
        for (_, data) in &got {
            let listed = all.iter().find(|e| e["id"] == data["id"]).unwrap();
            assert_eq!(data["source_href"], listed["source_href"], "{query}");
            assert_eq!(data["created_at"], listed["created_at"], "{query}");
        }
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn resuming_with_last_event_id_repeats_and_loses_nothing_while_writes_continue(pool: PgPool) {
    let app = TestApp::spawn_with(pool.clone(), &["--watch-keepalive-interval=200ms"]).await;
    let done = AtomicBool::new(false);
    let writer = async {
        for i in 0..60 {
            let cluster = ClusterFactory::new().create(&app).await;
            let href = cluster["href"].as_str().unwrap();
            assert_eq!(app.patch(href, &format!(r#"{{"spec":{{"i":{i}}}}}"#)).await.status(), 200);
            if i % 4 == 0 {
                NodePoolFactory::new(cluster["id"].as_str().unwrap()).create(&app).await;
                assert_eq!(app.delete(href).await.status(), 204);
            }
        }
        done.store(true, Ordering::SeqCst);
    };
    let watcher = async {
        let mut received = Vec::new();
        let mut cursor = "0".to_owned();
        let mut connections = 0;
        'streams: loop {
            connections += 1;
            let mut sse = Sse::open(&app, "", Some(&cursor)).await;
            let mut taken = 0;
            // Disconnect after a few events, mid-stream, while the writer keeps going.
            while taken < 17 {
                match sse.frame().await.expect("the stream stays open") {
                    Frame::Event { id, .. } => {
                        received.push(id);
                        cursor = id.to_string();
                        taken += 1;
                    }
                    Frame::KeepAlive if done.load(Ordering::SeqCst) => {
                        if received.last().copied().unwrap_or(0) == max_event_id(&pool).await {
                            break 'streams;
                        }
                    }
                    Frame::KeepAlive => {}
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        (received, connections)
    };
    let ((), (received, connections)) = tokio::join!(writer, watcher);
    let expected = list_ids(&all_events(&app).await);
    assert_eq!(expected.len(), 60 * 2 + 15 * 3);
    assert!(connections > 5, "the watcher reconnected {connections} times");
    assert_eq!(received, expected, "every event exactly once, in order");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn bad_watch_parameters_are_rejected_before_streaming(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let header = "Last-Event-ID must be a non-negative integer";
    let after = "after must be a non-negative integer";
    let cases: [(Option<&[u8]>, &str, &str, &str); 12] = [
        (Some(b"abc"), "", header, "letters"),
        (Some(b"-1"), "", header, "negative"),
        (Some(b"1.5"), "", header, "fraction"),
        (Some(b"9223372036854775808"), "", header, "beyond 2^63-1"),
        (Some(b"\xff"), "", header, "not text"),
        (Some(b"x"), "?after=1&source=bad", header, "the header is checked first"),
        (None, "?after=x", after, "after"),
        (Some(b""), "?after=-5", after, "an empty header counts as absent"),
        (None, "?source=Cluster", "source must be a comma-separated list of: Clusters, NodePools", "source"),
        (None, "?source_id=1", "source_id must be a UUID", "source_id"),
        (
            None,
            "?event_type=Created",
            "event_type must be a comma-separated list of: Create, Update, Delete",
            "event_type",
        ),
        (None, "?after=z&source=x&event_type=y", after, "after before the filters"),
    ];
    for (last_event_id, query, reason, why) in cases {
        let answer = Answer::of(request_watch(&app, query, last_event_id).await).await;
        assert_eq!(answer.status, 400, "{why}: {}", answer.text);
        assert_error(&answer, 400, 21, reason);
    }
    // `after` is not read when the header gives the cursor.
    let response = request_watch(&app, "?after=x", Some(b"5")).await;
    assert_eq!(response.status(), 200, "after is ignored next to a valid header");
    let text = metrics_text(&app).await;
    assert!(metric_line_present(&text, "hyperfleet_watch_subscribers 1"), "rejected requests open nothing: {text}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_watch_route_answers_head_options_and_wrong_methods(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--watch-max-subscribers=1"]).await;
    let head = app.request(reqwest::Method::HEAD, WATCH, None).await;
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers().get("content-type").unwrap(), "text/event-stream");
    assert_eq!(head.headers().get("cache-control").unwrap(), "no-cache");
    assert_eq!(head.text().await.unwrap(), "", "HEAD has no body and opens no stream");
    let options = app.request(reqwest::Method::OPTIONS, WATCH, None).await;
    assert_eq!(options.status(), 204);
    assert_eq!(options.headers().get("allow").unwrap(), "GET, HEAD, OPTIONS");
    let answer = Answer::of(app.post(WATCH, "{}").await).await;
    assert_error(&answer, 405, 10, "HTTP Method not implemented for this endpoint");
    let bad = app.request(reqwest::Method::HEAD, &format!("{WATCH}?after=x"), None).await;
    assert_eq!(bad.status(), 400, "HEAD validates like GET");

    let _stream = Sse::open(&app, "", None).await;
    let head = app.request(reqwest::Method::HEAD, WATCH, None).await;
    assert_eq!(head.status(), 503, "HEAD reports a full replica like GET");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_replica_refuses_more_than_the_maximum_subscribers(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--watch-max-subscribers=2", "--watch-keepalive-interval=100ms"]).await;
    let first = Sse::open(&app, "", None).await;
    let _second = Sse::open(&app, "?source=Clusters", None).await;
    let answer = Answer::of(request_watch(&app, "", None).await).await;
    assert_error(&answer, 503, 90, "Too many watch subscribers; retry later");
    assert_eq!(answer.header("retry-after"), Some("1"));
    let text = metrics_text(&app).await;
    assert!(metric_line_present(&text, "hyperfleet_watch_subscribers 2"), "{text}");
    assert!(!metric_line_present(&text, r#"hyperfleet_db_errors_total{kind="unavailable"} 1"#), "not a database error");

    drop(first);
    eventually("the closed stream frees its slot", || async {
        metric_line_present(&metrics_text(&app).await, "hyperfleet_watch_subscribers 1")
    })
    .await;
    let mut third = Sse::open(&app, "?after=0", None).await;
    ClusterFactory::new().create(&app).await;
    assert!(third.event().await.is_some(), "the new stream works");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_consumer_that_falls_behind_is_closed_and_resumes_from_the_table(pool: PgPool) {
    let mut settings = settings_from_flags(&[]);
    settings.events.watch_queue_limit = 5;
    let app = TestApp::spawn_settings(pool.clone(), settings).await;
    let mut sse = Sse::open(&app, "?after=0", None).await;
    // One transaction writes 50 events: the tailer reads them at once, more than the stream's
    // queue holds, so the stream is closed instead of buffering without bound.
    sqlx::query(
        "WITH inserted AS (INSERT INTO events (source, source_id, event_type) \
                           SELECT 'Clusters', gen_random_uuid(), 'Create' FROM generate_series(1, 50) \
                           RETURNING id) \
         SELECT pg_notify('events', id::text) FROM inserted",
    )
    .execute(&pool)
    .await
    .unwrap();
    let mut received = Vec::new();
    while let Some(frame) = sse.frame().await {
        if let Frame::Event { id, .. } = frame {
            received.push(id);
        }
    }
    assert!(received.len() < 50, "the stream was closed early, after {} events", received.len());

    let cursor = received.last().copied().unwrap_or(0).to_string();
    let mut resumed = Sse::open(&app, "", Some(&cursor)).await;
    let all = list_ids(&all_events(&app).await);
    let rest = resumed.events_through(*all.last().unwrap()).await;
    received.extend(ids(&rest));
    assert_eq!(received, all, "nothing lost, nothing repeated");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn watch_streams_end_when_the_replica_shuts_down(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let mut first = Sse::open(&app, "?source=NodePools", None).await;
    let mut second = Sse::open(&app, "?after=0", None).await;
    ClusterFactory::new().create(&app).await;
    assert!(second.event().await.is_some());
    let started = Instant::now();
    let exit = app.stop().await;
    assert_eq!(exit, 0, "open streams do not hold up the drain");
    assert!(started.elapsed() < Duration::from_secs(5), "stopped in {:?}", started.elapsed());
    assert_eq!(first.event().await, None, "the idle stream ended");
    assert_eq!(second.event().await, None, "the busy stream ended");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_replica_streams_the_events_written_through_any_replica(pool: PgPool) {
    let replica_pool = || PgPoolOptions::new().max_connections(5).connect_lazy_with((*pool.connect_options()).clone());
    let writer = TestApp::spawn(replica_pool()).await;
    let reader = TestApp::spawn(replica_pool()).await;
    let mut sse = Sse::open(&reader, "?after=0", None).await;
    let cluster = ClusterFactory::new().create(&writer).await;
    NodePoolFactory::new(cluster["id"].as_str().unwrap()).create(&writer).await;
    let expected = list_ids(&all_events(&writer).await);
    assert_eq!(ids(&sse.events_through(expected[1]).await), expected);
    assert_eq!(writer.stop().await, 0);
    assert_eq!(reader.stop().await, 0);
}
