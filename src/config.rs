//! Typed settings, built once at start-up from the parsed command line (`cli.rs`).
//!
//! Every option is a flag with a `HYPERFLEET_<FLAG>` environment fallback; the README's
//! configuration table lists them all. Errors carry the exit status spec §1.2 asks for:
//! 2 for an invalid value (named after its flag), 1 for a start-up failure such as an unreadable
//! secret file. Secrets (the database password and URL, the broker URL) never appear in `Debug` output.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgSslMode};

use crate::cli::{DatabaseArgs, LogFormat, LogLevel, ServeArgs, SslMode};

/// A configuration problem, with the process exit status it leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub exit_code: i32,
    pub message: String,
}

impl ConfigError {
    fn invalid(flag: &str, value: &str, why: impl fmt::Display) -> Self {
        ConfigError { exit_code: 2, message: format!("invalid value '{value}' for '--{flag}': {why}") }
    }

    fn startup(message: impl Into<String>) -> Self {
        ConfigError { exit_code: 1, message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Clone, Copy)]
pub struct LogSettings {
    pub level: LogLevel,
    pub format: LogFormat,
}

/// How to reach Postgres and how to size the pool.
#[derive(Clone)]
pub struct DatabaseSettings {
    /// Connection options, including the password: never printed.
    pub connect: PgConnectOptions,
    /// `host:port/name`, safe to log.
    pub target: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub statement_timeout: Duration,
    pub connect_timeout: Duration,
    pub debug_statements: bool,
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("target", &self.target)
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("debug_statements", &self.debug_statements)
            .finish_non_exhaustive()
    }
}

/// A listener address as given (`host:port`) and the socket addresses it resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAddress {
    pub given: String,
    pub addrs: Vec<SocketAddr>,
}

