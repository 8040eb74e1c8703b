//! Bearer token verification: the 15 checks of spec §12.3, in their order, each with its
//! exact 401 reason, and the identity claim of §12.5. The compact JWS is parsed here rather than
//! by a JWT library so that the order of the checks and their messages are ours to define.

use std::sync::Arc;

use base64::Engine;
use serde_json::{Map, Value};

use super::jwks::Algorithm;
use super::store::{KeyCheck, KeyStore};
use super::BASE64URL;
use crate::error::cut_quoted;

/// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECONDS: f64 = 60.0;
/// Longest identity accepted, in characters (the `created_by` column's limit).
pub const MAX_IDENTITY_CHARS: usize = 255;

pub const MISSING_HEADER: &str = "Request doesn't contain the 'Authorization' header";
pub const MALFORMED_HEADER: &str = "Authorization header is malformed";
pub const MALFORMED_TOKEN: &str = "Bearer token is malformed";
pub const NO_KEY: &str = "Bearer token can't be verified";
pub const BAD_SIGNATURE: &str = "Signature of bearer token isn't valid";
pub const NO_EXP: &str = "Bearer token doesn't contain required claim 'exp'";
pub const EXPIRED: &str = "Bearer token is expired";
pub const NOT_YET_VALID: &str = "Bearer token isn't valid yet";
pub const WRONG_ISSUER: &str = "Bearer token issuer isn't accepted";
pub const WRONG_AUDIENCE: &str = "Bearer token audience isn't accepted";
pub const NO_IDENTITY: &str = "Bearer token doesn't contain an identity claim (email, preferred_username or sub)";
pub const BAD_IDENTITY: &str = "Bearer token identity claim is invalid";

/// Claims that name the caller, in order of preference.
const IDENTITY_CLAIMS: [&str; 3] = ["email", "preferred_username", "sub"];

/// Why a protected request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// 401 with this reason.
    Unauthenticated(String),
    /// 503: no key source has delivered keys yet.
    KeysUnavailable,
}

fn refuse<T>(reason: impl Into<String>) -> Result<T, AuthError> {
    Err(AuthError::Unauthenticated(reason.into()))
}

/// A token that passed checks 1–5.
#[derive(Debug, Clone)]
pub struct Token {
    alg: Algorithm,
    kid: Option<String>,
    signing_input: String,
    signature: Vec<u8>,
    claims: Map<String, Value>,
}

/// The result of [`Verifier::authenticate`]: decided with the loaded keys, or waiting for a
/// refresh of the URL source because the token names an unknown `kid`.
#[derive(Debug)]
pub enum Outcome {
    Decided(Result<String, AuthError>),
    NeedsRefresh(Token),
}

