//! The state every API handler shares: the services' context, the replica's lifecycle, its
//! watch hub, and the token verifier.

use std::sync::Arc;

use crate::auth::Verifier;
use crate::events::WatchHub;
use crate::ops::lifecycle::Lifecycle;
use crate::service;

/// State shared by every API handler.
pub struct AppState {
    pub context: service::Context,
    pub lifecycle: Arc<Lifecycle>,
    pub watch: Arc<WatchHub>,
    /// The token verifier; `None` when authentication is off.
    pub auth: Option<Arc<Verifier>>,
}