impl BindAddress {
    /// Parses `host:port`. `localhost` means 127.0.0.1 plus ::1 (the IPv6 one is skipped at bind
    /// time when the machine has no IPv6); an empty host means all interfaces.
    pub fn parse(flag: &str, value: &str) -> Result<Self, ConfigError> {
        let (host, port) =
            value.rsplit_once(':').ok_or_else(|| ConfigError::invalid(flag, value, "expected host:port"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| ConfigError::invalid(flag, value, "the port must be a number between 0 and 65535"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs = match host {
            "" => vec![
                SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            ],
            "localhost" => vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
            ],
            other => match other.parse::<IpAddr>() {
                Ok(ip) => vec![SocketAddr::new(ip, port)],
                Err(_) => {
                    let resolved: Vec<SocketAddr> = (other, port)
                        .to_socket_addrs()
                        .map_err(|e| ConfigError::invalid(flag, value, format!("cannot resolve host: {e}")))?
                        .collect();
                    if resolved.is_empty() {
                        return Err(ConfigError::invalid(flag, value, "the host resolves to no address"));
                    }
                    resolved
                }
            },
        };
        Ok(BindAddress { given: value.to_owned(), addrs })
    }
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub api: BindAddress,
    pub metrics: BindAddress,
    pub health: BindAddress,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub max_body_bytes: usize,
    /// Worker threads of the API server; 0 = one per CPU.
    pub workers: usize,
}

#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    pub enabled: bool,
    pub jwk_cert_file: Option<PathBuf>,
    pub jwk_cert_url: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

/// Which adapters decide readiness (§7.5). Empty = all-reporters mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AggregationSettings {
    pub required_cluster: Vec<String>,
    pub required_nodepool: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct EventSettings {
    pub sweep_interval: Duration,
    pub watch_keepalive: Duration,
    pub watch_max_subscribers: usize,
    /// Undelivered events one watch stream may have queued before it is closed (not a flag).
    pub watch_queue_limit: usize,
}

/// The watch queue limit of spec §9.5.
pub const WATCH_QUEUE_LIMIT: usize = 1000;

/// CORS allow-list; empty disables CORS, `*` allows any origin.
#[derive(Debug, Clone, Default)]
pub struct CorsSettings {
    pub any_origin: bool,
    pub origins: Vec<String>,
}

impl CorsSettings {
    pub fn enabled(&self) -> bool {
        self.any_origin || !self.origins.is_empty()
    }

    pub fn allows(&self, origin: &str) -> bool {
        self.any_origin || self.origins.iter().any(|o| o == origin)
    }
}

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub server: ServerSettings,
    pub auth: AuthSettings,
    pub aggregation: AggregationSettings,
    pub events: EventSettings,
    pub cors: CorsSettings,
    /// The message broker events are published to; `None` = no publishing.
    pub broker: Option<BrokerSettings>,
}

fn non_empty(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

impl Settings {
    pub fn from_serve_args(args: &ServeArgs) -> Result<Self, ConfigError> {
        let database = DatabaseSettings::from_args(&args.database)?;
        let server = ServerSettings {
            api: BindAddress::parse("api-server-bindaddress", &args.api_server_bindaddress)?,
            metrics: BindAddress::parse("metrics-server-bindaddress", &args.metrics_server_bindaddress)?,
            health: BindAddress::parse("health-check-server-bindaddress", &args.health_check_server_bindaddress)?,
            read_timeout: args.http_read_timeout,
            write_timeout: args.http_write_timeout,
            shutdown_timeout: args.shutdown_timeout,
            max_body_bytes: args.http_max_body_bytes as usize,
            workers: args.api_workers as usize,
        };
        let auth = AuthSettings {
            enabled: args.enable_jwt,
            jwk_cert_file: non_empty(&args.jwk_cert_file).map(PathBuf::from),
            jwk_cert_url: non_empty(&args.jwk_cert_url),
            issuer: non_empty(&args.jwt_issuer),
            audience: non_empty(&args.jwt_audience),
        };
        if let Some(url) = &auth.jwk_cert_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::invalid("jwk-cert-url", url, "must be an http or https URL"));
            }
        }
        if auth.enabled && auth.jwk_cert_file.is_none() && auth.jwk_cert_url.is_none() {
            return Err(ConfigError::startup(
                "JWT authentication is enabled but no JWKS source is configured (--jwk-cert-file or --jwk-cert-url); \
                 use --enable-jwt=false to disable authentication",
            ));
        }
        let cors_list = &args.cors_allowed_origins.0;
        let cors = CorsSettings {
            any_origin: cors_list.iter().any(|o| o == "*"),
            origins: cors_list.iter().filter(|o| *o != "*").cloned().collect(),
        };
        Ok(Settings {
            database,
            server,
            auth,
            aggregation: AggregationSettings {
                required_cluster: args.required_adapters_cluster.0.clone(),
                required_nodepool: args.required_adapters_nodepool.0.clone(),
            },
            events: EventSettings {
                sweep_interval: args.event_sweep_interval,
                watch_keepalive: args.watch_keepalive_interval,
                watch_max_subscribers: args.watch_max_subscribers as usize,
                watch_queue_limit: WATCH_QUEUE_LIMIT,
            },
            cors,
            broker: BrokerSettings::from_args(args.broker_url.as_deref(), &args.broker_exchange)?,
        })
    }
}

/// Where events are published (issue 12).
#[derive(Clone)]
pub struct BrokerSettings {
    /// Connection URI, including the password: never printed.
    pub uri: lapin::uri::AMQPUri,
    /// `scheme://host:port/vhost`, safe to log.
    pub target: String,
    pub exchange: String,
}

impl fmt::Debug for BrokerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerSettings")
            .field("target", &self.target)
            .field("exchange", &self.exchange)
            .finish_non_exhaustive()
    }
}

impl BrokerSettings {
    /// `None` when no URL is given (an empty value counts as absent).
    pub fn from_args(url: Option<&str>, exchange: &str) -> Result<Option<Self>, ConfigError> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        // Never echo the URL: it may hold a password.
        let invalid =
            |why: &str| ConfigError { exit_code: 2, message: format!("invalid value for '--broker-url': {why}") };
        let parsed = url::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(parsed.scheme(), "amqp" | "amqps") {
            return Err(invalid("the scheme must be amqp or amqps"));
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(name)) => name.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(invalid("the URL has no host")),
        };
        let mut uri: lapin::uri::AMQPUri = url.parse().map_err(|e: String| invalid(&redact_url_error(&e)))?;
        uri.authority.host = host;
        let target = format!(
            "{}://{}:{}/{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default(),
            uri.authority.port,
            uri.vhost
        );
        if !valid_exchange_name(exchange) {
            return Err(ConfigError::invalid(
                "broker-exchange",
                exchange,
                "expected 1 to 255 characters of letters, digits, '-', '_', '.' and ':', not starting with 'amq.'",
            ));
        }
        Ok(Some(BrokerSettings { uri, target, exchange: exchange.to_owned() }))
    }
}

