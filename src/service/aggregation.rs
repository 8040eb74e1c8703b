//! Status aggregation (spec §7.4–§7.5) as a pure function: the resource's generation, its
//! adapters' stored reports and the required-adapter list in; phase, observed generation and
//! the `adapters[]` summaries out. No database, no clock.

use serde_json::{Map, Value};

pub const NOT_READY: &str = "NotReady";
pub const READY: &str = "Ready";
pub const FAILED: &str = "Failed";

/// One stored adapter report, as aggregation sees it.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    pub adapter: &'a str,
    pub observed_generation: i32,
    /// The stored conditions (an array of condition objects as rendered, §3.4).
    pub conditions: &'a Value,
}

impl Report<'_> {
    /// The report's `Available` condition (type compared exactly; at most one exists).
    fn available(&self) -> Option<&Map<String, Value>> {
        self.conditions
            .as_array()?
            .iter()
            .filter_map(Value::as_object)
            .find(|c| c.get("type").and_then(Value::as_str) == Some("Available"))
    }

    fn available_status(&self) -> Option<&str> {
        self.available()?.get("status")?.as_str()
    }
}

/// The aggregated status of a resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub phase: &'static str,
    pub observed_generation: i32,
    /// Summary entries, one per report with an `Available` condition, by adapter name.
    pub adapters: Value,
}

/// Aggregates `reports` (the live statuses after the change) for a resource at `generation`.
/// `required` empty means all-reporters mode.
pub fn aggregate(generation: i32, reports: &[Report<'_>], required: &[String]) -> Aggregate {
    let mut sorted: Vec<&Report<'_>> = reports.iter().collect();
    sorted.sort_by(|a, b| a.adapter.as_bytes().cmp(b.adapter.as_bytes()));
    let adapters = Value::Array(sorted.iter().filter_map(|r| summary(r)).collect());

    let (phase, observed_generation) = if required.is_empty() {
        let statuses: Vec<Option<&str>> = reports.iter().map(Report::available_status).collect();
        let phase = if statuses.is_empty() { NOT_READY } else { phase_of(&statuses) };
        let observed = reports.iter().map(|r| r.observed_generation).min().unwrap_or(0);
        (phase, observed)
    } else {
        let stored = |name: &String| reports.iter().find(|r| r.adapter == name);
        // Only a report at the resource's current generation counts towards the phase.
        let current: Vec<Option<&str>> = required
            .iter()
            .map(|q| stored(q).filter(|r| r.observed_generation == generation).and_then(Report::available_status))
            .collect();
        let observed = required.iter().map(|q| stored(q).map_or(0, |r| r.observed_generation)).min().unwrap_or(0);
        (phase_of(&current), observed)
    };
    Aggregate { phase, observed_generation, adapters }
}

/// Ready when every counted `Available` is True; Failed when one is False; else NotReady.
fn phase_of(statuses: &[Option<&str>]) -> &'static str {
    if statuses.iter().all(|s| *s == Some("True")) {
        READY
    } else if statuses.contains(&Some("False")) {
        FAILED
    } else {
        NOT_READY
    }
}

