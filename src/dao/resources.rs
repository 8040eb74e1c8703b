//! Clusters and node pools behind one face: the services name a [`ResourceKind`] and this file
//! picks the table, so the choice is made in one place.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{clusters, node_pools, ResourceRow, ResourceView, StatusUpdate};
use crate::model::inputs::NewResource;
use crate::model::kind::ResourceKind;

/// Reads a live resource for a response: `id` is the cluster's own for a cluster.
pub async fn get(
    conn: &mut PgConnection,
    kind: ResourceKind,
    cluster_id: Uuid,
    id: Uuid,
) -> Result<Option<ResourceView>, sqlx::Error> {
    match kind {
        ResourceKind::Cluster => clusters::get(conn, id).await,
        ResourceKind::NodePool => node_pools::get(conn, cluster_id, id).await,
    }
}

/// Reads and locks a live resource for the rest of the transaction (`FOR UPDATE`).
pub async fn lock(
    conn: &mut PgConnection,
    kind: ResourceKind,
    cluster_id: Uuid,
    id: Uuid,
) -> Result<Option<ResourceRow>, sqlx::Error> {
    match kind {
        ResourceKind::Cluster => clusters::lock(conn, id).await,
        ResourceKind::NodePool => node_pools::lock(conn, cluster_id, id).await,
    }
}

/// Inserts a cluster (`cluster_id` = None) or a node pool of that cluster.
pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    cluster_id: Option<Uuid>,
    new: &NewResource,
    identity: &str,
) -> Result<ResourceRow, sqlx::Error> {
    match cluster_id {
        None => clusters::insert(conn, id, &new.name, &new.spec, &new.labels, identity).await,
        Some(cluster_id) => node_pools::insert(conn, id, cluster_id, &new.name, &new.spec, &new.labels, identity).await,
    }
}

/// Replaces spec and labels, bumps the generation and writes the re-aggregated status.
pub async fn update_spec(
    conn: &mut PgConnection,
    kind: ResourceKind,
    id: Uuid,
    spec: &Value,
    labels: &Value,
    identity: &str,
    status: &StatusUpdate,
) -> Result<ResourceRow, sqlx::Error> {
    match kind {
        ResourceKind::Cluster => clusters::update_spec(conn, id, spec, labels, identity, status).await,
        ResourceKind::NodePool => node_pools::update_spec(conn, id, spec, labels, identity, status).await,
    }
}

/// Writes an aggregated status.
pub async fn update_status(
    conn: &mut PgConnection,
    kind: ResourceKind,
    id: Uuid,
    status: &StatusUpdate,
) -> Result<(), sqlx::Error> {
    match kind {
        ResourceKind::Cluster => clusters::update_status(conn, id, status).await,
        ResourceKind::NodePool => node_pools::update_status(conn, id, status).await,
    }
}
