//! The read side of the event log (spec §9): the processor that reconciles every event
//! exactly once across replicas, and the per-replica watch hub that feeds Server-Sent-Events
//! streams. Both hang off one `LISTEN events` connection per replica (`listener.rs`).

pub mod listener;
pub mod processor;
pub mod watch;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use sqlx::postgres::PgConnectOptions;
use tokio::sync::{mpsc, watch as signal};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::api::resources::{cluster_href, node_pool_href, serialize_time};
use crate::config::Settings;
use crate::dao::events::EventRow;
use crate::db::Database;
use crate::metrics::Metrics;
pub use processor::{EventHandler, EventRecord, Processor};
pub use watch::WatchHub;

/// The values of an event's `source`.
pub const SOURCES: [&str; 2] = ["Clusters", "NodePools"];
/// The values of an event's `event_type`.
pub const EVENT_TYPES: [&str; 3] = ["Create", "Update", "Delete"];

/// The filters shared by the events list and the watch stream: they combine with AND, the
/// values of one list with OR; an empty list means any value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub sources: Vec<&'static str>,
    pub source_id: Option<Uuid>,
    pub event_types: Vec<&'static str>,
}

impl EventFilter {
    pub fn matches(&self, source: &str, source_id: Uuid, event_type: &str) -> bool {
        (self.sources.is_empty() || self.sources.contains(&source))
            && self.source_id.is_none_or(|id| id == source_id)
            && (self.event_types.is_empty() || self.event_types.contains(&event_type))
    }
}

/// An event as the API renders it (§3.6).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Event {
    pub kind: &'static str,
    pub id: String,
    pub source: String,
    pub source_id: Uuid,
    pub source_href: String,
    pub event_type: String,
    #[serde(serialize_with = "serialize_time")]
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "serialize_optional_time")]
    #[schema(nullable = false)]
    pub reconciled_at: Option<DateTime<Utc>>,
}

fn serialize_optional_time<S: Serializer>(time: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serialize_time(time, serializer),
        None => serializer.serialize_none(),
    }
}

impl From<EventRow> for Event {
    fn from(row: EventRow) -> Self {
        let source_href = match (row.source.as_str(), row.cluster_id) {
            ("NodePools", Some(cluster_id)) => node_pool_href(cluster_id, row.source_id),
            // Node pools are never hard-deleted, so their cluster is always known; only a row
            // removed by hand lands here, and it is rendered without the cluster part.
            ("NodePools", None) => format!("/api/hyperfleet/v1/nodepools/{}", row.source_id),
            _ => cluster_href(row.source_id),
        };
        Event {
            kind: "Event",
            id: row.id.to_string(),
            source: row.source,
            source_id: row.source_id,
            source_href,
            event_type: row.event_type,
            created_at: row.created_at,
            reconciled_at: row.reconciled_at,
        }
    }
}

/// What the listener hands to the processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// A notification: try to reconcile this event.
    Event(i64),
    /// Walk every unreconciled event (after a (re)connect).
    Sweep,
}

/// The event machinery of one replica, built with the application and started when it runs.
pub struct EventPipeline {
    pub watch: Arc<WatchHub>,
    processor: Arc<Processor>,
    listen_options: PgConnectOptions,
    connect_timeout: Duration,
    sweep_interval: Duration,
}

impl EventPipeline {
    /// `listen_options` open the dedicated `LISTEN` connection (outside the pool).
    pub fn new(db: Database, metrics: Metrics, settings: &Settings, listen_options: PgConnectOptions) -> Self {
        let events = &settings.events;
        EventPipeline {
            watch: Arc::new(WatchHub::new(db.clone(), metrics.clone(), events)),
            processor: Arc::new(Processor::new(db, metrics, &events.handlers.0)),
            listen_options,
            connect_timeout: settings.database.connect_timeout,
            sweep_interval: events.sweep_interval,
        }
    }

    /// Spawns the listener, the processor and the watch tailer.
    pub fn start(&self) -> RunningPipeline {
        let (stop_tx, stop_rx) = signal::channel(false);
        let (work_tx, work_rx) = mpsc::unbounded_channel();
        let listener = tokio::spawn(listener::run(
            self.listen_options.clone(),
            self.connect_timeout,
            work_tx,
            Arc::clone(&self.watch),
            stop_rx.clone(),
        ));
        let processor = tokio::spawn(Arc::clone(&self.processor).run(work_rx, self.sweep_interval, stop_rx));
        let tailer = tokio::spawn(Arc::clone(&self.watch).run_tailer());
        RunningPipeline { stop: stop_tx, watch: Arc::clone(&self.watch), listener, processor, tailer }
    }
}

/// The running tasks of an [`EventPipeline`].
pub struct RunningPipeline {
    stop: signal::Sender<bool>,
    watch: Arc<WatchHub>,
    listener: JoinHandle<()>,
    processor: JoinHandle<()>,
    tailer: JoinHandle<()>,
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

/// An error with its causes, for log records (`a: b: c`).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}
