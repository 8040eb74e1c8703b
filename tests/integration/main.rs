//! One integration-test binary: every test runs the real application against its own database.

mod helpers;

#[path = "../factories/mod.rs"]
#[allow(dead_code)]
mod factories;

mod cli;
mod health;
mod pipeline;
