//! Endpoints that need no database: API metadata and compatibility.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::caller::Caller;
use crate::api::handlers::json_response;
use crate::build_info;

/// `GET /api/hyperfleet` (§3.7).
#[derive(Serialize, ToSchema)]
pub struct ApiMetadata {
    id: &'static str,
    kind: &'static str,
    href: &'static str,
    version: &'static str,
    build_time: &'static str,
}

/// `GET /api/hyperfleet` (public).
pub async fn get_api_metadata() -> HttpResponse {
    json_response(
        actix_web::http::StatusCode::OK,
        &ApiMetadata {
            id: "hyperfleet",
            kind: "API",
            href: "/api/hyperfleet",
            version: build_info::VERSION,
            build_time: build_info::BUILD_TIME,
        },
    )
}

/// `GET /api/hyperfleet/v1/compatibility` (§3.8).
#[derive(Serialize, ToSchema)]
pub struct Compatibility {
    api_version: &'static str,
    compatible: bool,
    features: [&'static str; 9],
}

/// `GET /api/hyperfleet/v1/compatibility`.
pub async fn get_compatibility(_caller: Caller) -> HttpResponse {
    json_response(
        actix_web::http::StatusCode::OK,
        &Compatibility {
            api_version: "v1",
            compatible: true,
            features: [
                "clusters",
                "nodepools",
                "adapter_status",
                "status_aggregation",
                "search",
                "patch",
                "delete",
                "events",
                "watch",
            ],
        },
    )
}
