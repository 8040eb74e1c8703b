//! Strict decoding and validation of adapter status reports (spec §4.12): members are checked
//! in a fixed order, conditions item by item, and every problem is reported at once.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::resources::check_free_form;
use crate::api::body::{self, Integer, Member, Object};
use crate::error::{cut_quoted, ApiError, FieldError};
use crate::model::inputs::{ConditionInput, StatusReport};
use crate::model::kind::MAX_GENERATION;

pub const REPORT_FIELDS: &[&str] = &["adapter", "observed_generation", "conditions", "data", "metadata"];
pub const CONDITION_FIELDS: &[&str] = &[
    "type",
    "status",
    "reason",
    "message",
    "adapter",
    "observed_generation",
    "created_at",
    "updated_at",
    "last_transition_time",
];
const ADAPTER_MAX: usize = 255;
const TYPE_MAX: usize = 128;
const REASON_MAX: usize = 1024;
const MESSAGE_MAX: usize = 32768;
/// Go's zero time, which adapters send for "not set".
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// `observed_generation` rules (report and condition level); `None` after recording an error.
fn generation(member: &Member<'_>, field: &str, prefix: &str, details: &mut Vec<FieldError>) -> Option<i32> {
    let error = match body::integer(member.raw) {
        Integer::Value(v) if (0..=MAX_GENERATION).contains(&v) => return Some(v as i32),
        Integer::Value(_) => format!("{prefix}{field} must be between 0 and {MAX_GENERATION}"),
        Integer::NotANumber | Integer::NotInteger => format!("{prefix}{field} must be an integer"),
    };
    details.push(FieldError::new(format!("{prefix}{field}"), error));
    None
}

/// A client timestamp: absent, `null` and Go's zero time mean "not given".
fn timestamp(
    member: Option<&Member<'_>>,
    field: &str,
    prefix: &str,
    details: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    let member = member?;
    let parsed = match &member.value {
        Value::Null => return None,
        Value::String(s) if s == ZERO_TIME => return None,
        Value::String(s) => DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc)),
        _ => None,
    };
    // Truncated to microseconds; years that cannot be rendered in RFC 3339 are rejected.
    let parsed = parsed.filter(|t| (0..=9999).contains(&chrono::Datelike::year(t))).map(|t| {
        let micros = t.timestamp_micros();
        DateTime::from_timestamp_micros(micros).unwrap_or(t)
    });
    if parsed.is_none() {
        details.push(FieldError::new(
            format!("{prefix}{field}"),
            format!("{prefix}{field} must be an RFC 3339 date-time"),
        ));
    }
    parsed
}

/// `reason` / `message`: optional strings with a length limit and no U+0000.
fn optional_text(
    member: Option<&Member<'_>>,
    field: &str,
    max: usize,
    prefix: &str,
    details: &mut Vec<FieldError>,
) -> Option<String> {
    let value = &member?.value;
    let error = match value {
        Value::Null => return None,
        Value::String(s) if s.chars().count() > max => format!("{field} must be at most {max} characters"),
        Value::String(s) if s.contains('\0') => format!("{field} must not contain the NUL character (U+0000)"),
        Value::String(s) => return Some(s.clone()),
        _ => format!("{field} must be a string"),
    };
    details.push(FieldError::new(format!("{prefix}{field}"), format!("{prefix}{error}")));
    None
}

