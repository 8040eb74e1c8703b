//! The search language: any text either parses into a filter whose SQL binds every value, or is
//! rejected with a reason. Never a panic.
#![no_main]

use hyperfleet::search::{Filter, Ordering, ResourceKind};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for kind in [ResourceKind::Cluster, ResourceKind::NodePool] {
        match Filter::parse(text, kind) {
            Ok(filter) => {
                let ordering = Ordering::parse(None, None, kind).expect("the default ordering is valid");
                common::check_statement(kind, filter.as_ref(), &ordering, 100, 0);
            }
            Err(error) => assert!(!error.0.is_empty(), "a rejected search names its reason"),
        }
    }
});