/// AMQP exchange names: a short string of `[A-Za-z0-9-_.:]`; `amq.` is reserved by the broker
/// and the empty name is the default exchange, which cannot be declared.
fn valid_exchange_name(name: &str) -> bool {
    (1..=255).contains(&name.len())
        && !name.starts_with("amq.")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Reads one secret file: exactly one trailing `\n` or `\r\n` is removed. A missing file falls
/// back to `default` only when the flag was left at its default.
fn read_secret(flag: &str, given: Option<&Path>, default_path: &str, default: &str) -> Result<String, ConfigError> {
    let path = given.unwrap_or_else(|| Path::new(default_path));
    match std::fs::read(path) {
        Ok(bytes) => {
            let mut text = String::from_utf8(bytes)
                .map_err(|_| ConfigError::startup(format!("--{flag}: file '{}' is not valid UTF-8", path.display())))?;
            if text.ends_with("\r\n") {
                text.truncate(text.len() - 2);
            } else if text.ends_with('\n') {
                text.truncate(text.len() - 1);
            }
            Ok(text)
        }
        Err(e) if given.is_none() && e.kind() == std::io::ErrorKind::NotFound => Ok(default.to_owned()),
        Err(e) => Err(ConfigError::startup(format!("--{flag}: cannot read file '{}': {e}", path.display()))),
    }
}

impl DatabaseSettings {
    pub fn from_args(args: &DatabaseArgs) -> Result<Self, ConfigError> {
        let url = args
            .database_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .or_else(|| std::env::var("DATABASE_URL").ok().filter(|u| !u.trim().is_empty()));
        let connect = match url {
            Some(url) => PgConnectOptions::from_str(&url).map_err(|e| ConfigError {
                exit_code: 2,
                // The URL may hold a password: name the flag, never echo the value.
                message: format!("invalid value for '--database-url': {}", redact_url_error(&e.to_string())),
            })?,
            None => Self::connect_from_files(args)?,
        };
        let target = format!(
            "{}:{}/{}",
            connect.get_host(),
            connect.get_port(),
            connect.get_database().unwrap_or_else(|| connect.get_username())
        );
        let statement_ms = args.db_statement_timeout.as_millis().to_string();
        let connect = connect
            .options([("statement_timeout", statement_ms.as_str()), ("TimeZone", "UTC")])
            .application_name("hyperfleet");
        Ok(DatabaseSettings {
            connect,
            target,
            max_connections: args.db_max_open_connections,
            acquire_timeout: args.db_acquire_timeout,
            statement_timeout: args.db_statement_timeout,
            connect_timeout: args.db_connect_timeout,
            debug_statements: args.enable_db_debug,
        })
    }

    fn connect_from_files(args: &DatabaseArgs) -> Result<PgConnectOptions, ConfigError> {
        let host = read_secret("db-host-file", args.db_host_file.as_deref(), "secrets/db.host", "localhost")?;
        let port_text = read_secret("db-port-file", args.db_port_file.as_deref(), "secrets/db.port", "5432")?;
        let port: u16 = port_text.trim().parse().ok().filter(|p| *p >= 1).ok_or_else(|| {
            ConfigError::startup(format!(
                "--db-port-file: the port must be an integer between 1 and 65535, got '{}'",
                port_text.trim()
            ))
        })?;
        let user = read_secret("db-user-file", args.db_user_file.as_deref(), "secrets/db.user", "hyperfleet")?;
        let password = read_secret("db-password-file", args.db_password_file.as_deref(), "secrets/db.password", "")?;
        let name = read_secret("db-name-file", args.db_name_file.as_deref(), "secrets/db.name", "hyperfleet")?;
        let mut options = PgConnectOptions::new_without_pgpass().host(&host).port(port).username(&user).database(&name);
        if !password.is_empty() {
            options = options.password(&password);
        }
        let mode = match args.db_sslmode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Require => PgSslMode::Require,
            SslMode::VerifyCa => PgSslMode::VerifyCa,
            SslMode::VerifyFull => PgSslMode::VerifyFull,
        };
        options = options.ssl_mode(mode);
        if matches!(args.db_sslmode, SslMode::VerifyCa | SslMode::VerifyFull) {
            if !args.db_rootcert.is_file() {
                return Err(ConfigError::startup(format!(
                    "--db-rootcert: file '{}' does not exist (required with --db-sslmode={})",
                    args.db_rootcert.display(),
                    if args.db_sslmode == SslMode::VerifyCa { "verify-ca" } else { "verify-full" }
                )));
            }
            options = options.ssl_root_cert(&args.db_rootcert);
        }
        Ok(options)
    }
}

