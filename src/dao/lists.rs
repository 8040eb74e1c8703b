//! Paged lists of clusters and node pools: the page and the `total` of all matches in one
//! statement (one snapshot), with the client's filter and ordering rendered by `search`.

use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::ResourceView;
use crate::model::kind::ResourceKind;
use crate::search::{Filter, Ordering};

/// What to list.
pub struct ResourceQuery<'a> {
    pub kind: ResourceKind,
    /// Only the node pools of this cluster (and check that it is live).
    pub cluster: Option<Uuid>,
    pub filter: Option<&'a Filter>,
    pub ordering: &'a Ordering,
    pub limit: i64,
    pub offset: i64,
}

/// One page of a list.
#[derive(Debug)]
pub struct Page<T> {
    pub total: i64,
    pub items: Vec<T>,
    /// False when the parent cluster of a per-cluster list is unknown or deleted.
    pub parent_exists: bool,
}

const CLUSTER_COLUMNS: &str = "id, NULL::uuid AS cluster_id, name, spec, labels, generation, status_phase, \
     status_observed_generation, status_last_transition_time, status_updated_at, status_adapters, \
     created_at, updated_at, created_by, updated_by";
const NODE_POOL_COLUMNS: &str = "id, cluster_id, name, spec, labels, generation, status_phase, \
     status_observed_generation, status_last_transition_time, status_updated_at, status_adapters, \
     created_at, updated_at, created_by, updated_by";

fn push_conditions(qb: &mut QueryBuilder<'_, Postgres>, query: &ResourceQuery<'_>) {
    qb.push(" WHERE deleted_at IS NULL");
    if let Some(cluster) = query.cluster {
        qb.push(" AND cluster_id = ").push_bind(cluster);
    }
    if let Some(filter) = query.filter {
        // The filter is one parenthesised unit, so an `or` inside never widens the scope.
        qb.push(" AND ");
        filter.push_sql(qb);
    }
}

/// The one statement of a list (one snapshot): one row per item, each carrying the `total` (and
/// whether the parent cluster is live), or a single row with NULL item columns when the page is
/// empty. The total of an unfiltered list of all clusters or all node pools is the maintained
/// count; any other total is counted through an index (§10.6). The page walks the ordering index
/// and stops once it is full.
/// Public so that tests can `EXPLAIN` exactly what the service runs.
pub fn resources_statement(query: &ResourceQuery<'_>) -> QueryBuilder<'static, Postgres> {
    let (table, columns) = match query.kind {
        ResourceKind::Cluster => ("clusters", CLUSTER_COLUMNS),
        ResourceKind::NodePool => ("node_pools", NODE_POOL_COLUMNS),
    };
    let mut qb = QueryBuilder::<Postgres>::new("SELECT t.total, ");
    match query.cluster {
        Some(cluster) => {
            qb.push("EXISTS (SELECT 1 FROM clusters c WHERE c.id = ")
                .push_bind(cluster)
                .push(" AND c.deleted_at IS NULL) AS parent_exists, ");
        }
        None => {
            qb.push("TRUE AS parent_exists, ");
        }
    }
    if query.cluster.is_none() && query.filter.is_none() {
        // The whole live table: its maintained total (migration 0007), 64 rows whatever the size.
        qb.push("r.* FROM (SELECT sum(live)::bigint AS total FROM resource_counts WHERE kind = '")
            .push(table)
            .push("'");
    } else {
        qb.push("r.* FROM (SELECT count(*) AS total FROM ").push(table);
        push_conditions(&mut qb, query);
    }
    qb.push(") t LEFT JOIN LATERAL (SELECT ").push(columns).push(" FROM ").push(table);
    push_conditions(&mut qb, query);
    // Only the count is referenced here, so Postgres makes this a one-time filter: a page past
    // the end (or of an empty list) never walks the ordering index past every match.
    qb.push(" AND t.total > ").push_bind(query.offset);
    query.ordering.push_keyset_condition(&mut qb);
    qb.push(" ORDER BY ");
    query.ordering.push_sql(&mut qb);
    qb.push(" LIMIT ").push_bind(query.limit).push(" OFFSET ").push_bind(query.offset);
    qb.push(") r ON TRUE");
    qb
}

pub async fn resources(conn: &mut PgConnection, query: &ResourceQuery<'_>) -> Result<Page<ResourceView>, sqlx::Error> {
    let rows = resources_statement(query).build().fetch_all(conn).await?;
    page_of(&rows)
}

fn page_of(rows: &[PgRow]) -> Result<Page<ResourceView>, sqlx::Error> {
    let first = rows.first().ok_or(sqlx::Error::RowNotFound)?;
    let total: i64 = first.try_get("total")?;
    let parent_exists: bool = first.try_get("parent_exists")?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        // A page past the end is the one row of the LEFT JOIN with no resource in it.
        if row.try_get::<Option<Uuid>, _>("id")?.is_some() {
            items.push(ResourceView::from_row(row)?);
        }
    }
    Ok(Page { total, items, parent_exists })
}
