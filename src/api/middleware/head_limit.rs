//! The request-head limit of spec §2.9: request line plus headers may total at most 64 KiB,
//! else 431 before routing.

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The size of the request line plus headers as sent (names, values, separators, CRLFs).
fn head_size(req: &ServiceRequest) -> usize {
    // Origin-form targets (all this server routes) are the path and query as sent; no allocation.
    let target = req.uri().path_and_query().map_or(1, |pq| pq.as_str().len());
    let line = req.method().as_str().len() + " ".len() + target + " HTTP/1.1\r\n".len();
    let headers: usize = req.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    line + headers + 2
}

/// Whether the request's head is over the limit.
pub fn exceeded(req: &ServiceRequest) -> bool {
    // actix-http itself only refuses heads over 128 KiB or 96 headers (also 431).
    head_size(req) > MAX_HEAD_BYTES
}

/// The 431 answer (the pipeline gives it the contract's error body).
pub fn refuse(req: ServiceRequest) -> ServiceResponse<BoxBody> {
    req.into_response(HttpResponse::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE))
}
