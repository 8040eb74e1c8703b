//! Cluster and node-pool units of work: create, read, PATCH and DELETE, with their events
//! (spec §8, §9.2) written in the same transaction.

use serde_json::Value;
use uuid::Uuid;

use super::{lock, missing, record_events, statuses, Context};
use crate::dao::events::{self, NewEvent};
use crate::dao::lists::{self, Page, ResourceQuery};
use crate::dao::statuses as dao_statuses;
use crate::dao::{clusters, node_pools, resources, ResourceRow, ResourceView};
use crate::error::{cut_quoted, unique_violation, ApiError};
use crate::model::event::EventType;
use crate::model::inputs::{NewResource, ResourcePatch};
use crate::model::kind::{ResourceKind, MAX_GENERATION};
use crate::model::path::ResourcePath;

/// A page of clusters or node pools.
#[tracing::instrument(skip_all)]
pub async fn list(ctx: &Context, query: &ResourceQuery<'_>) -> Result<Page<ResourceView>, ApiError> {
    let mut conn = ctx.db.acquire().await?;
    Ok(lists::resources(&mut conn, query).await?)
}

/// Reads a live cluster or node pool.
#[tracing::instrument(skip_all)]
pub async fn get(ctx: &Context, path: &ResourcePath) -> Result<ResourceView, ApiError> {
    let ids = path.ids()?;
    let mut conn = ctx.db.acquire().await?;
    let found = match ids {
        Some((cluster_id, id)) => resources::get(&mut conn, path.kind(), cluster_id, id).await?,
        None => None,
    };
    match found {
        Some(row) => Ok(row),
        None => Err(missing(&mut conn, path).await),
    }
}

/// Creates a cluster (`parent` = None) or a node pool of the cluster in `parent`.
#[tracing::instrument(skip_all)]
pub async fn create(
    ctx: &Context,
    parent: Option<&ResourcePath>,
    new: &NewResource,
    identity: &str,
) -> Result<ResourceRow, ApiError> {
    let kind = if parent.is_some() { ResourceKind::NodePool } else { ResourceKind::Cluster };
    let cluster_id = parent.map(ResourcePath::cluster_id).transpose()?;
    let id = Uuid::now_v7();
    let event = [NewEvent { source: kind.event_source(), source_id: id, event_type: EventType::Create }];
    let row = ctx
        .db
        .retry(|| async {
            let mut tx = ctx.db.begin().await?;
            if let (Some(parent), Some(cluster_id)) = (parent, cluster_id) {
                if !clusters::lock_shared(&mut tx, cluster_id).await? {
                    return Err(parent.cluster_not_found());
                }
            }
            let inserted = resources::insert(&mut tx, id, cluster_id, new, identity).await;
            let row = inserted.map_err(|e| name_conflict(e, &new.name, parent))?;
            events::append(&mut tx, &event).await?;
            tx.commit().await?;
            Ok(row)
        })
        .await?;
    record_events(&ctx.metrics, &event);
    Ok(row)
}

/// Maps the live-name unique indexes to their 409; any other failure stays as it is.
fn name_conflict(error: sqlx::Error, name: &str, parent: Option<&ResourcePath>) -> ApiError {
    match (unique_violation(&error), parent) {
        (Some("clusters_name_live_key"), _) => {
            ApiError::Conflict(format!("Cluster with name='{}' already exists", cut_quoted(name)))
        }
        (Some("node_pools_cluster_name_live_key"), Some(parent)) => ApiError::Conflict(format!(
            "NodePool with name='{}' already exists in Cluster with id='{}'",
            cut_quoted(name),
            cut_quoted(&parent.cluster.text)
        )),
        _ => error.into(),
    }
}

