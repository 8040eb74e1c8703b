//! Validated inputs: what a create or PATCH body and a status report mean once the HTTP edge
//! has decoded and checked them (spec §4.1, §4.12). The services take these, never raw JSON.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// A validated create body.
#[derive(Debug, Clone, PartialEq)]
pub struct NewResource {
    pub name: String,
    pub spec: Value,
    /// Always an object (`{}` when absent).
    pub labels: Value,
}

/// A validated PATCH body: at least one of the two is present.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourcePatch {
    pub spec: Option<Value>,
    pub labels: Option<Value>,
}

/// A validated condition of a report, before the fill-in rules of §7.2.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionInput {
    pub condition_type: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub observed_generation: i32,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub last_transition_time: Option<DateTime<Utc>>,
}

/// A validated status report.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub adapter: String,
    pub observed_generation: i32,
    pub conditions: Vec<ConditionInput>,
    pub data: Value,
    pub metadata: Option<Value>,
}
