//! SQL of the event log (spec §9): the outbox write (appended as the last step of the
//! writing transaction, with a NOTIFY each), the paged list and the watch reads, and the
//! processor's lock / mark / sweep statements.
//!
//! Writers do not wait for each other: an event id is its transaction's id shifted left by 16 bits
//! plus its position in the transaction (migration 0006), so ids are not drawn in commit order.
//! Every read that walks the log in id order therefore stops at the *horizon*, the SQL function
//! `events_horizon()` ([`VISIBLE`]): ids below it belong to transactions that have all ended, and
//! no transaction can still add one there. That keeps every cursor gap-free and never lets a
//! reader see an id below one it has already seen.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::lists::Page;
use crate::model::event::{EventFilter, EventType};

/// The reader cut, the one place it is spelled: only events of ended transactions (see the module
/// doc). Every id-ordered read of the log, and any other reader of the outbox, filters on it.
pub const VISIBLE: &str = "e.id < (SELECT events_horizon())";

/// One change to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewEvent {
    pub source: &'static str,
    pub source_id: Uuid,
    pub event_type: EventType,
}

/// Inserts the events in the given order and notifies `events` with each id (delivered on
/// commit). One round trip, and no lock: ids come from the transaction id (`events_next_id()`).
/// Each event records the generation its resource has at this point of the transaction, which
/// the broker message carries.
pub async fn append(conn: &mut PgConnection, events: &[NewEvent]) -> Result<Vec<i64>, sqlx::Error> {
    let sources: Vec<&str> = events.iter().map(|e| e.source).collect();
    let ids: Vec<Uuid> = events.iter().map(|e| e.source_id).collect();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    // Rows are inserted in input order, so their positions (and ids) follow it.
    sqlx::query_scalar!(
        r#"WITH inserted AS (
                    INSERT INTO events (source, source_id, event_type, generation)
                    SELECT u.source, u.source_id, u.event_type,
                           CASE u.source
                               WHEN 'Clusters' THEN (SELECT c.generation FROM clusters c WHERE c.id = u.source_id)
                               ELSE (SELECT np.generation FROM node_pools np WHERE np.id = u.source_id)
                           END
                    FROM unnest($1::text[], $2::uuid[], $3::text[]) WITH ORDINALITY AS u(source, source_id, event_type, n)
                    ORDER BY u.n
                    RETURNING id)
           SELECT id AS "id!" FROM inserted, LATERAL (SELECT pg_notify('events', inserted.id::text)) AS notified
           ORDER BY id"#,
        &sources as &[&str],
        &ids,
        &types as &[&str],
    )
    .fetch_all(conn)
    .await
}

/// An event as read for the API, with the cluster of a node-pool event (for its `source_href`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub source: String,
    pub source_id: Uuid,
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    pub reconciled_at: Option<DateTime<Utc>>,
    pub cluster_id: Option<Uuid>,
}

/// What to read from the log: events after `after` (and up to `until`) matching `filter`.
pub struct EventQuery<'a> {
    pub filter: &'a EventFilter,
    pub after: Option<i64>,
    pub until: Option<i64>,
}

/// The columns of [`EventRow`]; node pools are joined by id alone, deleted ones included.
const EVENT_SELECT: &str = "SELECT e.id, e.source, e.source_id, e.event_type, e.created_at, e.reconciled_at, \
     np.cluster_id FROM events e LEFT JOIN node_pools np ON e.source = 'NodePools' AND np.id = e.source_id";

fn push_conditions(qb: &mut QueryBuilder<'_, Postgres>, query: &EventQuery<'_>) {
    qb.push(" WHERE ").push(VISIBLE);
    if let Some(after) = query.after {
        qb.push(" AND e.id > ").push_bind(after);
    }
    if let Some(until) = query.until {
        qb.push(" AND e.id <= ").push_bind(until);
    }
    if !query.filter.sources.is_empty() {
        qb.push(" AND e.source = ANY(").push_bind(query.filter.sources.clone()).push(")");
    }
    if let Some(source_id) = query.filter.source_id {
        qb.push(" AND e.source_id = ").push_bind(source_id);
    }
    if !query.filter.event_types.is_empty() {
        qb.push(" AND e.event_type = ANY(").push_bind(query.filter.event_types.clone()).push(")");
    }
}

