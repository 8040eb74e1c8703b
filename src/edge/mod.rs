//! The HTTP edge: the layer below the handlers where a request's bytes arrive (spec §13.2,
//! §2.9, §11.3). Every listener (API, metrics, health) serves HTTP/1.1 through it:
//!
//! * `--http-read-timeout` bounds the receipt of each request, headers and body together (a
//!   chunked body too), from its first byte; a new connection gets the same time for its first
//!   byte. When it runs out the connection is closed with no response.
//! * A head that breaks HTTP/1.1 (not HTTP, a bad request line or header, contradicting framing
//!   headers) is answered 400, and one over 64 KiB or 96 headers 431, by the edge itself, with
//!   the error body and `X-Operation-ID` on the API listener; then the connection closes.
//!   actix-http would answer these with a bare status and log them at `error`.
//! * Faults and timeouts are counted (`hyperfleet_http_protocol_errors_total{kind}`,
//!   `hyperfleet_http_read_timeouts_total`) and logged at `debug`, never at `error`.
//!
//! actix-web's `HttpServer` has no hook to wrap the socket, so the servers are assembled here from
//! the same parts (actix-server, actix-http's HTTP/1 service, the `App`).

mod conn;
pub mod framing;

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::time::Duration;

use actix_http::body::MessageBody;
use actix_http::error::DispatchError;
use actix_http::{HttpService, Request, Response};
use actix_server::Server;
use actix_service::{
    fn_factory, fn_service, map_config, IntoServiceFactory, Service, ServiceFactory, ServiceFactoryExt,
};
use actix_web::dev::AppConfig;
use actix_web::http::StatusCode;
use futures_util::FutureExt;
use prometheus::{IntCounter, IntCounterVec};
use tokio::net::TcpStream;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

use crate::api::middleware::operation_id::OPERATION_ID_HEADER;
use crate::error::ErrorPayload;
use crate::metrics::Metrics;
use conn::GuardedStream;
use framing::Fault;

/// How a listener words the answers the edge gives itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answers {
    /// The API's JSON error body (spec §5.1) with `X-Operation-ID`.
    Json,
    /// An empty body: the health and metrics servers never send the JSON error body (§5.5).
    Empty,
}

/// The edge of one listener.
#[derive(Clone)]
pub struct Edge {
    /// `api`, `metrics` or `health`, for the log.
    listener: &'static str,
    read_timeout: Duration,
    answers: Answers,
    read_timeouts: IntCounter,
    protocol_errors: IntCounterVec,
}

/// Settings of the server around a listener's application.
pub struct ServerOptions {
    pub workers: usize,
    pub max_connections: usize,
    /// Seconds a stopping worker waits for its connections.
    pub shutdown_timeout: u64,
}

impl Edge {
    /// The edge of `listener`, counting into the replica's metrics; every fault kind is exposed
    /// from the start.
    pub fn new(listener: &'static str, read_timeout: Duration, answers: Answers, metrics: &Metrics) -> Self {
        for fault in Fault::ALL {
            metrics.http_protocol_errors.with_label_values(&[fault.kind()]);
        }
        Edge {
            listener,
            read_timeout,
            answers,
            read_timeouts: metrics.http_read_timeouts.clone(),
            protocol_errors: metrics.http_protocol_errors.clone(),
        }
    }

    fn protocol_fault(&self, fault: Fault, peer: Option<SocketAddr>) {
        self.protocol_errors.with_label_values(&[fault.kind()]).inc();
        tracing::debug!(
            listener = self.listener,
            kind = fault.kind(),
            remote_addr = %peer.map(|p| p.ip().to_string()).unwrap_or_default(),
            "client protocol error: {}",
            fault.describe()
        );
    }

    fn read_timed_out(&self, peer: Option<SocketAddr>) {
        self.read_timeouts.inc();
        tracing::debug!(
            listener = self.listener,
            remote_addr = %peer.map(|p| p.ip().to_string()).unwrap_or_default(),
            "request not received within the read timeout; connection closed"
        );
    }

