//! What the API answers and what its schemas describe: the response shapes of resources,
//! statuses and lists (spec §3), and the schema-only request types that the decoders of
//! `decode/` mirror member for member.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dao::json_text::JsonText;
use crate::dao::statuses::StatusRow;
use crate::dao::ResourceRow;
use crate::model::format::{cluster_href, node_pool_href, serialize_time};
use crate::model::kind::ResourceKind;

/// The members a create body may have: the contract's `ClusterCreateRequest` and
/// `NodePoolCreateRequest`. A schema only: bodies are decoded by hand ([`decode_create`](crate::api::decode::resources::decode_create)) so that
/// every problem is reported at once with its own message (§2.4).
#[derive(ToSchema)]
pub struct CreateRequest {
    #[schema(nullable = false)]
    pub kind: Option<String>,
    pub name: String,
    #[schema(value_type = Object)]
    pub spec: Value,
    pub labels: Option<HashMap<String, String>>,
    pub id: Option<String>,
    pub href: Option<String>,
}

/// The members a PATCH body may have: the contract's `ClusterPatchRequest` and
/// `NodePoolPatchRequest` (a schema only, see [`CreateRequest`]).
#[derive(ToSchema)]
pub struct PatchRequest {
    #[schema(value_type = Option<Object>, nullable = false)]
    pub spec: Option<Value>,
    pub labels: Option<HashMap<String, String>>,
}

/// The aggregated status block of a resource (§3.3): the contract's `ClusterStatus` and
/// `NodePoolStatus`, which have the same members.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceStatus {
    pub phase: String,
    pub observed_generation: i32,
    #[serde(serialize_with = "serialize_time")]
    pub last_transition_time: DateTime<Utc>,
    #[serde(serialize_with = "serialize_time")]
    pub updated_at: DateTime<Utc>,
    /// Summaries as aggregation stored them.
    #[schema(value_type = Vec<ConditionAvailable>)]
    pub adapters: JsonText,
}

/// A reference to the parent cluster of a node pool.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectReference {
    pub id: Uuid,
    pub kind: &'static str,
    pub href: String,
}

/// A cluster as returned (§3.1), members in the order of the contract.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cluster {
    pub id: Uuid,
    pub kind: &'static str,
    pub href: String,
    pub name: String,
    pub generation: i32,
    #[schema(value_type = Object)]
    pub spec: JsonText,
    #[schema(value_type = HashMap<String, String>)]
    pub labels: JsonText,
    pub status: ResourceStatus,
    #[serde(serialize_with = "serialize_time")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_time")]
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_by: String,
}

/// A node pool as returned (§3.2): a cluster's members plus `owner_references`.
#[derive(Debug, Serialize, ToSchema)]
pub struct NodePool {
    pub id: Uuid,
    pub kind: &'static str,
    pub href: String,
    pub name: String,
    pub generation: i32,
    #[schema(value_type = Object)]
    pub spec: JsonText,
    #[schema(value_type = HashMap<String, String>)]
    pub labels: JsonText,
    pub owner_references: ObjectReference,
    pub status: ResourceStatus,
    #[serde(serialize_with = "serialize_time")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_time")]
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_by: String,
}

/// A cluster or a node pool, whichever its row is; serialized as just that object.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Resource {
    Cluster(Cluster),
    NodePool(NodePool),
}

impl Resource {
    pub fn href(&self) -> &str {
        match self {
            Resource::Cluster(cluster) => &cluster.href,
            Resource::NodePool(node_pool) => &node_pool.href,
        }
    }
}

/// A JSON column of a row as a response carries it: text read from the database passes
/// through; a tree a writer holds is rendered once.
pub trait JsonColumn {
    fn into_json_text(self) -> JsonText;
}

impl JsonColumn for Value {
    fn into_json_text(self) -> JsonText {
        JsonText::from_value(&self)
    }
}

impl JsonColumn for JsonText {
    fn into_json_text(self) -> JsonText {
        self
    }
}

