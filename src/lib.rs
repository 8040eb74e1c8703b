//! HyperFleet API: a stateless REST data API over one PostgreSQL database. Every piece that
//! production runs lives in this library, so the integration tests exercise exactly that code.

pub mod api;
pub mod auth;
pub mod build_info;
pub mod cli;
pub mod client;
pub mod config;
pub mod dao;
pub mod db;
pub mod edge;
pub mod error;
pub mod events;
pub mod flags;
pub mod memory;
pub mod metrics;
pub mod migrate;
pub mod model;
pub mod ops;
pub mod search;
pub mod service;
pub mod startup;
pub mod telemetry;

/// The schema migrations of `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();
