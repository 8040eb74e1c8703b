//! HTTP only: the one route table of the API server. Handlers are named after their OpenAPI
//! operationId; what they share lives in `state.rs` (request state), `handlers.rs` (answers),
//! `params.rs` (query and path), `decode/` (bodies) and `views.rs` (response shapes).

pub mod body;
pub mod caller;
pub mod clusters;
pub mod decode;
pub mod events;
pub mod handlers;
pub mod meta;
pub mod middleware;
pub mod nodepools;
pub mod openapi;
pub mod params;
pub mod state;
pub mod statuses;
pub mod views;

#[cfg(test)]
mod proptests;

use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::{guard, web, FromRequest, Handler, HttpResponse, Resource, Responder};

use self::handlers::route_not_found;
use self::middleware::timeout::bound_handler;
use crate::error::ApiError;

/// Allow lists of spec §2.8.
const READ_ONLY: &str = "GET, HEAD, OPTIONS";
const COLLECTION: &str = "GET, HEAD, POST, OPTIONS";
const ITEM: &str = "GET, HEAD, PATCH, DELETE, OPTIONS";

/// One route of the API server: its path, its `Allow` list and what it serves. The table below
/// is what `configure` registers and what the contract tests compare with the OpenAPI document.
pub struct Endpoint {
    pub path: &'static str,
    pub allow: &'static str,
    /// The contract itself and Swagger UI: served, but not operations of the document (§4.3).
    pub documentation: bool,
    /// A stream (`/watch`): not bounded by the write timeout.
    pub streaming: bool,
    pub operations: Vec<Operation>,
}

/// One method of a route (GET also answers HEAD) and the handler that serves it.
pub struct Operation {
    pub method: Method,
    /// The handler's name, which is the operation's OpenAPI operationId.
    pub operation_id: &'static str,
    route: actix_web::Route,
}

impl Endpoint {
    fn new(path: &'static str, allow: &'static str) -> Self {
        Endpoint { path, allow, documentation: false, streaming: false, operations: Vec::new() }
    }

    fn streaming(self) -> Self {
        Endpoint { streaming: true, ..self }
    }

    fn documentation(path: &'static str) -> Self {
        Endpoint { documentation: true, ..Endpoint::new(path, READ_ONLY) }
    }

    fn get<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.serve(Method::GET, get_or_head(), handler)
    }

    fn post<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.serve(Method::POST, web::post(), handler)
    }

    fn patch<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.serve(Method::PATCH, web::patch(), handler)
    }

    fn delete<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.serve(Method::DELETE, web::delete(), handler)
    }

    fn serve<F, Args>(mut self, method: Method, route: actix_web::Route, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        // A handler is a function item, so its type name is its path: the last segment is the
        // function's name, which the house rule makes the operationId.
        let name = std::any::type_name::<F>();
        let operation_id = name.rsplit("::").next().unwrap_or(name);
        self.operations.push(Operation { method, operation_id, route: route.to(handler) });
        self
    }
}

/// Every route of the API server.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new("/api/hyperfleet", READ_ONLY).get(meta::get_api_metadata),
        Endpoint::documentation("/api/hyperfleet/v1/openapi").get(openapi::get_openapi),
        Endpoint::documentation("/openapi").get(openapi::get_openapi),
        Endpoint::documentation("/api/hyperfleet/v1/asyncapi").get(openapi::get_asyncapi),
        Endpoint::documentation("/api/hyperfleet/v1/openapi.html").get(openapi::get_openapi_ui),
        Endpoint::documentation("/openapi-ui").get(openapi::get_openapi_ui),
        Endpoint::documentation("/api/hyperfleet/v1/swagger-ui/{file}").get(openapi::get_swagger_ui_asset),
        Endpoint::new("/api/hyperfleet/v1/compatibility", READ_ONLY).get(meta::get_compatibility),
        Endpoint::new("/api/hyperfleet/v1/clusters", COLLECTION)
            .get(clusters::get_clusters)
            .post(clusters::post_cluster),
        Endpoint::new("/api/hyperfleet/v1/clusters/{cluster_id}", ITEM)
            .get(clusters::get_cluster_by_id)
            .patch(clusters::patch_cluster_by_id)
            .delete(clusters::delete_cluster_by_id),
        Endpoint::new("/api/hyperfleet/v1/clusters/{cluster_id}/statuses", COLLECTION)
            .get(statuses::get_cluster_statuses)
            .post(statuses::post_cluster_status),
        Endpoint::new("/api/hyperfleet/v1/clusters/{cluster_id}/nodepools", COLLECTION)
            .get(nodepools::get_node_pools_by_cluster_id)
            .post(nodepools::post_node_pool),
        Endpoint::new("/api/hyperfleet/v1/clusters/{cluster_id}/nodepools/{nodepool_id}", ITEM)
            .get(nodepools::get_node_pool_by_id)
            .patch(nodepools::patch_node_pool_by_id)
            .delete(nodepools::delete_node_pool_by_id),
        Endpoint::new("/api/hyperfleet/v1/clusters/{cluster_id}/nodepools/{nodepool_id}/statuses", COLLECTION)
            .get(statuses::get_node_pool_statuses)
            .post(statuses::post_node_pool_status),
        Endpoint::new("/api/hyperfleet/v1/nodepools", READ_ONLY).get(nodepools::get_node_pools),
        Endpoint::new("/api/hyperfleet/v1/events", READ_ONLY).get(events::get_events),
        Endpoint::new("/api/hyperfleet/v1/watch", READ_ONLY).streaming().get(events::watch_events),
    ]
}

/// The API server's routes. `write_timeout` bounds every handler except streaming ones.
pub fn configure(cfg: &mut web::ServiceConfig, write_timeout: Duration) {
    // actix tries routes in registration order: the API's own first, so no API request pays for
    // matching the documentation routes (the Swagger UI asset route is a pattern).
    let (documentation, api): (Vec<_>, Vec<_>) = endpoints().into_iter().partition(|e| e.documentation);
    for endpoint in api.into_iter().chain(documentation) {
        let resource =
            endpoint.operations.into_iter().fold(
                resource(endpoint.path, endpoint.allow, (!endpoint.streaming).then_some(write_timeout)),
                |r, op| r.route(op.route),
            );
        cfg.service(resource);
    }
    cfg.default_service(web::to(route_not_found));
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
        .wrap(from_fn(move |req, next| bound_handler(timeout, req, next)))
        .route(web::route().method(Method::OPTIONS).to(move || async move {
            HttpResponse::NoContent().insert_header((header::ALLOW, HeaderValue::from_static(allow))).finish()
        }))
        .default_service(web::to(move || async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow }) }))
}

fn get_or_head() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}