impl<J: JsonColumn> From<ResourceRow<J>> for Resource {
    fn from(row: ResourceRow<J>) -> Self {
        let status = ResourceStatus {
            phase: row.status_phase,
            observed_generation: row.status_observed_generation,
            last_transition_time: row.status_last_transition_time,
            updated_at: row.status_updated_at,
            adapters: row.status_adapters.into_json_text(),
        };
        match row.cluster_id {
            None => Resource::Cluster(Cluster {
                id: row.id,
                kind: ResourceKind::Cluster.kind(),
                href: cluster_href(row.id),
                name: row.name,
                generation: row.generation,
                spec: row.spec.into_json_text(),
                labels: row.labels.into_json_text(),
                status,
                created_at: row.created_at,
                updated_at: row.updated_at,
                created_by: row.created_by,
                updated_by: row.updated_by,
            }),
            Some(cluster_id) => Resource::NodePool(NodePool {
                id: row.id,
                kind: ResourceKind::NodePool.kind(),
                href: node_pool_href(cluster_id, row.id),
                name: row.name,
                generation: row.generation,
                spec: row.spec.into_json_text(),
                labels: row.labels.into_json_text(),
                owner_references: ObjectReference {
                    id: cluster_id,
                    kind: ResourceKind::Cluster.kind(),
                    href: cluster_href(cluster_id),
                },
                status,
                created_at: row.created_at,
                updated_at: row.updated_at,
                created_by: row.created_by,
                updated_by: row.updated_by,
            }),
        }
    }
}

/// The list envelope of §3.5.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    pub kind: &'static str,
    pub page: i64,
    pub size: usize,
    pub total: i64,
    pub items: Vec<T>,
}

impl<T> List<T> {
    pub fn new(kind: &'static str, page: i64, total: i64, items: Vec<T>) -> Self {
        List { kind, page, size: items.len(), total, items }
    }
}

/// The members a report may have: the contract's `AdapterStatusCreateRequest`. A schema only:
/// reports are decoded by hand ([`decode_report`](crate::api::decode::statuses::decode_report)) so that every problem is reported at once.
#[derive(ToSchema)]
pub struct AdapterStatusCreateRequest {
    pub adapter: String,
    pub observed_generation: i32,
    #[schema(nullable)]
    pub conditions: Vec<ConditionRequest>,
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// The members a condition of a report may have (a schema only, see
/// [`AdapterStatusCreateRequest`]).
#[derive(ToSchema)]
pub struct ConditionRequest {
    #[schema(rename = "type")]
    pub condition_type: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub adapter: Option<String>,
    pub observed_generation: Option<i32>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub last_transition_time: Option<DateTime<Utc>>,
}

/// A condition as stored and returned (§3.4). A schema only: conditions are stored as the JSON
/// that the report service renders (`service::statuses`).
#[derive(ToSchema)]
pub struct Condition {
    pub adapter: String,
    #[schema(rename = "type")]
    pub condition_type: String,
    pub status: String,
    #[schema(nullable = false)]
    pub reason: Option<String>,
    #[schema(nullable = false)]
    pub message: Option<String>,
    pub observed_generation: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_transition_time: DateTime<Utc>,
}

/// An adapter summary in a resource's status (§3.3), copied from the adapter's `Available`
/// condition. A schema only: aggregation renders it as JSON (`service::aggregation`).
#[derive(ToSchema)]
pub struct ConditionAvailable {
    pub adapter: String,
    #[schema(rename = "type")]
    pub condition_type: String,
    pub status: String,
    #[schema(nullable = false)]
    pub reason: Option<String>,
    #[schema(nullable = false)]
    pub message: Option<String>,
    pub observed_generation: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An adapter status as returned (§3.4).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdapterStatus {
    pub adapter: String,
    pub observed_generation: i32,
    /// The conditions as the report service stored them.
    #[schema(value_type = Vec<Condition>)]
    pub conditions: Value,
    #[schema(value_type = Object)]
    pub data: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, nullable = false)]
    pub metadata: Option<Value>,
    #[serde(serialize_with = "serialize_time")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_time")]
    pub updated_at: DateTime<Utc>,
}

impl From<StatusRow> for AdapterStatus {
    fn from(row: StatusRow) -> Self {
        AdapterStatus {
            adapter: row.adapter,
            observed_generation: row.observed_generation,
            conditions: row.conditions,
            data: row.data,
            metadata: row.metadata,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