/// Applies a PATCH: a no-op when nothing differs; otherwise replaces spec and/or labels, bumps
/// the generation, re-aggregates the status and records an `Update` event.
#[tracing::instrument(skip_all)]
pub async fn patch(
    ctx: &Context,
    path: &ResourcePath,
    patch: &ResourcePatch,
    identity: &str,
) -> Result<ResourceRow, ApiError> {
    let kind = path.kind();
    let (row, event) = ctx
        .db
        .retry(|| async {
            let mut tx = ctx.db.begin().await?;
            let row = lock(&mut tx, path).await?;
            let spec = patch.spec.as_ref().unwrap_or(&row.spec);
            let labels = patch.labels.as_ref().unwrap_or(&row.labels);
            if json_eq(spec, &row.spec) && labels == &row.labels {
                tx.commit().await?;
                return Ok((row, None));
            }
            if i64::from(row.generation) >= MAX_GENERATION {
                return Err(ApiError::Conflict(format!(
                    "{} generation cannot be incremented beyond {MAX_GENERATION}",
                    kind.kind()
                )));
            }
            let status = statuses::reaggregate(ctx, &mut tx, kind, &row, row.generation + 1).await?;
            let updated = resources::update_spec(&mut tx, kind, row.id, spec, labels, identity, &status).await?;
            let event = NewEvent { source: kind.event_source(), source_id: row.id, event_type: EventType::Update };
            events::append(&mut tx, &[event]).await?;
            tx.commit().await?;
            statuses::record_transition(ctx, kind, &row.status_phase, &status);
            Ok((updated, Some(event)))
        })
        .await?;
    if let Some(event) = event {
        record_events(&ctx.metrics, &[event]);
    }
    Ok(row)
}

/// Soft-deletes a cluster (with its node pools and all their statuses) or one node pool, and
/// records the `Delete` events: the node pools' in ascending id order, then the cluster's.
#[tracing::instrument(skip_all)]
pub async fn delete(ctx: &Context, path: &ResourcePath, identity: &str) -> Result<(), ApiError> {
    let cluster_id = path.cluster_id()?;
    let events = ctx
        .db
        .retry(|| async {
            let mut tx = ctx.db.begin().await?;
            let events = match path.node_pool.as_ref() {
                None => {
                    if !clusters::soft_delete(&mut tx, cluster_id, identity).await? {
                        return Err(path.cluster_not_found());
                    }
                    let node_pools = node_pools::soft_delete_of_cluster(&mut tx, cluster_id, identity).await?;
                    dao_statuses::soft_delete_of_cluster(&mut tx, cluster_id, &node_pools).await?;
                    let mut events: Vec<NewEvent> =
                        node_pools.iter().map(|&id| delete_event(ResourceKind::NodePool, id)).collect();
                    events.push(delete_event(ResourceKind::Cluster, cluster_id));
                    events
                }
                Some(node_pool) => {
                    let deleted = match node_pool.id {
                        Some(id) => node_pools::soft_delete(&mut tx, cluster_id, id, identity).await?,
                        None => false,
                    };
                    let Some(id) = node_pool.id.filter(|_| deleted) else {
                        return Err(missing(&mut tx, path).await);
                    };
                    dao_statuses::soft_delete_of(&mut tx, ResourceKind::NodePool, id).await?;
                    vec![delete_event(ResourceKind::NodePool, id)]
                }
            };
            events::append(&mut tx, &events).await?;
            tx.commit().await?;
            Ok(events)
        })
        .await?;
    record_events(&ctx.metrics, &events);
    Ok(())
}

fn delete_event(kind: ResourceKind, id: Uuid) -> NewEvent {
    NewEvent { source: kind.event_source(), source_id: id, event_type: EventType::Delete }
}

/// JSON equality where numbers compare by value (`1` equals `1.0`) and object member order does
/// not matter; arrays compare element by element.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
            (Some(x), Some(y), _, _) => x == y,
            (_, _, Some(x), Some(y)) => x == y,
            _ => x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x == y),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::json_eq;

    #[test]
    fn specs_compare_as_json_values() {
        let same = [
            (json!({"a": 1, "b": [1, 2]}), json!({"b": [1, 2], "a": 1})),
            (json!({"n": 1}), json!({"n": 1.0})),
            (json!({"n": 0.5}), json!({"n": 5e-1})),
            (json!({"n": u64::MAX}), json!({"n": u64::MAX})),
            (json!({"x": null}), json!({"x": null})),
        ];
        for (a, b) in same {
            assert!(json_eq(&a, &b), "{a} == {b}");
        }
        let different = [
            (json!({"a": [1, 2]}), json!({"a": [2, 1]})),
            (json!({"a": 1}), json!({"a": "1"})),
            (json!({"a": 1}), json!({"a": 1, "b": null})),
            (json!({"n": i64::MAX}), json!({"n": i64::MAX - 1})),
            (json!({"a": {}}), json!({"a": []})),
        ];
        for (a, b) in different {
            assert!(!json_eq(&a, &b), "{a} != {b}");
        }
    }
}
