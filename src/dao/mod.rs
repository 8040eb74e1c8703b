//! SQL only: free async functions taking an executor, so the same function runs on the pool or
//! inside the caller's transaction. No HTTP types here.

pub mod clusters;
pub mod events;
pub mod json_text;
pub mod lists;
pub mod node_pools;
pub mod resources;
pub mod stats;
pub mod statuses;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// A cluster or node-pool row as the API renders it (`cluster_id` is set for node pools). Writers
/// read the JSON columns as trees (`Value`), to compare and aggregate them; reads that only
/// render them take a [`ResourceView`], whose JSON stays text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResourceRow<J = Value> {
    pub id: Uuid,
    pub cluster_id: Option<Uuid>,
    pub name: String,
    pub spec: J,
    pub labels: J,
    pub generation: i32,
    pub status_phase: String,
    pub status_observed_generation: i32,
    pub status_last_transition_time: DateTime<Utc>,
    pub status_updated_at: DateTime<Utc>,
    pub status_adapters: J,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_by: String,
}

/// A resource row for a response only: `spec`, `labels` and `status_adapters` as stored JSON text.
pub type ResourceView = ResourceRow<json_text::JsonText>;

/// The aggregated status written back to a resource row.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub phase: String,
    pub observed_generation: i32,
    pub adapters: Value,
    /// Whether the phase changed, so `last_transition_time` moves to the transaction time.
    pub phase_changed: bool,
}
