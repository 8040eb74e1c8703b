//! Property tests: arbitrary text and grammar-generated searches never panic, and for accepted
//! ones the SQL text is made only of allowlisted words, holds none of the client's values, and
//! has exactly one `$n` per bound value.

use proptest::prelude::*;
use sqlx::{Arguments, Execute, Postgres, QueryBuilder};

use super::lexer::{Lexer, Token};
use super::{Filter, Ordering, ResourceKind};

/// Every word that may appear in generated SQL: keywords, casts, allowlisted columns.
const SQL_WORDS: &[&str] = &[
    "NOT",
    "AND",
    "OR",
    "IN",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "COLLATE",
    "text",
    "jsonb",
    "labels",
    "ASC",
    "DESC",
    "id",
    "name",
    "generation",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "status_phase",
    "status_observed_generation",
    "status_last_transition_time",
    "status_updated_at",
    "cluster_id",
];

/// Returns the number of `$n` placeholders after checking they run 1, 2, 3, ... and that the
/// rest of the text is fixed vocabulary: no client text can hide in it.
fn check_sql_shape(sql: &str) -> usize {
    let mut rest = String::with_capacity(sql.len());
    let mut placeholders = 0;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            let mut digits = String::new();
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                digits.push(d);
            }
            placeholders += 1;
            assert_eq!(digits, placeholders.to_string(), "placeholders in order: {sql}");
            rest.push(' ');
        } else {
            rest.push(c);
        }
    }
    let rest = rest.replace("'Cluster'::text", " ").replace("'NodePool'::text", " ").replace("\"C\"", " ");
    assert!(!rest.contains(['\'', '"', ';', '\\']), "no quoting left: {sql}");
    for word in rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        assert!(word.is_empty() || SQL_WORDS.contains(&word), "unexpected word {word:?} in {sql}");
    }
    assert!(
        rest.chars().all(|c| c.is_ascii_alphanumeric() || " _(),=<>@:->".contains(c)),
        "unexpected character in {sql}"
    );
    placeholders
}

fn bound_count(qb: &mut QueryBuilder<'_, Postgres>) -> usize {
    qb.build().take_arguments().expect("arguments encode").map_or(0, |args| args.len())
}

/// Parses and, when accepted, renders twice on one builder (as the service does for the count
/// and the page), checking the SQL shape. Returns the SQL of one rendering.
fn exercise(search: &str, resource: ResourceKind) -> Option<String> {
    let filter = match Filter::parse(search, resource) {
        Ok(Some(filter)) => filter,
        Ok(None) => return None,
        Err(err) => {
            assert!(!err.0.is_empty(), "a reason is never empty");
            return None;
        }
    };
    let mut once = QueryBuilder::<Postgres>::new("");
    filter.push_sql(&mut once);
    let sql = once.sql().to_owned();
    let binds = bound_count(&mut once);
    assert_eq!(check_sql_shape(&sql), binds, "one placeholder per bind: {sql}");

    let mut twice = QueryBuilder::<Postgres>::new("");
    filter.push_sql(&mut twice);
    twice.push(" AND ");
    filter.push_sql(&mut twice);
    let both = twice.sql().to_owned();
    assert_eq!(check_sql_shape(&both), 2 * binds);
    assert_eq!(bound_count(&mut twice), 2 * binds);
    Some(sql)
}

/// No literal of the search appears in the SQL. Generated string literals all contain the marker
/// `zq` (which no SQL word does) and generated numbers have at least six digits, so neither can
/// match a placeholder or keyword by accident.
fn assert_values_not_spliced(search: &str, sql: &str) {
    assert!(!sql.contains("zq"), "a marked value or key leaked into {sql}");
    let mut lexer = Lexer::new(search);
    while let Ok(Some(token)) = lexer.next_token() {
        match token {
            Token::Str(text) if text.len() >= 4 => {
                assert!(!sql.contains(&text), "{text:?} leaked into {sql}");
            }
            Token::Num(text) if text.len() >= 6 => {
                assert!(!sql.contains(text), "{text} leaked into {sql}");
            }
            _ => {}
        }
    }
}

