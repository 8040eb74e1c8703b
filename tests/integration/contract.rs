//! The contract and the code cannot drift apart: the routes the server registers are the
//! document's operations, the request/response types have its schemas, its examples match those
//! schemas, and the real answers of a running server match the documented responses. Also the
//! served document, Swagger UI and `hyperfleet openapi`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::OnceLock;

use hyperfleet::api::meta::{ApiMetadata, Compatibility};
use hyperfleet::api::views::{
    AdapterStatus, AdapterStatusCreateRequest, Cluster, Condition, ConditionAvailable, ConditionRequest, CreateRequest,
    List, NodePool, ObjectReference, PatchRequest, ResourceStatus,
};
use hyperfleet::api::{endpoints, openapi};
use hyperfleet::error::{ErrorBody, FieldError};
use hyperfleet::events::view::{Event, WatchEvent};
use reqwest::Method;
use serde_json::{json, Map, Value};
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::factories::{ClusterFactory, NodePoolFactory};
use crate::helpers::{Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;

/// The documentation routes of spec §4.3/§4.4: served, never listed in the document.
const DOCUMENTATION_ROUTES: &[&str] = &[
    "/api/hyperfleet/v1/openapi",
    "/openapi",
    "/api/hyperfleet/v1/asyncapi",
    "/api/hyperfleet/v1/openapi.html",
    "/openapi-ui",
    "/api/hyperfleet/v1/swagger-ui/{file}",
];

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The embedded document, parsed once.
fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| serde_json::from_slice(openapi::JSON).expect("the embedded document is JSON"))
}

/// `(method, path) -> operation` of every operation in the document.
fn spec_operations() -> BTreeMap<(String, String), &'static Value> {
    let mut operations = BTreeMap::new();
    for (path, item) in spec()["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                operations.insert((method.clone(), path.clone()), operation);
            }
        }
    }
    operations
}

// ---------------------------------------------------------------------------------------------
// (a) routes <-> operations

#[test]
fn every_route_is_an_operation_of_the_contract_and_every_operation_is_served() {
    let mut served = BTreeMap::new();
    for endpoint in endpoints().iter().filter(|e| !e.documentation) {
        for operation in &endpoint.operations {
            let key = (operation.method.as_str().to_lowercase(), endpoint.path.to_owned());
            assert!(served.insert(key, operation.operation_id).is_none(), "{} is registered twice", endpoint.path);
        }
    }
    let documented: BTreeMap<(String, String), &str> = spec_operations()
        .into_iter()
        .map(|(key, op)| (key, op["operationId"].as_str().expect("every operation has an operationId")))
        .collect();

    for ((method, path), handler) in &served {
        match documented.get(&(method.clone(), path.clone())) {
            None => panic!("{} {path} is served by {handler} but is not in the contract", method.to_uppercase()),
            Some(id) => assert_eq!(id, handler, "{} {path}: the handler is named after the operationId", method),
        }
    }
    for ((method, path), id) in &documented {
        let is_served = served.contains_key(&(method.clone(), path.clone()));
        assert!(is_served, "{} {path} ({id}) is in the contract but no route serves it", method.to_uppercase());
    }
}

#[test]
fn documentation_routes_are_served_and_never_listed_in_the_contract() {
    let table = endpoints();
    let documentation: BTreeSet<&str> = table.iter().filter(|e| e.documentation).map(|e| e.path).collect();
    assert_eq!(documentation, DOCUMENTATION_ROUTES.iter().copied().collect(), "the documentation routes of §4.3/§4.4");
    for endpoint in table.iter().filter(|e| e.documentation) {
        let methods: Vec<&str> = endpoint.operations.iter().map(|o| o.method.as_str()).collect();
        assert_eq!(methods, ["GET"], "{}", endpoint.path);
    }
    let paths = spec()["paths"].as_object().unwrap();
    for path in DOCUMENTATION_ROUTES {
        assert!(!paths.contains_key(*path), "{path} must not be listed");
    }
}

#[test]
fn every_allow_list_names_exactly_the_methods_its_route_serves() {
    for endpoint in endpoints() {
        let served: Vec<&str> = endpoint.operations.iter().map(|o| o.method.as_str()).collect();
        let mut expected = Vec::new();
        for method in ["GET", "HEAD", "POST", "PATCH", "DELETE"] {
            let serves = served.contains(&method) || (method == "HEAD" && served.contains(&"GET"));
            if serves {
                expected.push(method);
            }
        }
        expected.push("OPTIONS");
        assert_eq!(endpoint.allow, expected.join(", "), "{}", endpoint.path);
    }
}

