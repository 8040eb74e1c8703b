//! Command-line definition of the client sub-commands (`clusters`, `nodepools`, `statuses`,
//! `events`). The connection flags are global to each of them, so they may follow the action
//! (`hyperfleet clusters list -o json --server …`). Flag values are parsed here; what they do is
//! the job of the sibling modules.

use std::time::Duration;

use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use reqwest::Url;

use crate::flags::parse_duration;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Clusters of a running server: list, get, create, patch, delete.
    Clusters(Box<ClustersArgs>),
    /// Node pools of a running server: list, get, create, patch, delete.
    Nodepools(Box<NodepoolsArgs>),
    /// Adapter statuses of a cluster or node pool: list, report.
    Statuses(Box<StatusesArgs>),
    /// The event log of a running server: list, watch.
    Events(Box<EventsArgs>),
}

/// Where the server is, how to authenticate, and how to print answers.
#[derive(Debug, Args)]
#[command(next_help_heading = "Server and output")]
pub struct ConnectionArgs {
    /// Base URL of the API server.
    #[arg(long, global = true, env = "HYPERFLEET_URL", default_value = "http://localhost:8000",
          value_parser = parse_server)]
    pub server: Url,

    /// Bearer token sent as `Authorization: Bearer <token>` (never printed).
    #[arg(long, global = true, env = "HYPERFLEET_TOKEN", hide_env_values = true, value_parser = parse_token)]
    pub token: Option<Token>,

    /// Longest time for one request, connecting included (for `events watch`: for connecting).
    #[arg(long, global = true, env = "HYPERFLEET_REQUEST_TIMEOUT", default_value = "30s",
          value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Output format: aligned columns, the API's JSON, YAML, or `kind/name` lines.
    #[arg(short, long, global = true, value_enum, ignore_case = true, default_value = "table")]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Yaml,
    Name,
}

/// A bearer token; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(pub String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

fn parse_token(value: &str) -> Result<Token, String> {
    if value.chars().any(|c| c.is_control() || c == ' ') {
        return Err("a token must not contain spaces or control characters".to_owned());
    }
    Ok(Token(value.to_owned()))
}

/// An `http` or `https` URL without query or fragment; a trailing `/` is dropped later.
fn parse_server(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("not a URL ({e}); expected for example http://localhost:8000"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("the scheme must be http or https, not '{}'", url.scheme()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the URL must not have a query or a fragment".to_owned());
    }
    Ok(url)
}

// ----- clusters -------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub struct ClustersArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(subcommand)]
    pub action: ClusterAction,
}

#[derive(Debug, Subcommand)]
pub enum ClusterAction {
    /// List clusters, newest first unless --order-by says otherwise.
    #[command(after_help = "Examples:\n  hyperfleet clusters list\n  \
        hyperfleet clusters list --search \"labels.env='prod' and status.phase='Ready'\" --order-by name\n  \
        hyperfleet clusters list --all -o json")]
    List(ListArgs),
    /// Show one cluster.
    #[command(after_help = "Examples:\n  hyperfleet clusters get prod-1\n  \
        hyperfleet clusters get 01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a -o yaml")]
    Get(TargetArg),
    /// Create a cluster.
    #[command(
        after_help = "Examples:\n  hyperfleet clusters create --name prod-1 --spec spec.yaml --label env=prod\n  \
        echo '{\"region\":\"us-west-2\"}' | hyperfleet clusters create --name prod-2 --spec -"
    )]
    Create(CreateArgs),
    /// Replace a cluster's spec and/or its whole label set.
    #[command(after_help = "Examples:\n  hyperfleet clusters patch prod-1 --spec spec.json\n  \
        hyperfleet clusters patch prod-1 --label env=prod --label team=platform")]
    Patch(PatchArgs),
    /// Delete a cluster with its node pools and statuses.
    #[command(after_help = "Example:\n  hyperfleet clusters delete prod-1")]
    Delete(TargetArg),
}

// ----- node pools -----------------------------------------------------------------------------

