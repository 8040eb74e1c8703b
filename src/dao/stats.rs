//! Aggregate reads for gauges: live resources by phase.

use sqlx::PgConnection;

/// `(resource type, phase, live count)` for every phase that has resources; served by the
/// partial phase indexes.
pub async fn live_by_phase(conn: &mut PgConnection) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT 'Cluster' AS "resource_type!", status_phase AS "phase!", count(*) AS "count!"
           FROM clusters WHERE deleted_at IS NULL GROUP BY status_phase
           UNION ALL
           SELECT 'NodePool', status_phase, count(*)
           FROM node_pools WHERE deleted_at IS NULL GROUP BY status_phase"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.resource_type, r.phase, r.count)).collect())
}
