//! `events watch`: follows `GET /watch` (Server-Sent Events, parsed by `eventsource-stream`) and
//! prints one line per event. The cursor is always known (`--after`, else the newest event id
//! read before the stream opens), so every (re)connection sends `Last-Event-ID` and the server
//! resumes from its table without losing or repeating an event (spec §9.5). A stream that
//! ends, breaks or stays silent past `--idle-timeout` is reopened after the server's `retry:`
//! delay; only a refused request (4xx) or a failing first connection ends the command.

use std::io::Write;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::Value;

use super::args::{EventWatchArgs, OutputFormat};
use super::error::ClientError;
use super::http::{Api, V1};
use super::output::watch_line;

/// Until the server says otherwise with `retry:`; its default is the same (§9.5).
const DEFAULT_RETRY: Duration = Duration::from_secs(3);

pub async fn follow(
    api: &Api,
    args: &EventWatchArgs,
    filters: Vec<(&'static str, String)>,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<(), ClientError> {
    let stream_api = api.streaming(args.idle_timeout)?;
    let mut cursor = match args.after {
        Some(after) => after,
        None => newest_event_id(api).await?,
    };
    let mut retry = DEFAULT_RETRY;
    let mut connected = false;
    loop {
        let request = stream_api
            .request(Method::GET, &format!("{V1}/watch"))
            .query(&filters)
            .header("accept", "text/event-stream")
            .header("last-event-id", cursor.to_string());
        let interruption = match stream_api.answer(request).await {
            Ok(response) => {
                connected = true;
                let mut events = response.bytes_stream().eventsource();
                loop {
                    match events.next().await {
                        Some(Ok(event)) => {
                            if let Some(delay) = event.retry {
                                retry = delay;
                            }
                            if event.data.is_empty() {
                                continue;
                            }
                            let value: Value = serde_json::from_str(&event.data).map_err(|e| {
                                ClientError::BadAnswer(format!("an event of the watch stream is not JSON: {e}"))
                            })?;
                            out.write_all(watch_line(&value, &event.data, format)?.as_bytes())?;
                            out.flush()?;
                            if let Ok(id) = event.id.parse() {
                                cursor = id;
                            }
                        }
                        Some(Err(error)) => break format!("the stream broke ({})", innermost(&error)),
                        None => break "the server ended the stream".to_owned(),
                    }
                }
            }
            Err(ClientError::Api(failure)) if failure.status < 500 => return Err(ClientError::Api(failure)),
            Err(error) if !connected => return Err(error),
            Err(ClientError::Api(failure)) => format!("the server answered {}: {}", failure.status, failure.reason),
            Err(ClientError::Unreachable(why)) => why,
            Err(error) => return Err(error),
        };
        let _ = writeln!(
            std::io::stderr(),
            "hyperfleet: watch: {interruption}; reconnecting in {} ms after event {cursor}",
            retry.as_millis()
        );
        tokio::time::sleep(retry).await;
    }
}

/// The id of the newest event (0 when there is none): the log is never pruned (spec §9.1),
/// so with one event per page the last page holds it.
async fn newest_event_id(api: &Api) -> Result<u64, ClientError> {
    let path = format!("{V1}/events");
    let first = api.get(&path, &[("pageSize", "1".to_owned())]).await?;
    let total = first["total"].as_u64().unwrap_or_default();
    if total == 0 {
        return Ok(0);
    }
    let last = api.get(&path, &[("pageSize", "1".to_owned()), ("page", total.to_string())]).await?;
    last["items"][0]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| ClientError::BadAnswer("the last page of the event list has no event id".to_owned()))
}

fn innermost(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}