/// Driver messages about a bad URL may quote it; keep only the part before any quoted text.
fn redact_url_error(message: &str) -> String {
    match message.find(['"', '\'']) {
        Some(idx) => message[..idx].trim_end_matches([':', ' ']).to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_addresses_expand_localhost_and_empty_hosts() {
        let local = BindAddress::parse("api-server-bindaddress", "localhost:8000").unwrap();
        assert_eq!(local.addrs.len(), 2);
        assert!(local.addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 8000));
        let any = BindAddress::parse("api-server-bindaddress", ":9000").unwrap();
        assert!(any.addrs.iter().all(|a| a.ip().is_unspecified() && a.port() == 9000));
        let v6 = BindAddress::parse("api-server-bindaddress", "[::1]:0").unwrap();
        assert_eq!(v6.addrs, vec!["[::1]:0".parse().unwrap()]);
    }

    #[test]
    fn bad_bind_addresses_name_the_flag_and_exit_with_2() {
        for value in ["8000", "localhost:http", "localhost:70000"] {
            let err = BindAddress::parse("metrics-server-bindaddress", value).unwrap_err();
            assert_eq!(err.exit_code, 2, "value {value}");
            assert!(err.message.contains("--metrics-server-bindaddress"), "{}", err.message);
        }
    }

    #[test]
    fn broker_urls_keep_ip_hosts_and_never_show_the_password() {
        let settings = BrokerSettings::from_args(Some("amqp://app:s3cret@10.1.2.3:5673/fleet"), "hyperfleet.events")
            .unwrap()
            .unwrap();
        assert_eq!(settings.uri.authority.host, "10.1.2.3");
        assert_eq!(settings.uri.authority.port, 5673);
        assert_eq!(settings.uri.authority.userinfo.password, "s3cret");
        assert_eq!(settings.target, "amqp://10.1.2.3:5673/fleet");
        assert!(!format!("{settings:?}").contains("s3cret"));
        let default_vhost = BrokerSettings::from_args(Some("amqp://guest:guest@[::1]/%2f"), "x").unwrap().unwrap();
        assert_eq!((default_vhost.uri.authority.host.as_str(), default_vhost.uri.vhost.as_str()), ("::1", "/"));
        assert!(BrokerSettings::from_args(Some("  "), "x").unwrap().is_none());
        assert!(BrokerSettings::from_args(None, "x").unwrap().is_none());
    }

    #[test]
    fn bad_broker_settings_name_the_flag_exit_with_2_and_hide_the_url() {
        for url in ["http://u:s3cret@host/", "not a url s3cret", "amqp://u:s3cret@host:99999/", "amqp:s3cret"] {
            let err = BrokerSettings::from_args(Some(url), "hyperfleet.events").unwrap_err();
            assert_eq!(err.exit_code, 2, "{url}");
            assert!(err.message.contains("'--broker-url'"), "{url}: {}", err.message);
            assert!(!err.message.contains("s3cret"), "{url}: {}", err.message);
        }
        for exchange in ["", "amq.topic", "with space", &"x".repeat(256)] {
            let err = BrokerSettings::from_args(Some("amqp://localhost"), exchange).unwrap_err();
            assert_eq!(err.exit_code, 2, "{exchange:?}");
            assert!(err.message.contains("'--broker-exchange'"), "{exchange:?}: {}", err.message);
        }
    }

    #[test]
    fn url_errors_never_echo_the_url() {
        assert_eq!(redact_url_error("invalid port number: \"postgres://u:secret@h:x/db\""), "invalid port number");
        assert_eq!(redact_url_error("relative URL without a base"), "relative URL without a base");
    }
}
