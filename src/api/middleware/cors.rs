//! CORS headers for allowed origins (`--cors-allowed-origins`); a preflight also gets the
//! route's methods, the accepted request headers and a max age.

use actix_web::http::header::{self, HeaderMap, HeaderValue};

use crate::config::CorsSettings;

pub fn add_headers(cors: &CorsSettings, headers: &mut HeaderMap, origin: &HeaderValue, preflight: bool) {
    let allowed = origin.to_str().is_ok_and(|o| cors.allows(o));
    if !cors.enabled() || !allowed {
        return;
    }
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("X-Operation-ID"));
    if preflight {
        if let Some(allow) = headers.get(header::ALLOW).cloned() {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, allow);
        }
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type, X-Operation-ID, Last-Event-ID"),
        );
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
}
