//! Request bodies from the command line: `--spec`/`--data`/`--file` documents (JSON, else YAML;
//! a file or `-` for standard input), labels and conditions. Content rules are the server's:
//! the client only builds the body.

use std::io::Read;

use serde_json::{json, Map, Value};

use super::args::ConditionArg;
use super::error::ClientError;

/// The document in `source` (a path, or `-` for standard input): JSON when it parses as JSON,
/// else YAML (a superset for documents written by hand).
pub fn read_document(source: &str) -> Result<Value, ClientError> {
    let (what, text) = if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| ClientError::Usage(format!("cannot read standard input: {e}")))?;
        ("standard input".to_owned(), text)
    } else {
        let text =
            std::fs::read_to_string(source).map_err(|e| ClientError::Usage(format!("cannot read {source}: {e}")))?;
        (source.to_owned(), text)
    };
    parse_document(&text).map_err(|why| ClientError::Usage(format!("{what}: {why}")))
}

fn parse_document(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Err("the document is empty".to_owned());
    }
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(json_error) if text.trim_start().starts_with(['{', '[']) => Err(format!("not valid JSON: {json_error}")),
        Err(_) => serde_norway::from_str(text).map_err(|e| format!("neither JSON nor valid YAML: {e}")),
    }
}

pub fn labels(pairs: &[(String, String)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
}

/// The body of a status report built from flags.
pub fn report(adapter: &str, generation: i64, conditions: &[ConditionArg], data: Option<Value>) -> Value {
    let conditions: Vec<Value> = conditions
        .iter()
        .map(|c| {
            let mut condition = Map::new();
            condition.insert("type".into(), json!(c.kind));
            condition.insert("status".into(), json!(c.status));
            if let Some(reason) = &c.reason {
                condition.insert("reason".into(), json!(reason));
            }
            if let Some(message) = &c.message {
                condition.insert("message".into(), json!(message));
            }
            Value::Object(condition)
        })
        .collect();
    let mut body = json!({"adapter": adapter, "observed_generation": generation, "conditions": conditions});
    if let Some(data) = data {
        body["data"] = data;
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_json_or_yaml() {
        assert_eq!(parse_document("{\"region\": \"eu\", \"nodes\": 3}"), Ok(json!({"region": "eu", "nodes": 3})));
        assert_eq!(
            parse_document("region: eu\nnodes: 3\nzones: [a, b]\n"),
            Ok(json!({"region": "eu", "nodes": 3, "zones": ["a", "b"]}))
        );
        let broken_json = parse_document("{\"region\": ").unwrap_err();
        assert!(broken_json.starts_with("not valid JSON: "), "{broken_json}");
        let broken_yaml = parse_document("a: [b").unwrap_err();
        assert!(broken_yaml.starts_with("neither JSON nor valid YAML: "), "{broken_yaml}");
        assert_eq!(parse_document(" \n"), Err("the document is empty".to_owned()));
    }

    #[test]
    fn reports_carry_only_the_condition_members_given() {
        let conditions = [
            ConditionArg { kind: "Available".into(), status: "True".into(), reason: Some("Up".into()), message: None },
            ConditionArg { kind: "Healthy".into(), status: "Unknown".into(), reason: None, message: None },
        ];
        assert_eq!(
            report("dns", 2, &conditions, Some(json!({"zone": "z"}))),
            json!({"adapter": "dns", "observed_generation": 2, "data": {"zone": "z"}, "conditions": [
                {"type": "Available", "status": "True", "reason": "Up"},
                {"type": "Healthy", "status": "Unknown"}]})
        );
    }
}
