//! The replica's one `LISTEN events` connection, outside the pool (spec §9.3). Every
//! notification wakes the watch tailer and the broker publisher and queues the event for the
//! processor. A lost connection
//! is re-opened with back-off (1 s doubling to 30 s); every (re)connect asks for a sweep, which
//! covers whatever was committed while nobody listened.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::PgPool;
use tokio::sync::{mpsc, watch, Notify};

use super::processor::Work;
use super::watch::WatchHub;

pub const CHANNEL: &str = "events";
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(30);
/// Names the connection in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "hyperfleet-listener";

pub async fn run(
    options: PgConnectOptions,
    connect_timeout: Duration,
    work: mpsc::UnboundedSender<Work>,
    hub: Arc<WatchHub>,
    publisher: Option<Arc<Notify>>,
    mut stop: watch::Receiver<bool>,
) {
    // A pool of one is what `PgListener` reconnects through; it never reconnects on its own
    // here (`eager_reconnect(false)`), so the back-off below stays in charge.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(connect_timeout)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
        .connect_lazy_with(options.application_name(APPLICATION_NAME));
    let mut retry_in = FIRST_RETRY;
    let mut connected_before = false;
    loop {
        let attempt = tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => break,
            attempt = subscribe(&pool) => attempt,
        };
        match attempt {
            Ok(mut listener) => {
                if connected_before {
                    tracing::warn!("LISTEN connection re-established; sweeping unreconciled events");
                } else {
                    tracing::info!("listening for events");
                }
                connected_before = true;
                retry_in = FIRST_RETRY;
                // Anything committed before LISTEN took effect is found by this sweep.
                let _ = work.send(Work::Sweep);
                hub.wake();
                let stopped = relay(&mut listener, &work, &hub, publisher.as_deref(), &mut stop).await;
                drop(listener);
                if stopped {
                    break;
                }
                tracing::warn!(retry_in_ms = retry_in.as_millis() as u64, "LISTEN connection lost; reconnecting");
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = retry_in.as_millis() as u64, "cannot LISTEN for events; retrying");
            }
        }
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => break,
            _ = tokio::time::sleep(retry_in) => {}
        }
        retry_in = (retry_in * 2).min(LONGEST_RETRY);
    }
    // Waits for the listener's connection to come back (after its UNLISTEN) and closes it.
    pool.close().await;
}

async fn subscribe(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.eager_reconnect(false);
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Forwards notifications until the connection is lost (false) or the replica stops (true).
async fn relay(
    listener: &mut PgListener,
    work: &mpsc::UnboundedSender<Work>,
    hub: &WatchHub,
    publisher: Option<&Notify>,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    loop {
        let received = tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return true,
            received = listener.try_recv() => received,
        };
        match received {
            Ok(Some(notification)) => {
                if let Some(publisher) = publisher {
                    publisher.notify_one();
                }
                match notification.payload().parse::<i64>() {
                    Ok(id) => {
                        hub.wake_for(id);
                        let _ = work.send(Work::Event(id));
                    }
                    Err(_) => {
                        hub.wake();
                        tracing::warn!(payload = notification.payload(), "ignoring a malformed event notification")
                    }
                }
            }
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN connection failed");
                return false;
            }
        }
    }
}
