//! The `hyperfleet` binary itself: sub-commands, configuration errors and exit statuses.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use sqlx::PgPool;

const BIN: &str = env!("CARGO_BIN_EXE_hyperfleet");

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args).env_remove("DATABASE_URL").stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The URL of a test database (the test pool's connect options, without a password).
fn database_url(pool: &PgPool) -> String {
    let o = pool.connect_options();
    format!("postgres://{}@{}:{}/{}", o.get_username(), o.get_host(), o.get_port(), o.get_database().unwrap())
}

#[test]
fn version_prints_one_line_with_commit_and_build_time() {
    let output = run(&["version"], &[]);
    assert_eq!(output.status.code(), Some(0));
    let line = stdout(&output);
    let prefix = format!("hyperfleet {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(line.starts_with(&prefix), "{line}");
    assert!(line.contains(", built "), "{line}");
    assert!(!line.contains("commit ,") && !line.contains("built )"), "never empty: {line}");
    assert_eq!(line.lines().count(), 1);
}

#[test]
fn help_exits_zero_and_missing_or_unknown_commands_exit_two() {
    let help = run(&["--help"], &[]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("serve"));
    assert_eq!(run(&["help", "serve"], &[]).status.code(), Some(0));

    let none = run(&[], &[]);
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("Usage"), "{}", stderr(&none));
    let unknown = run(&["frobnicate"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
    let flag = run(&["serve", "--no-such-flag"], &[]);
    assert_eq!(flag.status.code(), Some(2));
    assert!(stderr(&flag).contains("--no-such-flag"));
}

#[test]
fn invalid_values_exit_two_naming_the_option() {
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 8] = [
        (&["serve", "--db-acquire-timeout=5x"], &[], "--db-acquire-timeout"),
        (&["serve", "--db-max-open-connections=0"], &[], "--db-max-open-connections"),
        (&["serve", "--enable-jwt=maybe"], &[], "--enable-jwt"),
        (&["serve", "--log-level=loud"], &[], "--log-level"),
        (&["serve", "--db-sslmode=sometimes"], &[], "--db-sslmode"),
        (&["serve"], &[("HYPERFLEET_SHUTDOWN_TIMEOUT", "1.5s")], "--shutdown-timeout"),
        (&["serve", "--enable-jwt=false", "--api-server-bindaddress=localhost"], &[], "--api-server-bindaddress"),
        (&["migrate", "--database-url=postgres://u@h:notaport/db"], &[], "--database-url"),
    ];
    for (args, env, flag) in cases {
        let output = run(args, env);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(flag), "{args:?} must name {flag}: {}", stderr(&output));
        assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    }
}

#[test]
fn serve_refuses_jwt_without_a_key_source() {
    let output = run(&["serve"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(
            "JWT authentication is enabled but no JWKS source is configured (--jwk-cert-file or --jwk-cert-url); use --enable-jwt=false to disable authentication"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_explicit_secret_file_that_is_missing_fails_start_up() {
    let output = run(&["migrate", "--db-host-file=/nonexistent/db.host"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("/nonexistent/db.host"), "{}", stderr(&output));
}

#[test]
fn a_port_that_is_taken_fails_start_up_with_status_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("--api-server-bindaddress=127.0.0.1:{}", taken.local_addr().unwrap().port());
    let output = run(
        &[
            "serve",
            "--enable-jwt=false",
            &address,
            "--metrics-server-bindaddress=127.0.0.1:0",
            "--health-check-server-bindaddress=127.0.0.1:0",
            "--database-url=postgres://u@127.0.0.1:1/db",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("--api-server-bindaddress"), "{}", stderr(&output));
}

#[sqlx::test(migrations = false)]
async fn migrate_applies_each_migration_once_and_is_idempotent(pool: PgPool) {
    let url = database_url(&pool);
    let first = run(&["migrate", "--database-url", &url], &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(
        stdout(&first),
        "applied migration 1 create clusters\napplied migration 2 create node pools\n\
         applied migration 3 create adapter statuses\napplied migration 4 create events\n\
         applied migration 5 event publication\napplied migration 6 events ordered by transaction\n\
         applied migration 7 create resource counts\n"
    );
    let second = run(&["migrate"], &[("DATABASE_URL", url.as_str())]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(stdout(&second), "database schema is up to date\n");
}

#[sqlx::test(migrations = false)]
async fn concurrent_migrate_runs_wait_for_each_other(pool: PgPool) {
    let url = database_url(&pool);
    let spawn = || {
        Command::new(BIN)
            .args(["migrate", "--database-url", &url])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children: Vec<_> = (0..3).map(|_| spawn()).collect();
    let outputs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for output in &outputs {
        assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
    }
    let applied: usize = outputs.iter().map(|o| stdout(o).matches("applied migration").count()).sum();
    assert_eq!(applied, 7, "every migration applied exactly once");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations").fetch_one(&pool).await.unwrap();
    assert_eq!(count, 7);
}

#[sqlx::test(migrations = false)]
async fn migrate_refuses_a_changed_migration(pool: PgPool) {
    let url = database_url(&pool);
    assert_eq!(run(&["migrate", "--database-url", &url], &[]).status.code(), Some(0));
    sqlx::query("UPDATE _sqlx_migrations SET checksum = '\\x00' WHERE version = 2").execute(&pool).await.unwrap();
    let output = run(&["migrate", "--database-url", &url], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("migration 2 was changed"), "{}", stderr(&output));
}

#[sqlx::test(migrator = "hyperfleet::MIGRATOR")]
async fn serve_answers_then_exits_zero_on_sigterm_without_logging_the_password(pool: PgPool) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let o = pool.connect_options();
    let url = format!(
        "postgres://{}:s3cr3t-pw@{}:{}/{}",
        o.get_username(),
        o.get_host(),
        o.get_port(),
        o.get_database().unwrap()
    );
    let child = Command::new(BIN)
        .args([
            "serve",
            "--enable-jwt=false",
            &format!("--api-server-bindaddress=127.0.0.1:{port}"),
            "--metrics-server-bindaddress=127.0.0.1:0",
            "--health-check-server-bindaddress=127.0.0.1:0",
            "--log-format=json",
        ])
        .env("DATABASE_URL", &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut answered = false;
    for _ in 0..100 {
        if let Ok(response) = client.get(format!("http://127.0.0.1:{port}/api/hyperfleet")).send().await {
            assert_eq!(response.status(), 200);
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered, "serve answers on its port");
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let logs = stderr(&output);
    assert!(logs.contains("hyperfleet started"), "{logs}");
    assert!(logs.contains("shutdown complete"), "{logs}");
    assert!(!logs.contains("s3cr3t-pw"), "the password is never logged");
    for line in logs.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("every log line is JSON");
        assert!(record.get("level").is_some() && record.get("timestamp").is_some(), "{line}");
    }
}