/// Verifies bearer tokens against the key store and the configured issuer and audience.
pub struct Verifier {
    keys: Arc<KeyStore>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl Verifier {
    pub fn new(keys: Arc<KeyStore>, issuer: Option<String>, audience: Option<String>) -> Verifier {
        Verifier { keys, issuer, audience }
    }

    pub fn keys(&self) -> &Arc<KeyStore> {
        &self.keys
    }

    /// Runs the checks on an `Authorization` header value (`None` when absent) at time `now`
    /// (seconds since the epoch), with the keys loaded now. A token naming an unknown `kid` while
    /// a key source may be refreshed needs [`Verifier::authenticate_after_refresh`].
    pub fn authenticate(&self, header: Option<&[u8]>, now: f64) -> Outcome {
        let token = match parse(header) {
            Ok(token) => token,
            Err(e) => return Outcome::Decided(Err(e)),
        };
        let keys = self.check_keys(&token);
        if keys == KeyCheck::UnknownKid && self.keys.refresh_due() {
            return Outcome::NeedsRefresh(token);
        }
        Outcome::Decided(signature_verdict(keys).and_then(|()| self.claims(&token, now)))
    }

    /// Finishes a token whose `kid` was unknown: refreshes the key sources (each at most once
    /// per 60 s) and checks again.
    pub async fn authenticate_after_refresh(
        &self,
        token: Token,
        now: impl FnOnce() -> f64,
    ) -> Result<String, AuthError> {
        self.keys.refresh_on_unknown_kid().await;
        signature_verdict(self.check_keys(&token))?;
        self.claims(&token, now())
    }

    fn check_keys(&self, token: &Token) -> KeyCheck {
        self.keys.check(token.alg, token.kid.as_deref(), token.signing_input.as_bytes(), &token.signature)
    }

    /// Checks 8 to 15; returns the identity.
    fn claims(&self, token: &Token, now: f64) -> Result<String, AuthError> {
        let claims = &token.claims;
        let number = |name: &str| claims.get(name).and_then(Value::as_f64);
        let Some(exp) = number("exp") else { return refuse(NO_EXP) };
        if exp + LEEWAY_SECONDS < now {
            return refuse(EXPIRED);
        }
        if ["nbf", "iat"].iter().filter_map(|name| number(name)).any(|t| t > now + LEEWAY_SECONDS) {
            return refuse(NOT_YET_VALID);
        }
        if let Some(typ) = claims.get("typ") {
            let typ = typ.as_str().map_or_else(|| typ.to_string(), str::to_owned);
            if !typ.eq_ignore_ascii_case("Bearer") {
                return refuse(format!("Bearer token type '{}' isn't supported", cut_quoted(&typ)));
            }
        }
        if let Some(issuer) = &self.issuer {
            if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
                return refuse(WRONG_ISSUER);
            }
        }
        if let Some(audience) = &self.audience {
            let accepted = match claims.get("aud") {
                Some(Value::String(aud)) => aud == audience,
                Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(audience.as_str())),
                _ => false,
            };
            if !accepted {
                return refuse(WRONG_AUDIENCE);
            }
        }
        let identity = IDENTITY_CLAIMS
            .iter()
            .find_map(|name| claims.get(*name).and_then(Value::as_str).filter(|value| !value.is_empty()));
        let Some(identity) = identity else { return refuse(NO_IDENTITY) };
        if identity.chars().count() > MAX_IDENTITY_CHARS || identity.chars().any(char::is_control) {
            return refuse(BAD_IDENTITY);
        }
        Ok(identity.to_owned())
    }
}

/// Checks 6 and 7, from what the keys said.
fn signature_verdict(keys: KeyCheck) -> Result<(), AuthError> {
    match keys {
        KeyCheck::Unavailable => Err(AuthError::KeysUnavailable),
        KeyCheck::UnknownKid | KeyCheck::NoKey => refuse(NO_KEY),
        KeyCheck::BadSignature => refuse(BAD_SIGNATURE),
        KeyCheck::Verified => Ok(()),
    }
}

/// Checks 1 to 5: the header, the scheme, the compact JWS and its algorithm.
fn parse(header: Option<&[u8]>) -> Result<Token, AuthError> {
    let Some(header) = header else { return refuse(MISSING_HEADER) };
    let Ok(header) = std::str::from_utf8(header) else { return refuse(MALFORMED_HEADER) };
    let Some((scheme, credentials)) = header.trim().split_once(' ') else { return refuse(MALFORMED_HEADER) };
    let credentials = credentials.trim_start_matches(' ');
    if scheme.is_empty() || credentials.is_empty() {
        return refuse(MALFORMED_HEADER);
    }
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return refuse(format!("Authentication type '{}' isn't supported", cut_quoted(scheme)));
    }

    let mut parts = credentials.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return refuse(MALFORMED_TOKEN);
    };
    let object = |part: &str| -> Option<Map<String, Value>> {
        let bytes = BASE64URL.decode(part).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let (Some(jose), Some(claims), Ok(signature)) =
        (object(header_b64), object(payload_b64), BASE64URL.decode(signature_b64))
    else {
        return refuse(MALFORMED_TOKEN);
    };
    let Some(Value::String(alg)) = jose.get("alg") else { return refuse(MALFORMED_TOKEN) };
    let kid = match jose.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return refuse(MALFORMED_TOKEN),
    };
    let Some(alg) = Algorithm::parse(alg) else {
        return refuse(format!("Bearer token signature algorithm '{}' isn't supported", cut_quoted(alg)));
    };
    let signing_input = format!("{header_b64}.{payload_b64}");
    Ok(Token { alg, kid, signing_input, signature, claims })
}

