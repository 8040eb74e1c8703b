//! Command-line definition of the `hyperfleet` binary: sub-commands and every flag with its
//! `HYPERFLEET_*` environment fallback (flag > environment > default). Values are parsed here;
//! how they combine into settings is `config.rs`'s job.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::flags::{parse_bool, parse_duration, parse_list, List};

#[derive(Debug, Parser)]
#[command(
    name = "hyperfleet",
    about = "HyperFleet API: the Postgres-backed REST data API of the cluster-fleet platform",
    subcommand_required = true,
    disable_version_flag = true
)]
pub struct Cli {
    #[command(flatten)]
    pub logging: LoggingArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the API, metrics and health servers, the event processor and the watch tailer.
    Serve(Box<ServeArgs>),
    /// Apply every pending database migration and exit.
    Migrate(Box<MigrateArgs>),
    /// Print the build version and exit.
    Version,
    /// Print the embedded OpenAPI document and exit.
    Openapi(OpenapiArgs),
    /// The HTTP client sub-commands (`clusters`, `nodepools`, `statuses`, `events`).
    #[command(flatten)]
    Client(crate::client::args::ClientCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OpenapiFormat {
    Yaml,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SslMode {
    Disable,
    Require,
    VerifyCa,
    VerifyFull,
}

#[derive(Debug, Args)]
pub struct LoggingArgs {
    /// Minimum level of log records.
    #[arg(long, global = true, env = "HYPERFLEET_LOG_LEVEL", value_enum, ignore_case = true, default_value = "info")]
    pub log_level: LogLevel,

    /// `text` (one human-readable line per record) or `json` (one JSON object per line).
    #[arg(long, global = true, env = "HYPERFLEET_LOG_FORMAT", value_enum, ignore_case = true, default_value = "text")]
    pub log_format: LogFormat,
}

#[derive(Debug, Args)]
pub struct OpenapiArgs {
    /// `yaml` prints the document exactly as embedded; `json` renders it as JSON.
    #[arg(long, value_enum, ignore_case = true, default_value = "yaml")]
    pub format: OpenapiFormat,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Database flags shared by `serve` and `migrate`. The `--db-*-file` flags have no clap default
/// on purpose: `None` means "left at the default", which decides whether a missing file is an
/// error (spec §1.5).
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL; also read from HYPERFLEET_DATABASE_URL, then DATABASE_URL.
    #[arg(long, env = "HYPERFLEET_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// File holding the database host name [default: secrets/db.host].
    #[arg(long, env = "HYPERFLEET_DB_HOST_FILE")]
    pub db_host_file: Option<PathBuf>,

    /// File holding the database port [default: secrets/db.port].
    #[arg(long, env = "HYPERFLEET_DB_PORT_FILE")]
    pub db_port_file: Option<PathBuf>,

    /// File holding the database user name [default: secrets/db.user].
    #[arg(long, env = "HYPERFLEET_DB_USER_FILE")]
    pub db_user_file: Option<PathBuf>,

    /// File holding the database password [default: secrets/db.password].
    #[arg(long, env = "HYPERFLEET_DB_PASSWORD_FILE")]
    pub db_password_file: Option<PathBuf>,

    /// File holding the database name [default: secrets/db.name].
    #[arg(long, env = "HYPERFLEET_DB_NAME_FILE")]
    pub db_name_file: Option<PathBuf>,

    /// TLS mode towards the database.
    #[arg(long, env = "HYPERFLEET_DB_SSLMODE", value_enum, ignore_case = true, default_value = "disable")]
    pub db_sslmode: SslMode,

    /// CA bundle used with verify-ca / verify-full.
    #[arg(long, env = "HYPERFLEET_DB_ROOTCERT", default_value = "secrets/db.rootcert")]
    pub db_rootcert: PathBuf,

    /// Maximum size of the connection pool (1..1000).
    #[arg(long, env = "HYPERFLEET_DB_MAX_OPEN_CONNECTIONS", default_value = "50",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_open_connections: u32,

    /// Longest wait for a pooled connection before answering 503.
    #[arg(long, env = "HYPERFLEET_DB_ACQUIRE_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub db_acquire_timeout: Duration,

    /// Server-side statement_timeout of every pooled connection (lock waits count).
    #[arg(long, env = "HYPERFLEET_DB_STATEMENT_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub db_statement_timeout: Duration,

    /// Timeout of one attempt to open a database connection.
    #[arg(long, env = "HYPERFLEET_DB_CONNECT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub db_connect_timeout: Duration,

    /// Log every SQL statement (text and duration, never parameter values) at debug level.
    #[arg(long, env = "HYPERFLEET_ENABLE_DB_DEBUG", default_value = "false", num_args = 0..=1,
          default_missing_value = "true", value_parser = parse_bool)]
    pub enable_db_debug: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// API listener (host:port; `localhost` = 127.0.0.1 and ::1, empty host = all interfaces).
    #[arg(long, env = "HYPERFLEET_API_SERVER_BINDADDRESS", default_value = "localhost:8000")]
    pub api_server_bindaddress: String,

    /// Metrics listener.
    #[arg(long, env = "HYPERFLEET_METRICS_SERVER_BINDADDRESS", default_value = "localhost:8080")]
    pub metrics_server_bindaddress: String,

    /// Health listener.
    #[arg(long, env = "HYPERFLEET_HEALTH_CHECK_SERVER_BINDADDRESS", default_value = "localhost:8083")]
    pub health_check_server_bindaddress: String,

    /// Time allowed to receive a request, headers and body, from its first byte; then the
    /// connection is closed without a response.
    #[arg(long, env = "HYPERFLEET_HTTP_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub http_read_timeout: Duration,

    /// Time allowed to produce a response (not applied to /watch); then 503.
    #[arg(long, env = "HYPERFLEET_HTTP_WRITE_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub http_write_timeout: Duration,

    /// Longest drain on SIGTERM/SIGINT.
    #[arg(long, env = "HYPERFLEET_SHUTDOWN_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,

    /// Require bearer tokens on the API server.
    #[arg(long, env = "HYPERFLEET_ENABLE_JWT", default_value = "true", num_args = 0..=1,
          default_missing_value = "true", value_parser = parse_bool)]
    pub enable_jwt: bool,

    /// JWKS file.
    #[arg(long, env = "HYPERFLEET_JWK_CERT_FILE", default_value = "")]
    pub jwk_cert_file: String,

    /// JWKS URL (http or https).
    #[arg(long, env = "HYPERFLEET_JWK_CERT_URL", default_value = "")]
    pub jwk_cert_url: String,

    /// When set, the token's `iss` must equal it.
    #[arg(long, env = "HYPERFLEET_JWT_ISSUER", default_value = "")]
    pub jwt_issuer: String,

    /// When set, the token's `aud` must be or contain it.
    #[arg(long, env = "HYPERFLEET_JWT_AUDIENCE", default_value = "")]
    pub jwt_audience: String,

    /// Adapters required for cluster readiness (comma-separated).
    #[arg(long, env = "HYPERFLEET_REQUIRED_ADAPTERS_CLUSTER", default_value = "", value_parser = parse_list)]
    pub required_adapters_cluster: List,

    /// Adapters required for node-pool readiness (comma-separated).
    #[arg(long, env = "HYPERFLEET_REQUIRED_ADAPTERS_NODEPOOL", default_value = "", value_parser = parse_list)]
    pub required_adapters_nodepool: List,

    /// Period of the unreconciled-event sweep.
    #[arg(long, env = "HYPERFLEET_EVENT_SWEEP_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub event_sweep_interval: Duration,

    /// Keep-alive comment period on idle watch streams.
    #[arg(long, env = "HYPERFLEET_WATCH_KEEPALIVE_INTERVAL", default_value = "15s", value_parser = parse_duration)]
    pub watch_keepalive_interval: Duration,

    /// Maximum concurrent watch streams per replica.
    #[arg(long, env = "HYPERFLEET_WATCH_MAX_SUBSCRIBERS", default_value = "1000",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub watch_max_subscribers: u32,

    /// Origins allowed by CORS (comma-separated; `*` = any; empty disables CORS).
    #[arg(long, env = "HYPERFLEET_CORS_ALLOWED_ORIGINS", default_value = "", value_parser = parse_list)]
    pub cors_allowed_origins: List,

    /// Request body limit in bytes.
    #[arg(long, env = "HYPERFLEET_HTTP_MAX_BODY_BYTES", default_value = "1048576",
          value_parser = clap::value_parser!(u64).range(1024..=67_108_864))]
    pub http_max_body_bytes: u64,

    /// AMQP 0-9-1 URL of the message broker (amqp://user:pass@host:5672/vhost or amqps://);
    /// turns on publishing every event as a CloudEvent. Unset: no publishing.
    #[arg(long, env = "HYPERFLEET_BROKER_URL", hide_env_values = true)]
    pub broker_url: Option<String>,

    /// Durable topic exchange the events are published to (declared when missing).
    #[arg(long, env = "HYPERFLEET_BROKER_EXCHANGE", default_value = "hyperfleet.events")]
    pub broker_exchange: String,

    /// API server worker threads (0 = one per CPU).
    #[arg(long, env = "HYPERFLEET_API_WORKERS", default_value = "0",
          value_parser = clap::value_parser!(u16).range(0..=256))]
    pub api_workers: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
