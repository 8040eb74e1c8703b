//! How the contract renders what every layer shares: resource hrefs and timestamps (spec §2.2).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;
use uuid::Uuid;

/// RFC 3339 in UTC with exactly six fractional digits (spec §2.2).
pub fn timestamp(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// [`timestamp`] as a serde `serialize_with` function.
pub fn serialize_time<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&timestamp(time))
}

/// [`serialize_time`] of an optional member (skipped when absent by the caller's attributes).
pub fn serialize_optional_time<S: Serializer>(time: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serialize_time(time, serializer),
        None => serializer.serialize_none(),
    }
}

pub fn cluster_href(id: Uuid) -> String {
    format!("/api/hyperfleet/v1/clusters/{id}")
}

pub fn node_pool_href(cluster_id: Uuid, id: Uuid) -> String {
    format!("/api/hyperfleet/v1/clusters/{cluster_id}/nodepools/{id}")
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    #[test]
    fn timestamps_have_six_fractional_digits() {
        #[derive(Serialize)]
        struct T(#[serde(serialize_with = "serialize_time")] DateTime<Utc>);
        let t = DateTime::parse_from_rfc3339("2025-11-13T10:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(serde_json::to_string(&T(t)).unwrap(), "\"2025-11-13T10:00:00.000000Z\"");
    }
}
