//! Logging set-up and the request pipeline every API request passes through.
//!
//! The pipeline (outermost middleware) assigns the operation id, applies the one-trailing-slash
//! rule before routing, bounds the request with `--http-write-timeout`, renders every error as
//! the contract's JSON body, adds the common headers (`X-Operation-ID`, CORS, `Connection: close`
//! while draining), and accounts for the request in metrics and the access log once its body has
//! been sent. Panics are caught innermost and become 500 answers.

use std::io::IsTerminal;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse, Url};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::uri::PathAndQuery;
use actix_web::http::{ConnectionType, Method, StatusCode, Uri};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, ResponseError};
use futures_util::FutureExt;
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;
use tracing_subscriber::EnvFilter;

use crate::cli::{LogFormat, LogLevel};
use crate::config::CorsSettings;
use crate::error::{ApiError, ErrorPayload, Unavailable};
use crate::health::Lifecycle;
use crate::metrics::{self, Metrics};
use crate::startup::{InFlight, InFlightGuard};

pub const OPERATION_ID_HEADER: &str = "x-operation-id";

/// Installs the global subscriber (stderr, text or JSON) and a panic hook that logs panics with
/// their backtrace. Safe to call more than once (later calls keep the first subscriber).
pub fn init(level: LogLevel, format: LogFormat) {
    let level = match level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
    };
    let filter = EnvFilter::new(filter_directives(level));
    // Colours only for a terminal: a log file or pipe gets plain text, and the formatter skips
    // the escape sequences on every record (a measurable share of a request's CPU, docs/benchmarks.md).
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .with_target(false);
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).with_span_list(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    if result.is_ok() {
        std::panic::set_hook(Box::new(|info| {
            let backtrace = std::backtrace::Backtrace::force_capture();
            tracing::error!(panic = %info, backtrace = %backtrace, "panic");
        }));
    }
}

/// Dependencies' chatter stays at warn unless the operator asks for more than info. Targets
/// match by string prefix, so `hyper=info` would also cap `hyperfleet`: it is named as well.
fn filter_directives(level: &str) -> String {
    if matches!(level, "debug" | "trace") {
        format!(
            "{level},hyperfleet={level},h2=info,hyper=info,hyper_util=info,reqwest=info,rustls=info,tokio_util=info"
        )
    } else {
        format!("{level},actix_server=warn,sqlx=warn")
    }
}

/// Per-request facts the pipeline shares with handlers and the span builder.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub operation_id: String,
    /// The raw request path, before the trailing-slash rule.
    pub raw_path: String,
}

/// The caller identity, put into the request extensions by authentication (`system` when off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity(pub String);

/// Whether an incoming `X-Operation-ID` may be used as is: `^[A-Za-z0-9._:-]{1,128}$`.
pub fn valid_operation_id(value: &[u8]) -> bool {
    (1..=128).contains(&value.len())
        && value.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// What the pipeline needs, shared by every worker.
pub struct Pipeline {
    pub metrics: Metrics,
    pub lifecycle: Arc<Lifecycle>,
    pub cors: CorsSettings,
    pub in_flight: Arc<InFlight>,
}

const COUNTED_PREFIX: &str = "/api/hyperfleet/v1";

/// Drops exactly one trailing `/` (not from `/` itself) before routing; `//` stays unroutable.
fn strip_one_trailing_slash(req: &mut ServiceRequest) {
    let path = req.path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = &path[..path.len() - 1];
        let rebuilt = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        let mut parts = req.uri().clone().into_parts();
        let Ok(path_and_query) = PathAndQuery::try_from(rebuilt) else {
            return;
        };
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = Uri::from_parts(parts) {
            req.match_info_mut().set(Url::new(uri.clone()));
            req.head_mut().uri = uri;
        }
    }
}

/// spec §2.9: request line plus headers may total at most 64 KiB, else 431.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The size of the request line plus headers as sent (names, values, separators, CRLFs).
fn head_size(req: &ServiceRequest) -> usize {
    // Origin-form targets (all this server routes) are the path and query as sent; no allocation.
    let target = req.uri().path_and_query().map_or(1, |pq| pq.as_str().len());
    let line = req.method().as_str().len() + " ".len() + target + " HTTP/1.1\r\n".len();
    let headers: usize = req.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    line + headers + 2
}

impl Pipeline {
    pub async fn handle(
        self: Arc<Self>,
        mut req: ServiceRequest,
        next: Next<impl MessageBody + 'static>,
    ) -> Result<ServiceResponse<Completion>, actix_web::Error> {
        let started = Instant::now();
        let in_flight = self.in_flight.enter();
        let raw_path = req.path().to_owned();
        strip_one_trailing_slash(&mut req);
        let operation_id = match req.headers().get(OPERATION_ID_HEADER) {
            Some(v) if valid_operation_id(v.as_bytes()) => String::from_utf8_lossy(v.as_bytes()).into_owned(),
            _ => uuid::Uuid::now_v7().to_string(),
        };
        req.extensions_mut().insert(RequestContext { operation_id: operation_id.clone(), raw_path: raw_path.clone() });
        let origin = req.headers().get(header::ORIGIN).cloned();
        let preflight =
            req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);

