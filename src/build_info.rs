//! The build identity, fixed at compile time by `build.rs`; never empty.

/// Package version, e.g. `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Source revision, or `unknown`.
pub const COMMIT: &str = env!("HYPERFLEET_COMMIT");
/// RFC 3339 build time, or `unknown`.
pub const BUILD_TIME: &str = env!("HYPERFLEET_BUILD_TIME");

/// The line printed by `hyperfleet version`.
pub fn version_line() -> String {
    format!("hyperfleet {VERSION} (commit {COMMIT}, built {BUILD_TIME})")
}
