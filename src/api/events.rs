//! The event log over HTTP (spec §4.21, §4.22): the paged list and the Server-Sent-Events
//! watch stream, with their shared cursor and filter parameters.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::api::caller::Caller;
use crate::api::handlers::json_response;
use crate::api::params::{parse_digits, Paging, QueryParams};
use crate::api::state::AppState;
use crate::api::views::List;
use crate::dao::events::{self as dao, EventQuery};
use crate::error::{ApiError, Unavailable};
use crate::events::view::Event;
use crate::model::event::{EventFilter, EVENT_TYPES, SOURCES};

const AFTER_MESSAGE: &str = "after must be a non-negative integer";
const LAST_EVENT_ID_MESSAGE: &str = "Last-Event-ID must be a non-negative integer";

/// An event id cursor: ASCII digits (blanks around them trimmed) with a value up to 2^63−1.
fn parse_cursor(raw: &str) -> Option<i64> {
    parse_digits(raw).and_then(Result::ok)
}

/// A comma-separated list of allowed values (exact case). Blanks around items are trimmed and
/// empty items skipped; a list that names nothing, or anything else, is rejected.
fn parse_list(raw: &str, allowed: &[&'static str]) -> Option<Vec<&'static str>> {
    let mut values: Vec<&'static str> = Vec::new();
    for item in raw.split(',').map(str::trim).filter(|item| !item.is_empty()) {
        let value = allowed.iter().find(|a| **a == item)?;
        if !values.contains(value) {
            values.push(value);
        }
    }
    (!values.is_empty()).then_some(values)
}

/// The filters of both endpoints, validated in the order `source`, `source_id`, `event_type`.
pub fn parse_filter(query: &QueryParams<'_>) -> Result<EventFilter, ApiError> {
    let sources = match query.get("source") {
        None => Vec::new(),
        Some(raw) => parse_list(raw, &SOURCES).ok_or_else(|| {
            ApiError::BadRequest("source must be a comma-separated list of: Clusters, NodePools".into())
        })?,
    };
    let source_id = match query.get("source_id") {
        None => None,
        Some(raw) => {
            let raw = raw.trim();
            // Only the hyphenated 8-4-4-4-12 form, as for path ids.
            let id = if raw.len() == 36 { Uuid::try_parse(raw).ok() } else { None };
            Some(id.ok_or_else(|| ApiError::BadRequest("source_id must be a UUID".into()))?)
        }
    };
    let event_types = match query.get("event_type") {
        None => Vec::new(),
        Some(raw) => parse_list(raw, &EVENT_TYPES).ok_or_else(|| {
            ApiError::BadRequest("event_type must be a comma-separated list of: Create, Update, Delete".into())
        })?,
    };
    Ok(EventFilter { sources, source_id, event_types })
}

fn parse_after(query: &QueryParams<'_>) -> Result<Option<i64>, ApiError> {
    query
        .get("after")
        .map(|raw| parse_cursor(raw).ok_or_else(|| ApiError::BadRequest(AFTER_MESSAGE.into())))
        .transpose()
}

/// `GET /api/hyperfleet/v1/events`
pub async fn get_events(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = QueryParams::from_request(&req);
    let after = parse_after(&query)?;
    let filter = parse_filter(&query)?;
    let paging = Paging::from_query(&query)?;
    let mut conn = state.context.db.acquire().await?;
    crate::events::settle(&mut conn).await?;
    let query = EventQuery { filter: &filter, after, until: None };
    let page = dao::list(&mut conn, &query, paging.size, paging.offset()).await?;
    let items: Vec<Event> = page.items.into_iter().map(Event::from).collect();
    Ok(json_response(StatusCode::OK, &List::new("EventList", paging.page, page.total, items)))
}

/// The stream's cursor: the `Last-Event-ID` header, else `after`, else none (start at the
/// newest event). `after` is not read at all when the header is given.
fn watch_cursor(req: &HttpRequest, query: &QueryParams<'_>) -> Result<Option<i64>, ApiError> {
    let header = req.headers().get("last-event-id").map(|value| {
        value.to_str().ok().map(str::trim).ok_or_else(|| ApiError::BadRequest(LAST_EVENT_ID_MESSAGE.into()))
    });
    match header.transpose()?.filter(|value| !value.is_empty()) {
        Some(value) => parse_cursor(value).map(Some).ok_or_else(|| ApiError::BadRequest(LAST_EVENT_ID_MESSAGE.into())),
        None => parse_after(query),
    }
}

/// `GET /api/hyperfleet/v1/watch`
pub async fn watch_events(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = QueryParams::from_request(&req);
    let cursor = watch_cursor(&req, &query)?;
    let filter = parse_filter(&query)?;
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream")))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header(("x-accel-buffering", HeaderValue::from_static("no")));
    if req.method() == Method::HEAD {
        // Same status and headers as GET, without opening a stream.
        if state.watch.is_full() {
            return Err(ApiError::Unavailable(Unavailable::TooManyWatchers));
        }
        return Ok(response.finish());
    }
    let stream = state.watch.subscribe(cursor, filter).await?;
    Ok(response.streaming(stream.into_body()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_non_negative_64_bit_integers() {
        let cases = [
            ("0", Some(0), "zero replays everything"),
            ("42", Some(42), "plain"),
            (" 7 ", Some(7), "blanks trimmed"),
            ("0009", Some(9), "leading zeros"),
            ("9223372036854775807", Some(i64::MAX), "largest"),
            ("9223372036854775808", None, "beyond 2^63-1"),
            ("-1", None, "negative"),
            ("+1", None, "sign"),
            ("1.0", None, "fraction"),
            ("1e3", None, "exponent"),
            ("abc", None, "letters"),
            ("", None, "empty"),
        ];
        for (raw, expected, why) in cases {
            assert_eq!(parse_cursor(raw), expected, "{why}: {raw:?}");
        }
    }

    fn filter(query: &str) -> Result<EventFilter, String> {
        parse_filter(&QueryParams::parse(query)).map_err(|e| e.to_string())
    }

    #[test]
    fn filters_accept_exact_values_in_lists() {
        let id = Uuid::parse_str("01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a").unwrap();
        let cases = [
            ("", EventFilter::default(), "no filter"),
            ("source=&event_type=%20", EventFilter::default(), "blank values are absent"),
            (
                "source=Clusters,NodePools",
                EventFilter { sources: vec!["Clusters", "NodePools"], ..Default::default() },
                "both sources",
            ),
            (
                "source=%20NodePools%20,,NodePools",
                EventFilter { sources: vec!["NodePools"], ..Default::default() },
                "trimmed, empty items skipped, duplicates removed",
            ),
            (
                "source_id=01939F4E-8A3C-7D12-9E45-6B7C8D9E0F1A",
                EventFilter { source_id: Some(id), ..Default::default() },
                "upper-case uuid",
            ),
            (
                "event_type=Delete,Create&source=Clusters&source=bogus",
                EventFilter { sources: vec!["Clusters"], event_types: vec!["Delete", "Create"], ..Default::default() },
                "first occurrence wins",
            ),
        ];
        for (query, expected, why) in cases {
            assert_eq!(filter(query), Ok(expected), "{why}: {query}");
        }
    }

    #[test]
    fn bad_filters_are_rejected_with_their_message() {
        let source = "source must be a comma-separated list of: Clusters, NodePools";
        let source_id = "source_id must be a UUID";
        let event_type = "event_type must be a comma-separated list of: Create, Update, Delete";
        let cases = [
            ("source=clusters", source),
            ("source=Clusters,Nodes", source),
            ("source=,", source),
            ("source_id=abc", source_id),
            ("source_id=01939f4e8a3c7d129e456b7c8d9e0f1a", source_id),
            ("source_id={01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a}", source_id),
            ("event_type=create", event_type),
            ("event_type=Create;Update", event_type),
            ("source=x&source_id=y&event_type=z", source),
            ("source_id=y&event_type=z", source_id),
        ];
        for (query, message) in cases {
            assert_eq!(filter(query), Err(message.to_owned()), "{query}");
        }
    }

    #[test]
    fn filters_match_with_and_between_members_and_or_within_lists() {
        let id = Uuid::now_v7();
        let filter = EventFilter { sources: vec!["Clusters"], source_id: None, event_types: vec!["Create", "Delete"] };
        assert!(filter.matches("Clusters", id, "Create"));
        assert!(filter.matches("Clusters", id, "Delete"));
        assert!(!filter.matches("Clusters", id, "Update"));
        assert!(!filter.matches("NodePools", id, "Create"));
        let by_id = EventFilter { source_id: Some(id), ..Default::default() };
        assert!(by_id.matches("NodePools", id, "Update"));
        assert!(!by_id.matches("NodePools", Uuid::now_v7(), "Update"));
    }
}