/// One page of the events list, ordered by id, with the total of all matches (one statement).
pub async fn list(
    conn: &mut PgConnection,
    query: &EventQuery<'_>,
    limit: i64,
    offset: i64,
) -> Result<Page<EventRow>, sqlx::Error> {
    let mut qb = QueryBuilder::<Postgres>::new("SELECT t.total, r.* FROM (SELECT count(*) AS total FROM events e");
    push_conditions(&mut qb, query);
    qb.push(") t LEFT JOIN LATERAL (").push(EVENT_SELECT);
    push_conditions(&mut qb, query);
    // A one-time filter: a page past the end never walks the id index past every match.
    qb.push(" AND t.total > ").push_bind(offset);
    qb.push(" ORDER BY e.id LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset).push(") r ON TRUE");

    let rows = qb.build().fetch_all(conn).await?;
    let first = rows.first().ok_or(sqlx::Error::RowNotFound)?;
    let total: i64 = first.try_get("total")?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        // A page past the end is the one row of the LEFT JOIN with no event in it.
        if row.try_get::<Option<i64>, _>("id")?.is_some() {
            items.push(EventRow::from_row(row)?);
        }
    }
    Ok(Page { total, items, parent_exists: true })
}

/// Up to `limit` matching events in ascending id order (a watch stream's backlog).
pub async fn read(conn: &mut PgConnection, query: &EventQuery<'_>, limit: i64) -> Result<Vec<EventRow>, sqlx::Error> {
    let mut qb = QueryBuilder::<Postgres>::new(EVENT_SELECT);
    push_conditions(&mut qb, query);
    qb.push(" ORDER BY e.id LIMIT ").push_bind(limit);
    qb.build_query_as::<EventRow>().fetch_all(conn).await
}

/// Up to `limit` events after `after`, whatever they are about (the watch tailer's read).
pub async fn tail(conn: &mut PgConnection, after: i64, limit: i64) -> Result<Vec<EventRow>, sqlx::Error> {
    let filter = EventFilter::default();
    read(conn, &EventQuery { filter: &filter, after: Some(after), until: None }, limit).await
}

/// The highest event id below the horizon, 0 for an empty log.
pub async fn max_id(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    let mut qb = QueryBuilder::<Postgres>::new("SELECT COALESCE(max(e.id), 0) FROM events e WHERE ");
    qb.push(VISIBLE);
    qb.build_query_scalar().fetch_one(conn).await
}

/// The horizon now, and where it will be once every transaction that has begun by now has ended.
pub async fn horizon_and_target(conn: &mut PgConnection) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT (SELECT events_horizon()) AS "horizon!",
                  pg_snapshot_xmax(pg_current_snapshot())::text::bigint << 16 AS "target!""#
    )
    .fetch_one(conn)
    .await?;
    Ok((row.horizon, row.target))
}

/// Advisory lock that keeps two replicas from processing the same event at once.
pub const PROCESSING_LOCK_CLASS: i32 = 1_751_515_137;