#[derive(Debug, Args)]
pub struct NodepoolsArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(subcommand)]
    pub action: NodepoolAction,
}

#[derive(Debug, Subcommand)]
pub enum NodepoolAction {
    /// List the node pools of one cluster, or of every cluster without --cluster.
    #[command(after_help = "Examples:\n  hyperfleet nodepools list\n  \
        hyperfleet nodepools list --cluster prod-1 --search \"labels.pool_type='worker'\"")]
    List(NodepoolListArgs),
    /// Show one node pool.
    #[command(after_help = "Examples:\n  hyperfleet nodepools get workers --cluster prod-1\n  \
        hyperfleet nodepools get 01939f4f-02b7-7c41-a8d3-1e2f3a4b5c6d -o json")]
    Get(NodepoolTarget),
    /// Create a node pool in a cluster.
    #[command(after_help = "Example:\n  \
        hyperfleet nodepools create --cluster prod-1 --name workers --spec pool.yaml --label pool_type=worker")]
    Create(NodepoolCreateArgs),
    /// Replace a node pool's spec and/or its whole label set.
    #[command(after_help = "Example:\n  hyperfleet nodepools patch workers --cluster prod-1 --spec pool.yaml")]
    Patch(NodepoolPatchArgs),
    /// Delete a node pool with its statuses.
    #[command(after_help = "Example:\n  hyperfleet nodepools delete workers --cluster prod-1")]
    Delete(NodepoolTarget),
}

/// A node pool's cluster: needed when a node pool name is used in more than one cluster.
#[derive(Debug, Args)]
pub struct ClusterScope {
    /// The node pool's cluster (ID or NAME).
    #[arg(long, value_name = "ID|NAME")]
    pub cluster: Option<String>,
}

#[derive(Debug, Args)]
pub struct NodepoolListArgs {
    /// Only the node pools of this cluster (ID or NAME).
    #[arg(long, value_name = "ID|NAME")]
    pub cluster: Option<String>,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, Args)]
pub struct NodepoolTarget {
    #[command(flatten)]
    pub target: TargetArg,
    #[command(flatten)]
    pub scope: ClusterScope,
}

#[derive(Debug, Args)]
pub struct NodepoolCreateArgs {
    /// The cluster to create the node pool in (ID or NAME).
    #[arg(long, value_name = "ID|NAME")]
    pub cluster: String,
    #[command(flatten)]
    pub create: CreateArgs,
}

#[derive(Debug, Args)]
pub struct NodepoolPatchArgs {
    #[command(flatten)]
    pub patch: PatchArgs,
    #[command(flatten)]
    pub scope: ClusterScope,
}

// ----- shared resource arguments --------------------------------------------------------------

#[derive(Debug, Args)]
pub struct TargetArg {
    /// An id (UUID form) or a name.
    #[arg(value_name = "ID|NAME")]
    pub target: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Filter in the API's search language (spec §6.3), for example "name like 'prod-%'".
    #[arg(long, value_name = "EXPR")]
    pub search: Option<String>,

    /// Sort fields, comma-separated, each optionally followed by asc or desc.
    #[arg(long, value_name = "FIELDS")]
    pub order_by: Option<String>,

    #[command(flatten)]
    pub pages: PageArgs,

    /// With -o json or yaml: print the whole list envelope (kind, page, size, total, items).
    #[arg(long, conflicts_with = "all")]
    pub raw: bool,
}

#[derive(Debug, Args)]
pub struct PageArgs {
    /// Page number, from 1.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=2_147_483_647))]
    pub page: Option<u32>,

    /// Items per page (the server caps it at 1000; its default is 100).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: Option<u32>,

    /// Fetch every page (1000 items per request unless --page-size says otherwise).
    #[arg(long, conflicts_with = "page")]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The new resource's name.
    #[arg(long)]
    pub name: String,

    /// The spec, a JSON or YAML object, from a file or `-` for standard input [default: {}].
    #[arg(long, value_name = "FILE|-")]
    pub spec: Option<String>,

