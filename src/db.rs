//! The connection pool as the API sees it: lazy connections with explicit limits, acquire-time
//! metrics, the schema gate of spec §1.6 step 5, the readiness ping, and the retry of
//! whole transactions on deadlocks and serialization failures (§13.1).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, PgConnection, Postgres, Transaction};
use tokio::sync::Mutex;

use crate::config::DatabaseSettings;
use crate::error::{ApiError, Unavailable};
use crate::metrics::Metrics;
use crate::MIGRATOR;

/// How often the schema check may run while it keeps failing.
const SCHEMA_RECHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Attempts of one unit of work that hits a deadlock or serialization failure.
const TRANSACTION_ATTEMPTS: usize = 3;

/// How long the readiness ping's direct connection attempt may take to fail.
const STALLED_CONNECT_PROBE: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct Database {
    pool: PgPool,
    metrics: Metrics,
    schema: Arc<SchemaGate>,
}

#[derive(Default)]
struct SchemaGate {
    current: AtomicBool,
    last_check: Mutex<Option<Instant>>,
}

/// Why a readiness ping failed (the `reason` of a 503 `/readyz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingFailure {
    Timeout,
    Unavailable,
    SchemaOutdated,
}

impl PingFailure {
    pub fn reason(self) -> &'static str {
        match self {
            PingFailure::Timeout => "database ping timeout",
            PingFailure::Unavailable => "database unavailable",
            PingFailure::SchemaOutdated => "database schema is not up to date",
        }
    }
}

/// Builds the pool options shared by `serve` and the tests: explicit limits, no ping on every
/// acquire (a broken connection fails its request with 503 and is discarded).
pub fn pool_options(settings: &DatabaseSettings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(0)
        .acquire_timeout(settings.acquire_timeout)
        .idle_timeout(Some(Duration::from_secs(600)))
        .max_lifetime(Some(Duration::from_secs(1800)))
        .test_before_acquire(false)
}

/// Connection options with statement logging set as `--enable-db-debug` asks.
pub fn connect_options(settings: &DatabaseSettings) -> sqlx::postgres::PgConnectOptions {
    let options = settings.connect.clone();
    if settings.debug_statements {
        options.log_statements(tracing::log::LevelFilter::Debug)
    } else {
        options
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Off, Duration::from_secs(3600))
    }
}

impl Database {
    /// A pool that connects on first use, so `serve` starts without waiting for Postgres.
    pub fn connect_lazy(settings: &DatabaseSettings, metrics: Metrics) -> Self {
        let pool = pool_options(settings).connect_lazy_with(connect_options(settings));
        Self::from_pool(pool, metrics)
    }

