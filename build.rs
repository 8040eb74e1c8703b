//! Fixes the build identity (`commit`, `build_time`) at compile time for `hyperfleet version`,
//! `GET /api/hyperfleet` and `hyperfleet_build_info`. Both fall back to `unknown`, never empty.
use std::process::Command;

fn main() {
    let commit = std::env::var("HYPERFLEET_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let build_time = std::env::var("HYPERFLEET_BUILD_TIME")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .or_else(|| {
            Command::new("date")
                .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=HYPERFLEET_COMMIT={commit}");
    println!("cargo:rustc-env=HYPERFLEET_BUILD_TIME={build_time}");
    println!("cargo:rerun-if-env-changed=HYPERFLEET_BUILD_COMMIT");
    println!("cargo:rerun-if-env-changed=HYPERFLEET_BUILD_TIME");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=migrations");
}
