//! The read side of the event log (spec §9): the processor that reconciles every event
//! exactly once across replicas, the per-replica watch hub that feeds Server-Sent-Events
//! streams, and (with `--broker-url`) the publisher that hands every event to the message
//! broker. All hang off one `LISTEN events` connection per replica (`listener.rs`).

pub mod cloudevent;
pub mod listener;
pub mod processor;
pub mod publisher;
pub mod view;
pub mod watch;

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::PgConnection;
use tokio::sync::{mpsc, watch as signal};
use tokio::task::JoinHandle;

use crate::config::Settings;
use crate::dao::events as events_dao;
use crate::db::Database;
use crate::metrics::Metrics;
pub use processor::{EventHandler, EventRecord, Processor};
pub use publisher::{BrokerState, Publisher};
pub use watch::WatchHub;

/// How long a read of the events list waits at most for the writers that began before it.
const SETTLE_LIMIT: Duration = Duration::from_secs(2);
const SETTLE_PAUSE_MAX: Duration = Duration::from_millis(20);

/// Waits (briefly, at most [`SETTLE_LIMIT`]) until every transaction that had begun when it is
/// called has ended, so the event horizon has passed them: an events list read after a write's
/// response then includes that write's events. Past the limit the read goes on with what is
/// below the horizon, which is still complete up to its last id.
pub async fn settle(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let (mut horizon, target) = events_dao::horizon_and_target(conn).await?;
    let deadline = tokio::time::Instant::now() + SETTLE_LIMIT;
    let mut pause = Duration::from_millis(1);
    while horizon < target && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(SETTLE_PAUSE_MAX);
        horizon = events_dao::horizon_and_target(conn).await?.0;
    }
    Ok(())
}

/// The event machinery of one replica, built with the application and started when it runs.
pub struct EventPipeline {
    pub watch: Arc<WatchHub>,
    processor: Arc<Processor>,
    publisher: Option<Arc<Publisher>>,
    listen_options: PgConnectOptions,
    connect_timeout: Duration,
    sweep_interval: Duration,
}

impl EventPipeline {
    /// `listen_options` open the dedicated `LISTEN` connection (outside the pool); `handlers`
    /// run after the built-in ones.
    pub fn new(
        db: Database,
        metrics: Metrics,
        settings: &Settings,
        listen_options: PgConnectOptions,
        handlers: &[Arc<dyn EventHandler>],
    ) -> Self {
        let events = &settings.events;
        let publisher = settings.broker.as_ref().map(|broker| {
            let options = listen_options.clone();
            Arc::new(Publisher::new(
                broker.clone(),
                options,
                settings.database.connect_timeout,
                metrics.register_broker(),
            ))
        });
        EventPipeline {
            watch: Arc::new(WatchHub::new(db.clone(), metrics.clone(), events)),
            processor: Arc::new(Processor::new(db, metrics, handlers)),
            publisher,
            listen_options,
            connect_timeout: settings.database.connect_timeout,
            sweep_interval: events.sweep_interval,
        }
    }

    /// The broker connection state, when this replica publishes to a broker.
    pub fn broker_state(&self) -> Option<Arc<BrokerState>> {
        self.publisher.as_ref().map(|p| Arc::clone(&p.state))
    }

    /// Spawns the listener, the processor, the watch tailer and the publisher.
    pub fn start(&self) -> RunningPipeline {
        let (stop_tx, stop_rx) = signal::channel(false);
        let (work_tx, work_rx) = mpsc::unbounded_channel();
        let listener = tokio::spawn(listener::run(
            self.listen_options.clone(),
            self.connect_timeout,
            work_tx,
            Arc::clone(&self.watch),
            self.publisher.as_ref().map(|p| Arc::clone(&p.wake)),
            stop_rx.clone(),
        ));
        let publisher = self.publisher.as_ref().map(|p| tokio::spawn(Arc::clone(p).run(stop_rx.clone())));
        let processor = tokio::spawn(Arc::clone(&self.processor).run(work_rx, self.sweep_interval, stop_rx));
        let tailer = tokio::spawn(Arc::clone(&self.watch).run_tailer());
        RunningPipeline { stop: stop_tx, watch: Arc::clone(&self.watch), listener, processor, tailer, publisher }
    }
}

/// The running tasks of an [`EventPipeline`].
pub struct RunningPipeline {
    stop: signal::Sender<bool>,
    watch: Arc<WatchHub>,
    listener: JoinHandle<()>,
    processor: JoinHandle<()>,
    tailer: JoinHandle<()>,
    publisher: Option<JoinHandle<()>>,
}

impl RunningPipeline {
    /// Ends every watch stream and the tailer at once (§13.5 step 3).
    pub fn close_watch_streams(&self) {
        self.watch.close();
    }

    /// Lets the processor finish the event in hand, then stops it and the `LISTEN` connection
    /// (§13.5 step 4). Gives up on a handler that is still running after `timeout`.
    pub async fn stop(self, timeout: Duration) {
        self.watch.close();
        self.stop.send_replace(true);
        if !finish(self.processor, timeout).await {
            tracing::warn!("the event processor did not stop in time; abandoning the event in hand");
        }
        // The batch in hand is confirmed and marked first; one that outlasts the timeout is
        // published again by the next publisher.
        if let Some(publisher) = self.publisher {
            if !finish(publisher, timeout).await {
                tracing::warn!(
                    "the event publisher did not stop in time; its unconfirmed batch will be published again"
                );
            }
        }
        // Both end promptly once signalled, unless a dead connection keeps them waiting.
        finish(self.listener, TASK_STOP_TIMEOUT).await;
        finish(self.tailer, TASK_STOP_TIMEOUT).await;
    }
}

/// How long the listener and the tailer get to stop before they are aborted.
const TASK_STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// Waits for a task to end; aborts it after `timeout` (false then).
async fn finish(mut task: JoinHandle<()>, timeout: Duration) -> bool {
    if tokio::time::timeout(timeout, &mut task).await.is_ok() {
        return true;
    }
    task.abort();
    false
}
