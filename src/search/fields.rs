//! The field allowlist shared by search and ordering (§6.3.3): which names exist on which
//! resource, their types and their columns, plus the Kubernetes label-key rule (§4.1 rule 1).
//! Column names in the SQL come only from the table below.

use super::{cut_quoted, ResourceKind, SearchError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    Uuid,
    Text,
    Integer,
    Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    Column {
        column: &'static str,
        ty: FieldType,
    },
    /// The constant `Cluster` / `NodePool`; a text field with no column.
    Kind(&'static str),
    Label(String),
}

/// (field names, column, type) for the fields every listed resource has.
const COMMON: &[(&[&str], &str, FieldType)] = &[
    (&["id"], "id", FieldType::Uuid),
    (&["name"], "name", FieldType::Text),
    (&["generation"], "generation", FieldType::Integer),
    (&["created_at"], "created_at", FieldType::Timestamp),
    (&["updated_at"], "updated_at", FieldType::Timestamp),
    (&["created_by"], "created_by", FieldType::Text),
    (&["updated_by"], "updated_by", FieldType::Text),
    (&["status.phase", "status_phase"], "status_phase", FieldType::Text),
    (&["status.observed_generation", "status_observed_generation"], "status_observed_generation", FieldType::Integer),
    (
        &["status.last_transition_time", "status_last_transition_time"],
        "status_last_transition_time",
        FieldType::Timestamp,
    ),
    (&["status.updated_at", "status_updated_at"], "status_updated_at", FieldType::Timestamp),
];

const NODE_POOL_ONLY: &[(&[&str], &str, FieldType)] = &[(&["owner_id", "cluster_id"], "cluster_id", FieldType::Uuid)];

impl ResourceKind {
    fn own_fields(self) -> &'static [(&'static [&'static str], &'static str, FieldType)] {
        match self {
            ResourceKind::Cluster => &[],
            ResourceKind::NodePool => NODE_POOL_ONLY,
        }
    }
}

/// Resolves a field name as written by the client (case-sensitive). The errors are the search
/// messages; ordering replaces them with its own.
pub(crate) fn resolve(name: &str, resource: ResourceKind) -> Result<Field, SearchError> {
    if name == "kind" {
        return Ok(Field::Kind(resource.kind()));
    }
    if let Some(key) = name.strip_prefix("labels.") {
        if key.is_empty() {
            return Err(SearchError("label key cannot be empty".into()));
        }
        if !is_valid_label_key(key) {
            return Err(SearchError(format!("label key '{}' is invalid", cut_quoted(key))));
        }
        return Ok(Field::Label(key.to_owned()));
    }
    COMMON
        .iter()
        .chain(resource.own_fields())
        .find(|(names, _, _)| names.contains(&name))
        .map(|&(_, column, ty)| Field::Column { column, ty })
        .ok_or_else(|| SearchError(format!("{} is not a valid field name", cut_quoted(name))))
}

/// §4.1 rule 1: `[prefix/]name`, the prefix a DNS-1123 subdomain of at most 253 characters,
/// the name 1–63 characters of `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`.
pub fn is_valid_label_key(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    prefix.is_none_or(is_dns_subdomain) && is_label_name(name)
}

fn is_dns_subdomain(prefix: &str) -> bool {
    // Every allowed character is ASCII, so the byte length is the character count.
    prefix.len() <= 253
        && prefix.split('.').all(|part| {
            let lower_alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            let bytes = part.as_bytes();
            match (bytes.first(), bytes.last()) {
                (Some(first), Some(last)) => {
                    lower_alnum(first) && lower_alnum(last) && bytes.iter().all(|b| lower_alnum(b) || *b == b'-')
                }
                _ => false,
            }
        })
}

