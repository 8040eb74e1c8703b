//! The test harness: each test gets its own database (from `#[sqlx::test]`) and the real
//! `Application` on port 0, reached over HTTP with a real client.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use hyperfleet::api::state::AppState;
use hyperfleet::cli::{Cli, Command};
use hyperfleet::config::Settings;
use hyperfleet::events::EventHandler;
use hyperfleet::startup::{Application, ShutdownHandle};
use reqwest::{Method, Response};
use serde_json::Value;
use sqlx::PgPool;

/// Settings as `serve` would build them from these extra flags, with every listener on an
/// ephemeral loopback port and authentication off unless the flags say otherwise.
pub fn settings_from_flags(extra: &[&str]) -> Settings {
    let mut args =
        vec!["hyperfleet", "serve", "--api-workers=2", "--database-url=postgres://unused@127.0.0.1:1/unused"];
    let defaults = [
        "--api-server-bindaddress=127.0.0.1:0",
        "--metrics-server-bindaddress=127.0.0.1:0",
        "--health-check-server-bindaddress=127.0.0.1:0",
        "--enable-jwt=false",
    ];
    for default in defaults {
        let name = default.split('=').next().unwrap_or_default();
        if !extra.iter().any(|flag| flag.starts_with(name)) {
            args.push(default);
        }
    }
    args.extend_from_slice(extra);
    let cli = Cli::try_parse_from(args).expect("test flags parse");
    match cli.command {
        Command::Serve(serve) => Settings::from_serve_args(&serve).expect("test settings are valid"),
        _ => unreachable!("the test flags name the serve command"),
    }
}

pub struct TestApp {
    pub address: String,
    pub health_address: String,
    pub metrics_address: String,
    pub client: reqwest::Client,
    pub state: actix_web::web::Data<AppState>,
    shutdown: ShutdownHandle,
    task: Option<tokio::task::JoinHandle<i32>>,
}

impl TestApp {
    /// The application on the test's database, with default settings.
    pub async fn spawn(pool: PgPool) -> TestApp {
        Self::spawn_with(pool, &[]).await
    }

    /// The application with extra `serve` flags.
    pub async fn spawn_with(pool: PgPool, flags: &[&str]) -> TestApp {
        Self::spawn_settings(pool, settings_from_flags(flags)).await
    }

    pub async fn spawn_settings(pool: PgPool, settings: Settings) -> TestApp {
        Self::spawn_with_handlers(pool, settings, Vec::new()).await
    }

    /// The application with extra event handlers, run after the built-in ones.
    pub async fn spawn_with_handlers(
        pool: PgPool,
        settings: Settings,
        handlers: Vec<Arc<dyn EventHandler>>,
    ) -> TestApp {
        let app = Application::build_with_pool(settings, pool.clone(), handlers).await.expect("the application starts");
        let address = format!("http://{}", app.api_addr());
        let health_address = format!("http://{}", app.health_addr());
        let metrics_address = format!("http://{}", app.metrics_addr());
        let state = app.state();
        let shutdown = app.shutdown_handle();
        let task = tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        TestApp { address, health_address, metrics_address, client, state, shutdown, task: Some(task) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<&str>) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        request.send().await.expect("request is answered")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &str) -> Response {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &str) -> Response {
        self.request(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path, None).await
    }

    /// GET and decode, asserting the status.
    pub async fn get_json(&self, path: &str, status: u16) -> Value {
        let answer = Answer::of(self.get(path).await).await;
        assert_eq!(answer.status, status, "GET {path}: {}", answer.text);
        answer.body
    }

    /// Triggers a graceful shutdown and returns the exit status `serve` would have.
    pub async fn stop(mut self) -> i32 {
        self.shutdown.trigger();
        self.task.take().unwrap().await.expect("the application task completes")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if self.task.is_some() {
            self.shutdown.trigger();
        }
    }
}

/// Status, headers and JSON body of a response.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub async fn of(response: Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body is readable");
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
        Answer { status, headers, body, text }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Asserts the contract's error body (§5.1) and returns it.
#[track_caller]
pub fn assert_error(answer: &Answer, status: u16, code: u16, reason: &str) {
    assert_eq!(answer.status, status, "status of {}", answer.text);
    assert_eq!(answer.header("content-type"), Some("application/json"), "content type");
    let body = &answer.body;
    assert_eq!(body["kind"], "Error", "{}", answer.text);
    assert_eq!(body["id"], code.to_string(), "{}", answer.text);
    assert_eq!(body["code"], format!("hyperfleet-{code}"), "{}", answer.text);
    assert_eq!(body["href"], format!("/api/hyperfleet/v1/errors/{code}"), "{}", answer.text);
    assert_eq!(body["reason"], reason, "{}", answer.text);
    let op = answer.header("x-operation-id").expect("X-Operation-ID header");
    assert_eq!(body["operation_id"], op, "operation_id equals the header");
    if code == 8 {
        assert!(body["details"].is_array(), "{}", answer.text);
    } else {
        assert!(body.get("details").is_none(), "{}", answer.text);
    }
}

/// The application on a pool built the way `serve` builds its own from these flags (pool size,
/// acquire timeout, and the connections' `statement_timeout`), pointed at the test's database.
pub async fn spawn_configured(pool: &PgPool, flags: &[&str]) -> TestApp {
    let settings = settings_from_flags(flags);
    let statement_ms = settings.database.statement_timeout.as_millis().to_string();
    let options =
        (*pool.connect_options()).clone().options([("statement_timeout", statement_ms.as_str()), ("TimeZone", "UTC")]);
    let configured = hyperfleet::db::pool_options(&settings.database).connect_lazy_with(options);
    TestApp::spawn_settings(configured, settings).await
}

/// Rows of every table a request can write, to prove a rejected request wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowCounts {
    pub clusters: i64,
    pub node_pools: i64,
    pub adapter_statuses: i64,
    pub events: i64,
}

pub async fn row_counts(pool: &PgPool) -> RowCounts {
    let (clusters, node_pools, adapter_statuses, events): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM clusters), (SELECT count(*) FROM node_pools), \
         (SELECT count(*) FROM adapter_statuses), (SELECT count(*) FROM events)",
    )
    .fetch_one(pool)
    .await
    .expect("row counts");
    RowCounts { clusters, node_pools, adapter_statuses, events }
}

/// Asserts the contract's error body for any reason, returning the reason.
#[track_caller]
pub fn assert_error_shape(answer: &Answer, status: u16, code: u16) -> String {
    let reason = answer.body["reason"].as_str().unwrap_or_default().to_owned();
    assert!(!reason.is_empty(), "a reason: {}", answer.text);
    assert_error(answer, status, code, &reason);
    reason
}
