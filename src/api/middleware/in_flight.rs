//! In-flight tracking: a request counts from the moment the pipeline sees it until its response
//! body has been sent, which is what a graceful drain (spec §13.5) waits for.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts API requests that have been received and not yet answered completely.
#[derive(Debug, Default)]
pub struct InFlight(AtomicUsize);

impl InFlight {
    pub fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.0.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(Arc::clone(self))
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

/// One request in flight; dropping it ends the request's count.
pub struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::AcqRel);
    }
}
