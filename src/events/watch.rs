//! The watch fan-out of one replica (spec §9.5). A single tailer reads new events once
//! (on every notification, and every 2 s in case one was missed) and hands them to each matching
//! subscriber's bounded queue. A stream first replays its backlog from the table, then follows
//! that queue; an idle stream holds no database connection.
//!
//! The hand-off is gapless because readers only see ids below the event horizon
//! (`dao::events::VISIBLE`), and no event can appear below an id already seen: when a subscriber
//! registers, the tailer's last-seen id `L` is recorded under the same lock as the fan-out, so
//! every event after `L` reaches its queue and every event up to `L` is already in the table.
//!
//! A notified event can still be above the horizon (an older writer has not ended yet); the
//! tailer then reads again shortly, backing off, instead of waiting for the 2 s poll.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::web::Bytes;
use futures_util::Stream;
use tokio::sync::{mpsc, watch, Notify};

use super::view::Event;
use crate::config::EventSettings;
use crate::dao::events::{self as dao, EventQuery, EventRow};
use crate::db::Database;
use crate::error::{error_chain, ApiError, Unavailable};
use crate::metrics::Metrics;
use crate::model::event::EventFilter;

/// The first thing every stream sends.
pub const RETRY_FRAME: &str = "retry: 3000\n\n";
pub const KEEP_ALIVE_FRAME: &str = ": keep-alive\n\n";
/// Largest batch read from the table, by the tailer and by a stream's backlog.
pub const READ_BATCH: i64 = 500;
/// The tailer also polls this often, in case a notification was missed.
const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// First re-read while a notified event is still above the horizon; doubles up to the poll.
const HORIZON_RETRY: Duration = Duration::from_millis(5);
/// Live events taken from a queue into one chunk at most.
const CHUNK_EVENTS: usize = 64;

/// A new event as the tailer read it, rendered once for every subscriber.
#[derive(Debug)]
pub struct LiveEvent {
    pub id: i64,
    pub source: String,
    pub source_id: uuid::Uuid,
    pub event_type: String,
    pub frame: Bytes,
}

impl LiveEvent {
    fn new(row: EventRow) -> Self {
        let (id, source, source_id, event_type) = (row.id, row.source.clone(), row.source_id, row.event_type.clone());
        LiveEvent { id, source, source_id, event_type, frame: Bytes::from(frame(&Event::from(row))) }
    }
}

/// `id: <id>` and `data: <compact JSON>`, then an empty line.
fn frame(event: &Event) -> String {
    // Serializing plain strings and numbers cannot fail.
    let data = serde_json::to_string(event).unwrap_or_default();
    format!("id: {}\ndata: {}\n\n", event.id, data)
}

struct Subscriber {
    filter: EventFilter,
    queue: mpsc::Sender<Arc<LiveEvent>>,
    overflowed: Arc<AtomicBool>,
}

pub struct WatchHub {
    db: Database,
    metrics: Metrics,
    keepalive: Duration,
    max_subscribers: usize,
    queue_limit: usize,
    /// The last id the tailer has read, or `None` while nobody watches (then nothing is read).
    /// Held across a read and its fan-out, and across a registration.
    last_seen: tokio::sync::Mutex<Option<i64>>,
    subscribers: Mutex<HashMap<u64, Subscriber>>,
    /// The highest event id notified so far: the tailer is behind while it has not read it.
    notified: AtomicI64,
    next_key: AtomicU64,
    open: AtomicUsize,
    wake: Notify,
    closing: watch::Sender<bool>,
}

impl WatchHub {
    pub fn new(db: Database, metrics: Metrics, settings: &EventSettings) -> Self {
        WatchHub {
            db,
            metrics,
            keepalive: settings.watch_keepalive,
            max_subscribers: settings.watch_max_subscribers,
            queue_limit: settings.watch_queue_limit.max(1),
            last_seen: tokio::sync::Mutex::new(None),
            subscribers: Mutex::new(HashMap::new()),
            notified: AtomicI64::new(0),
            next_key: AtomicU64::new(1),
            open: AtomicUsize::new(0),
            wake: Notify::new(),
            closing: watch::channel(false).0,
        }
    }

    /// Asks the tailer to read new events now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Asks the tailer to read new events now, and to keep reading until it has seen event `id`.
    pub fn wake_for(&self, id: i64) {
        self.notified.fetch_max(id, Ordering::AcqRel);
        self.wake.notify_one();
    }

