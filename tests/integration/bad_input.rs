//! The bad-input corpus (spec §13.6): hostile and broken requests against every endpoint.
//! Each case must get its 4xx with the contract's error body, and write nothing: the rows of
//! every table are counted before and after each case.

use reqwest::Method;
use serde_json::json;
use sqlx::PgPool;

use crate::factories::{ClusterFactory, NodePoolFactory};
use crate::helpers::{assert_error_shape, row_counts, Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;

/// `{c}` and `{p}` in a path stand for the ids of an existing cluster and node pool.
const CLUSTERS: &str = "/api/hyperfleet/v1/clusters";
const CLUSTER: &str = "/api/hyperfleet/v1/clusters/{c}";
const CLUSTER_STATUSES: &str = "/api/hyperfleet/v1/clusters/{c}/statuses";
const POOLS: &str = "/api/hyperfleet/v1/clusters/{c}/nodepools";
const POOL: &str = "/api/hyperfleet/v1/clusters/{c}/nodepools/{p}";
const POOL_STATUSES: &str = "/api/hyperfleet/v1/clusters/{c}/nodepools/{p}/statuses";
const ALL_POOLS: &str = "/api/hyperfleet/v1/nodepools";
const EVENTS: &str = "/api/hyperfleet/v1/events";

struct Case {
    why: String,
    method: Method,
    path: String,
    body: Option<Vec<u8>>,
    headers: Vec<(&'static str, String)>,
    status: u16,
    code: u16,
    /// A part the reason must contain, when the corpus pins it.
    reason: Option<&'static str>,
}

fn case(why: impl Into<String>, method: Method, path: &str, body: Option<Vec<u8>>, status: u16, code: u16) -> Case {
    Case { why: why.into(), method, path: path.to_owned(), body, headers: Vec::new(), status, code, reason: None }
}

impl Case {
    fn reason(mut self, part: &'static str) -> Self {
        self.reason = Some(part);
        self
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// Every endpoint that reads a body, with a valid body to derive broken ones from.
fn write_endpoints() -> Vec<(&'static str, Method, &'static str, serde_json::Value)> {
    let report = json!({"adapter": "dns", "observed_generation": 1,
        "conditions": [{"type": "Available", "status": "True"}]});
    vec![
        ("cluster create", Method::POST, CLUSTERS, json!({"kind": "Cluster", "name": "corpus", "spec": {}})),
        ("cluster patch", Method::PATCH, CLUSTER, json!({"spec": {"a": 1}})),
        ("node-pool create", Method::POST, POOLS, json!({"kind": "NodePool", "name": "corpus", "spec": {}})),
        ("node-pool patch", Method::PATCH, POOL, json!({"labels": {"a": "b"}})),
        ("cluster status", Method::POST, CLUSTER_STATUSES, report.clone()),
        ("node-pool status", Method::POST, POOL_STATUSES, report),
    ]
}

/// Bodies that cannot be decoded at all: 400 `hyperfleet-17` on every write endpoint.
fn undecodable_bodies(valid: &serde_json::Value) -> Vec<(&'static str, Vec<u8>)> {
    let text = valid.to_string();
    let first = valid.as_object().unwrap().keys().next().unwrap().clone();
    let first_value = valid[&first].to_string();
    let deep_arrays = format!("{{\"{first}\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_objects = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let mut invalid_utf8 = text.clone().into_bytes();
    invalid_utf8.splice(1..1, b"\"\xff\xfe\":1,".iter().copied());
    let mut raw_nul = text.clone().into_bytes();
    raw_nul.splice(1..1, b"\"a\x00b\":1,".iter().copied());
    vec![
        ("empty body", Vec::new()),
        ("blank body", b" \r\n\t ".to_vec()),
        ("truncated at the start", b"{".to_vec()),
        ("truncated in the middle", text.as_bytes()[..text.len() / 2].to_vec()),
        ("truncated before the last brace", text.as_bytes()[..text.len() - 1].to_vec()),
        ("a closing brace only", b"}".to_vec()),
        ("an array", b"[]".to_vec()),
        ("a string", b"\"text\"".to_vec()),
        ("a number", b"123".to_vec()),
        ("null", b"null".to_vec()),
        ("single quotes", text.replace('"', "'").into_bytes()),
        ("two objects", format!("{text}{text}").into_bytes()),
        ("trailing garbage", format!("{text} trailing").into_bytes()),
        ("a byte-order mark", format!("\u{feff}{text}").into_bytes()),
        ("invalid UTF-8 in a member name", invalid_utf8),
        ("a raw NUL byte inside a string", raw_nul),
        ("a lone surrogate escape", format!("{{\"{first}\":\"\\ud800\"}}").into_bytes()),
        ("a truncated unicode escape", format!("{{\"{first}\":\"\\u12\"}}").into_bytes()),
        ("10 000 nested arrays", deep_arrays.into_bytes()),
        ("10 000 nested objects", deep_objects.into_bytes()),
        ("a number beyond a double", format!("{{\"{first}\":1e400}}").into_bytes()),
        ("an unknown member", format!("{{\"{first}\":{first_value},\"bogus\":1}}").into_bytes()),
        ("a duplicate member", format!("{{\"{first}\":{first_value},\"{first}\":{first_value}}}").into_bytes()),
        ("a missing comma", format!("{{\"{first}\":{first_value} \"x\":1}}").into_bytes()),
        ("binary noise", vec![0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]),
    ]
}

fn post(why: &str, path: &str, body: serde_json::Value, code: u16) -> Case {
    case(why, Method::POST, path, Some(body.to_string().into_bytes()), 400, code)
}

fn patch(why: &str, path: &str, body: serde_json::Value, code: u16) -> Case {
    case(why, Method::PATCH, path, Some(body.to_string().into_bytes()), 400, code)
}

/// Decodable bodies that break a content rule: 400 `hyperfleet-8`, member by member.
fn content_cases() -> Vec<Case> {
    let nul = "a\u{0}b";
    let long = "x".repeat(100_000);
    let mut cases = Vec::new();
    for (what, path, kind) in [("cluster", CLUSTERS, "Cluster"), ("node pool", POOLS, "NodePool")] {
        let base = |name: serde_json::Value| json!({"kind": kind, "name": name, "spec": {}});
        for (why, name, reason) in [
            ("a number as name", json!(1), "name must be a string"),
            ("a boolean as name", json!(true), "name must be a string"),
            ("an array as name", json!(["abc"]), "name must be a string"),
            ("an object as name", json!({"a": 1}), "name must be a string"),
            ("a null name", json!(null), "name is required"),
            ("an empty name", json!(""), "name is required"),
            ("a 64-character name", json!("a".repeat(64)), "at most 63"),
            ("a 100 000-character name", json!(long), "at most 63"),
            ("NUL in the name", json!(nul), "lowercase"),
            ("a Cyrillic s in the name (confusable)", json!("clu\u{0455}ter"), "lowercase"),
            ("a fullwidth name (confusable)", json!("\u{ff43}\u{ff4c}\u{ff55}"), "lowercase"),
            ("a zero-width space in the name", json!("abc\u{200b}def"), "lowercase"),
            ("a right-to-left override in the name", json!("abc\u{202e}def"), "lowercase"),
            ("an upper-case name", json!("ABC"), "lowercase"),
            ("a combining accent in the name", json!("cafe\u{0301}"), "lowercase"),
            ("a leading hyphen", json!("-abc"), "lowercase"),
            ("SQL in the name", json!("a'; drop table clusters; --"), "lowercase"),
            ("a path in the name", json!("../../etc"), "lowercase"),
        ] {
            cases.push(post(&format!("{what}: {why}"), path, base(name), 8).reason(reason));
        }
        let with = |member: &str, value: serde_json::Value| {
            let mut body = json!({"kind": kind, "name": "valid-name", "spec": {}});
            body[member] = value;
            body
        };
        for (why, member, value) in [
            ("a string spec", "spec", json!("x")),
            ("a number spec", "spec", json!(1)),
            ("an array spec", "spec", json!([])),
            ("a null spec", "spec", json!(null)),
            ("NUL in a spec string", "spec", json!({"a": nul})),
            ("NUL in a nested spec key", "spec", json!({"a": [{"k\u{0}": 1}]})),
            ("a number as labels", "labels", json!(1)),
            ("an array as labels", "labels", json!(["a"])),
            ("a number label value", "labels", json!({"k": 1})),
            ("a null label value", "labels", json!({"k": null})),
            ("an empty label key", "labels", json!({"": "v"})),
            ("NUL in a label value", "labels", json!({"k": nul})),
            ("NUL in a label key", "labels", json!({nul: "v"})),
            ("a 400-character label key", "labels", json!({"k".repeat(400): "v"})),
            ("a 64-character label value", "labels", json!({"k": "v".repeat(64)})),
            ("a wrong kind", "kind", json!(if kind == "Cluster" { "NodePool" } else { "Cluster" })),
            ("a number as kind", "kind", json!(7)),
            ("an id in a create", "id", json!("01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a")),
            ("a number as href", "href", json!(5)),
        ] {
            cases.push(post(&format!("{what}: {why}"), path, with(member, value), 8));
        }
    }
    for (what, path) in [("cluster patch", CLUSTER), ("node-pool patch", POOL)] {
        for (why, body) in [
            ("an empty object", json!({})),
            ("only null labels", json!({"labels": null})),
            ("a string spec", json!({"spec": "x"})),
            ("a null spec", json!({"spec": null})),
            ("an array spec", json!({"spec": [1]})),
            ("NUL in spec", json!({"spec": {"a": nul}})),
            ("a number label value", json!({"labels": {"k": 2}})),
            ("NUL in a label key", json!({"labels": {nul: "v"}})),
            ("a string as labels", json!({"labels": "k=v"})),
        ] {
            cases.push(patch(&format!("{what}: {why}"), path, body, 8));
        }
    }
    let report = |member: &str, value: serde_json::Value| {
        let mut body = json!({"adapter": "dns", "observed_generation": 1,
            "conditions": [{"type": "Available", "status": "True"}]});
        if value.is_null() && member.starts_with('-') {
            body.as_object_mut().unwrap().remove(&member[1..]);
        } else {
            body[member] = value;
        }
        body
    };
    let condition = |extra: serde_json::Value| {
        let mut c = json!({"type": "Available", "status": "True"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        report("conditions", json!([c]))
    };
    for (what, path) in [("cluster status", CLUSTER_STATUSES), ("node-pool status", POOL_STATUSES)] {
        for (why, body) in [
            ("no adapter", report("-adapter", json!(null))),
            ("a number as adapter", report("adapter", json!(1))),
            ("a blank adapter", report("adapter", json!("  "))),
            ("a 256-character adapter", report("adapter", json!("a".repeat(256)))),
            ("NUL in the adapter", report("adapter", json!(nul))),
            ("a string generation", report("observed_generation", json!("1"))),
            ("a fractional generation", report("observed_generation", json!(1.5))),
            ("a negative generation", report("observed_generation", json!(-1))),
            ("a generation over 2^31-1", report("observed_generation", json!(2_147_483_648_i64))),
            ("no conditions", report("-conditions", json!(null))),
            ("conditions as an object", report("conditions", json!({"type": "Available"}))),
            ("a number as a condition", report("conditions", json!([1]))),
            ("a number as condition type", condition(json!({"type": 1}))),
            ("NUL in condition type", condition(json!({"type": nul}))),
            ("a 129-character condition type", condition(json!({"type": "T".repeat(129)}))),
            ("an unknown condition status", condition(json!({"status": "Maybe"}))),
            ("NUL in condition reason", condition(json!({"reason": nul}))),
            ("NUL in condition message", condition(json!({"message": nul}))),
            ("a 32769-character message", condition(json!({"message": "m".repeat(32_769)}))),
            ("a number as reason", condition(json!({"reason": 5}))),
            ("a free-text transition time", condition(json!({"last_transition_time": "yesterday"}))),
            ("a five-digit year", condition(json!({"last_transition_time": "99999-01-01T00:00:00Z"}))),
            ("another adapter in a condition", condition(json!({"adapter": "other"}))),
            ("a string as data", report("data", json!("x"))),
            ("NUL in data", report("data", json!({"k": nul}))),
            ("an array as metadata", report("metadata", json!([1]))),
            ("NUL in metadata", report("metadata", json!({"k": [nul]}))),
        ] {
            cases.push(post(&format!("{what}: {why}"), path, body, 8));
        }
        let huge = br#"{"adapter":"dns","observed_generation":123456789012345678901234567890,"conditions":[]}"#;
        cases.push(case(
            format!("{what}: a generation with 30 digits"),
            Method::POST,
            path,
            Some(huge.to_vec()),
            400,
            8,
        ));
        let unknown = condition(json!({"bogus": true}));
        cases.push(
            post(&format!("{what}: an unknown condition member"), path, unknown, 17).reason("conditions[0].bogus"),
        );
        let gzip = case(
            format!("{what}: a gzip label on a plain body"),
            Method::POST,
            path,
            Some(b"\x1f\x8b garbage".to_vec()),
            400,
            17,
        );
        cases.push(gzip.header("content-encoding", "gzip"));
    }
    cases
}

/// Hostile query strings on the lists: 400 `hyperfleet-21`.
fn query_cases() -> Vec<Case> {
    let deep = format!("{}name='a'{}", "(".repeat(40), ")".repeat(40));
    let too_long = format!("name='{}'", "x".repeat(4100));
    let searches: Vec<(&str, String)> = vec![
        ("a statement terminator", "name='a'; DROP TABLE clusters".into()),
        ("a dangling quote", "name='a".into()),
        ("a comment", "name='a' -- comment".into()),
        ("a block comment", "name='a' /* c */".into()),
        ("a tautology", "name='a' OR 1=1".into()),
        ("a function call", "pg_sleep(10) IS NULL".into()),
        ("a sub-select", "name IN (SELECT name FROM clusters)".into()),
        ("a union", "name='a' UNION SELECT 1".into()),
        ("a cast", "name::text = 'a'".into()),
        ("a jsonb operator", "labels->>'x' = 'a'".into()),
        ("a placeholder", "name = $1".into()),
        ("an unknown field", "password = 'x'".into()),
        ("40 levels of parentheses", deep),
        ("4100 characters", too_long),
        ("NUL", "name='a\u{0}'".into()),
        ("only an operator", "=".into()),
    ];
    let mut cases = Vec::new();
    for list in [CLUSTERS, ALL_POOLS, POOLS] {
        for (why, search) in &searches {
            let query: String = form_urlencoded::Serializer::new(String::new()).append_pair("search", search).finish();
            cases.push(case(
                format!("{list}: search with {why}"),
                Method::GET,
                &format!("{list}?{query}"),
                None,
                400,
                21,
            ));
        }
    }
    let seventeen = vec!["name"; 17].join(",");
    for (why, query) in [
        ("orderBy with a statement", "orderBy=name;DROP%20TABLE%20clusters".to_owned()),
        ("orderBy with a function", "orderBy=pg_sleep(1)".to_owned()),
        ("orderBy with a number", "orderBy=1".to_owned()),
        ("orderBy with a quoted name", "orderBy=%22name%22".to_owned()),
        ("orderBy with two directions", "orderBy=name%20asc%20asc".to_owned()),
        ("orderBy with 17 fields", format!("orderBy={seventeen}")),
        ("orderBy with an unknown label syntax", "orderBy=labels->x".to_owned()),
        ("order sideways", "order=sideways".to_owned()),
        ("page zero", "page=0".to_owned()),
        ("a negative page", "page=-1".to_owned()),
        ("page as text", "page=abc".to_owned()),
        ("page beyond 2^31-1", "page=2147483648".to_owned()),
        ("page in exponent form", "page=1e3".to_owned()),
        ("pageSize zero", "pageSize=0".to_owned()),
        ("a negative pageSize", "pageSize=-5".to_owned()),
        ("size as text", "size=ten".to_owned()),
        ("a percent-encoded NUL page", "page=%00".to_owned()),
    ] {
        cases.push(case(format!("clusters: {why}"), Method::GET, &format!("{CLUSTERS}?{query}"), None, 400, 21));
    }
    for (why, query) in [
        ("after as text", "after=abc"),
        ("a negative after", "after=-1"),
        ("after beyond i64", "after=99999999999999999999999"),
        ("an unknown source", "source=Bogus"),
        ("a source_id that is not a UUID", "source_id=not-a-uuid"),
        ("an unknown event type", "event_type=Drop"),
        ("pageSize as text", "pageSize=lots"),
    ] {
        cases.push(case(format!("events: {why}"), Method::GET, &format!("{EVENTS}?{query}"), None, 400, 21));
    }
    cases.push(
        case("watch: a Last-Event-ID that is not a number", Method::GET, "/api/hyperfleet/v1/watch", None, 400, 21)
            .header("last-event-id", "abc"),
    );
    cases
}

/// Ids that name nothing, in every path position: 404 `hyperfleet-7`.
fn path_cases() -> Vec<Case> {
    let hostile = [
        ("not a UUID", "not-a-uuid".to_owned()),
        ("an unknown UUID", "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a".to_owned()),
        ("a percent-encoded NUL", "%00".to_owned()),
        ("a percent-encoded slash", "a%2Fb".to_owned()),
        // (`..` itself is removed by the client's URL normalisation; see the raw test below.)
        ("dots", "...".to_owned()),
        ("an encoded dot-dot-slash", "%2E%2E%2Fx".to_owned()),
        ("a quote", "'%20OR%20'1'='1".to_owned()),
        ("a lone percent", "%25".to_owned()),
        ("invalid UTF-8", "%FF%FE".to_owned()),
        ("a 2000-character id", "9".repeat(2000)),
        ("a UUID with braces", "%7B01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a%7D".to_owned()),
    ];
    let mut cases = Vec::new();
    for (why, id) in &hostile {
        let cluster = format!("{CLUSTERS}/{id}");
        let pool = POOL.replace("{p}", id);
        let body = Some(br#"{"spec":{}}"#.to_vec());
        let report = Some(br#"{"adapter":"a","observed_generation":1,"conditions":[]}"#.to_vec());
        cases.push(case(format!("GET cluster, {why}"), Method::GET, &cluster, None, 404, 7));
        cases.push(case(format!("PATCH cluster, {why}"), Method::PATCH, &cluster, body.clone(), 404, 7));
        cases.push(case(format!("DELETE cluster, {why}"), Method::DELETE, &cluster, None, 404, 7));
        cases.push(case(
            format!("POST cluster status, {why}"),
            Method::POST,
            &format!("{cluster}/statuses"),
            report.clone(),
            404,
            7,
        ));
        cases.push(case(
            format!("GET node pools of cluster, {why}"),
            Method::GET,
            &format!("{cluster}/nodepools"),
            None,
            404,
            7,
        ));
        cases.push(case(format!("GET node pool, {why}"), Method::GET, &pool, None, 404, 7));
        cases.push(case(format!("PATCH node pool, {why}"), Method::PATCH, &pool, body, 404, 7));
        cases.push(case(
            format!("POST node-pool status, {why}"),
            Method::POST,
            &format!("{pool}/statuses"),
            report,
            404,
            7,
        ));
    }
    cases
}

/// Routes and methods that do not exist.
fn routing_cases() -> Vec<Case> {
    vec![
        case("PUT on clusters", Method::PUT, CLUSTERS, Some(b"{}".to_vec()), 405, 10),
        case("DELETE on the cluster collection", Method::DELETE, CLUSTERS, None, 405, 10),
        case("POST on a cluster", Method::POST, CLUSTER, Some(b"{}".to_vec()), 405, 10),
        case("PATCH on statuses", Method::PATCH, CLUSTER_STATUSES, Some(b"{}".to_vec()), 405, 10),
        case("POST on events", Method::POST, EVENTS, Some(b"{}".to_vec()), 405, 10),
        case("an invented method", Method::from_bytes(b"BREW").unwrap(), CLUSTERS, None, 405, 10),
        case("a singular collection name", Method::GET, "/api/hyperfleet/v1/cluster", None, 404, 7),
        case("a path past the statuses", Method::GET, "/api/hyperfleet/v1/clusters/{c}/statuses/x", None, 404, 7),
        case("an encoded NUL route", Method::GET, "/api/hyperfleet/v1/%00", None, 404, 7),
    ]
}

fn corpus() -> Vec<Case> {
    let mut cases = Vec::new();
    for (endpoint, method, path, valid) in write_endpoints() {
        for (why, body) in undecodable_bodies(&valid) {
            cases.push(case(format!("{endpoint}: {why}"), method.clone(), path, Some(body), 400, 17));
        }
    }
    cases.extend(content_cases());
    cases.extend(query_cases());
    cases.extend(path_cases());
    cases.extend(routing_cases());
    cases
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_bad_input_gets_a_4xx_error_body_and_writes_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let cluster = ClusterFactory::new().name("corpus-target").create(&app).await;
    let node_pool = NodePoolFactory::new(cluster["id"].as_str().unwrap()).create(&app).await;
    let (cluster_id, pool_id) = (cluster["id"].as_str().unwrap(), node_pool["id"].as_str().unwrap());

    let cases = corpus();
    assert!(cases.len() >= 150, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let path = case.path.replace("{c}", cluster_id).replace("{p}", pool_id);
        let before = row_counts(&pool).await;
        let mut request = app.client.request(case.method.clone(), app.url(&path));
        for (name, value) in &case.headers {
            request = request.header(*name, value);
        }
        if let Some(body) = case.body.clone() {
            request = request.header("content-type", "application/json").body(body);
        }
        let answer = Answer::of(request.send().await.unwrap_or_else(|e| panic!("{}: no answer: {e}", case.why))).await;
        if answer.status != case.status || answer.body["code"] != format!("hyperfleet-{}", case.code) {
            failures.push(format!(
                "{}: expected {}/{}, got {} {}",
                case.why, case.status, case.code, answer.status, answer.text
            ));
            continue;
        }
        let reason = assert_error_shape(&answer, case.status, case.code);
        if let Some(part) = case.reason {
            assert!(reason.contains(part), "{}: reason {reason:?} lacks {part:?}", case.why);
        }
        assert_eq!(row_counts(&pool).await, before, "{}: nothing was written", case.why);
    }
    assert!(failures.is_empty(), "{} cases failed:\n{}", failures.len(), failures.join("\n"));

    // The targets are untouched and the server still serves.
    let current = app.get_json(&format!("{CLUSTERS}/{cluster_id}"), 200).await;
    assert_eq!(current["generation"], 1);
    assert_eq!(current["spec"], cluster["spec"]);
    assert_eq!(app.get_json(&format!("{CLUSTERS}/{cluster_id}/nodepools/{pool_id}"), 200).await["generation"], 1);
}

/// Sends a request exactly as written (no client-side URL normalisation) and returns the answer.
async fn raw_request(app: &TestApp, method: &str, target: &str) -> Answer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://")).await.unwrap();
    let request = format!("{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    socket.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.append(
                reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                value.trim().parse().unwrap(),
            );
        }
    }
    let body_json = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    Answer { status, headers, body: body_json, text: body.to_owned() }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn dot_segments_and_raw_hostile_paths_are_never_resolved(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let id = cluster["id"].as_str().unwrap();
    let before = row_counts(&pool).await;
    for (method, target) in [
        ("GET", format!("{CLUSTERS}/{id}/nodepools/..")),
        ("DELETE", format!("{CLUSTERS}/{id}/nodepools/..")),
        ("GET", format!("{CLUSTERS}/..")),
        ("DELETE", format!("{CLUSTERS}/{id}/nodepools/../../{id}")),
        ("GET", format!("{CLUSTERS}/{id}/./statuses")),
        ("GET", "/api/hyperfleet/v1/../v1/clusters".to_owned()),
        ("GET", format!("{CLUSTERS}/{id}%00")),
        ("GET", format!("{CLUSTERS}/{id}/nodepools/%2e%2e")),
    ] {
        let answer = raw_request(&app, method, &target).await;
        assert_eq!(answer.status, 404, "{method} {target}: {}", answer.text);
        assert_error_shape(&answer, 404, 7);
    }
    assert_eq!(row_counts(&pool).await, before, "nothing was deleted");
}
