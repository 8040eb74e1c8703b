//! Strict decoding and validation of cluster and node-pool create and PATCH bodies (spec §4.1,
//! §4.7, §4.9, §4.14): every problem of a body is reported at once, each with its own message
//! (§2.4), member by member in a fixed order.

use serde_json::{Map, Value};

use crate::api::body::{self, contains_nul, Member};
use crate::error::{cut_quoted, ApiError, FieldError};
use crate::model::inputs::{NewResource, ResourcePatch};
use crate::model::kind::{is_dns_label, ResourceKind, MAX_NAME_LEN};
use crate::search::is_valid_label_key;

pub const CREATE_FIELDS: &[&str] = &["kind", "name", "spec", "labels", "id", "href"];
pub const PATCH_FIELDS: &[&str] = &["spec", "labels"];
const LABEL_VALUE_MAX: usize = 63;

/// Decodes and validates a cluster or node-pool create body. Members are checked in the order
/// `id`, `name`, `kind`, `spec`, `labels`, `href`, each reporting its first failed rule.
pub fn decode_create(bytes: &[u8], kind: ResourceKind) -> Result<NewResource, ApiError> {
    let mut object = body::decode_object(bytes, CREATE_FIELDS)?;
    let mut details = Vec::new();

    if let Some(id) = object.get("id") {
        if !matches!(&id.value, Value::Null) && id.value.as_str() != Some("") {
            details.push(FieldError::new("id", "id must be empty"));
        }
    }
    check_name(object.get("name"), kind, &mut details);
    if let Some(member) = object.get("kind") {
        match member.value.as_str() {
            Some(k) if k == kind.kind() => {}
            Some("") => details.push(FieldError::new("kind", "kind is required")),
            _ => details.push(FieldError::new("kind", format!("kind must be '{}'", kind.kind()))),
        }
    }
    match object.non_null("spec") {
        None => details.push(FieldError::new("spec", "spec is required")),
        Some(member) => check_free_form(member, "spec", &mut details),
    }
    check_labels(object.non_null("labels"), &mut details);
    if let Some(href) = object.non_null("href") {
        if !href.value.is_string() {
            details.push(FieldError::new("href", "href must be a string"));
        }
    }
    if !details.is_empty() {
        return Err(ApiError::Validation(details));
    }
    Ok(NewResource {
        name: object.take("name").and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        spec: object.take("spec").unwrap_or_default(),
        labels: object.take("labels").filter(|l| !l.is_null()).unwrap_or_else(|| Value::Object(Map::new())),
    })
}

/// Decodes and validates a PATCH body (`spec` and/or `labels`, whole-value replacements).
pub fn decode_patch(bytes: &[u8]) -> Result<ResourcePatch, ApiError> {
    let mut object = body::decode_object(bytes, PATCH_FIELDS)?;
    let mut details = Vec::new();
    if let Some(member) = object.get("spec") {
        check_free_form(member, "spec", &mut details);
    }
    check_labels(object.non_null("labels"), &mut details);
    if object.get("spec").is_none() && object.non_null("labels").is_none() {
        details.push(FieldError::new("body", "request body must contain at least one of: spec, labels"));
    }
    if !details.is_empty() {
        return Err(ApiError::Validation(details));
    }
    Ok(ResourcePatch { spec: object.take("spec"), labels: object.take("labels").filter(|l| !l.is_null()) })
}

fn check_name(member: Option<&Member<'_>>, kind: ResourceKind, details: &mut Vec<FieldError>) {
    let error = match member.map(|m| &m.value) {
        None | Some(Value::Null) => Some("name is required".to_owned()),
        Some(Value::String(name)) if name.is_empty() => Some("name is required".to_owned()),
        Some(Value::String(name)) => {
            let chars = name.chars().count();
            if chars < kind.min_name_len() {
                Some(format!("name must be at least {} characters", kind.min_name_len()))
            } else if chars > MAX_NAME_LEN {
                Some(format!("name must be at most {MAX_NAME_LEN} characters"))
            } else if !is_dns_label(name) {
                Some(
                    "name must start and end with lowercase letter or number, and contain only lowercase letters, \
                     numbers, and hyphens"
                        .to_owned(),
                )
            } else {
                None
            }
        }
        Some(_) => Some("name must be a string".to_owned()),
    };
    if let Some(error) = error {
        details.push(FieldError::new("name", error));
    }
}