    /// Ends every stream and the tailer (shutdown).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Open streams on this replica.
    pub fn open_streams(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Whether a new stream would exceed `--watch-max-subscribers`.
    pub fn is_full(&self) -> bool {
        self.open_streams() >= self.max_subscribers
    }

    /// Opens a stream of the events after `cursor` (default: the newest event) that match
    /// `filter`. At most one query: the newest id, when there is no cursor or nobody watched.
    pub async fn subscribe(
        self: &Arc<Self>,
        cursor: Option<i64>,
        filter: EventFilter,
    ) -> Result<WatchStream, ApiError> {
        let slot = self.reserve_slot()?;
        let mut last_seen = self.last_seen.lock().await;
        let newest = match (cursor, *last_seen) {
            (Some(_), Some(_)) => None,
            _ => {
                let mut conn = self.db.acquire().await?;
                Some(dao::max_id(&mut conn).await?)
            }
        };
        // Events up to the tailer's position are in the table; later ones reach the queue.
        let until = *last_seen.get_or_insert_with(|| newest.unwrap_or_default());
        let cursor = cursor.or(newest).unwrap_or_default();
        let (queue, live) = mpsc::channel(self.queue_limit);
        let overflowed = Arc::new(AtomicBool::new(false));
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let subscriber = Subscriber { filter: filter.clone(), queue, overflowed: Arc::clone(&overflowed) };
        self.lock_subscribers().insert(key, subscriber);
        drop(last_seen);
        Ok(WatchStream {
            hub: Arc::clone(self),
            _registration: Registration { hub: Arc::clone(self), key, _slot: slot },
            filter,
            position: cursor,
            backlog_until: until,
            backlog_done: cursor >= until,
            started: false,
            live,
            overflowed,
            closing: self.closing.subscribe(),
        })
    }

    fn reserve_slot(self: &Arc<Self>) -> Result<Slot, ApiError> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.max_subscribers).then_some(n + 1))
            .map_err(|_| ApiError::Unavailable(Unavailable::TooManyWatchers))?;
        self.metrics.watch_subscribers.inc();
        Ok(Slot(Arc::clone(self)))
    }

    fn lock_subscribers(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Subscriber>> {
        // A panic while holding this lock cannot leave the map inconsistent; keep serving.
        self.subscribers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The tailer: reads new events on every wake-up and every 2 s until the hub closes.
    pub async fn run_tailer(self: Arc<Self>) {
        let mut closing = self.closing.subscribe();
        let mut wait = POLL_INTERVAL;
        loop {
            tokio::select! {
                _ = closing.wait_for(|closing| *closing) => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
            wait = match self.catch_up().await {
                // A notified event is still above the horizon: read again soon, backing off.
                Some(last) if last < self.notified.load(Ordering::Acquire) => next_retry(wait),
                _ => POLL_INTERVAL,
            };
        }
    }

    /// Reads and fans out everything new below the horizon; the last id read, or `None` when
    /// nobody watches.
    async fn catch_up(&self) -> Option<i64> {
        let mut last_seen = self.last_seen.lock().await;
        if self.lock_subscribers().is_empty() {
            // Nobody to serve: forget the position; the next registration reads it afresh.
            *last_seen = None;
            return None;
        }
        let mut after = (*last_seen)?;
        loop {
            let rows = match self.read_after(after).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %error_chain(&e), "reading new events for watch streams failed; retrying");
                    return Some(after);
                }
            };
            let full = rows.len() as i64 == READ_BATCH;
            let events: Vec<Arc<LiveEvent>> = rows.into_iter().map(|row| Arc::new(LiveEvent::new(row))).collect();
            if let Some(last) = events.last() {
                after = last.id;
                *last_seen = Some(after);
                self.fan_out(&events);
            }
            if !full {
                return Some(after);
            }
        }
    }

    async fn read_after(&self, after: i64) -> Result<Vec<EventRow>, ApiError> {
        let mut conn = self.db.acquire().await?;
        Ok(dao::tail(&mut conn, after, READ_BATCH).await?)
    }

    fn fan_out(&self, events: &[Arc<LiveEvent>]) {
        let mut subscribers = self.lock_subscribers();
        subscribers.retain(|_, subscriber| {
            for event in events {
                if !subscriber.filter.matches(&event.source, event.source_id, &event.event_type) {
                    continue;
                }
                match subscriber.queue.try_send(Arc::clone(event)) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        // A consumer this far behind is closed; it resumes from the table.
                        subscriber.overflowed.store(true, Ordering::Release);
                        return false;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return false,
                }
            }
            true
        });
    }

    async fn read_backlog(&self, filter: &EventFilter, after: i64, until: i64) -> Result<Vec<EventRow>, ApiError> {
        let mut conn = self.db.acquire().await?;
        let query = EventQuery { filter, after: Some(after), until: Some(until) };
        Ok(dao::read(&mut conn, &query, READ_BATCH).await?)
    }
}