/// Decodes and validates a report. Members are checked in the order `adapter`,
/// `observed_generation`, `conditions` (item by item), `data`, `metadata`.
pub fn decode_report(bytes: &[u8]) -> Result<StatusReport, ApiError> {
    let mut object = body::decode_object(bytes, REPORT_FIELDS)?;
    let items = match object.get("conditions") {
        Some(member) => body::decode_object_items(member, CONDITION_FIELDS)?,
        None => Vec::new(),
    };
    let mut details = Vec::new();

    let adapter = match object.get("adapter").map(|m| &m.value) {
        None | Some(Value::Null) => Err("adapter is required"),
        Some(Value::String(a)) if a.trim().is_empty() => Err("adapter is required"),
        Some(Value::String(a)) if a.chars().count() > ADAPTER_MAX => Err("adapter must be at most 255 characters"),
        Some(Value::String(a)) if a.chars().any(is_control) => Err("adapter must not contain control characters"),
        Some(Value::String(a)) => Ok(a.clone()),
        Some(_) => Err("adapter must be a string"),
    };
    let adapter = adapter.map_err(|e| details.push(FieldError::new("adapter", e))).ok();

    let observed_generation = match object.non_null("observed_generation") {
        None => {
            details.push(FieldError::new("observed_generation", "observed_generation is required"));
            None
        }
        Some(member) => generation(member, "observed_generation", "", &mut details),
    };

    let mut conditions = Vec::new();
    match object.get("conditions").map(|m| &m.value) {
        None => details.push(FieldError::new("conditions", "conditions is required")),
        Some(Value::Null) => {}
        Some(Value::Array(values)) => {
            let mut seen_types: Vec<String> = Vec::new();
            for (i, item) in items.iter().enumerate().take(values.len()) {
                let prefix = format!("conditions[{i}].");
                match item {
                    None => details.push(FieldError::new(
                        format!("conditions[{i}]"),
                        format!("conditions[{i}] must be an object"),
                    )),
                    Some(item) => {
                        if let Some(c) = condition(
                            item,
                            &prefix,
                            adapter.as_deref(),
                            observed_generation,
                            &mut seen_types,
                            &mut details,
                        ) {
                            conditions.push(c);
                        }
                    }
                }
            }
        }
        Some(_) => details.push(FieldError::new("conditions", "conditions must be an array")),
    }

    for field in ["data", "metadata"] {
        if let Some(member) = object.non_null(field) {
            check_free_form(member, field, &mut details);
        }
    }
    if !details.is_empty() {
        return Err(ApiError::Validation(details));
    }
    Ok(StatusReport {
        adapter: adapter.unwrap_or_default(),
        observed_generation: observed_generation.unwrap_or_default(),
        conditions,
        data: object.take("data").filter(|d| !d.is_null()).unwrap_or_else(|| Value::Object(Map::new())),
        metadata: object.take("metadata").filter(|m| !m.is_null()),
    })
}

