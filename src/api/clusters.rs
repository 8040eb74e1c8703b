//! Cluster handlers (spec §4.6–§4.10).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::body::RawBody;
use crate::api::caller::Caller;
use crate::api::decode::resources::{decode_create, decode_patch};
use crate::api::handlers::{created, json_response, list};
use crate::api::params::cluster_path;
use crate::api::state::AppState;
use crate::api::views::Resource;
use crate::error::ApiError;
use crate::model::kind::ResourceKind;
use crate::service::resources;

/// `GET /api/hyperfleet/v1/clusters`
pub async fn get_clusters(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list(&state, &req, ResourceKind::Cluster, None).await
}

/// `POST /api/hyperfleet/v1/clusters`
pub async fn post_cluster(state: web::Data<AppState>, caller: Caller, body: RawBody) -> Result<HttpResponse, ApiError> {
    let new = decode_create(&body.0, ResourceKind::Cluster)?;
    let row = resources::create(&state.context, None, &new, &caller.identity).await?;
    Ok(created(Resource::from(row)))
}

/// `GET /api/hyperfleet/v1/clusters/{cluster_id}`
pub async fn get_cluster_by_id(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let row = resources::get(&state.context, &cluster_path(&req)).await?;
    Ok(json_response(StatusCode::OK, &Resource::from(row)))
}

/// `PATCH /api/hyperfleet/v1/clusters/{cluster_id}`
pub async fn patch_cluster_by_id(
    state: web::Data<AppState>,
    caller: Caller,
    body: RawBody,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let patch = decode_patch(&body.0)?;
    let row = resources::patch(&state.context, &cluster_path(&req), &patch, &caller.identity).await?;
    Ok(json_response(StatusCode::OK, &Resource::from(row)))
}

/// `DELETE /api/hyperfleet/v1/clusters/{cluster_id}`
pub async fn delete_cluster_by_id(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    resources::delete(&state.context, &cluster_path(&req), &caller.identity).await?;
    Ok(HttpResponse::NoContent().finish())
}