/// `spec`, `data`, `metadata`: a JSON object without U+0000 (which `jsonb` cannot store).
pub fn check_free_form(member: &Member<'_>, field: &str, details: &mut Vec<FieldError>) {
    if !member.value.is_object() {
        details.push(FieldError::new(field, format!("{field} must be a JSON object")));
    } else if contains_nul(&member.value) {
        details.push(FieldError::new(field, format!("{field} must not contain the NUL character (U+0000)")));
    }
}

/// The label rules of §4.1: keys in byte order, at most one message per key.
fn check_labels(member: Option<&Member<'_>>, details: &mut Vec<FieldError>) {
    let Some(member) = member else { return };
    let Value::Object(labels) = &member.value else {
        details.push(FieldError::new("labels", "labels must be an object"));
        return;
    };
    // serde_json's map is ordered by key, which for strings is byte order.
    for (key, value) in labels {
        let quoted = cut_quoted(key);
        let error = if !is_valid_label_key(key) {
            format!("label key '{quoted}' is invalid: must be a Kubernetes label key ([prefix/]name)")
        } else if let Some(value) = value.as_str() {
            if is_valid_label_value(value) {
                continue;
            }
            format!(
                "label value for key '{quoted}' is invalid: must be empty or at most 63 characters of \
                 alphanumerics, '-', '_' or '.', beginning and ending with an alphanumeric"
            )
        } else {
            format!("label '{quoted}' must have a string value")
        };
        details.push(FieldError::new(format!("labels.{key}"), error));
    }
}

