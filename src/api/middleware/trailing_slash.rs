//! The one-trailing-slash rule, applied before routing: `/clusters/` routes as `/clusters`.

use actix_web::dev::{ServiceRequest, Url};
use actix_web::http::uri::PathAndQuery;
use actix_web::http::Uri;

/// Drops exactly one trailing `/` (not from `/` itself) before routing; `//` stays unroutable.
pub fn strip_one(req: &mut ServiceRequest) {
    let path = req.path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = &path[..path.len() - 1];
        let rebuilt = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        let mut parts = req.uri().clone().into_parts();
        let Ok(path_and_query) = PathAndQuery::try_from(rebuilt) else {
            return;
        };
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = Uri::from_parts(parts) {
            req.match_info_mut().set(Url::new(uri.clone()));
            req.head_mut().uri = uri;
        }
    }
}
