//! The broker message of an event (issue 12): a CloudEvents 1.0 event in JSON structured mode,
//! and the routing key it is published with. Pure, so the format is unit-tested here and checked
//! against `openapi/asyncapi.yaml` by the integration tests.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::dao::events::UnpublishedRow;
use crate::model::format::{cluster_href, node_pool_href, serialize_time};

/// `content-type` of every message (structured mode: the whole event is the body).
pub const CONTENT_TYPE: &str = "application/cloudevents+json";
/// The CloudEvent `source` of every event.
pub const SOURCE: &str = "/api/hyperfleet/v1";

/// A CloudEvent as published, members in the order of the specification's examples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CloudEvent {
    pub specversion: &'static str,
    pub id: String,
    pub source: &'static str,
    #[serde(rename = "type")]
    pub event_type: String,
    pub subject: String,
    #[serde(serialize_with = "serialize_time")]
    pub time: DateTime<Utc>,
    pub datacontenttype: &'static str,
    pub data: ResourceData,
}

/// What the event says about its resource: the resource as of that event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceData {
    pub id: Uuid,
    pub kind: &'static str,
    pub href: String,
    pub generation: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_references: Option<OwnerReference>,
}

/// The cluster a node pool belongs to (the API's `owner_references` object).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnerReference {
    pub id: Uuid,
    pub kind: &'static str,
    pub href: String,
}

/// `cluster`/`nodepool` of an event `source`.
fn resource_word(source: &str) -> &'static str {
    match source {
        "NodePools" => "nodepool",
        _ => "cluster",
    }
}

/// `created`/`updated`/`deleted` of an `event_type`.
fn change_word(event_type: &str) -> &'static str {
    match event_type {
        "Create" => "created",
        "Update" => "updated",
        _ => "deleted",
    }
}

/// `<cluster|nodepool>.<created|updated|deleted>`: consumers bind `cluster.*`, `*.deleted` or `#`.
pub fn routing_key(source: &str, event_type: &str) -> String {
    format!("{}.{}", resource_word(source), change_word(event_type))
}

impl From<&UnpublishedRow> for CloudEvent {
    fn from(row: &UnpublishedRow) -> Self {
        let (kind, href, owner_references) = match (row.source.as_str(), row.cluster_id) {
            ("NodePools", Some(cluster_id)) => (
                "NodePool",
                node_pool_href(cluster_id, row.source_id),
                Some(OwnerReference { id: cluster_id, kind: "Cluster", href: cluster_href(cluster_id) }),
            ),
            // Node pools are never hard-deleted; only a row removed by hand lands here.
            ("NodePools", None) => ("NodePool", format!("{SOURCE}/nodepools/{}", row.source_id), None),
            _ => ("Cluster", cluster_href(row.source_id), None),
        };
        CloudEvent {
            specversion: "1.0",
            id: row.id.to_string(),
            source: SOURCE,
            event_type: format!("com.hyperfleet.{}", routing_key(&row.source, &row.event_type)),
            subject: href.clone(),
            time: row.created_at,
            datacontenttype: "application/json",
            data: ResourceData { id: row.source_id, kind, href, generation: row.generation, owner_references },
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn row(source: &str, event_type: &str, cluster_id: Option<Uuid>) -> UnpublishedRow {
        UnpublishedRow {
            id: 42,
            source: source.to_owned(),
            source_id: Uuid::parse_str("01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a").unwrap(),
            event_type: event_type.to_owned(),
            created_at: Utc.with_ymd_and_hms(2025, 11, 13, 10, 7, 0).unwrap(),
            generation: 3,
            cluster_id,
        }
    }

    #[test]
    fn a_cluster_event_is_a_structured_cloudevent_without_owner() {
        let event = CloudEvent::from(&row("Clusters", "Update", None));
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({
                "specversion": "1.0",
                "id": "42",
                "source": "/api/hyperfleet/v1",
                "type": "com.hyperfleet.cluster.updated",
                "subject": "/api/hyperfleet/v1/clusters/01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a",
                "time": "2025-11-13T10:07:00.000000Z",
                "datacontenttype": "application/json",
                "data": {
                    "id": "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a",
                    "kind": "Cluster",
                    "href": "/api/hyperfleet/v1/clusters/01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a",
                    "generation": 3
                }
            })
        );
    }

    #[test]
    fn a_node_pool_event_names_its_cluster() {
        let cluster = Uuid::parse_str("01939f4e-0000-7000-8000-000000000001").unwrap();
        let event = CloudEvent::from(&row("NodePools", "Delete", Some(cluster)));
        let href = "/api/hyperfleet/v1/clusters/01939f4e-0000-7000-8000-000000000001/nodepools/01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a";
        assert_eq!(event.event_type, "com.hyperfleet.nodepool.deleted");
        assert_eq!(event.subject, href);
        assert_eq!(
            serde_json::to_value(&event.data).unwrap(),
            json!({
                "id": "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a",
                "kind": "NodePool",
                "href": href,
                "generation": 3,
                "owner_references": {
                    "id": "01939f4e-0000-7000-8000-000000000001",
                    "kind": "Cluster",
                    "href": "/api/hyperfleet/v1/clusters/01939f4e-0000-7000-8000-000000000001"
                }
            })
        );
    }

    #[test]
    fn routing_keys_are_resource_dot_change() {
        let cases = [
            ("Clusters", "Create", "cluster.created"),
            ("Clusters", "Update", "cluster.updated"),
            ("Clusters", "Delete", "cluster.deleted"),
            ("NodePools", "Create", "nodepool.created"),
            ("NodePools", "Update", "nodepool.updated"),
            ("NodePools", "Delete", "nodepool.deleted"),
        ];
        for (source, event_type, key) in cases {
            assert_eq!(routing_key(source, event_type), key, "{source} {event_type}");
            assert!(crate::metrics::BROKER_EVENT_TYPES.contains(&format!("com.hyperfleet.{key}").as_str()));
        }
    }
}
