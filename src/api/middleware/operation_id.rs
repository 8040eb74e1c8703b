//! The operation id of a request: the client's `X-Operation-ID` when it is acceptable, else a
//! new UUIDv7; shared with handlers and carried by every log record of the request.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::HttpMessage;
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

pub const OPERATION_ID_HEADER: &str = "x-operation-id";

/// Per-request facts the pipeline shares with handlers and the span builder.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub operation_id: String,
    /// The raw request path, before the trailing-slash rule.
    pub raw_path: String,
}

/// Whether an incoming `X-Operation-ID` may be used as is: `^[A-Za-z0-9._:-]{1,128}$`.
pub fn valid_operation_id(value: &[u8]) -> bool {
    (1..=128).contains(&value.len())
        && value.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The request's operation id: the one it carries if valid, else a fresh one.
pub fn of_request(req: &ServiceRequest) -> String {
    match req.headers().get(OPERATION_ID_HEADER) {
        Some(v) if valid_operation_id(v.as_bytes()) => String::from_utf8_lossy(v.as_bytes()).into_owned(),
        _ => uuid::Uuid::now_v7().to_string(),
    }
}

/// The request span: every record logged while handling a request carries its operation id.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let operation_id =
            request.extensions().get::<RequestContext>().map(|c| c.operation_id.clone()).unwrap_or_default();
        tracing::info_span!("request", operation_id = %operation_id)
    }

    fn on_request_end<B: MessageBody>(_span: Span, _outcome: &Result<ServiceResponse<B>, actix_web::Error>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_follow_the_allowed_pattern() {
        assert!(valid_operation_id(b"abc-123_X.y:z"));
        assert!(valid_operation_id("a".repeat(128).as_bytes()));
        assert!(!valid_operation_id("a".repeat(129).as_bytes()));
        assert!(!valid_operation_id(b""));
        assert!(!valid_operation_id(b"has space"));
        assert!(!valid_operation_id("é".as_bytes()));
    }
}
