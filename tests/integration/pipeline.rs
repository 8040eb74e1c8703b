//! The request pipeline: metadata, routing errors, operation ids, HEAD/OPTIONS, CORS, metrics.

use reqwest::Method;
use sqlx::PgPool;

use crate::helpers::{assert_error, Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;

#[sqlx::test(migrator = "MIGRATOR")]
async fn metadata_endpoint_describes_the_api(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let answer = Answer::of(app.get("/api/hyperfleet").await).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.body["id"], "hyperfleet");
    assert_eq!(answer.body["kind"], "API");
    assert_eq!(answer.body["href"], "/api/hyperfleet");
    assert_eq!(answer.body["version"], env!("CARGO_PKG_VERSION"));
    assert!(!answer.body["build_time"].as_str().unwrap().is_empty());
    assert_eq!(answer.body.as_object().unwrap().len(), 5, "{}", answer.text);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn compatibility_lists_every_feature(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let answer = Answer::of(app.get("/api/hyperfleet/v1/compatibility?x=1").await).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        serde_json::json!({"api_version": "v1", "compatible": true,
            "features": ["clusters", "nodepools", "adapter_status", "status_aggregation", "search", "patch", "delete", "events", "watch"]})
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn generated_operation_ids_are_lowercase_uuid_v7(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let answer = Answer::of(app.get("/api/hyperfleet").await).await;
    let op = answer.header("x-operation-id").unwrap();
    let uuid = uuid::Uuid::parse_str(op).unwrap();
    assert_eq!(uuid.get_version_num(), 7);
    assert_eq!(op, op.to_lowercase());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_well_formed_operation_id_is_echoed_and_a_bad_one_replaced(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let send = |value: String| app.client.get(app.url("/api/hyperfleet/nope")).header("X-Operation-ID", value).send();
    let good = "trace-1.2:abc_DEF".to_owned();
    let answer = Answer::of(send(good.clone()).await.unwrap()).await;
    assert_eq!(answer.header("x-operation-id"), Some(good.as_str()));
    assert_eq!(answer.body["operation_id"], good);
    for bad in ["has space".to_owned(), "x".repeat(129), "semi;colon".to_owned()] {
        let answer = Answer::of(send(bad.clone()).await.unwrap()).await;
        let op = answer.header("x-operation-id").unwrap();
        assert_ne!(op, bad);
        assert!(uuid::Uuid::parse_str(op).is_ok(), "generated id for {bad:?}");
        assert_eq!(answer.body["operation_id"], op);
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn unknown_routes_answer_404_with_the_raw_path(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cases = [
        ("/", "path /"),
        ("/api", "prefix without version"),
        ("/api/hyperfleet/v1", "version root"),
        ("/api/hyperfleet/v1/nodepools/abc", "no node pool item route"),
        ("/api/hyperfleet//v1", "empty segment"),
        ("/api/hyperfleet//", "two trailing slashes"),
        ("/api/hyperfleet/v1/errors/8", "error hrefs are identifiers"),
        ("/api/hyperfleet/v1/swagger-ui/other.js", "unknown swagger asset"),
    ];
    for (path, why) in cases {
        let answer = Answer::of(app.get(path).await).await;
        assert_error(&answer, 404, 7, &format!("The requested resource '{path}' doesn't exist"));
        assert!(answer.header("x-operation-id").is_some(), "{why}");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_long_unknown_path_is_quoted_cut_to_256_characters(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let path = format!("/{}", "a".repeat(400));
    let answer = Answer::of(app.get(&path).await).await;
    let quoted = format!("{}...", &path[..256]);
    assert_error(&answer, 404, 7, &format!("The requested resource '{quoted}' doesn't exist"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn one_trailing_slash_is_ignored(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let answer = Answer::of(app.get("/api/hyperfleet/").await).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["kind"], "API");
    let answer = Answer::of(app.get("/api/hyperfleet/v1/compatibility/?a=b").await).await;
    assert_eq!(answer.status, 200, "query strings survive the rewrite");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_wrong_method_gets_405_with_the_allow_list(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for (method, path) in [
        (Method::POST, "/api/hyperfleet"),
        (Method::DELETE, "/api/hyperfleet/v1/compatibility"),
        (Method::PUT, "/api/hyperfleet/"),
        (Method::from_bytes(b"PROPFIND").unwrap(), "/api/hyperfleet"),
    ] {
        let answer = Answer::of(app.request(method.clone(), path, Some("{}")).await).await;
        assert_error(&answer, 405, 10, "HTTP Method not implemented for this endpoint");
        assert_eq!(answer.header("allow"), Some("GET, HEAD, OPTIONS"), "{method} {path}");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn options_answers_204_with_allow_and_no_body(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let answer = Answer::of(app.request(Method::OPTIONS, "/api/hyperfleet/v1/compatibility", None).await).await;
    assert_eq!(answer.status, 204);
    assert_eq!(answer.header("allow"), Some("GET, HEAD, OPTIONS"));
    assert!(answer.text.is_empty());
    assert!(answer.header("x-operation-id").is_some());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn head_answers_like_get_without_a_body(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let get = Answer::of(app.get("/api/hyperfleet").await).await;
    let head = Answer::of(app.request(Method::HEAD, "/api/hyperfleet", None).await).await;
    assert_eq!(head.status, 200);
    assert!(head.text.is_empty());
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert_eq!(head.header("content-length"), Some(get.text.len().to_string().as_str()));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn cors_headers_go_only_to_allowed_origins(pool: PgPool) {
    let app =
        TestApp::spawn_with(pool, &["--cors-allowed-origins=https://ui.example.com, https://other.example"]).await;
    let allowed =
        app.client.get(app.url("/api/hyperfleet")).header("Origin", "https://ui.example.com").send().await.unwrap();
    let allowed = Answer::of(allowed).await;
    assert_eq!(allowed.header("access-control-allow-origin"), Some("https://ui.example.com"));
    assert_eq!(allowed.header("vary"), Some("Origin"));
    assert_eq!(allowed.header("access-control-expose-headers"), Some("X-Operation-ID"));

    let denied =
        app.client.get(app.url("/api/hyperfleet")).header("Origin", "https://evil.example").send().await.unwrap();
    let denied = Answer::of(denied).await;
    assert_eq!(denied.status, 200, "a disallowed origin is still served");
    assert!(denied.header("access-control-allow-origin").is_none());

    let preflight = app
        .client
        .request(Method::OPTIONS, app.url("/api/hyperfleet/v1/compatibility"))
        .header("Origin", "https://other.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    let preflight = Answer::of(preflight).await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-methods"), Some("GET, HEAD, OPTIONS"));
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("Authorization, Content-Type, X-Operation-ID, Last-Event-ID")
    );
    assert_eq!(preflight.header("access-control-max-age"), Some("600"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn cors_star_allows_any_origin_by_echoing_it(pool: PgPool) {
    let app = TestApp::spawn_with(pool, &["--cors-allowed-origins=*"]).await;
    let answer =
        app.client.get(app.url("/api/hyperfleet")).header("Origin", "http://localhost:3000").send().await.unwrap();
    assert_eq!(answer.headers().get("access-control-allow-origin").unwrap(), "http://localhost:3000");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn requests_are_counted_by_route_template_method_and_code(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    assert_eq!(app.get("/api/hyperfleet/v1/compatibility").await.status(), 200);
    assert_eq!(app.get("/api/hyperfleet/v1/compatibility").await.status(), 200);
    assert_eq!(app.request(Method::DELETE, "/api/hyperfleet/v1/compatibility", None).await.status(), 405);
    assert_eq!(app.get("/api/hyperfleet").await.status(), 200);
    assert_eq!(app.get("/api/hyperfleet/v1/unknown").await.status(), 404);

    // The count is recorded once the response has been sent; allow the drop to happen.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let metrics = app.client.get(format!("{}/metrics", app.metrics_address)).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert_eq!(metrics.headers().get("content-type").unwrap(), "text/plain; version=0.0.4; charset=utf-8");
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            r#"api_inbound_request_count{code="200",method="GET",path="/api/hyperfleet/v1/compatibility"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains(
        r#"api_inbound_request_count{code="405",method="DELETE",path="/api/hyperfleet/v1/compatibility"} 1"#
    ));
    assert!(text.contains(
        r#"api_inbound_request_duration_count{code="200",method="GET",path="/api/hyperfleet/v1/compatibility"} 2"#
    ));
    assert!(!text.contains(r#"path="/api/hyperfleet""#), "metadata is not counted");
    assert!(!text.contains("/v1/unknown"), "unmatched paths are not counted");
    assert!(text.contains("hyperfleet_db_pool_max_connections"));
    assert!(text.contains(r#"hyperfleet_build_info{commit=""#));
    assert!(text.contains(r#"hyperfleet_resources{phase="Ready",resource_type="Cluster"} 0"#));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_metrics_server_answers_unknown_paths_in_plain_text(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let answer = Answer::of(app.client.get(format!("{}/nope", app.metrics_address)).send().await.unwrap()).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.text, "404 page not found");
    assert_eq!(answer.header("content-type"), Some("text/plain; charset=utf-8"));
    let answer = Answer::of(app.client.post(format!("{}/metrics", app.metrics_address)).send().await.unwrap()).await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), Some("GET, HEAD"));
    assert!(answer.text.is_empty());
}
