//! Property tests of the request decoders (`body.rs`, the create/patch decoders of
//! `resources.rs`, the report decoder of `statuses.rs`): whatever the bytes, they never panic and
//! answer either a value or a 4xx error with a non-empty reason; and what they accept can be
//! stored, so no U+0000 reaches Postgres (which would make it a 500). The cargo-fuzz targets under
//! `fuzz/` explore the same functions for longer; these run in every `make test`.

use actix_web::ResponseError;
use proptest::prelude::*;
use serde_json::{Map, Value};

use super::body::{self, contains_nul};
use super::decode::resources::{decode_create, decode_patch};
use super::decode::statuses::decode_report;
use crate::error::ApiError;
use crate::model::kind::ResourceKind;

#[track_caller]
fn assert_client_error<T>(result: &Result<T, ApiError>, input: &[u8]) {
    if let Err(error) = result {
        assert!(error.status_code().is_client_error(), "{error:?} for {:?}", String::from_utf8_lossy(input));
        assert!(!error.to_string().is_empty(), "a reason for {:?}", String::from_utf8_lossy(input));
    }
}

/// Runs every decoder on the bytes and checks that what is accepted is storable.
fn decode_all(input: &[u8]) {
    let allowed = ["name", "spec", "labels", "conditions", "data"];
    assert_client_error(&body::decode_object(input, &allowed), input);
    for kind in [ResourceKind::Cluster, ResourceKind::NodePool] {
        let result = decode_create(input, kind);
        assert_client_error(&result, input);
        if let Ok(new) = result {
            assert!(!new.name.is_empty() && !new.name.contains('\0'), "{new:?}");
            assert!(new.spec.is_object() && !contains_nul(&new.spec), "{new:?}");
            assert!(new.labels.is_object() && !contains_nul(&new.labels), "{new:?}");
        }
    }
    let result = decode_patch(input);
    assert_client_error(&result, input);
    if let Ok(patch) = result {
        assert!(patch.spec.is_some() || patch.labels.is_some());
        assert!(!patch.spec.iter().chain(patch.labels.iter()).any(contains_nul), "{patch:?}");
    }
    let result = decode_report(input);
    assert_client_error(&result, input);
    if let Ok(report) = result {
        assert!(!report.adapter.contains('\0'));
        assert!(!contains_nul(&report.data) && !report.metadata.as_ref().is_some_and(contains_nul));
        for c in &report.conditions {
            let texts = [Some(&c.condition_type), Some(&c.status), c.reason.as_ref(), c.message.as_ref()];
            assert!(texts.into_iter().flatten().all(|t| !t.contains('\0')), "{c:?}");
        }
    }
}

/// Text with the characters that break things: NUL and other controls, quotes, backslashes,
/// confusables, surrogate-range neighbours, and plain label-safe letters.
fn text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(
        &[
            "a",
            "z",
            "0",
            "-",
            ".",
            "_",
            "/",
            "\0",
            "\u{1}",
            "\u{7f}",
            "\"",
            "\\",
            "'",
            " ",
            "é",
            "\u{0455}",
            "\u{200b}",
            "\u{feff}",
            "\u{ffff}",
            "😀",
            "True",
            "False",
            "Available",
            "dns",
        ][..],
    );
    prop::collection::vec(pieces, 0..12).prop_map(|p| p.concat())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        prop::sample::select(&[0_i64, 1, -1, 2_147_483_647, 2_147_483_648][..]).prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Objects whose members are mostly the known ones, with arbitrary values: they reach the
/// content rules instead of stopping at "unknown field".
fn request_object() -> impl Strategy<Value = Value> {
    let names = prop::sample::select(
        &[
            "name",
            "kind",
            "id",
            "href",
            "spec",
            "labels",
            "adapter",
            "observed_generation",
            "conditions",
            "data",
            "metadata",
            "type",
            "status",
            "reason",
            "message",
            "bogus",
        ][..],
    );
    let condition = prop::collection::vec((names.clone(), json_value()), 0..6)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
    let member = prop_oneof![
        4 => (names, json_value()).prop_map(|(k, v)| (k.to_owned(), v)),
        1 => prop::collection::vec(condition, 0..4).prop_map(|c| ("conditions".to_owned(), Value::Array(c))),
    ];
    prop::collection::vec(member, 0..7).prop_map(|m| Value::Object(m.into_iter().collect()))
}

const VALID: &[&str] = &[
    r#"{"kind":"Cluster","name":"abc","spec":{"a":[1,2.5,"x",null,true]},"labels":{"env":"prod"}}"#,
    r#"{"spec":{"k":"v"},"labels":{"example.com/team":"a-b_c.d"}}"#,
    r#"{"adapter":"dns","observed_generation":1,"conditions":[{"type":"Available","status":"True","reason":"r","message":"m","last_transition_time":"2025-01-01T00:00:00Z"}],"data":{"x":1},"metadata":{"y":2}}"#,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&input);
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_json_objects(object in request_object()) {
        decode_all(object.to_string().as_bytes());
    }

    #[test]
    fn decoders_never_panic_on_truncated_or_corrupted_valid_bodies(
        which in 0..VALID.len(), cut in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), byte in any::<u8>()
    ) {
        let valid = VALID[which].as_bytes();
        decode_all(&valid[..cut.index(valid.len() + 1)]);
        let mut corrupted = valid.to_vec();
        corrupted[at.index(valid.len())] = byte;
        decode_all(&corrupted);
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing(depth in 129_usize..20_000, open in prop::sample::select(&['[', '{'][..])) {
        let inner = if open == '[' { "[".repeat(depth) + &"]".repeat(depth) } else { "{\"a\":".repeat(depth) + "1" + &"}".repeat(depth) };
        let body = format!("{{\"spec\":{inner}}}");
        let error = decode_patch(body.as_bytes()).unwrap_err();
        prop_assert!(matches!(error, ApiError::Malformed(ref r) if r.contains("nesting")), "{error:?}");
    }
}

#[test]
fn the_valid_seeds_decode() {
    assert!(decode_create(VALID[0].as_bytes(), ResourceKind::Cluster).is_ok());
    assert!(decode_patch(VALID[1].as_bytes()).is_ok());
    assert!(decode_report(VALID[2].as_bytes()).is_ok());
}
