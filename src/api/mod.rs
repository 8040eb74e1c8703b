//! HTTP only: the one route table of the API server, shared request state, and the helpers
//! handlers use to answer. Handlers are named after their OpenAPI operationId.

pub mod body;
pub mod caller;
pub mod clusters;
pub mod events;
pub mod meta;
pub mod nodepools;
pub mod params;
pub mod resources;
pub mod statuses;

use std::sync::Arc;
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{guard, web, HttpMessage, HttpRequest, HttpResponse, Resource};
use serde::Serialize;

use crate::config::Settings;
use crate::db::Database;
use crate::error::ApiError;
use crate::events::WatchHub;
use crate::health::Lifecycle;
use crate::metrics::Metrics;
use crate::telemetry::{self, RequestContext};

/// State shared by every API handler.
pub struct AppState {
    pub db: Database,
    pub metrics: Metrics,
    pub settings: Arc<Settings>,
    pub lifecycle: Arc<Lifecycle>,
    pub watch: Arc<WatchHub>,
}

/// Allow lists of PRODUCT.md §2.8.
const READ_ONLY: &str = "GET, HEAD, OPTIONS";
const COLLECTION: &str = "GET, HEAD, POST, OPTIONS";
const ITEM: &str = "GET, HEAD, PATCH, DELETE, OPTIONS";

/// The API server's routes. `write_timeout` bounds every handler except streaming ones.
pub fn configure(cfg: &mut web::ServiceConfig, write_timeout: Duration) {
    let bounded = Some(write_timeout);
    cfg.service(resource("/api/hyperfleet", READ_ONLY, bounded).route(get_or_head().to(meta::get_api_metadata)))
        .service(
            resource("/api/hyperfleet/v1/compatibility", READ_ONLY, bounded)
                .route(get_or_head().to(meta::get_compatibility)),
        )
        .service(
            resource("/api/hyperfleet/v1/clusters", COLLECTION, bounded)
                .route(get_or_head().to(clusters::get_clusters))
                .route(web::post().to(clusters::post_cluster)),
        )
        .service(
            resource("/api/hyperfleet/v1/clusters/{cluster_id}", ITEM, bounded)
                .route(get_or_head().to(clusters::get_cluster_by_id))
                .route(web::patch().to(clusters::patch_cluster_by_id))
                .route(web::delete().to(clusters::delete_cluster_by_id)),
        )
        .service(
            resource("/api/hyperfleet/v1/clusters/{cluster_id}/statuses", COLLECTION, bounded)
                .route(get_or_head().to(statuses::get_cluster_statuses))
                .route(web::post().to(statuses::post_cluster_status)),
        )
        .service(
            resource("/api/hyperfleet/v1/clusters/{cluster_id}/nodepools", COLLECTION, bounded)
                .route(get_or_head().to(nodepools::get_node_pools_by_cluster_id))
                .route(web::post().to(nodepools::post_node_pool)),
        )
        .service(
            resource("/api/hyperfleet/v1/clusters/{cluster_id}/nodepools/{nodepool_id}", ITEM, bounded)
                .route(get_or_head().to(nodepools::get_node_pool_by_id))
                .route(web::patch().to(nodepools::patch_node_pool_by_id))
                .route(web::delete().to(nodepools::delete_node_pool_by_id)),
        )
        .service(
            resource("/api/hyperfleet/v1/clusters/{cluster_id}/nodepools/{nodepool_id}/statuses", COLLECTION, bounded)
                .route(get_or_head().to(statuses::get_node_pool_statuses))
                .route(web::post().to(statuses::post_node_pool_status)),
        )
        .service(
            resource("/api/hyperfleet/v1/nodepools", READ_ONLY, bounded)
                .route(get_or_head().to(nodepools::get_node_pools)),
        )
        .service(resource("/api/hyperfleet/v1/events", READ_ONLY, bounded).route(get_or_head().to(events::get_events)))
        .service(resource("/api/hyperfleet/v1/watch", READ_ONLY, None).route(get_or_head().to(events::watch_events)))
        .default_service(web::to(route_not_found));
}

/// A route with its `Allow` list: OPTIONS answers 204 with it, other unsupported methods 405.
/// Handlers are shielded from panics and, when `timeout` is set (every route but the streaming
/// one), bounded by it.
fn resource(
    path: &str,
    allow: &'static str,
    timeout: Option<Duration>,
) -> Resource<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::resource(path)
        .wrap(from_fn(move |req, next| telemetry::bound_handler(timeout, req, next)))
        .route(web::route().method(Method::OPTIONS).to(move || async move {
            HttpResponse::NoContent().insert_header((header::ALLOW, HeaderValue::from_static(allow))).finish()
        }))
        .default_service(web::to(move || async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow }) }))
}

fn get_or_head() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

async fn route_not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw_path =
        req.extensions().get::<RequestContext>().map(|c| c.raw_path.clone()).unwrap_or_else(|| req.path().to_owned());
    Err(ApiError::route_not_found(&raw_path))
}

/// A compact JSON answer with `Content-Type: application/json`.
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    match serde_json::to_vec(value) {
        Ok(body) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/json")))
            .body(body),
        Err(e) => actix_web::ResponseError::error_response(&ApiError::internal(e)),
    }
}
