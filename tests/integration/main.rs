//! One integration-test binary: every test runs the real application against its own database.

mod helpers;

#[path = "../factories/mod.rs"]
mod factories;

mod asyncapi;
mod auth;
mod bad_input;
mod broker;
mod cli;
mod client;
mod clusters;
mod contract;
mod edge;
mod event_order;
mod events;
mod faults;
mod health;
mod keyset;
mod limits;
mod lists;
mod pipeline;
mod plans;
mod raw_json;
mod search;
mod spec;
mod statuses;
mod totals;
mod watch;
