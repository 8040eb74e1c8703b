//! The replica's lifecycle flags: draining (set on SIGTERM before anything else stops) and
//! maintenance mode (`/healthcheck/down`). The health server reports them; the API pipeline
//! closes connections while draining.

use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
    maintenance: AtomicBool,
}

impl Lifecycle {
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn in_maintenance(&self) -> bool {
        self.maintenance.load(Ordering::Acquire)
    }

    pub fn set_maintenance(&self, on: bool) {
        self.maintenance.store(on, Ordering::Release);
    }
}