/// A request path for a route template: ids are fresh UUIDs, a file is a served asset.
fn concrete(path: &str) -> String {
    path.replace("{cluster_id}", &uuid::Uuid::now_v7().to_string())
        .replace("{nodepool_id}", &uuid::Uuid::now_v7().to_string())
        .replace("{file}", "swagger-ui.css")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_registered_route_answers_options_with_its_allow_list(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for endpoint in endpoints() {
        let answer = Answer::of(app.request(Method::OPTIONS, &concrete(endpoint.path), None).await).await;
        assert_eq!(answer.status, 204, "OPTIONS {}", endpoint.path);
        assert_eq!(answer.header("allow"), Some(endpoint.allow), "{}", endpoint.path);
        assert_eq!(answer.text, "", "{}", endpoint.path);
    }
}

// ---------------------------------------------------------------------------------------------
// (b) Rust types <-> component schemas

/// A schema and the named schemas it refers to, as utoipa describes a type.
struct RustSchema {
    schema: Value,
    components: Map<String, Value>,
}

fn rust<T: ToSchema>() -> RustSchema {
    let mut named = vec![(T::name().into_owned(), T::schema())];
    T::schemas(&mut named);
    let components = named.into_iter().map(|(name, schema)| (name, serde_json::to_value(schema).unwrap())).collect();
    RustSchema { schema: serde_json::to_value(T::schema()).unwrap(), components }
}

/// The contract schema and the type that must describe it.
fn typed_schemas() -> Vec<(&'static str, RustSchema)> {
    vec![
        ("ApiMetadata", rust::<ApiMetadata>()),
        ("Compatibility", rust::<Compatibility>()),
        ("Cluster", rust::<Cluster>()),
        ("ClusterStatus", rust::<ResourceStatus>()),
        ("ClusterList", rust::<List<Cluster>>()),
        ("ClusterCreateRequest", rust::<CreateRequest>()),
        ("ClusterPatchRequest", rust::<PatchRequest>()),
        ("NodePool", rust::<NodePool>()),
        ("NodePoolStatus", rust::<ResourceStatus>()),
        ("NodePoolList", rust::<List<NodePool>>()),
        ("NodePoolCreateRequest", rust::<CreateRequest>()),
        ("NodePoolPatchRequest", rust::<PatchRequest>()),
        ("ObjectReference", rust::<ObjectReference>()),
        ("AdapterStatus", rust::<AdapterStatus>()),
        ("AdapterStatusList", rust::<List<AdapterStatus>>()),
        ("AdapterStatusCreateRequest", rust::<AdapterStatusCreateRequest>()),
        ("ConditionRequest", rust::<ConditionRequest>()),
        ("Condition", rust::<Condition>()),
        ("ConditionAvailable", rust::<ConditionAvailable>()),
        ("Error", rust::<ErrorBody<'static>>()),
        ("ErrorDetail", rust::<FieldError>()),
        ("Event", rust::<Event>()),
        ("EventList", rust::<List<Event>>()),
        ("WatchEvent", rust::<WatchEvent>()),
    ]
}

/// Every named schema of the Rust types. A generic type (`List<T>`) lists T's dependencies but
/// not T, so each type's references resolve against all of them.
fn rust_components() -> Map<String, Value> {
    typed_schemas().into_iter().flat_map(|(_, r)| r.components).collect()
}

/// A schema reduced to what both sides must agree on.
#[derive(Debug)]
struct Shape<'a> {
    /// `None` for "any value".
    kind: Option<&'a str>,
    format: Option<&'a str>,
    nullable: bool,
    node: &'a Value,
}

/// Follows `$ref`s, single-member `allOf` wrappers and utoipa's `oneOf [null, T]` for options,
/// and reads the type (OpenAPI 3.0 `nullable`, or a 3.1 type list with `null`).
fn shape<'a>(mut node: &'a Value, components: &'a Map<String, Value>) -> Shape<'a> {
    let mut nullable = false;
    loop {
        nullable |= node.get("nullable") == Some(&Value::Bool(true));
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let name = reference.rsplit('/').next().unwrap();
            node = components.get(name).unwrap_or_else(|| panic!("unresolved reference {reference}"));
        } else if let Some([only]) = node.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
            node = only;
        } else if let Some(variants) = node.get("oneOf").and_then(Value::as_array) {
            let (nulls, others): (Vec<&Value>, Vec<&Value>) =
                variants.iter().partition(|v| v.get("type") == Some(&json!("null")));
            assert!(others.len() == 1, "unexpected oneOf {node}");
            nullable |= !nulls.is_empty();
            node = others[0];
        } else {
            break;
        }
    }
    let kind = match node.get("type") {
        Some(Value::String(kind)) => Some(kind.as_str()),
        Some(Value::Array(kinds)) => {
            nullable |= kinds.contains(&json!("null"));
            let others: Vec<&str> = kinds.iter().filter_map(Value::as_str).filter(|k| *k != "null").collect();
            assert!(others.len() <= 1, "unexpected type list {node}");
            others.first().copied()
        }
        _ => None,
    };
    Shape { kind, format: node.get("format").and_then(Value::as_str), nullable, node }
}

