//! Request bodies: bounded reading (413) and strict JSON decoding (spec §2.3, §2.4).
//!
//! Decoding checks, in order: emptiness, nesting depth, syntax (the whole body, so a syntax
//! error anywhere wins), object-ness, unknown members, duplicate members. Only then do handlers
//! validate content. Members keep their raw text next to the parsed value, because some rules
//! depend on how a number was written (`1` is an integer, `1.0` is not).

use actix_web::dev::Payload;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::api::caller::AuthGate;
use crate::error::ApiError;

/// Default request body limit (1 MiB).
pub const DEFAULT_LIMIT: usize = 1_048_576;

/// Deepest accepted nesting; the body object is level 1.
pub const MAX_DEPTH: usize = 128;

/// The configured body limit, registered as app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// The raw request body, read whole up to the limit. A larger `Content-Length` is refused
/// before anything is read; a streamed body is cut off as soon as it passes the limit.
pub struct RawBody(pub Bytes);

impl FromRequest for RawBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<BodyLimit>().map_or(DEFAULT_LIMIT, |l| l.0);
        // Authentication comes first (§2.10): while the caller's verdict awaits a key refresh,
        // neither refuse nor read the body, and a refused caller's body is never looked at.
        let gate = req.extensions().get::<AuthGate>().cloned();
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Box::pin(async move {
                if let Some(gate) = gate {
                    gate.wait().await?;
                }
                Err(ApiError::PayloadTooLarge(limit))
            });
        }
        let mut stream = payload.take();
        let capacity = declared.map_or(8 * 1024, |len| len as usize);
        Box::pin(async move {
            if let Some(gate) = gate {
                gate.wait().await?;
            }
            let mut buf = BytesMut::with_capacity(capacity);
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| ApiError::Malformed(format!("request body could not be read: {e}")))?;
                if buf.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge(limit));
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(RawBody(buf.freeze()))
        })
    }
}

/// One member of a decoded object, in document order.
#[derive(Debug)]
pub struct Member<'a> {
    pub name: String,
    pub raw: &'a RawValue,
    pub value: Value,
}

/// A strictly decoded JSON object.
#[derive(Debug)]
pub struct Object<'a> {
    pub members: Vec<Member<'a>>,
}

impl<'a> Object<'a> {
    pub fn get(&self, name: &str) -> Option<&Member<'a>> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The member's value, with JSON `null` treated as absent.
    pub fn non_null(&self, name: &str) -> Option<&Member<'a>> {
        self.get(name).filter(|m| !m.value.is_null())
    }

    /// Moves a member's value out (validation is done; the object is not read again for it).
    pub fn take(&mut self, name: &str) -> Option<Value> {
        self.members.iter_mut().find(|m| m.name == name).map(|m| m.value.take())
    }
}

fn malformed(what: impl std::fmt::Display) -> ApiError {
    ApiError::Malformed(what.to_string())
}

/// Decodes a request body that must be one JSON object whose member names are all in `allowed`.
pub fn decode_object<'a>(body: &'a [u8], allowed: &[&str]) -> Result<Object<'a>, ApiError> {
    if body.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
        return Err(malformed("request body is empty"));
    }
    check_depth(body)?;
    let text = std::str::from_utf8(body).map_err(|_| malformed("request body is not valid UTF-8"))?;
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| malformed(describe(&e)))?;
    decode_members(raw, "", allowed)
}

/// Decodes the object items of an array member (for example `conditions`) with the same strict
/// rules, naming problems by path (`conditions[0].severity`). Items that are not objects are
/// `None`; a member that is not an array gives no items. Content rules are the caller's.
pub fn decode_object_items<'a>(member: &Member<'a>, allowed: &[&str]) -> Result<Vec<Option<Object<'a>>>, ApiError> {
    if !member.value.is_array() {
        return Ok(Vec::new());
    }
    let items: Vec<&'a RawValue> = serde_json::from_str(member.raw.get()).map_err(|e| malformed(describe(&e)))?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            if item.get().starts_with('{') {
                decode_members(item, &format!("{}[{i}].", member.name), allowed).map(Some)
            } else {
                Ok(None)
            }
        })
        .collect()
}

