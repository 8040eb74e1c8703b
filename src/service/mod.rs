//! Units of work that span several statements: each owns its transaction (retried as a whole on
//! deadlock or serialization failure) and records the metrics of what it committed.

pub mod aggregation;
pub mod resources;
pub mod statuses;

use crate::dao::events::NewEvent;
use crate::metrics::Metrics;

/// Counts committed events (`hyperfleet_events_created_total`).
fn record_events(metrics: &Metrics, events: &[NewEvent]) {
    for event in events {
        metrics.events_created.with_label_values(&[event.source, event.event_type]).inc();
    }
}