fn is_label_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            bytes.len() <= 63
                && first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_to_the_same_column() {
        for (a, b) in [
            ("status.phase", "status_phase"),
            ("status.observed_generation", "status_observed_generation"),
            ("status.last_transition_time", "status_last_transition_time"),
            ("status.updated_at", "status_updated_at"),
        ] {
            assert_eq!(resolve(a, ResourceKind::Cluster), resolve(b, ResourceKind::Cluster), "{a} and {b}");
        }
        assert_eq!(
            resolve("owner_id", ResourceKind::NodePool),
            Ok(Field::Column { column: "cluster_id", ty: FieldType::Uuid })
        );
        assert_eq!(resolve("cluster_id", ResourceKind::NodePool), resolve("owner_id", ResourceKind::NodePool));
    }

    #[test]
    fn kind_is_a_constant_per_resource() {
        assert_eq!(resolve("kind", ResourceKind::Cluster), Ok(Field::Kind("Cluster")));
        assert_eq!(resolve("kind", ResourceKind::NodePool), Ok(Field::Kind("NodePool")));
    }

    #[test]
    fn unknown_fields() {
        let cases = [
            ("spec", ResourceKind::Cluster, "a column the search does not expose"),
            ("spec.x", ResourceKind::Cluster, "a spec member"),
            ("labels", ResourceKind::Cluster, "labels without a key"),
            ("status", ResourceKind::Cluster, "status as a whole"),
            ("href", ResourceKind::Cluster, "a rendered-only member"),
            ("NAME", ResourceKind::Cluster, "field names are case-sensitive"),
            ("owner_id", ResourceKind::Cluster, "owner_id only exists on node pools"),
            ("cluster_id", ResourceKind::Cluster, "cluster_id only exists on node pools"),
            ("deleted_at", ResourceKind::NodePool, "soft-delete columns are internal"),
            ("status_adapters", ResourceKind::NodePool, "internal column"),
        ];
        for (name, resource, why) in cases {
            assert_eq!(resolve(name, resource), Err(SearchError(format!("{name} is not a valid field name"))), "{why}");
        }
    }

    #[test]
    fn label_keys() {
        let valid = [
            "env",
            "a",
            "A",
            "9",
            "app.kubernetes.io/name",
            "example.com/team",
            "x/y",
            "a-b_c.d",
            &"n".repeat(63),
            &format!("{}/n", ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)].join(".")),
        ];
        for key in valid {
            assert!(is_valid_label_key(key), "{key} is valid");
        }
        let invalid = [
            ("-env", "starts with a dash"),
            ("env-", "ends with a dash"),
            ("_env", "starts with an underscore"),
            ("env.", "ends with a dot"),
            (&*"n".repeat(64), "64-character name"),
            ("/env", "empty prefix"),
            ("a/b/c", "two slashes"),
            ("example.com/", "empty name"),
            ("Example.com/x", "upper-case prefix"),
            ("a..b/x", "empty prefix part"),
            ("-a.b/x", "prefix part starting with a dash"),
            ("a_b/x", "underscore in the prefix"),
            ("é", "non-ASCII"),
        ];
        for (key, why) in invalid {
            assert!(!is_valid_label_key(key), "{why}: {key}");
        }
        let long_prefix = format!("{}/x", vec!["a".repeat(63); 4].join("."));
        assert_eq!(long_prefix.len(), 257, "a 255-character prefix");
        assert!(!is_valid_label_key(&long_prefix));
    }

    #[test]
    fn label_errors_quote_the_key_cut_to_256_characters() {
        assert_eq!(resolve("labels.", ResourceKind::Cluster), Err(SearchError("label key cannot be empty".into())));
        assert_eq!(
            resolve("labels.-env", ResourceKind::Cluster),
            Err(SearchError("label key '-env' is invalid".into()))
        );
        let long = "k".repeat(300);
        assert_eq!(
            resolve(&format!("labels.{long}"), ResourceKind::Cluster),
            Err(SearchError(format!("label key '{}...' is invalid", "k".repeat(256))))
        );
        assert_eq!(resolve("labels.env", ResourceKind::NodePool), Ok(Field::Label("env".into())));
    }
}
