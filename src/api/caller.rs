//! The authenticated caller of a protected route (spec §12). As an extractor it runs after
//! routing, so unknown routes (404) and wrong methods (405) are answered before authentication.
//! Handlers list it before the body, and the token is checked when the extractor is created, so
//! a 401 wins over 413/400; when a refresh of the keys must be awaited, [`AuthGate`] makes the
//! body extractor wait for the verdict too.

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::{self, LocalBoxFuture, Shared};
use futures_util::FutureExt;

use crate::api::state::AppState;
use crate::auth::token::now_seconds;
use crate::auth::{AuthError, Outcome};
use crate::error::{ApiError, Unavailable};

/// Identity used when authentication is off.
pub const SYSTEM_IDENTITY: &str = "system";

/// The caller identity in the request extensions, for the access log (`system` when
/// authentication is off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity(pub String);

/// The caller's identity, written to `created_by`/`updated_by`/`deleted_by` and the access log.
#[derive(Debug, Clone)]
pub struct Caller {
    pub identity: String,
}

type Verdict = Shared<LocalBoxFuture<'static, Result<String, AuthError>>>;

/// A verdict still being reached (after a key refresh), shared with the body extractor.
#[derive(Clone)]
pub struct AuthGate(Verdict);

impl AuthGate {
    /// Waits until the caller is authenticated or refused. A refusal is returned here too, so
    /// the body extractor can never answer first with a body error, whichever of the two
    /// extractors sees the verdict first.
    pub async fn wait(self) -> Result<(), ApiError> {
        self.0.await.map(drop).map_err(refusal)
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
            return Box::pin(future::ready(Err(ApiError::internal(anyhow::anyhow!(
                "application state is not registered"
            )))));
        };
        let Some(verifier) = state.auth.clone() else {
            return ready(req, Ok(SYSTEM_IDENTITY.to_owned()));
        };
        let header = req.headers().get(AUTHORIZATION).map(|value| value.as_bytes());
        match verifier.authenticate(header, now_seconds()) {
            Outcome::Decided(verdict) => ready(req, verdict),
            Outcome::NeedsRefresh(token) => {
                let verdict: Verdict =
                    async move { verifier.authenticate_after_refresh(token, now_seconds).await }.boxed_local().shared();
                req.extensions_mut().insert(AuthGate(verdict.clone()));
                let req = req.clone();
                Box::pin(async move { conclude(&req, verdict.await) })
            }
        }
    }
}

fn ready(req: &HttpRequest, verdict: Result<String, AuthError>) -> LocalBoxFuture<'static, Result<Caller, ApiError>> {
    Box::pin(future::ready(conclude(req, verdict)))
}

fn conclude(req: &HttpRequest, verdict: Result<String, AuthError>) -> Result<Caller, ApiError> {
    match verdict {
        Ok(identity) => {
            req.extensions_mut().insert(Identity(identity.clone()));
            Ok(Caller { identity })
        }
        Err(error) => Err(refusal(error)),
    }
}

fn refusal(error: AuthError) -> ApiError {
    match error {
        AuthError::Unauthenticated(reason) => ApiError::Unauthenticated(reason),
        AuthError::KeysUnavailable => ApiError::Unavailable(Unavailable::KeysUnavailable),
    }
}