    pub fn from_pool(pool: PgPool, metrics: Metrics) -> Self {
        metrics.pool_max_connections.set(i64::from(pool.options().get_max_connections()));
        Database { pool, metrics, schema: Arc::new(SchemaGate::default()) }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A pooled connection for a request, once the schema is known to be current.
    pub async fn acquire(&self) -> Result<PoolConnection<Postgres>, ApiError> {
        let started = Instant::now();
        let result = self.pool.acquire().await;
        self.metrics.pool_acquire_duration.observe(started.elapsed().as_secs_f64());
        let mut conn = result.map_err(|e| self.classify_acquire_error(e))?;
        if !self.schema.current.load(Ordering::Acquire) {
            self.check_schema_throttled(&mut conn).await?;
        }
        Ok(conn)
    }

    /// A transaction on a pooled connection (BEGIN is sent here).
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, ApiError> {
        let conn = self.acquire().await?;
        // `Transaction::begin` on an owned pool connection keeps the acquire measurable on its own.
        Ok(Transaction::begin(conn, None).await?)
    }

    /// Runs one unit of work (which opens and commits its own transaction through
    /// [`Database::begin`]), retrying the whole unit on deadlock or serialization failure.
    pub async fn retry<T, F, Fut>(&self, mut unit: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut attempt = 1;
        loop {
            match unit().await {
                Err(e) if e.is_retryable() && attempt < TRANSACTION_ATTEMPTS => {
                    tracing::debug!(attempt, error = %e, "retrying transaction after a concurrency conflict");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The `/readyz` probe: acquire and `SELECT 1` within `timeout`, and the schema check
    /// (repeated on every probe until it passes).
    pub async fn ping(&self, timeout: Duration) -> Result<(), PingFailure> {
        let connected = std::cell::Cell::new(false);
        let probe = async {
            let mut conn = self.pool.acquire().await.map_err(|_| PingFailure::Unavailable)?;
            connected.set(true);
            sqlx::query("SELECT 1").execute(&mut *conn).await.map_err(|_| PingFailure::Unavailable)?;
            if !self.schema.current.load(Ordering::Acquire) {
                match self.check_schema(&mut conn).await {
                    Ok(true) => {}
                    Ok(false) => return Err(PingFailure::SchemaOutdated),
                    Err(_) => return Err(PingFailure::Unavailable),
                }
            }
            Ok(())
        };
        match tokio::time::timeout(timeout, probe).await {
            Ok(result) => result,
            Err(_) if !connected.get() && !self.saturated() => Err(self.stalled_connect_verdict().await),
            Err(_) => Err(PingFailure::Timeout),
        }
    }

    /// The ping ran out while the pool, which has room, was still opening a connection. The
    /// pool retries refused connections quietly until its acquire timeout, so one direct attempt
    /// tells the cases apart: it fails at once when the database is down, and it hangs when the
    /// database accepts connections but does not answer (paused, overloaded): a ping timeout.
    async fn stalled_connect_verdict(&self) -> PingFailure {
        let options = self.pool.connect_options();
        match tokio::time::timeout(STALLED_CONNECT_PROBE, options.connect()).await {
            Ok(Err(_)) => PingFailure::Unavailable,
            Ok(Ok(_)) | Err(_) => PingFailure::Timeout,
        }
    }

    fn saturated(&self) -> bool {
        self.pool.size() >= self.pool.options().get_max_connections() && self.pool.num_idle() == 0
    }

    /// A pool timeout while the pool still has room means no connection could be opened: the
    /// database is down, not saturated.
    fn classify_acquire_error(&self, error: sqlx::Error) -> ApiError {
        if matches!(error, sqlx::Error::PoolTimedOut) {
            self.metrics.pool_acquire_timeouts.inc();
            let kind = if self.saturated() { Unavailable::PoolExhausted } else { Unavailable::DatabaseDown };
            return ApiError::Database { kind, source: error };
        }
        ApiError::from(error)
    }

    async fn check_schema_throttled(&self, conn: &mut PgConnection) -> Result<(), ApiError> {
        // Held across the check, so requests arriving meanwhile wait for its verdict.
        let mut last = self.schema.last_check.lock().await;
        if self.schema.current.load(Ordering::Acquire) {
            return Ok(());
        }
        if last.is_some_and(|at| at.elapsed() < SCHEMA_RECHECK_INTERVAL) {
            return Err(ApiError::Unavailable(Unavailable::SchemaOutdated));
        }
        let current = self.check_schema(conn).await;
        *last = Some(Instant::now());
        if current? {
            Ok(())
        } else {
            Err(ApiError::Unavailable(Unavailable::SchemaOutdated))
        }
    }

    /// True when every migration embedded in this binary is recorded as applied.
    async fn check_schema(&self, conn: &mut PgConnection) -> Result<bool, ApiError> {
        let table: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text").fetch_one(&mut *conn).await?;
        if table.is_none() {
            return Ok(false);
        }
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&mut *conn)
                .await?;
        let current = MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .all(|m| applied.binary_search(&m.version).is_ok());
        if current {
            self.schema.current.store(true, Ordering::Release);
            tracing::info!("database schema is up to date");
        }
        Ok(current)
    }
}
