//! Cluster and node-pool units of work: create, read, PATCH and DELETE, with their events
//! (spec §8, §9.2) written in the same transaction.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{record_events, statuses};
use crate::api::params::ResourcePath;
use crate::api::resources::{NewResource, ResourcePatch};
use crate::api::AppState;
use crate::dao::events::{self, NewEvent};
use crate::dao::lists::{self, Page, ResourceQuery};
use crate::dao::{clusters, node_pools, ResourceRow};
use crate::db::Database;
use crate::error::{cut_quoted, unique_violation, ApiError};
use crate::model::{ResourceKind, MAX_GENERATION};

pub async fn list(db: &Database, query: &ResourceQuery<'_>) -> Result<Page<ResourceRow>, ApiError> {
    let mut conn = db.acquire().await?;
    Ok(lists::resources(&mut conn, query).await?)
}

/// Reads a live cluster or node pool.
pub async fn get(db: &Database, path: &ResourcePath) -> Result<ResourceRow, ApiError> {
    let cluster_id = path.cluster_id()?;
    let mut conn = db.acquire().await?;
    let found = match path.node_pool.as_ref() {
        None => clusters::get(&mut conn, cluster_id).await?,
        Some(node_pool) => match node_pool.id {
            Some(id) => node_pools::get(&mut conn, cluster_id, id).await?,
            None => None,
        },
    };
    match found {
        Some(row) => Ok(row),
        None => Err(missing(&mut conn, path).await),
    }
}

/// Locks the live resource of `path` for the rest of the transaction (`FOR UPDATE`).
pub async fn lock(conn: &mut PgConnection, path: &ResourcePath) -> Result<ResourceRow, ApiError> {
    let cluster_id = path.cluster_id()?;
    let found = match path.node_pool.as_ref() {
        None => clusters::lock(conn, cluster_id).await?,
        Some(node_pool) => match node_pool.id {
            Some(id) => node_pools::lock(conn, cluster_id, id).await?,
            None => None,
        },
    };
    match found {
        Some(row) => Ok(row),
        None => Err(missing(conn, path).await),
    }
}

/// The 404 of a resource that was not found: the cluster's reason when the cluster itself is
/// missing, else the node pool's (one extra query, only on this path).
async fn missing(conn: &mut PgConnection, path: &ResourcePath) -> ApiError {
    let (Some(cluster_id), Some(_)) = (path.cluster.id, path.node_pool.as_ref()) else {
        return path.cluster_not_found();
    };
    match clusters::exists(conn, cluster_id).await {
        Ok(true) => path.node_pool_not_found(),
        Ok(false) => path.cluster_not_found(),
        Err(e) => e.into(),
    }
}

/// Creates a cluster (`parent` = None) or a node pool of the cluster in `parent`.
pub async fn create(
    state: &AppState,
    parent: Option<&ResourcePath>,
    new: &NewResource,
    identity: &str,
) -> Result<ResourceRow, ApiError> {
    let kind = if parent.is_some() { ResourceKind::NodePool } else { ResourceKind::Cluster };
    let cluster_id = parent.map(ResourcePath::cluster_id).transpose()?;
    let id = Uuid::now_v7();
    let event = [NewEvent { source: kind.event_source(), source_id: id, event_type: "Create" }];
    let row = state
        .db
        .retry(|| async {
            let mut tx = state.db.begin().await?;
            let inserted = match (parent, cluster_id) {
                (Some(parent), Some(cluster_id)) => {
                    if !clusters::lock_shared(&mut tx, cluster_id).await? {
                        return Err(parent.cluster_not_found());
                    }
                    node_pools::insert(&mut tx, id, cluster_id, &new.name, &new.spec, &new.labels, identity).await
                }
                _ => clusters::insert(&mut tx, id, &new.name, &new.spec, &new.labels, identity).await,
            };
            let row = inserted.map_err(|e| name_conflict(e, &new.name, parent))?;
            events::append(&mut tx, &event).await?;
            tx.commit().await?;
            Ok(row)
        })
        .await?;
    record_events(&state.metrics, &event);
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
pub async fn patch(
    state: &AppState,
    path: &ResourcePath,
    patch: &ResourcePatch,
    identity: &str,
) -> Result<ResourceRow, ApiError> {
    let kind = path.kind();
    let (row, event) = state
        .db
        .retry(|| async {
            let mut tx = state.db.begin().await?;
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
            let status = statuses::reaggregate(state, &mut tx, kind, &row, row.generation + 1).await?;
            let updated = match kind {
                ResourceKind::Cluster => {
                    clusters::update_spec(&mut tx, row.id, spec, labels, identity, &status).await?
                }
                ResourceKind::NodePool => {
                    node_pools::update_spec(&mut tx, row.id, spec, labels, identity, &status).await?
                }
            };
            let event = NewEvent { source: kind.event_source(), source_id: row.id, event_type: "Update" };
            events::append(&mut tx, &[event]).await?;
            tx.commit().await?;
            statuses::record_transition(state, kind, &row.status_phase, &status);
            Ok((updated, Some(event)))
        })
        .await?;
    if let Some(event) = event {
        record_events(&state.metrics, &[event]);
    }
    Ok(row)
}

/// Soft-deletes a cluster (with its node pools and all their statuses) or one node pool, and
/// records the `Delete` events: the node pools' in ascending id order, then the cluster's.
pub async fn delete(state: &AppState, path: &ResourcePath, identity: &str) -> Result<(), ApiError> {
    let cluster_id = path.cluster_id()?;
    let events = state
        .db
        .retry(|| async {
            let mut tx = state.db.begin().await?;
            let events = match path.node_pool.as_ref() {
                None => {
                    if !clusters::soft_delete(&mut tx, cluster_id, identity).await? {
                        return Err(path.cluster_not_found());
                    }
                    let node_pools = node_pools::soft_delete_of_cluster(&mut tx, cluster_id, identity).await?;
                    crate::dao::statuses::soft_delete_of_cluster(&mut tx, cluster_id, &node_pools).await?;
                    let mut events: Vec<NewEvent> = node_pools
                        .iter()
                        .map(|&id| NewEvent { source: "NodePools", source_id: id, event_type: "Delete" })
                        .collect();
                    events.push(NewEvent { source: "Clusters", source_id: cluster_id, event_type: "Delete" });
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
                    crate::dao::statuses::soft_delete_of(&mut tx, ResourceKind::NodePool, id).await?;
                    vec![NewEvent { source: "NodePools", source_id: id, event_type: "Delete" }]
                }
            };
            events::append(&mut tx, &events).await?;
            tx.commit().await?;
            Ok(events)
        })
        .await?;
    record_events(&state.metrics, &events);
    Ok(())
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
