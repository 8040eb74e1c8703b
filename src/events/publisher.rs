//! Hands every committed event to the message broker (issue 12), as a CloudEvent on a durable
//! topic exchange, with publisher confirms.
//!
//! Every replica started with `--broker-url` keeps one AMQP connection (re-opened with back-off,
//! 1 s doubling to 30 s) and one dedicated database connection, but only one replica publishes:
//! the one holding the session-level advisory lock [`dao::PUBLISHER_LOCK`]. One publisher per
//! database is what keeps the broker's order equal to the id order, globally and so per
//! resource, without coordinating replicas per event; when it dies, its connection closes, the
//! lock is released and another replica takes over within [`STANDBY_POLL`]. A publisher that
//! loses its broker connection gives the lock up, so a replica that still reaches the broker
//! can carry on.
//!
//! The publisher reads the oldest unpublished events, publishes them (mandatory, persistent),
//! waits for the confirms and only then sets `published_at`. Crashing between a confirm and that
//! update publishes those events again with the same CloudEvent id (consumers dedupe by id);
//! nothing is skipped. A message the broker returns (no queue bound for its routing key) or
//! nacks stops the batch there: the events before it are marked, and it is retried alone after
//! a back-off (0.5 s doubling to 10 s) until the broker takes it, then batches resume. The
//! backlog meanwhile waits in PostgreSQL and shows in `hyperfleet_broker_unpublished_events`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::{FieldTable, LongString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection as _, PgConnection};
use tokio::sync::{watch, Notify};

use super::cloudevent::{self, CloudEvent};
use crate::build_info;
use crate::config::BrokerSettings;
use crate::dao::events::{self as dao, UnpublishedRow};
use crate::error::error_chain;
use crate::metrics::BrokerMetrics;

/// Events published (and confirmed) per round.
pub const BATCH: i64 = 200;
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(30);
const FIRST_REFUSAL_RETRY: Duration = Duration::from_millis(500);
const LONGEST_REFUSAL_RETRY: Duration = Duration::from_secs(10);
/// How often a replica that does not publish checks whether it should take over, and how often
/// the publisher looks for events in case a notification was missed.
pub const STANDBY_POLL: Duration = Duration::from_millis(500);
/// How often `hyperfleet_broker_unpublished_events` is recounted.
const BACKLOG_REFRESH: Duration = Duration::from_secs(2);
/// Longest wait for the broker to answer a connection attempt or the closing handshake.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);
/// Names the dedicated database connection in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "hyperfleet-publisher";

/// Whether this replica is connected to the broker, for `/readyz`.
#[derive(Debug, Default)]
pub struct BrokerState {
    connected: AtomicBool,
}

impl BrokerState {
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }
}

pub struct Publisher {
    settings: BrokerSettings,
    db_options: PgConnectOptions,
    connect_timeout: Duration,
    metrics: BrokerMetrics,
    pub state: Arc<BrokerState>,
    /// Signalled by the `LISTEN` connection on every notification.
    pub wake: Arc<Notify>,
}

/// Why serving one broker connection ended.
enum Ended {
    Stopped,
    BrokerLost,
}

/// What one publishing round did.
enum Round {
    /// Published a full batch; more may be waiting.
    More,
    /// Nothing (more) to publish.
    Idle,
    /// The broker refused a message (returned or nacked); retry after a back-off.
    Refused,
}

#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// The broker connection and its confirm-mode channel.
struct Link {
    connection: Connection,
    channel: Channel,
}

impl Link {
    fn is_up(&self) -> bool {
        self.connection.status().connected() && self.channel.status().connected()
    }
}

