//! `search` through the API on the real schema (§6.3): every example of §6.3.8 against the exact
//! three clusters it assumes, cases of our own for each rule of §6.3.3–§6.3.6, node-pool fields
//! and the per-cluster scope (§6.3.7), and injection attempts. Each case asserts the exact set.

use std::collections::BTreeSet;

use serde_json::json;
use sqlx::PgPool;

use crate::factories::{ClusterFactory, NodePoolFactory};
use crate::helpers::{assert_error, Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;
pub const CLUSTERS: &str = "/api/hyperfleet/v1/clusters";
pub const NODE_POOLS: &str = "/api/hyperfleet/v1/nodepools";

/// The ids `SHAPE` gives the seeded clusters: alpha < beta < gamma-1 as text.
pub const ALPHA: &str = "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a";
pub const BETA: &str = "01940a00-0000-7000-8000-00000000000b";
pub const GAMMA: &str = "01950b00-0000-7000-8000-00000000000c";

const ALL: &[&str] = &["alpha", "beta", "gamma-1"];
const NONE: &[&str] = &[];

/// What a search must give.
#[derive(Clone)]
pub enum Want<'a> {
    /// 200 with exactly these names (in any order), `total` and `size` equal to their count.
    Names(&'a [&'a str]),
    /// 400 `hyperfleet-21` with this reason.
    Reason(String),
}

/// One table row: why the case exists, the search, the answer.
pub type Case<'a> = (String, String, Want<'a>);

fn syntax(search: &str) -> Want<'static> {
    Want::Reason(format!("Failed to parse search query: {search}"))
}

fn reason(text: &str) -> Want<'static> {
    Want::Reason(text.to_owned())
}

/// `path?search=<search>`, form-encoded like a client would.
pub fn with_search(path: &str, search: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(search.as_bytes()).collect();
    format!("{path}?search={encoded}")
}

