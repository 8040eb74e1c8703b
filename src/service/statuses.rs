//! Status reports (spec §7.1–§7.3) and re-aggregation: the resource row is locked, the
//! report is stored (or discarded as stale) and the resource's status recomputed, all in one
//! transaction, so concurrent reports and PATCHes never lose an update.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::PgConnection;

use super::aggregation::{self, Report};
use super::{lock, Context};
use crate::dao::lists::Page;
use crate::dao::statuses::{self, StatusRow};
use crate::dao::{clusters, resources, ResourceRow, StatusUpdate};
use crate::error::ApiError;
use crate::model::format::timestamp;
use crate::model::inputs::StatusReport;
use crate::model::kind::ResourceKind;
use crate::model::path::ResourcePath;

/// A page (`limit` rows from `offset`) of the statuses of a live resource.
#[tracing::instrument(skip_all)]
pub async fn list(ctx: &Context, path: &ResourcePath, limit: i64, offset: i64) -> Result<Page<StatusRow>, ApiError> {
    let Some((cluster_id, resource_id)) = path.ids()? else {
        return Err(path.node_pool_not_found());
    };
    let mut conn = ctx.db.acquire().await?;
    let page = statuses::page(&mut conn, path.kind(), cluster_id, resource_id, limit, offset).await?;
    if page.parent_exists {
        return Ok(page);
    }
    if path.node_pool.is_some() && clusters::exists(&mut conn, cluster_id).await? {
        Err(path.node_pool_not_found())
    } else {
        Err(path.cluster_not_found())
    }
}

/// Stores a report and re-aggregates; `None` when the report was stale and discarded (204).
#[tracing::instrument(skip_all)]
pub async fn report(ctx: &Context, path: &ResourcePath, report: &StatusReport) -> Result<Option<StatusRow>, ApiError> {
    let kind = path.kind();
    let outcome = ctx
        .db
        .retry(|| async {
            let mut tx = ctx.db.begin().await?;
            let resource = lock(&mut tx, path).await?;
            let started = Instant::now();
            let (now, mut stored) = statuses::for_resource(&mut tx, kind, resource.id).await?;
            let previous = stored.iter().position(|s| s.adapter == report.adapter);
            if previous.is_some_and(|i| stored[i].observed_generation > report.observed_generation) {
                tx.commit().await?;
                return Ok(None);
            }
            let new = build_stored(report, previous.map(|i| &stored[i]), now);
            let saved = statuses::upsert(&mut tx, kind, resource.id, &new).await?;
            match previous {
                Some(i) => stored[i] = saved.clone(),
                None => stored.push(saved.clone()),
            }
            let status = status_update(ctx, kind, &resource, resource.generation, &stored);
            resources::update_status(&mut tx, kind, resource.id, &status).await?;
            ctx.metrics
                .status_aggregation_duration
                .with_label_values(&[kind.kind()])
                .observe(started.elapsed().as_secs_f64());
            tx.commit().await?;
            record_transition(ctx, kind, &resource.status_phase, &status);
            Ok(Some(saved))
        })
        .await?;
    let result = if outcome.is_some() { "accepted" } else { "discarded" };
    ctx.metrics.status_reports.with_label_values(&[kind.kind(), result]).inc();
    Ok(outcome)
}

/// Re-aggregates a locked resource for a new `generation` (a PATCH that bumps it).
pub async fn reaggregate(
    ctx: &Context,
    conn: &mut PgConnection,
    kind: ResourceKind,
    resource: &ResourceRow,
    generation: i32,
) -> Result<StatusUpdate, ApiError> {
    let started = Instant::now();
    let (_, stored) = statuses::for_resource(conn, kind, resource.id).await?;
    let status = status_update(ctx, kind, resource, generation, &stored);
    ctx.metrics.status_aggregation_duration.with_label_values(&[kind.kind()]).observe(started.elapsed().as_secs_f64());
    Ok(status)
}

fn status_update(
    ctx: &Context,
    kind: ResourceKind,
    resource: &ResourceRow,
    generation: i32,
    stored: &[StatusRow],
) -> StatusUpdate {
    let required = match kind {
        ResourceKind::Cluster => &ctx.required.required_cluster,
        ResourceKind::NodePool => &ctx.required.required_nodepool,
    };
    let reports: Vec<Report<'_>> = stored
        .iter()
        .map(|s| Report { adapter: &s.adapter, observed_generation: s.observed_generation, conditions: &s.conditions })
        .collect();
    let aggregate = aggregation::aggregate(generation, &reports, required);
    StatusUpdate {
        phase_changed: aggregate.phase != resource.status_phase,
        phase: aggregate.phase.to_owned(),
        observed_generation: aggregate.observed_generation,
        adapters: aggregate.adapters,
    }
}

/// Counts a committed phase change (`hyperfleet_status_phase_transitions_total`).
pub fn record_transition(ctx: &Context, kind: ResourceKind, from: &str, status: &StatusUpdate) {
    if status.phase_changed {
        ctx.metrics.status_phase_transitions.with_label_values(&[kind.kind(), from, &status.phase]).inc();
    }
}

fn render_time(time: DateTime<Utc>) -> Value {
    Value::String(timestamp(&time))
}