impl Publisher {
    pub fn new(
        settings: BrokerSettings,
        db_options: PgConnectOptions,
        connect_timeout: Duration,
        metrics: BrokerMetrics,
    ) -> Self {
        Publisher {
            settings,
            db_options: db_options.application_name(APPLICATION_NAME),
            connect_timeout,
            metrics,
            state: Arc::new(BrokerState::default()),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Connects to the broker (again and again) until `stop` turns true; publishes whenever this
    /// replica holds the publisher lock.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut retry_in = FIRST_RETRY;
        let mut db: Option<PgConnection> = None;
        loop {
            let attempt = tokio::select! {
                _ = stop.wait_for(|stopped| *stopped) => break,
                attempt = tokio::time::timeout(BROKER_TIMEOUT, self.open_link()) => attempt,
            };
            match attempt {
                Ok(Ok(link)) => {
                    self.set_connected(true);
                    tracing::info!(broker = %self.settings.target, exchange = %self.settings.exchange, "connected to the message broker");
                    retry_in = FIRST_RETRY;
                    let ended = self.serve(&link, &mut db, &mut stop).await;
                    self.set_connected(false);
                    let _ =
                        tokio::time::timeout(BROKER_TIMEOUT, link.connection.close(200, "shutting down".into())).await;
                    if let Ended::Stopped = ended {
                        break;
                    }
                    tracing::warn!(broker = %self.settings.target, retry_in_ms = retry_in.as_millis() as u64, "lost the message broker connection; reconnecting");
                }
                Ok(Err(e)) => {
                    tracing::warn!(broker = %self.settings.target, error = %error_chain(&e), retry_in_ms = retry_in.as_millis() as u64, "cannot connect to the message broker; retrying");
                }
                Err(_) => {
                    tracing::warn!(broker = %self.settings.target, retry_in_ms = retry_in.as_millis() as u64, "the message broker did not answer in time; retrying");
                }
            }
            if self.wait_for_broker(retry_in, &mut db, &mut stop).await {
                break;
            }
            retry_in = (retry_in * 2).min(LONGEST_RETRY);
        }
        if let Some(conn) = db {
            // Closing the session releases the publisher lock at once.
            let _ = conn.close().await;
        }
        tracing::info!("event publisher stopped");
    }

    /// Waits `duration` before the next connection attempt, keeping the backlog gauge current
    /// meanwhile (events keep queueing while the broker is away). True when stopped.
    async fn wait_for_broker(
        &self,
        duration: Duration,
        db: &mut Option<PgConnection>,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let until = Instant::now() + duration;
        loop {
            if db.is_none() {
                *db = self.connect_db().await.ok();
            }
            if let Some(conn) = db.as_mut() {
                match dao::count_unpublished(conn).await {
                    Ok(count) => self.metrics.unpublished.set(count),
                    Err(_) => *db = None,
                }
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            if sleep_or_stop(left.min(BACKLOG_REFRESH), stop).await {
                return true;
            }
        }
    }

    fn set_connected(&self, connected: bool) {
        self.state.connected.store(connected, Ordering::Release);
        self.metrics.connected.set(i64::from(connected));
    }

    /// Opens the connection and a confirm-mode channel, and declares the exchange.
    async fn open_link(&self) -> Result<Link, lapin::Error> {
        let name = LongString::from(format!("hyperfleet {}", build_info::VERSION));
        let properties = ConnectionProperties::default().with_connection_name(name);
        let connection = Connection::connect_uri(self.settings.uri.clone(), properties).await?;
        let channel = connection.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        channel
            .exchange_declare(
                self.settings.exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() },
                FieldTable::default(),
            )
            .await?;
        Ok(Link { connection, channel })
    }

    /// Serves one broker connection: takes the lead when it can, publishes while leading.
    async fn serve(&self, link: &Link, db: &mut Option<PgConnection>, stop: &mut watch::Receiver<bool>) -> Ended {
        let mut leading = false;
        let mut db_retry = FIRST_RETRY;
        let mut refusal_retry = FIRST_REFUSAL_RETRY;
        let mut probing = false;
        let mut counted_at: Option<Instant> = None;
        loop {
            if *stop.borrow() {
                return Ended::Stopped;
            }
            if !link.is_up() {
                if leading {
                    self.step_down(db).await;
                }
                return Ended::BrokerLost;
            }
            let conn = match db {
                Some(conn) => conn,
                None => match self.connect_db().await {
                    Ok(conn) => {
                        db_retry = FIRST_RETRY;
                        db.insert(conn)
                    }
                    Err(e) => {
                        tracing::warn!(error = %error_chain(&e), retry_in_ms = db_retry.as_millis() as u64, "the event publisher cannot reach the database; retrying");
                        if sleep_or_stop(db_retry, stop).await {
                            return Ended::Stopped;
                        }
                        db_retry = (db_retry * 2).min(LONGEST_RETRY);
                        continue;
                    }
                },
            };
            if !leading {
                match dao::try_lock_publisher(conn).await {
                    Ok(true) => {
                        leading = true;
                        probing = false;
                        tracing::info!("this replica now publishes events to the message broker");
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %error_chain(&e), "the event publisher lost its database connection");
                        *db = None;
                        continue;
                    }
                }
            }
            if counted_at.is_none_or(|at| at.elapsed() >= BACKLOG_REFRESH) {
                if let Ok(count) = dao::count_unpublished(conn).await {
                    self.metrics.unpublished.set(count);
                }
                counted_at = Some(Instant::now());
            }
            if !leading {
                if sleep_or_stop(STANDBY_POLL, stop).await {
                    return Ended::Stopped;
                }
                continue;
            }
            match self.round(link, conn, probing).await {
                Ok(Round::More) => {
                    probing = false;
                    refusal_retry = FIRST_REFUSAL_RETRY;
                }
                Ok(Round::Idle) => {
                    probing = false;
                    refusal_retry = FIRST_REFUSAL_RETRY;
                    tokio::select! {
                        _ = stop.wait_for(|stopped| *stopped) => return Ended::Stopped,
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(STANDBY_POLL) => {}
                    }
                }
                Ok(Round::Refused) => {
                    probing = true;
                    if sleep_or_stop(refusal_retry, stop).await {
                        return Ended::Stopped;
                    }
                    refusal_retry = (refusal_retry * 2).min(LONGEST_REFUSAL_RETRY);
                }
                Err(RoundError::Broker(e)) => {
                    self.metrics.publish_errors.inc();
                    tracing::warn!(error = %error_chain(&e), "publishing to the message broker failed; the events stay unpublished");
                    self.step_down(db).await;
                    return Ended::BrokerLost;
                }
                Err(RoundError::Database(e)) => {
                    tracing::warn!(error = %error_chain(&e), "the event publisher lost its database connection; another replica may take over");
                    // Dropping the connection ends the session and with it the lock.
                    *db = None;
                    leading = false;
                }
            }
        }
    }

