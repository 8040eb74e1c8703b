//! The authenticated caller of a protected route (PRODUCT.md §12). As an extractor it runs after
//! routing, so unknown routes (404) and wrong methods (405) are answered before authentication.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::api::AppState;
use crate::error::{ApiError, Unavailable};
use crate::telemetry::Identity;

/// Identity used when authentication is off.
pub const SYSTEM_IDENTITY: &str = "system";

/// The caller's identity, written to `created_by`/`updated_by`/`deleted_by` and the access log.
#[derive(Debug, Clone)]
pub struct Caller {
    pub identity: String,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state is not registered")))?;
            let identity = if state.settings.auth.enabled {
                return Err(ApiError::Unavailable(Unavailable::KeysUnavailable));
            } else {
                SYSTEM_IDENTITY.to_owned()
            };
            req.extensions_mut().insert(Identity(identity.clone()));
            Ok(Caller { identity })
        })
    }
}