fn decode_members<'a>(raw: &'a RawValue, prefix: &str, allowed: &[&str]) -> Result<Object<'a>, ApiError> {
    let entries: Vec<(String, &'a RawValue)> = match raw.get().as_bytes().first() {
        Some(b'{') => serde_json::from_str::<OrderedEntries<'a>>(raw.get()).map_err(|e| malformed(describe(&e)))?.0,
        _ => return Err(malformed("request body must be a JSON object")),
    };
    let mut members = Vec::with_capacity(entries.len());
    for (name, raw) in entries {
        let value: Value = serde_json::from_str(raw.get()).map_err(|e| malformed(describe(&e)))?;
        members.push(Member { name, raw, value });
    }
    if let Some(unknown) = members.iter().find(|m| !allowed.contains(&m.name.as_str())) {
        return Err(malformed(format!(
            "unknown field \"{}\"",
            crate::error::cut_quoted(&format!("{prefix}{}", unknown.name))
        )));
    }
    for (i, member) in members.iter().enumerate() {
        if members[..i].iter().any(|m| m.name == member.name) {
            return Err(malformed(format!("duplicate field \"{prefix}{}\"", member.name)));
        }
    }
    Ok(Object { members })
}

/// serde_json's messages are fine for clients; drop nothing but keep them non-empty.
fn describe(error: &serde_json::Error) -> String {
    let text = error.to_string();
    if text.is_empty() {
        "request body is not valid JSON".to_owned()
    } else {
        text
    }
}

/// Object members in document order, duplicates kept (a map would silently keep the last).
struct OrderedEntries<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for OrderedEntries<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = OrderedEntries<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push((key, value));
                }
                Ok(OrderedEntries(entries))
            }
        }
        deserializer.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

/// Rejects nesting deeper than [`MAX_DEPTH`] before parsing, so no parser recursion limit or
/// stack depth is ever reached.
fn check_depth(body: &[u8]) -> Result<(), ApiError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(malformed(format!("nesting is deeper than {MAX_DEPTH} levels")));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// How a member's raw text reads as an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integer {
    /// Not a JSON number at all.
    NotANumber,
    /// A number with a fraction or an exponent.
    NotInteger,
    /// An integer; values beyond i64 saturate (they are out of every range we accept).
    Value(i64),
}

pub fn integer(raw: &RawValue) -> Integer {
    let text = raw.get();
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.as_bytes()[0].is_ascii_digit() {
        return Integer::NotANumber;
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Integer::NotInteger;
    }
    match text.parse::<i64>() {
        Ok(v) => Integer::Value(v),
        Err(_) if text.starts_with('-') => Integer::Value(i64::MIN),
        Err(_) => Integer::Value(i64::MAX),
    }
}

