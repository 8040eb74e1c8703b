//! The command-line client (`hyperfleet clusters|nodepools|statuses|events …`): the real binary
//! against a real server on the test's database. Outputs, messages and exit statuses are
//! asserted exactly; in tables only the age cells vary, and they are checked then masked.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::auth::{claims, spawn_with_file, Key};
use crate::factories::{ClusterFactory, NodePoolFactory};
use crate::helpers::{settings_from_flags, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_hyperfleet");
const CLUSTERS: &str = "/api/hyperfleet/v1/clusters";
const UNKNOWN: &str = "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts exit status 0 and a quiet stderr.
    #[track_caller]
    fn ok(&self) -> &Run {
        assert_eq!(self.code, Some(0), "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        assert_eq!(self.stderr, "", "nothing on stderr");
        self
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is JSON ({e}): {}", self.stdout))
    }
}

/// The client aimed at `server` through `HYPERFLEET_URL`, with no token or timeout inherited.
fn client(server: &str, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("HYPERFLEET_URL", server)
        .env_remove("HYPERFLEET_TOKEN")
        .env_remove("HYPERFLEET_REQUEST_TIMEOUT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

async fn run(mut command: Command, stdin: Option<&str>) -> Run {
    if stdin.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = command.spawn().expect("the client starts");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).await.unwrap();
    }
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the client finishes within 60 s")
        .unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

async fn hf(app: &TestApp, args: &[&str]) -> Run {
    run(client(&app.address, args), None).await
}

/// Table lines with the cells of the `column` (an age) checked to be under a minute, then
/// replaced by `<age>` padded to the cell's width, so everything else compares exactly.
#[track_caller]
fn masked(table: &str, column: &str) -> Vec<String> {
    let mut lines = table.lines();
    let header = lines.next().expect("a header line");
    let start = header.find(column).expect("the age column");
    // The cell ends where the next header starts (or at the end of the line).
    let end = header[start + column.len()..].find(|c: char| c != ' ').map(|i| start + column.len() + i);
    let mut out = vec![header.to_owned()];
    for line in lines {
        let cell_end = end.unwrap_or(line.len()).min(line.len());
        let age = line[start..cell_end].trim_end();
        let seconds = age.strip_suffix('s').and_then(|n| n.parse::<u32>().ok());
        assert!(seconds.is_some_and(|s| s < 60), "age {age:?} in {line:?}");
        let cell = match end {
            Some(end) => format!("{:<w$}", "<age>", w = end - start),
            None => "<age>".to_owned(),
        };
        out.push(format!("{}{cell}{}", &line[..start], &line[cell_end..]));
    }
    out
}

/// A table line from cells and the widths of their columns (cell width + three spaces).
fn line(cells: &[(&str, usize)]) -> String {
    let mut text = String::new();
    for (i, (cell, width)) in cells.iter().enumerate() {
        if i + 1 == cells.len() {
            text.push_str(cell);
        } else {
            text.push_str(&format!("{cell:<width$}"));
        }
    }
    text
}

fn temp_file(name: &str, content: &str) -> String {
    let dir = std::env::temp_dir().join(format!("hyperfleet-client-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

#[sqlx::test(migrator = "hyperfleet::MIGRATOR")]
async fn a_cluster_goes_from_create_through_a_status_report_to_delete(pool: PgPool) {
    let app = TestApp::spawn(pool).await;

    let created = run(
        client(
            &app.address,
            &["clusters", "create", "--name", "alpha", "--spec", "-", "--label", "env=prod", "-o", "json"],
        ),
        Some("region: eu-west-1\nnodes: 3\n"),
    )
    .await;
    let cluster = created.ok().json();
    let cluster_id = id(&cluster);
    assert_eq!(cluster["spec"], json!({"region": "eu-west-1", "nodes": 3}), "the YAML spec from stdin");
    assert_eq!(cluster["labels"], json!({"env": "prod"}));
    assert_eq!(cluster["generation"], 1);
    assert_eq!(cluster["status"]["phase"], "NotReady");
    assert_eq!(cluster, app.get_json(&format!("{CLUSTERS}/{cluster_id}"), 200).await, "the API's JSON");

    let listed = hf(&app, &["clusters", "list", "-o", "json"]).await;
    assert_eq!(listed.ok().json(), json!([cluster]), "a list prints its items");
    let raw = hf(&app, &["clusters", "list", "-o", "json", "--raw"]).await;
    assert_eq!(raw.ok().json(), app.get_json(CLUSTERS, 200).await, "--raw prints the envelope");

    let by_name = hf(&app, &["clusters", "get", "alpha", "-o", "json"]).await;
    assert_eq!(by_name.ok().json(), cluster);

    let spec = temp_file("spec.json", r#"{"region": "eu-west-1", "nodes": 5}"#);
    let patched = hf(&app, &["clusters", "patch", "alpha", "--spec", &spec, "-o", "json"]).await;
    let patched = patched.ok().json();
    assert_eq!(patched["generation"], 2);
    assert_eq!(patched["spec"], json!({"region": "eu-west-1", "nodes": 5}));
    assert_eq!(patched["labels"], json!({"env": "prod"}), "labels are kept when only the spec is given");

    let report = hf(
        &app,
        &[
            "statuses",
            "report",
            "--cluster",
            "alpha",
            "--adapter",
            "dns",
            "--generation",
            "2",
            "--condition",
            "Available=True:DNSReady:records: created",
            "-o",
            "json",
        ],
    )
    .await;
    let status = report.ok().json();
    let stored = app.get_json(&format!("{CLUSTERS}/{cluster_id}/statuses"), 200).await;
    assert_eq!(status, stored["items"][0], "the stored report is printed");
    assert_eq!(status["observed_generation"], 2);
    let condition = &status["conditions"][0];
    assert_eq!(
        (&condition["type"], &condition["status"], &condition["reason"], &condition["message"]),
        (&json!("Available"), &json!("True"), &json!("DNSReady"), &json!("records: created")),
    );

    let stale =
        hf(&app, &["statuses", "report", "--cluster", &cluster_id, "--adapter", "dns", "--generation", "1"]).await;
    assert_eq!(
        (stale.code, stale.stdout.as_str(), stale.stderr.as_str()),
        (
            Some(0),
            "",
            "hyperfleet: the report of adapter 'dns' was discarded as stale: the stored report has a higher \
             observed_generation\n"
        ),
        "a stale report (204) is not an error"
    );

    let shown = hf(&app, &["clusters", "get", &cluster_id]).await;
    assert_eq!(
        masked(&shown.ok().stdout, "AGE"),
        [
            line(&[("NAME", 8), ("ID", 39), ("PHASE", 8), ("GENERATION", 13), ("AGE", 6), ("LABELS", 0)]),
            line(&[("alpha", 8), (&cluster_id, 39), ("Ready", 8), ("2", 13), ("<age>", 6), ("env=prod", 0)]),
        ],
        "the phase after the report"
    );

    let deleted = hf(&app, &["clusters", "delete", "alpha"]).await;
    assert_eq!(deleted.ok().stdout, "cluster/alpha deleted\n");
    app.get_json(&format!("{CLUSTERS}/{cluster_id}"), 404).await;

    let gone = hf(&app, &["clusters", "get", &cluster_id]).await;
    assert_eq!(gone.code, Some(1));
    assert_eq!(
        gone.stderr,
        format!("hyperfleet: error: Cluster with id='{cluster_id}' not found (HTTP 404, hyperfleet-7)\n")
    );
    assert_eq!(gone.stdout, "");
}

#[sqlx::test(migrator = "hyperfleet::MIGRATOR")]
async fn tables_names_yaml_and_pages_print_what_the_api_returns(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let alpha =
        ClusterFactory::new().name("alpha").labels(json!({"team": "platform", "env": "prod"})).create(&app).await;
    let beta = ClusterFactory::new().name("beta-cluster").create(&app).await;
    let (alpha_id, beta_id) = (id(&alpha), id(&beta));

    let table = hf(&app, &["clusters", "list"]).await;
    let widths = |name, id, labels| [(name, 15), (id, 39), ("NotReady", 11), ("1", 13), ("<age>", 6), (labels, 0)];
    assert_eq!(
        masked(&table.ok().stdout, "AGE"),
        [
            line(&[("NAME", 15), ("ID", 39), ("PHASE", 11), ("GENERATION", 13), ("AGE", 6), ("LABELS", 0)]),
            line(&widths("beta-cluster", beta_id.as_str(), "<none>")),
            line(&widths("alpha", alpha_id.as_str(), "env=prod,team=platform")),
        ],
        "newest first, labels sorted by key"
    );

    let names = hf(&app, &["clusters", "list", "--order-by", "name", "-o", "name"]).await;
    assert_eq!(names.ok().stdout, "cluster/alpha\ncluster/beta-cluster\n");
    let filtered = hf(&app, &["clusters", "list", "--search", "labels.env = 'prod'", "-o", "name"]).await;
    assert_eq!(filtered.ok().stdout, "cluster/alpha\n");
    let none = hf(&app, &["clusters", "list", "--search", "name = 'nothing'"]).await;
    assert_eq!((none.code, none.stdout.as_str(), none.stderr.as_str()), (Some(0), "", "no clusters found\n"));
    let empty_json = hf(&app, &["clusters", "list", "--search", "name = 'nothing'", "-o", "json"]).await;
    assert_eq!(empty_json.ok().json(), json!([]));

    let first_page = hf(&app, &["clusters", "list", "--page-size", "1", "-o", "table"]).await;
    assert_eq!(first_page.code, Some(0));
    assert_eq!(first_page.stdout.lines().count(), 2, "a header and one row");
    assert_eq!(
        first_page.stderr,
        "hyperfleet: showing 1 of 2 clusters (page 1); use --page, --page-size or --all for the others\n",
        "a partial table says so"
    );
    let second_page = hf(&app, &["clusters", "list", "--page", "2", "--page-size", "1", "-o", "json"]).await;
    assert_eq!(second_page.ok().json(), json!([alpha]));
    let every_page =
        hf(&app, &["clusters", "list", "--all", "--page-size", "1", "--order-by", "name", "-o", "json"]).await;
    assert_eq!(every_page.ok().json(), json!([alpha, beta]), "--all follows every page");

    let yaml = hf(&app, &["clusters", "get", "alpha", "-o", "yaml"]).await;
    let parsed: Value = serde_norway::from_str(&yaml.ok().stdout).expect("the output is YAML");
    assert_eq!(parsed, alpha);
    assert!(yaml.stdout.lines().any(|l| l == "name: alpha"), "{}", yaml.stdout);

    hf(
        &app,
        &[
            "statuses",
            "report",
            "--cluster",
            &beta_id,
            "--adapter",
            "dns",
            "--generation",
            "1",
            "--condition",
            "Available=True",
            "--condition",
            "Healthy=Unknown:Probing",
        ],
    )
    .await
    .ok();
    hf(&app, &["statuses", "report", "--cluster", "beta-cluster", "--adapter", "validation", "--generation", "1"])
        .await
        .ok();
    let statuses = hf(&app, &["statuses", "list", "--cluster", "beta-cluster"]).await;
    assert_eq!(
        masked(&statuses.ok().stdout, "UPDATED"),
        [
            line(&[("ADAPTER", 13), ("GENERATION", 13), ("CONDITIONS", 33), ("UPDATED", 0)]),
            line(&[("dns", 13), ("1", 13), ("Available=True,Healthy=Unknown", 33), ("<age>", 0)]),
            line(&[("validation", 13), ("1", 13), ("<none>", 33), ("<age>", 0)]),
        ]
    );
    let statuses_yaml = hf(&app, &["statuses", "list", "--cluster", "beta-cluster", "-o", "yaml", "--raw"]).await;
    let parsed: Value = serde_norway::from_str(&statuses_yaml.ok().stdout).unwrap();
    assert_eq!(parsed, app.get_json(&format!("{CLUSTERS}/{beta_id}/statuses"), 200).await);
    let statuses_names = hf(&app, &["statuses", "list", "--cluster", "beta-cluster", "-o", "name"]).await;
    assert_eq!(statuses_names.ok().stdout, "status/dns\nstatus/validation\n");
}

#[sqlx::test(migrator = "hyperfleet::MIGRATOR")]
async fn node_pools_are_found_by_name_within_a_cluster_and_listed_with_their_cluster_name(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let alpha = ClusterFactory::new().name("alpha").create(&app).await;
    let beta = ClusterFactory::new().name("beta-cluster").create(&app).await;
    let (alpha_id, beta_id) = (id(&alpha), id(&beta));

    let created = hf(
        &app,
        &[
            "nodepools",
            "create",
            "--cluster",
            "alpha",
            "--name",
            "workers",
            "--label",
            "pool_type=worker",
            "-o",
            "json",
        ],
    )
    .await;
    let alpha_workers = created.ok().json();
    assert_eq!(alpha_workers["owner_references"]["id"], alpha_id);
    assert_eq!(alpha_workers["spec"], json!({}), "the spec defaults to an empty object");
    let beta_workers =
        hf(&app, &["nodepools", "create", "--cluster", &beta_id, "--name", "workers", "-o", "json"]).await.ok().json();
    let infra = NodePoolFactory::new(&beta_id).name("infra").create(&app).await;

    let ambiguous = hf(&app, &["nodepools", "get", "workers"]).await;
    assert_eq!(ambiguous.code, Some(1));
    assert_eq!(
        ambiguous.stderr,
        "hyperfleet: error: 2 node pools are named 'workers' (in different clusters); name the cluster with --cluster\n"
    );
    let scoped = hf(&app, &["nodepools", "get", "workers", "--cluster", "alpha", "-o", "json"]).await;
    assert_eq!(scoped.ok().json(), alpha_workers);
    let by_id = hf(&app, &["nodepools", "get", &id(&infra), "-o", "json"]).await;
    assert_eq!(by_id.ok().json(), infra, "an id needs no --cluster");

    let table = hf(&app, &["nodepools", "list", "--order-by", "name"]).await;
    let row = |name, id, cluster, labels| {
        line(&[(name, 10), (id, 39), (cluster, 15), ("NotReady", 11), ("1", 13), ("<age>", 6), (labels, 0)])
    };
    assert_eq!(
        masked(&table.ok().stdout, "AGE"),
        [
            line(&[
                ("NAME", 10),
                ("ID", 39),
                ("CLUSTER", 15),
                ("PHASE", 11),
                ("GENERATION", 13),
                ("AGE", 6),
                ("LABELS", 0)
            ]),
            row("infra", id(&infra).as_str(), "beta-cluster", "<none>"),
            row("workers", id(&alpha_workers).as_str(), "alpha", "pool_type=worker"),
            row("workers", id(&beta_workers).as_str(), "beta-cluster", "<none>"),
        ],
        "all node pools by name, then id; the cluster by name"
    );
    let of_beta = hf(&app, &["nodepools", "list", "--cluster", "beta-cluster", "-o", "name"]).await;
    assert_eq!(of_beta.ok().stdout, "nodepool/infra\nnodepool/workers\n");

    let cleared = hf(&app, &["nodepools", "patch", "workers", "--cluster", "alpha", "--no-labels", "-o", "json"]).await;
    let cleared = cleared.ok().json();
    assert_eq!((&cleared["labels"], &cleared["generation"]), (&json!({}), &json!(2)));

    let report = temp_file(
        "report.yaml",
        "adapter: autoscaler\nobserved_generation: 2\nconditions:\n  - type: Available\n    status: \"False\"\n    reason: NoCapacity\n",
    );
    let reported = hf(
        &app,
        &["statuses", "report", "--cluster", "alpha", "--nodepool", "workers", "--file", &report, "-o", "name"],
    )
    .await;
    assert_eq!(reported.ok().stdout, "status/autoscaler\n");
    let failed = hf(&app, &["nodepools", "get", "workers", "--cluster", "alpha", "-o", "json"]).await;
    assert_eq!(failed.ok().json()["status"]["phase"], "Failed", "the node pool's own status");

    let deleted = hf(&app, &["nodepools", "delete", "workers", "--cluster", "beta-cluster"]).await;
    assert_eq!(deleted.ok().stdout, "nodepool/workers deleted\n");
    let unique_again = hf(&app, &["nodepools", "get", "workers", "-o", "name"]).await;
    assert_eq!(unique_again.ok().stdout, "nodepool/workers\n", "one node pool of that name is left");
}

#[sqlx::test(migrator = "hyperfleet::MIGRATOR")]
async fn refusals_print_the_reason_and_details_and_exit_1(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let alpha = ClusterFactory::new().name("alpha").create(&app).await;
    let alpha_id = id(&alpha);
    NodePoolFactory::new(&alpha_id).name("workers").create(&app).await;
    let name_rule = "name must start and end with lowercase letter or number, and contain only lowercase letters, \
                     numbers, and hyphens";
    let key_rule = "label key '-x' is invalid: must be a Kubernetes label key ([prefix/]name)";
    let status_rule = "conditions[0].status must be one of: True, False, Unknown";
    let generation_rule = "observed_generation must be between 0 and 2147483647";
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["clusters", "get", UNKNOWN],
            format!("hyperfleet: error: Cluster with id='{UNKNOWN}' not found (HTTP 404, hyperfleet-7)\n"),
        ),
        (vec!["clusters", "get", "nope"], "hyperfleet: error: no cluster is named 'nope'\n".into()),
        (vec!["clusters", "delete", "nope"], "hyperfleet: error: no cluster is named 'nope'\n".into()),
        (vec!["clusters", "patch", "nope", "--label", "a=b"], "hyperfleet: error: no cluster is named 'nope'\n".into()),
        (
            vec!["clusters", "list", "--search", "name = \"alpha\""],
            "hyperfleet: error: Failed to parse search query: name = \"alpha\" (HTTP 400, hyperfleet-21)\n".into(),
        ),
        (
            vec!["clusters", "list", "--search", "spec = '{}'"],
            "hyperfleet: error: spec is not a valid field name (HTTP 400, hyperfleet-21)\n".into(),
        ),
        (
            vec!["clusters", "list", "--order-by", "name sideways"],
            "hyperfleet: error: bad order value 'name sideways' (HTTP 400, hyperfleet-21)\n".into(),
        ),
        (
            vec!["clusters", "create", "--name", "Bad_Name", "--label=-x=1"],
            format!(
                "hyperfleet: error: {name_rule}; {key_rule} (HTTP 400, hyperfleet-8)\n  name: {name_rule}\n  labels.-x: {key_rule}\n"
            ),
        ),
        (
            vec!["clusters", "create", "--name", "alpha"],
            "hyperfleet: error: Cluster with name='alpha' already exists (HTTP 409, hyperfleet-6)\n".into(),
        ),
        (
            vec!["clusters", "create", "--name", "gamma", "--spec", "/nonexistent/spec.json"],
            "hyperfleet: error: cannot read /nonexistent/spec.json: No such file or directory (os error 2)\n".into(),
        ),
        (vec!["nodepools", "list", "--cluster", "nope"], "hyperfleet: error: no cluster is named 'nope'\n".into()),
        (
            vec!["nodepools", "get", "nope", "--cluster", "alpha"],
            "hyperfleet: error: no node pool is named 'nope' in cluster 'alpha'\n".into(),
        ),
        (vec!["nodepools", "get", "nope"], "hyperfleet: error: no node pool is named 'nope'\n".into()),
        (vec!["nodepools", "get", UNKNOWN], format!("hyperfleet: error: no node pool has the id '{UNKNOWN}'\n")),
        (
            vec!["nodepools", "get", UNKNOWN, "--cluster", "alpha"],
            format!(
                "hyperfleet: error: NodePool with id='{UNKNOWN}' not found in Cluster with id='{alpha_id}' \
                 (HTTP 404, hyperfleet-7)\n"
            ),
        ),
        (
            vec!["statuses", "report", "--cluster", "alpha", "--adapter", "dns", "--generation", "1", "--condition", "Available=Yes"],
            format!("hyperfleet: error: {status_rule} (HTTP 400, hyperfleet-8)\n  conditions[0].status: {status_rule}\n"),
        ),
        (
            vec!["statuses", "report", "--cluster", "alpha", "--adapter", "dns", "--generation", "-1"],
            format!("hyperfleet: error: {generation_rule} (HTTP 400, hyperfleet-8)\n  observed_generation: {generation_rule}\n"),
        ),
        (
            vec!["events", "list", "--source-id", "x"],
            "hyperfleet: error: source_id must be a UUID (HTTP 400, hyperfleet-21)\n".into(),
        ),
        (
            vec!["events", "watch", "--source-id", "x"],
            "hyperfleet: error: source_id must be a UUID (HTTP 400, hyperfleet-21)\n".into(),
        ),
    ];
    for (args, stderr) in cases {
        let run = hf(&app, &args).await;
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr, stderr, "{args:?}");
        assert_eq!(run.stdout, "", "{args:?}");
    }
    let clusters = app.get_json(CLUSTERS, 200).await;
    assert_eq!(clusters["items"], json!([alpha]), "no refused command changed anything");
}

#[tokio::test]
async fn usage_errors_are_clap_errors_with_exit_status_2() {
    let cases: [(&[&str], &str); 7] = [
        (&["clusters", "patch", "alpha"], "the following required arguments were not provided"),
        (&["clusters", "list", "--page", "2", "--all"], "'--page <PAGE>' cannot be used with '--all'"),
        (&["clusters", "list", "-o", "xml"], "invalid value 'xml' for '--output <OUTPUT>'"),
        (&["clusters", "list", "--server", "localhost:8000"], "invalid value 'localhost:8000' for '--server <SERVER>'"),
        (&["statuses", "report", "--cluster", "alpha"], "the following required arguments were not provided"),
        (
            &[
                "statuses",
                "report",
                "--cluster",
                "a",
                "--adapter",
                "d",
                "--generation",
                "1",
                "--condition",
                "Available",
            ],
            "expected TYPE=STATUS",
        ),
        (&["clusters", "create", "--name", "x", "--label", "novalue"], "expected KEY=VALUE"),
    ];
    for (args, message) in cases {
        let run = run(client("http://127.0.0.1:9", args), None).await;
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{args:?} must say {message:?}: {}", run.stderr);
        assert_eq!(run.stdout, "");
    }
    let help = run(client("http://127.0.0.1:9", &["clusters", "list", "--help"]), None).await;
    assert_eq!(help.code, Some(0));
    assert!(help.stdout.contains("Examples:\n  hyperfleet clusters list\n"), "{}", help.stdout);
}

#[tokio::test]
async fn an_unreachable_or_silent_server_exits_3() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = format!("http://127.0.0.1:{closed_port}");
    for args in [&["clusters", "list"][..], &["events", "watch"], &["nodepools", "get", "workers", "--cluster", "a"]] {
        let down = run(client(&server, args), None).await;
        assert_eq!(down.code, Some(3), "{args:?}");
        assert_eq!(
            down.stderr,
            format!("hyperfleet: error: cannot reach the server at {server}: Connection refused (os error 111)\n"),
            "{args:?}"
        );
        assert_eq!(down.stdout, "");
    }

    // Connections are accepted by the kernel but never answered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("http://{}", silent.local_addr().unwrap());
    let mut command = client(&server, &["clusters", "get", "alpha"]);
    command.env("HYPERFLEET_REQUEST_TIMEOUT", "300ms");
    let waited = run(command, None).await;
    assert_eq!(waited.code, Some(3));
    assert_eq!(waited.stderr, format!("hyperfleet: error: no answer from {server} within 300ms\n"));
}

/// A server on a loopback port that answers every request with `response` and then stays silent.
async fn canned_server(response: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buffer).await;
                let _ = socket.write_all(response.as_bytes()).await;
                // Keep the connection open: a stream without a length then never ends.
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    address
}

#[tokio::test]
async fn answers_that_are_not_the_apis_json_are_reported_without_a_dump() {
    let proxy = canned_server(
        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 29\r\nConnection: close\r\n\r\n\
         <html>upstream is down</html>",
    )
    .await;
    let failed = run(client(&proxy, &["clusters", "list"]), None).await;
    assert_eq!(failed.code, Some(3));
    assert_eq!(failed.stderr, "hyperfleet: error: Bad Gateway: <html>upstream is down</html> (HTTP 502)\n");

    let refused = canned_server("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
    let forbidden = run(client(&refused, &["clusters", "list"]), None).await;
    assert_eq!((forbidden.code, forbidden.stderr.as_str()), (Some(1), "hyperfleet: error: Forbidden (HTTP 403)\n"));

    let garbled = canned_server("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot json!").await;
    let unreadable = run(client(&garbled, &["clusters", "list"]), None).await;
    assert_eq!(unreadable.code, Some(3));
    assert_eq!(
        unreadable.stderr,
        "hyperfleet: error: the server's answer (200 OK) is not JSON: expected ident at line 1 column 2\n"
    );
}

#[tokio::test]
async fn a_silent_watch_stream_is_reopened_after_the_last_event_seen() {
    let event =
        r#"{"kind":"Event","id":"7","source":"Clusters","source_id":"x","event_type":"Delete","created_at":"t"}"#;
    let response: &'static str = Box::leak(
        format!("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nretry: 3000\n\nid: 7\ndata: {event}\n\n")
            .into_boxed_str(),
    );
    let server = canned_server(response).await;
    let mut watch =
        client(&server, &["events", "watch", "--after", "0", "--idle-timeout", "300ms", "-o", "json"]).spawn().unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    assert_eq!(next_line(&mut lines).await, event);
    let mut notes = BufReader::new(watch.stderr.take().unwrap()).lines();
    let note = tokio::time::timeout(Duration::from_secs(10), notes.next_line()).await.unwrap().unwrap().unwrap();
    assert!(note.starts_with("hyperfleet: watch: the stream broke ("), "{note}");
    assert!(note.ends_with("); reconnecting in 3000 ms after event 7"), "{note}");
    let pid = watch.id().unwrap().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().await.unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(10), watch.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(0), "{note}");
}

