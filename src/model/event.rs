//! The event vocabulary of spec §9: what a write records (its source and [`EventType`]) and the
//! filter that both the event list and the watch stream apply.

use uuid::Uuid;

use crate::model::kind::ResourceKind;

/// The `source` values of events, one per resource kind.
pub const SOURCES: [&str; 2] = [ResourceKind::Cluster.event_source(), ResourceKind::NodePool.event_source()];

/// What happened to the resource; its wire text is the `event_type` of the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Create,
    Update,
    Delete,
}

impl EventType {
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::Create => "Create",
            EventType::Update => "Update",
            EventType::Delete => "Delete",
        }
    }
}

/// The `event_type` values of events, in the order the contract lists them.
pub const EVENT_TYPES: [&str; 3] = [EventType::Create.as_str(), EventType::Update.as_str(), EventType::Delete.as_str()];

/// The filters of the event list and the watch stream: members combine with AND, values within
/// a list with OR; an empty list means no filter on that member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub sources: Vec<&'static str>,
    pub source_id: Option<Uuid>,
    pub event_types: Vec<&'static str>,
}

impl EventFilter {
    pub fn matches(&self, source: &str, source_id: Uuid, event_type: &str) -> bool {
        (self.sources.is_empty() || self.sources.contains(&source))
            && self.source_id.is_none_or(|id| id == source_id)
            && (self.event_types.is_empty() || self.event_types.contains(&event_type))
    }
}