    /// A label; repeat for more.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("change").required(true).multiple(true).args(["spec", "labels", "no_labels"])))]
pub struct PatchArgs {
    #[command(flatten)]
    pub target: TargetArg,

    /// The new spec (replaces the old one), a JSON or YAML object, from a file or `-` for stdin.
    #[arg(long, value_name = "FILE|-")]
    pub spec: Option<String>,

    /// A label of the new label set, which replaces the old one; repeat for more.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,

    /// Remove every label.
    #[arg(long, conflicts_with = "labels")]
    pub no_labels: bool,
}

/// `KEY=VALUE`, split at the first `=`; the value may be empty. The server checks the rules.
pub fn parse_label(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err("expected KEY=VALUE".to_owned()),
    }
}

// ----- statuses -------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub struct StatusesArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(subcommand)]
    pub action: StatusAction,
}

#[derive(Debug, Subcommand)]
pub enum StatusAction {
    /// List the adapter statuses of a cluster, or of a node pool with --nodepool.
    #[command(after_help = "Examples:\n  hyperfleet statuses list --cluster prod-1\n  \
        hyperfleet statuses list --cluster prod-1 --nodepool workers -o yaml")]
    List(StatusListArgs),
    /// Report an adapter's status of a cluster, or of a node pool with --nodepool.
    #[command(after_help = "Examples:\n  \
        hyperfleet statuses report --cluster prod-1 --adapter dns --generation 1 \\\n      \
        --condition Available=True:DNSReady:'records created' --condition Healthy=Unknown\n  \
        hyperfleet statuses report --cluster prod-1 --nodepool workers --file report.json")]
    Report(StatusReportArgs),
}

#[derive(Debug, Args)]
pub struct StatusOwner {
    /// The cluster (ID or NAME).
    #[arg(long, value_name = "ID|NAME")]
    pub cluster: String,

    /// A node pool of that cluster (ID or NAME).
    #[arg(long, value_name = "ID|NAME")]
    pub nodepool: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusListArgs {
    #[command(flatten)]
    pub owner: StatusOwner,

    #[command(flatten)]
    pub pages: PageArgs,

    /// With -o json or yaml: print the whole list envelope (kind, page, size, total, items).
    #[arg(long, conflicts_with = "all")]
    pub raw: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("body").required(true).args(["adapter", "file"])))]
pub struct StatusReportArgs {
    #[command(flatten)]
    pub owner: StatusOwner,

    /// The reporting adapter's name.
    #[arg(long, requires = "generation")]
    pub adapter: Option<String>,

    /// The generation the adapter acted on (observed_generation).
    #[arg(long, requires = "adapter", allow_negative_numbers = true)]
    pub generation: Option<i64>,

    /// A condition `Type=Status[:Reason[:Message]]` (Status: True, False or Unknown; the message
    /// may contain `:`); repeat for more.
    #[arg(long = "condition", value_name = "TYPE=STATUS[:REASON[:MESSAGE]]", value_parser = parse_condition,
          requires = "adapter")]
    pub conditions: Vec<ConditionArg>,

    /// The report's free-form `data`, a JSON or YAML object, from a file or `-` for stdin.
    #[arg(long, value_name = "FILE|-", requires = "adapter")]
    pub data: Option<String>,

    /// The whole report body (adapter, observed_generation, conditions, data, metadata) as JSON
    /// or YAML, from a file or `-` for stdin, instead of the flags above.
    #[arg(long, value_name = "FILE|-", conflicts_with_all = ["adapter", "generation", "conditions", "data"])]
    pub file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionArg {
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
}

/// `Type=Status[:Reason[:Message]]`: the message keeps any further `:`.
pub fn parse_condition(value: &str) -> Result<ConditionArg, String> {
    const HELP: &str = "expected TYPE=STATUS[:REASON[:MESSAGE]], for example Available=True:Ready";
    let (kind, rest) = value.split_once('=').ok_or(HELP)?;
    let mut parts = rest.splitn(3, ':');
    let status = parts.next().unwrap_or_default();
    if kind.is_empty() || status.is_empty() {
        return Err(HELP.to_owned());
    }
    Ok(ConditionArg {
        kind: kind.to_owned(),
        status: status.to_owned(),
        reason: parts.next().map(str::to_owned),
        message: parts.next().map(str::to_owned),
    })
}