fn names(node: &Value, key: &str) -> BTreeSet<String> {
    match node.get(key) {
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => BTreeSet::new(),
    }
}

/// Compares member names, required sets, types, string formats and nullability, recursively.
fn compare(
    where_: &str,
    ours: Shape<'_>,
    theirs: Shape<'_>,
    sides: (&Map<String, Value>, &Map<String, Value>),
    out: &mut Vec<String>,
) {
    let (rust, spec) = sides;
    if ours.kind != theirs.kind {
        out.push(format!("{where_}: type {:?} in Rust, {:?} in the contract", ours.kind, theirs.kind));
        return;
    }
    if ours.nullable != theirs.nullable {
        out.push(format!("{where_}: nullable {} in Rust, {} in the contract", ours.nullable, theirs.nullable));
    }
    if ours.kind == Some("string") && ours.format != theirs.format {
        out.push(format!("{where_}: format {:?} in Rust, {:?} in the contract", ours.format, theirs.format));
    }
    match ours.kind {
        Some("object") => {
            let (a, b) = (names(ours.node, "properties"), names(theirs.node, "properties"));
            if a != b {
                out.push(format!("{where_}: members {a:?} in Rust, {b:?} in the contract"));
                return;
            }
            let (a, b) = (names(ours.node, "required"), names(theirs.node, "required"));
            if a != b {
                out.push(format!("{where_}: required {a:?} in Rust, {b:?} in the contract"));
            }
            for member in names(ours.node, "properties") {
                compare(
                    &format!("{where_}.{member}"),
                    shape(&ours.node["properties"][&member], rust),
                    shape(&theirs.node["properties"][&member], spec),
                    sides,
                    out,
                );
            }
            let values = (ours.node.get("additionalProperties"), theirs.node.get("additionalProperties"));
            if let (Some(a @ Value::Object(_)), Some(b @ Value::Object(_))) = values {
                if b.get("not").is_none() && b.as_object().is_some_and(|m| !m.is_empty()) {
                    compare(&format!("{where_}{{*}}"), shape(a, rust), shape(b, spec), sides, out);
                }
            }
        }
        Some("array") => compare(
            &format!("{where_}[]"),
            shape(&ours.node["items"], rust),
            shape(&theirs.node["items"], spec),
            sides,
            out,
        ),
        _ => {}
    }
}

#[test]
fn request_and_response_types_have_the_contract_schemas() {
    let components = spec()["components"]["schemas"].as_object().unwrap();
    let typed = typed_schemas();
    let ours = rust_components();
    let mut problems = Vec::new();
    for (name, rust) in &typed {
        let theirs = components.get(*name).unwrap_or_else(|| panic!("components.schemas.{name} is missing"));
        compare(name, shape(&rust.schema, &ours), shape(theirs, components), (&ours, components), &mut problems);
    }
    assert!(problems.is_empty(), "the types and the contract differ:\n  {}", problems.join("\n  "));

    let covered: BTreeSet<&str> = typed.iter().map(|(name, _)| *name).collect();
    for (name, schema) in components {
        if schema["type"] == "object" {
            assert!(covered.contains(name.as_str()), "components.schemas.{name} has no Rust type in this test");
        }
    }
}

