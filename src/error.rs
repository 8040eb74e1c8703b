//! The one error type of the API server and the whole `hyperfleet-N` catalogue (spec §5).
//!
//! `ApiError::error_response` sets the status and headers and stores an [`ErrorPayload`] in the
//! response extensions; the request middleware (`telemetry.rs`) turns it into the JSON body,
//! because only it knows the operation id. 5xx bodies never carry driver text: the cause chain
//! travels in the payload to be logged once, at the boundary.

use std::fmt;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// Quoted client input in a reason is cut to its first 256 characters, with `...` appended.
pub fn cut_quoted(input: &str) -> String {
    match input.char_indices().nth(256) {
        Some((idx, _)) => format!("{}...", &input[..idx]),
        None => input.to_owned(),
    }
}

/// One problem of a `hyperfleet-8` answer (the contract's `ErrorDetail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub error: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, error: impl Into<String>) -> Self {
        FieldError { field: field.into(), error: error.into() }
    }
}

/// The temporary conditions answered with 503 `hyperfleet-90`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    PoolExhausted,
    DatabaseDown,
    StatementTimeout,
    ConcurrentUpdate,
    SchemaOutdated,
    RequestTimeout,
    TooManyWatchers,
    KeysUnavailable,
}

impl Unavailable {
    pub fn reason(self) -> &'static str {
        match self {
            Unavailable::PoolExhausted => "Database connection pool exhausted; retry later",
            Unavailable::DatabaseDown => "Database is unavailable; retry later",
            Unavailable::StatementTimeout => "Database request timed out; retry later",
            Unavailable::ConcurrentUpdate => "Concurrent update conflict; retry later",
            Unavailable::SchemaOutdated => "Database schema is not up to date; run 'hyperfleet migrate'",
            Unavailable::RequestTimeout => "Request timed out; retry later",
            Unavailable::TooManyWatchers => "Too many watch subscribers; retry later",
            Unavailable::KeysUnavailable => "Token signing keys are not available; retry later",
        }
    }

    /// The `kind` label of `hyperfleet_db_errors_total`, for the database-caused ones.
    fn db_error_kind(self) -> Option<&'static str> {
        match self {
            Unavailable::PoolExhausted | Unavailable::DatabaseDown | Unavailable::SchemaOutdated => Some("unavailable"),
            Unavailable::StatementTimeout => Some("timeout"),
            Unavailable::ConcurrentUpdate => Some("conflict"),
            Unavailable::RequestTimeout | Unavailable::TooManyWatchers | Unavailable::KeysUnavailable => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 409 `hyperfleet-6`.
    #[error("{0}")]
    Conflict(String),
    /// 404 `hyperfleet-7`.
    #[error("{0}")]
    NotFound(String),
    /// 400 `hyperfleet-8`, all content problems of a body at once.
    #[error("{}", join_details(.0))]
    Validation(Vec<FieldError>),
    /// 500 `hyperfleet-9`: a defect. The cause is logged, never rendered.
    #[error("Unspecified error")]
    Internal(#[source] anyhow::Error),
    /// 405 `hyperfleet-10`, with the route's `Allow` list.
    #[error("HTTP Method not implemented for this endpoint")]
    MethodNotAllowed { allow: &'static str },
    /// 401 `hyperfleet-15`.
    #[error("{0}")]
    Unauthenticated(String),
    /// 400 `hyperfleet-17`; the text after `Invalid request format: `.
    #[error("Invalid request format: {0}")]
    Malformed(String),
    /// 413 `hyperfleet-18`, with the configured limit in bytes.
    #[error("Request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 400 `hyperfleet-21`: a bad query parameter or header.
    #[error("{0}")]
    BadRequest(String),
    /// 503 `hyperfleet-90`.
    #[error("{}", .0.reason())]
    Unavailable(Unavailable),
    /// 503 `hyperfleet-90` caused by a database failure whose details must be logged.
    #[error("{}", .kind.reason())]
    Database {
        kind: Unavailable,
        #[source]
        source: sqlx::Error,
    },
}

fn join_details(details: &[FieldError]) -> String {
    details.iter().map(|d| d.error.as_str()).collect::<Vec<_>>().join("; ")
}

impl ApiError {
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(error.into())
    }

    pub fn validation(field: impl Into<String>, error: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, error)])
    }

    pub fn route_not_found(raw_path: &str) -> Self {
        ApiError::NotFound(format!("The requested resource '{}' doesn't exist", cut_quoted(raw_path)))
    }

    /// The catalogue number (`hyperfleet-<n>`).
    pub fn code(&self) -> u16 {
        match self {
            ApiError::Conflict(_) => 6,
            ApiError::NotFound(_) => 7,
            ApiError::Validation(_) => 8,
            ApiError::Internal(_) => 9,
            ApiError::MethodNotAllowed { .. } => 10,
            ApiError::Unauthenticated(_) => 15,
            ApiError::Malformed(_) => 17,
            ApiError::PayloadTooLarge(_) => 18,
            ApiError::BadRequest(_) => 21,
            ApiError::Unavailable(_) | ApiError::Database { .. } => 90,
        }
    }

    /// Whether the whole transaction may be retried (deadlock, serialization failure).
    pub fn is_retryable(&self) -> bool {
        matches!(self, ApiError::Database { kind: Unavailable::ConcurrentUpdate, .. })
    }

    fn db_error_kind(&self) -> Option<&'static str> {
        match self {
            ApiError::Database { kind, .. } => kind.db_error_kind(),
            ApiError::Unavailable(kind) => kind.db_error_kind(),
            _ => None,
        }
    }

    fn cause_chain(&self) -> Option<String> {
        let source = match self {
            ApiError::Internal(e) => return Some(format!("{e:#}")),
            ApiError::Database { source, .. } => source,
            _ => return None,
        };
        Some(error_chain(source))
    }
}

