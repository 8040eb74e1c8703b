//! The event log without an event-order lock (issue 15): writers commit in any order, and readers
//! still never skip an event they later see, nor see one out of order.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyperfleet::dao::events::{self as dao, EventQuery, NewEvent};
use hyperfleet::model::event::{EventFilter, EventType};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use uuid::Uuid;

use crate::events::{all_events, eventually, EVENTS};
use crate::factories::ClusterFactory;
use crate::helpers::TestApp;

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;
const WRITERS: usize = 32;
const TRANSACTIONS_PER_WRITER: usize = 12;

/// A pseudo-random number from a seed (no shared state between tasks).
fn mix(seed: u64) -> u64 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

/// One writer: transactions of 1–3 events that hold their transaction id for a while before and
/// after inserting, so later transactions often commit first; one in five rolls back.
async fn write(pool: PgPool, writer: usize) {
    for t in 0..TRANSACTIONS_PER_WRITER {
        let r = mix((writer * 1000 + t) as u64);
        let mut tx = pool.begin().await.unwrap();
        if r % 2 == 0 {
            // Take the transaction id early, as a resource write before the events does.
            sqlx::query("SELECT pg_current_xact_id()").execute(&mut *tx).await.unwrap();
            tokio::time::sleep(Duration::from_millis(r % 7)).await;
        }
        let events: Vec<NewEvent> = (0..=(r % 3))
            .map(|_| NewEvent { source: "Clusters", source_id: Uuid::now_v7(), event_type: EventType::Update })
            .collect();
        dao::append(&mut tx, &events).await.unwrap();
        tokio::time::sleep(Duration::from_millis((r >> 8) % 9)).await;
        if r % 5 == 0 {
            tx.rollback().await.unwrap();
        } else {
            tx.commit().await.unwrap();
        }
    }
}

