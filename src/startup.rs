//! Builds the replica: binds the API, metrics and health listeners (port 0 in tests), wires the
//! shared state, and runs everything until a shutdown is triggered, then drains in the order of
//! spec §13.5.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App};
use socket2::{Domain, Protocol, Socket, Type};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use tokio::sync::Notify;
use tracing_actix_web::TracingLogger;

use crate::api;
use crate::api::body::BodyLimit;
use crate::api::middleware::in_flight::InFlight;
use crate::api::middleware::operation_id::RequestSpan;
use crate::api::middleware::Pipeline;
use crate::api::state::AppState;
use crate::auth::{KeyStore, Verifier};
use crate::build_info;
use crate::config::{BindAddress, Settings};
use crate::db::{self, Database};
use crate::edge::{self, Answers, Edge, ServerOptions};
use crate::events::{EventHandler, EventPipeline};
use crate::metrics::Metrics;
use crate::ops::health::{self, HealthState};
use crate::ops::lifecycle::Lifecycle;
use crate::ops::metrics::{self as metrics_server, MetricsState};
use crate::service;

/// Why `serve` could not start (exit status 1).
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot bind {flag} {address}: {source}")]
    Bind { flag: &'static str, address: String, source: std::io::Error },
    #[error("{0}")]
    Other(String),
}

/// Triggers the graceful shutdown of a running [`Application`] (what SIGTERM does).
#[derive(Clone, Default)]
pub struct ShutdownHandle(Arc<Notify>);

impl ShutdownHandle {
    pub fn trigger(&self) {
        self.0.notify_one();
    }
}

pub struct Application {
    api: Server,
    metrics_server: Server,
    health_server: Server,
    api_addrs: Vec<SocketAddr>,
    metrics_addrs: Vec<SocketAddr>,
    health_addrs: Vec<SocketAddr>,
    state: web::Data<AppState>,
    in_flight: Arc<InFlight>,
    shutdown: ShutdownHandle,
    shutdown_timeout: Duration,
    events: EventPipeline,
}

impl Application {
    /// Builds a replica whose pool connects lazily (start-up never waits for Postgres).
    /// `handlers` run on every event after the built-in ones (a program that embeds the
    /// service, or a test, brings its own; `serve` has none).
    pub async fn build(settings: Settings, handlers: Vec<Arc<dyn EventHandler>>) -> Result<Self, StartupError> {
        let metrics = Metrics::new();
        let db = Database::connect_lazy(&settings.database, metrics.clone());
        let listen_options = db::connect_options(&settings.database);
        Self::build_with(settings, db, metrics, listen_options, handlers).await
    }

    /// Builds a replica on an existing pool (tests hand in the pool of their own database); the
    /// `LISTEN` connection is opened with the pool's connect options.
    pub async fn build_with_pool(
        settings: Settings,
        pool: PgPool,
        handlers: Vec<Arc<dyn EventHandler>>,
    ) -> Result<Self, StartupError> {
        let metrics = Metrics::new();
        let listen_options = (*pool.connect_options()).clone();
        let db = Database::from_pool(pool, metrics.clone());
        Self::build_with(settings, db, metrics, listen_options, handlers).await
    }