/// One condition item, members in the order of the §4.12 table.
fn condition(
    item: &Object<'_>,
    prefix: &str,
    adapter: Option<&str>,
    report_generation: Option<i32>,
    seen_types: &mut Vec<String>,
    details: &mut Vec<FieldError>,
) -> Option<ConditionInput> {
    let before = details.len();
    let mut fail = |field: &str, error: String| {
        details.push(FieldError::new(format!("{prefix}{field}"), format!("{prefix}{error}")))
    };

    let condition_type = match item.get("type").map(|m| &m.value) {
        None | Some(Value::Null) => Err("type is required".to_owned()),
        Some(Value::String(t)) if t.is_empty() => Err("type is required".to_owned()),
        Some(Value::String(t)) if t.chars().count() > TYPE_MAX => Err("type must be at most 128 characters".to_owned()),
        Some(Value::String(t)) if t.chars().any(is_control) => {
            Err("type must not contain control characters".to_owned())
        }
        Some(Value::String(t)) if seen_types.contains(t) => Err(format!("type '{}' is duplicated", cut_quoted(t))),
        Some(Value::String(t)) => Ok(t.clone()),
        Some(_) => Err("type must be a string".to_owned()),
    };
    let condition_type = match condition_type {
        Ok(t) => {
            seen_types.push(t.clone());
            Some(t)
        }
        Err(e) => {
            fail("type", e);
            None
        }
    };
    let status = match item.get("status").map(|m| &m.value) {
        None | Some(Value::Null) => Err("status is required"),
        Some(Value::String(s)) if matches!(s.as_str(), "True" | "False" | "Unknown") => Ok(s.clone()),
        Some(_) => Err("status must be one of: True, False, Unknown"),
    };
    let status = status.map_err(|e| fail("status", e.to_owned())).ok();
    let reason = optional_text(item.get("reason"), "reason", REASON_MAX, prefix, details);
    let message = optional_text(item.get("message"), "message", MESSAGE_MAX, prefix, details);
    match item.get("adapter").map(|m| &m.value) {
        None | Some(Value::Null) => {}
        Some(Value::String(a)) if a.is_empty() || Some(a.as_str()) == adapter => {}
        Some(Value::String(_)) => details.push(FieldError::new(
            format!("{prefix}adapter"),
            format!("{prefix}adapter must equal the report's adapter '{}'", cut_quoted(adapter.unwrap_or_default())),
        )),
        Some(_) => {
            details.push(FieldError::new(format!("{prefix}adapter"), format!("{prefix}adapter must be a string")))
        }
    }
    let observed_generation = match item.non_null("observed_generation") {
        None => report_generation,
        Some(member) => generation(member, "observed_generation", prefix, details),
    };
    let created_at = timestamp(item.get("created_at"), "created_at", prefix, details);
    let updated_at = timestamp(item.get("updated_at"), "updated_at", prefix, details);
    let last_transition_time = timestamp(item.get("last_transition_time"), "last_transition_time", prefix, details);
    if details.len() > before {
        return None;
    }
    Some(ConditionInput {
        condition_type: condition_type?,
        status: status?,
        reason,
        message,
        observed_generation: observed_generation?,
        created_at,
        updated_at,
        last_transition_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::decode::schema_members::{of_list as set, of_schema as members};
    use crate::api::views::{AdapterStatusCreateRequest, ConditionRequest};

    #[test]
    fn request_schemas_list_exactly_the_members_the_decoder_accepts() {
        assert_eq!(members::<AdapterStatusCreateRequest>(), set(REPORT_FIELDS));
        assert_eq!(members::<ConditionRequest>(), set(CONDITION_FIELDS));
    }

    fn errors(body: &str) -> Vec<(String, String)> {
        match decode_report(body.as_bytes()) {
            Err(ApiError::Validation(details)) => details.into_iter().map(|d| (d.field, d.error)).collect(),
            other => panic!("expected validation errors for {body}, got {other:?}"),
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(f, e)| (f.to_string(), e.to_string())).collect()
    }

    #[test]
    fn a_full_report_decodes() {
        let report = decode_report(
            br#"{"adapter":"dns","observed_generation":2,"conditions":[{"type":"Available","status":"True",
                "reason":"R","message":"","adapter":"dns","observed_generation":1,
                "created_at":"2025-01-01T01:00:00.1234567+01:00","updated_at":null,
                "last_transition_time":"0001-01-01T00:00:00Z"}],"data":{"a":1},"metadata":null}"#,
        )
        .unwrap();
        assert_eq!(report.adapter, "dns");
        assert_eq!(report.observed_generation, 2);
        let c = &report.conditions[0];
        assert_eq!((c.condition_type.as_str(), c.status.as_str(), c.observed_generation), ("Available", "True", 1));
        assert_eq!(c.message.as_deref(), Some(""));
        assert_eq!(
            c.created_at.unwrap().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "2025-01-01T00:00:00.123456Z"
        );
        assert_eq!((c.updated_at, c.last_transition_time), (None, None));
        assert_eq!(report.data, serde_json::json!({"a": 1}));
        assert_eq!(report.metadata, None);
    }

    #[test]
    fn condition_defaults_come_from_the_report() {
        let report =
            decode_report(br#"{"adapter":"a","observed_generation":7,"conditions":[{"type":"X","status":"Unknown"}]}"#)
                .unwrap();
        assert_eq!(report.conditions[0].observed_generation, 7);
        assert_eq!(report.data, serde_json::json!({}));
        let report = decode_report(br#"{"adapter":"a","observed_generation":0,"conditions":null}"#).unwrap();
        assert!(report.conditions.is_empty());
    }

    #[test]
    fn report_members_are_checked_in_order() {
        assert_eq!(
            errors(r#"{"data":[],"metadata":"x"}"#),
            pairs(&[
                ("adapter", "adapter is required"),
                ("observed_generation", "observed_generation is required"),
                ("conditions", "conditions is required"),
                ("data", "data must be a JSON object"),
                ("metadata", "metadata must be a JSON object"),
            ])
        );
        let cases = [
            (r#"{"adapter":" ","observed_generation":1,"conditions":[]}"#, "adapter", "adapter is required"),
            (r#"{"adapter":5,"observed_generation":1,"conditions":[]}"#, "adapter", "adapter must be a string"),
            (
                r#"{"adapter":"a\u0007","observed_generation":1,"conditions":[]}"#,
                "adapter",
                "adapter must not contain control characters",
            ),
            (
                r#"{"adapter":"a\u0085","observed_generation":1,"conditions":[]}"#,
                "adapter",
                "adapter must not contain control characters",
            ),
            (
                r#"{"adapter":"a","observed_generation":1.0,"conditions":[]}"#,
                "observed_generation",
                "observed_generation must be an integer",
            ),
            (
                r#"{"adapter":"a","observed_generation":"1","conditions":[]}"#,
                "observed_generation",
                "observed_generation must be an integer",
            ),
            (
                r#"{"adapter":"a","observed_generation":-1,"conditions":[]}"#,
                "observed_generation",
                "observed_generation must be between 0 and 2147483647",
            ),
            (
                r#"{"adapter":"a","observed_generation":2147483648,"conditions":[]}"#,
                "observed_generation",
                "observed_generation must be between 0 and 2147483647",
            ),
            (
                r#"{"adapter":"a","observed_generation":1e2,"conditions":[]}"#,
                "observed_generation",
                "observed_generation must be an integer",
            ),
            (r#"{"adapter":"a","observed_generation":1,"conditions":{}}"#, "conditions", "conditions must be an array"),
            (
                r#"{"adapter":"a","observed_generation":1,"conditions":[1]}"#,
                "conditions[0]",
                "conditions[0] must be an object",
            ),
            (
                r#"{"adapter":"a","observed_generation":1,"conditions":[],"data":{"x":"\u0000"}}"#,
                "data",
                "data must not contain the NUL character (U+0000)",
            ),
        ];
        for (body, field, message) in cases {
            assert_eq!(errors(body), pairs(&[(field, message)]), "{body}");
        }
        let long = format!(r#"{{"adapter":"{}","observed_generation":1,"conditions":[]}}"#, "é".repeat(256));
        assert_eq!(errors(&long), pairs(&[("adapter", "adapter must be at most 255 characters")]));
    }

    #[test]
    fn condition_members_carry_their_path() {
        let body = r#"{"adapter":"a","observed_generation":1,"conditions":[
            {"type":"A","status":"True"},
            {"type":"A","status":"true","reason":1,"message":"\u0000","adapter":"b","observed_generation":-2,
             "created_at":"yesterday","updated_at":5,"last_transition_time":"2025-13-01T00:00:00Z"},
            {"status":null},
            {"type":""}]}"#;
        assert_eq!(
            errors(body),
            pairs(&[
                ("conditions[1].type", "conditions[1].type 'A' is duplicated"),
                ("conditions[1].status", "conditions[1].status must be one of: True, False, Unknown"),
                ("conditions[1].reason", "conditions[1].reason must be a string"),
                ("conditions[1].message", "conditions[1].message must not contain the NUL character (U+0000)"),
                ("conditions[1].adapter", "conditions[1].adapter must equal the report's adapter 'a'"),
                (
                    "conditions[1].observed_generation",
                    "conditions[1].observed_generation must be between 0 and 2147483647"
                ),
                ("conditions[1].created_at", "conditions[1].created_at must be an RFC 3339 date-time"),
                ("conditions[1].updated_at", "conditions[1].updated_at must be an RFC 3339 date-time"),
                (
                    "conditions[1].last_transition_time",
                    "conditions[1].last_transition_time must be an RFC 3339 date-time"
                ),
                ("conditions[2].type", "conditions[2].type is required"),
                ("conditions[2].status", "conditions[2].status is required"),
                ("conditions[3].type", "conditions[3].type is required"),
                ("conditions[3].status", "conditions[3].status is required"),
            ])
        );
    }

    #[test]
    fn condition_limits() {
        let body = format!(
            r#"{{"adapter":"a","observed_generation":1,"conditions":[{{"type":"{}","status":"True","reason":"{}","message":"{}"}}]}}"#,
            "t".repeat(129),
            "r".repeat(1025),
            "m".repeat(32769)
        );
        assert_eq!(
            errors(&body),
            pairs(&[
                ("conditions[0].type", "conditions[0].type must be at most 128 characters"),
                ("conditions[0].reason", "conditions[0].reason must be at most 1024 characters"),
                ("conditions[0].message", "conditions[0].message must be at most 32768 characters"),
            ])
        );
    }

    #[test]
    fn unknown_condition_members_are_malformed() {
        let err = decode_report(
            br#"{"adapter":"a","observed_generation":1,"conditions":[{"type":"A","status":"True","severity":"x"}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "Invalid request format: unknown field \"conditions[0].severity\"");
    }
}
