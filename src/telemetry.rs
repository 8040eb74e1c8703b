//! Logging set-up: the global `tracing` subscriber (text or JSON on stderr) and the panic hook.
//! The request pipeline that logs each request lives in `api::middleware`.

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::cli::{LogFormat, LogLevel};
use crate::edge::QuietClientFaults;

/// Installs the global subscriber (stderr, text or JSON) and a panic hook that logs panics with
/// their backtrace. Safe to call more than once (later calls keep the first subscriber).
pub fn init(level: LogLevel, format: LogFormat) {
    let level = match level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
    };
    let filter = EnvFilter::new(filter_directives(level));
    // Colours only for a terminal: a log file or pipe gets plain text, and the formatter skips
    // the escape sequences on every record (a measurable share of a request's CPU, docs/benchmarks.md).
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .with_target(false);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .finish()
            .with(QuietClientFaults)
            .try_init(),
        LogFormat::Text => builder.finish().with(QuietClientFaults).try_init(),
    };
    if result.is_ok() {
        std::panic::set_hook(Box::new(|info| {
            let backtrace = std::backtrace::Backtrace::force_capture();
            tracing::error!(panic = %info, backtrace = %backtrace, "panic");
        }));
    }
}

/// Dependencies' chatter stays at warn unless the operator asks for more than info. Targets
/// match by string prefix, so `hyper=info` would also cap `hyperfleet`: it is named as well.
fn filter_directives(level: &str) -> String {
    if matches!(level, "debug" | "trace") {
        format!(
            "{level},hyperfleet={level},h2=info,hyper=info,hyper_util=info,reqwest=info,rustls=info,tokio_util=info"
        )
    } else {
        format!("{level},actix_server=warn,sqlx=warn")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_level_reaches_the_service_own_records() {
        let filter = EnvFilter::new(filter_directives("debug"));
        let subscriber = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::sink).finish();
        tracing::subscriber::with_default(subscriber, || {
            assert!(tracing::enabled!(tracing::Level::DEBUG), "hyperfleet records at debug");
            assert!(!tracing::enabled!(target: "hyper::proto", tracing::Level::DEBUG), "hyper stays at info");
        });
    }
}
