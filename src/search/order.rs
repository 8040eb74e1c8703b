//! `orderBy` / `order` (§6.2): validated sort keys rendered as an ORDER BY list. The list always
//! ends with `id` so the order is total and paging is stable.

use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::fields::{self, Field};
use super::sql::push_label;
use super::{cut_quoted, ResourceKind, SearchError};

const MAX_ELEMENTS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordering {
    keys: Vec<SortKey>,
    /// A keyset walk (`after_id`): only rows past this id, in the direction of the one key, `id`.
    after_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct SortKey {
    target: SortTarget,
    descending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SortTarget {
    Column(&'static str),
    Label(String),
}

fn direction(word: &str) -> Option<bool> {
    if word.eq_ignore_ascii_case("asc") {
        Some(false)
    } else if word.eq_ignore_ascii_case("desc") {
        Some(true)
    } else {
        None
    }
}

fn non_blank(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

impl Ordering {
    /// `order_by` and `order` are the raw query values (None when absent or blank).
    pub fn parse(order_by: Option<&str>, order: Option<&str>, resource: ResourceKind) -> Result<Ordering, SearchError> {
        let order = match non_blank(order) {
            None => None,
            Some(value) => Some(direction(value).ok_or_else(|| SearchError("order must be 'asc' or 'desc'".into()))?),
        };
        let Some(order_by) = non_blank(order_by) else {
            // Newest first by default; this exact pair matches the (created_at, id) index.
            let descending = order.unwrap_or(true);
            return Ok(Ordering {
                keys: vec![
                    SortKey { target: SortTarget::Column("created_at"), descending },
                    SortKey { target: SortTarget::Column("id"), descending },
                ],
                after_id: None,
            });
        };

        let elements: Vec<&str> = order_by.split(',').collect();
        if elements.len() > MAX_ELEMENTS {
            return Err(SearchError(format!("orderBy accepts at most {MAX_ELEMENTS} fields")));
        }
        let mut keys = Vec::with_capacity(elements.len() + 1);
        for element in elements {
            keys.push(
                sort_key(element.trim(), order, resource)
                    .ok_or_else(|| SearchError(format!("bad order value '{}'", cut_quoted(element.trim()))))?,
            );
        }
        let id = SortTarget::Column("id");
        if !keys.iter().any(|key| key.target == id) {
            let descending = keys.last().is_some_and(|key| key.descending);
            keys.push(SortKey { target: id, descending });
        }
        Ok(Ordering { keys, after_id: None })
    }

    /// A keyset walk: the rows after `after` in `id` order (ascending unless `descending`). Each
    /// page starts where the last one ended, so a walk over the whole fleet costs the same at
    /// every page (the primary key serves it), unlike an OFFSET.
    pub fn after_id(after: Uuid, descending: bool) -> Ordering {
        Ordering { keys: vec![SortKey { target: SortTarget::Column("id"), descending }], after_id: Some(after) }
    }

    /// Pushes ` AND id > $n` (or `<` when walking down) for a keyset walk; nothing otherwise.
    pub fn push_keyset_condition(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        if let (Some(after), Some(key)) = (self.after_id, self.keys.first()) {
            qb.push(if key.descending { " AND id < " } else { " AND id > " }).push_bind(after);
        }
    }

    /// Pushes the ORDER BY list without the `ORDER BY` keyword, e.g. `name ASC, id ASC`.
    pub fn push_sql(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        for (i, key) in self.keys.iter().enumerate() {
            if i > 0 {
                qb.push(", ");
            }
            match &key.target {
                SortTarget::Column(column) => {
                    qb.push(*column);
                }
                // Postgres puts NULLs last in ASC and first in DESC, which is what §6.2 asks
                // for a missing label.
                SortTarget::Label(label) => push_label(label, qb),
            }
            qb.push(if key.descending { " DESC" } else { " ASC" });
        }
    }
}

/// One trimmed `field [direction]` element; `None` for any problem, which has one message.
fn sort_key(element: &str, order: Option<bool>, resource: ResourceKind) -> Option<SortKey> {
    let mut words = element.split_whitespace();
    let field = words.next()?;
    let descending = match words.next() {
        Some(word) => direction(word)?,
        None => order.unwrap_or(false),
    };
    if words.next().is_some() {
        return None;
    }
    // Text columns are already `COLLATE "C"` and uuid order equals lowercase text order, so
    // every column sorts as itself.
    let target = match fields::resolve(field, resource).ok()? {
        Field::Column { column, .. } => SortTarget::Column(column),
        Field::Label(key) => SortTarget::Label(key),
        Field::Kind(_) => return None,
    };
    Some(SortKey { target, descending })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (orderBy, order, resource, expected SQL or reason, why).
    type Case<'a> = (Option<&'a str>, Option<&'a str>, ResourceKind, &'a str, &'a str);

    fn sql(order_by: Option<&str>, order: Option<&str>, resource: ResourceKind) -> String {
        let ordering = Ordering::parse(order_by, order, resource).unwrap();
        let mut qb = QueryBuilder::new("");
        ordering.push_sql(&mut qb);
        qb.into_sql()
    }

    #[test]
    fn generated_order_by_lists() {
        use ResourceKind::{Cluster, NodePool};
        let cases: &[Case] = &[
            (None, None, Cluster, "created_at DESC, id DESC", "default: newest first"),
            (None, Some("asc"), Cluster, "created_at ASC, id ASC", "default, oldest first"),
            (None, Some("DESC"), Cluster, "created_at DESC, id DESC", "order is case-insensitive"),
            (Some("  "), Some("Asc"), Cluster, "created_at ASC, id ASC", "blank orderBy is absent"),
            (Some("name"), None, Cluster, "name ASC, id ASC", "no direction and no order: asc"),
            (Some("name"), Some("desc"), Cluster, "name DESC, id DESC", "no direction: order's"),
            (Some("name desc"), None, Cluster, "name DESC, id DESC", "id follows the last element"),
            (
                Some("status.phase asc, created_at desc"),
                None,
                Cluster,
                "status_phase ASC, created_at DESC, id DESC",
                "several keys, aliases resolved",
            ),
            (
                Some(" generation\tDESC ,name"),
                Some("desc"),
                Cluster,
                "generation DESC, name DESC, id DESC",
                "elements are trimmed and split on any whitespace",
            ),
            (Some("id desc, name"), None, Cluster, "id DESC, name ASC", "id listed: not appended"),
            (
                Some("labels.env desc"),
                None,
                Cluster,
                "(labels->>$1) COLLATE \"C\" DESC, id DESC",
                "labels sort by their bound key",
            ),
            (
                Some("owner_id, cluster_id desc"),
                None,
                NodePool,
                "cluster_id ASC, cluster_id DESC, id DESC",
                "owner_id and its alias sort by the uuid column",
            ),
            (
                Some(concat!(
                    "status_observed_generation,status_updated_at,",
                    "status_last_transition_time,updated_at,updated_by,created_by"
                )),
                Some("asc"),
                Cluster,
                concat!(
                    "status_observed_generation ASC, status_updated_at ASC, ",
                    "status_last_transition_time ASC, updated_at ASC, updated_by ASC, ",
                    "created_by ASC, id ASC"
                ),
                "every other sortable column",
            ),
        ];
        for (order_by, order, resource, want, why) in cases {
            assert_eq!(sql(*order_by, *order, *resource), *want, "{why}");
        }
    }

    #[test]
    fn sixteen_elements_are_allowed() {
        let sixteen = vec!["name"; 16].join(",");
        assert!(Ordering::parse(Some(&sixteen), None, ResourceKind::Cluster).is_ok());
    }

    #[test]
    fn errors() {
        let seventeen = vec!["name"; 17].join(",");
        let long = format!("{} desc", "n".repeat(300));
        let cases: &[Case] = &[
            (None, Some("up"), ResourceKind::Cluster, "order must be 'asc' or 'desc'", "bad order"),
            (None, Some(" asc"), ResourceKind::Cluster, "order must be 'asc' or 'desc'", "order is not trimmed"),
            (
                Some("name"),
                Some("ascending"),
                ResourceKind::Cluster,
                "order must be 'asc' or 'desc'",
                "order is checked even with orderBy",
            ),
            (Some(&seventeen), None, ResourceKind::Cluster, "orderBy accepts at most 16 fields", "17 elements"),
            (Some("spec"), None, ResourceKind::Cluster, "bad order value 'spec'", "unknown field"),
            (Some("name sideways"), None, ResourceKind::Cluster, "bad order value 'name sideways'", "bad direction"),
            (Some("name;drop"), None, ResourceKind::Cluster, "bad order value 'name;drop'", "injection attempt"),
            (Some("name,,id"), None, ResourceKind::Cluster, "bad order value ''", "empty element"),
            (Some("name,"), None, ResourceKind::Cluster, "bad order value ''", "trailing comma"),
            (Some("name asc desc"), None, ResourceKind::Cluster, "bad order value 'name asc desc'", "three words"),
            (Some("kind"), None, ResourceKind::Cluster, "bad order value 'kind'", "kind is not sortable"),
            (Some(" NAME "), None, ResourceKind::Cluster, "bad order value 'NAME'", "case-sensitive, quoted trimmed"),
            (Some("labels"), None, ResourceKind::Cluster, "bad order value 'labels'", "labels without key"),
            (Some("labels."), None, ResourceKind::Cluster, "bad order value 'labels.'", "empty label key"),
            (Some("labels.-x"), None, ResourceKind::Cluster, "bad order value 'labels.-x'", "invalid label key"),
            (
                Some("owner_id"),
                None,
                ResourceKind::Cluster,
                "bad order value 'owner_id'",
                "node-pool field on clusters",
            ),
            (
                Some(&long),
                None,
                ResourceKind::Cluster,
                &format!("bad order value '{}...'", "n".repeat(256)),
                "element cut to 256 characters",
            ),
        ];
        for (order_by, order, resource, want, why) in cases {
            assert_eq!(Ordering::parse(*order_by, *order, *resource), Err(SearchError((*want).to_owned())), "{why}");
        }
    }
}
