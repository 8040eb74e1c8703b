//! Every error answer carries the contract's JSON body with the request's operation id (spec
//! §2.4), whether an `ApiError` or the framework produced it; a 5xx cause is logged here once.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::ResponseError;

use crate::api::body::DEFAULT_LIMIT;
use crate::error::{ApiError, ErrorPayload, Unavailable};
use crate::metrics::Metrics;

/// Gives an error answer its body (and counts database errors); other answers pass unchanged.
pub fn render(
    mut res: ServiceResponse<BoxBody>,
    raw_path: &str,
    operation_id: &str,
    metrics: &Metrics,
) -> ServiceResponse<BoxBody> {
    let payload =
        res.response().extensions().get::<ErrorPayload>().cloned().or_else(|| fallback_payload(&res, raw_path));
    if let Some(payload) = &payload {
        if let Some(cause) = &payload.cause {
            tracing::error!(operation_id = %operation_id, status = res.status().as_u16(), cause = %cause, "request failed");
        }
        if let Some(kind) = payload.db_error_kind {
            metrics.db_errors.with_label_values(&[kind]).inc();
        }
        let body = payload.render(operation_id);
        res = res.map_body(|head, _| {
            head.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            BoxBody::new(body)
        });
    }
    res
}

/// Errors produced by the framework rather than by `ApiError` (for example a malformed URI)
/// still get the contract's body, chosen by status.
fn fallback_payload(res: &ServiceResponse<BoxBody>, raw_path: &str) -> Option<ErrorPayload> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return None;
    }
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::route_not_found(raw_path),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(DEFAULT_LIMIT),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable(Unavailable::DatabaseDown),
        s if s.is_client_error() => ApiError::Malformed(s.canonical_reason().unwrap_or("bad request").to_lowercase()),
        _ => ApiError::internal(anyhow::anyhow!("framework error with status {status}")),
    };
    error.error_response().extensions().get::<ErrorPayload>().cloned()
}
