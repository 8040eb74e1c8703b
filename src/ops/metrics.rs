//! The metrics server (spec §11.2): `/metrics` renders the registry of `crate::metrics`, and a
//! background task keeps the `hyperfleet_resources` gauges fresh.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};

use super::{get_or_head, ops_not_found, ops_resource};
use crate::dao::stats;
use crate::db::Database;
use crate::error::ApiError;
use crate::metrics::{Metrics, CONTENT_TYPE};

/// How often `hyperfleet_resources` is recomputed (never at scrape time).
pub const RESOURCE_GAUGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Refreshes `hyperfleet_resources` now and then every [`RESOURCE_GAUGE_INTERVAL`], until the
/// task is aborted. A failed refresh keeps the previous values.
pub async fn refresh_resource_gauges(metrics: Metrics, db: Database) {
    let mut ticker = tokio::time::interval(RESOURCE_GAUGE_INTERVAL);
    loop {
        ticker.tick().await;
        if let Err(e) = refresh_resource_gauges_once(&metrics, &db).await {
            tracing::debug!(error = %e, "resource gauges not refreshed");
        }
    }
}

/// One refresh of `hyperfleet_resources`: one `GROUP BY` per table.
pub async fn refresh_resource_gauges_once(metrics: &Metrics, db: &Database) -> Result<(), ApiError> {
    let mut conn = db.acquire().await?;
    let counts = stats::live_by_phase(&mut conn).await?;
    metrics.set_resource_counts(&counts);
    Ok(())
}

/// Shared state of the metrics server.
pub struct MetricsState {
    pub metrics: Metrics,
    pub db: Database,
}

async fn get_metrics(state: web::Data<MetricsState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)))
        .body(state.metrics.render(Some(state.db.pool())))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(ops_resource("/metrics", "GET, HEAD").route(get_or_head().to(get_metrics)))
        .default_service(web::to(ops_not_found));
}
