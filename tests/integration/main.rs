//! One integration-test binary: every test runs the real application against its own database.

mod helpers;

#[path = "../factories/mod.rs"]
mod factories;

mod cli;
mod clusters;
mod contract;
mod health;
mod pipeline;
mod statuses;