// ----- events ---------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub struct EventsArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(subcommand)]
    pub action: EventAction,
}

#[derive(Debug, Subcommand)]
pub enum EventAction {
    /// List events in id order.
    #[command(after_help = "Examples:\n  hyperfleet events list --after 40 --source Clusters\n  \
        hyperfleet events list --all -o json")]
    List(EventListArgs),
    /// Follow new events as they happen, one line each, until Ctrl-C; reconnects without losing any.
    #[command(after_help = "Examples:\n  hyperfleet events watch\n  \
        hyperfleet events watch --after 0 --source NodePools -o json")]
    Watch(EventWatchArgs),
}

#[derive(Debug, Args)]
pub struct EventFilters {
    /// Only events of these sources (comma-separated or repeated).
    #[arg(long, value_enum, value_delimiter = ',', ignore_case = true)]
    pub source: Vec<EventSource>,

    /// Only events about this resource id.
    #[arg(long, value_name = "UUID")]
    pub source_id: Option<String>,

    /// Only events of these types (comma-separated or repeated).
    #[arg(long, value_enum, value_delimiter = ',', ignore_case = true)]
    pub event_type: Vec<EventType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum EventSource {
    Clusters,
    NodePools,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum EventType {
    Create,
    Update,
    Delete,
}

#[derive(Debug, Args)]
pub struct EventListArgs {
    /// Only events with an id greater than this.
    #[arg(long, value_name = "ID")]
    pub after: Option<u64>,

    #[command(flatten)]
    pub filters: EventFilters,

    #[command(flatten)]
    pub pages: PageArgs,

    /// With -o json or yaml: print the whole list envelope (kind, page, size, total, items).
    #[arg(long, conflicts_with = "all")]
    pub raw: bool,
}

#[derive(Debug, Args)]
pub struct EventWatchArgs {
    /// Start after this event id (0 replays the whole log) [default: only new events].
    #[arg(long, value_name = "ID")]
    pub after: Option<u64>,

    #[command(flatten)]
    pub filters: EventFilters,

    /// Reconnect when nothing, not even a keep-alive, arrives for this long (the server sends a
    /// keep-alive every 15 s by default).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_split_at_the_first_equals_sign_and_may_have_empty_values() {
        assert_eq!(parse_label("env=prod"), Ok(("env".into(), "prod".into())));
        assert_eq!(parse_label("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_label("empty="), Ok(("empty".into(), String::new())));
        for bad in ["env", "=prod", ""] {
            assert!(parse_label(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn conditions_take_reason_and_a_message_that_may_hold_colons() {
        assert_eq!(
            parse_condition("Available=True"),
            Ok(ConditionArg { kind: "Available".into(), status: "True".into(), reason: None, message: None })
        );
        assert_eq!(
            parse_condition("Ready=False:Waiting:at 10:00: still waiting"),
            Ok(ConditionArg {
                kind: "Ready".into(),
                status: "False".into(),
                reason: Some("Waiting".into()),
                message: Some("at 10:00: still waiting".into()),
            })
        );
        for bad in ["Available", "=True", "Available=", "Available=:Reason"] {
            assert!(parse_condition(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn servers_must_be_http_urls_without_query() {
        assert!(parse_server("http://localhost:8000").is_ok());
        assert!(parse_server("https://api.example.com/prefix/").is_ok());
        for bad in ["localhost:8000", "ftp://x", "http://x/?a=1", "http://x/#f", ""] {
            assert!(parse_server(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn tokens_are_redacted_in_debug_output() {
        assert_eq!(format!("{:?}", Token("s3cret".into())), "Token(<redacted>)");
        assert!(parse_token("a b").is_err());
    }
}
