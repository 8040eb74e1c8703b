//! The request pipeline every API request passes through, outermost first: it counts the
//! request in flight, applies the one-trailing-slash rule before routing, assigns the operation
//! id, renders every error as the contract's JSON body, adds the common
//! headers (`X-Operation-ID`, CORS, `Connection: close` while draining), and accounts for the
//! request in metrics and the access log once its body has been sent. Each concern has its own
//! file; [`timeout`] is the per-route layer that bounds handlers and catches their panics.

pub mod access_log;
pub mod cors;
pub mod error_body;
pub mod in_flight;
pub mod operation_id;
pub mod timeout;
pub mod trailing_slash;

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{ConnectionType, Method};
use actix_web::middleware::Next;
use actix_web::HttpMessage;

use self::access_log::{Completion, RequestRecord};
use self::in_flight::InFlight;
use self::operation_id::{RequestContext, OPERATION_ID_HEADER};
use crate::config::CorsSettings;
use crate::metrics::Metrics;
use crate::ops::lifecycle::Lifecycle;

/// What the pipeline needs, shared by every worker.
pub struct Pipeline {
    pub metrics: Metrics,
    pub lifecycle: Arc<Lifecycle>,
    pub cors: CorsSettings,
    pub in_flight: Arc<InFlight>,
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
        trailing_slash::strip_one(&mut req);
        let operation_id = operation_id::of_request(&req);
        req.extensions_mut().insert(RequestContext { operation_id: operation_id.clone(), raw_path: raw_path.clone() });
        let origin = req.headers().get(header::ORIGIN).cloned();
        let preflight =
            req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);

        // The request must not be cloned before routing (the router needs it unshared), so an
        // `Err` cannot be turned into a response here; inner layers answer errors as responses.
        // Heads over 64 KiB never get here: the edge answers them 431 (src/edge).
        let res = next.call(req).await?.map_into_boxed_body();
        let mut res = error_body::render(res, &raw_path, &operation_id, &self.metrics);

        let headers = res.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&operation_id) {
            headers.insert(HeaderName::from_static(OPERATION_ID_HEADER), value);
        }
        if let Some(origin) = origin {
            cors::add_headers(&self.cors, headers, &origin, preflight);
        }
        if self.lifecycle.is_draining() {
            res.response_mut().head_mut().set_connection_type(ConnectionType::Close);
        }

        let record = RequestRecord::new(&res, self.metrics.clone(), raw_path, started, operation_id, in_flight);
        Ok(res.map_body(|_, body| Completion::new(body, record)))
    }
}
