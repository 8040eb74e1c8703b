//! Units of work that span several statements: each owns its transaction (retried as a whole on
//! deadlock or serialization failure) and records the metrics of what it committed. Services
//! take a [`Context`] and plain values, never HTTP types.

pub mod aggregation;
pub mod resources;
pub mod statuses;

use sqlx::PgConnection;

use crate::config::AggregationSettings;
use crate::dao::events::NewEvent;
use crate::dao::{self, ResourceRow};
use crate::db::Database;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::model::path::ResourcePath;

/// What the services need of the replica: the database, the metrics they record, and the
/// adapters that decide readiness (spec §7.5).
#[derive(Clone)]
pub struct Context {
    pub db: Database,
    pub metrics: Metrics,
    pub required: AggregationSettings,
}

/// Counts committed events (`hyperfleet_events_created_total`).
fn record_events(metrics: &Metrics, events: &[NewEvent]) {
    for event in events {
        metrics.events_created.with_label_values(&[event.source, event.event_type.as_str()]).inc();
    }
}

/// Locks the live resource of `path` for the rest of the transaction (`FOR UPDATE`).
async fn lock(conn: &mut PgConnection, path: &ResourcePath) -> Result<ResourceRow, ApiError> {
    let found = match path.ids()? {
        Some((cluster_id, id)) => dao::resources::lock(conn, path.kind(), cluster_id, id).await?,
        None => None,
    };
    match found {
        Some(row) => Ok(row),
        None => Err(missing(conn, path).await),
    }
}

/// The 404 of a resource that was not found: the cluster's reason when the cluster itself is
/// missing, else the node pool's (one extra query, only on this path).
async fn missing(conn: &mut PgConnection, path: &ResourcePath) -> ApiError {
    let (Some(cluster_id), Some(_)) = (path.cluster.id, path.node_pool.as_ref()) else {
        return path.cluster_not_found();
    };
    match dao::clusters::exists(conn, cluster_id).await {
        Ok(true) => path.node_pool_not_found(),
        Ok(false) => path.cluster_not_found(),
        Err(e) => e.into(),
    }
}
