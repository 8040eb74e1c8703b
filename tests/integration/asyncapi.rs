//! The AsyncAPI document (`openapi/asyncapi.yaml`, served at `/api/hyperfleet/v1/asyncapi`):
//! served as built in, internally consistent, and describing what the service really sends —
//! real `/watch` events here (also against the OpenAPI document's per-event schema), real broker
//! messages from `broker.rs`.

use std::sync::OnceLock;
use std::time::Duration;

use futures_util::StreamExt;
use hyperfleet::api::openapi;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::factories::{ClusterFactory, NodePoolFactory};
use crate::helpers::{Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;

fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| serde_json::from_slice(openapi::ASYNCAPI_JSON).expect("the embedded AsyncAPI document is JSON"))
}

/// The target of a local `$ref` (`#/a/b`) in `root`.
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    root.pointer(reference.strip_prefix('#')?)
}

/// Every `$ref` below `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                match (key.as_str(), member) {
                    ("$ref", Value::String(target)) => found.push(target.clone()),
                    _ => references(member, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

/// Failures of `instance` against schema `schema` of `root`'s `components.schemas`, with the
/// JSON inside any `contentMediaType: application/json` string checked against its
/// `contentSchema` too (validators treat those two keywords as annotations only).
fn violations(root: &Value, draft: jsonschema::Draft, schema: &str, instance: &Value) -> Vec<String> {
    let reference = format!("#/components/schemas/{schema}");
    let wrapper = json!({"allOf": [{"$ref": reference}], "components": {"schemas": root["components"]["schemas"]}});
    let validator = jsonschema::options()
        .with_draft(draft)
        .should_validate_formats(true)
        .build(&wrapper)
        .expect("the document's schemas compile");
    let mut problems: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path())).collect();
    let definition = resolve(root, &reference).expect("the schema exists");
    for (member, property) in definition["properties"].as_object().into_iter().flatten() {
        if property["contentMediaType"] != "application/json" {
            continue;
        }
        let Some(text) = instance[member].as_str() else { continue };
        let target = property["contentSchema"]["$ref"].as_str().expect("a contentSchema reference");
        match serde_json::from_str::<Value>(text) {
            Ok(inner) => {
                let name = target.rsplit('/').next().unwrap();
                problems.extend(violations(root, draft, name, &inner).into_iter().map(|p| format!("{member}: {p}")));
            }
            Err(e) => problems.push(format!("{member} is not JSON: {e}")),
        }
    }
    problems
}

/// Asserts that each broker message body is the document's `ChangeEvent` payload.
pub fn assert_broker_messages_match_the_document(bodies: &[Value]) {
    assert!(!bodies.is_empty());
    let message = resolve(document(), "#/components/messages/ChangeEvent").unwrap();
    assert_eq!(message["contentType"], "application/cloudevents+json");
    for body in bodies {
        let problems = violations(document(), jsonschema::Draft::Draft7, "CloudEvent", body);
        assert!(problems.is_empty(), "{body}: {problems:?}");
    }
}

/// The OpenAPI document's components, with `nullable` as the contract tests read it.
fn openapi_document() -> Value {
    serde_json::from_slice(openapi::JSON).expect("the embedded OpenAPI document is JSON")
}

