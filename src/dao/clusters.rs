//! SQL of the `clusters` table.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{ResourceRow, ResourceView, StatusUpdate};

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    name: &str,
    spec: &Value,
    labels: &Value,
    identity: &str,
) -> Result<ResourceRow, sqlx::Error> {
    sqlx::query_as!(
        ResourceRow,
        r#"INSERT INTO clusters (id, name, spec, labels, generation, status_phase, status_observed_generation,
                                 status_last_transition_time, status_updated_at, status_adapters,
                                 created_at, updated_at, created_by, updated_by)
           VALUES ($1, $2, $3, $4, 1, 'NotReady', 0, now(), now(), '[]'::jsonb, now(), now(), $5, $5)
           RETURNING id, NULL::uuid AS "cluster_id?", name, spec, labels, generation, status_phase,
                     status_observed_generation, status_last_transition_time, status_updated_at,
                     status_adapters, created_at, updated_at, created_by, updated_by"#,
        id,
        name,
        spec,
        labels,
        identity,
    )
    .fetch_one(conn)
    .await
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<ResourceView>, sqlx::Error> {
    sqlx::query_as!(
        ResourceView,
        r#"SELECT id, NULL::uuid AS "cluster_id?", name, spec AS "spec: _", labels AS "labels: _", generation, status_phase,
                  status_observed_generation, status_last_transition_time, status_updated_at,
                  status_adapters AS "status_adapters: _", created_at, updated_at, created_by, updated_by
           FROM clusters WHERE id = $1 AND deleted_at IS NULL"#,
        id,
    )
    .fetch_optional(conn)
    .await
}

/// Locks the live cluster for the rest of the transaction (PATCH, status reports).
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<ResourceRow>, sqlx::Error> {
    sqlx::query_as!(
        ResourceRow,
        r#"SELECT id, NULL::uuid AS "cluster_id?", name, spec, labels, generation, status_phase,
                  status_observed_generation, status_last_transition_time, status_updated_at,
                  status_adapters, created_at, updated_at, created_by, updated_by
           FROM clusters WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"#,
        id,
    )
    .fetch_optional(conn)
    .await
}

/// Keeps the live cluster from being deleted until the transaction ends (node-pool create).
pub async fn lock_shared(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let row =
        sqlx::query_scalar!(r#"SELECT 1 AS "one!" FROM clusters WHERE id = $1 AND deleted_at IS NULL FOR SHARE"#, id)
            .fetch_optional(conn)
            .await?;
    Ok(row.is_some())
}

pub async fn exists(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM clusters WHERE id = $1 AND deleted_at IS NULL) AS "exists!""#,
        id
    )
    .fetch_one(conn)
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
        r#"UPDATE clusters
           SET spec = $2, labels = $3, generation = generation + 1, updated_at = now(), updated_by = $4,
               status_phase = $5, status_observed_generation = $6, status_adapters = $7, status_updated_at = now(),
               status_last_transition_time = CASE WHEN $8 THEN now() ELSE status_last_transition_time END
           WHERE id = $1
           RETURNING id, NULL::uuid AS "cluster_id?", name, spec, labels, generation, status_phase,
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
        r#"UPDATE clusters
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

/// Soft-deletes the live cluster (taking its row lock); false when there is none.
pub async fn soft_delete(conn: &mut PgConnection, id: Uuid, identity: &str) -> Result<bool, sqlx::Error> {
    let row = sqlx::query_scalar!(
        r#"UPDATE clusters SET deleted_at = now(), deleted_by = $2
           WHERE id = $1 AND deleted_at IS NULL RETURNING 1 AS "one!""#,
        id,
        identity,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}