        // The request must not be cloned before routing (the router needs it unshared), so an
        // `Err` cannot be turned into a response here; inner layers answer errors as responses.
        let mut res = if head_size(&req) > MAX_HEAD_BYTES {
            // actix-http itself only refuses heads over 128 KiB or 96 headers (also 431).
            req.into_response(actix_web::HttpResponse::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE))
        } else {
            next.call(req).await?.map_into_boxed_body()
        };

        let payload =
            res.response().extensions().get::<ErrorPayload>().cloned().or_else(|| fallback_payload(&res, &raw_path));
        if let Some(payload) = &payload {
            if let Some(cause) = &payload.cause {
                tracing::error!(operation_id = %operation_id, status = res.status().as_u16(), cause = %cause, "request failed");
            }
            if let Some(kind) = payload.db_error_kind {
                self.metrics.db_errors.with_label_values(&[kind]).inc();
            }
            let body = payload.render(&operation_id);
            res = res.map_body(|head, _| {
                head.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                BoxBody::new(body)
            });
        }

        let headers = res.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&operation_id) {
            headers.insert(HeaderName::from_static(OPERATION_ID_HEADER), value);
        }
        if let Some(origin) = origin {
            self.add_cors_headers(headers, &origin, preflight);
        }
        if self.lifecycle.is_draining() {
            res.response_mut().head_mut().set_connection_type(ConnectionType::Close);
        }

        let request = res.request();
        let route = request.match_pattern();
        let identity = request.extensions().get::<Identity>().map(|i| i.0.clone());
        let record = RequestRecord {
            metrics: self.metrics.clone(),
            counted_path: route.as_deref().filter(|r| r.starts_with(COUNTED_PREFIX)).map(metrics::path_label),
            route,
            method: request.method().clone(),
            raw_path,
            query: request.query_string().to_owned(),
            status: res.status(),
            started,
            operation_id,
            identity,
            remote_addr: request.peer_addr().map(|a| a.ip().to_string()),
            _in_flight: in_flight,
        };
        Ok(res.map_body(|_, body| Completion { inner: body, record: Some(Box::new(record)) }))
    }

    fn add_cors_headers(
        &self,
        headers: &mut actix_web::http::header::HeaderMap,
        origin: &HeaderValue,
        preflight: bool,
    ) {
        let allowed = origin.to_str().is_ok_and(|o| self.cors.allows(o));
        if !self.cors.enabled() || !allowed {
            return;
        }
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("X-Operation-ID"));
        if preflight {
            if let Some(allow) = headers.get(header::ALLOW).cloned() {
                headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, allow);
            }
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("Authorization, Content-Type, X-Operation-ID, Last-Event-ID"),
            );
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
    }
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
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(crate::api::body::DEFAULT_LIMIT),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable(Unavailable::DatabaseDown),
        s if s.is_client_error() => ApiError::Malformed(s.canonical_reason().unwrap_or("bad request").to_lowercase()),
        _ => ApiError::internal(anyhow::anyhow!("framework error with status {status}")),
    };
    error.error_response().extensions().get::<ErrorPayload>().cloned()
}

/// Per-route middleware (it runs after routing, when the request may be shared): bounds the
/// handler with `--http-write-timeout` (503, its transaction rolled back by the drop) unless the
/// route streams, and turns a panicking handler into a 500 `Unspecified error` answer while the
/// worker keeps serving.
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

/// Everything the access log and the request metrics need once the response is complete.
struct RequestRecord {
    metrics: Metrics,
    counted_path: Option<String>,
    route: Option<String>,
    method: Method,
    raw_path: String,
    query: String,
    status: StatusCode,
    started: Instant,
    operation_id: String,
    identity: Option<String>,
    remote_addr: Option<String>,
    /// Released when the response is complete, which is what a graceful drain waits for.
    _in_flight: InFlightGuard,
}

impl RequestRecord {
    fn finish(self) {
        let elapsed = self.started.elapsed();
        if let Some(path) = &self.counted_path {
            self.metrics.observe_request(&self.method, path, self.status.as_u16(), elapsed.as_secs_f64());
        }
        tracing::info!(
            operation_id = %self.operation_id,
            method = %self.method,
            path = %self.raw_path,
            route = self.route.as_deref().unwrap_or(""),
            status = self.status.as_u16(),
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            remote_addr = self.remote_addr.as_deref().unwrap_or(""),
            identity = self.identity.as_deref().unwrap_or(""),
            "request completed"
        );
        if !self.query.is_empty() {
            tracing::debug!(operation_id = %self.operation_id, query = %self.query, "request query");
        }
    }
}

/// A response body that accounts for its request once it has been sent (or abandoned): that is
/// when a request, including a watch stream, is complete.
pub struct Completion {
    inner: BoxBody,
    record: Option<Box<RequestRecord>>,
}

impl Drop for Completion {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            record.finish();
        }
    }
}

impl MessageBody for Completion {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.inner.size()
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_level_reaches_the_service_own_records() {
        let filter = EnvFilter::new(filter_directives("debug"));
        let subscriber = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::sink).finish();
        tracing::subscriber::with_default(subscriber, || {
            assert!(tracing::enabled!(tracing::Level::DEBUG), "hyperfleet records at debug");
            assert!(!tracing::enabled!(target: "hyper::proto", tracing::Level::DEBUG), "hyper stays at info");
        });
    }

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
