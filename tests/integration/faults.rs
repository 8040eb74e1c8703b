//! Faults (spec §13.3, §13.2, §13.5): PostgreSQL stopped and restarted under load, a pool
//! held to exhaustion, and SIGTERM to the real binary under load. The outage test runs its own
//! throw-away PostgreSQL cluster (the shared server is never stopped) made with the system's
//! `initdb`/`pg_ctl`; `scripts/dev-db.sh bin` installs them when missing, and the test fails
//! (never skips) when they cannot be had.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

use crate::factories::ClusterFactory;
use crate::helpers::{assert_error, settings_from_flags, spawn_configured, Answer, TestApp};

const MIGRATOR: &sqlx::migrate::Migrator = &hyperfleet::MIGRATOR;
const CLUSTERS: &str = "/api/hyperfleet/v1/clusters";

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A private PostgreSQL cluster in a temporary directory, stopped and deleted on drop.
struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// initdb/pg_ctl as `scripts/dev-db.sh bin` finds them (it installs PostgreSQL when they are
    /// missing); the test fails rather than skips when that is impossible.
    fn bin_dir() -> PathBuf {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/dev-db.sh");
        let output = Command::new(&script).arg("bin").stdin(Stdio::null()).output().expect("scripts/dev-db.sh runs");
        assert!(
            output.status.success(),
            "the fault tests need PostgreSQL's initdb and pg_ctl, and scripts/dev-db.sh could not provide them: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        assert!(dir.join("initdb").exists() && dir.join("pg_ctl").exists(), "no initdb/pg_ctl in {}", dir.display());
        dir
    }

    /// Runs a PostgreSQL tool as the unprivileged `postgres` user when the tests run as root.
    fn tool(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if unsafe { libc::geteuid() } == 0 {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn run(&self, mut command: Command, what: &str) {
        let output = command.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            output.status.success(),
            "{what} failed: {}{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
        );
    }

    fn start_new() -> PrivatePostgres {
        let bin = Self::bin_dir();
        let dir = std::env::temp_dir().join(format!("hyperfleet-faults-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(dir.join("sock")).unwrap();
        if unsafe { libc::geteuid() } == 0 {
            let status = Command::new("chown").args(["-R", "postgres"]).arg(&dir).status().unwrap();
            assert!(status.success(), "chown of {}", dir.display());
        }
        let pg = PrivatePostgres { bin, dir, port: free_port() };
        let mut initdb = pg.tool("initdb");
        initdb.arg("-D").arg(pg.data()).args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"]);
        pg.run(initdb, "initdb");
        pg.start();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            self.port,
            self.dir.join("sock").display()
        );
        let mut start = self.tool("pg_ctl");
        start.arg("-D").arg(self.data()).arg("-l").arg(self.dir.join("postgres.log"));
        start.args(["-w", "-t", "60", "start", "-o", &options]);
        self.run(start, "pg_ctl start");
    }

    /// `immediate`: every backend is killed at once, like a crash or a network cut.
    fn stop_immediately(&self) {
        let mut stop = self.tool("pg_ctl");
        stop.arg("-D").arg(self.data()).args(["-m", "immediate", "-w", "stop"]);
        self.run(stop, "pg_ctl stop");
    }

    fn options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new().host("127.0.0.1").port(self.port).username("postgres").database(database)
    }

    /// Creates `name` and migrates it.
    async fn migrated_database(&self, name: &str) {
        let admin = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_with(self.options("postgres"))
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.unwrap();
        admin.close().await;
        let direct =
            sqlx::postgres::PgPoolOptions::new().max_connections(2).connect_with(self.options(name)).await.unwrap();
        MIGRATOR.run(&direct).await.unwrap();
        direct.close().await;
    }

    /// Stops (SIGSTOP) the postmaster and every backend until the guard is dropped: the server
    /// still accepts TCP connections (the kernel does) but answers nothing, like a hung host.
    fn pause(&self) -> Paused {
        let pid_file = std::fs::read_to_string(self.data().join("postmaster.pid")).expect("postmaster.pid");
        let postmaster: i32 = pid_file.lines().next().unwrap().trim().parse().unwrap();
        let mut pids = vec![postmaster];
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            // `pid (comm) state ppid ...`; comm may contain spaces, so split after the last ')'.
            let Some((head, rest)) = stat.rsplit_once(')') else { continue };
            let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse::<i32>().ok());
            if ppid == Some(postmaster) {
                pids.extend(head.split_whitespace().next().and_then(|p| p.parse::<i32>().ok()));
            }
        }
        for pid in &pids {
            assert_eq!(unsafe { libc::kill(*pid, libc::SIGSTOP) }, 0, "SIGSTOP {pid}");
        }
        Paused(pids)
    }
}

