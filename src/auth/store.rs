//! The key store (spec §12.2): keys from `--jwk-cert-file` (read at start-up) and from
//! `--jwk-cert-url` (fetched by a background task), used as one union. An unknown `kid` may
//! trigger a refresh of each source, at most once per 60 s; a failed refresh keeps the old keys.
//! The start-up read of either source does not count against that budget, so a key rotated in
//! right after start-up is found by the first token that names it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use super::jwks::{parse_jwks, Algorithm, Jwk, KeySet};

/// Shortest interval between two refreshes of one source caused by unknown `kid`s.
pub const UNKNOWN_KID_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// Retry interval of the URL until its first successful fetch.
pub const URL_RETRY_INTERVAL: Duration = Duration::from_secs(5);
/// Regular refresh interval of the URL.
pub const URL_REFRESH_INTERVAL: Duration = Duration::from_secs(3600);
const URL_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const URL_FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest JWKS document accepted from the URL.
const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// What the keys say about a token's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// No key source has delivered keys yet.
    Unavailable,
    /// The token names a `kid` that no loaded key has.
    UnknownKid,
    /// No loaded key is compatible with the token.
    NoKey,
    BadSignature,
    Verified,
}

#[derive(Default)]
struct Keys {
    file: Vec<Jwk>,
    /// `None` until the first successful fetch.
    url: Option<Vec<Jwk>>,
}

/// Limits refreshes caused by unknown `kid`s to one per [`UNKNOWN_KID_REFRESH_INTERVAL`].
#[derive(Default)]
struct RefreshBudget(Mutex<Option<Instant>>);

impl RefreshBudget {
    fn last(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn due(last: &Option<Instant>) -> bool {
        last.is_none_or(|t| t.elapsed() >= UNKNOWN_KID_REFRESH_INTERVAL)
    }

    fn is_due(&self) -> bool {
        Self::due(&self.last())
    }

    /// Claims the refresh: true (and the clock restarts) when one is due.
    fn take(&self) -> bool {
        let mut last = self.last();
        let due = Self::due(&last);
        if due {
            *last = Some(Instant::now());
        }
        due
    }
}

struct FileSource {
    path: PathBuf,
    on_unknown_kid: RefreshBudget,
}

struct UrlSource {
    url: String,
    client: reqwest::Client,
    /// Asks the background task for an immediate fetch.
    wake: Notify,
    /// Fetch attempts started, and (below) finished, successful or not.
    started: AtomicU64,
    finished: watch::Sender<u64>,
    on_unknown_kid: RefreshBudget,
}

pub struct KeyStore {
    keys: RwLock<Keys>,
    file: Option<FileSource>,
    url: Option<UrlSource>,
}

impl KeyStore {
    /// Reads the file source, if any (an unreadable or invalid file is an error), and prepares the
    /// URL source, which [`KeyStore::run_url_refresher`] fetches.
    pub fn load(file: Option<&Path>, url: Option<&str>) -> Result<KeyStore, String> {
        let mut keys = Keys::default();
        let file = match file {
            Some(path) => {
                keys.file =
                    read_file(path).map_err(|why| format!("cannot load the JWKS file {}: {why}", path.display()))?;
                tracing::info!(file = %path.display(), keys = keys.file.len(), "JWKS file loaded");
                Some(FileSource { path: path.to_owned(), on_unknown_kid: RefreshBudget::default() })
            }
            None => None,
        };
        let url = match url {
            Some(url) => {
                let client = reqwest::Client::builder()
                    .connect_timeout(URL_CONNECT_TIMEOUT)
                    .timeout(URL_FETCH_TIMEOUT)
                    .build()
                    .map_err(|e| format!("cannot create the JWKS HTTP client: {e}"))?;
                Some(UrlSource {
                    url: url.to_owned(),
                    client,
                    wake: Notify::new(),
                    started: AtomicU64::new(0),
                    finished: watch::Sender::new(0),
                    on_unknown_kid: RefreshBudget::default(),
                })
            }
            None => None,
        };
        Ok(KeyStore { keys: RwLock::new(keys), file, url })
    }

