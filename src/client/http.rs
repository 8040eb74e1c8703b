//! The client's HTTP calls (reqwest with rustls): the bearer token on every request, 2xx bodies
//! decoded as JSON, error answers turned into [`ClientError`]s carrying the error body's
//! `reason` and `details` (spec §5.1).

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

use super::args::ConnectionArgs;
use super::error::{ApiFailure, ClientError};

/// Where every resource path lives (spec §2.7).
pub const V1: &str = "/api/hyperfleet/v1";

pub struct Api {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
    timeout: Duration,
}

/// A successful answer: its status and its JSON body (`None` when the body is empty, as for 204).
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
}

impl Api {
    pub fn new(connection: &ConnectionArgs) -> Result<Api, ClientError> {
        let builder = reqwest::Client::builder().timeout(connection.request_timeout);
        Ok(Api {
            client: build(builder, connection.request_timeout)?,
            base: connection.server.as_str().trim_end_matches('/').to_owned(),
            token: connection.token.as_ref().map(|t| t.0.clone()).filter(|t| !t.is_empty()),
            timeout: connection.request_timeout,
        })
    }

    /// The same server and token on a client for long-lived streams: no overall deadline, only
    /// one for connecting and one between two reads.
    pub fn streaming(&self, idle: Duration) -> Result<Api, ClientError> {
        let builder = reqwest::Client::builder().read_timeout(idle);
        Ok(Api {
            client: build(builder, self.timeout)?,
            base: self.base.clone(),
            token: self.token.clone(),
            timeout: self.timeout,
        })
    }

    /// A request to `path` (absolute, starting with `/api/…`) with the token attached.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.client.request(method, format!("{}{}", self.base, path));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends the request and returns the 2xx answer, or the error the answer stands for.
    pub async fn send(&self, request: RequestBuilder) -> Result<Reply, ClientError> {
        let response = self.answer(request).await?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        if bytes.is_empty() {
            return Ok(Reply { status, body: None });
        }
        let body = serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::BadAnswer(format!("the server's answer ({status}) is not JSON: {e}")))?;
        Ok(Reply { status, body: Some(body) })
    }

    /// The response of a request whose status is 2xx; any other status becomes an error.
    pub async fn answer(&self, request: RequestBuilder) -> Result<Response, ClientError> {
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(failure(response).await)
        }
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ClientError> {
        let reply = self.send(self.request(Method::GET, path).query(query)).await?;
        reply.body.ok_or_else(|| ClientError::BadAnswer(format!("the server's answer to GET {path} has no body")))
    }

    /// `POST`/`PATCH` with a JSON body.
    pub async fn write(&self, method: Method, path: &str, body: &Value) -> Result<Reply, ClientError> {
        let request = self.request(method, path).header("content-type", "application/json").body(body.to_string());
        self.send(request).await
    }

    /// Why no answer came, naming the server and the innermost cause ("Connection refused").
    pub fn unreachable(&self, error: &reqwest::Error) -> ClientError {
        if error.is_timeout() {
            return ClientError::Unreachable(format!(
                "no answer from {} within {}",
                self.base,
                humantime(self.timeout)
            ));
        }
        let mut cause: &dyn std::error::Error = error;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        ClientError::Unreachable(format!("cannot reach the server at {}: {cause}", self.base))
    }
}

fn build(builder: reqwest::ClientBuilder, connect_timeout: Duration) -> Result<reqwest::Client, ClientError> {
    builder
        .connect_timeout(connect_timeout)
        .user_agent(concat!("hyperfleet-cli/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ClientError::Usage(format!("cannot set up the HTTP client: {e}")))
}

/// The error an unsuccessful answer stands for: the API's error body when there is one, else the
/// status line and the start of whatever came (a proxy's HTML page, say).
async fn failure(response: Response) -> ClientError {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let body: Option<Value> = serde_json::from_str(&text).ok();
    let reason = body.as_ref().and_then(|b| b["reason"].as_str()).filter(|r| !r.is_empty());
    let failure = match reason {
        Some(reason) => ApiFailure {
            status: status.as_u16(),
            code: body.as_ref().and_then(|b| b["code"].as_str()).map(str::to_owned),
            reason: reason.to_owned(),
            details: body
                .as_ref()
                .and_then(|b| b["details"].as_array())
                .map(|details| {
                    details
                        .iter()
                        .map(|d| {
                            let text = |key: &str| d[key].as_str().unwrap_or_default().to_owned();
                            (text("field"), text("error"))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        },
        None => {
            let excerpt: String = text.lines().next().unwrap_or_default().chars().take(200).collect();
            let reason = match (status.canonical_reason(), excerpt.trim()) {
                (Some(name), "") => name.to_owned(),
                (Some(name), excerpt) => format!("{name}: {excerpt}"),
                (None, excerpt) => excerpt.to_owned(),
            };
            ApiFailure { status: status.as_u16(), code: None, reason, details: Vec::new() }
        }
    };
    ClientError::Api(failure)
}

/// `30s`, `1500ms`, `2m`: the flag syntax back.
fn humantime(duration: Duration) -> String {
    let ms = duration.as_millis();
    match ms {
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms % 1_000 == 0 => format!("{}s", ms / 1_000),
        ms => format!("{ms}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_printed_in_the_flag_syntax() {
        assert_eq!(humantime(Duration::from_secs(30)), "30s");
        assert_eq!(humantime(Duration::from_secs(120)), "2m");
        assert_eq!(humantime(Duration::from_millis(1500)), "1500ms");
    }
}
