//! Rendering of the API's objects: aligned columns (comfy-table, kubectl's look: no borders,
//! three spaces between columns), the API's JSON pretty-printed, YAML (serde_norway), or one
//! `kind/name` line per object.

use std::collections::HashMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use serde_json::Value;

use super::args::OutputFormat;
use super::error::ClientError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Cluster,
    NodePool,
    Status,
    Event,
}

impl Kind {
    /// The `kind/…` prefix of `-o name`, and the noun of "no … found".
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Cluster => "cluster",
            Kind::NodePool => "nodepool",
            Kind::Status => "status",
            Kind::Event => "event",
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            Kind::Cluster => "clusters",
            Kind::NodePool => "node pools",
            Kind::Status => "statuses",
            Kind::Event => "events",
        }
    }

    fn headers(self) -> &'static [&'static str] {
        match self {
            Kind::Cluster => &["NAME", "ID", "PHASE", "GENERATION", "AGE", "LABELS"],
            Kind::NodePool => &["NAME", "ID", "CLUSTER", "PHASE", "GENERATION", "AGE", "LABELS"],
            Kind::Status => &["ADAPTER", "GENERATION", "CONDITIONS", "UPDATED"],
            Kind::Event => &["ID", "SOURCE", "TYPE", "SOURCE ID", "AGE"],
        }
    }

    /// What identifies one object in `-o name`.
    fn name_of(self, item: &Value) -> String {
        let member = match self {
            Kind::Cluster | Kind::NodePool => "name",
            Kind::Status => "adapter",
            Kind::Event => "id",
        };
        format!("{}/{}", self.noun(), text(&item[member]))
    }
}

/// What a table needs beyond the objects: the time ages are measured from, and the names of the
/// clusters node pools belong to (an id stays an id when its name is unknown).
pub struct Context {
    pub now: DateTime<Utc>,
    pub cluster_names: HashMap<String, String>,
}

impl Context {
    pub fn new() -> Context {
        Context { now: Utc::now(), cluster_names: HashMap::new() }
    }

    fn row(&self, kind: Kind, item: &Value) -> Vec<String> {
        match kind {
            Kind::Cluster => vec![
                text(&item["name"]),
                text(&item["id"]),
                text(&item["status"]["phase"]),
                text(&item["generation"]),
                self.age(&item["created_at"]),
                labels(&item["labels"]),
            ],
            Kind::NodePool => {
                let owner = text(&item["owner_references"]["id"]);
                vec![
                    text(&item["name"]),
                    text(&item["id"]),
                    self.cluster_names.get(&owner).cloned().unwrap_or(owner),
                    text(&item["status"]["phase"]),
                    text(&item["generation"]),
                    self.age(&item["created_at"]),
                    labels(&item["labels"]),
                ]
            }
            Kind::Status => vec![
                text(&item["adapter"]),
                text(&item["observed_generation"]),
                conditions(&item["conditions"]),
                self.age(&item["updated_at"]),
            ],
            Kind::Event => vec![
                text(&item["id"]),
                text(&item["source"]),
                text(&item["event_type"]),
                text(&item["source_id"]),
                self.age(&item["created_at"]),
            ],
        }
    }

    fn age(&self, timestamp: &Value) -> String {
        match timestamp.as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
            Some(then) => short_age(self.now.signed_duration_since(then).num_seconds()),
            None => "<unknown>".to_owned(),
        }
    }
}

/// Prints one object.
pub fn print_object(
    out: &mut dyn Write,
    kind: Kind,
    item: &Value,
    format: OutputFormat,
    context: &Context,
) -> Result<(), ClientError> {
    match format {
        OutputFormat::Table | OutputFormat::Name => print_items(out, kind, std::slice::from_ref(item), format, context),
        OutputFormat::Json | OutputFormat::Yaml => print_document(out, item, format),
    }
}

/// Prints list items: a table with a header, a JSON or YAML array, or one name per line. An
/// empty table prints nothing on stdout and says so on stderr (as kubectl does).
pub fn print_items(
    out: &mut dyn Write,
    kind: Kind,
    items: &[Value],
    format: OutputFormat,
    context: &Context,
) -> Result<(), ClientError> {
    match format {
        OutputFormat::Table if items.is_empty() => {
            let _ = writeln!(std::io::stderr(), "no {} found", kind.plural());
            Ok(())
        }
        OutputFormat::Table => {
            let rows: Vec<Vec<String>> = items.iter().map(|item| context.row(kind, item)).collect();
            Ok(out.write_all(table(kind.headers(), rows).as_bytes())?)
        }
        OutputFormat::Name => {
            for item in items {
                writeln!(out, "{}", kind.name_of(item))?;
            }
            Ok(())
        }
        OutputFormat::Json | OutputFormat::Yaml => print_document(out, &Value::Array(items.to_vec()), format),
    }
}

/// A JSON (pretty-printed) or YAML document.
pub fn print_document(out: &mut dyn Write, value: &Value, format: OutputFormat) -> Result<(), ClientError> {
    let text = match format {
        OutputFormat::Yaml => serde_norway::to_string(value)
            .map_err(|e| ClientError::BadAnswer(format!("cannot render the answer as YAML: {e}")))?,
        _ => format!("{}\n", serde_json::to_string_pretty(value).expect("a JSON value always serializes")),
    };
    Ok(out.write_all(text.as_bytes())?)
}

