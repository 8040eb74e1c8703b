//! Adapter status handlers (spec §4.11, §4.12, §4.18, §4.19): reports and lists for clusters
//! and node pools.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::body::RawBody;
use crate::api::caller::Caller;
use crate::api::decode::statuses::decode_report;
use crate::api::handlers::json_response;
use crate::api::params::{cluster_path, node_pool_path, Paging, QueryParams};
use crate::api::state::AppState;
use crate::api::views::{AdapterStatus, List};
use crate::error::ApiError;
use crate::model::path::ResourcePath;
use crate::service;

async fn list(state: &AppState, req: &HttpRequest, path: ResourcePath) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from_query(&QueryParams::from_request(req))?;
    let page = service::statuses::list(&state.context, &path, paging.size, paging.offset()).await?;
    let items = page.items.into_iter().map(AdapterStatus::from).collect();
    Ok(json_response(StatusCode::OK, &List::new("AdapterStatusList", paging.page, page.total, items)))
}

async fn report(state: &AppState, body: &RawBody, path: ResourcePath) -> Result<HttpResponse, ApiError> {
    let report = decode_report(&body.0)?;
    match service::statuses::report(&state.context, &path, &report).await? {
        Some(stored) => Ok(json_response(StatusCode::CREATED, &AdapterStatus::from(stored))),
        None => Ok(HttpResponse::NoContent().finish()),
    }
}

/// `GET /api/hyperfleet/v1/clusters/{cluster_id}/statuses`
pub async fn get_cluster_statuses(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list(&state, &req, cluster_path(&req)).await
}

/// `POST /api/hyperfleet/v1/clusters/{cluster_id}/statuses`
pub async fn post_cluster_status(
    state: web::Data<AppState>,
    _caller: Caller,
    body: RawBody,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    report(&state, &body, cluster_path(&req)).await
}

/// `GET /api/hyperfleet/v1/clusters/{cluster_id}/nodepools/{nodepool_id}/statuses`
pub async fn get_node_pool_statuses(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list(&state, &req, node_pool_path(&req)).await
}

/// `POST /api/hyperfleet/v1/clusters/{cluster_id}/nodepools/{nodepool_id}/statuses`
pub async fn post_node_pool_status(
    state: web::Data<AppState>,
    _caller: Caller,
    body: RawBody,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    report(&state, &body, node_pool_path(&req)).await
}
