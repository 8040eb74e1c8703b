//! The health server: liveness, readiness with its database ping, maintenance mode.

use std::time::Duration;

use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::helpers::{Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;

async fn health(app: &TestApp, method: reqwest::Method, path: &str) -> Answer {
    Answer::of(app.client.request(method, format!("{}{path}", app.health_address)).send().await.unwrap()).await
}

/// A pool that can never connect (nothing listens on port 1).
fn unreachable_pool() -> PgPool {
    let options: sqlx::postgres::PgConnectOptions = "postgres://postgres@127.0.0.1:1/none".parse().unwrap();
    PgPoolOptions::new().acquire_timeout(Duration::from_millis(500)).connect_lazy_with(options)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn liveness_and_readiness_are_ok_with_a_migrated_database(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let answer = health(&app, reqwest::Method::GET, "/healthz").await;
    assert_eq!((answer.status, answer.body.clone()), (200, json!({"status": "ok"})));
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let answer = health(&app, reqwest::Method::GET, "/readyz").await;
    assert_eq!((answer.status, answer.body.clone()), (200, json!({"status": "ok"})));
    let answer = health(&app, reqwest::Method::GET, "/healthcheck").await;
    assert_eq!((answer.status, answer.body.clone()), (200, json!({})));
    let answer = health(&app, reqwest::Method::HEAD, "/readyz").await;
    assert_eq!(answer.status, 200);
    assert!(answer.text.is_empty());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn readiness_fails_when_the_database_cannot_be_reached(_pool: PgPool) {
    let app = TestApp::spawn(unreachable_pool()).await;
    let answer = health(&app, reqwest::Method::GET, "/readyz").await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.body, json!({"status": "unavailable", "reason": "database unavailable"}));
    // Liveness and the endpoints without database access keep working.
    assert_eq!(health(&app, reqwest::Method::GET, "/healthz").await.status, 200);
    assert_eq!(Answer::of(app.get("/api/hyperfleet").await).await.status, 200);
    assert_eq!(Answer::of(app.get("/api/hyperfleet/v1/compatibility").await).await.status, 200);
}

#[sqlx::test(migrations = false)]
async fn readiness_fails_until_the_schema_is_migrated(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let answer = health(&app, reqwest::Method::GET, "/readyz").await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.body["reason"], "database schema is not up to date");

    hyperfleet::MIGRATOR.run(&pool).await.unwrap();
    let answer = health(&app, reqwest::Method::GET, "/readyz").await;
    assert_eq!(answer.status, 200, "migrating later takes effect without a restart");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn maintenance_mode_fails_healthcheck_and_readiness_but_not_the_api(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let answer = health(&app, reqwest::Method::POST, "/healthcheck/down").await;
    assert_eq!(answer.status, 200);
    assert!(answer.text.is_empty());
    let answer = health(&app, reqwest::Method::GET, "/healthcheck").await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.body, json!({"maintenance_status": "maintenance mode"}));
    let answer = health(&app, reqwest::Method::GET, "/readyz").await;
    assert_eq!(answer.body, json!({"status": "unavailable", "reason": "maintenance mode"}));
    assert_eq!(Answer::of(app.get("/api/hyperfleet").await).await.status, 200);

    assert_eq!(health(&app, reqwest::Method::POST, "/healthcheck/up").await.status, 200);
    assert_eq!(health(&app, reqwest::Method::GET, "/healthcheck").await.status, 200);
    assert_eq!(health(&app, reqwest::Method::GET, "/readyz").await.status, 200);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_health_server_answers_unknown_paths_and_methods_plainly(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let answer = health(&app, reqwest::Method::GET, "/nope").await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.text, "404 page not found");
    assert_eq!(answer.header("content-type"), Some("text/plain; charset=utf-8"));
    let answer = health(&app, reqwest::Method::GET, "/healthcheck/down").await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), Some("POST"));
    assert!(answer.text.is_empty());
    let answer = health(&app, reqwest::Method::DELETE, "/readyz").await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), Some("GET, HEAD"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn shutdown_drains_and_exits_zero_when_nothing_is_in_flight(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    assert_eq!(Answer::of(app.get("/api/hyperfleet").await).await.status, 200);
    let health_address = app.health_address.clone();
    let state = app.state.clone();
    assert_eq!(app.stop().await, 0);
    assert!(state.lifecycle.is_draining());
    assert!(reqwest::get(format!("{health_address}/healthz")).await.is_err(), "servers are stopped");
}
