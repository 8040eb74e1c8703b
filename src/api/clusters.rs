//! Cluster handlers (spec §4.6–§4.10).

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::body::RawBody;
use crate::api::caller::Caller;
use crate::api::params::{QueryParams, ResourcePath};
use crate::api::resources::{decode_create, decode_patch, List, ListParams, Resource};
use crate::api::{json_response, AppState};
use crate::dao::lists::ResourceQuery;
use crate::error::ApiError;
use crate::model::ResourceKind;
use crate::service::resources;

/// `GET /api/hyperfleet/v1/clusters`
pub async fn get_clusters(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list(&state, &req, ResourceKind::Cluster, None).await
}

/// Shared by the three resource lists: clusters, all node pools, a cluster's node pools.
pub async fn list(
    state: &AppState,
    req: &HttpRequest,
    kind: ResourceKind,
    parent: Option<&ResourcePath>,
) -> Result<HttpResponse, ApiError> {
    let params = ListParams::parse(&QueryParams::from_request(req), kind)?;
    let cluster = parent.map(ResourcePath::cluster_id).transpose()?;
    let query = ResourceQuery {
        kind,
        cluster,
        filter: params.filter.as_ref(),
        ordering: &params.ordering,
        limit: params.paging.size,
        offset: params.paging.offset(),
    };
    let page = resources::list(&state.db, &query).await?;
    if let (Some(parent), false) = (parent, page.parent_exists) {
        return Err(parent.cluster_not_found());
    }
    let list_kind = match kind {
        ResourceKind::Cluster => "ClusterList",
        ResourceKind::NodePool => "NodePoolList",
    };
    let items = page.items.into_iter().map(Resource::from).collect();
    Ok(json_response(StatusCode::OK, &List::new(list_kind, params.paging.page, page.total, items)))
}

/// A 201 with the new resource and its `Location`.
pub fn created(resource: Resource) -> HttpResponse {
    let location = resource.href().to_owned();
    let mut response = json_response(StatusCode::CREATED, &resource);
    if let Ok(value) = header::HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// `POST /api/hyperfleet/v1/clusters`
pub async fn post_cluster(state: web::Data<AppState>, caller: Caller, body: RawBody) -> Result<HttpResponse, ApiError> {
    let new = decode_create(&body.0, ResourceKind::Cluster)?;
    let row = resources::create(&state, None, &new, &caller.identity).await?;
    Ok(created(Resource::from(row)))
}

/// `GET /api/hyperfleet/v1/clusters/{cluster_id}`
pub async fn get_cluster_by_id(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let row = resources::get(&state.db, &ResourcePath::cluster(&req)).await?;
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
    let row = resources::patch(&state, &ResourcePath::cluster(&req), &patch, &caller.identity).await?;
    Ok(json_response(StatusCode::OK, &Resource::from(row)))
}

/// `DELETE /api/hyperfleet/v1/clusters/{cluster_id}`
pub async fn delete_cluster_by_id(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    resources::delete(&state, &ResourcePath::cluster(&req), &caller.identity).await?;
    Ok(HttpResponse::NoContent().finish())
}
