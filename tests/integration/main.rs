//! One integration-test binary: every test runs the real application against its own database.

mod helpers;

#[path = "../factories/mod.rs"]
mod factories;

mod asyncapi;
mod auth;
mod bad_input;
mod broker;
mod cli;
mod clusters;
mod contract;
mod events;
mod faults;
mod health;
mod limits;
mod lists;
mod pipeline;
mod plans;
mod search;
mod spec;
mod statuses;
mod watch;
