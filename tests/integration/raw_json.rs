//! Stored JSON (`spec`, `labels`, the status' adapters) passes through reads as text (issue 15):
//! the bodies stay compact JSON, byte for byte what serde_json renders, strings untouched.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::factories::{ClusterFactory, NodePoolFactory};
use crate::helpers::{Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;
const CLUSTERS: &str = "/api/hyperfleet/v1/clusters";

/// A body is compact JSON: valid, and no whitespace outside its strings.
#[track_caller]
fn assert_compact(answer: &Answer, why: &str) {
    assert_eq!(answer.status, 200, "{why}: {}", answer.text);
    serde_json::from_str::<Value>(&answer.text).expect("valid JSON");
    let (mut in_string, mut escaped) = (false, false);
    for (at, c) in answer.text.char_indices() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') | (false, _, '"') => in_string = !in_string,
            (false, _, c) if c.is_whitespace() => panic!("{why}: whitespace at {at} in {}", answer.text),
            _ => {}
        }
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn reads_pass_stored_json_through_compact_and_unchanged(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let spec = json!({
        "text": "a, b: c {\"d\": [e]}",
        "escapes": "tab\tnewline\nquote\"backslash\\ctl\u{1}",
        "unicode": "日本語 ü",
        "numbers": [0, -3, 0.5, 18446744073709551615_u64, -9223372036854775808_i64, 1e300],
        "nested": {"empty": {}, "list": [], "null": null, "yes": true},
    });
    let labels = json!({"env": "prod", "team": "a-b_c.d"});
    let cluster = ClusterFactory::new().spec(spec.clone()).labels(labels.clone()).create(&app).await;
    let id = cluster["id"].as_str().unwrap();
    NodePoolFactory::new(id).create(&app).await;
    let report = json!({"adapter": "dns", "observed_generation": 1,
        "conditions": [{"type": "Available", "status": "True", "reason": "Done, really", "message": "a: \"b\""}]});
    let posted = app.post(&format!("{CLUSTERS}/{id}/statuses"), &report.to_string()).await;
    assert_eq!(posted.status(), 201);

    let get = Answer::of(app.get(&format!("{CLUSTERS}/{id}")).await).await;
    assert_compact(&get, "GET");
    assert_eq!(get.body["spec"], spec, "spec as stored");
    assert_eq!(get.body["labels"], labels);
    assert_eq!(get.body["status"]["adapters"][0]["adapter"], "dns", "{}", get.text);
    assert_eq!(get.body["status"]["adapters"][0]["reason"], "Done, really", "{}", get.text);

    for path in
        [format!("{CLUSTERS}?pageSize=5"), format!("{CLUSTERS}/{id}/nodepools"), "/api/hyperfleet/v1/nodepools".into()]
    {
        let list = Answer::of(app.get(&path).await).await;
        assert_compact(&list, &path);
    }
    let list = app.get_json(CLUSTERS, 200).await;
    assert_eq!(list["items"][0], get.body, "a list item is the same object as the GET");
}
