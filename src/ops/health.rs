//! The health server (spec §11.1): liveness, readiness (a database ping) and maintenance mode.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;

use super::lifecycle::Lifecycle;
use super::{get_or_head, ops_not_found, ops_resource};
use crate::db::Database;
use crate::events::BrokerState;

/// How long `/readyz` waits for the database ping.
pub const READINESS_PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Shared state of the health server.
#[derive(Clone)]
pub struct HealthState {
    pub lifecycle: Arc<Lifecycle>,
    pub db: Database,
    /// Set when events are published to a broker (`--broker-url`).
    pub broker: Option<Arc<BrokerState>>,
}

fn json_response(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/json")))
        .body(body.to_string())
}

async fn healthcheck(state: web::Data<HealthState>) -> HttpResponse {
    if state.lifecycle.is_draining() {
        json_response(StatusCode::SERVICE_UNAVAILABLE, json!({"maintenance_status": "shutting down"}))
    } else if state.lifecycle.in_maintenance() {
        json_response(StatusCode::SERVICE_UNAVAILABLE, json!({"maintenance_status": "maintenance mode"}))
    } else {
        json_response(StatusCode::OK, json!({}))
    }
}

async fn maintenance_on(state: web::Data<HealthState>) -> HttpResponse {
    state.lifecycle.set_maintenance(true);
    tracing::info!("maintenance mode on");
    HttpResponse::Ok().finish()
}

async fn maintenance_off(state: web::Data<HealthState>) -> HttpResponse {
    state.lifecycle.set_maintenance(false);
    tracing::info!("maintenance mode off");
    HttpResponse::Ok().finish()
}

async fn healthz() -> HttpResponse {
    json_response(StatusCode::OK, json!({"status": "ok"}))
}

async fn readyz(state: web::Data<HealthState>) -> HttpResponse {
    let reason = if state.lifecycle.is_draining() {
        Some("shutting down")
    } else if state.lifecycle.in_maintenance() {
        Some("maintenance mode")
    } else {
        state.db.ping(READINESS_PING_TIMEOUT).await.err().map(|f| f.reason())
    };
    let (status, mut body) = match reason {
        None => (StatusCode::OK, json!({"status": "ok"})),
        Some(reason) => (StatusCode::SERVICE_UNAVAILABLE, json!({"status": "unavailable", "reason": reason})),
    };
    // The broker only adds a detail: events wait in PostgreSQL while it is away, so the replica
    // keeps serving and stays ready.
    if let Some(broker) = &state.broker {
        body["broker"] = json!(if broker.is_connected() { "connected" } else { "unreachable" });
    }
    json_response(status, body)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(ops_resource("/healthcheck", "GET, HEAD").route(get_or_head().to(healthcheck)))
        .service(ops_resource("/healthcheck/down", "POST").route(web::post().to(maintenance_on)))
        .service(ops_resource("/healthcheck/up", "POST").route(web::post().to(maintenance_off)))
        .service(ops_resource("/healthz", "GET, HEAD").route(get_or_head().to(healthz)))
        .service(ops_resource("/readyz", "GET, HEAD").route(get_or_head().to(readyz)))
        .default_service(web::to(ops_not_found));
}
