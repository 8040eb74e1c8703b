//! The operations servers of a replica, apart from the API: health (`health.rs`) and metrics
//! (`metrics.rs`), with the lifecycle flags they report. Both answer unknown paths in plain
//! text, never with the API's JSON error body.

pub mod health;
pub mod lifecycle;
pub mod metrics;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{guard, web, HttpResponse, Resource};

/// A resource of an ops server: `GET` also answers `HEAD`, and any other method gets 405 with
/// `Allow` and an empty body.
pub fn ops_resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move || async move {
        HttpResponse::MethodNotAllowed().insert_header((header::ALLOW, HeaderValue::from_static(allow))).finish()
    }))
}

pub fn get_or_head() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Unknown paths of the ops servers.
pub async fn ops_not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")))
        .body("404 page not found")
}
