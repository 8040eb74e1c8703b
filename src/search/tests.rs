//! Tests of the whole pipeline through the public API: the examples of §6.3.8, every error text
//! of §6.3, the check order of §6.3.6, and the exact SQL produced.

use sqlx::{Arguments, Execute, Postgres, QueryBuilder};

use super::{Filter, ResourceKind, SearchError};

const ALPHA: &str = "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a";

/// The SQL text and the number of bound values of a search that must be accepted.
fn compile(search: &str, resource: ResourceKind) -> (String, usize) {
    let filter = Filter::parse(search, resource)
        .unwrap_or_else(|err| panic!("{search:?} was rejected: {err}"))
        .unwrap_or_else(|| panic!("{search:?} was taken as blank"));
    let mut qb = QueryBuilder::<Postgres>::new("");
    filter.push_sql(&mut qb);
    let sql = qb.sql().to_owned();
    let binds = qb.build().take_arguments().expect("arguments encode").map_or(0, |args| args.len());
    (sql, binds)
}

fn reason(search: &str, resource: ResourceKind) -> String {
    match Filter::parse(search, resource) {
        Err(SearchError(reason)) => reason,
        Ok(filter) => panic!("{search:?} was accepted: {filter:?}"),
    }
}

fn syntax(search: &str) -> String {
    format!("Failed to parse search query: {search}")
}

#[test]
fn blank_searches_are_no_filter() {
    for search in ["", " ", "\t\r\n ", &" ".repeat(5000)] {
        assert_eq!(Filter::parse(search, ResourceKind::Cluster), Ok(None), "{search:?}");
    }
}

#[test]
fn length_is_counted_in_characters() {
    // `name = '` + body + `'` is 9 characters of ASCII around a body of multibyte characters.
    let with_body = |chars: usize| format!("name = '{}'", "é".repeat(chars - 9));
    let at_limit = with_body(4096);
    assert_eq!(at_limit.chars().count(), 4096);
    assert!(at_limit.len() > 4096, "more bytes than characters");
    assert!(Filter::parse(&at_limit, ResourceKind::Cluster).is_ok());
    assert_eq!(reason(&with_body(4097), ResourceKind::Cluster), "search must be at most 4096 characters");
}

#[test]
fn check_order_of_the_limits() {
    let too_long_with_nul = format!("\0{}", "x".repeat(4096));
    assert_eq!(
        reason(&too_long_with_nul, ResourceKind::Cluster),
        "search must be at most 4096 characters",
        "length comes before NUL"
    );
    assert_eq!(
        reason("\" \0", ResourceKind::Cluster),
        "search must not contain the NUL character",
        "NUL comes before syntax"
    );
    assert_eq!(
        reason("name = '\0'", ResourceKind::Cluster),
        "search must not contain the NUL character",
        "NUL inside a string"
    );
}

#[test]
fn error_examples_of_the_spec() {
    let cases = [
        (29, "NAME = 'alpha'", "NAME is not a valid field name".to_owned()),
        (38, "generation = '2'", "generation must be compared with an integer".to_owned()),
        (39, "name = 2", "name must be compared with a string".to_owned()),
        (
            40,
            "created_at > 'yesterday'",
            "created_at must be compared with a timestamp ('YYYY-MM-DDTHH:MM:SSZ' or 'YYYY-MM-DD')".to_owned(),
        ),
        (41, "generation like '2%'", "operator 'like' cannot be used with generation".to_owned()),
        (42, "spec = '{}'", "spec is not a valid field name".to_owned()),
        (43, "owner_id = '01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a'", "owner_id is not a valid field name".to_owned()),
        (44, "labels.-env = 'x'", "label key '-env' is invalid".to_owned()),
        (45, "name = \"alpha\"", syntax("name = \"alpha\"")),
        (46, "name = 'alpha", syntax("name = 'alpha")),
        (47, "'1' = '1'", syntax("'1' = '1'")),
        (48, "id = 'x' or 1=1", syntax("id = 'x' or 1=1")),
        (49, "name = 'alpha'; drop table clusters", syntax("name = 'alpha'; drop table clusters")),
        (50, "status.observed_generation < generation", syntax("status.observed_generation < generation")),
        (51, r"name like 'abc\'", "invalid like pattern: must not end with an escape character".to_owned()),
    ];
    for (number, search, want) in cases {
        assert_eq!(reason(search, ResourceKind::Cluster), want, "example #{number}: {search}");
    }
}

