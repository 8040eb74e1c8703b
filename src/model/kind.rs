//! The two resource kinds and what differs between them, and the name and generation limits of
//! the contract.

/// A cluster or a node pool. Most machinery (lists, search, statuses, aggregation, events) is
/// the same for both and is parameterised by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    Cluster,
    NodePool,
}

impl ResourceKind {
    /// The `kind` member of the resource, and the `resource_type` of its adapter statuses.
    pub const fn kind(self) -> &'static str {
        match self {
            ResourceKind::Cluster => "Cluster",
            ResourceKind::NodePool => "NodePool",
        }
    }

    /// The `source` of its events.
    pub const fn event_source(self) -> &'static str {
        match self {
            ResourceKind::Cluster => "Clusters",
            ResourceKind::NodePool => "NodePools",
        }
    }

    /// Shortest valid name, in characters.
    pub const fn min_name_len(self) -> usize {
        match self {
            ResourceKind::Cluster => 3,
            ResourceKind::NodePool => 1,
        }
    }
}

/// Longest valid resource name, in characters.
pub const MAX_NAME_LEN: usize = 63;

/// Generations and observed generations live in `integer` columns.
pub const MAX_GENERATION: i64 = 2_147_483_647;

/// Whether `name` matches `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$` (DNS-1123 label characters).
pub fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for ok in ["a", "abc", "prod-cluster-1", "0-9"] {
            assert!(is_dns_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", "é", "a\0b", "prod\u{2010}1"] {
            assert!(!is_dns_label(bad), "{bad:?}");
        }
    }
}
