//! Query-string and path parameters (spec §2.1, §2.7, §6.1): first occurrence wins,
//! blank counts as absent, paging is validated before any database access, and a path id that
//! is not a UUID simply names no resource.

use std::borrow::Cow;

use actix_web::HttpRequest;
use uuid::Uuid;

use crate::error::{cut_quoted, ApiError};
use crate::model::ResourceKind;

/// Largest page size; larger requests are clamped to it.
pub const MAX_PAGE_SIZE: i64 = 1000;
/// Page size when neither `pageSize` nor `size` is given.
pub const DEFAULT_PAGE_SIZE: i64 = 100;

/// The decoded query string.
pub struct QueryParams<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> QueryParams<'a> {
    pub fn parse(query: &'a str) -> Self {
        QueryParams { pairs: form_urlencoded::parse(query.as_bytes()).collect() }
    }

    pub fn from_request(req: &'a HttpRequest) -> Self {
        Self::parse(req.query_string())
    }

    /// The first value of `name`, or `None` when absent, empty or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_ref()).filter(|v| !v.trim().is_empty())
    }
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: i64,
    pub size: i64,
}

impl Paging {
    pub fn from_query(query: &QueryParams<'_>) -> Result<Self, ApiError> {
        let page = match query.get("page") {
            None => 1,
            Some(raw) => parse_digits(raw)
                .filter(|n| (1..=i64::from(i32::MAX)).contains(n))
                .ok_or_else(|| ApiError::BadRequest("page must be an integer between 1 and 2147483647".into()))?,
        };
        let size = match (query.get("pageSize"), query.get("size")) {
            (Some(raw), _) => page_size(raw, "pageSize")?,
            (None, Some(raw)) => page_size(raw, "size")?,
            (None, None) => DEFAULT_PAGE_SIZE,
        };
        Ok(Paging { page, size })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.size
    }
}

/// ASCII digits (after trimming blanks) as a number; values beyond i64 saturate.
fn parse_digits(raw: &str) -> Option<i64> {
    let digits = raw.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<i64>().unwrap_or(i64::MAX))
}

fn page_size(raw: &str, name: &str) -> Result<i64, ApiError> {
    parse_digits(raw)
        .filter(|n| *n >= 1)
        .map(|n| n.min(MAX_PAGE_SIZE))
        .ok_or_else(|| ApiError::BadRequest(format!("{name} must be a positive integer")))
}

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

    pub fn from_request(req: &HttpRequest, name: &str) -> Self {
        Self::parse(req.match_info().get(name).unwrap_or_default())
    }
}

/// The resource a request path names: a cluster, or a node pool of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    pub cluster: PathId,
    pub node_pool: Option<PathId>,
}

impl ResourcePath {
    /// `…/clusters/{cluster_id}…`
    pub fn cluster(req: &HttpRequest) -> Self {
        ResourcePath { cluster: PathId::from_request(req, "cluster_id"), node_pool: None }
    }

    /// `…/clusters/{cluster_id}/nodepools/{nodepool_id}…`
    pub fn node_pool(req: &HttpRequest) -> Self {
        ResourcePath {
            cluster: PathId::from_request(req, "cluster_id"),
            node_pool: Some(PathId::from_request(req, "nodepool_id")),
        }
    }

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

    fn paging(query: &str) -> Result<Paging, String> {
        Paging::from_query(&QueryParams::parse(query)).map_err(|e| e.to_string())
    }

    #[test]
    fn paging_defaults_and_aliases() {
        let cases = [
            ("", 1, 100, "defaults"),
            ("page=2&pageSize=5", 2, 5, "explicit"),
            ("size=5", 1, 5, "size alias"),
            ("pageSize=7&size=5", 1, 7, "pageSize wins over size"),
            ("pageSize=&size=5", 1, 5, "blank pageSize falls back to size"),
            ("page=%20&pageSize=+3+", 1, 3, "blank page is absent, blanks trimmed"),
            ("pageSize=5000", 1, 1000, "clamped"),
            ("pageSize=99999999999999999999999999", 1, 1000, "clamped at any length"),
            ("page=3&page=abc", 3, 100, "first occurrence wins"),
            ("page=0007", 7, 100, "leading zeros"),
            ("page=2147483647", 2147483647, 100, "largest page"),
        ];
        for (query, page, size, why) in cases {
            assert_eq!(paging(query), Ok(Paging { page, size }), "{why}: {query}");
        }
    }

    #[test]
    fn bad_paging_values_are_rejected_with_their_message() {
        let page = "page must be an integer between 1 and 2147483647";
        let cases = [
            ("page=0", page),
            ("page=-1", page),
            ("page=1.5", page),
            ("page=abc", page),
            ("page=2147483648", page),
            ("pageSize=0", "pageSize must be a positive integer"),
            ("pageSize=-3", "pageSize must be a positive integer"),
            ("size=x", "size must be a positive integer"),
            ("pageSize=1e3", "pageSize must be a positive integer"),
        ];
        for (query, message) in cases {
            assert_eq!(paging(query), Err(message.to_owned()), "{query}");
        }
    }

    #[test]
    fn offsets_follow_page_and_size() {
        assert_eq!(Paging { page: 3, size: 10 }.offset(), 20);
        assert_eq!(Paging { page: 2147483647, size: 1000 }.offset(), 2_147_483_646_000);
    }

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
