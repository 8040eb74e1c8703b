//! The per-route layer (it runs after routing, when the request may be shared): bounds the
//! handler with `--http-write-timeout` (503, its transaction rolled back by the drop) unless the
//! route streams, and turns a panicking handler into a 500 `Unspecified error` answer while the
//! worker keeps serving.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use futures_util::FutureExt;

use crate::error::{ApiError, Unavailable};

pub async fn bound_handler(
    timeout: Option<Duration>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let http_req = req.request().clone();
    let call = AssertUnwindSafe(next.call(req)).catch_unwind();
    let outcome = match timeout {
        Some(limit) => tokio::time::timeout(limit, call)
            .await
            .unwrap_or(Ok(Err(ApiError::Unavailable(Unavailable::RequestTimeout).into()))),
        None => call.await,
    };
    let error = match outcome {
        Ok(Ok(res)) => return Ok(res.map_into_boxed_body()),
        Ok(Err(error)) => error,
        Err(_) => ApiError::internal(anyhow::anyhow!("request handler panicked")).into(),
    };
    Ok(ServiceResponse::new(http_req, error.error_response()))
}
