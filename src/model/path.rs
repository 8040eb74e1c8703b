//! The resource a request path names (spec §2.7): a path id that is not a UUID simply names no
//! resource, and the 404 of a missing resource quotes the segment as it was sent. Built from a
//! request by `api::params`.

use uuid::Uuid;

use crate::error::{cut_quoted, ApiError};
use crate::model::kind::ResourceKind;

/// A `{cluster_id}`/`{nodepool_id}` path segment: its percent-decoded text (for messages) and
/// the id it names, if it is a UUID at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathId {
    pub text: String,
    pub id: Option<Uuid>,
}

impl PathId {
    pub fn parse(segment: &str) -> Self {
        let text = percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned();
        // Of the forms uuid parses, only the hyphenated 8-4-4-4-12 one is 36 characters long.
        let id = if text.len() == 36 { Uuid::try_parse(&text).ok() } else { None };
        PathId { text, id }
    }
}

/// The resource a request path names: a cluster, or a node pool of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    pub cluster: PathId,
    pub node_pool: Option<PathId>,
}

impl ResourcePath {
    pub fn kind(&self) -> ResourceKind {
        match self.node_pool {
            None => ResourceKind::Cluster,
            Some(_) => ResourceKind::NodePool,
        }
    }

    /// The cluster id, or the cluster's 404 when the segment is not a UUID.
    pub fn cluster_id(&self) -> Result<Uuid, ApiError> {
        self.cluster.id.ok_or_else(|| self.cluster_not_found())
    }

    /// The cluster id and the id of the resource itself (the cluster's again for a cluster);
    /// `None` when the node-pool segment is not a UUID, so the path names nothing.
    pub fn ids(&self) -> Result<Option<(Uuid, Uuid)>, ApiError> {
        let cluster_id = self.cluster_id()?;
        Ok(match &self.node_pool {
            None => Some((cluster_id, cluster_id)),
            Some(node_pool) => node_pool.id.map(|id| (cluster_id, id)),
        })
    }

    pub fn cluster_not_found(&self) -> ApiError {
        ApiError::NotFound(format!("Cluster with id='{}' not found", cut_quoted(&self.cluster.text)))
    }

    pub fn node_pool_not_found(&self) -> ApiError {
        let node_pool = self.node_pool.as_ref().map_or("", |n| n.text.as_str());
        ApiError::NotFound(format!(
            "NodePool with id='{}' not found in Cluster with id='{}'",
            cut_quoted(node_pool),
            cut_quoted(&self.cluster.text)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_ids_accept_only_hyphenated_uuids_in_either_case() {
        let id = "01939F4E-8A3C-7D12-9E45-6B7C8D9E0F1A";
        assert_eq!(PathId::parse(id).id.unwrap().to_string(), id.to_lowercase());
        assert!(PathId::parse("01939f4e8a3c7d129e456b7c8d9e0f1a").id.is_none());
        assert!(PathId::parse("{01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1}").id.is_none());
        assert!(PathId::parse("not-a-uuid").id.is_none());
        let encoded = PathId::parse("01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a%2F..");
        assert_eq!(encoded.text, "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a/..");
        assert!(encoded.id.is_none());
        assert_eq!(
            PathId::parse("%30%31939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a").id.unwrap().to_string(),
            "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a"
        );
    }
}