/// The stored report of §7.1 step 5 with the condition fill-in of §7.2. `previous` is the
/// adapter's stored report (P), `now` the transaction time (T).
pub fn build_stored(report: &StatusReport, previous: Option<&StatusRow>, now: DateTime<Utc>) -> StatusRow {
    let previous_conditions: Vec<&Map<String, Value>> = previous
        .and_then(|p| p.conditions.as_array())
        .map(|items| items.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let conditions = report
        .conditions
        .iter()
        .map(|c| {
            let before = previous_conditions
                .iter()
                .find(|p| p.get("type").and_then(Value::as_str) == Some(c.condition_type.as_str()));
            let sent_or_now = |t: Option<DateTime<Utc>>| render_time(t.unwrap_or(now));
            let created_at =
                before.and_then(|p| p.get("created_at").cloned()).unwrap_or_else(|| sent_or_now(c.created_at));
            let same_status =
                before.is_some_and(|p| p.get("status").and_then(Value::as_str) == Some(c.status.as_str()));
            let last_transition_time = before
                .filter(|_| same_status)
                .and_then(|p| p.get("last_transition_time").cloned())
                .unwrap_or_else(|| sent_or_now(c.last_transition_time));
            let mut condition = Map::new();
            condition.insert("adapter".into(), Value::String(report.adapter.clone()));
            condition.insert("type".into(), Value::String(c.condition_type.clone()));
            condition.insert("status".into(), Value::String(c.status.clone()));
            if let Some(reason) = &c.reason {
                condition.insert("reason".into(), Value::String(reason.clone()));
            }
            if let Some(message) = &c.message {
                condition.insert("message".into(), Value::String(message.clone()));
            }
            condition.insert("observed_generation".into(), Value::from(c.observed_generation));
            condition.insert("created_at".into(), created_at);
            condition.insert("updated_at".into(), sent_or_now(c.updated_at));
            condition.insert("last_transition_time".into(), last_transition_time);
            Value::Object(condition)
        })
        .collect();
    StatusRow {
        adapter: report.adapter.clone(),
        observed_generation: report.observed_generation,
        conditions: Value::Array(conditions),
        data: report.data.clone(),
        metadata: report.metadata.clone(),
        created_at: previous.map_or(now, |p| p.created_at),
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use chrono::SecondsFormat;
    use serde_json::json;

    use super::*;
    use crate::model::inputs::ConditionInput;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn report(status: &str, ltt: Option<&str>) -> StatusReport {
        StatusReport {
            adapter: "dns".into(),
            observed_generation: 1,
            conditions: vec![ConditionInput {
                condition_type: "Available".into(),
                status: status.into(),
                reason: None,
                message: None,
                observed_generation: 1,
                created_at: None,
                updated_at: None,
                last_transition_time: ltt.map(at),
            }],
            data: json!({}),
            metadata: None,
        }
    }

    fn timestamps(row: &StatusRow) -> (String, String, String) {
        let c = &row.conditions[0];
        let s = |k: &str| c[k].as_str().unwrap().to_owned();
        (s("created_at"), s("updated_at"), s("last_transition_time"))
    }

    #[test]
    fn per_condition_timestamps_follow_the_worked_example() {
        let u = |n: u32| at(&format!("2025-11-13T10:0{n}:00Z"));
        let r = |n: u32| u(n).to_rfc3339_opts(SecondsFormat::Micros, true);
        let u1 = build_stored(&report("True", None), None, u(1));
        assert_eq!(timestamps(&u1), (r(1), r(1), r(1)));
        let u2 = build_stored(&report("True", None), Some(&u1), u(2));
        assert_eq!(timestamps(&u2), (r(1), r(2), r(1)));
        let u3 = build_stored(&report("False", None), Some(&u2), u(3));
        assert_eq!(timestamps(&u3), (r(1), r(3), r(3)));
        let u4 = build_stored(&report("False", Some("2020-01-01T00:00:00Z")), Some(&u3), u(4));
        assert_eq!(timestamps(&u4), (r(1), r(4), r(3)), "a sent time is ignored while the status stays");
        let mut without = report("True", None);
        without.conditions.clear();
        let u5 = build_stored(&without, Some(&u4), u(5));
        assert_eq!(u5.conditions, json!([]));
        let u6 = build_stored(&report("True", None), Some(&u5), u(6));
        assert_eq!(timestamps(&u6), (r(6), r(6), r(6)));
        assert_eq!((u6.created_at, u6.updated_at), (u(1), u(6)), "the status keeps its first created_at");
    }

    #[test]
    fn sent_times_are_used_where_the_server_would_say_now() {
        let mut sent = report("True", Some("2024-01-01T00:00:00Z"));
        sent.conditions[0].created_at = Some(at("2023-01-01T00:00:00Z"));
        sent.conditions[0].updated_at = Some(at("2024-06-01T00:00:00+02:00"));
        let row = build_stored(&sent, None, at("2025-01-01T00:00:00Z"));
        assert_eq!(
            timestamps(&row),
            (
                "2023-01-01T00:00:00.000000Z".into(),
                "2024-05-31T22:00:00.000000Z".into(),
                "2024-01-01T00:00:00.000000Z".into()
            )
        );
        assert_eq!(row.conditions[0]["adapter"], "dns");
        assert!(row.conditions[0].get("reason").is_none());
    }
}
