//! JWT authentication (spec §12): tokens signed in the test with generated RSA and P-256
//! keys, served from a JWKS file or from a local HTTP server.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hyperfleet::startup::Application;
use hyperfleet::MIGRATOR;
use once_cell::sync::Lazy;
use reqwest::Method;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use rsa::pkcs1v15::SigningKey;
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{assert_error, settings_from_flags, Answer, TestApp};

const CLUSTERS: &str = "/api/hyperfleet/v1/clusters";
const REALM: &str = "Bearer realm=\"hyperfleet/v1\"";
const MISSING: &str = "Request doesn't contain the 'Authorization' header";

/// One 2048-bit RSA key per test binary: generating it is the slow part.
static RSA_KEY: Lazy<RsaPrivateKey> = Lazy::new(|| RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap());

pub(crate) enum Key {
    Rsa(&'static str),
    Ec(&'static str, Box<EcdsaKeyPair>),
}

impl Key {
    pub(crate) fn ec(kid: &'static str) -> Key {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        Key::Ec(
            kid,
            Box::new(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()),
        )
    }

    fn jwk(&self) -> Value {
        match self {
            Key::Rsa(kid) => json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": B64.encode(RSA_KEY.n().to_bytes_be()), "e": B64.encode(RSA_KEY.e().to_bytes_be())}),
            Key::Ec(kid, pair) => {
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "kid": kid,
                       "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])})
            }
        }
    }

    fn sign_with_header(&self, header: Value, claims: &Value) -> String {
        let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
        let signature = match self {
            Key::Rsa(_) => SigningKey::<Sha256>::new(RSA_KEY.clone()).sign(input.as_bytes()).to_vec(),
            Key::Ec(_, pair) => pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap().as_ref().to_vec(),
        };
        format!("{input}.{}", B64.encode(signature))
    }

    pub(crate) fn sign(&self, claims: &Value) -> String {
        match self {
            Key::Rsa(kid) => self.sign_with_header(json!({"alg": "RS256", "kid": kid, "typ": "JWT"}), claims),
            Key::Ec(kid, _) => self.sign_with_header(json!({"alg": "ES256", "kid": kid}), claims),
        }
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

pub(crate) fn claims() -> Value {
    json!({"sub": "subject-1", "email": "alice@example.com", "exp": now() + 300, "iat": now(),
           "iss": "https://sso.example.com", "aud": ["account", "hyperfleet"]})
}

fn with(mut base: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            base.as_object_mut().unwrap().remove(name);
        } else {
            base[name] = value.clone();
        }
    }
    base
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hyperfleet-auth-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) async fn spawn_with_file(pool: PgPool, keys: &[&Key]) -> TestApp {
    let path = temp_dir().join("jwks.json");
    let keys: Vec<Value> = keys.iter().map(|k| k.jwk()).collect();
    std::fs::write(&path, json!({"keys": keys}).to_string()).unwrap();
    let file = format!("--jwk-cert-file={}", path.display());
    let flags = ["--enable-jwt=true", &file, "--jwt-issuer=https://sso.example.com", "--jwt-audience=hyperfleet"];
    TestApp::spawn_with(pool, &flags).await
}

async fn send(app: &TestApp, method: Method, path: &str, authorization: Option<&str>, body: Option<String>) -> Answer {
    let mut request = app.client.request(method, app.url(path));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    Answer::of(request.send().await.unwrap()).await
}

#[track_caller]
fn assert_unauthenticated(answer: &Answer, reason: &str) {
    assert_error(answer, 401, 15, reason);
    assert_eq!(answer.header("www-authenticate"), Some(REALM), "{reason}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn valid_rs256_and_es256_tokens_are_accepted_and_name_the_creator(pool: PgPool) {
    let (rsa, ec) = (Key::Rsa("rsa-1"), Key::ec("ec-1"));
    let app = spawn_with_file(pool, &[&rsa, &ec]).await;
    for (key, name) in [(&rsa, "rsa-cluster"), (&ec, "ec-cluster")] {
        let token = key.sign(&claims());
        let body = json!({"kind": "Cluster", "name": name, "spec": {}}).to_string();
        let answer = send(&app, Method::POST, CLUSTERS, Some(&format!("Bearer {token}")), Some(body)).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        assert_eq!(answer.body["created_by"], "alice@example.com");
        assert_eq!(answer.body["updated_by"], "alice@example.com");
        let list = send(&app, Method::GET, CLUSTERS, Some(&format!("bearer {token}")), None).await;
        assert_eq!(list.status, 200, "{}", list.text);
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_failed_check_is_a_401_with_its_reason(pool: PgPool) {
    let key = Key::ec("ec-1");
    let app = spawn_with_file(pool, &[&key]).await;
    let bearer = |claims: Value| format!("Bearer {}", key.sign(&claims));
    let payload = B64.encode(claims().to_string());
    let long = "x".repeat(256);
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("1 no header", None, MISSING),
        ("2 no credentials", Some("Bearer".into()), "Authorization header is malformed"),
        ("2 empty", Some(String::new()), "Authorization header is malformed"),
        ("2 no separator", Some(format!("Bearer{}", key.sign(&claims()))), "Authorization header is malformed"),
        ("3 other scheme", Some("Basic dXNlcjpwYXNz".into()), "Authentication type 'Basic' isn't supported"),
        ("4 not a JWS", Some("Bearer abc.def".into()), "Bearer token is malformed"),
        ("4 garbage", Some(format!("Bearer {}", "!".repeat(4000))), "Bearer token is malformed"),
        ("4 huge", Some(format!("Bearer {}", "A".repeat(48 * 1024))), "Bearer token is malformed"),
        (
            "4 payload not JSON",
            Some(format!("Bearer {}.bm9wZQ.", B64.encode(r#"{"alg":"ES256"}"#))),
            "Bearer token is malformed",
        ),
        (
            "5 alg none",
            Some(format!("Bearer {}.{payload}.", B64.encode(r#"{"alg":"none"}"#))),
            "Bearer token signature algorithm 'none' isn't supported",
        ),
        (
            "5 HS256",
            Some(format!("Bearer {}.{payload}.c2lnbmF0dXJl", B64.encode(r#"{"alg":"HS256"}"#))),
            "Bearer token signature algorithm 'HS256' isn't supported",
        ),
        (
            "6 unknown kid",
            Some(format!("Bearer {}", Key::ec("other").sign(&claims()))),
            "Bearer token can't be verified",
        ),
        (
            "7 bad signature",
            Some(format!("Bearer {}", Key::ec("ec-1").sign(&claims()))),
            "Signature of bearer token isn't valid",
        ),
        (
            "8 no exp",
            Some(bearer(with(claims(), json!({"exp": null})))),
            "Bearer token doesn't contain required claim 'exp'",
        ),
        ("9 expired", Some(bearer(with(claims(), json!({"exp": now() - 120})))), "Bearer token is expired"),
        ("10 not yet valid", Some(bearer(with(claims(), json!({"nbf": now() + 120})))), "Bearer token isn't valid yet"),
        ("10 issued later", Some(bearer(with(claims(), json!({"iat": now() + 120})))), "Bearer token isn't valid yet"),
        ("11 typ", Some(bearer(with(claims(), json!({"typ": "ID"})))), "Bearer token type 'ID' isn't supported"),
        (
            "12 issuer",
            Some(bearer(with(claims(), json!({"iss": "https://evil"})))),
            "Bearer token issuer isn't accepted",
        ),
        (
            "13 audience string",
            Some(bearer(with(claims(), json!({"aud": "other"})))),
            "Bearer token audience isn't accepted",
        ),
        (
            "13 audience array",
            Some(bearer(with(claims(), json!({"aud": ["a", "b"]})))),
            "Bearer token audience isn't accepted",
        ),
        (
            "14 no identity",
            Some(bearer(with(claims(), json!({"sub": null, "email": null})))),
            "Bearer token doesn't contain an identity claim (email, preferred_username or sub)",
        ),
        (
            "15 identity too long",
            Some(bearer(with(claims(), json!({"email": long})))),
            "Bearer token identity claim is invalid",
        ),
        (
            "15 identity with a control character",
            Some(bearer(with(claims(), json!({"email": "alice\u{1b}[31m@example.com"})))),
            "Bearer token identity claim is invalid",
        ),
    ];
    for (name, header, reason) in cases {
        let answer = send(&app, Method::GET, CLUSTERS, header.as_deref(), None).await;
        assert_eq!(answer.status, 401, "{name}: {}", answer.text);
        assert_unauthenticated(&answer, reason);
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn rs256_tokens_without_kid_verify_and_altered_ones_do_not(pool: PgPool) {
    let (rsa, ec) = (Key::Rsa("rsa-1"), Key::ec("ec-1"));
    let app = spawn_with_file(pool, &[&ec, &rsa]).await;
    let token = rsa.sign_with_header(json!({"alg": "RS256"}), &claims());
    let answer = send(&app, Method::GET, CLUSTERS, Some(&format!("Bearer {token}")), None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    // The same claims with one more member, under the original signature.
    let (input, signature) = token.rsplit_once('.').unwrap();
    let (header, _) = input.split_once('.').unwrap();
    let altered = B64.encode(with(claims(), json!({"email": "mallory@example.com"})).to_string());
    let forged = format!("Bearer {header}.{altered}.{signature}");
    assert_unauthenticated(
        &send(&app, Method::GET, CLUSTERS, Some(&forged), None).await,
        "Signature of bearer token isn't valid",
    );
    // An RS256 token naming the EC key's kid has no key to be checked with.
    let mismatched = rsa.sign_with_header(json!({"alg": "RS256", "kid": "ec-1"}), &claims());
    assert_unauthenticated(
        &send(&app, Method::GET, CLUSTERS, Some(&format!("Bearer {mismatched}")), None).await,
        "Bearer token can't be verified",
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_header_that_is_not_utf8_is_malformed(pool: PgPool) {
    let key = Key::ec("ec-1");
    let app = spawn_with_file(pool, &[&key]).await;
    let value = reqwest::header::HeaderValue::from_bytes(b"Bearer \xe9t\xe9").unwrap();
    let response = app.client.get(app.url(CLUSTERS)).header("Authorization", value).send().await.unwrap();
    assert_unauthenticated(&Answer::of(response).await, "Authorization header is malformed");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_identity_claim_is_written_to_created_by_updated_by_and_deleted_by(pool: PgPool) {
    let key = Key::ec("ec-1");
    let app = spawn_with_file(pool.clone(), &[&key]).await;
    let as_user = |changes: Value| format!("Bearer {}", key.sign(&with(claims(), changes)));
    let body = json!({"kind": "Cluster", "name": "owned", "spec": {}}).to_string();
    let created = send(&app, Method::POST, CLUSTERS, Some(&as_user(json!({}))), Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["created_by"], "alice@example.com");
    let path = format!("{CLUSTERS}/{}", created.body["id"].as_str().unwrap());

    // Without email, preferred_username is next; an empty string does not count.
    let editor = as_user(json!({"email": "", "preferred_username": "bob"}));
    let patched = send(&app, Method::PATCH, &path, Some(&editor), Some(r#"{"labels":{"a":"b"}}"#.into())).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["created_by"], "alice@example.com");
    assert_eq!(patched.body["updated_by"], "bob");

    let deleter = as_user(json!({"email": null}));
    let deleted = send(&app, Method::DELETE, &path, Some(&deleter), None).await;
    assert!(deleted.status < 300, "{}", deleted.text);
    let id = uuid::Uuid::parse_str(created.body["id"].as_str().unwrap()).unwrap();
    let deleted_by: Option<String> =
        sqlx::query_scalar("SELECT deleted_by FROM clusters WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
    assert_eq!(deleted_by.as_deref(), Some("subject-1"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_key_added_to_the_file_after_start_up_is_found_by_the_first_token_naming_it(pool: PgPool) {
    let (old, new) = (Key::ec("old"), Key::Rsa("new"));
    let dir = temp_dir();
    let path = dir.join("jwks.json");
    std::fs::write(&path, json!({"keys": [old.jwk()]}).to_string()).unwrap();
    let file = format!("--jwk-cert-file={}", path.display());
    let app = TestApp::spawn_with(pool, &["--enable-jwt=true", &file]).await;
    let new_token = format!("Bearer {}", new.sign(&claims()));

    std::fs::write(&path, json!({"keys": [old.jwk(), new.jwk()]}).to_string()).unwrap();
    let answer = send(&app, Method::GET, CLUSTERS, Some(&new_token), None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    // The file was just read: a kid added now is not looked for again within the minute.
    let newest = Key::ec("newest");
    std::fs::write(&path, json!({"keys": [old.jwk(), new.jwk(), newest.jwk()]}).to_string()).unwrap();
    let answer = send(&app, Method::GET, CLUSTERS, Some(&format!("Bearer {}", newest.sign(&claims()))), None).await;
    assert_unauthenticated(&answer, "Bearer token can't be verified");
    let answer = send(&app, Method::GET, CLUSTERS, Some(&format!("Bearer {}", old.sign(&claims()))), None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_token_refused_after_a_key_refresh_still_wins_over_an_oversized_body(pool: PgPool) {
    let key = Key::ec("ec-1");
    let app = spawn_with_file(pool, &[&key]).await;
    // The first unknown kid re-reads the file before the verdict; the body waits for it.
    let stranger = format!("Bearer {}", Key::ec("stranger").sign(&claims()));
    let huge = "x".repeat(2 * 1024 * 1024);
    let answer = send(&app, Method::POST, CLUSTERS, Some(&stranger), Some(huge.clone())).await;
    assert_unauthenticated(&answer, "Bearer token can't be verified");
    let answer = send(&app, Method::POST, CLUSTERS, Some(&stranger), Some(huge.clone())).await;
    assert_unauthenticated(&answer, "Bearer token can't be verified");
    // An authenticated caller gets the body's own error.
    let valid = format!("Bearer {}", key.sign(&claims()));
    assert_error(
        &send(&app, Method::POST, CLUSTERS, Some(&valid), Some(huge)).await,
        413,
        18,
        "Request body is larger than 1048576 bytes",
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn authentication_comes_after_routing_and_before_the_body(pool: PgPool) {
    let key = Key::ec("ec-1");
    let app = spawn_with_file(pool, &[&key]).await;
    assert_eq!(send(&app, Method::GET, "/api/hyperfleet/v1/nope", None, None).await.status, 404);
    assert_eq!(send(&app, Method::PUT, CLUSTERS, None, None).await.status, 405);
    let huge = "x".repeat(2 * 1024 * 1024);
    assert_unauthenticated(&send(&app, Method::POST, CLUSTERS, None, Some(huge)).await, MISSING);
    assert_unauthenticated(&send(&app, Method::POST, CLUSTERS, None, Some("{".into())).await, MISSING);
    for path in ["/api/hyperfleet/v1/compatibility", "/api/hyperfleet/v1/events", "/api/hyperfleet/v1/nodepools"] {
        assert_unauthenticated(&send(&app, Method::GET, path, None, None).await, MISSING);
    }
    for path in [
        "/api/hyperfleet",
        "/api/hyperfleet/v1/openapi",
        "/openapi",
        "/api/hyperfleet/v1/asyncapi",
        "/api/hyperfleet/v1/openapi.html",
        "/openapi-ui",
    ] {
        let answer = send(&app, Method::GET, path, Some("Basic nope"), None).await;
        assert_eq!(answer.status, 200, "{path} is public");
        assert_eq!(send(&app, Method::HEAD, path, None, None).await.status, 200, "HEAD {path} is public");
    }
    let asset = send(&app, Method::GET, "/api/hyperfleet/v1/swagger-ui/swagger-ui.css", None, None).await;
    assert_eq!(asset.status, 200, "Swagger UI assets are public");
    let missing_asset = send(&app, Method::GET, "/api/hyperfleet/v1/swagger-ui/nope.js", Some("Bearer x"), None).await;
    assert_eq!(missing_asset.status, 404, "{}", missing_asset.text);
    for path in [CLUSTERS, "/api/hyperfleet/v1/watch", "/api/hyperfleet/v1/clusters/abc/statuses"] {
        let answer = send(&app, Method::OPTIONS, path, Some("Bearer garbage"), None).await;
        assert_eq!(answer.status, 204, "OPTIONS {path} is public");
    }
    for path in ["/api/hyperfleet/v1/watch", "/api/hyperfleet/v1/clusters/abc/statuses"] {
        assert_unauthenticated(&send(&app, Method::GET, path, None, None).await, MISSING);
    }
    let status = json!({"adapter": "a"}).to_string();
    let answer = send(&app, Method::POST, "/api/hyperfleet/v1/clusters/abc/statuses", None, Some(status)).await;
    assert_unauthenticated(&answer, MISSING);
    let patch = send(&app, Method::PATCH, &format!("{CLUSTERS}/abc"), Some("Basic x"), Some("[".repeat(5000))).await;
    assert_unauthenticated(&patch, "Authentication type 'Basic' isn't supported");
    // The health and metrics servers never authenticate.
    for url in [format!("{}/healthz", app.health_address), format!("{}/metrics", app.metrics_address)] {
        let response = app.client.get(&url).header("Authorization", "Basic nope").send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn with_authentication_off_the_header_is_ignored(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let body = json!({"kind": "Cluster", "name": "open", "spec": {}}).to_string();
    let answer = send(&app, Method::POST, CLUSTERS, Some("Basic garbage"), Some(body)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.body["created_by"], "system");
}

#[test]
fn serve_with_a_bad_jwks_file_exits_1_naming_the_file() {
    let dir = temp_dir();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"keys": "none"}"#).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hyperfleet"))
        .args([
            "serve",
            &format!("--jwk-cert-file={}", bad.display()),
            "--api-server-bindaddress=127.0.0.1:0",
            "--metrics-server-bindaddress=127.0.0.1:0",
            "--health-check-server-bindaddress=127.0.0.1:0",
            "--database-url=postgres://u@127.0.0.1:1/db",
        ])
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = format!("hyperfleet: error: cannot load the JWKS file {}: 'keys' is not an array", bad.display());
    assert!(stderr.lines().any(|l| l == line), "{stderr}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_bad_jwks_file_stops_start_up(pool: PgPool) {
    let dir = temp_dir();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "not json").unwrap();
    for file in [bad, dir.join("missing.json")] {
        let file = file.display().to_string();
        let settings = settings_from_flags(&["--enable-jwt=true", &format!("--jwk-cert-file={file}")]);
        let error =
            Application::build_with_pool(settings, pool.clone(), Vec::new()).await.err().expect("start-up fails");
        assert!(error.to_string().starts_with(&format!("cannot load the JWKS file {file}: ")), "{error}");
    }
}

/// A JWKS server answering every request with the current document, or never while it is None.
async fn jwks_server(document: Arc<Mutex<Option<String>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let document = Arc::clone(&document);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let body = document.lock().unwrap().clone();
                match body {
                    Some(body) => {
                        let response = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = socket.write_all(response.as_bytes()).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(3600)).await,
                }
            });
        }
    });
    format!("http://{address}/jwks")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn url_keys_are_unavailable_until_fetched_and_rotation_is_picked_up_on_unknown_kid(pool: PgPool) {
    let (old, new) = (Key::ec("old"), Key::Rsa("new"));
    let document = Arc::new(Mutex::new(None));
    let url = jwks_server(Arc::clone(&document)).await;
    let app = TestApp::spawn_with(pool, &["--enable-jwt=true", &format!("--jwk-cert-url={url}")]).await;
    let old_token = format!("Bearer {}", old.sign(&claims()));
    let answer = send(&app, Method::GET, CLUSTERS, Some(&old_token), None).await;
    assert_error(&answer, 503, 90, "Token signing keys are not available; retry later");
    assert_eq!(answer.header("retry-after"), Some("1"));
    // Checks 1 to 5 need no keys, so they still answer 401.
    assert_unauthenticated(&send(&app, Method::GET, CLUSTERS, None, None).await, MISSING);
    let hs256 = format!("Bearer {}.{}.c2ln", B64.encode(r#"{"alg":"HS256"}"#), B64.encode("{}"));
    assert_unauthenticated(
        &send(&app, Method::GET, CLUSTERS, Some(&hs256), None).await,
        "Bearer token signature algorithm 'HS256' isn't supported",
    );
    assert_eq!(send(&app, Method::GET, "/api/hyperfleet", None, None).await.status, 200);

    // The server starts answering; the next retry (within about 5 s + the fetch timeout) loads the keys.
    *document.lock().unwrap() = Some(json!({"keys": [old.jwk()]}).to_string());
    let mut status = 0;
    for _ in 0..150 {
        status = send(&app, Method::GET, CLUSTERS, Some(&old_token), None).await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "keys are loaded after a retry");

    // Rotation: a token naming a new kid makes the store fetch again, and the body waits for it.
    *document.lock().unwrap() = Some(json!({"keys": [old.jwk(), new.jwk()]}).to_string());
    let new_token = format!("Bearer {}", new.sign(&claims()));
    let body = json!({"kind": "Cluster", "name": "rotated", "spec": {}}).to_string();
    let answer = send(&app, Method::POST, CLUSTERS, Some(&new_token), Some(body)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.body["created_by"], "alice@example.com");
}