#[sqlx::test(migrations = false)]
async fn a_server_error_exits_3_with_its_reason(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let run = hf(&app, &["clusters", "list"]).await;
    assert_eq!(run.code, Some(3));
    assert_eq!(
        run.stderr,
        "hyperfleet: error: Database schema is not up to date; run 'hyperfleet migrate' (HTTP 503, hyperfleet-90)\n"
    );
}

#[sqlx::test(migrator = "hyperfleet::MIGRATOR")]
async fn the_token_is_sent_as_bearer_and_a_refused_one_exits_1_with_the_reason(pool: PgPool) {
    let key = Key::ec("cli-key");
    let app = spawn_with_file(pool, &[&key]).await;
    let token = key.sign(&claims());

    let mut command = client(&app.address, &["clusters", "create", "--name", "secure", "-o", "json"]);
    command.env("HYPERFLEET_TOKEN", &token);
    let created = run(command, None).await;
    assert_eq!(created.ok().json()["created_by"], "alice@example.com", "the identity of the token");
    let listed = hf(&app, &["clusters", "list", "-o", "name", "--token", &token]).await;
    assert_eq!(listed.ok().stdout, "cluster/secure\n");

    let mut expired_claims = claims();
    expired_claims["exp"] = json!(expired_claims["iat"].as_i64().unwrap() - 3600);
    let expired = key.sign(&expired_claims);
    let cases = [
        (None, "Request doesn't contain the 'Authorization' header"),
        (Some("not-a-jwt"), "Bearer token is malformed"),
        (Some(expired.as_str()), "Bearer token is expired"),
    ];
    for (token, reason) in cases {
        let mut args = vec!["clusters", "get", "secure"];
        if let Some(token) = token {
            args.extend(["--token", token]);
        }
        let refused = hf(&app, &args).await;
        assert_eq!(refused.code, Some(1), "{token:?}");
        assert_eq!(refused.stderr, format!("hyperfleet: error: {reason} (HTTP 401, hyperfleet-15)\n"));
        assert!(!refused.stderr.contains(&expired), "the token is never printed");
    }
}

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    tokio::time::timeout(Duration::from_secs(15), lines.next_line())
        .await
        .expect("a line within 15 s")
        .unwrap()
        .expect("the client is still running")
}

