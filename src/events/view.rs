//! An event as the API renders it (spec §3.6): the event list answers with it, and every watch
//! frame carries one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::dao::events::EventRow;
use crate::model::format::{cluster_href, node_pool_href, serialize_optional_time, serialize_time};

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

/// One Server-Sent Event of `/watch` as an SSE parser yields it: the contract's `WatchEvent`.
/// A schema only: `watch.rs` writes the `id:` and `data:` lines itself (no `event:` line, so
/// parsers report the default name `message`).
#[derive(utoipa::ToSchema)]
pub struct WatchEvent {
    pub id: String,
    #[schema(nullable = false)]
    pub event: Option<String>,
    /// The [`Event`] as compact JSON.
    pub data: String,
}