#[test]
fn the_schema_comparison_notices_every_kind_of_difference() {
    let components = spec()["components"]["schemas"].as_object().unwrap();
    let ours = rust_components();
    let cases: Vec<(RustSchema, &str, &str)> = vec![
        (rust::<Cluster>(), "NodePool", "members"),
        (rust::<ConditionRequest>(), "Condition", "nullable"),
        (rust::<Condition>(), "ConditionAvailable", "members"),
        (rust::<CreateRequest>(), "ClusterPatchRequest", "members"),
        (rust::<ObjectReference>(), "ApiMetadata", "members"),
        (rust::<ConditionRequest>(), "Condition", "required"),
        (rust::<List<Cluster>>(), "NodePoolList", "NodePoolList.items[]: members"),
        (rust::<FieldError>(), "Compatibility", "members"),
    ];
    for (rust, name, expected) in cases {
        let mut problems = Vec::new();
        compare(
            name,
            shape(&rust.schema, &ours),
            shape(&components[name], components),
            (&ours, components),
            &mut problems,
        );
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{name}: expected a {expected} difference, got {problems:?}"
        );
    }
    type Mutation = (&'static str, fn(&mut Value), &'static str);
    let mutations: [Mutation; 4] = [
        ("/Cluster/properties/generation", |s| s["type"] = json!("string"), "Cluster.generation: type"),
        ("/Cluster/properties/id", |s| s["format"] = json!("uri"), "Cluster.id: format"),
        ("/ClusterStatus/properties/adapters/items", |s| *s = json!({"type": "string"}), "adapters[]: type"),
        ("/Cluster/properties/labels/additionalProperties", |s| *s = json!({"type": "integer"}), "labels{*}"),
    ];
    for (pointer, mutate, expected) in mutations {
        let mut changed = Value::Object(components.clone());
        mutate(changed.pointer_mut(pointer).unwrap());
        let changed = changed.as_object().unwrap();
        let rust = rust::<Cluster>();
        let mut problems = Vec::new();
        compare(
            "Cluster",
            shape(&rust.schema, &ours),
            shape(&changed["Cluster"], changed),
            (&ours, changed),
            &mut problems,
        );
        assert!(problems.iter().any(|p| p.contains(expected)), "{pointer}: expected {expected}, got {problems:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// (c) examples <-> schemas

/// OpenAPI 3.0 schemas as JSON Schema (draft 4, which 3.0 extends): `nullable: true` becomes a
/// `null` alternative; everything else carries over.
fn json_schema(node: &Value) -> Value {
    match node {
        Value::Object(map) => {
            let mut converted: Map<String, Value> =
                map.iter().filter(|(k, _)| *k != "nullable").map(|(k, v)| (k.clone(), json_schema(v))).collect();
            if map.get("nullable") == Some(&Value::Bool(true)) {
                converted = Map::from_iter([("anyOf".to_owned(), json!([converted, {"type": "null"}]))]);
            }
            Value::Object(converted)
        }
        Value::Array(items) => Value::Array(items.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}

/// Validates `instance` against a schema of the document; the messages of every failure.
fn violations(schema: &Value, instance: &Value) -> Vec<String> {
    let root = json!({
        "allOf": [json_schema(schema)],
        "components": {"schemas": json_schema(&spec()["components"]["schemas"])},
    });
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&root)
        .expect("the document's schemas compile");
    validator.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

/// Every `(where, media type, schema, example)` of requests, responses and components.
fn examples() -> Vec<(String, String, &'static Value, &'static Value)> {
    let mut found = Vec::new();
    let mut media = |content: &'static Value, where_: String| {
        for (media_type, body) in content.as_object().into_iter().flatten() {
            for (name, example) in body["examples"].as_object().into_iter().flatten() {
                found.push((format!("{where_} [{name}]"), media_type.clone(), &body["schema"], &example["value"]));
            }
            if let Some(example) = body.get("example") {
                found.push((where_.clone(), media_type.clone(), &body["schema"], example));
            }
        }
    };
    for ((method, path), op) in spec_operations() {
        media(&op["requestBody"]["content"], format!("{method} {path} request"));
        for (code, response) in op["responses"].as_object().unwrap() {
            media(&response["content"], format!("{method} {path} {code}"));
        }
    }
    for (name, schema) in spec()["components"]["schemas"].as_object().unwrap() {
        if let Some(example) = schema.get("example") {
            found.push((format!("schema {name}"), "application/json".to_owned(), schema, example));
        }
    }
    found
}

#[test]
fn every_example_in_the_contract_matches_its_schema() {
    let all = examples();
    let json: Vec<_> = all.iter().filter(|(_, media_type, _, _)| media_type == "application/json").collect();
    assert!(json.len() >= 20, "the contract has examples ({} found)", json.len());
    let mut problems = Vec::new();
    for (where_, _, schema, example) in json {
        for problem in violations(schema, example) {
            problems.push(format!("{where_}: {problem}"));
        }
    }
    assert!(problems.is_empty(), "examples that do not match their schemas:\n  {}", problems.join("\n  "));
}

#[test]
fn the_validator_rejects_what_the_schemas_forbid() {
    let components = &spec()["components"]["schemas"];
    let cases = [
        ("ClusterCreateRequest", json!({"name": "ok-name", "spec": {}, "status": {}}), "an unknown member"),
        ("ClusterCreateRequest", json!({"name": "ok-name"}), "a missing spec"),
        ("ClusterCreateRequest", json!({"name": "ok-name", "spec": {}, "kind": null}), "a null kind"),
        ("Cluster", json!({"id": "x"}), "missing members"),
        (
            "AdapterStatus",
            json!({"adapter": "a", "observed_generation": 1, "conditions": [], "data": {},
            "created_at": "yesterday", "updated_at": "2025-11-13T10:00:00.000000Z"}),
            "a bad date-time",
        ),
        ("ConditionRequest", json!({"type": "A", "status": "Maybe"}), "a status outside the enum"),
    ];
    for (name, instance, why) in cases {
        assert!(!violations(&components[name], &instance).is_empty(), "{name} must reject {why}");
    }
    assert!(violations(&components["ClusterCreateRequest"], &json!({"name": "ok-name", "spec": {}, "labels": null}))
        .is_empty());
}

// ---------------------------------------------------------------------------------------------
// (d) a running server answers as the contract says

/// Checks answers against the documented responses and records which operations were seen.
struct Contract {
    seen: BTreeSet<(String, String)>,
}

impl Contract {
    fn new() -> Self {
        Contract { seen: BTreeSet::new() }
    }

    /// Asserts that `answer` to `method path-template` is a documented response: its status is
    /// listed, its content type and body match, and its required headers are present.
    #[track_caller]
    fn check(&mut self, method: &str, template: &str, answer: &Answer) {
        let op = &spec()["paths"][template][method];
        assert!(op.is_object(), "{method} {template} is not in the contract");
        self.seen.insert((method.to_owned(), template.to_owned()));
        let id = op["operationId"].as_str().unwrap();
        let response = &op["responses"][answer.status.to_string()];
        assert!(response.is_object(), "{id}: status {} is not documented: {}", answer.status, answer.text);
        let response = resolve(response);
        for (header, definition) in response["headers"].as_object().into_iter().flatten() {
            if definition["required"] == true {
                assert!(answer.header(header).is_some(), "{id} {}: header {header} is missing", answer.status);
            }
        }
        match response["content"].as_object() {
            None => assert_eq!(answer.text, "", "{id} {}: no body is documented", answer.status),
            Some(content) => {
                let media_type = answer.header("content-type").unwrap_or_default();
                let body = content
                    .get(media_type)
                    .unwrap_or_else(|| panic!("{id} {}: content type {media_type:?} is not documented", answer.status));
                let problems = violations(&body["schema"], &answer.body);
                assert!(problems.is_empty(), "{id} {}: {problems:?}\n{}", answer.status, answer.text);
            }
        }
    }

    /// The response example `name` of `method template` for `status`.
    fn example(method: &str, template: &str, status: u16, name: &str) -> Option<&'static Value> {
        let response = resolve(&spec()["paths"][template][method]["responses"][status.to_string()]);
        response["content"]["application/json"]["examples"].get(name).map(|e| &e["value"])
    }
}

fn resolve(node: &'static Value) -> &'static Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let mut target = spec();
            for part in reference.trim_start_matches("#/").split('/') {
                target = &target[part];
            }
            target
        }
        None => node,
    }
}