/// Paused PostgreSQL processes, continued on drop.
struct Paused(Vec<i32>);

impl Drop for Paused {
    fn drop(&mut self) {
        for pid in &self.0 {
            unsafe { libc::kill(*pid, libc::SIGCONT) };
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let mut stop = self.tool("pg_ctl");
        stop.arg("-D").arg(self.data()).args(["-m", "immediate", "-w", "stop"]);
        let _ = stop.stdout(Stdio::null()).stderr(Stdio::null()).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What one create during the outage test got.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Created,
    Unavailable,
}

const DOWN_REASONS: [&str; 2] =
    ["Database is unavailable; retry later", "Database connection pool exhausted; retry later"];

#[tokio::test]
async fn a_database_outage_answers_503_and_recovers_without_half_written_resources() {
    let pg = PrivatePostgres::start_new();
    pg.migrated_database("outage").await;

    let settings =
        settings_from_flags(&["--db-max-open-connections=8", "--db-acquire-timeout=1s", "--db-connect-timeout=1s"]);
    let pool = hyperfleet::db::pool_options(&settings.database).connect_lazy_with(pg.options("outage"));
    let app = Arc::new(TestApp::spawn_settings(pool, settings).await);
    let before = ClusterFactory::new().name("before-the-outage").create(&app).await;

    // Writers create clusters until told to stop; every answer must be 201 or a 503 with the
    // contract's body, and none may take longer than acquire + connect timeouts (plus slack).
    let running = Arc::new(AtomicBool::new(true));
    let mut writers = Vec::new();
    for writer in 0..6 {
        let (app, running) = (Arc::clone(&app), Arc::clone(&running));
        writers.push(tokio::spawn(async move {
            let mut outcomes: Vec<(String, Outcome)> = Vec::new();
            let mut i = 0;
            while running.load(Ordering::Relaxed) {
                i += 1;
                let name = format!("w{writer}-{i}");
                let body = format!(r#"{{"name":"{name}","spec":{{"writer":{writer}}}}}"#);
                let started = Instant::now();
                let answer = Answer::of(app.post(CLUSTERS, &body).await).await;
                let elapsed = started.elapsed();
                assert!(elapsed < Duration::from_secs(8), "{name} took {elapsed:?}: no hang");
                match answer.status {
                    201 => outcomes.push((name, Outcome::Created)),
                    503 => {
                        let reason = answer.body["reason"].as_str().unwrap_or_default().to_owned();
                        assert!(DOWN_REASONS.contains(&reason.as_str()), "{name}: {}", answer.text);
                        assert_error(&answer, 503, 90, &reason);
                        assert_eq!(answer.header("retry-after"), Some("1"));
                        outcomes.push((name, Outcome::Unavailable));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    other => panic!("{name}: {other} {}", answer.text),
                }
            }
            outcomes
        }));
    }

    tokio::time::sleep(Duration::from_millis(700)).await;
    pg.stop_immediately();
    let stopped_at = Instant::now();

    // During the outage: database requests answer 503, the rest keep working.
    let answer = Answer::of(app.get(CLUSTERS).await).await;
    let reason = answer.body["reason"].as_str().unwrap_or_default().to_owned();
    assert!(DOWN_REASONS.contains(&reason.as_str()), "{}", answer.text);
    assert_error(&answer, 503, 90, &reason);
    let answer = Answer::of(app.get(&format!("{CLUSTERS}/{}", before["id"].as_str().unwrap())).await).await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(Answer::of(app.get("/api/hyperfleet").await).await.status, 200, "metadata needs no database");
    assert_eq!(Answer::of(app.get("/api/hyperfleet/v1/compatibility").await).await.status, 200);
    let health = |path: &str| app.client.get(format!("{}{path}", app.health_address)).send();
    assert_eq!(health("/healthz").await.unwrap().status(), 200);
    assert_eq!(health("/readyz").await.unwrap().status(), 503, "not ready while the database is down");

    tokio::time::sleep(Duration::from_secs(2).saturating_sub(stopped_at.elapsed())).await;
    pg.start();

    // Recovery needs no restart: within a few seconds a create succeeds again.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = Answer::of(app.post(CLUSTERS, r#"{"name":"after-the-outage","spec":{}}"#).await).await;
        if answer.status == 201 {
            break;
        }
        assert_eq!(answer.status, 503, "{}", answer.text);
        assert!(Instant::now() < deadline, "the service recovers after the database returns");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.store(false, Ordering::Relaxed);
    let mut outcomes: HashMap<String, Outcome> = HashMap::new();
    for writer in writers {
        outcomes.extend(writer.await.expect("no writer panicked"));
    }
    assert_eq!(health("/readyz").await.unwrap().status(), 200, "ready again");
    let created = outcomes.values().filter(|o| **o == Outcome::Created).count();
    let refused = outcomes.values().filter(|o| **o == Outcome::Unavailable).count();
    assert!(created > 0 && refused > 0, "load ran before and during the outage: {created} created, {refused} refused");

    // No half-written resources: every 201 exists with its Create event; a 503 left either
    // nothing or (a commit whose answer was lost, §13.3) the whole resource with its event.
    let check =
        sqlx::postgres::PgPoolOptions::new().max_connections(1).connect_with(pg.options("outage")).await.unwrap();
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT c.name, c.spec::text, (SELECT count(*) FROM events e \
           WHERE e.source = 'Clusters' AND e.source_id = c.id AND e.event_type = 'Create') \
         FROM clusters c",
    )
    .fetch_all(&check)
    .await
    .unwrap();
    let stored: HashMap<String, (String, i64)> = rows.into_iter().map(|(n, s, e)| (n, (s, e))).collect();
    for (name, outcome) in &outcomes {
        match (outcome, stored.get(name)) {
            (_, Some((spec, events))) => {
                assert!(spec.contains("writer"), "{name}: whole spec stored: {spec}");
                assert_eq!(*events, 1, "{name}: exactly one Create event");
            }
            (Outcome::Created, None) => panic!("{name} got 201 but is not stored"),
            (Outcome::Unavailable, None) => {}
        }
    }
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'Create'").fetch_one(&check).await.unwrap();
    assert_eq!(events as usize, stored.len(), "one Create event per stored cluster, no orphans");
    let listed = app.get_json(&format!("{CLUSTERS}?pageSize=1000"), 200).await;
    assert_eq!(listed["total"].as_u64().unwrap() as usize, stored.len());
    check.close().await;
}

/// Holds `FOR UPDATE` on a cluster row from outside the application until dropped.
async fn lock_cluster(pool: &PgPool, id: &str) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM clusters WHERE id = $1::uuid FOR UPDATE").bind(id).execute(&mut *tx).await.unwrap();
    tx
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_exhausted_pool_answers_503_within_the_acquire_timeout(pool: PgPool) {
    let app = Arc::new(spawn_configured(&pool, &["--db-max-open-connections=2", "--db-acquire-timeout=500ms"]).await);
    let cluster = ClusterFactory::new().create(&app).await;
    let path = cluster["href"].as_str().unwrap().to_owned();
    let lock = lock_cluster(&pool, cluster["id"].as_str().unwrap()).await;

    // Two PATCHes wait for the row lock, each holding one of the pool's two connections.
    let mut holders = Vec::new();
    for i in 0..2 {
        let (app, path) = (Arc::clone(&app), path.clone());
        holders.push(tokio::spawn(async move {
            Answer::of(app.patch(&path, &format!(r#"{{"labels":{{"holder":"h{i}"}}}}"#)).await).await
        }));
    }
    // Wait until Postgres shows both blocked on the lock (pool statistics alone can also count a
    // connection the background gauge refresh holds for a moment).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if waiting >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "both PATCHes wait on the lock, holding both connections");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    for (method, path) in [(reqwest::Method::GET, CLUSTERS.to_owned()), (reqwest::Method::GET, path.clone())] {
        let started = Instant::now();
        let answer = Answer::of(app.request(method, &path, None).await).await;
        let elapsed = started.elapsed();
        assert_error(&answer, 503, 90, "Database connection pool exhausted; retry later");
        assert_eq!(answer.header("retry-after"), Some("1"));
        assert!(
            elapsed >= Duration::from_millis(450) && elapsed < Duration::from_secs(3),
            "{path}: answered after the acquire timeout, not a hang: {elapsed:?}"
        );
    }

    lock.rollback().await.unwrap();
    for holder in holders {
        let answer = holder.await.unwrap();
        assert_eq!(answer.status, 200, "the waiting requests complete: {}", answer.text);
    }
    assert_eq!(app.get_json(CLUSTERS, 200).await["total"], 1, "the pool serves again");
}

#[tokio::test]
async fn readiness_says_database_ping_timeout_while_the_database_is_paused() {
    let pg = PrivatePostgres::start_new();
    pg.migrated_database("paused").await;
    let settings = settings_from_flags(&[]);
    let pool = hyperfleet::db::pool_options(&settings.database).connect_lazy_with(pg.options("paused"));
    let app = TestApp::spawn_settings(pool, settings).await;
    let readyz =
        || async { Answer::of(app.client.get(format!("{}/readyz", app.health_address)).send().await.unwrap()).await };
    let timed_out = serde_json::json!({"status": "unavailable", "reason": "database ping timeout"});

    // Paused before the pool holds a connection: opening one hangs in the start-up handshake.
    let paused = pg.pause();
    let started = Instant::now();
    let answer = readyz().await;
    assert_eq!((answer.status, &answer.body), (503, &timed_out), "{}", answer.text);
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(4), "after the 2 s ping: {elapsed:?}");
    drop(paused);
    let deadline = Instant::now() + Duration::from_secs(15);
    while readyz().await.status != 200 {
        assert!(Instant::now() < deadline, "ready again once the database answers");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Paused with an idle pooled connection: the `SELECT 1` on it hangs.
    let paused = pg.pause();
    let answer = readyz().await;
    assert_eq!((answer.status, &answer.body), (503, &timed_out), "{}", answer.text);
    drop(paused);
    let deadline = Instant::now() + Duration::from_secs(15);
    while readyz().await.status != 200 {
        assert!(Instant::now() < deadline, "ready again once the database answers");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `postgres://user@host:port/db` of the test's database, for the real binary.
pub(crate) async fn database_url(pool: &PgPool) -> String {
    let options = pool.connect_options();
    let database: String = sqlx::query_scalar("SELECT current_database()").fetch_one(pool).await.unwrap();
    format!("postgres://{}@{}:{}/{database}", options.get_username(), options.get_host(), options.get_port())
}

struct Server {
    child: std::process::Child,
    api: String,
    health: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_binary(pool: &PgPool, log: &Path) -> Server {
    let (api_port, health_port, metrics_port) = (free_port(), free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_hyperfleet"))
        .arg("serve")
        .arg("--enable-jwt=false")
        .arg(format!("--api-server-bindaddress=127.0.0.1:{api_port}"))
        .arg(format!("--health-check-server-bindaddress=127.0.0.1:{health_port}"))
        .arg(format!("--metrics-server-bindaddress=127.0.0.1:{metrics_port}"))
        .arg("--api-workers=2")
        .arg("--shutdown-timeout=20s")
        .env("HYPERFLEET_DATABASE_URL", database_url(pool).await)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("the hyperfleet binary starts");
    let server = Server {
        child,
        api: format!("http://127.0.0.1:{api_port}"),
        health: format!("http://127.0.0.1:{health_port}"),
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", server.health)).send().await {
            if r.status() == 200 {
                return server;
            }
        }
        assert!(Instant::now() < deadline, "the binary becomes ready: {}", std::fs::read_to_string(log).unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn sigterm_under_load_turns_readiness_off_first_and_completes_in_flight_requests(pool: PgPool) {
    let log = std::env::temp_dir().join(format!("hyperfleet-sigterm-{}-{}.log", std::process::id(), free_port()));
    let mut server = start_binary(&pool, &log).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let created = Answer::of(
        client.post(format!("{}{CLUSTERS}", server.api)).body(r#"{"name":"drained","spec":{}}"#).send().await.unwrap(),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let path = format!("{}{}", server.api, created.body["href"].as_str().unwrap());
    let lock = lock_cluster(&pool, created.body["id"].as_str().unwrap()).await;

    // Requests in flight: PATCHes waiting on the row lock, each on its own connection.
    let mut in_flight = Vec::new();
    for i in 0..4 {
        let (client, path) = (client.clone(), path.clone());
        in_flight.push(tokio::spawn(async move {
            let response = client.patch(&path).body(format!(r#"{{"labels":{{"k{i}":"v"}}}}"#)).send().await;
            Answer::of(response.expect("an in-flight request is answered")).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let signalled = Instant::now();
    assert_eq!(unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) }, 0);
    let readyz = loop {
        let answer = Answer::of(client.get(format!("{}/readyz", server.health)).send().await.unwrap()).await;
        if answer.status == 503 || signalled.elapsed() > Duration::from_secs(2) {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(readyz.status, 503, "readiness turns off at once: {}", readyz.text);
    assert!(readyz.text.contains("shutting down"), "{}", readyz.text);
    assert!(server.child.try_wait().unwrap().is_none(), "still draining while requests are in flight");

    // Let the in-flight requests finish: each completes, with `Connection: close`.
    tokio::time::sleep(Duration::from_millis(500)).await;
    lock.commit().await.unwrap();
    for request in in_flight {
        let answer = request.await.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.header("connection"), Some("close"));
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the process exits after the drain");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0), "everything drained: {}", std::fs::read_to_string(&log).unwrap());
    let labels: serde_json::Value =
        sqlx::query_scalar("SELECT labels FROM clusters WHERE name = 'drained'").fetch_one(&pool).await.unwrap();
    assert_eq!(labels.as_object().unwrap().len(), 1, "each PATCH replaced the labels and committed: {labels}");
    let updates: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'Update'").fetch_one(&pool).await.unwrap();
    assert_eq!(updates, 4, "every in-flight PATCH committed its event");
    let _ = std::fs::remove_file(&log);
}