    /// Checks a signature against the loaded keys. With a `kid`, only keys with that `kid` are
    /// tried; without one, every key compatible with `alg`.
    pub fn check(&self, alg: Algorithm, kid: Option<&str>, message: &[u8], signature: &[u8]) -> KeyCheck {
        let keys = self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let url_keys = keys.url.as_deref().unwrap_or_default();
        if self.url.is_some() && keys.url.is_none() && keys.file.is_empty() {
            return KeyCheck::Unavailable;
        }
        let all = keys.file.iter().chain(url_keys);
        let mut candidates = match kid {
            Some(kid) => {
                let named: Vec<&Jwk> = all.filter(|k| k.kid.as_deref() == Some(kid)).collect();
                if named.is_empty() {
                    return KeyCheck::UnknownKid;
                }
                named
            }
            None => all.collect(),
        };
        candidates.retain(|k| k.accepts(alg));
        if candidates.is_empty() {
            KeyCheck::NoKey
        } else if candidates.iter().any(|k| k.verify(message, signature)) {
            KeyCheck::Verified
        } else {
            KeyCheck::BadSignature
        }
    }

    /// Whether an unknown `kid` would refresh a source now (each at most once per 60 s).
    pub fn refresh_due(&self) -> bool {
        self.file.as_ref().is_some_and(|source| source.on_unknown_kid.is_due())
            || self.url.as_ref().is_some_and(|source| source.on_unknown_kid.is_due())
    }

    /// After an unknown `kid`, refreshes each source whose 60 s have passed: re-reads the file
    /// (off the request's thread) and has the background task fetch the URL, waiting for it.
    pub async fn refresh_on_unknown_kid(&self) {
        self.reload_file_if_due().await;
        self.refresh_url_if_due().await;
    }

    /// A bad file keeps the old keys.
    async fn reload_file_if_due(&self) {
        let Some(source) = &self.file else { return };
        if !source.on_unknown_kid.take() {
            return;
        }
        let path = source.path.clone();
        let read = tokio::task::spawn_blocking(move || read_file(&path))
            .await
            .unwrap_or_else(|e| Err(format!("the read did not finish: {e}")));
        match read {
            Ok(keys) => {
                tracing::info!(file = %source.path.display(), keys = keys.len(), "JWKS file reloaded");
                self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner()).file = keys;
            }
            Err(why) => {
                tracing::warn!(file = %source.path.display(), error = %why, "JWKS file reload failed; keeping the old keys")
            }
        }
    }

    async fn refresh_url_if_due(&self) {
        let Some(source) = &self.url else { return };
        if !source.on_unknown_kid.take() {
            return;
        }
        // A fetch already under way may have started before the key was published: wait for the
        // next one, which the wake-up below makes sure of.
        let awaited = source.started.load(Ordering::SeqCst) + 1;
        let mut finished = source.finished.subscribe();
        source.wake.notify_one();
        // Bounded by the fetch timeout, with some margin; a hung fetch never holds a request longer.
        let _ =
            tokio::time::timeout(URL_FETCH_TIMEOUT + URL_CONNECT_TIMEOUT, finished.wait_for(|n| *n >= awaited)).await;
    }

    /// Fetches the URL source: at once, then every 5 s until the first success, then hourly and
    /// whenever an unknown `kid` asks for it. Runs until aborted; returns at once without a URL.
    pub async fn run_url_refresher(self: Arc<Self>) {
        let Some(source) = &self.url else { return };
        loop {
            source.started.fetch_add(1, Ordering::SeqCst);
            let loaded = match fetch(source).await {
                Ok(set) => {
                    log_skipped(&set);
                    tracing::info!(url = %source.url, keys = set.keys.len(), "JWKS fetched");
                    self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner()).url = Some(set.keys);
                    true
                }
                Err(why) => {
                    let keys = self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner());
                    if keys.url.is_some() {
                        tracing::warn!(url = %source.url, error = %why, "JWKS refresh failed; keeping the old keys");
                    } else {
                        tracing::warn!(url = %source.url, error = %why, "JWKS fetch failed; retrying in 5 s");
                    }
                    keys.url.is_some()
                }
            };
            source.finished.send_modify(|n| *n += 1);
            let wait = if loaded { URL_REFRESH_INTERVAL } else { URL_RETRY_INTERVAL };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = source.wake.notified() => {}
            }
        }
    }
}

#[cfg(test)]
impl KeyStore {
    /// When the file was last re-read for an unknown `kid`, for tests that move it back in time.
    pub fn file_reloaded_at(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.file.as_ref().expect("a file source").on_unknown_kid.0.lock().unwrap()
    }
}

fn log_skipped(set: &KeySet) {
    for line in &set.skipped {
        tracing::warn!("JWKS {line}");
    }
}

fn read_file(path: &Path) -> Result<Vec<Jwk>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let set = parse_jwks(&bytes)?;
    log_skipped(&set);
    Ok(set.keys)
}

async fn fetch(source: &UrlSource) -> Result<KeySet, String> {
    let mut response = source.client.get(&source.url).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP status {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(format!("the document is larger than {MAX_JWKS_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    parse_jwks(&body)
}
