//! The event processor (spec §9.3, §9.4): one per replica, handling one event at a time.
//! A transaction-scoped advisory lock per event keeps replicas apart, and the conditional
//! `reconciled_at` update (only while it is still null) makes it happen exactly once. No row lock
//! is taken before the handlers run, so a slow handler never holds back the event horizon that
//! readers of the log wait for (`dao::events`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;
use uuid::Uuid;

use crate::dao::events as dao;
use crate::db::Database;
use crate::error::{error_chain, ApiError};
use crate::metrics::Metrics;

/// What the listener hands to the processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// A notification: try to reconcile this event.
    Event(i64),
    /// Walk every unreconciled event (after a (re)connect).
    Sweep,
}

/// Largest number of event ids one sweep batch reads.
pub const SWEEP_BATCH: i64 = 1000;

/// An event handed to the handlers, locked for the duration of the call.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub id: i64,
    pub source: String,
    pub source_id: Uuid,
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    /// The `reconciled_at` this attempt records if every handler succeeds.
    pub reconciled_at: DateTime<Utc>,
}

/// One step of reconciling an event. Handlers run in registration order inside the event's
/// transaction; an error rolls the attempt back and the next sweep retries the event, so a
/// handler must tolerate running more than once for the same event.
pub trait EventHandler: Send + Sync {
    /// Names the handler in logs.
    fn name(&self) -> &str;
    fn handle<'a>(&'a self, event: &'a EventRecord) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// Built-in: `hyperfleet_events_processed_total` and `hyperfleet_event_processing_lag_seconds`.
struct MetricsHandler(Metrics);

impl EventHandler for MetricsHandler {
    fn name(&self) -> &str {
        "metrics"
    }

    fn handle<'a>(&'a self, event: &'a EventRecord) -> BoxFuture<'a, anyhow::Result<()>> {
        self.0.events_processed.with_label_values(&[&event.source, &event.event_type]).inc();
        let lag = (event.reconciled_at - event.created_at).num_microseconds().unwrap_or(i64::MAX);
        self.0.event_processing_lag.observe(lag.max(0) as f64 / 1e6);
        Box::pin(async { Ok(()) })
    }
}

/// Built-in: one `debug` record per processed event.
struct LogHandler;

impl EventHandler for LogHandler {
    fn name(&self) -> &str {
        "log"
    }

    fn handle<'a>(&'a self, event: &'a EventRecord) -> BoxFuture<'a, anyhow::Result<()>> {
        tracing::debug!(
            event.id = event.id,
            event.source = %event.source,
            event.source_id = %event.source_id,
            event.event_type = %event.event_type,
            "event processed"
        );
        Box::pin(async { Ok(()) })
    }
}

#[derive(Debug, thiserror::Error)]
enum ProcessError {
    #[error("handler '{handler}' failed: {cause:#}")]
    Handler { handler: String, cause: anyhow::Error },
    #[error(transparent)]
    Database(#[from] ApiError),
}

impl From<sqlx::Error> for ProcessError {
    fn from(error: sqlx::Error) -> Self {
        ProcessError::Database(error.into())
    }
}

pub struct Processor {
    db: Database,
    metrics: Metrics,
    handlers: Vec<Arc<dyn EventHandler>>,
}

impl Processor {
    pub fn new(db: Database, metrics: Metrics, extra: &[Arc<dyn EventHandler>]) -> Self {
        let mut handlers: Vec<Arc<dyn EventHandler>> =
            vec![Arc::new(MetricsHandler(metrics.clone())), Arc::new(LogHandler)];
        handlers.extend(extra.iter().cloned());
        Processor { db, metrics, handlers }
    }

    /// Handles notifications and sweep requests one at a time until `stop` turns true; the
    /// event in hand is always finished first.
    pub async fn run(
        self: Arc<Self>,
        mut work: mpsc::UnboundedReceiver<Work>,
        sweep_interval: Duration,
        mut stop: watch::Receiver<bool>,
    ) {
        // The first sweep is asked for by the listener once `LISTEN` is in place.
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + sweep_interval, sweep_interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let next = tokio::select! {
                biased;
                _ = stop.wait_for(|stopped| *stopped) => None,
                _ = ticker.tick() => Some(Work::Sweep),
                next = work.recv() => next,
            };
            match next {
                Some(Work::Event(id)) => self.process(id).await,
                Some(Work::Sweep) => self.sweep(&stop).await,
                None => break,
            }
        }
        tracing::info!("event processor stopped");
    }

    /// Walks the unreconciled events in ascending id order, in batches, and handles each one;
    /// then refreshes `hyperfleet_events_unreconciled`.
    async fn sweep(&self, stop: &watch::Receiver<bool>) {
        let mut after = 0;
        loop {
            let batch = match self.unreconciled_after(after).await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(error = %error_chain(&e), "event sweep failed; retrying at the next sweep");
                    return;
                }
            };
            for &id in &batch {
                if *stop.borrow() {
                    return;
                }
                self.process(id).await;
            }
            match batch.last() {
                Some(&last) if batch.len() as i64 == SWEEP_BATCH => after = last,
                _ => break,
            }
        }
        match self.count_unreconciled().await {
            Ok(count) => self.metrics.events_unreconciled.set(count),
            Err(e) => tracing::warn!(error = %error_chain(&e), "counting unreconciled events failed"),
        }
    }

    async fn unreconciled_after(&self, after: i64) -> Result<Vec<i64>, ApiError> {
        let mut conn = self.db.acquire().await?;
        Ok(dao::unreconciled_after(&mut conn, after, SWEEP_BATCH).await?)
    }

    async fn count_unreconciled(&self) -> Result<i64, ApiError> {
        let mut conn = self.db.acquire().await?;
        Ok(dao::count_unreconciled(&mut conn).await?)
    }

    /// Tries to reconcile one event; failures are logged here.
    async fn process(&self, id: i64) {
        if let Err(e) = self.try_process(id).await {
            tracing::warn!(event.id = id, error = %error_chain(&e), "event processing failed; the event stays unreconciled");
        }
    }

    /// BEGIN; the event's try-lock (taken by another replica: skip); the row if still
    /// unreconciled (else done already); the handlers; `reconciled_at` if still null; COMMIT.
    async fn try_process(&self, id: i64) -> Result<(), ProcessError> {
        let mut tx = self.db.begin().await?;
        if !dao::try_lock_processing(&mut tx, id).await? {
            tx.rollback().await?;
            return Ok(());
        }
        let Some(row) = dao::unreconciled(&mut tx, id).await? else {
            tx.commit().await?;
            return Ok(());
        };
        let event = EventRecord {
            id: row.id,
            source: row.source,
            source_id: row.source_id,
            event_type: row.event_type,
            created_at: row.created_at,
            reconciled_at: row.now,
        };
        for handler in &self.handlers {
            if let Err(cause) = handler.handle(&event).await {
                tx.rollback().await?;
                return Err(ProcessError::Handler { handler: handler.name().to_owned(), cause });
            }
        }
        if !dao::mark_reconciled(&mut tx, id).await? {
            // Cannot happen while the processing lock is held; it guards the exactly-once mark.
            tx.rollback().await?;
            return Ok(());
        }
        tx.commit().await?;
        Ok(())
    }
}