    async fn build_with(
        settings: Settings,
        db: Database,
        metrics: Metrics,
        listen_options: PgConnectOptions,
        handlers: Vec<Arc<dyn EventHandler>>,
    ) -> Result<Self, StartupError> {
        // §1.6 step 2: the JWKS file is read before anything is bound; a bad one stops start-up.
        let auth = if settings.auth.enabled {
            let keys = KeyStore::load(settings.auth.jwk_cert_file.as_deref(), settings.auth.jwk_cert_url.as_deref())
                .map_err(StartupError::Other)?;
            Some(Arc::new(Verifier::new(Arc::new(keys), settings.auth.issuer.clone(), settings.auth.audience.clone())))
        } else {
            None
        };
        let lifecycle = Arc::new(Lifecycle::default());
        let in_flight = Arc::new(InFlight::default());

        let api_listeners = bind_all("--api-server-bindaddress", &settings.server.api)?;
        let metrics_listeners = bind_all("--metrics-server-bindaddress", &settings.server.metrics)?;
        let health_listeners = bind_all("--health-check-server-bindaddress", &settings.server.health)?;
        let local = |ls: &[TcpListener]| ls.iter().filter_map(|l| l.local_addr().ok()).collect::<Vec<_>>();
        let (api_addrs, metrics_addrs, health_addrs) =
            (local(&api_listeners), local(&metrics_listeners), local(&health_listeners));

        let events = EventPipeline::new(db.clone(), metrics.clone(), &settings, listen_options, &handlers);
        let context =
            service::Context { db: db.clone(), metrics: metrics.clone(), required: settings.aggregation.clone() };
        let state = web::Data::new(AppState {
            context,
            lifecycle: Arc::clone(&lifecycle),
            watch: Arc::clone(&events.watch),
            auth,
        });
        let pipeline = Arc::new(Pipeline {
            metrics: metrics.clone(),
            lifecycle: Arc::clone(&lifecycle),
            cors: settings.cors.clone(),
            in_flight: Arc::clone(&in_flight),
        });
        let body_limit = BodyLimit(settings.server.max_body_bytes);
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let app_state = state.clone();
        let write_timeout = settings.server.write_timeout;
        let edge = |listener, answers| Edge::new(listener, settings.server.read_timeout, answers, &metrics);
        let ops_options = || ServerOptions { workers: 1, max_connections: 25_000, shutdown_timeout: 1 };
        let api_server = edge::serve(
            api_listeners,
            edge("api", Answers::Json),
            ServerOptions {
                workers,
                max_connections: 25_000,
                shutdown_timeout: settings.server.shutdown_timeout.as_secs() + 5,
            },
            move || {
                let pipeline = Arc::clone(&pipeline);
                App::new()
                    .app_data(app_state.clone())
                    .app_data(body_limit)
                    .wrap(TracingLogger::<RequestSpan>::new())
                    .wrap(from_fn(move |req, next| Arc::clone(&pipeline).handle(req, next)))
                    .configure(|cfg| api::configure(cfg, write_timeout))
            },
        )
        .map_err(|e| StartupError::Other(e.to_string()))?;

        let metrics_state = web::Data::new(MetricsState { metrics: metrics.clone(), db: db.clone() });
        let metrics_server =
            edge::serve(metrics_listeners, edge("metrics", Answers::Empty), ops_options(), move || {
                App::new().app_data(metrics_state.clone()).configure(metrics_server::configure)
            })
            .map_err(|e| StartupError::Other(e.to_string()))?;

        let health_state = web::Data::new(HealthState {
            lifecycle: Arc::clone(&lifecycle),
            db: db.clone(),
            broker: events.broker_state(),
        });
        let health_server = edge::serve(health_listeners, edge("health", Answers::Empty), ops_options(), move || {
            App::new().app_data(health_state.clone()).configure(health::configure)
        })
        .map_err(|e| StartupError::Other(e.to_string()))?;

        tracing::info!(
            version = build_info::VERSION,
            commit = build_info::COMMIT,
            api = %settings.server.api.given,
            metrics = %settings.server.metrics.given,
            health = %settings.server.health.given,
            api_ports = ?api_addrs,
            database = %settings.database.target,
            authentication = if settings.auth.enabled { "jwt" } else { "disabled" },
            broker = settings.broker.as_ref().map_or("disabled", |b| b.target.as_str()),
            required_adapters_cluster = ?settings.aggregation.required_cluster,
            required_adapters_nodepool = ?settings.aggregation.required_nodepool,
            "hyperfleet started"
        );

        Ok(Application {
            api: api_server,
            metrics_server,
            health_server,
            api_addrs,
            metrics_addrs,
            health_addrs,
            state,
            in_flight,
            shutdown: ShutdownHandle::default(),
            shutdown_timeout: settings.server.shutdown_timeout,
            events,
        })
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.api_addrs[0]
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addrs[0]
    }