/// Reads after `after`, alternating the watch tailer's read and the paged list's, and checks that
/// the batch is strictly ascending and entirely after `after`.
async fn read_after(pool: &PgPool, after: i64, round: usize) -> Vec<i64> {
    let mut conn = pool.acquire().await.unwrap();
    let ids: Vec<i64> = if round % 2 == 0 {
        dao::tail(&mut conn, after, 50).await.unwrap().into_iter().map(|row| row.id).collect()
    } else {
        let filter = EventFilter::default();
        let query = EventQuery { filter: &filter, after: Some(after), until: None };
        dao::list(&mut conn, &query, 50, 0).await.unwrap().items.into_iter().map(|row| row.id).collect()
    };
    let mut previous = after;
    for &id in &ids {
        assert!(id > previous, "read {id} after {previous}: out of order (batch {ids:?}, cursor {after})");
        previous = id;
    }
    ids
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn thirty_two_concurrent_writers_never_make_a_reader_skip_or_reorder_an_event(pool: PgPool) {
    let pool = PgPoolOptions::new()
        .max_connections(WRITERS as u32 + 4)
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let writers: Vec<_> = (0..WRITERS).map(|w| tokio::spawn(write(pool.clone(), w))).collect();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (pool, done) = (pool.clone(), Arc::clone(&done));
        tokio::spawn(async move {
            let (mut seen, mut after, mut round) = (Vec::new(), 0_i64, 0_usize);
            loop {
                // Read the flag first: once it is set, one more read to the end covers everything.
                let finished = done.load(Ordering::Acquire);
                loop {
                    let ids = read_after(&pool, after, round).await;
                    round += 1;
                    let Some(&last) = ids.last() else { break };
                    after = last;
                    seen.extend(ids);
                }
                if finished {
                    return (seen, round);
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    for writer in writers {
        writer.await.unwrap();
    }
    // The horizon is server-wide: transactions of other tests' databases may still hold it back
    // for a moment. Once it has passed the last event, one more read must find everything.
    eventually("the horizon passes every written event", || async {
        sqlx::query_scalar::<_, bool>("SELECT events_horizon() > (SELECT coalesce(max(id), 0) FROM events)")
            .fetch_one(&pool)
            .await
            .unwrap()
    })
    .await;
    done.store(true, Ordering::Release);
    let (seen, reads) = reader.await.unwrap();

    let committed: Vec<i64> = sqlx::query_scalar("SELECT id FROM events ORDER BY id").fetch_all(&pool).await.unwrap();
    assert!(committed.len() > WRITERS * TRANSACTIONS_PER_WRITER / 2, "most transactions commit: {}", committed.len());
    assert!(reads > 10, "the reader read while the writers wrote ({reads} reads)");
    // Every committed event was read, once, in id order: nothing was skipped and read later.
    assert_eq!(seen, committed, "the reader saw exactly the committed events, in order");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn event_ids_follow_the_writing_transaction_and_the_order_within_it(pool: PgPool) {
    let mut tx = pool.begin().await.unwrap();
    let xid: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::bigint").fetch_one(&mut *tx).await.unwrap();
    let event = |n: u128| NewEvent { source: "Clusters", source_id: Uuid::from_u128(n), event_type: EventType::Create };
    let first = dao::append(&mut tx, &[event(1), event(2)]).await.unwrap();
    let second = dao::append(&mut tx, &[event(3)]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(first, vec![(xid << 16) | 1, (xid << 16) | 2], "positions 1 and 2 of the transaction");
    assert_eq!(second, vec![(xid << 16) | 3], "a second append in the same transaction continues the count");

    // A new transaction starts counting again.
    let mut tx = pool.begin().await.unwrap();
    let next = dao::append(&mut tx, &[event(4)]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(next[0] & 0xFFFF, 1, "{next:?}");
    assert!(next[0] > second[0]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_open_older_transaction_hides_newer_events_until_it_ends(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let before = ClusterFactory::new().create(&app).await;
    let visible = || async {
        let mut conn = pool.acquire().await.unwrap();
        let rows = dao::tail(&mut conn, 0, 100).await.unwrap();
        rows.into_iter().map(|row| row.source_id.to_string()).collect::<Vec<_>>()
    };
    // Other tests' transactions on the same server may hold the horizon back for a moment.
    eventually("the first event is visible", || async { !visible().await.is_empty() }).await;

    // An older writer holds its transaction id; a newer create commits meanwhile.
    let mut older = pool.begin().await.unwrap();
    let older_event = NewEvent { source: "Clusters", source_id: Uuid::now_v7(), event_type: EventType::Update };
    sqlx::query("SELECT pg_current_xact_id()").execute(&mut *older).await.unwrap();
    let newer = ClusterFactory::new().create(&app).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(visible().await, vec![before["id"].as_str().unwrap()], "the newer event waits for the older writer");

    // The older writer's event gets the lower id, although it commits last.
    let older_id = dao::append(&mut older, &[older_event]).await.unwrap()[0];
    older.commit().await.unwrap();
    let events = all_events(&app).await;
    let sources: Vec<&str> = events.iter().map(|e| e["source_id"].as_str().unwrap()).collect();
    let older_source = older_event.source_id.to_string();
    assert_eq!(
        sources,
        vec![before["id"].as_str().unwrap(), older_source.as_str(), newer["id"].as_str().unwrap()],
        "ids follow the order the writers began in"
    );
    assert_eq!(events[1]["id"], older_id.to_string());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_events_list_waits_briefly_for_writers_that_began_before_it(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    // An older writer holds its transaction id for 150 ms, while a newer create commits.
    let mut older = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()").execute(&mut *older).await.unwrap();
    let created = ClusterFactory::new().create(&app).await;
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        older.rollback().await.unwrap();
    });
    // Read at once: the list waits for the older writer, so the create's event is included.
    let page = app.get_json(&format!("{EVENTS}?after=0"), 200).await;
    release.await.unwrap();
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["source_id"], created["id"], "{page}");
}
