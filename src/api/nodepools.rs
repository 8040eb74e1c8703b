//! Node-pool handlers (spec §4.13–§4.20).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::body::RawBody;
use crate::api::caller::Caller;
use crate::api::decode::resources::{decode_create, decode_patch};
use crate::api::handlers::{created, json_response, list};
use crate::api::params::{cluster_path, node_pool_path};
use crate::api::state::AppState;
use crate::api::views::Resource;
use crate::error::ApiError;
use crate::model::kind::ResourceKind;
use crate::service::resources;

/// `GET /api/hyperfleet/v1/nodepools`
pub async fn get_node_pools(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list(&state, &req, ResourceKind::NodePool, None).await
}

/// `GET /api/hyperfleet/v1/clusters/{cluster_id}/nodepools`
pub async fn get_node_pools_by_cluster_id(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list(&state, &req, ResourceKind::NodePool, Some(&cluster_path(&req))).await
}

/// `POST /api/hyperfleet/v1/clusters/{cluster_id}/nodepools`
pub async fn post_node_pool(
    state: web::Data<AppState>,
    caller: Caller,
    body: RawBody,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let new = decode_create(&body.0, ResourceKind::NodePool)?;
    let row = resources::create(&state.context, Some(&cluster_path(&req)), &new, &caller.identity).await?;
    Ok(created(Resource::from(row)))
}

/// `GET /api/hyperfleet/v1/clusters/{cluster_id}/nodepools/{nodepool_id}`
pub async fn get_node_pool_by_id(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let row = resources::get(&state.context, &node_pool_path(&req)).await?;
    Ok(json_response(StatusCode::OK, &Resource::from(row)))
}

/// `PATCH /api/hyperfleet/v1/clusters/{cluster_id}/nodepools/{nodepool_id}`
pub async fn patch_node_pool_by_id(
    state: web::Data<AppState>,
    caller: Caller,
    body: RawBody,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let patch = decode_patch(&body.0)?;
    let row = resources::patch(&state.context, &node_pool_path(&req), &patch, &caller.identity).await?;
    Ok(json_response(StatusCode::OK, &Resource::from(row)))
}

/// `DELETE /api/hyperfleet/v1/clusters/{cluster_id}/nodepools/{nodepool_id}`
pub async fn delete_node_pool_by_id(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    resources::delete(&state.context, &node_pool_path(&req), &caller.identity).await?;
    Ok(HttpResponse::NoContent().finish())
}