/// Seconds since the Unix epoch.
pub fn now_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::json;

    use super::*;

    const NOW: f64 = 1_800_000_000.0;

    struct Signer {
        pair: EcdsaKeyPair,
        kid: &'static str,
    }

    impl Signer {
        fn new(kid: &'static str) -> Signer {
            let rng = SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
            Signer { pair, kid }
        }

        fn jwk(&self) -> Value {
            let point = self.pair.public_key().as_ref();
            json!({"kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
                   "x": BASE64URL.encode(&point[1..33]), "y": BASE64URL.encode(&point[33..65])})
        }

        fn token(&self, header: Value, claims: Value) -> String {
            let input = format!("{}.{}", BASE64URL.encode(header.to_string()), BASE64URL.encode(claims.to_string()));
            let signature = self.pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
            format!("{input}.{}", BASE64URL.encode(signature.as_ref()))
        }

        fn sign(&self, claims: Value) -> String {
            self.token(json!({"alg": "ES256", "kid": self.kid, "typ": "JWT"}), claims)
        }
    }

    fn jwks_file(keys: &[Value]) -> tempfile_path::TempPath {
        let path = tempfile_path::TempPath::new();
        let mut file = std::fs::File::create(&path.0).unwrap();
        file.write_all(json!({"keys": keys}).to_string().as_bytes()).unwrap();
        path
    }

    /// A file path removed on drop (the crate has no tempfile dependency).
    mod tempfile_path {
        pub struct TempPath(pub std::path::PathBuf);
        impl TempPath {
            pub fn new() -> TempPath {
                let name = format!("hyperfleet-jwks-{}-{}.json", std::process::id(), uuid::Uuid::now_v7());
                TempPath(std::env::temp_dir().join(name))
            }
        }
        impl Drop for TempPath {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    fn verifier(keys: &[Value], issuer: Option<&str>, audience: Option<&str>) -> (Verifier, tempfile_path::TempPath) {
        let file = jwks_file(keys);
        let store = KeyStore::load(Some(&file.0), None).unwrap();
        (Verifier::new(Arc::new(store), issuer.map(str::to_owned), audience.map(str::to_owned)), file)
    }

    fn check(verifier: &Verifier, header: Option<&str>) -> Result<String, AuthError> {
        match verifier.authenticate(header.map(str::as_bytes), NOW) {
            Outcome::Decided(result) => result,
            Outcome::NeedsRefresh(token) => tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(verifier.authenticate_after_refresh(token, || NOW)),
        }
    }

    fn claims() -> Value {
        json!({"sub": "subject", "exp": NOW + 300.0, "iat": NOW, "iss": "https://issuer", "aud": ["a", "hyperfleet"]})
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

    #[test]
    fn each_check_fails_with_its_reason_in_order() {
        let signer = Signer::new("k1");
        let other = Signer::new("k1");
        let (verifier, _file) = verifier(&[signer.jwk()], Some("https://issuer"), Some("hyperfleet"));
        let bearer = |claims: Value| format!("Bearer {}", signer.sign(claims));
        let valid = signer.sign(claims());
        let (h, p, _) = {
            let mut parts = valid.split('.');
            (parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned(), ())
        };
        let long = "x".repeat(256);
        let cases: Vec<(&str, Option<String>, String)> = vec![
            ("1 no header", None, MISSING_HEADER.into()),
            ("2 no credentials", Some("Bearer".into()), MALFORMED_HEADER.into()),
            ("2 blank credentials", Some("Bearer   ".into()), MALFORMED_HEADER.into()),
            ("3 other scheme", Some(format!("Basic {valid}")), "Authentication type 'Basic' isn't supported".into()),
            ("4 two parts", Some(format!("Bearer {h}.{p}")), MALFORMED_TOKEN.into()),
            ("4 four parts", Some(format!("Bearer {valid}.x")), MALFORMED_TOKEN.into()),
            ("4 not base64", Some(format!("Bearer {h}.{p}.*")), MALFORMED_TOKEN.into()),
            ("4 payload not JSON", Some(format!("Bearer {h}.{}.", BASE64URL.encode("nope"))), MALFORMED_TOKEN.into()),
            ("4 header an array", Some(format!("Bearer {}.{p}.", BASE64URL.encode("[]"))), MALFORMED_TOKEN.into()),
            ("4 garbage", Some("Bearer \u{1}\u{2}".into()), MALFORMED_TOKEN.into()),
            (
                "5 alg none",
                Some(format!("Bearer {}.{p}.", BASE64URL.encode(r#"{"alg":"none"}"#))),
                "Bearer token signature algorithm 'none' isn't supported".into(),
            ),
            (
                "5 HS256",
                Some(format!("Bearer {}.{p}.c2ln", BASE64URL.encode(r#"{"alg":"HS256","kid":"k1"}"#))),
                "Bearer token signature algorithm 'HS256' isn't supported".into(),
            ),
            ("6 unknown kid", Some(format!("Bearer {}", Signer::new("k2").sign(claims()))), NO_KEY.into()),
            (
                "6 RS256 against an EC key",
                Some(format!("Bearer {}", signer.token(json!({"alg": "RS256", "kid": "k1"}), claims()))),
                NO_KEY.into(),
            ),
            ("7 bad signature", Some(format!("Bearer {}", other.sign(claims()))), BAD_SIGNATURE.into()),
            ("8 no exp", Some(bearer(with(claims(), json!({"exp": null})))), NO_EXP.into()),
            ("8 exp a string", Some(bearer(with(claims(), json!({"exp": "soon"})))), NO_EXP.into()),
            ("9 expired", Some(bearer(with(claims(), json!({"exp": NOW - 61.0})))), EXPIRED.into()),
            ("10 nbf ahead", Some(bearer(with(claims(), json!({"nbf": NOW + 61.0})))), NOT_YET_VALID.into()),
            ("10 iat ahead", Some(bearer(with(claims(), json!({"iat": NOW + 61.0})))), NOT_YET_VALID.into()),
            (
                "11 typ refresh",
                Some(bearer(with(claims(), json!({"typ": "Refresh"})))),
                "Bearer token type 'Refresh' isn't supported".into(),
            ),
            ("12 wrong iss", Some(bearer(with(claims(), json!({"iss": "https://other"})))), WRONG_ISSUER.into()),
            ("12 no iss", Some(bearer(with(claims(), json!({"iss": null})))), WRONG_ISSUER.into()),
            ("13 wrong aud string", Some(bearer(with(claims(), json!({"aud": "other"})))), WRONG_AUDIENCE.into()),
            ("13 wrong aud array", Some(bearer(with(claims(), json!({"aud": ["x", "y"]})))), WRONG_AUDIENCE.into()),
            ("14 no identity", Some(bearer(with(claims(), json!({"sub": null})))), NO_IDENTITY.into()),
            ("14 empty identities", Some(bearer(with(claims(), json!({"sub": "", "email": ""})))), NO_IDENTITY.into()),
            ("15 too long", Some(bearer(with(claims(), json!({"sub": long})))), BAD_IDENTITY.into()),
            ("15 control character", Some(bearer(with(claims(), json!({"sub": "a\nb"})))), BAD_IDENTITY.into()),
        ];
        for (name, header, reason) in cases {
            assert_eq!(check(&verifier, header.as_deref()), Err(AuthError::Unauthenticated(reason)), "{name}");
        }
    }

    #[test]
    fn valid_tokens_yield_the_first_non_empty_identity_claim() {
        let signer = Signer::new("k1");
        let (verifier, _file) = verifier(&[signer.jwk()], Some("https://issuer"), Some("hyperfleet"));
        let cases = [
            (json!({}), "subject"),
            (json!({"preferred_username": "user", "email": ""}), "user"),
            (json!({"preferred_username": "user", "email": "user@example.com"}), "user@example.com"),
            (json!({"aud": "hyperfleet", "typ": "bearer"}), "subject"),
            (json!({"exp": NOW - 59.0, "nbf": NOW + 59.0}), "subject"),
            (json!({"sub": "x".repeat(255)}), &*"x".repeat(255)),
        ];
        for (changes, identity) in cases {
            let header = format!("bEaReR {}", signer.sign(with(claims(), changes.clone())));
            assert_eq!(check(&verifier, Some(&header)), Ok(identity.to_owned()), "{changes}");
        }
    }

    #[test]
    fn tokens_without_kid_are_checked_against_every_compatible_key() {
        let (first, second) = (Signer::new("k1"), Signer::new("k2"));
        let (verifier, _file) = verifier(&[first.jwk(), second.jwk()], None, None);
        let token = second.token(json!({"alg": "ES256"}), claims());
        assert_eq!(check(&verifier, Some(&format!("Bearer {token}"))), Ok("subject".to_owned()));
        let stranger = Signer::new("k3").token(json!({"alg": "ES256"}), claims());
        assert_eq!(check(&verifier, Some(&format!("Bearer {stranger}"))), refuse(BAD_SIGNATURE));
    }

    #[test]
    fn an_unknown_kid_rereads_the_file_at_most_once_per_minute() {
        let (old, new, newer) = (Signer::new("old"), Signer::new("new"), Signer::new("newer"));
        let (verifier, file) = verifier(&[old.jwk()], None, None);
        // The start-up read does not count: the first unknown kid re-reads the file.
        std::fs::write(&file.0, json!({"keys": [old.jwk(), new.jwk()]}).to_string()).unwrap();
        let header = format!("Bearer {}", new.sign(claims()));
        assert_eq!(check(&verifier, Some(&header)), Ok("subject".to_owned()));
        // Read just now: another unknown kid does not read it again within the minute.
        std::fs::write(&file.0, json!({"keys": [old.jwk(), new.jwk(), newer.jwk()]}).to_string()).unwrap();
        let header = format!("Bearer {}", newer.sign(claims()));
        assert_eq!(check(&verifier, Some(&header)), refuse(NO_KEY));
        let moved_back = verifier.keys.file_reloaded_at().map(|t| t - store_interval());
        *verifier.keys.file_reloaded_at() = moved_back;
        assert_eq!(check(&verifier, Some(&header)), Ok("subject".to_owned()));
        // A file that became invalid keeps the keys loaded before.
        std::fs::write(&file.0, "{").unwrap();
        *verifier.keys.file_reloaded_at() = None;
        assert_eq!(check(&verifier, Some(&format!("Bearer {}", Signer::new("gone").sign(claims())))), refuse(NO_KEY));
        assert_eq!(check(&verifier, Some(&header)), Ok("subject".to_owned()));
    }

    #[test]
    fn the_first_failed_check_decides_the_reason() {
        let signer = Signer::new("k1");
        let (verifier, _file) = verifier(&[signer.jwk()], Some("https://issuer"), Some("hyperfleet"));
        // Each step breaks one more check, counting down from 15: the reason is always that of the
        // earliest broken check.
        let steps: [(Value, &str); 8] = [
            (json!({"sub": "a\u{7}b"}), BAD_IDENTITY),
            (json!({"sub": null}), NO_IDENTITY),
            (json!({"aud": "other"}), WRONG_AUDIENCE),
            (json!({"iss": "other"}), WRONG_ISSUER),
            (json!({"typ": "ID"}), "Bearer token type 'ID' isn't supported"),
            (json!({"nbf": NOW + 120.0}), NOT_YET_VALID),
            (json!({"exp": NOW - 120.0}), EXPIRED),
            (json!({"exp": null}), NO_EXP),
        ];
        let mut claims = claims();
        for (change, reason) in steps {
            claims = with(claims, change);
            let token = signer.sign(claims.clone());
            assert_eq!(check(&verifier, Some(&format!("Bearer {token}"))), refuse(reason), "{claims}");
            // Checks 7 down to 1 win over every claim check.
            let forged = Signer::new("k1").sign(claims.clone());
            assert_eq!(check(&verifier, Some(&format!("Bearer {forged}"))), refuse(BAD_SIGNATURE), "{claims}");
            let unknown = Signer::new("k9").sign(claims.clone());
            assert_eq!(check(&verifier, Some(&format!("Bearer {unknown}"))), refuse(NO_KEY), "{claims}");
            let hs256 = signer.token(json!({"alg": "HS256", "kid": "k9"}), claims.clone());
            let hs256_reason = "Bearer token signature algorithm 'HS256' isn't supported";
            assert_eq!(check(&verifier, Some(&format!("Bearer {hs256}"))), refuse(hs256_reason), "{claims}");
            let truncated = token.rsplit_once('.').unwrap().0;
            assert_eq!(check(&verifier, Some(&format!("Bearer {truncated}"))), refuse(MALFORMED_TOKEN));
            let basic = "Authentication type 'Basic' isn't supported";
            assert_eq!(check(&verifier, Some(&format!("Basic {truncated}"))), refuse(basic));
            assert_eq!(check(&verifier, Some(&format!("Basic{truncated}"))), refuse(MALFORMED_HEADER));
        }
    }

    #[test]
    fn garbage_headers_are_refused_without_panicking() {
        let signer = Signer::new("k1");
        let (verifier, _file) = verifier(&[signer.jwk()], None, None);
        let deep = format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000));
        let long_alg = format!(r#"{{"alg":"{}"}}"#, "A".repeat(10_000));
        let headers: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b" ".to_vec(),
            b"\xff\xfe token".to_vec(),
            vec![0xff, 0xfe, b' ', b'x'],
            b"Bearer ..".to_vec(),
            b"Bearer ...".to_vec(),
            format!("Bearer {}", "A".repeat(200_000)).into_bytes(),
            format!("Bearer {}.{}.", BASE64URL.encode(&deep), BASE64URL.encode(&deep)).into_bytes(),
            format!("Bearer {}.{}.", BASE64URL.encode(&long_alg), BASE64URL.encode("{}")).into_bytes(),
            format!("Bearer {}.{}.AA", BASE64URL.encode(r#"{"alg":"ES256","exp":1e999}"#), BASE64URL.encode("{}"))
                .into_bytes(),
            format!(
                "Bearer {}.{}.{}",
                BASE64URL.encode(r#"{"alg":"ES256"}"#),
                BASE64URL.encode("{}"),
                "A".repeat(9999)
            )
            .into_bytes(),
            format!("Bearer {}.{}.", BASE64URL.encode(r#"{"alg":"RS256","kid":7}"#), BASE64URL.encode("{}"))
                .into_bytes(),
        ];
        for header in headers {
            match verifier.authenticate(Some(&header), NOW) {
                Outcome::Decided(Err(AuthError::Unauthenticated(reason))) => {
                    assert!(reason.chars().count() < 400, "{reason}")
                }
                other => panic!("{other:?} for {:?}", String::from_utf8_lossy(&header[..header.len().min(80)])),
            }
        }
    }

    fn store_interval() -> std::time::Duration {
        super::super::store::UNKNOWN_KID_REFRESH_INTERVAL
    }

    #[test]
    fn without_any_loaded_key_a_url_store_is_unavailable() {
        let store = KeyStore::load(None, Some("http://127.0.0.1:9/jwks")).unwrap();
        let verifier = Verifier::new(Arc::new(store), None, None);
        let signer = Signer::new("k1");
        let header = format!("Bearer {}", signer.token(json!({"alg": "ES256"}), claims()));
        assert!(matches!(
            verifier.authenticate(Some(header.as_bytes()), NOW),
            Outcome::Decided(Err(AuthError::KeysUnavailable))
        ));
        // Checks 1–5 still come first.
        assert!(matches!(verifier.authenticate(None, NOW), Outcome::Decided(Err(AuthError::Unauthenticated(_)))));
        let named = format!("Bearer {}", signer.sign(claims()));
        assert!(matches!(
            verifier.authenticate(Some(named.as_bytes()), NOW),
            Outcome::Decided(Err(AuthError::KeysUnavailable))
        ));
    }
}