/// The §3.3 summary entry of a report, copied from its `Available` condition.
fn summary(report: &Report<'_>) -> Option<Value> {
    let available = report.available()?;
    let mut entry = Map::new();
    entry.insert("adapter".into(), Value::String(report.adapter.to_owned()));
    entry.insert("type".into(), Value::String("Available".into()));
    for key in ["status", "reason", "message", "observed_generation", "created_at", "updated_at"] {
        if let Some(value) = available.get(key) {
            entry.insert(key.into(), value.clone());
        }
    }
    Some(Value::Object(entry))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `adapter: status@generation`, `—` for a report without `Available`.
    fn reports(spec: &[(&'static str, Option<&'static str>, i32)]) -> Vec<(String, i32, Value)> {
        spec.iter()
            .map(|(adapter, status, generation)| {
                let conditions = match status {
                    Some(status) => json!([{"adapter": adapter, "type": "Available", "status": status,
                        "observed_generation": generation, "created_at": "2025-11-13T10:05:00.000000Z",
                        "updated_at": "2025-11-13T10:05:00.000000Z", "last_transition_time": "2025-11-13T10:05:00.000000Z"}]),
                    None => json!([{"adapter": adapter, "type": "Ready", "status": "True", "observed_generation": generation}]),
                };
                (adapter.to_string(), *generation, conditions)
            })
            .collect()
    }

    fn run(
        generation: i32,
        spec: &[(&'static str, Option<&'static str>, i32)],
        required: &[&str],
    ) -> (String, i32, Vec<String>) {
        let owned = reports(spec);
        let views: Vec<Report<'_>> = owned
            .iter()
            .map(|(adapter, og, conditions)| Report { adapter, observed_generation: *og, conditions })
            .collect();
        let required: Vec<String> = required.iter().map(|s| s.to_string()).collect();
        let result = aggregate(generation, &views, &required);
        let summaries = result
            .adapters
            .as_array()
            .unwrap()
            .iter()
            .map(|e| format!("{}={}", e["adapter"].as_str().unwrap(), e["status"].as_str().unwrap()))
            .collect();
        (result.phase.to_owned(), result.observed_generation, summaries)
    }

    const R: &[&str] = &["validation", "dns"];
    const T: Option<&str> = Some("True");
    const F: Option<&str> = Some("False");
    const U: Option<&str> = Some("Unknown");
    const NONE: Option<&str> = None;

    #[test]
    fn worked_examples_of_section_7_7() {
        type Case = (
            &'static str,
            i32,
            &'static [(&'static str, Option<&'static str>, i32)],
            &'static [&'static str],
            &'static str,
            i32,
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            ("1 just created", 1, &[], &[], "NotReady", 0, &[]),
            ("2", 1, &[("dns", T, 1)], &[], "Ready", 1, &["dns=True"]),
            ("3", 1, &[("dns", T, 1), ("validation", T, 1)], &[], "Ready", 1, &["dns=True", "validation=True"]),
            ("4", 1, &[("dns", T, 1), ("validation", F, 1)], &[], "Failed", 1, &["dns=True", "validation=False"]),
            ("5", 1, &[("dns", T, 1), ("validation", U, 1)], &[], "NotReady", 1, &["dns=True", "validation=Unknown"]),
            ("6", 1, &[("dns", F, 1), ("validation", U, 1)], &[], "Failed", 1, &["dns=False", "validation=Unknown"]),
            ("7 hive has no Available", 1, &[("dns", T, 1), ("hive", NONE, 1)], &[], "NotReady", 1, &["dns=True"]),
            ("8 only hive", 1, &[("hive", NONE, 1)], &[], "NotReady", 1, &[]),
            (
                "9 minimum generation",
                3,
                &[("dns", T, 3), ("validation", T, 2)],
                &[],
                "Ready",
                2,
                &["dns=True", "validation=True"],
            ),
            ("10 ahead of the resource", 1, &[("dns", T, 4)], &[], "Ready", 4, &["dns=True"]),
            ("12", 1, &[("validation", T, 1)], R, "NotReady", 0, &["validation=True"]),
            ("13", 1, &[("validation", T, 1), ("dns", T, 1)], R, "Ready", 1, &["dns=True", "validation=True"]),
            (
                "14 unlisted adapter",
                1,
                &[("validation", T, 1), ("dns", T, 1), ("placement", F, 1)],
                R,
                "Ready",
                1,
                &["dns=True", "placement=False", "validation=True"],
            ),
            (
                "15 after a spec PATCH",
                2,
                &[("validation", T, 1), ("dns", T, 1)],
                R,
                "NotReady",
                1,
                &["dns=True", "validation=True"],
            ),
            ("16", 2, &[("validation", T, 2), ("dns", F, 2)], R, "Failed", 2, &["dns=False", "validation=True"]),
            (
                "17 stale False",
                2,
                &[("validation", T, 2), ("dns", F, 1)],
                R,
                "NotReady",
                1,
                &["dns=False", "validation=True"],
            ),
            (
                "18 dns without Available",
                1,
                &[("validation", T, 1), ("dns", NONE, 1)],
                R,
                "NotReady",
                1,
                &["validation=True"],
            ),
            (
                "19 dns ahead",
                1,
                &[("validation", T, 1), ("dns", T, 2)],
                R,
                "NotReady",
                1,
                &["dns=True", "validation=True"],
            ),
            (
                "20 unknown",
                1,
                &[("validation", U, 1), ("dns", T, 1)],
                R,
                "NotReady",
                1,
                &["dns=True", "validation=Unknown"],
            ),
            ("22 replaced by False", 1, &[("dns", F, 2)], &[], "Failed", 2, &["dns=False"]),
        ];
        for (name, generation, spec, required, phase, og, summaries) in cases {
            let (p, o, s) = run(*generation, spec, required);
            assert_eq!(
                (p.as_str(), o, s.iter().map(String::as_str).collect::<Vec<_>>()),
                (*phase, *og, summaries.to_vec()),
                "example {name}"
            );
        }
    }

    #[test]
    fn an_empty_conditions_list_counts_but_has_no_summary() {
        // Example 11: dns re-reported with `conditions: []`.
        let conditions = json!([]);
        let result = aggregate(1, &[Report { adapter: "dns", observed_generation: 1, conditions: &conditions }], &[]);
        assert_eq!((result.phase, result.observed_generation, result.adapters), (NOT_READY, 1, json!([])));
    }

    #[test]
    fn summaries_copy_the_available_condition_and_omit_absent_reason_and_message() {
        let conditions = json!([
            {"adapter": "dns", "type": "Ready", "status": "False", "observed_generation": 1},
            {"adapter": "dns", "type": "Available", "status": "True", "reason": "DNSReady", "message": "",
             "observed_generation": 1, "created_at": "2025-11-13T10:05:00.000000Z",
             "updated_at": "2025-11-13T10:06:00.000000Z", "last_transition_time": "2025-11-13T10:05:00.000000Z"}
        ]);
        let result = aggregate(1, &[Report { adapter: "dns", observed_generation: 1, conditions: &conditions }], &[]);
        assert_eq!(
            result.adapters,
            json!([{"adapter": "dns", "type": "Available", "status": "True", "reason": "DNSReady", "message": "",
                    "observed_generation": 1, "created_at": "2025-11-13T10:05:00.000000Z",
                    "updated_at": "2025-11-13T10:06:00.000000Z"}])
        );
        let bare = json!([{"type": "Available", "status": "Unknown", "observed_generation": 1,
                           "created_at": "2025-11-13T10:05:00.000000Z", "updated_at": "2025-11-13T10:05:00.000000Z"}]);
        let result = aggregate(1, &[Report { adapter: "x", observed_generation: 1, conditions: &bare }], &[]);
        assert!(result.adapters[0].get("reason").is_none() && result.adapters[0].get("message").is_none());
    }

    #[test]
    fn type_matching_is_case_sensitive() {
        let conditions = json!([{"type": "available", "status": "True", "observed_generation": 1}]);
        let result = aggregate(1, &[Report { adapter: "dns", observed_generation: 1, conditions: &conditions }], &[]);
        assert_eq!((result.phase, result.adapters), (NOT_READY, json!([])));
    }

    #[test]
    fn summaries_sort_by_bytes_not_by_locale() {
        let (_, _, summaries) = run(1, &[("b", T, 1), ("B", T, 1), ("a", T, 1), ("_x", T, 1)], &[]);
        assert_eq!(summaries, vec!["B=True", "_x=True", "a=True", "b=True"]);
    }

    #[test]
    fn required_mode_minimum_counts_missing_adapters_as_zero_and_includes_stale_ones() {
        assert_eq!(run(5, &[("validation", T, 5)], R).1, 0);
        assert_eq!(run(5, &[("validation", T, 5), ("dns", T, 3)], R).1, 3);
        assert_eq!(
            run(5, &[("validation", T, 7), ("dns", T, 6)], R),
            ("NotReady".into(), 6, vec!["dns=True".into(), "validation=True".into()])
        );
    }

    #[test]
    fn required_mode_never_fails_on_stale_missing_or_unknown_reports() {
        assert_eq!(run(2, &[("validation", F, 1), ("dns", F, 1)], R).0, "NotReady");
        assert_eq!(run(2, &[("validation", F, 2)], R).0, "Failed");
        assert_eq!(run(1, &[("validation", F, 1), ("other", F, 1)], &["validation"]).0, "Failed");
        assert_eq!(run(1, &[("validation", T, 1), ("other", F, 1)], &["validation"]).0, "Ready");
    }
}