/// An error and its sources, outermost first, joined by `": "`: what a log record says of a
/// failure.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

/// What the request middleware needs to render and account for an error answer.
#[derive(Debug, Clone)]
pub struct ErrorPayload {
    pub code: u16,
    pub reason: String,
    pub details: Option<Vec<FieldError>>,
    /// Internal cause chain of a 5xx, for the log only.
    pub cause: Option<String>,
    /// `kind` label of `hyperfleet_db_errors_total`, when the database caused the error.
    pub db_error_kind: Option<&'static str>,
}

/// The error body of spec §5.1 (the contract's `Error`).
#[derive(Serialize, ToSchema)]
pub struct ErrorBody<'a> {
    pub kind: &'static str,
    pub id: String,
    pub href: String,
    pub code: String,
    pub reason: &'a str,
    pub operation_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<FieldError>>, nullable = false)]
    pub details: Option<&'a [FieldError]>,
}

impl ErrorPayload {
    pub fn render(&self, operation_id: &str) -> Vec<u8> {
        let body = ErrorBody {
            kind: "Error",
            id: self.code.to_string(),
            href: format!("/api/hyperfleet/v1/errors/{}", self.code),
            code: format!("hyperfleet-{}", self.code),
            reason: &self.reason,
            operation_id,
            details: self.details.as_deref(),
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Validation(_) | ApiError::Malformed(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) | ApiError::Database { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/json")));
        match self {
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, HeaderValue::from_static(allow)));
            }
            ApiError::Unauthenticated(_) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"hyperfleet/v1\""),
                ));
            }
            ApiError::Unavailable(_) | ApiError::Database { .. } => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            _ => {}
        }
        let payload = ErrorPayload {
            code: self.code(),
            reason: self.to_string(),
            details: match self {
                ApiError::Validation(details) => Some(details.clone()),
                _ => None,
            },
            cause: self.cause_chain(),
            db_error_kind: self.db_error_kind(),
        };
        let mut response = response.finish();
        response.extensions_mut().insert(payload);
        response
    }
}

/// The name of the violated unique constraint, when `error` is a unique violation.
pub fn unique_violation(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => db.constraint(),
        _ => None,
    }
}