/// The tailer's next wait while it is behind a notified event.
fn next_retry(wait: Duration) -> Duration {
    if wait >= POLL_INTERVAL {
        HORIZON_RETRY
    } else {
        (wait * 2).min(POLL_INTERVAL)
    }
}

/// One counted stream: released when the stream is dropped.
struct Slot(Arc<WatchHub>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
        self.0.metrics.watch_subscribers.dec();
    }
}

/// Removes the subscriber from the fan-out when the stream goes away.
struct Registration {
    hub: Arc<WatchHub>,
    key: u64,
    _slot: Slot,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.lock_subscribers().remove(&self.key);
    }
}

/// One watch stream: `retry`, then the backlog from the table, then live events.
pub struct WatchStream {
    hub: Arc<WatchHub>,
    _registration: Registration,
    filter: EventFilter,
    /// The last id sent (or the cursor).
    position: i64,
    backlog_until: i64,
    backlog_done: bool,
    started: bool,
    live: mpsc::Receiver<Arc<LiveEvent>>,
    overflowed: Arc<AtomicBool>,
    closing: watch::Receiver<bool>,
}

impl WatchStream {
    /// The body of the SSE response.
    pub fn into_body(self) -> impl Stream<Item = Result<Bytes, Infallible>> {
        futures_util::stream::unfold(self, |mut stream| async move {
            let chunk = stream.next_chunk().await?;
            Some((Ok(chunk), stream))
        })
    }

    /// The next piece of output, or `None` when the stream ends.
    pub async fn next_chunk(&mut self) -> Option<Bytes> {
        if !self.started {
            self.started = true;
            return Some(Bytes::from_static(RETRY_FRAME.as_bytes()));
        }
        if *self.closing.borrow() || self.overflowed.load(Ordering::Acquire) {
            return None;
        }
        while !self.backlog_done {
            let rows = match self.hub.read_backlog(&self.filter, self.position, self.backlog_until).await {
                Ok(rows) => rows,
                Err(e) => {
                    // The client reconnects with Last-Event-ID and resumes from the table.
                    tracing::warn!(error = %error_chain(&e), "reading a watch backlog failed; closing the stream");
                    return None;
                }
            };
            if (rows.len() as i64) < READ_BATCH {
                self.backlog_done = true;
            }
            if let Some(last) = rows.last() {
                self.position = last.id;
                let mut chunk = String::new();
                for row in rows {
                    chunk.push_str(&frame(&Event::from(row)));
                }
                return Some(Bytes::from(chunk));
            }
        }
        self.position = self.position.max(self.backlog_until);
        loop {
            let keepalive = tokio::time::sleep(self.hub.keepalive);
            let event = tokio::select! {
                biased;
                _ = self.closing.wait_for(|closing| *closing) => return None,
                event = self.live.recv() => event?,
                _ = keepalive => return Some(Bytes::from_static(KEEP_ALIVE_FRAME.as_bytes())),
            };
            if self.overflowed.load(Ordering::Acquire) {
                return None;
            }
            let mut chunk = Vec::new();
            self.append(&event, &mut chunk);
            while chunk.len() < CHUNK_EVENTS {
                match self.live.try_recv() {
                    Ok(event) => self.append(&event, &mut chunk),
                    Err(_) => break,
                }
            }
            if !chunk.is_empty() {
                return Some(Bytes::from(chunk.concat()));
            }
        }
    }

    /// Adds a live event unless the backlog already sent it.
    fn append(&mut self, event: &LiveEvent, chunk: &mut Vec<Bytes>) {
        if event.id > self.position {
            self.position = event.id;
            chunk.push(event.frame.clone());
        }
    }
}
