//! The event log's write side (transactional outbox, PRODUCT.md §9.2): events are appended as
//! the last step of the writing transaction, under the event-order lock, with a NOTIFY each.

use sqlx::PgConnection;
use uuid::Uuid;

/// Advisory lock that makes event ids become visible in commit order.
pub const EVENT_ORDER_LOCK: (i32, i32) = (1_751_515_138, 0);

/// One change to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewEvent {
    pub source: &'static str,
    pub source_id: Uuid,
    pub event_type: &'static str,
}

/// Takes the event-order lock, inserts the events in the given order and notifies `events` with
/// each id (delivered on commit). One round trip.
pub async fn append(conn: &mut PgConnection, events: &[NewEvent]) -> Result<Vec<i64>, sqlx::Error> {
    let sources: Vec<&str> = events.iter().map(|e| e.source).collect();
    let ids: Vec<Uuid> = events.iter().map(|e| e.source_id).collect();
    let types: Vec<&str> = events.iter().map(|e| e.event_type).collect();
    // The lock CTE feeds the INSERT, so it is taken before any id is drawn from the sequence.
    sqlx::query_scalar!(
        r#"WITH ordered AS (SELECT pg_advisory_xact_lock($1, $2)),
                inserted AS (
                    INSERT INTO events (source, source_id, event_type)
                    SELECT u.source, u.source_id, u.event_type
                    FROM ordered,
                         unnest($3::text[], $4::uuid[], $5::text[]) WITH ORDINALITY AS u(source, source_id, event_type, n)
                    ORDER BY u.n
                    RETURNING id)
           SELECT id AS "id!" FROM inserted, LATERAL (SELECT pg_notify('events', inserted.id::text)) AS notified
           ORDER BY id"#,
        EVENT_ORDER_LOCK.0,
        EVENT_ORDER_LOCK.1,
        &sources as &[&str],
        &ids,
        &types as &[&str],
    )
    .fetch_all(conn)
    .await
}