    /// Gives the publisher lock up so a replica that still reaches the broker can take over.
    async fn step_down(&self, db: &mut Option<PgConnection>) {
        if let Some(conn) = db.as_mut() {
            if dao::unlock_publisher(conn).await.is_err() {
                *db = None;
            }
        }
        tracing::info!("this replica no longer publishes events");
    }

    async fn connect_db(&self) -> Result<PgConnection, sqlx::Error> {
        match tokio::time::timeout(self.connect_timeout, self.db_options.connect()).await {
            Ok(result) => result,
            Err(_) => Err(sqlx::Error::PoolTimedOut),
        }
    }

    /// Publishes the oldest unpublished events (just one while `probing` after a refusal), waits
    /// for their confirms, and marks the confirmed prefix published.
    async fn round(&self, link: &Link, conn: &mut PgConnection, probing: bool) -> Result<Round, RoundError> {
        let limit = if probing { 1 } else { BATCH };
        let events = dao::unpublished(conn, limit).await?;
        if events.is_empty() {
            self.metrics.unpublished.set(0);
            return Ok(Round::Idle);
        }
        let mut confirms = Vec::with_capacity(events.len());
        for event in &events {
            let (body, key, properties) = message(event);
            let confirm = link
                .channel
                .basic_publish(
                    self.settings.exchange.as_str().into(),
                    key.into(),
                    BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() },
                    &body,
                    properties,
                )
                .await?;
            confirms.push(confirm);
        }
        let mut confirmed: Vec<&UnpublishedRow> = Vec::with_capacity(events.len());
        let mut refusal: Option<String> = None;
        let mut failure: Option<lapin::Error> = None;
        for (event, confirm) in events.iter().zip(confirms) {
            let outcome = match confirm.await {
                Ok(Confirmation::Ack(None)) => None,
                Ok(Confirmation::Ack(Some(returned))) => {
                    Some(format!("returned {} {}", returned.reply_code, returned.reply_text))
                }
                Ok(Confirmation::Nack(_)) => Some("nacked".to_owned()),
                Ok(Confirmation::NotRequested) => Some("not confirmed".to_owned()),
                Err(e) => {
                    failure.get_or_insert(e);
                    continue;
                }
            };
            match outcome {
                None if refusal.is_none() && failure.is_none() => confirmed.push(event),
                None => {}
                Some(why) => {
                    if refusal.is_none() {
                        tracing::warn!(
                            event.id = event.id,
                            routing_key = %cloudevent::routing_key(&event.source, &event.event_type),
                            exchange = %self.settings.exchange,
                            reason = %why,
                            "the message broker refused an event (is a queue bound for its routing key?); retrying it"
                        );
                    }
                    refusal.get_or_insert(why);
                }
            }
        }
        // Keeps id order: only the prefix confirmed before the first refusal counts as published;
        // the rest is published again (consumers drop the duplicates by id).
        if !confirmed.is_empty() {
            let ids: Vec<i64> = confirmed.iter().map(|e| e.id).collect();
            dao::mark_published(conn, &ids).await?;
            let now = Utc::now();
            for event in &confirmed {
                let key = cloudevent::routing_key(&event.source, &event.event_type);
                self.metrics.published.with_label_values(&[&format!("com.hyperfleet.{key}")]).inc();
                let lag = (now - event.created_at).num_microseconds().unwrap_or(i64::MAX);
                self.metrics.publish_lag.observe(lag.max(0) as f64 / 1e6);
            }
        }
        if let Some(e) = failure {
            return Err(RoundError::Broker(e));
        }
        if refusal.is_some() {
            self.metrics.publish_errors.inc();
            return Ok(Round::Refused);
        }
        Ok(if events.len() as i64 == limit { Round::More } else { Round::Idle })
    }
}

/// The body, routing key and properties of an event's message.
fn message(event: &UnpublishedRow) -> (Vec<u8>, String, BasicProperties) {
    let cloud_event = CloudEvent::from(event);
    // Serializing strings, numbers and a UUID cannot fail.
    let body = serde_json::to_vec(&cloud_event).unwrap_or_default();
    let properties = BasicProperties::default()
        .with_content_type(cloudevent::CONTENT_TYPE.into())
        .with_delivery_mode(2)
        .with_message_id(cloud_event.id.as_str().into())
        .with_type(cloud_event.event_type.as_str().into())
        .with_timestamp(event.created_at.timestamp().max(0) as u64)
        .with_app_id("hyperfleet".into());
    (body, cloudevent::routing_key(&event.source, &event.event_type), properties)
}

/// Sleeps, or returns true at once when `stop` turns true.
async fn sleep_or_stop(duration: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = stop.wait_for(|stopped| *stopped) => true,
        _ = tokio::time::sleep(duration) => false,
    }
}
