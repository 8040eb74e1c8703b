//! `jsonb` columns passed through to responses as they are stored: the text Postgres sends,
//! made compact, wrapped as a [`RawValue`]. No `serde_json::Value` tree is built or serialised
//! again, which was most of the service's work on a list page (issue 15).

use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgTypeInfo, PgValueFormat, PgValueRef};
use sqlx::{Decode, Postgres, Type};

/// Compact JSON text of a stored `jsonb` value. Keys come in Postgres's order, numbers as
/// Postgres prints them (semantically equal to what was stored, spec §2.3).
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct JsonText(Box<RawValue>);

impl JsonText {
    /// Renders a tree once (write paths, which hold the values they stored).
    pub fn from_value(value: &serde_json::Value) -> Self {
        // A `Value` always serialises: its map keys are strings.
        JsonText(serde_json::value::to_raw_value(value).unwrap_or_else(|_| empty_object()))
    }

    pub fn get(&self) -> &str {
        self.0.get()
    }
}

fn empty_object() -> Box<RawValue> {
    RawValue::from_string("{}".to_owned()).unwrap_or_default()
}

impl Type<Postgres> for JsonText {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("jsonb")
    }
}

impl<'r> Decode<'r, Postgres> for JsonText {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let format = value.format();
        let bytes = value.as_bytes()?;
        let text = match format {
            // The binary form is a version byte (1) followed by the text form.
            PgValueFormat::Binary => match bytes.split_first() {
                Some((1, text)) => text,
                _ => return Err("unsupported jsonb binary format version".into()),
            },
            PgValueFormat::Text => bytes,
        };
        Ok(JsonText(RawValue::from_string(compact(std::str::from_utf8(text)?))?))
    }
}

/// Drops the blanks Postgres prints after `,` and `:` (and any other whitespace outside
/// strings), so responses stay compact JSON (spec §2.3). Strings are copied as they are: jsonb
/// escapes exactly what serde_json escapes.
pub fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if matches!(c, ' ' | '\n' | '\r' | '\t') {
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::compact;

    #[test]
    fn compact_drops_blanks_outside_strings_only() {
        let cases = [
            (r#"{"a": 1, "b": [1, 2, {"c": null}]}"#, r#"{"a":1,"b":[1,2,{"c":null}]}"#, "separators"),
            (r#"{"k": "a, b: c"}"#, r#"{"k":"a, b: c"}"#, "blanks inside a string stay"),
            (r#"{"k": "say \"hi, there\"", "x": 1}"#, r#"{"k":"say \"hi, there\"","x":1}"#, "escaped quotes"),
            (r#"{"k": "ends with \\", "y": 2}"#, r#"{"k":"ends with \\","y":2}"#, "an escaped backslash ends"),
            (r#"{"ü": "日本, 語"}"#, r#"{"ü":"日本, 語"}"#, "UTF-8 as it is"),
            ("{}", "{}", "empty"),
            ("[]", "[]", "empty array"),
        ];
        for (stored, expected, why) in cases {
            assert_eq!(compact(stored), expected, "{why}");
        }
    }

    #[test]
    fn compact_text_equals_what_serde_json_renders_for_postgres_output() {
        // What jsonb_out prints for a value with every kind of escape.
        let stored = "{\"a\": \"tab\\tnl\\nquote\\\"bs\\\\ctl\\u0001\", \"n\": [0.5, -3, 18446744073709551615]}";
        let value: serde_json::Value = serde_json::from_str(stored).unwrap();
        assert_eq!(compact(stored), serde_json::to_string(&value).unwrap());
    }
}