// ----- a generator for the grammar of §6.3.1 -----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Uuid,
    Text,
    Int,
    Time,
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn field() -> impl Strategy<Value = (String, Kind)> {
    let fixed = vec![
        ("id", Kind::Uuid),
        ("owner_id", Kind::Uuid),
        ("cluster_id", Kind::Uuid),
        ("name", Kind::Text),
        ("kind", Kind::Text),
        ("created_by", Kind::Text),
        ("updated_by", Kind::Text),
        ("status.phase", Kind::Text),
        ("status_phase", Kind::Text),
        ("generation", Kind::Int),
        ("status.observed_generation", Kind::Int),
        ("status_observed_generation", Kind::Int),
        ("created_at", Kind::Time),
        ("updated_at", Kind::Time),
        ("status.last_transition_time", Kind::Time),
        ("status_updated_at", Kind::Time),
    ];
    prop_oneof![
        6 => proptest::sample::select(fixed).prop_map(|(f, k)| (f.to_owned(), k)),
        2 => "zq[a-z0-9_.-]{0,6}[a-z0-9]".prop_map(|k| (format!("labels.{k}"), Kind::Text)),
        1 => "zq[a-z0-9]{0,4}\\.example/[A-Za-z0-9]{1,5}"
            .prop_map(|k| (format!("labels.{k}"), Kind::Text)),
        // Mostly unknown fields and bad label keys: they must be rejected cleanly.
        1 => "[A-Za-z_][A-Za-z0-9_./-]{0,12}".prop_map(|f| (f, Kind::Text)),
    ]
}

fn text_literal() -> impl Strategy<Value = String> {
    "zq[a-zA-Z0-9 %_\\\\'é😀-]{0,10}".prop_map(|t| quoted(&t))
}

fn int_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop_oneof![100_000i64..=i64::MAX, i64::MIN..=-100_000].prop_map(|n| n.to_string()),
        1 => Just("9223372036854775808".to_owned()),
        1 => (100_000u32.., 1u32..1000).prop_map(|(a, b)| format!("{a}.{b}")),
    ]
}

fn time_literal() -> impl Strategy<Value = String> {
    let offset = prop_oneof![
        Just("Z".to_owned()),
        (0u32..24, 0u32..60, any::<bool>())
            .prop_map(|(h, m, neg)| format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' })),
    ];
    prop_oneof![
        (0u32..=9999, 1u32..=12, 1u32..=31).prop_map(|(y, m, d)| format!("'{y:04}-{m:02}-{d:02}'")),
        (0u32..=9999, 1u32..=12, 1u32..=28, 0u32..24, 0u32..61, 0u32..1_000_000, offset).prop_map(
            |(y, mo, d, h, mi, us, off)| format!(
                "'{y:04}-{mo:02}-{d:02}T{h:02}:{:02}:{:02}.{us:06}{off}'",
                mi % 60,
                mi.min(60)
            )
        ),
    ]
}

fn uuid_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (any::<u128>(), any::<bool>()).prop_map(|(bits, upper)| {
            let text = uuid::Uuid::from_u128(bits).hyphenated().to_string();
            quoted(&if upper { text.to_uppercase() } else { text })
        }),
        1 => text_literal(),
    ]
}

fn literal(kind: Kind) -> BoxedStrategy<String> {
    let right = match kind {
        Kind::Uuid => uuid_literal().boxed(),
        Kind::Text => text_literal().boxed(),
        Kind::Int => int_literal().boxed(),
        Kind::Time => time_literal().boxed(),
    };
    // Now and then a literal of the wrong type, to walk the error paths too.
    prop_oneof![9 => right, 1 => prop_oneof![text_literal(), int_literal()]].boxed()
}

fn keyword(word: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        Just(word.to_owned()),
        Just(word.to_uppercase()),
        Just(format!("{}{}", word[..1].to_uppercase(), &word[1..])),
    ]
}

fn not_prefix() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), keyword("not").prop_map(|n| format!("{n} "))]
}

fn predicate() -> impl Strategy<Value = String> {
    field().prop_flat_map(|(field, kind)| {
        let f = field.clone();
        let compare =
            (proptest::sample::select(&["=", "!=", "<>", "<", "<=", ">", ">="][..]), literal(kind), any::<bool>())
                .prop_map(
                    move |(op, lit, tight)| {
                        if tight {
                            format!("{f}{op}{lit}")
                        } else {
                            format!("{f} {op} {lit}")
                        }
                    },
                );
        let f = field.clone();
        let in_list = (not_prefix(), keyword("in"), prop::collection::vec(literal(kind), 1..5))
            .prop_map(move |(not, kw, lits)| format!("{f} {not}{kw} ({})", lits.join(", ")));
        let f = field.clone();
        let between = (not_prefix(), keyword("between"), literal(kind), keyword("and"), literal(kind))
            .prop_map(move |(not, kw, lo, and, hi)| format!("{f} {not}{kw} {lo} {and} {hi}"));
        let f = field.clone();
        let like = (not_prefix(), prop_oneof![keyword("like"), keyword("ilike")], text_literal())
            .prop_map(move |(not, kw, pattern)| format!("{f} {not}{kw} {pattern}"));
        let f = field;
        let is_null = (keyword("is"), not_prefix(), keyword("null"))
            .prop_map(move |(is, not, null)| format!("{f} {is} {not}{null}"));
        prop_oneof![4 => compare, 2 => in_list, 1 => between, 1 => like, 1 => is_null]
    })
}