/// Ctrl-C, as a terminal sends it; the watch must then exit 0.
async fn interrupt(mut child: Child) -> (Option<i32>, String) {
    let pid = child.id().unwrap().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().await.unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("exits on Ctrl-C").unwrap();
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).await.unwrap();
    (status.code(), stderr)
}

#[sqlx::test(migrator = "hyperfleet::MIGRATOR")]
async fn events_are_listed_and_followed_until_ctrl_c(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let alpha = ClusterFactory::new().name("alpha").create(&app).await;
    app.patch(&format!("{CLUSTERS}/{}", id(&alpha)), r#"{"labels": {"env": "dev"}}"#).await;
    NodePoolFactory::new(&id(&alpha)).name("workers").create(&app).await;
    let events = app.get_json("/api/hyperfleet/v1/events", 200).await;
    let ids: Vec<String> = events["items"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids.len(), 3);

    let listed = hf(&app, &["events", "list", "-o", "json", "--raw"]).await;
    let listed = listed.ok().json();
    assert_eq!(listed["total"], 3);
    let listed_ids: Vec<String> = listed["items"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(listed_ids, ids);
    let after_first = hf(&app, &["events", "list", "--after", &ids[0], "--source", "clusters", "-o", "name"]).await;
    assert_eq!(after_first.ok().stdout, format!("event/{}\n", ids[1]), "--source ignores letter case");
    let every = hf(&app, &["events", "list", "--all", "--page-size", "1", "-o", "name"]).await;
    assert_eq!(every.ok().stdout, format!("event/{}\nevent/{}\nevent/{}\n", ids[0], ids[1], ids[2]));
    let typed = hf(&app, &["events", "list", "--event-type", "Update,Delete", "-o", "name"]).await;
    assert_eq!(typed.ok().stdout, format!("event/{}\n", ids[1]));
    let table = hf(&app, &["events", "list", "--source", "NodePools"]).await;
    let pool_event = &events["items"][2];
    let width = ids[2].len().max(2) + 3;
    assert_eq!(
        masked(&table.ok().stdout, "AGE"),
        [
            line(&[("ID", width), ("SOURCE", 12), ("TYPE", 9), ("SOURCE ID", 39), ("AGE", 0)]),
            line(&[
                (&ids[2], width),
                ("NodePools", 12),
                ("Create", 9),
                (pool_event["source_id"].as_str().unwrap(), 39),
                ("<age>", 0)
            ]),
        ]
    );

    let mut watch = client(&app.address, &["events", "watch", "--after", &ids[0], "-o", "json"]).spawn().unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    for expected in &ids[1..] {
        let event: Value = serde_json::from_str(&next_line(&mut lines).await).unwrap();
        assert_eq!(&id(&event), expected, "the backlog after --after, in order");
    }
    let beta = ClusterFactory::new().name("beta").create(&app).await;
    let live: Value = serde_json::from_str(&next_line(&mut lines).await).unwrap();
    assert_eq!(
        (&live["source_id"], &live["event_type"], &live["source"]),
        (&beta["id"], &json!("Create"), &json!("Clusters"))
    );
    assert_eq!(interrupt(watch).await, (Some(0), String::new()));

    // Without --after only events newer than the newest at start-up come, whenever it looked.
    let newest: u64 = live["id"].as_str().unwrap().parse().unwrap();
    let mut watch = client(&app.address, &["events", "watch", "-o", "name"]).spawn().unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let mut created = Vec::new();
    let first = loop {
        assert!(created.len() < 30, "the watch prints new events");
        created.push(ClusterFactory::new().create(&app).await);
        if let Ok(line) = tokio::time::timeout(Duration::from_millis(500), lines.next_line()).await {
            break line.unwrap().expect("the client is still running");
        }
    };
    let events = app.get_json(&format!("/api/hyperfleet/v1/events?after={newest}"), 200).await;
    let new_ids: Vec<String> = events["items"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(new_ids.len(), created.len());
    let position = new_ids.iter().position(|i| first == format!("event/{i}")).expect("a new event");
    for expected in &new_ids[position + 1..] {
        assert_eq!(next_line(&mut lines).await, format!("event/{expected}"), "then every later one, in order");
    }
    assert_eq!(interrupt(watch).await, (Some(0), String::new()));
}

#[sqlx::test(migrator = "hyperfleet::MIGRATOR")]
async fn watch_resumes_after_a_server_restart_without_losing_or_repeating_an_event(pool: PgPool) {
    let replica_pool = || PgPoolOptions::new().max_connections(5).connect_lazy_with((*pool.connect_options()).clone());
    let first = TestApp::spawn(replica_pool()).await;
    let address = first.address.clone();
    let mut watch = client(&address, &["events", "watch", "--after", "0"]).spawn().unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();

    let alpha = ClusterFactory::new().name("alpha").create(&first).await;
    let event_line = |event: &Value| {
        format!(
            "{:<6} {:<9} {:<6} {} {}",
            event["id"].as_str().unwrap(),
            "Clusters",
            "Create",
            event["source_id"].as_str().unwrap(),
            event["created_at"].as_str().unwrap()
        )
    };
    let events = first.get_json("/api/hyperfleet/v1/events", 200).await;
    assert_eq!(next_line(&mut lines).await, event_line(&events["items"][0]));
    assert_eq!(events["items"][0]["source_id"], alpha["id"]);
    first.stop().await;

    let port = address.rsplit(':').next().unwrap();
    let bind = format!("--api-server-bindaddress=127.0.0.1:{port}");
    let second = TestApp::spawn_settings(replica_pool(), settings_from_flags(&[&bind])).await;
    assert_eq!(second.address, address, "the same address again");
    ClusterFactory::new().name("beta").create(&second).await;
    ClusterFactory::new().name("gamma").create(&second).await;
    let events = second.get_json("/api/hyperfleet/v1/events", 200).await;
    assert_eq!(next_line(&mut lines).await, event_line(&events["items"][1]), "resumed after the last event seen");
    assert_eq!(next_line(&mut lines).await, event_line(&events["items"][2]));

    let (code, stderr) = interrupt(watch).await;
    assert_eq!(code, Some(0));
    let first_id = events["items"][0]["id"].as_str().unwrap();
    let notes: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        notes.first().copied(),
        Some(
            format!("hyperfleet: watch: the server ended the stream; reconnecting in 3000 ms after event {first_id}")
                .as_str()
        ),
        "{stderr}"
    );
    assert!(notes.iter().all(|note| note.starts_with("hyperfleet: watch: ")), "{stderr}");
}