#[test]
fn the_asyncapi_document_is_version_3_and_every_reference_resolves() {
    let doc = document();
    assert_eq!(doc["asyncapi"], "3.0.0");
    let mut found = Vec::new();
    references(doc, &mut found);
    assert!(found.len() > 10, "the document is built from references");
    for reference in found {
        assert!(resolve(doc, &reference).is_some(), "{reference} does not resolve");
    }
    for (name, operation) in doc["operations"].as_object().unwrap() {
        assert_eq!(operation["action"], "send", "{name}: the service sends both streams");
    }
    // The examples are what the service would send.
    for (message, schema) in [("WatchEvent", "WatchEvent"), ("ChangeEvent", "CloudEvent")] {
        let examples = doc["components"]["messages"][message]["examples"].as_array().unwrap();
        for example in examples {
            let problems = violations(doc, jsonschema::Draft::Draft7, schema, &example["payload"]);
            assert!(problems.is_empty(), "{message} example: {problems:?}");
        }
    }
    let bad = json!({"specversion": "1.0", "id": "7", "source": "/api/hyperfleet/v1", "type": "com.hyperfleet.nodepool.created",
        "subject": "/x", "time": "2025-11-13T11:00:10.000000Z", "datacontenttype": "application/json",
        "data": {"id": "01939f51-2d3e-7f40-9b5c-6d7e8f9a0b1c", "kind": "NodePool", "href": "/x", "generation": 1}});
    assert!(!violations(doc, jsonschema::Draft::Draft7, "CloudEvent", &bad).is_empty(), "a node pool needs its owner");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_asyncapi_document_is_served_as_built_in(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let answer = Answer::of(app.get("/api/hyperfleet/v1/asyncapi").await).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(&answer.body, document());
    let post = Answer::of(app.post("/api/hyperfleet/v1/asyncapi", "{}").await).await;
    assert_eq!(post.status, 405, "{}", post.text);
    assert_eq!(post.header("allow"), Some("GET, HEAD, OPTIONS"));
}

/// `(id, data)` of each SSE event in `text`; the `event` name defaults to `message`.
fn parse_sse(text: &str) -> Vec<Value> {
    let mut events = Vec::new();
    for block in text.split("\n\n") {
        let mut event = serde_json::Map::new();
        for line in block.lines() {
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(": ").unwrap_or((line, ""));
            match field {
                "id" | "data" | "event" => {
                    event.insert(field.to_owned(), Value::String(value.to_owned()));
                }
                "retry" => {}
                other => panic!("unexpected SSE field {other:?} in {block:?}"),
            }
        }
        if event.contains_key("data") {
            events.push(Value::Object(event));
        }
    }
    events
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn real_watch_events_match_the_asyncapi_and_openapi_event_schemas(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cluster = ClusterFactory::new().create(&app).await;
    let href = cluster["href"].as_str().unwrap();
    assert_eq!(app.patch(href, r#"{"labels":{"a":"b"}}"#).await.status(), 200);
    NodePoolFactory::new(cluster["id"].as_str().unwrap()).create(&app).await;
    assert_eq!(app.delete(href).await.status(), 204);

    let response = app.get("/api/hyperfleet/v1/watch?after=0").await;
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut text = String::new();
    while parse_sse(&text).len() < 5 {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("events arrive");
        text.push_str(std::str::from_utf8(&chunk.unwrap().unwrap()).unwrap());
    }
    assert!(text.starts_with("retry: 3000\n\n"), "{text}");
    let events = parse_sse(&text);
    let openapi = openapi_document();
    for event in &events {
        let problems = violations(document(), jsonschema::Draft::Draft7, "WatchEvent", event);
        assert!(problems.is_empty(), "AsyncAPI WatchEvent: {event}: {problems:?}");
        // The per-event schema of the OpenAPI document, as SSE-aware tools (schemathesis) apply it.
        let schema = &openapi["paths"]["/api/hyperfleet/v1/watch"]["get"]["responses"]["200"]["content"]
            ["text/event-stream"]["schema"];
        assert_eq!(schema["$ref"], "#/components/schemas/WatchEvent");
        let problems = violations(&openapi, jsonschema::Draft::Draft4, "WatchEvent", event);
        assert!(problems.is_empty(), "OpenAPI WatchEvent: {event}: {problems:?}");
    }
    let broken = json!({"id": "5", "data": "{\"kind\":\"Event\"}"});
    assert!(!violations(document(), jsonschema::Draft::Draft7, "WatchEvent", &broken).is_empty());
    assert!(!violations(&openapi, jsonschema::Draft::Draft4, "WatchEvent", &broken).is_empty());
}