/// Takes the processing lock of event `id` for the rest of the transaction, without waiting.
pub async fn try_lock_processing(conn: &mut PgConnection, id: i64) -> Result<bool, sqlx::Error> {
    // The key is the low 32 bits of the id, read as a signed integer.
    let key = id as i32;
    sqlx::query_scalar!(r#"SELECT pg_try_advisory_xact_lock($1, $2) AS "locked!""#, PROCESSING_LOCK_CLASS, key)
        .fetch_one(conn)
        .await
}

/// An event being reconciled, locked `FOR UPDATE`; `now` is the transaction time that becomes
/// its `reconciled_at`.
#[derive(Debug, Clone)]
pub struct UnreconciledRow {
    pub id: i64,
    pub source: String,
    pub source_id: Uuid,
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// The event if it is still unreconciled. Deliberately no `FOR UPDATE`: a row lock would give the
/// processing transaction an id while the handlers run, and the horizon would stay behind it for
/// every reader; the processing lock already keeps replicas apart, and [`mark_reconciled`] checks
/// again.
pub async fn unreconciled(conn: &mut PgConnection, id: i64) -> Result<Option<UnreconciledRow>, sqlx::Error> {
    sqlx::query_as!(
        UnreconciledRow,
        r#"SELECT id, source, source_id, event_type, created_at, now() AS "now!"
           FROM events WHERE id = $1 AND reconciled_at IS NULL"#,
        id,
    )
    .fetch_optional(conn)
    .await
}

/// Marks the event reconciled; false if it already was (then the caller rolls back).
pub async fn mark_reconciled(conn: &mut PgConnection, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!("UPDATE events SET reconciled_at = now() WHERE id = $1 AND reconciled_at IS NULL", id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ids of up to `limit` unreconciled events after `after`, ascending (one sweep batch).
pub async fn unreconciled_after(conn: &mut PgConnection, after: i64, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM events WHERE reconciled_at IS NULL AND id > $1 ORDER BY id LIMIT $2",
        after,
        limit
    )
    .fetch_all(conn)
    .await
}

pub async fn count_unreconciled(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM events WHERE reconciled_at IS NULL"#).fetch_one(conn).await
}

/// Session-level advisory lock held by the one replica that publishes events to the broker.
pub const PUBLISHER_LOCK: (i32, i32) = (1_751_515_139, 0);

/// Takes the publisher lock for the rest of the session, without waiting. Only ever called on a
/// dedicated connection: a pooled one would hand the lock to whichever request got it next.
pub async fn try_lock_publisher(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT pg_try_advisory_lock($1, $2) AS "locked!""#, PUBLISHER_LOCK.0, PUBLISHER_LOCK.1)
        .fetch_one(conn)
        .await
}

pub async fn unlock_publisher(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT pg_advisory_unlock($1, $2) AS "unlocked!""#, PUBLISHER_LOCK.0, PUBLISHER_LOCK.1)
        .fetch_one(conn)
        .await?;
    Ok(())
}

/// An event waiting for the broker, with what its message says about the resource.
#[derive(Debug, Clone, PartialEq)]
pub struct UnpublishedRow {
    pub id: i64,
    pub source: String,
    pub source_id: Uuid,
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    /// The generation recorded with the event (the resource's current one for events written
    /// before generations were recorded).
    pub generation: i32,
    /// The cluster of a node pool.
    pub cluster_id: Option<Uuid>,
}

/// The oldest `limit` committed events the broker has not confirmed, in id order: the only query
/// that decides which events the publisher may send next. Ids become visible in commit order
/// (the event-order lock), so nothing committed later can have a smaller id than these.
pub async fn unpublished(conn: &mut PgConnection, limit: i64) -> Result<Vec<UnpublishedRow>, sqlx::Error> {
    sqlx::query_as!(
        UnpublishedRow,
        r#"SELECT e.id, e.source, e.source_id, e.event_type, e.created_at,
                  COALESCE(e.generation, c.generation, np.generation, 1) AS "generation!",
                  np.cluster_id AS "cluster_id?"
           FROM events e
           LEFT JOIN clusters c ON e.source = 'Clusters' AND c.id = e.source_id
           LEFT JOIN node_pools np ON e.source = 'NodePools' AND np.id = e.source_id
           WHERE e.published_at IS NULL AND e.id < (SELECT events_horizon())
           ORDER BY e.id LIMIT $1"#,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// Records the broker's confirm of these events.
pub async fn mark_published(conn: &mut PgConnection, ids: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE events SET published_at = now() WHERE id = ANY($1) AND published_at IS NULL", ids)
        .execute(conn)
        .await?;
    Ok(())
}

/// The backlog: committed events the broker has not confirmed.
pub async fn count_unpublished(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM events WHERE published_at IS NULL"#).fetch_one(conn).await
}