impl From<sqlx::Error> for ApiError {
    /// Classifies a database failure. Name conflicts are mapped by the caller, which knows the
    /// name to quote (see [`unique_violation`]); anything unexpected is a defect (500).
    fn from(error: sqlx::Error) -> Self {
        let kind = match &error {
            sqlx::Error::PoolTimedOut => Some(Unavailable::PoolExhausted),
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => Some(Unavailable::DatabaseDown),
            sqlx::Error::Database(db) => match db.code().as_deref() {
                // query_canceled (statement_timeout), lock_not_available
                Some("57014") | Some("55P03") => Some(Unavailable::StatementTimeout),
                // serialization_failure, deadlock_detected
                Some("40001") | Some("40P01") => Some(Unavailable::ConcurrentUpdate),
                // admin/crash shutdown, cannot_connect_now, too_many_connections, connection exceptions
                Some(code) if code.starts_with("08") || code.starts_with("57P") || code == "53300" => {
                    Some(Unavailable::DatabaseDown)
                }
                // undefined_table / undefined_column: the schema is behind this binary
                Some("42P01") | Some("42703") => Some(Unavailable::SchemaOutdated),
                _ => None,
            },
            _ => None,
        };
        match kind {
            Some(kind) => ApiError::Database { kind, source: error },
            None => ApiError::Internal(anyhow::Error::new(error).context("database error")),
        }
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_input_is_cut_at_256_characters() {
        let short = "é".repeat(256);
        assert_eq!(cut_quoted(&short), short);
        let long = "é".repeat(257);
        assert_eq!(cut_quoted(&long), format!("{}...", "é".repeat(256)));
        assert_eq!(cut_quoted(&"😀".repeat(300)), format!("{}...", "😀".repeat(256)));
        assert_eq!(cut_quoted(""), "");
    }

    #[test]
    fn validation_reason_joins_every_detail_in_order() {
        let err = ApiError::Validation(vec![
            FieldError::new("name", "name is required"),
            FieldError::new("spec", "spec is required"),
        ]);
        assert_eq!(err.to_string(), "name is required; spec is required");
        assert_eq!(err.code(), 8);
        assert_eq!(err.status_code(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn every_catalogue_entry_has_its_status() {
        let cases: Vec<(ApiError, u16, u16)> = vec![
            (ApiError::Conflict("x".into()), 6, 409),
            (ApiError::NotFound("x".into()), 7, 404),
            (ApiError::internal(anyhow::anyhow!("boom")), 9, 500),
            (ApiError::MethodNotAllowed { allow: "GET" }, 10, 405),
            (ApiError::Unauthenticated("x".into()), 15, 401),
            (ApiError::Malformed("x".into()), 17, 400),
            (ApiError::PayloadTooLarge(1_048_576), 18, 413),
            (ApiError::BadRequest("x".into()), 21, 400),
            (ApiError::Unavailable(Unavailable::DatabaseDown), 90, 503),
        ];
        for (err, code, status) in cases {
            assert_eq!(err.code(), code, "{err:?}");
            assert_eq!(err.status_code().as_u16(), status, "{err:?}");
        }
    }

    #[test]
    fn internal_errors_never_render_their_cause() {
        let err = ApiError::internal(anyhow::anyhow!("relation \"clusters\" violates something"));
        let response = err.error_response();
        let payload = response.extensions().get::<ErrorPayload>().cloned().unwrap();
        assert_eq!(payload.reason, "Unspecified error");
        let body = String::from_utf8(payload.render("op-1")).unwrap();
        assert!(!body.contains("clusters"), "{body}");
        assert!(payload.cause.unwrap().contains("clusters"));
    }

    #[test]
    fn error_body_has_the_contract_shape() {
        let err = ApiError::validation("name", "name is required");
        let response = err.error_response();
        let payload = response.extensions().get::<ErrorPayload>().cloned().unwrap();
        let body: serde_json::Value = serde_json::from_slice(&payload.render("op-1")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "kind": "Error", "id": "8", "href": "/api/hyperfleet/v1/errors/8", "code": "hyperfleet-8",
                "reason": "name is required", "operation_id": "op-1",
                "details": [{"field": "name", "error": "name is required"}]
            })
        );
    }
}
