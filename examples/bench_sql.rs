//! Writes the pgbench scripts of `make bench` (bench/run.sh): for each scenario, every statement
//! the service sends for one request, `BEGIN`/`COMMIT` included (spec §14.2).
//!
//! The text comes from the code, not from a copy: list and search statements from
//! `dao::lists::resources_statement()`, the `sqlx::query!` statements from the committed `.sqlx/`
//! data (which an offline build checks against the source). Bound parameters become pgbench
//! variables, or literals shaped like what the benchmark's HTTP requests send.
//!
//!     cargo run --example bench_sql -- OUT_DIR       # writes OUT_DIR/<scenario>.sql
//!     cargo run --example bench_sql                  # prints every script
//!     cargo run --example bench_sql -- --statements  # the list statements, `name<TAB>sql` a line

use std::fs;
use std::path::{Path, PathBuf};

use hyperfleet::dao::lists::{resources_statement, ResourceQuery};
use hyperfleet::model::kind::ResourceKind;
use hyperfleet::search::{Filter, Ordering};

/// A random seeded cluster: `bench_ids` is filled by bench/run.sh with the ids it seeded through
/// the API, numbered 1..n; `:n` is drawn per transaction.
const RANDOM_CLUSTER: &str = "(SELECT id FROM bench_ids WHERE n = :n)";
const DRAW_CLUSTER: &str = "\\set n random(1, :nids)\n";

/// The stored conditions and aggregated adapters a status report of the benchmark produces.
const CONDITIONS: &str = r#"'[{"adapter": "bench-1", "type": "Available", "status": "True", "reason": "Bench", "message": "load test", "observed_generation": 1, "created_at": "2025-01-01T00:00:00.000000Z", "updated_at": "2025-01-01T00:00:00.000000Z", "last_transition_time": "2025-01-01T00:00:00.000000Z"}]'::jsonb"#;
const ADAPTERS: &str = r#"'[{"adapter": "bench-1", "type": "Available", "status": "True", "reason": "Bench", "message": "load test", "observed_generation": 1, "created_at": "2025-01-01T00:00:00.000000Z", "updated_at": "2025-01-01T00:00:00.000000Z"}]'::jsonb"#;

fn main() {
    let queries = stored_queries();
    let find = |what: &str, matches: &dyn Fn(&str) -> bool| -> String {
        let found: Vec<&String> = queries.iter().filter(|q| matches(q)).collect();
        assert!(found.len() == 1, "expected one .sqlx query for {what}, found {}", found.len());
        found[0].clone()
    };
    let get = find("clusters::get", &|q| q.ends_with("FROM clusters WHERE id = $1 AND deleted_at IS NULL"));
    let lock =
        find("clusters::lock", &|q| q.ends_with("FROM clusters WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"));
    let insert = find("clusters::insert", &|q| q.starts_with("INSERT INTO clusters"));
    let append = find("events::append", &|q| q.contains("INSERT INTO events") && q.contains("pg_notify"));
    let for_resource = find("statuses::for_resource", &|q| q.contains("FROM (SELECT 1) AS one"));
    let upsert = find("statuses::upsert", &|q| q.starts_with("INSERT INTO adapter_statuses"));
    let update_status =
        find("clusters::update_status", &|q| q.starts_with("UPDATE clusters") && q.contains("SET status_phase"));

    let list = list_statement(ResourceKind::Cluster, None, None);
    let search = list_statement(ResourceKind::Cluster, None, Some("labels.team='team-0'"));
    if std::env::args().nth(1).as_deref() == Some("--statements") {
        // What bench/scale.sh PREPAREs and EXPLAINs: the page and count of each kind of list.
        let statements = [
            ("clusters", list),
            ("clusters_label", search),
            ("clusters_phase", list_statement(ResourceKind::Cluster, None, Some("status.phase='Ready'"))),
            ("clusters_by_name", list_statement(ResourceKind::Cluster, Some("name"), None)),
            ("nodepools", list_statement(ResourceKind::NodePool, None, None)),
            ("clusters_keyset", keyset_statement()),
        ];
        for (name, sql) in statements {
            println!("{name}\t{}", one_line(&sql));
        }
        return;
    }

    // `labels.team='team-<t>'` is bound as the containment document {"team": "team-<t>"}.
    let team = r#"('{"team": "team-' || :t::text || '"}')::jsonb"#;
    let status = |cluster: &str| {
        let adapter = "('bench-' || :a::text)";
        [
            "BEGIN".to_owned(),
            bind(&lock, &[cluster]),
            bind(&for_resource, &["'Cluster'", cluster]),
            bind(&upsert, &["'Cluster'", cluster, adapter, "1", CONDITIONS, "'{}'::jsonb", "NULL", "now()", "now()"]),
            bind(&update_status, &[cluster, "'Ready'", "1", ADAPTERS, "false"]),
            "COMMIT".to_owned(),
        ]
    };
    let scripts: Vec<(&str, String)> = vec![
        ("get", script(DRAW_CLUSTER, &[bind(&get, &[RANDOM_CLUSTER])])),
        ("list", script("", &[bind(&list, &["0", "100", "0"])])),
        ("search", script("\\set t random(0, 99)\n", &[bind(&search, &[team, team, "0", "100", "0"])])),
        (
            "create",
            script(
                "",
                &[
                    "BEGIN".to_owned(),
                    bind(
                        &insert,
                        &[
                            "gen_random_uuid()",
                            "'pgbench-' || gen_random_uuid()",
                            r#"'{"region": "us-east-1", "version": "4.15", "nodes": 3}'::jsonb"#,
                            r#"'{"env": "bench", "team": "team-new"}'::jsonb"#,
                            "'system'",
                        ],
                    ),
                    bind(&append, &["ARRAY['Clusters']", "ARRAY[gen_random_uuid()]", "ARRAY['Create']"]),
                    "COMMIT".to_owned(),
                ],
            ),
        ),
        ("status", script(&format!("{DRAW_CLUSTER}\\set a random(1, 4)\n"), &status(RANDOM_CLUSTER))),
        ("status_hot", script("\\set a random(1, 4)\n", &status(":cid"))),
    ];

    match std::env::args_os().nth(1).map(PathBuf::from) {
        Some(dir) => {
            fs::create_dir_all(&dir).expect("create the output directory");
            for (name, text) in &scripts {
                fs::write(dir.join(format!("{name}.sql")), text).expect("write a script");
            }
        }
        None => {
            for (name, text) in &scripts {
                println!("-- {name}.sql\n{text}");
            }
        }
    }
}