#[test]
fn every_error_text() {
    let long_field = "f".repeat(300);
    let long_syntax = format!("name = \"{}\"", "x".repeat(300));
    let deep = format!("{}name = 'x'{}", "(".repeat(33), ")".repeat(33));
    let timestamp =
        |field: &str| format!("{field} must be compared with a timestamp ('YYYY-MM-DDTHH:MM:SSZ' or 'YYYY-MM-DD')");
    let cases: Vec<(String, ResourceKind, String, &str)> = vec![
        (
            deep.clone(),
            ResourceKind::Cluster,
            "search is nested too deeply (at most 32 levels)".into(),
            "33 parentheses",
        ),
        (
            format!("{}name = 'x'", "NOT ".repeat(33)),
            ResourceKind::Cluster,
            "search is nested too deeply (at most 32 levels)".into(),
            "33 not prefixes",
        ),
        (
            long_syntax.clone(),
            ResourceKind::Cluster,
            syntax(&format!("{}...", &long_syntax[..256])),
            "syntax errors quote the search cut to 256 characters",
        ),
        (
            format!("{long_field} = 'x'"),
            ResourceKind::Cluster,
            format!("{}... is not a valid field name", "f".repeat(256)),
            "field names are cut too",
        ),
        (
            "labels = 'x'".into(),
            ResourceKind::Cluster,
            "labels is not a valid field name".into(),
            "labels without a key",
        ),
        ("labels. = 'x'".into(), ResourceKind::Cluster, "label key cannot be empty".into(), "empty label key"),
        ("labels.a/b/c = 'x'".into(), ResourceKind::Cluster, "label key 'a/b/c' is invalid".into(), "two slashes"),
        ("status = 'x'".into(), ResourceKind::Cluster, "status is not a valid field name".into(), "status as a whole"),
        ("href = 'x'".into(), ResourceKind::Cluster, "href is not a valid field name".into(), "href"),
        (
            "cluster_id = 'x'".into(),
            ResourceKind::Cluster,
            "cluster_id is not a valid field name".into(),
            "cluster_id on clusters",
        ),
        (
            "status_observed_generation like '1'".into(),
            ResourceKind::Cluster,
            "operator 'like' cannot be used with status_observed_generation".into(),
            "alias named as written",
        ),
        (
            "created_at not ilike 'x'".into(),
            ResourceKind::Cluster,
            "operator 'ilike' cannot be used with created_at".into(),
            "not ilike on a timestamp",
        ),
        (
            "status.updated_at ILIKE 'x'".into(),
            ResourceKind::Cluster,
            "operator 'ilike' cannot be used with status.updated_at".into(),
            "operator in lower case",
        ),
        (
            "generation = 1.0".into(),
            ResourceKind::Cluster,
            "generation must be compared with an integer".into(),
            "a fraction",
        ),
        (
            "generation = 1e3".into(),
            ResourceKind::Cluster,
            "generation must be compared with an integer".into(),
            "an exponent",
        ),
        (
            "generation = 9223372036854775808".into(),
            ResourceKind::Cluster,
            "generation must be compared with an integer".into(),
            "beyond i64",
        ),
        (
            "generation in (1, '2')".into(),
            ResourceKind::Cluster,
            "generation must be compared with an integer".into(),
            "one bad value in a list",
        ),
        (
            "generation between 1 and '2'".into(),
            ResourceKind::Cluster,
            "generation must be compared with an integer".into(),
            "bad upper bound",
        ),
        ("id = 5".into(), ResourceKind::Cluster, "id must be compared with a string".into(), "uuid needs a string"),
        (
            "id in ('x', 5)".into(),
            ResourceKind::Cluster,
            "id must be compared with a string".into(),
            "uuid list needs strings",
        ),
        (
            "owner_id = 1".into(),
            ResourceKind::NodePool,
            "owner_id must be compared with a string".into(),
            "owner_id named as written",
        ),
        ("kind = 1".into(), ResourceKind::Cluster, "kind must be compared with a string".into(), "kind is a string"),
        (
            "labels.env = 1".into(),
            ResourceKind::Cluster,
            "labels.env must be compared with a string".into(),
            "labels are strings",
        ),
        ("created_at = 5".into(), ResourceKind::Cluster, timestamp("created_at"), "timestamp given a number"),
        ("created_at = '2025-01-01T00:00:00'".into(), ResourceKind::Cluster, timestamp("created_at"), "no offset"),
        (
            "status_last_transition_time in ('2025-01-01', '2025-13-01')".into(),
            ResourceKind::Cluster,
            timestamp("status_last_transition_time"),
            "bad month in a list",
        ),
        (
            r"name like '\\\'".into(),
            ResourceKind::Cluster,
            "invalid like pattern: must not end with an escape character".into(),
            "three backslashes",
        ),
        (
            r"labels.env not ilike '%\'".into(),
            ResourceKind::Cluster,
            "invalid like pattern: must not end with an escape character".into(),
            "not ilike on a label",
        ),
        (
            r"id like '0\'".into(),
            ResourceKind::Cluster,
            "invalid like pattern: must not end with an escape character".into(),
            "like on a uuid",
        ),
    ];
    for (search, resource, want, why) in cases {
        assert_eq!(reason(&search, resource), want, "{why}: {search}");
    }
}

