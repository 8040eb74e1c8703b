//! Keyset paging with `after_id` (issue 15): walking the whole fleet page by page in id order,
//! at every page boundary, on all three resource lists, and its bad inputs.

use serde_json::Value;
use sqlx::PgPool;

use crate::factories::{ClusterFactory, NodePoolFactory};
use crate::helpers::{assert_error, Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;
const CLUSTERS: &str = "/api/hyperfleet/v1/clusters";
const NODE_POOLS: &str = "/api/hyperfleet/v1/nodepools";
const FIRST: &str = "00000000-0000-0000-0000-000000000000";
const LAST: &str = "ffffffff-ffff-ffff-ffff-ffffffffffff";

fn item_ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect()
}

/// Walks `path` (which already has a `?`) from `start` with pages of `size`; returns each page's ids,
/// checking the envelope of every page.
async fn walk(app: &TestApp, path: &str, start: &str, size: usize, total: usize) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut after = start.to_owned();
    loop {
        let page = app.get_json(&format!("{path}&pageSize={size}&after_id={after}"), 200).await;
        let ids = item_ids(&page);
        assert_eq!(page["page"], 1, "{page}");
        assert_eq!(page["size"], ids.len(), "{page}");
        assert_eq!(page["total"], total, "total counts every match, whatever the cursor: {page}");
        assert!(ids.len() <= size, "{page}");
        let Some(last) = ids.last().cloned() else { return pages };
        pages.push(ids);
        after = last;
        assert!(pages.len() <= total + 1, "the walk ends");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn after_id_walks_every_cluster_once_in_id_order_at_every_page_size(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(ClusterFactory::new().create(&app).await["id"].as_str().unwrap().to_owned());
    }
    let deleted = ClusterFactory::new().create(&app).await["id"].as_str().unwrap().to_owned();
    assert_eq!(app.delete(&format!("{CLUSTERS}/{deleted}")).await.status(), 204);
    ids.sort();
    let mut descending = ids.clone();
    descending.reverse();

    // Page sizes that end exactly on the last item (1, 7), just before it (6), and in between.
    for size in [1, 2, 3, 6, 7, 8, 1000] {
        let pages = walk(&app, &format!("{CLUSTERS}?"), FIRST, size, 7).await;
        let expected: Vec<Vec<String>> = ids.chunks(size).map(<[String]>::to_vec).collect();
        assert_eq!(pages, expected, "ascending walk, pageSize={size}");
        let pages = walk(&app, &format!("{CLUSTERS}?order=desc"), LAST, size, 7).await;
        let expected: Vec<Vec<String>> = descending.chunks(size).map(<[String]>::to_vec).collect();
        assert_eq!(pages, expected, "descending walk, pageSize={size}");
    }

    // Any UUID is a position, whether or not it names a cluster.
    let cases = [
        (ids[2].clone(), "", ids[3..].to_vec(), "after an existing id"),
        (ids[2].to_uppercase(), "", ids[3..].to_vec(), "upper-case letters"),
        (deleted.clone(), "", ids.iter().filter(|id| **id > deleted).cloned().collect(), "a deleted cluster's id"),
        (LAST.to_owned(), "", vec![], "past the end"),
        (ids[6].clone(), "", vec![], "after the last cluster"),
        (ids[0].clone(), "&order=desc", vec![], "before the first, walking down"),
        (ids[4].clone(), "&order=DESC", descending[3..].to_vec(), "walking down from the middle"),
        (format!("%20{}%20", ids[2]), "&order=asc", ids[3..].to_vec(), "blanks trimmed, order=asc"),
        (ids[2].clone(), "&page=1", ids[3..].to_vec(), "page=1 is allowed"),
    ];
    for (after, extra, expected, why) in cases {
        let page = app.get_json(&format!("{CLUSTERS}?after_id={after}{extra}"), 200).await;
        assert_eq!(item_ids(&page), expected, "{why}");
        assert_eq!(page["total"], 7, "{why}");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn after_id_combines_with_search_and_serves_the_node_pool_lists(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let mut blue = Vec::new();
    for i in 0..6 {
        let colour = if i % 2 == 0 { "blue" } else { "red" };
        let cluster = ClusterFactory::new().labels(serde_json::json!({"colour": colour})).create(&app).await;
        if i % 2 == 0 {
            blue.push(cluster["id"].as_str().unwrap().to_owned());
        }
    }
    blue.sort();
    let pages = walk(&app, &format!("{CLUSTERS}?search=labels.colour%3D'blue'"), FIRST, 2, 3).await;
    assert_eq!(pages, vec![blue[..2].to_vec(), blue[2..].to_vec()], "a filtered walk");

    let cluster = blue[0].clone();
    let other = blue[1].clone();
    let mut mine = Vec::new();
    let mut all = Vec::new();
    for _ in 0..3 {
        let id = NodePoolFactory::new(&cluster).create(&app).await["id"].as_str().unwrap().to_owned();
        mine.push(id.clone());
        all.push(id);
    }
    all.push(NodePoolFactory::new(&other).create(&app).await["id"].as_str().unwrap().to_owned());
    mine.sort();
    all.sort();
    let pages = walk(&app, &format!("{CLUSTERS}/{cluster}/nodepools?"), FIRST, 2, 3).await;
    assert_eq!(pages.concat(), mine, "a cluster's node pools");
    let pages = walk(&app, &format!("{NODE_POOLS}?"), FIRST, 3, 4).await;
    assert_eq!(pages, vec![all[..3].to_vec(), all[3..].to_vec()], "every node pool");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn bad_after_id_values_and_combinations_are_rejected_with_their_message(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let uuid = "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a";
    let not_uuid = "after_id must be a UUID";
    let cases = [
        (format!("{CLUSTERS}?after_id=abc"), not_uuid, "letters"),
        (format!("{CLUSTERS}?after_id=01939f4e8a3c7d129e456b7c8d9e0f1a"), not_uuid, "no hyphens"),
        (format!("{CLUSTERS}?after_id=%7B{uuid}%7D"), not_uuid, "braces"),
        (format!("{CLUSTERS}?after_id=urn:uuid:{uuid}"), not_uuid, "a URN"),
        (format!("{CLUSTERS}?after_id={uuid}0"), not_uuid, "one character too many"),
        (format!("{CLUSTERS}?after_id=1'%20OR%20'1'%3D'1"), not_uuid, "SQL"),
        (format!("{CLUSTERS}?after_id=%00"), not_uuid, "U+0000"),
        (format!("{NODE_POOLS}?after_id=-1"), not_uuid, "the global node-pool list"),
        (
            format!("{CLUSTERS}/{uuid}/nodepools?after_id=x"),
            not_uuid,
            "a cluster's node pools, checked before the cluster",
        ),
        (format!("{CLUSTERS}?after_id={uuid}&orderBy=name"), "orderBy cannot be combined with after_id", "orderBy"),
        (format!("{CLUSTERS}?after_id={uuid}&orderBy=id"), "orderBy cannot be combined with after_id", "even by id"),
        (format!("{CLUSTERS}?after_id={uuid}&page=2"), "page cannot be combined with after_id", "a page past 1"),
        (format!("{CLUSTERS}?page=0&after_id=x"), "page must be an integer between 1 and 2147483647", "paging first"),
        (format!("{CLUSTERS}?order=up&after_id=x"), "order must be 'asc' or 'desc'", "ordering before after_id"),
        (format!("{CLUSTERS}?search=nope&after_id=x"), "", "search before after_id"),
    ];
    for (path, reason, why) in cases {
        let answer = Answer::of(app.get(&path).await).await;
        if reason.is_empty() {
            assert_eq!(answer.status, 400, "{why}: {}", answer.text);
            assert_ne!(answer.body["reason"], not_uuid, "{why}: {}", answer.text);
        } else {
            assert_error(&answer, 400, 21, reason);
        }
    }
    // Blank counts as absent: the ordinary first page.
    let page = app.get_json(&format!("{CLUSTERS}?after_id=%20&orderBy=name"), 200).await;
    assert_eq!(page["total"], 0);
}
