//! Query-string and path parameters (spec §2.1, §2.7, §6): first occurrence wins, blank
//! counts as absent, paging and list parameters are validated before any database access, and
//! the path's resource is read from the route's match.

use std::borrow::Cow;
use std::num::ParseIntError;

use actix_web::HttpRequest;

use crate::error::ApiError;
use crate::model::kind::ResourceKind;
use crate::model::path::{PathId, ResourcePath};
use crate::search::{Filter, Ordering};
use uuid::Uuid;

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
            Some(raw) => saturating(raw)
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

/// ASCII digits (blanks around them trimmed, no sign) as a number: `None` when the text is
/// anything else, an error when the digits name more than an `i64` holds. Pages and cursors
/// read their numbers with it.
pub fn parse_digits(raw: &str) -> Option<Result<i64, ParseIntError>> {
    let digits = raw.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<i64>())
}

/// [`parse_digits`] where values beyond `i64` saturate (page numbers and sizes).
fn saturating(raw: &str) -> Option<i64> {
    parse_digits(raw).map(|n| n.unwrap_or(i64::MAX))
}

fn page_size(raw: &str, name: &str) -> Result<i64, ApiError> {
    saturating(raw)
        .filter(|n| *n >= 1)
        .map(|n| n.min(MAX_PAGE_SIZE))
        .ok_or_else(|| ApiError::BadRequest(format!("{name} must be a positive integer")))
}

/// Validated list parameters of the cluster and node-pool lists.
pub struct ListParams {
    pub paging: Paging,
    pub ordering: Ordering,
    pub filter: Option<Filter>,
}

impl ListParams {
    pub fn parse(query: &QueryParams<'_>, kind: ResourceKind) -> Result<Self, ApiError> {
        let paging = Paging::from_query(query)?;
        let mut ordering =
            Ordering::parse(query.get("orderBy"), query.get("order"), kind).map_err(|e| ApiError::BadRequest(e.0))?;
        let filter = match query.get("search") {
            Some(search) => Filter::parse(search, kind).map_err(|e| ApiError::BadRequest(e.0))?,
            None => None,
        };
        if let Some(raw) = query.get("after_id") {
            let raw = raw.trim();
            // Only the hyphenated 8-4-4-4-12 form, as for path ids.
            let after = (raw.len() == 36).then(|| Uuid::try_parse(raw).ok()).flatten();
            let after = after.ok_or_else(|| ApiError::BadRequest(AFTER_ID_MESSAGE.into()))?;
            if query.get("orderBy").is_some() {
                return Err(ApiError::BadRequest("orderBy cannot be combined with after_id".into()));
            }
            if paging.page != 1 {
                return Err(ApiError::BadRequest("page cannot be combined with after_id".into()));
            }
            let descending = query.get("order").is_some_and(|order| order.trim().eq_ignore_ascii_case("desc"));
            ordering = Ordering::after_id(after, descending);
        }
        Ok(ListParams { paging, ordering, filter })
    }
}

const AFTER_ID_MESSAGE: &str = "after_id must be a UUID";

fn path_id(req: &HttpRequest, name: &str) -> PathId {
    PathId::parse(req.match_info().get(name).unwrap_or_default())
}

/// The cluster of `…/clusters/{cluster_id}…`.
pub fn cluster_path(req: &HttpRequest) -> ResourcePath {
    ResourcePath { cluster: path_id(req, "cluster_id"), node_pool: None }
}

/// The node pool of `…/clusters/{cluster_id}/nodepools/{nodepool_id}…`.
pub fn node_pool_path(req: &HttpRequest) -> ResourcePath {
    ResourcePath { cluster: path_id(req, "cluster_id"), node_pool: Some(path_id(req, "nodepool_id")) }
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
}
