//! What handlers share to answer: the JSON response, the 404 of an unknown route, the resource
//! lists (clusters, all node pools, a cluster's node pools) and the 201 of a created resource.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::api::middleware::operation_id::RequestContext;
use crate::api::params::{ListParams, QueryParams};
use crate::api::state::AppState;
use crate::api::views::{List, Resource};
use crate::dao::lists::ResourceQuery;
use crate::error::ApiError;
use crate::model::kind::ResourceKind;
use crate::model::path::ResourcePath;
use crate::service::resources;

/// A compact JSON answer with `Content-Type: application/json`.
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    match serde_json::to_vec(value) {
        Ok(body) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/json")))
            .body(body),
        Err(e) => actix_web::ResponseError::error_response(&ApiError::internal(e)),
    }
}

/// The default service of the API server.
pub async fn route_not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(route_not_found_error(&req))
}

/// The 404 of a path that names no route, quoting the raw request path.
pub fn route_not_found_error(req: &HttpRequest) -> ApiError {
    let raw_path =
        req.extensions().get::<RequestContext>().map(|c| c.raw_path.clone()).unwrap_or_else(|| req.path().to_owned());
    ApiError::route_not_found(&raw_path)
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
    let page = resources::list(&state.context, &query).await?;
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
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