/// The statement of `GET /clusters` (or `/nodepools`) with this `orderBy` and `search`.
fn list_statement(kind: ResourceKind, order_by: Option<&str>, search: Option<&str>) -> String {
    let ordering = Ordering::parse(order_by, None, kind).expect("a valid ordering");
    let filter = search.map(|s| Filter::parse(s, kind).expect("a valid search").expect("a filter"));
    resources_statement(&ResourceQuery {
        kind,
        cluster: None,
        filter: filter.as_ref(),
        ordering: &ordering,
        limit: 100,
        offset: 0,
    })
    .into_sql()
}

/// The statement of `GET /clusters?after_id=…` (a keyset walk, ascending ids).
fn keyset_statement() -> String {
    let ordering = Ordering::after_id(uuid::Uuid::nil(), false);
    let query = ResourceQuery {
        kind: ResourceKind::Cluster,
        cluster: None,
        filter: None,
        ordering: &ordering,
        limit: 100,
        offset: 0,
    };
    resources_statement(&query).into_sql()
}

fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of every `sqlx::query!` of the crate, from the committed offline data.
fn stored_queries() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".sqlx");
    let mut queries = Vec::new();
    for entry in fs::read_dir(&dir).expect("read .sqlx/") {
        let text = fs::read_to_string(entry.expect("a .sqlx entry").path()).expect("read a .sqlx file");
        let data: serde_json::Value = serde_json::from_str(&text).expect("a .sqlx file is JSON");
        queries.push(data["query"].as_str().expect("a query text").to_owned());
    }
    queries
}

/// Replaces `$1`, `$2`, … with the given SQL fragments (pgbench variables or literals).
fn bind(sql: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            out.push('$');
            rest = &rest[at + 1..];
            continue;
        }
        let n: usize = rest[at + 1..at + 1 + digits].parse().expect("a parameter number");
        out.push_str(args.get(n - 1).unwrap_or_else(|| panic!("no value for ${n} in {sql}")));
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    out
}

/// A pgbench script: the meta-commands, then one statement per line (pgbench ends a statement at
/// a semicolon, so each is flattened to one line).
fn script(meta: &str, statements: &[String]) -> String {
    let mut out = meta.to_owned();
    for statement in statements {
        out.push_str(&one_line(statement));
        out.push_str(";\n");
    }
    out
}