    pub fn health_addr(&self) -> SocketAddr {
        self.health_addrs[0]
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until the shutdown handle fires, then drains (§13.5). Returns the exit status:
    /// 0 when every request finished, 1 when some had to be aborted.
    pub async fn run_until_stopped(self) -> i32 {
        let api_handle = self.api.handle();
        let metrics_handle = self.metrics_server.handle();
        let health_handle = self.health_server.handle();
        let api_task = tokio::spawn(self.api);
        let metrics_task = tokio::spawn(self.metrics_server);
        let health_task = tokio::spawn(self.health_server);
        let events = self.events.start();
        let jwks = self.state.auth.as_ref().map(|auth| tokio::spawn(Arc::clone(auth.keys()).run_url_refresher()));
        let context = &self.state.context;
        let gauges = tokio::spawn(metrics_server::refresh_resource_gauges(context.metrics.clone(), context.db.clone()));

        self.shutdown.0.notified().await;
        let state = self.state;
        state.lifecycle.start_draining();
        tracing::info!("shutdown requested: readiness is now failing, draining API requests");
        api_handle.pause().await;
        events.close_watch_streams();
        let timeout = self.shutdown_timeout;
        events.stop(timeout).await;
        gauges.abort();
        if let Some(jwks) = jwks {
            jwks.abort();
        }
        tracing::info!("watch streams closed and event processor stopped");

        let drained = wait_for_drain(&self.in_flight, timeout).await;
        if !drained {
            tracing::warn!(
                remaining = self.in_flight.count(),
                "shutdown timeout reached; aborting the remaining requests"
            );
        }
        stop(api_handle, api_task).await;
        stop(metrics_handle, metrics_task).await;
        stop(health_handle, health_task).await;
        state.context.db.pool().close().await;
        tracing::info!(drained, "shutdown complete");
        if drained {
            0
        } else {
            1
        }
    }
}

async fn wait_for_drain(in_flight: &InFlight, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if in_flight.count() == 0 {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn stop(handle: ServerHandle, task: tokio::task::JoinHandle<std::io::Result<()>>) {
    handle.stop(false).await;
    if let Ok(Err(e)) = task.await {
        tracing::warn!(error = %e, "server stopped with an error");
    }
}

/// Binds every address of a listener flag. For `localhost`, the IPv6 loopback shares the port
/// chosen for IPv4 and is skipped on machines without IPv6.
fn bind_all(flag: &'static str, address: &BindAddress) -> Result<Vec<TcpListener>, StartupError> {
    let mut listeners: Vec<TcpListener> = Vec::new();
    for (i, addr) in address.addrs.iter().enumerate() {
        let mut addr = *addr;
        if addr.port() == 0 {
            if let Some(port) = listeners.first().and_then(|l| l.local_addr().ok()).map(|a| a.port()) {
                addr.set_port(port);
            }
        }
        match bind_one(addr) {
            Ok(listener) => listeners.push(listener),
            // The second address of `localhost`/empty host is IPv6; a machine without it is fine.
            Err(e) if i > 0 && addr.is_ipv6() && ipv6_unavailable(&e) => {
                tracing::debug!(%addr, error = %e, "IPv6 is not available; listening on IPv4 only");
            }
            Err(source) => return Err(StartupError::Bind { flag, address: addr.to_string(), source }),
        }
    }
    Ok(listeners)
}

fn ipv6_unavailable(error: &std::io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL))
}

fn bind_one(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        // Keep IPv6 sockets IPv6-only so `[::]` and `0.0.0.0` can both be bound on one port.
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(2048)?;
    Ok(socket.into())
}