#[test]
fn checks_run_in_the_order_of_the_spec() {
    let deep = "(".repeat(33);
    let cases = [
        ("spec = 1 and (", syntax("spec = 1 and ("), "syntax before fields"),
        (
            &*format!("spec = 1 and {deep}"),
            "search is nested too deeply (at most 32 levels)".into(),
            "depth before fields",
        ),
        ("spec = 1 and generation = 'x'", "spec is not a valid field name".into(), "predicates in text order"),
        (
            "generation = 'x' and spec = 1",
            "generation must be compared with an integer".into(),
            "predicates in text order, reversed",
        ),
        ("labels.-x like 'a\\'", "label key '-x' is invalid".into(), "label key before pattern"),
        ("generation like 'a\\'", "operator 'like' cannot be used with generation".into(), "operator before pattern"),
        ("name in ('a', 1, 2.5)", "name must be compared with a string".into(), "literal types"),
        (
            "created_at not like 'x' or spec = 1",
            "operator 'like' cannot be used with created_at".into(),
            "first predicate wins",
        ),
        (
            "not (name like 'x\\') and spec = 1",
            "invalid like pattern: must not end with an escape character".into(),
            "pattern of an earlier predicate",
        ),
    ];
    for (search, want, why) in cases {
        assert_eq!(reason(search, ResourceKind::Cluster), want, "{why}: {search}");
    }
}

#[test]
fn syntax_errors_quote_the_raw_search() {
    for search in [
        "name = 'x' or",
        "  name = 'x' )  ",
        "name = 'x' -- comment",
        "name = 'x' /* c */",
        "name = `x`",
        "lower(name) = 'x'",
        "generation = 1 + 1",
        "generation = 1and name = 'x'",
        "name == 'x'",
        "name = 'x' and not",
        "(name = 'x') (name = 'y')",
        "name in ('x',)",
        "name = 'é' and é = 'x'",
    ] {
        assert_eq!(reason(search, ResourceKind::Cluster), syntax(search), "{search:?}");
    }
}

