//! Fixes the build identity (`commit`, `build_time`) at compile time for `hyperfleet version`,
//! `GET /api/hyperfleet` and `hyperfleet_build_info`. Both fall back to `unknown`, never empty.
//! Also renders `openapi/openapi.yaml` and `openapi/asyncapi.yaml` as compact JSON into `OUT_DIR`,
//! so the served documents are constants and a YAML the parser rejects fails the build instead of
//! a request.
use std::path::Path;
use std::process::Command;

fn main() {
    yaml_to_json("openapi/openapi.yaml", "openapi.json");
    yaml_to_json("openapi/asyncapi.yaml", "asyncapi.json");
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

/// Key order is kept (`preserve_order`), so the JSON lists paths and members as the YAML does.
fn yaml_to_json(source: &str, target: &str) {
    println!("cargo:rerun-if-changed={source}");
    let yaml = std::fs::read_to_string(source).unwrap_or_else(|e| panic!("{source} is readable: {e}"));
    let document: serde_json::Value =
        serde_norway::from_str(&yaml).unwrap_or_else(|e| panic!("{source} is YAML that maps to JSON: {e}"));
    let json = serde_json::to_vec(&document).expect("the document renders as JSON");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out).join(target), json).expect("OUT_DIR is writable");
}