pub fn names(answer: &Answer) -> Vec<String> {
    answer.body["items"]
        .as_array()
        .map(|items| items.iter().map(|item| item["name"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

/// The mismatch between an answer and what the case wants, if any.
pub fn mismatch(answer: &Answer, want: &Want<'_>) -> Option<String> {
    match want {
        Want::Names(want) => {
            if answer.status != 200 {
                return Some(format!("status {}: {}", answer.status, answer.text));
            }
            let got: BTreeSet<String> = names(answer).into_iter().collect();
            let want: BTreeSet<String> = want.iter().map(|name| (*name).to_owned()).collect();
            let count = json!(want.len());
            if got != want || answer.body["total"] != count || answer.body["size"] != count {
                return Some(format!("want {want:?}, got {got:?} (total {})", answer.body["total"]));
            }
            None
        }
        Want::Reason(reason) => {
            let body = &answer.body;
            let ok = answer.status == 400
                && body["kind"] == "Error"
                && body["code"] == "hyperfleet-21"
                && body["reason"].as_str() == Some(reason.as_str());
            (!ok).then(|| format!("want 400 {reason:?}, got {} {}", answer.status, answer.text))
        }
    }
}

/// Runs every case on the list at `path` and reports all failures at once.
pub async fn check_cases(app: &TestApp, path: &str, cases: &[Case<'_>]) {
    let mut failures = Vec::new();
    for (why, search, want) in cases {
        let answer = Answer::of(app.get(&with_search(path, search)).await).await;
        if let Some(problem) = mismatch(&answer, want) {
            failures.push(format!("{why} — search {search:?}: {problem}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// What the API cannot set, as in the table of §6.3.8, plus our own values in the columns it
/// leaves open. `zombie` looks like alpha and is deleted later. The ids are fixed so that the
/// uuid-as-text cases have a known order.
const SHAPE: &str = r"
UPDATE clusters AS c
SET id = v.id::uuid, generation = v.generation, status_phase = v.phase, status_observed_generation = v.observed,
    created_at = v.created_at::timestamptz, updated_at = v.updated_at::timestamptz,
    status_last_transition_time = v.transition::timestamptz, status_updated_at = v.refreshed::timestamptz,
    created_by = v.created_by, updated_by = v.updated_by
FROM (VALUES
  ('alpha',   '01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a', 2, 'Ready',    2, '2025-01-10T00:00:00Z', '2025-01-15T00:00:00Z',
   '2025-01-11T00:00:00Z', '2025-01-12T12:00:00Z', 'o''neil@example.com', 'Émile'),
  ('beta',    '01940a00-0000-7000-8000-00000000000b', 1, 'NotReady', 0, '2025-02-10T00:00:00Z', '2025-02-10T00:00:00Z',
   '2025-02-11T00:00:00Z', '2025-02-12T12:00:00Z', 'system', 'émile'),
  ('gamma-1', '01950b00-0000-7000-8000-00000000000c', 3, 'Failed',   1, '2025-03-10T00:00:00Z', '2025-03-20T00:00:00Z',
   '2025-03-11T00:00:00Z', '2025-03-12T12:00:00Z', 'system', '100%_sure\ok'),
  ('zombie',  '01960000-0000-7000-8000-0000000000dd', 2, 'Ready',    2, '2025-02-15T00:00:00Z', '2025-01-15T00:00:00Z',
   '2025-01-11T00:00:00Z', '2025-01-12T12:00:00Z', 'o''neil@example.com', 'Émile')
) AS v (name, id, generation, phase, observed, created_at, updated_at, transition, refreshed, created_by, updated_by)
WHERE c.name = v.name AND c.deleted_at IS NULL";

/// The three live clusters of §6.3.8 (with values of our own in the columns the table leaves
/// open), a soft-deleted `zombie` that resembles alpha and must never show up, and node pools:
/// alpha has `np-a1`, `np-a2`, `x` (and a deleted `y`); beta has `np-b1`, `np-b2`, `x`, `y`.
pub async fn seed(pool: &PgPool) -> TestApp {
    let app = TestApp::spawn(pool.clone()).await;
    ClusterFactory::new().name("alpha").labels(json!({"env": "prod", "team": "platform"})).create(&app).await;
    ClusterFactory::new().name("beta").labels(json!({"env": "dev"})).create(&app).await;
    ClusterFactory::new().name("gamma-1").create(&app).await;
    ClusterFactory::new().name("zombie").labels(json!({"env": "prod", "team": "platform"})).create(&app).await;

    let shaped = sqlx::query(SHAPE).execute(pool).await.expect("the seed update runs");
    assert_eq!(shaped.rows_affected(), 4, "every seeded cluster is shaped");
    let zombie_id = "01960000-0000-7000-8000-0000000000dd";

    for (cluster, name, labels) in [
        (ALPHA, "np-a1", json!({"tier": "a"})),
        (ALPHA, "np-a2", json!({"tier": "B"})),
        (ALPHA, "x", json!({})),
        (ALPHA, "y", json!({"tier": "b"})),
        (BETA, "np-b1", json!({"tier": "b"})),
        (BETA, "np-b2", json!({})),
        (BETA, "x", json!({"tier": "b"})),
        (BETA, "y", json!({})),
        (zombie_id, "np-z", json!({"tier": "b"})),
    ] {
        NodePoolFactory::new(cluster).name(name).labels(labels).create(&app).await;
    }
    let alpha_y = sqlx::query_scalar::<_, uuid::Uuid>(
        "SELECT id FROM node_pools WHERE cluster_id = $1::uuid AND name = 'y' AND deleted_at IS NULL",
    )
    .bind(ALPHA)
    .fetch_one(pool)
    .await
    .expect("alpha's y exists");
    for path in [format!("{CLUSTERS}/{ALPHA}/nodepools/{alpha_y}"), format!("{CLUSTERS}/{zombie_id}")] {
        let answer = Answer::of(app.delete(&path).await).await;
        assert_eq!(answer.status, 204, "DELETE {path}: {}", answer.text);
    }
    app
}

fn case<'a>(why: &str, search: &str, want: Want<'a>) -> Case<'a> {
    (why.to_owned(), search.to_owned(), want)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_example_of_the_spec_gives_its_exact_result(pool: PgPool) {
    let app = seed(&pool).await;
    let owner = "owner_id = '01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a'";
    let examples: Vec<(&str, Want)> = vec![
        ("name = 'alpha'", Want::Names(&["alpha"])),
        ("name='alpha'", Want::Names(&["alpha"])),
        ("name != 'alpha'", Want::Names(&["beta", "gamma-1"])),
        ("name <> 'alpha'", Want::Names(&["beta", "gamma-1"])),
        ("name in ('alpha', 'beta')", Want::Names(&["alpha", "beta"])),
        ("name not in ('alpha')", Want::Names(&["beta", "gamma-1"])),
        ("name like 'gam%'", Want::Names(&["gamma-1"])),
        ("name ilike 'ALP%'", Want::Names(&["alpha"])),
        ("name like 'gamma_1'", Want::Names(&["gamma-1"])),
        (r"name like 'gamma\_1'", Want::Names(NONE)),
        ("name not like '%a'", Want::Names(&["gamma-1"])),
        ("generation = 2", Want::Names(&["alpha"])),
        ("generation >= 2", Want::Names(&["alpha", "gamma-1"])),
        ("generation between 2 and 3", Want::Names(&["alpha", "gamma-1"])),
        ("generation not between 2 and 3", Want::Names(&["beta"])),
        ("status.phase = 'Ready'", Want::Names(&["alpha"])),
        ("status_phase = 'Ready'", Want::Names(&["alpha"])),
        ("status.phase in ('NotReady', 'Failed')", Want::Names(&["beta", "gamma-1"])),
        ("status.observed_generation < 1", Want::Names(&["beta"])),
        ("labels.env = 'prod'", Want::Names(&["alpha"])),
        ("labels.env != 'prod'", Want::Names(&["beta"])),
        ("labels.env is null", Want::Names(&["gamma-1"])),
        ("labels.env is not null", Want::Names(&["alpha", "beta"])),
        ("labels.env = 'prod' and labels.team = 'platform'", Want::Names(&["alpha"])),
        ("labels.env = 'dev' or status.phase = 'Failed'", Want::Names(&["beta", "gamma-1"])),
        ("not (labels.env = 'prod')", Want::Names(&["beta"])),
        ("name = 'alpha' or name = 'beta' and generation = 1", Want::Names(&["alpha", "beta"])),
        ("(name = 'alpha' or name = 'beta') and generation = 1", Want::Names(&["beta"])),
        ("NAME = 'alpha'", reason("NAME is not a valid field name")),
        ("name = 'alpha' AND generation = 2", Want::Names(&["alpha"])),
        ("created_at >= '2025-02-01T00:00:00Z'", Want::Names(&["beta", "gamma-1"])),
        ("created_at < '2025-02-01'", Want::Names(&["alpha"])),
        ("created_by = 'o''neil@example.com'", Want::Names(&["alpha"])),
        ("kind = 'Cluster'", Want::Names(ALL)),
        ("id = 'not-a-uuid'", Want::Names(NONE)),
        ("labels.example.com/team = 'platform'", Want::Names(NONE)),
        ("", Want::Names(ALL)),
        ("generation = '2'", reason("generation must be compared with an integer")),
        ("name = 2", reason("name must be compared with a string")),
        (
            "created_at > 'yesterday'",
            reason("created_at must be compared with a timestamp ('YYYY-MM-DDTHH:MM:SSZ' or 'YYYY-MM-DD')"),
        ),
        ("generation like '2%'", reason("operator 'like' cannot be used with generation")),
        ("spec = '{}'", reason("spec is not a valid field name")),
        (owner, reason("owner_id is not a valid field name")),
        ("labels.-env = 'x'", reason("label key '-env' is invalid")),
        ("name = \"alpha\"", syntax("name = \"alpha\"")),
        ("name = 'alpha", syntax("name = 'alpha")),
        ("'1' = '1'", syntax("'1' = '1'")),
        ("id = 'x' or 1=1", syntax("id = 'x' or 1=1")),
        ("name = 'alpha'; drop table clusters", syntax("name = 'alpha'; drop table clusters")),
        ("status.observed_generation < generation", syntax("status.observed_generation < generation")),
        (r"name like 'abc\'", reason("invalid like pattern: must not end with an escape character")),
    ];
    assert_eq!(examples.len(), 51, "every example of §6.3.8");
    let cases: Vec<Case> = examples
        .into_iter()
        .enumerate()
        .map(|(i, (search, want))| (format!("§6.3.8 example #{}", i + 1), search.to_owned(), want))
        .collect();
    check_cases(&app, CLUSTERS, &cases).await;

    // One of them with the whole error body, and the absent/blank forms of #37.
    let answer = Answer::of(app.get(&with_search(CLUSTERS, "NAME = 'alpha'")).await).await;
    assert_error(&answer, 400, 21, "NAME is not a valid field name");
    for path in [CLUSTERS.to_owned(), format!("{CLUSTERS}?search="), format!("{CLUSTERS}?search=%20%09+")] {
        let answer = Answer::of(app.get(&path).await).await;
        assert_eq!(mismatch(&answer, &Want::Names(ALL)), None, "{path}");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn labels_follow_three_valued_logic(pool: PgPool) {
    let app = seed(&pool).await;
    let cases = vec![
        case("not of a negated comparison", "not (labels.env != 'prod')", Want::Names(&["alpha"])),
        case("not in skips missing labels", "labels.env not in ('prod')", Want::Names(&["beta"])),
        case("not in of every value", "labels.env not in ('prod', 'dev')", Want::Names(NONE)),
        case("not of in", "not (labels.env in ('prod', 'dev'))", Want::Names(NONE)),
        case("not of not in", "not (labels.env not in ('dev'))", Want::Names(&["beta"])),
        case("not binds tighter than in", "not labels.env in ('dev')", Want::Names(&["alpha"])),
        case("the documented way to include missing labels", "labels.env != 'prod' or labels.env is null", {
            Want::Names(&["beta", "gamma-1"])
        }),
        case(
            "beta: F or UNKNOWN is UNKNOWN, and not UNKNOWN stays UNKNOWN",
            "not (labels.env = 'prod' or labels.team = 'platform')",
            Want::Names(NONE),
        ),
        case(
            "beta: F and UNKNOWN is F, so its not is TRUE; gamma-1 stays UNKNOWN",
            "not (labels.env = 'prod' and labels.team = 'platform')",
            Want::Names(&["beta"]),
        ),
        case("double not", "not not labels.env = 'dev'", Want::Names(&["beta"])),
        case("triple not", "not not not labels.env = 'dev'", Want::Names(&["alpha"])),
        case("in over labels", "labels.env in ('prod', 'dev')", Want::Names(&["alpha", "beta"])),
        case("two in lists", "labels.env in ('prod', 'nope') and labels.team in ('platform')", Want::Names(&["alpha"])),
        case("is null of a second label", "labels.team is null", Want::Names(&["beta", "gamma-1"])),
        case("not of is not null", "not labels.team is not null", Want::Names(&["beta", "gamma-1"])),
        case("label ranges are byte order", "labels.env > 'dev'", Want::Names(&["alpha"])),
        case("between over labels", "labels.env between 'a' and 'e'", Want::Names(&["beta"])),
        case("not between skips missing labels", "labels.env not between 'a' and 'e'", Want::Names(&["alpha"])),
        case("like over labels", "labels.env like 'p%'", Want::Names(&["alpha"])),
        case("not like skips missing labels", "labels.env not like 'p%'", Want::Names(&["beta"])),
        case("label keys are case-sensitive", "labels.ENV = 'prod'", Want::Names(NONE)),
        case("label values are case-sensitive", "labels.env = 'PROD'", Want::Names(NONE)),
        case("ilike over labels", "labels.env ilike 'PROD'", Want::Names(&["alpha"])),
        case("a prefixed key", "labels.a.b/c = 'x'", Want::Names(NONE)),
        case("labels. with no key", "labels. = 'x'", reason("label key cannot be empty")),
        case("labels without a key", "labels = 'x'", reason("labels is not a valid field name")),
        case("a key ending in a dash", "labels.env- = 'x'", reason("label key 'env-' is invalid")),
    ];
    check_cases(&app, CLUSTERS, &cases).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn uuid_fields_compare_ids_for_equality_and_text_otherwise(pool: PgPool) {
    let app = seed(&pool).await;
    let upper = ALPHA.to_uppercase();
    let cases = vec![
        case("letter case is ignored", &format!("id = '{upper}'"), Want::Names(&["alpha"])),
        case(
            "non-UUIDs in an in list equal nothing",
            &format!("id in ('junk', '{upper}', '{{{BETA}}}')"),
            Want::Names(&["alpha"]),
        ),
        case("an in list of non-UUIDs only", "id in ('junk', '')", Want::Names(NONE)),
        case("not in of non-UUIDs only", "id not in ('junk')", Want::Names(ALL)),
        case("not in mixing both", &format!("id not in ('junk', '{ALPHA}')"), Want::Names(&["beta", "gamma-1"])),
        case("!= of a non-UUID", "id != 'junk'", Want::Names(ALL)),
        case("the hyphenless form is not a UUID", "id <> '01939f4e8a3c7d129e456b7c8d9e0f1a'", Want::Names(ALL)),
        case("the hyphenless form equals nothing", "id = '01939f4e8a3c7d129e456b7c8d9e0f1a'", Want::Names(NONE)),
        case("!= of an id", &format!("id != '{ALPHA}'"), Want::Names(&["beta", "gamma-1"])),
        case("< compares text", "id < '01940'", Want::Names(&["alpha"])),
        case(">= compares text", &format!("id >= '{BETA}'"), Want::Names(&["beta", "gamma-1"])),
        case("between compares text", &format!("id between '{ALPHA}' and '01940b'"), Want::Names(&["alpha", "beta"])),
        case("like on the lowercase text", "id like '0194%'", Want::Names(&["beta"])),
        case("like is case-sensitive on the text", "id like '01939F4E%'", Want::Names(NONE)),
        case("ilike folds it", "id ilike '01939F4E%'", Want::Names(&["alpha"])),
        case("not like", &format!("id not like '{GAMMA}'"), Want::Names(&["alpha", "beta"])),
        case("an id is never null", "id is null", Want::Names(NONE)),
        case("an id is always not null", "id is not null", Want::Names(ALL)),
        case("a uuid field wants a string", "id = 1", reason("id must be compared with a string")),
        case("in an in list too", "id in ('x', 1)", reason("id must be compared with a string")),
    ];
    check_cases(&app, CLUSTERS, &cases).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn timestamps_integers_strings_and_escapes(pool: PgPool) {
    let app = seed(&pool).await;
    let timestamp_error =
        || reason("created_at must be compared with a timestamp ('YYYY-MM-DDTHH:MM:SSZ' or 'YYYY-MM-DD')");
    let cases = vec![
        case("a positive offset", "created_at >= '2025-02-10T01:00:00+02:00'", Want::Names(&["beta", "gamma-1"])),
        case("a negative offset", "created_at > '2025-02-10T00:00:00-00:01'", Want::Names(&["gamma-1"])),
        case("dates are midnight UTC, between is inclusive", "created_at between '2025-01-10' and '2025-02-10'", {
            Want::Names(&["alpha", "beta"])
        }),
        case("fractional seconds", "created_at = '2025-01-10T00:00:00.000000Z'", Want::Names(&["alpha"])),
        case("in over timestamps", "created_at in ('2025-01-10', '2025-03-10T01:00:00+01:00')", {
            Want::Names(&["alpha", "gamma-1"])
        }),
        case(
            "the extremes of RFC 3339",
            "created_at > '0000-01-01T00:00:00+01:00' and created_at < '9999-12-31T23:59:59-23:59'",
            Want::Names(ALL),
        ),
        case("digits past microseconds are dropped", "created_at < '2025-01-10T00:00:00.0000009Z'", Want::Names(NONE)),
        case("a date without leading zeros", "created_at > '2025-1-01'", timestamp_error()),
        case("a local time without offset", "created_at > '2025-01-01T00:00:00'", timestamp_error()),
        case("an impossible date", "created_at > '2025-02-30'", timestamp_error()),
        case("a number", "created_at > 2025", timestamp_error()),
        case("ilike on a timestamp", "created_at ilike '2025%'", {
            reason("operator 'ilike' cannot be used with created_at")
        }),
        case("status_last_transition_time alias", "status_last_transition_time > '2025-02-01'", {
            Want::Names(&["beta", "gamma-1"])
        }),
        case("status.last_transition_time", "status.last_transition_time < '2025-02-01'", Want::Names(&["alpha"])),
        case("status_updated_at alias", "status_updated_at <= '2025-01-12T12:00:00Z'", Want::Names(&["alpha"])),
        case("status.updated_at", "status.updated_at > '2025-03-01'", Want::Names(&["gamma-1"])),
        case("status_observed_generation alias", "status_observed_generation = 2", Want::Names(&["alpha"])),
        case("updated_at", "updated_at not between '2025-02-10' and '2025-02-10'", {
            Want::Names(&["alpha", "gamma-1"])
        }),
        case("an integer beyond int4", "generation = 99999999999", Want::Names(NONE)),
        case("the largest int8", "generation < 9223372036854775807", Want::Names(ALL)),
        case("the smallest int8", "generation > -9223372036854775808", Want::Names(ALL)),
        case("beyond int8", "generation = 9223372036854775808", reason("generation must be compared with an integer")),
        case("a fraction", "generation = 1.0", reason("generation must be compared with an integer")),
        case("an exponent", "generation = 1e3", reason("generation must be compared with an integer")),
        case("in over integers", "status.observed_generation in (0, 1)", Want::Names(&["beta", "gamma-1"])),
        case("ilike folds ASCII only: É", "updated_by ilike 'ÉMILE'", Want::Names(&["alpha"])),
        case("ilike folds ASCII only: é", "updated_by ilike 'éMILE'", Want::Names(&["beta"])),
        case("ilike does not strip accents", "updated_by ilike 'emile'", Want::Names(NONE)),
        case("ilike of a name", "name ilike 'GAMMA-_'", Want::Names(&["gamma-1"])),
        case("escaped % and _ and \\", r"updated_by like '100\%\_sure\\ok'", Want::Names(&["gamma-1"])),
        case("an escaped % then a wildcard", r"updated_by like '100\%%'", Want::Names(&["gamma-1"])),
        case("an escaped _ is literal", r"updated_by like '100\_%'", Want::Names(NONE)),
        case("an escaped ordinary character", r"name like 'gamma\-1'", Want::Names(&["gamma-1"])),
        case("backslash is ordinary outside patterns", r"updated_by = '100%_sure\ok'", Want::Names(&["gamma-1"])),
        case("an escaped backslash at the end", r"updated_by like '%\\'", Want::Names(NONE)),
        case("three backslashes at the end", r"name like 'a\\\'", {
            reason("invalid like pattern: must not end with an escape character")
        }),
        case("a doubled quote in a pattern", "created_by like 'o''%'", Want::Names(&["alpha"])),
        case("a string of one quote", "created_by = '''' or created_by = 'o''neil@example.com'", {
            Want::Names(&["alpha"])
        }),
        case("the empty string", "name = ''", Want::Names(NONE)),
        case("is null on a text column", "name is null", Want::Names(NONE)),
        case("is not null on a text column", "name is not null", Want::Names(ALL)),
        case("is null on an integer column", "generation is null", Want::Names(NONE)),
        case("not of is null on a timestamp", "not (created_at is null)", Want::Names(ALL)),
        case("kind is a constant", "kind < 'a'", Want::Names(ALL)),
        case("kind is case-sensitive", "kind = 'cluster'", Want::Names(NONE)),
        case("byte order: É sorts after f", "updated_by > 'f'", Want::Names(&["alpha", "beta"])),
        case("byte order of names", "name >= 'beta'", Want::Names(&["beta", "gamma-1"])),
    ];
    check_cases(&app, CLUSTERS, &cases).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn keywords_precedence_and_limits(pool: PgPool) {
    let app = seed(&pool).await;
    let parens = |levels: usize| format!("{}name = 'alpha'{}", "(".repeat(levels), ")".repeat(levels));
    let nots = |levels: usize| format!("{}labels.env = 'prod'", "not ".repeat(levels));
    // 4096 characters but more bytes: `name = '` + é… + `'`.
    let long = |chars: usize| format!("name = '{}'", "é".repeat(chars - 9));
    let too_deep = reason("search is nested too deeply (at most 32 levels)");
    let long_syntax = format!("{} =", "n".repeat(300));
    let cases = vec![
        case("keywords in any case", "NOT name = 'alpha' AnD generation = 3", Want::Names(&["gamma-1"])),
        case("upper-case in/is/not", "name NOT IN ('alpha') aNd labels.env IS NOT NULL", Want::Names(&["beta"])),
        case("upper-case between", "generation BETWEEN 1 AND 2", Want::Names(&["alpha", "beta"])),
        case("mixed-case like and ilike", "name LiKe 'a%' Or name ILike 'B%'", Want::Names(&["alpha", "beta"])),
        case("not binds tighter than or", "not name = 'alpha' or name = 'beta'", Want::Names(&["beta", "gamma-1"])),
        case("whitespace of every kind", "name\t=\r\n'alpha'", Want::Names(&["alpha"])),
        case("32 parentheses", &parens(32), Want::Names(&["alpha"])),
        case("33 parentheses", &parens(33), too_deep.clone()),
        case("32 nots (an even number)", &nots(32), Want::Names(&["alpha"])),
        case("33 nots", &nots(33), too_deep.clone()),
        case("4096 characters of which most are two bytes", &long(4096), Want::Names(NONE)),
        case("4097 characters", &long(4097), reason("search must be at most 4096 characters")),
        case("a NUL character", "name = '\0'", reason("search must not contain the NUL character")),
        case("NUL is checked before syntax", "\" \0", reason("search must not contain the NUL character")),
        case(
            "length is checked before NUL",
            &format!("\0{}", "x".repeat(4096)),
            reason("search must be at most 4096 characters"),
        ),
        case("a syntax error quotes 256 characters", &long_syntax, {
            Want::Reason(format!("Failed to parse search query: {}...", "n".repeat(256)))
        }),
        case("a field error before a later one", "name = 'a' and spec = 'x' and NAME = 'y'", {
            reason("spec is not a valid field name")
        }),
        case("the field before the literal type", "spec = 1", reason("spec is not a valid field name")),
        case("the operator before the literal", "generation not like '1'", {
            reason("operator 'like' cannot be used with generation")
        }),
        case("syntax before fields", "spec = 'x' and", syntax("spec = 'x' and")),
        case("status is not a field", "status = 'Ready'", reason("status is not a valid field name")),
        case("href is not a field", "href = 'x'", reason("href is not a valid field name")),
        case("node-pool fields on clusters", "cluster_id = 'x'", reason("cluster_id is not a valid field name")),
    ];
    check_cases(&app, CLUSTERS, &cases).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn injection_attempts_are_rejected_or_match_literally(pool: PgPool) {
    let app = seed(&pool).await;
    let cases = vec![
        case("a quote closed and reopened", "name = 'alpha'' or ''1''=''1'", Want::Names(NONE)),
        case("SQL inside a label value", "labels.env = 'prod''); drop table clusters; --'", Want::Names(NONE)),
        case("SQL inside a like pattern", "name like '%'' or 1=1 --'", Want::Names(NONE)),
        case("a comment", "name = 'alpha' -- and 1=0", syntax("name = 'alpha' -- and 1=0")),
        case("a block comment", "name = 'alpha' /* x */", syntax("name = 'alpha' /* x */")),
        case("a union", "name = 'x' union select * from clusters", syntax("name = 'x' union select * from clusters")),
        case("a function call", "lower(name) = 'alpha'", syntax("lower(name) = 'alpha'")),
        case("a placeholder", "name = $1", syntax("name = $1")),
        case("a cast", "name = 'alpha'::text", syntax("name = 'alpha'::text")),
        case("arithmetic", "generation = 1+1", syntax("generation = 1+1")),
        case("a subquery", "id in (select id from clusters)", syntax("id in (select id from clusters)")),
        case("backticks", "`name` = 'alpha'", syntax("`name` = 'alpha'")),
        case("a column on the right", "name = name", syntax("name = name")),
        case("true as a literal", "name = 'x' or true", syntax("name = 'x' or true")),
        case("a field named like SQL", "pg_sleep = 1", reason("pg_sleep is not a valid field name")),
        case("a dotted table column", "clusters.name = 'alpha'", reason("clusters.name is not a valid field name")),
        case("deleted rows are not searchable", "deleted_at is null", reason("deleted_at is not a valid field name")),
        case("spec members are not searchable", "spec.region = 'x'", reason("spec.region is not a valid field name")),
    ];
    check_cases(&app, CLUSTERS, &cases).await;
    let intact: i64 =
        sqlx::query_scalar("SELECT count(*) FROM clusters").fetch_one(&pool).await.expect("the table is intact");
    assert_eq!(intact, 4, "three live clusters and the zombie");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn node_pool_searches_know_their_owner(pool: PgPool) {
    let app = seed(&pool).await;
    let upper = ALPHA.to_uppercase();
    let alpha_pools: &[&str] = &["np-a1", "np-a2", "x"];
    let beta_pools: &[&str] = &["np-b1", "np-b2", "x", "y"];
    let every_pool: &[&str] = &["np-a1", "np-a2", "x", "np-b1", "np-b2", "x", "y"];
    let cases = vec![
        case("owner_id", &format!("owner_id = '{ALPHA}'"), Want::Names(alpha_pools)),
        case("cluster_id is its alias", &format!("cluster_id = '{ALPHA}'"), Want::Names(alpha_pools)),
        case("in either letter case", &format!("cluster_id = '{upper}'"), Want::Names(alpha_pools)),
        case("owner_id in, with junk", &format!("owner_id in ('{BETA}', 'junk')"), Want::Names(beta_pools)),
        case("owner_id !=", &format!("owner_id != '{ALPHA}'"), Want::Names(beta_pools)),
        case("a non-UUID owner", "owner_id = 'junk'", Want::Names(NONE)),
        case("owner as text", "cluster_id like '0194%'", Want::Names(beta_pools)),
        case("kind of node pools", "kind = 'NodePool'", Want::Names(every_pool)),
        case("kind is not Cluster", "kind = 'Cluster'", Want::Names(NONE)),
        case("labels of node pools", "labels.tier in ('a', 'b')", Want::Names(&["np-a1", "np-b1", "x"])),
        case("byte order of label values", "labels.tier < 'a'", Want::Names(&["np-a2"])),
        case("name across clusters", "name = 'x'", Want::Names(&["x", "x"])),
        case("a top-level or across clusters", "name = 'x' or name = 'y'", Want::Names(&["x", "x", "y"])),
        case("owner_id wants a string", "owner_id = 1", reason("owner_id must be compared with a string")),
    ];
    check_node_pool_cases(&app, NODE_POOLS, &cases, None).await;
}

/// Like `check_cases`, but for node pools (names repeat across clusters, so the comparison is of
/// sorted lists) and, on a per-cluster list, every item must belong to `owner`.
async fn check_node_pool_cases(app: &TestApp, path: &str, cases: &[Case<'_>], owner: Option<&str>) {
    let mut failures = Vec::new();
    for (why, search, want) in cases {
        let answer = Answer::of(app.get(&with_search(path, search)).await).await;
        let problem = match want {
            Want::Names(want) => {
                let mut got = names(&answer);
                got.sort();
                let mut want: Vec<String> = want.iter().map(|name| (*name).to_owned()).collect();
                want.sort();
                let foreign = answer.body["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|item| owner.is_some_and(|owner| item["owner_references"]["id"] != owner))
                    .count();
                if answer.status != 200 {
                    Some(format!("status {}: {}", answer.status, answer.text))
                } else if got != want || answer.body["total"] != json!(want.len()) || foreign > 0 {
                    Some(format!("want {want:?}, got {got:?}, total {}, {foreign} foreign", answer.body["total"]))
                } else {
                    None
                }
            }
            Want::Reason(_) => mismatch(&answer, want),
        };
        if let Some(problem) = problem {
            failures.push(format!("{why} — search {search:?}: {problem}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_per_cluster_list_never_leaves_its_cluster(pool: PgPool) {
    let app = seed(&pool).await;
    let alpha_list = format!("{CLUSTERS}/{ALPHA}/nodepools");
    let cases = vec![
        case("no search", "", Want::Names(&["np-a1", "np-a2", "x"])),
        case("a top-level or", "name = 'x' or name = 'y'", Want::Names(&["x"])),
        case("an or reaching labels of other clusters' pools", "name = 'x' or labels.tier = 'b'", {
            Want::Names(&["x"])
        }),
        case("or with a tautology-like term", "name = 'x' or name != 'x'", Want::Names(&["np-a1", "np-a2", "x"])),
        case("not of a name", "not (name = 'x')", Want::Names(&["np-a1", "np-a2"])),
        case("another cluster's owner_id", &format!("owner_id = '{BETA}'"), Want::Names(NONE)),
        case("or with another cluster's owner_id", &format!("owner_id = '{BETA}' or name = 'np-a1'"), {
            Want::Names(&["np-a1"])
        }),
        case("its own owner_id", &format!("cluster_id = '{ALPHA}'"), Want::Names(&["np-a1", "np-a2", "x"])),
        case("is not null everywhere", "name is not null or id is not null", Want::Names(&["np-a1", "np-a2", "x"])),
        case("a deleted pool of this cluster", "name = 'y'", Want::Names(NONE)),
    ];
    check_node_pool_cases(&app, &alpha_list, &cases, Some(ALPHA)).await;

    let beta_list = format!("{CLUSTERS}/{BETA}/nodepools");
    let cases = vec![case("a top-level or on beta", "name = 'x' or name = 'y'", Want::Names(&["x", "y"]))];
    check_node_pool_cases(&app, &beta_list, &cases, Some(BETA)).await;

    // Bad parameters are reported before the unknown cluster (§2.10), then the 404.
    let unknown = format!("{CLUSTERS}/01939f4e-0000-7000-8000-000000000000/nodepools");
    let answer = Answer::of(app.get(&with_search(&unknown, "name = ")).await).await;
    assert_error(&answer, 400, 21, "Failed to parse search query: name = ");
    let answer = Answer::of(app.get(&with_search(&unknown, "name = 'x'")).await).await;
    assert_error(&answer, 404, 7, "Cluster with id='01939f4e-0000-7000-8000-000000000000' not found");
    let zombie = format!("{CLUSTERS}/01960000-0000-7000-8000-0000000000dd/nodepools");
    let answer = Answer::of(app.get(&zombie).await).await;
    assert_error(&answer, 404, 7, "Cluster with id='01960000-0000-7000-8000-0000000000dd' not found");
}

/// §13.6: whatever passes validation must also run. Every field (with its aliases) × every
/// operator form × literals of every type, including the extremes of each range, is parsed, and
/// every accepted search runs on Postgres without an error, for both resources, together with
/// every ordering. The DAO is called directly: a database error there is what would become a 5xx.
#[sqlx::test(migrator = "MIGRATOR")]
async fn every_accepted_search_and_ordering_runs_on_postgres(pool: PgPool) {
    use hyperfleet::dao::lists::{resources, ResourceQuery};
    use hyperfleet::model::kind::ResourceKind;
    use hyperfleet::search::{Filter, Ordering};

    let _app = seed(&pool).await;
    let fields = [
        "id",
        "name",
        "kind",
        "generation",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
        "status.phase",
        "status_phase",
        "status.observed_generation",
        "status_observed_generation",
        "status.last_transition_time",
        "status_last_transition_time",
        "status.updated_at",
        "status_updated_at",
        "labels.env",
        "labels.example.com/team-x_1",
        "owner_id",
        "cluster_id",
    ];
    let upper = ALPHA.to_uppercase();
    let literals = [
        "''",
        "'x'",
        "'é☃\u{10ffff}'",
        "'2025-01-01'",
        "'2025-01-01T00:00:00+14:00'",
        "'0000-01-01T00:00:00+23:59'",
        "'9999-12-31T23:59:60.999999999-23:59'",
        &format!("'{upper}'"),
        r"'\\'",
        "'%_'",
        "'{\"env\": \"prod\"}'",
        "0",
        "-1",
        "2147483648",
        "-2147483649",
        "9223372036854775807",
        "-9223372036854775808",
        "1.5",
        "1e308",
    ];
    let mut searches = Vec::new();
    for field in fields {
        for (i, literal) in literals.iter().enumerate() {
            let other = literals[(i + 1) % literals.len()];
            for op in ["=", "!=", "<>", "<", "<=", ">", ">="] {
                searches.push(format!("{field} {op} {literal}"));
            }
            searches.push(format!("{field} in ({literal}, {other})"));
            searches.push(format!("not ({field} not in ({literal}))"));
            searches.push(format!("{field} between {literal} and {other}"));
            searches.push(format!("{field} not between {other} and {literal}"));
            if literal.starts_with('\'') {
                searches.push(format!("{field} like {literal} or {field} not ilike {literal}"));
            }
        }
        searches.push(format!("{field} is null or not {field} is not null"));
    }

    let mut conn = pool.acquire().await.unwrap();
    let mut accepted = 0;
    let mut failures = Vec::new();
    for kind in [ResourceKind::Cluster, ResourceKind::NodePool] {
        let mut orderings = vec![Ordering::parse(None, None, kind).unwrap()];
        for field in fields {
            for direction in ["asc", "desc"] {
                if let Ok(ordering) = Ordering::parse(Some(&format!("{field} {direction}, name")), None, kind) {
                    orderings.push(ordering);
                }
            }
        }
        for (i, search) in searches.iter().enumerate() {
            let Ok(filter) = Filter::parse(search, kind) else { continue };
            accepted += 1;
            for cluster in [None, Some(uuid::Uuid::parse_str(ALPHA).unwrap())] {
                if cluster.is_some() && kind == ResourceKind::Cluster {
                    continue;
                }
                let query = ResourceQuery {
                    kind,
                    cluster,
                    filter: filter.as_ref(),
                    ordering: &orderings[i % orderings.len()],
                    limit: 1000,
                    offset: 0,
                };
                if let Err(error) = resources(&mut conn, &query).await {
                    failures.push(format!("{kind:?} {search:?}: {error}"));
                }
            }
        }
    }
    assert!(accepted > 2000, "most generated searches are valid ({accepted})");
    assert!(failures.is_empty(), "{} searches failed on Postgres:\n{}", failures.len(), failures.join("\n"));
}
