//! SQL of the `adapter_statuses` table: one row per (resource, adapter), replaced by each
//! accepted report.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::lists::Page;
use crate::model::kind::ResourceKind;

/// A stored adapter status.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRow {
    pub adapter: String,
    pub observed_generation: i32,
    pub conditions: Value,
    pub data: Value,
    pub metadata: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The transaction time and every live status of one resource (by adapter), in one statement.
pub async fn for_resource(
    conn: &mut PgConnection,
    kind: ResourceKind,
    resource_id: Uuid,
) -> Result<(DateTime<Utc>, Vec<StatusRow>), sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT now() AS "now!", s.adapter AS "adapter?", s.observed_generation AS "observed_generation?",
                  s.conditions AS "conditions?", s.data AS "data?", s.metadata, s.created_at AS "created_at?",
                  s.updated_at AS "updated_at?"
           FROM (SELECT 1) AS one
           LEFT JOIN adapter_statuses s
             ON s.resource_type = $1 AND s.resource_id = $2 AND s.deleted_at IS NULL
           ORDER BY s.adapter"#,
        kind.kind(),
        resource_id,
    )
    .fetch_all(conn)
    .await?;
    let now = rows.first().map(|r| r.now).ok_or(sqlx::Error::RowNotFound)?;
    let statuses = rows
        .into_iter()
        .filter_map(|r| {
            Some(StatusRow {
                adapter: r.adapter?,
                observed_generation: r.observed_generation?,
                conditions: r.conditions?,
                data: r.data?,
                metadata: r.metadata,
                created_at: r.created_at?,
                updated_at: r.updated_at?,
            })
        })
        .collect();
    Ok((now, statuses))
}

/// Inserts or replaces the adapter's status; `created_at` is kept from the first report.
pub async fn upsert(
    conn: &mut PgConnection,
    kind: ResourceKind,
    resource_id: Uuid,
    status: &StatusRow,
) -> Result<StatusRow, sqlx::Error> {
    sqlx::query_as!(
        StatusRow,
        r#"INSERT INTO adapter_statuses (resource_type, resource_id, adapter, observed_generation, conditions,
                                         data, metadata, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (resource_type, resource_id, adapter) DO UPDATE
           SET observed_generation = EXCLUDED.observed_generation, conditions = EXCLUDED.conditions,
               data = EXCLUDED.data, metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at,
               deleted_at = NULL
           RETURNING adapter, observed_generation, conditions, data, metadata, created_at, updated_at"#,
        kind.kind(),
        resource_id,
        status.adapter,
        status.observed_generation,
        status.conditions,
        status.data,
        status.metadata,
        status.created_at,
        status.updated_at,
    )
    .fetch_one(conn)
    .await
}

/// A page of a resource's statuses by adapter, the total, and whether the resource is live
/// (for a node pool: live and in `cluster_id`), in one statement.
pub async fn page(
    conn: &mut PgConnection,
    kind: ResourceKind,
    cluster_id: Uuid,
    resource_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Page<StatusRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT t.total AS "total!",
                  CASE WHEN $1 = 'Cluster'
                       THEN EXISTS (SELECT 1 FROM clusters WHERE id = $2 AND deleted_at IS NULL)
                       ELSE EXISTS (SELECT 1 FROM node_pools WHERE id = $2 AND cluster_id = $3 AND deleted_at IS NULL)
                  END AS "parent_exists!",
                  s.adapter AS "adapter?", s.observed_generation AS "observed_generation?",
                  s.conditions AS "conditions?", s.data AS "data?", s.metadata, s.created_at AS "created_at?",
                  s.updated_at AS "updated_at?"
           FROM (SELECT count(*) AS total FROM adapter_statuses
                 WHERE resource_type = $1 AND resource_id = $2 AND deleted_at IS NULL) AS t
           LEFT JOIN LATERAL (
                 SELECT adapter, observed_generation, conditions, data, metadata, created_at, updated_at
                 FROM adapter_statuses
                 WHERE resource_type = $1 AND resource_id = $2 AND deleted_at IS NULL
                 ORDER BY adapter LIMIT $4 OFFSET $5) AS s ON TRUE"#,
        kind.kind(),
        resource_id,
        cluster_id,
        limit,
        offset,
    )
    .fetch_all(conn)
    .await?;
    let first = rows.first().ok_or(sqlx::Error::RowNotFound)?;
    let (total, parent_exists) = (first.total, first.parent_exists);
    let items = rows
        .into_iter()
        .filter_map(|r| {
            Some(StatusRow {
                adapter: r.adapter?,
                observed_generation: r.observed_generation?,
                conditions: r.conditions?,
                data: r.data?,
                metadata: r.metadata,
                created_at: r.created_at?,
                updated_at: r.updated_at?,
            })
        })
        .collect();
    Ok(Page { total, items, parent_exists })
}

/// Soft-deletes the live statuses of a cluster and of its node pools (cluster delete cascade).
pub async fn soft_delete_of_cluster(
    conn: &mut PgConnection,
    cluster_id: Uuid,
    node_pool_ids: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE adapter_statuses SET deleted_at = now()
           WHERE deleted_at IS NULL
             AND ((resource_type = 'Cluster' AND resource_id = $1)
               OR (resource_type = 'NodePool' AND resource_id = ANY($2)))"#,
        cluster_id,
        node_pool_ids,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Soft-deletes the live statuses of one resource.
pub async fn soft_delete_of(conn: &mut PgConnection, kind: ResourceKind, resource_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE adapter_statuses SET deleted_at = now()
           WHERE resource_type = $1 AND resource_id = $2 AND deleted_at IS NULL"#,
        kind.kind(),
        resource_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}