/// Whether any string (or object key) inside `value` contains U+0000, which Postgres cannot
/// store in `jsonb`.
pub fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(body: &str, allowed: &[&str]) -> String {
        match decode_object(body.as_bytes(), allowed) {
            Err(ApiError::Malformed(reason)) => reason,
            other => panic!("expected a malformed-body error for {body:?}, got {other:?}"),
        }
    }

    #[test]
    fn empty_and_blank_bodies_are_empty() {
        assert_eq!(reason("", &["a"]), "request body is empty");
        assert_eq!(reason(" \n\t\r ", &["a"]), "request body is empty");
    }

    #[test]
    fn non_objects_are_rejected() {
        for body in ["[]", "\"x\"", "1", "true", "null"] {
            assert_eq!(reason(body, &["a"]), "request body must be a JSON object", "{body}");
        }
    }

    #[test]
    fn syntax_errors_trailing_data_and_bom_are_malformed() {
        for body in ["{", "{'a':1}", "{\"a\":1}{\"a\":2}", "{\"a\":1} x", "\u{feff}{\"a\":1}", "{\"a\":1e400}"] {
            let r = reason(body, &["a"]);
            assert!(!r.is_empty(), "{body}");
        }
    }

    #[test]
    fn invalid_utf8_is_malformed() {
        let body = b"{\"a\":\"\xff\"}";
        assert!(matches!(decode_object(body, &["a"]), Err(ApiError::Malformed(_))));
    }

    #[test]
    fn unknown_members_are_named_and_win_over_duplicates() {
        assert_eq!(reason(r#"{"a":1,"b":2}"#, &["a"]), "unknown field \"b\"");
        assert_eq!(reason(r#"{"a":1,"a":2,"b":3}"#, &["a"]), "unknown field \"b\"");
        assert_eq!(reason(r#"{"a":1,"a":2}"#, &["a"]), "duplicate field \"a\"");
    }

    #[test]
    fn syntax_errors_anywhere_win_over_unknown_members() {
        let r = reason(r#"{"b":1,"a":[1,}"#, &["a"]);
        assert!(!r.starts_with("unknown"), "{r}");
    }

    #[test]
    fn free_form_members_keep_the_last_duplicate_key() {
        let object = decode_object(br#"{"a":{"k":1,"k":2}}"#, &["a"]).unwrap();
        assert_eq!(object.get("a").unwrap().value, serde_json::json!({"k": 2}));
    }

    #[test]
    fn nesting_is_limited_to_128_levels() {
        let ok = format!("{}{}", "{\"a\":".repeat(127) + "{", "}".repeat(128));
        assert!(decode_object(ok.as_bytes(), &["a"]).is_ok());
        let deep = format!("{}{}", "{\"a\":".repeat(128) + "{", "}".repeat(129));
        assert!(reason(&deep, &["a"]).contains("nesting"));
        let arrays = format!("{{\"a\":{}{}}}", "[".repeat(127), "]".repeat(127));
        assert!(decode_object(arrays.as_bytes(), &["a"]).is_ok());
        let arrays = format!("{{\"a\":{}{}}}", "[".repeat(128), "]".repeat(128));
        assert!(decode_object(arrays.as_bytes(), &["a"]).is_err());
    }

    #[test]
    fn brackets_inside_strings_do_not_count_as_nesting() {
        let body = format!("{{\"a\":\"{}\\\"{}\"}}", "[".repeat(500), "{".repeat(500));
        assert!(decode_object(body.as_bytes(), &["a"]).is_ok());
    }

    #[test]
    fn object_items_are_decoded_strictly_with_paths() {
        let object = decode_object(br#"{"c":[{"t":1},2,{"t":2,"x":3}]}"#, &["c"]).unwrap();
        let err = decode_object_items(object.get("c").unwrap(), &["t"]).unwrap_err();
        assert_eq!(err.to_string(), "Invalid request format: unknown field \"c[2].x\"");
        let object = decode_object(br#"{"c":[{"t":1,"t":2}]}"#, &["c"]).unwrap();
        let err = decode_object_items(object.get("c").unwrap(), &["t"]).unwrap_err();
        assert_eq!(err.to_string(), "Invalid request format: duplicate field \"c[0].t\"");
        let object = decode_object(br#"{"c":[{"t":1}, "x"]}"#, &["c"]).unwrap();
        let items = decode_object_items(object.get("c").unwrap(), &["t"]).unwrap();
        assert!(items[0].is_some() && items[1].is_none());
    }

    #[test]
    fn integers_are_told_apart_by_their_text() {
        let object = decode_object(
            br#"{"a":1,"b":1.0,"c":1e2,"d":"1","e":-5,"f":99999999999999999999999}"#,
            &["a", "b", "c", "d", "e", "f"],
        )
        .unwrap();
        let of = |name: &str| integer(object.get(name).unwrap().raw);
        assert_eq!(of("a"), Integer::Value(1));
        assert_eq!(of("b"), Integer::NotInteger);
        assert_eq!(of("c"), Integer::NotInteger);
        assert_eq!(of("d"), Integer::NotANumber);
        assert_eq!(of("e"), Integer::Value(-5));
        assert_eq!(of("f"), Integer::Value(i64::MAX));
    }

    #[test]
    fn nul_is_found_at_any_depth_and_in_keys() {
        assert!(contains_nul(&serde_json::json!({"a": [{"b": "x\u{0}"}]})));
        assert!(contains_nul(&serde_json::json!({"k\u{0}": 1})));
        assert!(!contains_nul(&serde_json::json!({"a": ["\\u0000 as text"]})));
    }
}