#[test]
fn sql_of_the_valid_examples_of_the_spec() {
    let cases = [
        (1, "name = 'alpha'", "(name = $1)", 1),
        (2, "name='alpha'", "(name = $1)", 1),
        (3, "name != 'alpha'", "(name <> $1)", 1),
        (4, "name <> 'alpha'", "(name <> $1)", 1),
        (5, "name in ('alpha', 'beta')", "(name IN ($1, $2))", 2),
        (6, "name not in ('alpha')", "(name NOT IN ($1))", 1),
        (7, "name like 'gam%'", "(name LIKE $1)", 1),
        (8, "name ilike 'ALP%'", "(name ILIKE $1)", 1),
        (9, "name like 'gamma_1'", "(name LIKE $1)", 1),
        (10, r"name like 'gamma\_1'", "(name LIKE $1)", 1),
        (11, "name not like '%a'", "(name NOT LIKE $1)", 1),
        (12, "generation = 2", "(generation = $1)", 1),
        (13, "generation >= 2", "(generation >= $1)", 1),
        (14, "generation between 2 and 3", "(generation BETWEEN $1 AND $2)", 2),
        (15, "generation not between 2 and 3", "(generation NOT BETWEEN $1 AND $2)", 2),
        (16, "status.phase = 'Ready'", "(status_phase = $1)", 1),
        (17, "status_phase = 'Ready'", "(status_phase = $1)", 1),
        (18, "status.phase in ('NotReady', 'Failed')", "(status_phase IN ($1, $2))", 2),
        (19, "status.observed_generation < 1", "(status_observed_generation < $1)", 1),
        (20, "labels.env = 'prod'", "(labels @> $1::jsonb)", 1),
        (21, "labels.env != 'prod'", r#"((labels->>$1) COLLATE "C" <> $2)"#, 2),
        (22, "labels.env is null", r#"((labels->>$1) COLLATE "C" IS NULL)"#, 1),
        (23, "labels.env is not null", r#"((labels->>$1) COLLATE "C" IS NOT NULL)"#, 1),
        (
            24,
            "labels.env = 'prod' and labels.team = 'platform'",
            "((labels @> $1::jsonb) AND (labels @> $2::jsonb))",
            2,
        ),
        (25, "labels.env = 'dev' or status.phase = 'Failed'", "((labels @> $1::jsonb) OR (status_phase = $2))", 2),
        (26, "not (labels.env = 'prod')", r#"(NOT ((labels->>$1) COLLATE "C" = $2))"#, 2),
        (
            27,
            "name = 'alpha' or name = 'beta' and generation = 1",
            "((name = $1) OR ((name = $2) AND (generation = $3)))",
            3,
        ),
        (
            28,
            "(name = 'alpha' or name = 'beta') and generation = 1",
            "(((name = $1) OR (name = $2)) AND (generation = $3))",
            3,
        ),
        (30, "name = 'alpha' AND generation = 2", "((name = $1) AND (generation = $2))", 2),
        (31, "created_at >= '2025-02-01T00:00:00Z'", "(created_at >= $1)", 1),
        (32, "created_at < '2025-02-01'", "(created_at < $1)", 1),
        (33, "created_by = 'o''neil@example.com'", "(created_by = $1)", 1),
        (34, "kind = 'Cluster'", r#"(('Cluster'::text COLLATE "C") = $1)"#, 1),
        (35, "id = 'not-a-uuid'", "(FALSE)", 0),
        (36, "labels.example.com/team = 'platform'", "(labels @> $1::jsonb)", 1),
    ];
    for (number, search, sql, binds) in cases {
        assert_eq!(compile(search, ResourceKind::Cluster), (sql.to_owned(), binds), "example #{number}: {search}");
    }
}

#[test]
fn sql_of_labels_follows_the_polarity() {
    let cases = [
        (
            "labels.env in ('a', 'b')",
            "(labels @> $1::jsonb OR labels @> $2::jsonb)",
            2,
            "positive in: OR-ed containment",
        ),
        ("labels.env not in ('a', 'b')", r#"((labels->>$1) COLLATE "C" NOT IN ($2, $3))"#, 3, "not in: exact form"),
        ("not labels.env in ('a')", r#"(NOT ((labels->>$1) COLLATE "C" IN ($2)))"#, 2, "negative in: exact form"),
        ("not (labels.env not in ('a'))", "(NOT (NOT (labels @> $1::jsonb)))", 1, "not in under one not is positive"),
        ("not (labels.env != 'a')", "(NOT (NOT (labels @> $1::jsonb)))", 1, "!= under one not is positive"),
        ("not not labels.env = 'a'", "(NOT (NOT (labels @> $1::jsonb)))", 1, "two nots: positive"),
        (
            "not not not labels.env = 'a'",
            r#"(NOT (NOT (NOT ((labels->>$1) COLLATE "C" = $2))))"#,
            2,
            "three nots: negative",
        ),
        (
            "not (name = 'x' or (labels.a = 'b' and not labels.c = 'd'))",
            r#"(NOT ((name = $1) OR (((labels->>$2) COLLATE "C" = $3) AND (NOT (labels @> $4::jsonb)))))"#,
            4,
            "polarity flips only at not",
        ),
        ("labels.env > 'a'", r#"((labels->>$1) COLLATE "C" > $2)"#, 2, "ordering comparison"),
        ("labels.env between 'a' and 'b'", r#"((labels->>$1) COLLATE "C" BETWEEN $2 AND $3)"#, 3, "between"),
        ("labels.env ilike 'P%'", r#"((labels->>$1) COLLATE "C" ILIKE $2)"#, 2, "ilike"),
    ];
    for (search, sql, binds, why) in cases {
        assert_eq!(compile(search, ResourceKind::Cluster), (sql.to_owned(), binds), "{why}: {search}");
    }
}

#[test]
fn sql_of_uuid_and_constant_predicates() {
    let upper = ALPHA.to_uppercase();
    let cases = [
        (format!("id = '{upper}'"), ResourceKind::Cluster, "(id = $1)", 1, "either letter case"),
        ("id != 'junk'".into(), ResourceKind::Cluster, "(TRUE)", 0, "a non-UUID differs from every id"),
        (format!("id <> '{ALPHA}'"), ResourceKind::Cluster, "(id <> $1)", 1, "inequality on the column"),
        (
            format!("id in ('junk', '{ALPHA}', '{{{ALPHA}}}')"),
            ResourceKind::Cluster,
            "(id IN ($1))",
            1,
            "non-UUIDs dropped",
        ),
        ("id in ('junk', 'x')".into(), ResourceKind::Cluster, "(FALSE)", 0, "in without UUIDs"),
        ("id not in ('junk')".into(), ResourceKind::Cluster, "(TRUE)", 0, "not in without UUIDs"),
        (format!("id not in ('{ALPHA}', 'x')"), ResourceKind::Cluster, "(id NOT IN ($1))", 1, "not in with one UUID"),
        ("id < 'abc'".into(), ResourceKind::Cluster, r#"((id::text COLLATE "C") < $1)"#, 1, "text order"),
        (
            "id between 'a' and 'b'".into(),
            ResourceKind::Cluster,
            r#"((id::text COLLATE "C") BETWEEN $1 AND $2)"#,
            2,
            "text between",
        ),
        ("id like '0193%'".into(), ResourceKind::Cluster, r#"((id::text COLLATE "C") LIKE $1)"#, 1, "text like"),
        (
            "id not ilike '0193%'".into(),
            ResourceKind::Cluster,
            r#"((id::text COLLATE "C") NOT ILIKE $1)"#,
            1,
            "text not ilike",
        ),
        ("name is null".into(), ResourceKind::Cluster, "(FALSE)", 0, "columns are never null"),
        ("generation is not null".into(), ResourceKind::Cluster, "(TRUE)", 0, "columns are never null"),
        (
            "id is null or not kind is not null".into(),
            ResourceKind::Cluster,
            "((FALSE) OR (NOT (TRUE)))",
            0,
            "constants compose",
        ),
        (
            format!("owner_id = '{ALPHA}'"),
            ResourceKind::NodePool,
            "(cluster_id = $1)",
            1,
            "owner_id is the parent column",
        ),
        (
            format!("cluster_id in ('{ALPHA}', '{upper}')"),
            ResourceKind::NodePool,
            "(cluster_id IN ($1, $2))",
            2,
            "cluster_id alias",
        ),
        (
            "owner_id >= '0'".into(),
            ResourceKind::NodePool,
            r#"((cluster_id::text COLLATE "C") >= $1)"#,
            1,
            "owner_id as text",
        ),
        (
            "kind = 'NodePool'".into(),
            ResourceKind::NodePool,
            r#"(('NodePool'::text COLLATE "C") = $1)"#,
            1,
            "node-pool kind",
        ),
        (
            "kind like 'Node%'".into(),
            ResourceKind::NodePool,
            r#"(('NodePool'::text COLLATE "C") LIKE $1)"#,
            1,
            "kind is an ordinary string",
        ),
    ];
    for (search, resource, sql, binds, why) in cases {
        assert_eq!(compile(&search, resource), (sql.to_owned(), binds), "{why}: {search}");
    }
}

#[test]
fn sql_of_other_types() {
    let cases = [
        ("generation in (1, -2, 9223372036854775807)", "(generation IN ($1, $2, $3))", 3),
        (
            "status.last_transition_time between '2025-01-01' and '2025-01-02T00:00:00+05:30'",
            "(status_last_transition_time BETWEEN $1 AND $2)",
            2,
        ),
        ("updated_by not ilike '%\\%%'", "(updated_by NOT ILIKE $1)", 1),
        (
            "NOT(name='a')AnD(generation<>1)Or status_phase>='F'",
            "(((NOT (name = $1)) AND (generation <> $2)) OR (status_phase >= $3))",
            3,
        ),
    ];
    for (search, sql, binds) in cases {
        assert_eq!(compile(search, ResourceKind::Cluster), (sql.to_owned(), binds), "{search}");
    }
}

#[test]
fn a_filter_can_be_pushed_twice_on_one_builder() {
    let filter = Filter::parse("labels.env = 'prod' or name like 'a%'", ResourceKind::Cluster).unwrap().unwrap();
    let mut qb = QueryBuilder::<Postgres>::new("SELECT count(*) FROM clusters WHERE ");
    filter.push_sql(&mut qb);
    qb.push("; SELECT id FROM clusters WHERE ");
    filter.push_sql(&mut qb);
    assert_eq!(
        qb.sql(),
        "SELECT count(*) FROM clusters WHERE ((labels @> $1::jsonb) OR (name LIKE $2)); \
         SELECT id FROM clusters WHERE ((labels @> $3::jsonb) OR (name LIKE $4))"
    );
    assert_eq!(qb.build().take_arguments().unwrap().unwrap().len(), 4);
}
