//! SQL of the `node_pools` table. A node pool is always addressed together with its cluster.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{ResourceRow, ResourceView, StatusUpdate};

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    cluster_id: Uuid,
    name: &str,
    spec: &Value,
    labels: &Value,
    identity: &str,
) -> Result<ResourceRow, sqlx::Error> {
    sqlx::query_as!(
        ResourceRow,
        r#"INSERT INTO node_pools (id, cluster_id, name, spec, labels, generation, status_phase,
                                   status_observed_generation, status_last_transition_time, status_updated_at,
                                   status_adapters, created_at, updated_at, created_by, updated_by)
           VALUES ($1, $2, $3, $4, $5, 1, 'NotReady', 0, now(), now(), '[]'::jsonb, now(), now(), $6, $6)
           RETURNING id, cluster_id AS "cluster_id?", name, spec, labels, generation, status_phase,
                     status_observed_generation, status_last_transition_time, status_updated_at,
                     status_adapters, created_at, updated_at, created_by, updated_by"#,
        id,
        cluster_id,
        name,
        spec,
        labels,
        identity,
    )
    .fetch_one(conn)
    .await
}

pub async fn get(conn: &mut PgConnection, cluster_id: Uuid, id: Uuid) -> Result<Option<ResourceView>, sqlx::Error> {
    sqlx::query_as!(
        ResourceView,
        r#"SELECT id, cluster_id AS "cluster_id?", name, spec AS "spec: _", labels AS "labels: _", generation, status_phase,
                  status_observed_generation, status_last_transition_time, status_updated_at,
                  status_adapters AS "status_adapters: _", created_at, updated_at, created_by, updated_by
           FROM node_pools WHERE id = $1 AND cluster_id = $2 AND deleted_at IS NULL"#,
        id,
        cluster_id,
    )
    .fetch_optional(conn)
    .await
}

/// Locks the live node pool of the cluster for the rest of the transaction.
pub async fn lock(conn: &mut PgConnection, cluster_id: Uuid, id: Uuid) -> Result<Option<ResourceRow>, sqlx::Error> {
    sqlx::query_as!(
        ResourceRow,
        r#"SELECT id, cluster_id AS "cluster_id?", name, spec, labels, generation, status_phase,
                  status_observed_generation, status_last_transition_time, status_updated_at,
                  status_adapters, created_at, updated_at, created_by, updated_by
           FROM node_pools WHERE id = $1 AND cluster_id = $2 AND deleted_at IS NULL FOR UPDATE"#,
        id,
        cluster_id,
    )
    .fetch_optional(conn)
    .await
}

/// Replaces spec and labels, bumps the generation and writes the re-aggregated status.
pub async fn update_spec(
    conn: &mut PgConnection,
    id: Uuid,
    spec: &Value,
    labels: &Value,
    identity: &str,
    status: &StatusUpdate,
) -> Result<ResourceRow, sqlx::Error> {
    sqlx::query_as!(
        ResourceRow,
        r#"UPDATE node_pools
           SET spec = $2, labels = $3, generation = generation + 1, updated_at = now(), updated_by = $4,
               status_phase = $5, status_observed_generation = $6, status_adapters = $7, status_updated_at = now(),
               status_last_transition_time = CASE WHEN $8 THEN now() ELSE status_last_transition_time END
           WHERE id = $1
           RETURNING id, cluster_id AS "cluster_id?", name, spec, labels, generation, status_phase,
                     status_observed_generation, status_last_transition_time, status_updated_at,
                     status_adapters, created_at, updated_at, created_by, updated_by"#,
        id,
        spec,
        labels,
        identity,
        status.phase,
        status.observed_generation,
        status.adapters,
        status.phase_changed,
    )
    .fetch_one(conn)
    .await
}

/// Writes an aggregated status (never touches generation, updated_at or updated_by).
pub async fn update_status(conn: &mut PgConnection, id: Uuid, status: &StatusUpdate) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE node_pools
           SET status_phase = $2, status_observed_generation = $3, status_adapters = $4, status_updated_at = now(),
               status_last_transition_time = CASE WHEN $5 THEN now() ELSE status_last_transition_time END
           WHERE id = $1"#,
        id,
        status.phase,
        status.observed_generation,
        status.adapters,
        status.phase_changed,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Soft-deletes the live node pool of the cluster (taking its row lock); false when none.
pub async fn soft_delete(
    conn: &mut PgConnection,
    cluster_id: Uuid,
    id: Uuid,
    identity: &str,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query_scalar!(
        r#"UPDATE node_pools SET deleted_at = now(), deleted_by = $3
           WHERE id = $1 AND cluster_id = $2 AND deleted_at IS NULL RETURNING 1 AS "one!""#,
        id,
        cluster_id,
        identity,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// Soft-deletes every live node pool of a cluster (the cascade of a cluster delete) and returns
/// their ids in ascending order.
pub async fn soft_delete_of_cluster(
    conn: &mut PgConnection,
    cluster_id: Uuid,
    identity: &str,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut ids = sqlx::query_scalar!(
        r#"UPDATE node_pools SET deleted_at = now(), deleted_by = $2
           WHERE cluster_id = $1 AND deleted_at IS NULL RETURNING id"#,
        cluster_id,
        identity,
    )
    .fetch_all(conn)
    .await?;
    ids.sort_unstable();
    Ok(ids)
}