fn is_valid_label_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    match (bytes.first(), bytes.last()) {
        (None, _) | (_, None) => true,
        (Some(first), Some(last)) => {
            bytes.len() <= LABEL_VALUE_MAX
                && first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::decode::schema_members::{of_list as set, of_schema as members};
    use crate::api::views::{CreateRequest, PatchRequest};

    #[test]
    fn request_schemas_list_exactly_the_members_the_decoders_accept() {
        assert_eq!(members::<CreateRequest>(), set(CREATE_FIELDS));
        assert_eq!(members::<PatchRequest>(), set(PATCH_FIELDS));
    }

    fn create_errors(body: &str, kind: ResourceKind) -> Vec<(String, String)> {
        match decode_create(body.as_bytes(), kind) {
            Err(ApiError::Validation(details)) => details.into_iter().map(|d| (d.field, d.error)).collect(),
            other => panic!("expected validation errors for {body}, got {other:?}"),
        }
    }

    #[test]
    fn the_contract_example_reports_every_member_in_order() {
        let errors = create_errors(r#"{"kind":"cluster","name":"Prod_1","spec":"x"}"#, ResourceKind::Cluster);
        assert_eq!(
            errors,
            vec![
                (
                    "name".to_owned(),
                    "name must start and end with lowercase letter or number, and contain only lowercase letters, \
                     numbers, and hyphens"
                        .to_owned()
                ),
                ("kind".to_owned(), "kind must be 'Cluster'".to_owned()),
                ("spec".to_owned(), "spec must be a JSON object".to_owned()),
            ]
        );
    }

    #[test]
    fn name_rules_report_the_first_failure() {
        let cases = [
            (r#"{"spec":{}}"#, "name is required"),
            (r#"{"name":null,"spec":{}}"#, "name is required"),
            (r#"{"name":"","spec":{}}"#, "name is required"),
            (r#"{"name":7,"spec":{}}"#, "name must be a string"),
            (r#"{"name":"ab","spec":{}}"#, "name must be at least 3 characters"),
            (r#"{"name":"AB","spec":{}}"#, "name must be at least 3 characters"),
        ];
        for (body, message) in cases {
            assert_eq!(create_errors(body, ResourceKind::Cluster), vec![("name".into(), message.into())], "{body}");
        }
        let long = format!(r#"{{"name":"{}","spec":{{}}}}"#, "a".repeat(64));
        assert_eq!(create_errors(&long, ResourceKind::Cluster)[0].1, "name must be at most 63 characters");
        let ok = format!(r#"{{"name":"{}","spec":{{}}}}"#, "a".repeat(63));
        assert!(decode_create(ok.as_bytes(), ResourceKind::Cluster).is_ok());
        assert!(decode_create(br#"{"name":"a","spec":{}}"#, ResourceKind::NodePool).is_ok());
    }

    #[test]
    fn labels_get_one_message_per_key_in_byte_order() {
        let errors = create_errors(
            r#"{"name":"abc","spec":{},"labels":{"ok":"v","b":1,"-bad":"x","a":"-v-","Z/x":"1"}}"#,
            ResourceKind::Cluster,
        );
        assert_eq!(
            errors,
            vec![
                (
                    "labels.-bad".into(),
                    "label key '-bad' is invalid: must be a Kubernetes label key ([prefix/]name)".into()
                ),
                (
                    "labels.Z/x".into(),
                    "label key 'Z/x' is invalid: must be a Kubernetes label key ([prefix/]name)".into()
                ),
                (
                    "labels.a".into(),
                    "label value for key 'a' is invalid: must be empty or at most 63 characters of alphanumerics, \
                     '-', '_' or '.', beginning and ending with an alphanumeric"
                        .into()
                ),
                ("labels.b".into(), "label 'b' must have a string value".into()),
            ]
        );
        assert_eq!(
            create_errors(r#"{"name":"abc","spec":{},"labels":[]}"#, ResourceKind::Cluster),
            vec![("labels".into(), "labels must be an object".into())]
        );
    }

    #[test]
    fn null_members_follow_the_null_rules() {
        let new = decode_create(
            br#"{"name":"abc","spec":{"a":null},"labels":null,"id":null,"href":null}"#,
            ResourceKind::Cluster,
        )
        .unwrap();
        assert_eq!(new.labels, serde_json::json!({}));
        assert_eq!(new.spec, serde_json::json!({"a": null}));
        assert_eq!(
            create_errors(r#"{"name":"abc","spec":null,"kind":null}"#, ResourceKind::Cluster),
            vec![("kind".into(), "kind must be 'Cluster'".into()), ("spec".into(), "spec is required".into())]
        );
        assert_eq!(
            create_errors(r#"{"name":"abc","spec":{},"id":"x","href":3,"kind":""}"#, ResourceKind::Cluster),
            vec![
                ("id".into(), "id must be empty".into()),
                ("kind".into(), "kind is required".into()),
                ("href".into(), "href must be a string".into())
            ]
        );
    }

    #[test]
    fn nul_in_spec_is_a_content_error() {
        assert_eq!(
            create_errors(r#"{"name":"abc","spec":{"k":"a\u0000b"}}"#, ResourceKind::Cluster),
            vec![("spec".into(), "spec must not contain the NUL character (U+0000)".into())]
        );
    }

    #[test]
    fn patch_needs_spec_or_labels() {
        let body_error = ApiError::validation("body", "request body must contain at least one of: spec, labels");
        for body in ["{}", r#"{"labels":null}"#] {
            assert_eq!(decode_patch(body.as_bytes()).unwrap_err().to_string(), body_error.to_string(), "{body}");
        }
        assert_eq!(decode_patch(br#"{"spec":null}"#).unwrap_err().to_string(), "spec must be a JSON object");
        let patch = decode_patch(br#"{"labels":{"a":"b"}}"#).unwrap();
        assert_eq!(patch, ResourcePatch { spec: None, labels: Some(serde_json::json!({"a": "b"})) });
        assert!(matches!(decode_patch(br#"{"name":"x"}"#), Err(ApiError::Malformed(_))));
    }
}
