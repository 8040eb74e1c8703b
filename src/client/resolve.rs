//! `ID|NAME` arguments. An argument in UUID form (8-4-4-4-12 hex, spec §2.1) is an id and
//! is used as it is; anything else is a name, looked up with `search=name='…'`. A name that
//! matches nothing, or more than one resource, is an error (exit 1).

use serde_json::Value;

use super::error::ClientError;
use super::http::{Api, V1};

/// A resource named on the command line: its API path, and the object itself when the lookup
/// already fetched it.
pub struct Found {
    pub href: String,
    pub object: Option<Value>,
}

impl Found {
    /// The resource itself, fetched unless the lookup already did.
    pub async fn fetch(self, api: &Api) -> Result<Value, ClientError> {
        match self.object {
            Some(object) => Ok(object),
            None => api.get(&self.href, &[]).await,
        }
    }
}

/// The 36-character hyphenated form the API uses for ids, in either letter case.
pub fn looks_like_id(value: &str) -> bool {
    value.len() == 36
        && value.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A string literal of the search language: single quotes, a quote inside written twice (§6.3.5).
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

pub async fn cluster(api: &Api, argument: &str) -> Result<Found, ClientError> {
    if looks_like_id(argument) {
        return Ok(Found { href: format!("{V1}/clusters/{}", argument.to_ascii_lowercase()), object: None });
    }
    let cluster = find_one(api, &format!("{V1}/clusters"), "name", argument).await?;
    match cluster {
        Matches::One(object) => found(object),
        Matches::None => Err(ClientError::Usage(format!("no cluster is named '{argument}'"))),
        Matches::Many(n) => Err(ClientError::Usage(format!("{n} clusters are named '{argument}'; use an id"))),
    }
}

/// A node pool, within `cluster` when it is given, else among the node pools of every cluster.
pub async fn nodepool(api: &Api, cluster: Option<&str>, argument: &str) -> Result<Found, ClientError> {
    let field = if looks_like_id(argument) { "id" } else { "name" };
    let (matches, scope) = match cluster {
        Some(cluster_argument) => {
            let parent = self::cluster(api, cluster_argument).await?;
            if field == "id" {
                let href = format!("{}/nodepools/{}", parent.href, argument.to_ascii_lowercase());
                return Ok(Found { href, object: None });
            }
            let matches = find_one(api, &format!("{}/nodepools", parent.href), field, argument).await?;
            (matches, format!(" in cluster '{cluster_argument}'"))
        }
        None => (find_one(api, &format!("{V1}/nodepools"), field, argument).await?, String::new()),
    };
    match matches {
        Matches::One(object) => found(object),
        Matches::None if field == "id" => Err(ClientError::Usage(format!("no node pool has the id '{argument}'"))),
        Matches::None => Err(ClientError::Usage(format!("no node pool is named '{argument}'{scope}"))),
        Matches::Many(n) => Err(ClientError::Usage(format!(
            "{n} node pools are named '{argument}' (in different clusters); name the cluster with --cluster"
        ))),
    }
}

enum Matches {
    None,
    One(Value),
    Many(u64),
}

/// The items of the list at `path` whose `field` equals `value`: two are enough to know.
async fn find_one(api: &Api, path: &str, field: &str, value: &str) -> Result<Matches, ClientError> {
    let query = [("search", format!("{field}={}", quote(value))), ("pageSize", "2".to_owned())];
    let list = api.get(path, &query).await?;
    let total = list["total"].as_u64().unwrap_or_default();
    Ok(match (total, list["items"].as_array().and_then(|items| items.first())) {
        (0, _) | (_, None) => Matches::None,
        (1, Some(item)) => Matches::One(item.clone()),
        (n, Some(_)) => Matches::Many(n),
    })
}

fn found(object: Value) -> Result<Found, ClientError> {
    match object["href"].as_str() {
        Some(href) => Ok(Found { href: href.to_owned(), object: Some(object) }),
        None => Err(ClientError::BadAnswer("a listed resource has no href".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_recognised_in_the_hyphenated_form_only() {
        assert!(looks_like_id("01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1a"));
        assert!(looks_like_id("01939F4E-8A3C-7D12-9E45-6B7C8D9E0F1A"));
        for name in [
            "prod-1",
            "01939f4e8a3c7d129e456b7c8d9e0f1a",
            "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1",
            "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1g",
            "{01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1}",
            "01939f4e-8a3c-7d12-9e45-6b7c8d9e0f1ä",
        ] {
            assert!(!looks_like_id(name), "{name}");
        }
    }

    #[test]
    fn quotes_inside_names_are_doubled() {
        assert_eq!(quote("prod"), "'prod'");
        assert_eq!(quote("o'neil"), "'o''neil'");
        assert_eq!(quote("''"), "''''''");
    }
}