    fn dispatch_failed(&self, error: &DispatchError, peer: Option<SocketAddr>) {
        match conn::fault_of(error) {
            Some(fault) => self.protocol_fault(fault, peer),
            // A client that resets or abandons its connection is not a fault of the service.
            None => tracing::debug!(listener = self.listener, error = %error, "connection ended with an error"),
        }
    }

    /// A complete `Connection: close` response of `status` for a faulty head.
    fn answer(&self, status: u16, describe: &str) -> Vec<u8> {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        let line = format!("HTTP/1.1 {} {}\r\n", status.as_str(), status.canonical_reason().unwrap_or(""));
        let (extra, body) = match self.answers {
            Answers::Json => {
                let operation_id = uuid::Uuid::now_v7().to_string();
                let payload = ErrorPayload {
                    code: 17,
                    reason: format!("Invalid request format: {describe}"),
                    details: None,
                    cause: None,
                    db_error_kind: None,
                };
                (
                    format!("content-type: application/json\r\n{OPERATION_ID_HEADER}: {operation_id}\r\n"),
                    payload.render(&operation_id),
                )
            }
            Answers::Empty => (String::new(), Vec::new()),
        };
        let mut bytes =
            format!("{line}{extra}content-length: {}\r\nconnection: close\r\n\r\n", body.len()).into_bytes();
        bytes.extend_from_slice(&body);
        bytes
    }
}

/// A server for `factory`'s application on `listeners`, every connection behind the edge.
pub fn serve<F, I, S, B>(
    listeners: Vec<TcpListener>,
    edge: Edge,
    options: ServerOptions,
    factory: F,
) -> std::io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let mut builder = Server::build()
        .workers(options.workers)
        .max_concurrent_connections(options.max_connections)
        .shutdown_timeout(options.shutdown_timeout)
        .disable_signals();
    let graceful = builder.graceful_shutdown_signal();
    for listener in listeners {
        let addr = listener.local_addr()?;
        let (factory, edge, graceful) = (factory.clone(), edge.clone(), graceful.clone());
        builder = builder.listen(format!("hyperfleet-{}-{addr}", edge.listener), listener, move || {
            let graceful = graceful.clone();
            let app = factory().into_factory().map_err(|err| err.into().error_response());
            let h1 = HttpService::<GuardedStream, _, B>::build()
                .graceful_shutdown_signal(move || {
                    let graceful = graceful.clone();
                    async move { graceful.notified().await }
                })
                // The edge enforces the read timeout; actix-http's own head timer would answer 408.
                .client_request_timeout(Duration::ZERO)
                .client_disconnect_timeout(Duration::from_secs(1))
                .local_addr(addr)
                // The application never reads the configured host or address (no URL generation),
                // so the defaults do.
                .h1(map_config(app, |_| AppConfig::default()));
            let edge = Rc::new(edge.clone());
            fn_factory(move || {
                let pending = h1.new_service(());
                let edge = Rc::clone(&edge);
                async move {
                    let h1 = Rc::new(pending.await.map_err(|_| ())?);
                    Ok::<_, ()>(fn_service(move |stream: TcpStream| {
                        conn::serve_connection(Rc::clone(&h1), stream, Rc::clone(&edge)).map(Ok::<_, ()>)
                    }))
                }
            })
        })?;
    }
    Ok(builder.run())
}

/// Drops actix-http's `error` record for a connection that ended in a client's protocol error
/// ("stream error: …"): the edge counts and logs those itself at `debug` (spec §11.3,
/// `error` is for 5xx and panics).
pub struct QuietClientFaults;

const DISPATCHER_TARGET: &str = "actix_http::h1::dispatcher";

impl<S: Subscriber> Layer<S> for QuietClientFaults {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if *meta.level() != Level::ERROR || meta.target() != DISPATCHER_TARGET {
            return true;
        }
        let mut message = MessageStart(false);
        event.record(&mut message);
        !message.0
    }
}

/// Whether an event's message starts with "stream error".
struct MessageStart(bool);

impl Visit for MessageStart {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}").starts_with("stream error");
        }
    }
}