/// Replaces what a server generates (ids, timestamps, operation ids) with placeholders, so an
/// answer can be compared with the contract's example of it.
fn masked(value: &Value) -> Value {
    match value {
        Value::String(text) => {
            let segments: Vec<String> = text
                .split('/')
                .map(|segment| {
                    if uuid::Uuid::try_parse(segment).is_ok() {
                        "<uuid>".to_owned()
                    } else if chrono::DateTime::parse_from_rfc3339(segment).is_ok() {
                        "<time>".to_owned()
                    } else {
                        segment.to_owned()
                    }
                })
                .collect();
            Value::String(segments.join("/"))
        }
        Value::Array(items) => Value::Array(items.iter().map(masked).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), masked(v))).collect()),
        other => other.clone(),
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_example_request_gets_the_answer_its_example_shows(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let mut contract = Contract::new();
    let mut requests: Vec<(String, String, String, &'static Value)> = Vec::new();
    for ((method, template), op) in spec_operations() {
        for (name, example) in
            op["requestBody"]["content"]["application/json"]["examples"].as_object().into_iter().flatten()
        {
            requests.push((method.clone(), template.clone(), name.clone(), &example["value"]));
        }
    }
    // The cluster the create example makes is the one the other examples act on.
    requests.sort_by_key(|(method, template, _, _)| {
        (template != "/api/hyperfleet/v1/clusters" || method != "post", template.len())
    });
    assert!(requests.len() >= 4, "request examples: {}", requests.len());

    let mut cluster_id = None::<String>;
    for (method, template, name, body) in requests {
        assert!(!template.contains("{nodepool_id}"), "{template}: give this example a node pool to act on");
        let path = match &cluster_id {
            Some(id) => template.replace("{cluster_id}", id),
            None => template.clone(),
        };
        let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let answer = Answer::of(app.request(http_method.clone(), &path, Some(&body.to_string())).await).await;
        contract.check(&method, &template, &answer);
        assert!((200..300).contains(&answer.status), "{method} {template} [{name}]: {}", answer.text);
        if let Some(expected) = Contract::example(&method, &template, answer.status, &name) {
            assert_eq!(
                masked(&answer.body),
                masked(expected),
                "{method} {template} [{name}] answers as its example shows"
            );
        }
        if cluster_id.is_none() {
            cluster_id = answer.body["id"].as_str().map(str::to_owned);
            // The same create again is the contract's "name taken" example.
            let again = Answer::of(app.request(http_method, &path, Some(&body.to_string())).await).await;
            contract.check(&method, &template, &again);
            let taken = Contract::example(&method, &template, 409, "Name taken").expect("a 409 example");
            assert_eq!(masked(&again.body), masked(taken));
        }
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_operation_answers_with_a_documented_response(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let mut c = Contract::new();
    let v1 = "/api/hyperfleet/v1";
    let unknown = uuid::Uuid::now_v7().to_string();
    let cluster = ClusterFactory::new().labels(json!({"env": "test"})).create(&app).await;
    let cluster_id = cluster["id"].as_str().unwrap().to_owned();
    let pool = NodePoolFactory::new(&cluster_id).create(&app).await;
    let pool_id = pool["id"].as_str().unwrap().to_owned();
    let cluster_path = format!("{v1}/clusters/{cluster_id}");
    let pool_path = format!("{cluster_path}/nodepools/{pool_id}");
    let report = r#"{"adapter":"dns","observed_generation":1,"conditions":[{"type":"Available","status":"True"}]}"#;

    let t_cluster = "/api/hyperfleet/v1/clusters/{cluster_id}";
    let t_pools = "/api/hyperfleet/v1/clusters/{cluster_id}/nodepools";
    let t_pool = "/api/hyperfleet/v1/clusters/{cluster_id}/nodepools/{nodepool_id}";
    let t_cluster_statuses = "/api/hyperfleet/v1/clusters/{cluster_id}/statuses";
    let t_pool_statuses = "/api/hyperfleet/v1/clusters/{cluster_id}/nodepools/{nodepool_id}/statuses";
    // (method, route template, request path, body, expected status)
    type Case<'a> = (&'a str, &'a str, String, Option<&'a str>, u16);
    let cases: Vec<Case> = vec![
        ("get", "/api/hyperfleet", "/api/hyperfleet".into(), None, 200),
        ("get", "/api/hyperfleet/v1/compatibility", format!("{v1}/compatibility"), None, 200),
        ("get", "/api/hyperfleet/v1/clusters", format!("{v1}/clusters?search=labels.env%3D'test'"), None, 200),
        ("get", "/api/hyperfleet/v1/clusters", format!("{v1}/clusters?search=nope"), None, 400),
        ("get", "/api/hyperfleet/v1/clusters", format!("{v1}/clusters?page=0"), None, 400),
        ("post", "/api/hyperfleet/v1/clusters", format!("{v1}/clusters"), Some(r#"{"name":"x"}"#), 400),
        ("post", "/api/hyperfleet/v1/clusters", format!("{v1}/clusters"), Some("[]"), 400),
        ("put", "/api/hyperfleet/v1/clusters", format!("{v1}/clusters"), None, 405),
        ("get", t_cluster, cluster_path.clone(), None, 200),
        ("get", t_cluster, format!("{v1}/clusters/{unknown}"), None, 404),
        ("patch", t_cluster, cluster_path.clone(), Some(r#"{"labels":{"env":"prod"}}"#), 200),
        ("patch", t_cluster, cluster_path.clone(), Some("{}"), 400),
        ("patch", t_cluster, format!("{v1}/clusters/not-a-uuid"), Some(r#"{"spec":{}}"#), 404),
        ("get", t_pools, format!("{cluster_path}/nodepools"), None, 200),
        ("get", t_pools, format!("{v1}/clusters/{unknown}/nodepools"), None, 404),
        ("post", t_pools, format!("{cluster_path}/nodepools"), Some(r#"{"name":"p2","spec":{}}"#), 201),
        ("post", t_pools, format!("{cluster_path}/nodepools"), Some(r#"{"name":"p2","spec":{}}"#), 409),
        ("get", t_pool, pool_path.clone(), None, 200),
        ("get", t_pool, format!("{cluster_path}/nodepools/{unknown}"), None, 404),
        ("patch", t_pool, pool_path.clone(), Some(r#"{"spec":{"replicas":2}}"#), 200),
        ("get", "/api/hyperfleet/v1/nodepools", format!("{v1}/nodepools?orderBy=name%20desc"), None, 200),
        ("get", "/api/hyperfleet/v1/nodepools", format!("{v1}/nodepools?orderBy=nope"), None, 400),
        ("post", t_cluster_statuses, format!("{cluster_path}/statuses"), Some(report), 201),
        (
            "post",
            t_cluster_statuses,
            format!("{cluster_path}/statuses"),
            Some(r#"{"adapter":"dns","observed_generation":0,"conditions":[]}"#),
            204,
        ),
        ("post", t_cluster_statuses, format!("{cluster_path}/statuses"), Some(r#"{"adapter":""}"#), 400),
        ("get", t_cluster_statuses, format!("{cluster_path}/statuses"), None, 200),
        ("get", t_cluster_statuses, format!("{cluster_path}/statuses?pageSize=x"), None, 400),
        ("post", t_pool_statuses, format!("{pool_path}/statuses"), Some(report), 201),
        ("get", t_pool_statuses, format!("{pool_path}/statuses"), None, 200),
        ("get", t_pool_statuses, format!("{cluster_path}/nodepools/{unknown}/statuses"), None, 404),
        ("delete", t_pool, pool_path.clone(), None, 204),
        ("delete", t_pool, pool_path.clone(), None, 404),
        ("delete", t_cluster, cluster_path.clone(), None, 204),
        ("delete", t_cluster, cluster_path.clone(), None, 404),
        ("get", "/api/hyperfleet/v1/events", format!("{v1}/events?after=0&source=Clusters,NodePools"), None, 200),
        ("get", "/api/hyperfleet/v1/events", format!("{v1}/events?after=-1"), None, 400),
        ("get", "/api/hyperfleet/v1/watch", format!("{v1}/watch?event_type=Moved"), None, 400),
    ];
    for (method, template, path, body, status) in cases {
        let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let answer = Answer::of(app.request(http_method, &path, body).await).await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.text);
        // A method the route does not have (405) is checked against the route's documented 405.
        let documented_method = if spec()["paths"][template][method].is_object() { method } else { "get" };
        c.check(documented_method, template, &answer);
    }
    // A watch stream never ends, so only its head is compared with the contract.
    let stream = app.client.get(app.url(&format!("{v1}/watch?after=0"))).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let response = resolve(&spec()["paths"]["/api/hyperfleet/v1/watch"]["get"]["responses"]["200"]);
    let media_type = stream.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(response["content"][media_type.as_str()].is_object(), "watch_events: {media_type} is not documented");
    for (header, definition) in response["headers"].as_object().into_iter().flatten() {
        if definition["required"] == true {
            assert!(stream.headers().contains_key(header.as_str()), "watch_events 200: header {header} is missing");
        }
    }
    drop(stream);
    c.seen.insert(("get".to_owned(), "/api/hyperfleet/v1/watch".to_owned()));

    let missing: Vec<String> = spec_operations()
        .keys()
        .filter(|(m, p)| !c.seen.contains(&(m.clone(), p.clone())))
        .map(|(m, p)| format!("{} {p}", m.to_uppercase()))
        .collect();
    assert!(missing.is_empty(), "operations this test does not exercise: {missing:?}");
}

/// The query parameter patterns say what the server accepts: a value matches its parameter's
/// schema exactly when the server answers 200 (a fuzzer's valid and invalid values then agree
/// with the server). Regression: `order` once allowed surrounding whitespace that §6.2 rejects.
#[sqlx::test(migrator = "MIGRATOR")]
async fn query_parameter_patterns_accept_exactly_what_the_server_accepts(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let sixteen = vec!["name"; 16].join(",");
    let seventeen = vec!["name"; 17].join(",");
    let cases: &[(&str, &[&str])] = &[
        (
            "order",
            &[
                "asc",
                "DESC",
                "dEsC",
                "",
                " ",
                "\u{3000}\u{2028}",
                " asc",
                "asc ",
                "\tdesc",
                "up",
                "asc,desc",
                "ascending",
            ],
        ),
        (
            "orderBy",
            &[
                "name",
                " name desc ",
                "name\tASC",
                "name  desc",
                "status.phase,created_at desc",
                "status_phase",
                "labels.env asc",
                "labels.example.com/Env_1",
                "id,id",
                &sixteen,
                "\u{2028}",
                "",
                "name,,id",
                "spec",
                "name sideways",
                "name asc desc",
                "labels.-env",
                "labels.a/b/c",
                &seventeen,
                "owner_id",
                "kind",
                "name;drop",
            ],
        ),
        ("search", &["name = 'a'", "", "x".repeat(4097).leak(), "a\u{0}b"]),
    ];
    let paths = [("/api/hyperfleet/v1/clusters", "get"), ("/api/hyperfleet/v1/nodepools", "get")];
    let mut problems = Vec::new();
    for (path, method) in paths {
        let parameters = spec()["paths"][path][method]["parameters"].as_array().unwrap();
        for (name, values) in cases {
            let parameter =
                parameters.iter().map(resolve).find(|p| p["name"] == *name).expect("a documented parameter");
            for value in *values {
                let matches = violations(&parameter["schema"], &json!(value)).is_empty();
                let answer = app.client.get(app.url(path)).query(&[(name, value)]).send().await.unwrap();
                let status = answer.status().as_u16();
                if matches != (status == 200) {
                    problems.push(format!("{path}?{name}={value:?}: matches the schema: {matches}, server: {status}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "patterns and server disagree:\n  {}", problems.join("\n  "));
}

// ---------------------------------------------------------------------------------------------
// The served document, Swagger UI and `hyperfleet openapi`

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_contract_is_served_as_json_at_both_paths(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for path in ["/api/hyperfleet/v1/openapi", "/openapi", "/openapi/"] {
        let answer = Answer::of(app.get(path).await).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.header("content-type"), Some("application/json"), "{path}");
        assert_eq!(&answer.body, spec(), "{path} serves the embedded document");
        assert_eq!(answer.body["openapi"], "3.0.0");
        assert_eq!(answer.body["info"]["title"], "HyperFleet API");
        assert_eq!(answer.body["info"]["version"], "1.0.0");

        let head = Answer::of(app.request(Method::HEAD, path, None).await).await;
        assert_eq!((head.status, head.text.as_str()), (200, ""), "HEAD {path}");
        assert_eq!(head.header("content-type"), Some("application/json"));
    }
    let post = Answer::of(app.post("/openapi", "{}").await).await;
    crate::helpers::assert_error(&post, 405, 10, "HTTP Method not implemented for this endpoint");
    assert_eq!(post.header("allow"), Some("GET, HEAD, OPTIONS"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn swagger_ui_is_served_with_its_own_assets(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for path in ["/api/hyperfleet/v1/openapi.html", "/openapi-ui"] {
        let answer = Answer::of(app.get(path).await).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.header("content-type"), Some("text/html"), "{path}");
        let page = &answer.text;
        assert!(page.contains("<html") && page.contains("</html>"), "{path}: a complete page");
        assert!(page.contains("url: \"/api/hyperfleet/v1/openapi\""), "{path}: points at the served document");
        assert!(!page.contains("https://") && !page.contains("http://"), "{path}: loads nothing from elsewhere");
    }
    let assets = [
        ("swagger-ui-bundle.js", "application/javascript", "SwaggerUIBundle"),
        ("swagger-ui.css", "text/css", ".swagger-ui"),
    ];
    for (file, content_type, marker) in assets {
        let answer = Answer::of(app.get(&format!("/api/hyperfleet/v1/swagger-ui/{file}")).await).await;
        assert_eq!(answer.status, 200, "{file}");
        assert_eq!(answer.header("content-type"), Some(content_type), "{file}");
        assert!(answer.text.len() > 10_000 && answer.text.contains(marker), "{file} is the real asset");
    }
    for file in ["index.html", "swagger-initializer.js", "favicon-32x32.png", "..%2Fopenapi", "swagger-ui.CSS"] {
        let path = format!("/api/hyperfleet/v1/swagger-ui/{file}");
        let answer = Answer::of(app.get(&path).await).await;
        crate::helpers::assert_error(&answer, 404, 7, &format!("The requested resource '{path}' doesn't exist"));
    }
}

#[test]
fn the_openapi_command_prints_the_embedded_document() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hyperfleet")).args(args).env_remove("DATABASE_URL").output().unwrap()
    };
    let committed = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.yaml")).unwrap();
    for args in [&["openapi"][..], &["openapi", "--format", "yaml"], &["openapi", "--format=YAML"]] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert_eq!(output.stdout, committed, "{args:?} prints the YAML exactly as committed");
    }
    let output = run(&["openapi", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0));
    let printed: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(&printed, spec());
    let output = run(&["openapi", "--format", "xml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--format"));
}