/// One line of `events watch`: fixed columns for the table format, the event's JSON exactly as
/// the server sent it (`raw`, one line) for `json`, a YAML document for `yaml`, `event/<id>` for
/// `name`.
pub fn watch_line(event: &Value, raw: &str, format: OutputFormat) -> Result<String, ClientError> {
    Ok(match format {
        OutputFormat::Table => format!(
            "{:<6} {:<9} {:<6} {} {}\n",
            text(&event["id"]),
            text(&event["source"]),
            text(&event["event_type"]),
            text(&event["source_id"]),
            text(&event["created_at"]),
        ),
        OutputFormat::Json => format!("{raw}\n"),
        OutputFormat::Yaml => format!(
            "---\n{}",
            serde_norway::to_string(event)
                .map_err(|e| ClientError::BadAnswer(format!("cannot render the event as YAML: {e}")))?
        ),
        OutputFormat::Name => format!("{}\n", Kind::Event.name_of(event)),
    })
}

/// Columns padded to their widest cell, three spaces apart, no trailing blanks.
fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING).set_content_arrangement(ContentArrangement::Disabled).set_header(headers);
    for row in rows {
        table.add_row(row);
    }
    let last = headers.len() - 1;
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if i == last { 0 } else { 3 }));
        column.set_cell_alignment(CellAlignment::Left);
    }
    let mut text = String::new();
    for line in table.lines() {
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// A scalar without JSON quotes; nothing for a missing member.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `k=v,k2=v2` in key order, `<none>` for no labels.
fn labels(value: &Value) -> String {
    match value.as_object() {
        Some(map) if !map.is_empty() => {
            let mut pairs: Vec<String> = map.iter().map(|(k, v)| format!("{k}={}", text(v))).collect();
            pairs.sort();
            pairs.join(",")
        }
        _ => "<none>".to_owned(),
    }
}

/// `Type=Status` of each condition, in the reported order.
fn conditions(value: &Value) -> String {
    let list: Vec<String> = value
        .as_array()
        .map(|items| items.iter().map(|c| format!("{}={}", text(&c["type"]), text(&c["status"]))).collect())
        .unwrap_or_default();
    if list.is_empty() {
        "<none>".to_owned()
    } else {
        list.join(",")
    }
}

/// kubectl's short age: the largest whole unit, `45s`, `3m`, `2h`, `4d`, `2y`. A timestamp
/// slightly ahead of the local clock (the server's clock decides) counts as `0s`.
pub fn short_age(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3_600),
        s if s < 365 * 86_400 => format!("{}d", s / 86_400),
        s => format!("{}y", s / (365 * 86_400)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ages_use_the_largest_whole_unit() {
        let cases = [
            (-5, "0s"),
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3_599, "59m"),
            (3_600, "1h"),
            (86_399, "23h"),
            (4 * 86_400 + 5, "4d"),
            (365 * 86_400, "1y"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(short_age(seconds), expected, "{seconds} s");
        }
    }

    #[test]
    fn tables_align_columns_three_spaces_apart_without_trailing_blanks() {
        let rendered = table(
            &["NAME", "PHASE", "LABELS"],
            vec![vec!["alpha".into(), "Ready".into(), "<none>".into()], vec!["b".into(), "NotReady".into(), "".into()]],
        );
        assert_eq!(rendered, "NAME    PHASE      LABELS\nalpha   Ready      <none>\nb       NotReady\n");
    }

    #[test]
    fn labels_and_conditions_are_compact() {
        assert_eq!(labels(&json!({"team": "a", "env": "prod"})), "env=prod,team=a");
        assert_eq!(labels(&json!({})), "<none>");
        assert_eq!(
            conditions(&json!([{"type": "Ready", "status": "False"}, {"type": "Available", "status": "True"}])),
            "Ready=False,Available=True"
        );
        assert_eq!(conditions(&json!([])), "<none>");
    }

    #[test]
    fn node_pools_show_their_cluster_by_name_when_it_is_known() {
        let mut context = Context::new();
        let pool = json!({"name": "workers", "id": "p1", "owner_references": {"id": "c1"}, "generation": 2,
                          "status": {"phase": "Ready"}, "created_at": "x", "labels": {}});
        assert_eq!(context.row(Kind::NodePool, &pool)[2], "c1");
        context.cluster_names.insert("c1".into(), "prod".into());
        assert_eq!(context.row(Kind::NodePool, &pool), ["workers", "p1", "prod", "Ready", "2", "<unknown>", "<none>"]);
    }

    #[test]
    fn names_and_watch_lines_have_one_form_per_format() {
        let event = json!({"kind": "Event", "id": "42", "source": "Clusters", "source_id": "c1",
                           "event_type": "Update", "created_at": "2025-11-13T11:00:00.000000Z"});
        assert_eq!(
            watch_line(&event, "", OutputFormat::Table).unwrap(),
            "42     Clusters  Update c1 2025-11-13T11:00:00.000000Z\n"
        );
        assert_eq!(watch_line(&event, "", OutputFormat::Name).unwrap(), "event/42\n");
        assert_eq!(watch_line(&event, r#"{"id":"42"}"#, OutputFormat::Json).unwrap(), "{\"id\":\"42\"}\n", "as sent");
        assert!(watch_line(&event, "", OutputFormat::Yaml).unwrap().starts_with("---\n"));
        assert_eq!(Kind::Status.name_of(&json!({"adapter": "dns"})), "status/dns");
    }
}
