//! The access log and the request metrics: one record and one observation per request, taken
//! when its response body has been sent or abandoned (that is when a request, a watch stream
//! included, is complete).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::{Method, StatusCode};
use actix_web::web::Bytes;
use actix_web::HttpMessage;

use super::in_flight::InFlightGuard;
use crate::api::caller::Identity;
use crate::metrics::{self, Metrics};

/// Requests under this prefix are counted in the request metrics.
const COUNTED_PREFIX: &str = "/api/hyperfleet/v1";

/// Everything the access log and the request metrics need once the response is complete.
pub struct RequestRecord {
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
    pub fn new(
        res: &ServiceResponse<BoxBody>,
        metrics: Metrics,
        raw_path: String,
        started: Instant,
        operation_id: String,
        in_flight: InFlightGuard,
    ) -> Self {
        let request = res.request();
        let route = request.match_pattern();
        RequestRecord {
            metrics,
            counted_path: route.as_deref().filter(|r| r.starts_with(COUNTED_PREFIX)).map(metrics::path_label),
            route,
            method: request.method().clone(),
            raw_path,
            query: request.query_string().to_owned(),
            status: res.status(),
            started,
            operation_id,
            identity: request.extensions().get::<Identity>().map(|i| i.0.clone()),
            remote_addr: request.peer_addr().map(|a| a.ip().to_string()),
            _in_flight: in_flight,
        }
    }

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

/// A response body that accounts for its request once it has been sent (or abandoned).
pub struct Completion {
    inner: BoxBody,
    record: Option<Box<RequestRecord>>,
}

impl Completion {
    pub fn new(inner: BoxBody, record: RequestRecord) -> Self {
        Completion { inner, record: Some(Box::new(record)) }
    }
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