fn expression() -> impl Strategy<Value = String> {
    predicate().prop_recursive(5, 24, 4, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 2..4), keyword("and"))
                .prop_map(|(items, kw)| items.join(&format!(" {kw} "))),
            (prop::collection::vec(inner.clone(), 2..4), keyword("or"))
                .prop_map(|(items, kw)| items.join(&format!(" {kw} "))),
            (keyword("not"), inner.clone()).prop_map(|(kw, e)| format!("{kw} {e}")),
            inner.prop_map(|e| format!("({e})")),
        ]
    })
}

fn resource() -> impl Strategy<Value = ResourceKind> {
    prop_oneof![Just(ResourceKind::Cluster), Just(ResourceKind::NodePool)]
}

/// Pieces of searches, hostile ones included, glued in random order.
fn token_soup() -> impl Strategy<Value = String> {
    let pieces = vec![
        "name",
        "labels.env",
        "id",
        "generation",
        "created_at",
        "not",
        "and",
        "or",
        "in",
        "like",
        "ilike",
        "between",
        "is",
        "null",
        "(",
        ")",
        ",",
        "=",
        "!=",
        "<>",
        "<",
        ">=",
        "'x'",
        "'",
        "''",
        "1",
        "-2",
        "3.5",
        "1e9",
        "\"",
        ";",
        "--",
        "/*",
        "\\",
        "%",
        "\0",
        "é",
        " ",
        "\t",
    ];
    prop::collection::vec(proptest::sample::select(pieces), 0..24).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn generated_searches_bind_every_value(search in expression(), resource in resource()) {
        if let Some(sql) = exercise(&search, resource) {
            assert_values_not_spliced(&search, &sql);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(search in any::<String>(), resource in resource()) {
        exercise(&search, resource);
    }

    #[test]
    fn token_soup_never_panics(search in token_soup(), resource in resource()) {
        exercise(&search, resource);
    }

    #[test]
    fn arbitrary_orderings_never_panic(
        order_by in prop::option::of(prop_oneof![
            any::<String>(),
            "[a-z_.]{1,12}( (asc|DESC|x))?(,[a-z_. ]{0,12}){0,20}",
        ]),
        order in prop::option::of(prop_oneof![any::<String>(), "(?i)(asc|desc)"]),
        resource in resource(),
    ) {
        if let Ok(ordering) = Ordering::parse(order_by.as_deref(), order.as_deref(), resource) {
            let mut qb = QueryBuilder::<Postgres>::new("");
            ordering.push_sql(&mut qb);
            let sql = qb.sql().to_owned();
            assert_eq!(check_sql_shape(&sql), bound_count(&mut qb), "{sql}");
            assert!(sql.ends_with(" ASC") || sql.ends_with(" DESC"), "{sql}");
        }
    }
}

#[test]
fn the_generator_produces_mostly_accepted_searches() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    // Guards the property above against passing vacuously because everything is rejected.
    let mut runner = TestRunner::deterministic();
    let strategy = expression();
    let accepted = (0..500)
        .filter(|_| {
            let search = strategy.new_tree(&mut runner).unwrap().current();
            matches!(Filter::parse(&search, ResourceKind::NodePool), Ok(Some(_)))
        })
        .count();
    assert!(accepted > 100, "only {accepted} of 500 generated searches were accepted");
}

#[test]
fn the_shape_check_rejects_spliced_text() {
    for bad in [
        "(name = 'x')",
        "(name = $1) OR 1=1",
        "(name = $2)",
        "(labels->>'env' = $1)",
        "(name = $1); DROP TABLE clusters",
    ] {
        let result = std::panic::catch_unwind(|| check_sql_shape(bad));
        assert!(result.is_err(), "{bad} should fail the shape check");
    }
    assert_eq!(check_sql_shape(r#"((labels->>$1) COLLATE "C" <> $2)"#), 2);
}
