//! JSON Web Key Sets (spec §12.2): which keys are accepted (RSA for RS256, EC P-256 for
//! ES256) and how a key verifies a signature. Keys of other kinds are skipped, not fatal, so a
//! set that also carries encryption keys still loads.

use base64::Engine;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value};

use super::BASE64URL;

/// The signature algorithms a token may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Rs256,
    Es256,
}

impl Algorithm {
    pub fn parse(name: &str) -> Option<Algorithm> {
        match name {
            "RS256" => Some(Algorithm::Rs256),
            "ES256" => Some(Algorithm::Es256),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Es256 => "ES256",
        }
    }
}

#[derive(Debug, Clone)]
enum Material {
    /// Big-endian modulus and exponent, without leading zero bytes.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// Uncompressed SEC1 point `04 || x || y`.
    P256(Vec<u8>),
}

/// One accepted verification key.
#[derive(Debug, Clone)]
pub struct Jwk {
    pub kid: Option<String>,
    usage: Option<String>,
    alg: Option<String>,
    material: Material,
}

impl Jwk {
    /// Whether this key may verify a token signed with `alg`: matching key type, `use` absent or
    /// `sig`, `alg` absent or equal.
    pub fn accepts(&self, alg: Algorithm) -> bool {
        let kind_matches = matches!(
            (&self.material, alg),
            (Material::Rsa { .. }, Algorithm::Rs256) | (Material::P256(_), Algorithm::Es256)
        );
        kind_matches
            && self.usage.as_deref().is_none_or(|u| u == "sig")
            && self.alg.as_deref().is_none_or(|a| a == alg.name())
    }

    /// Verifies `signature` over `message`. ES256 signatures are the JOSE `r || s` form.
    pub fn verify(&self, message: &[u8], signature_bytes: &[u8]) -> bool {
        match &self.material {
            Material::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, signature_bytes)
                .is_ok(),
            Material::P256(point) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, signature_bytes)
                .is_ok(),
        }
    }
}

/// A parsed key set: the usable keys, and one line per key that was skipped and why.
#[derive(Debug, Default)]
pub struct KeySet {
    pub keys: Vec<Jwk>,
    pub skipped: Vec<String>,
}

/// Parses a JWKS document. The document itself must be a JSON object with a `keys` array of
/// objects; keys that are not usable for RS256/ES256 are skipped.
pub fn parse_jwks(bytes: &[u8]) -> Result<KeySet, String> {
    let document: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let keys = document
        .as_object()
        .ok_or("not a JSON object")?
        .get("keys")
        .ok_or("no 'keys' member")?
        .as_array()
        .ok_or("'keys' is not an array")?;
    let mut set = KeySet::default();
    for (index, key) in keys.iter().enumerate() {
        let key = key.as_object().ok_or_else(|| format!("key {index} is not a JSON object"))?;
        match parse_jwk(key) {
            Ok(jwk) => set.keys.push(jwk),
            Err(why) => {
                let kid = key.get("kid").and_then(Value::as_str).unwrap_or("");
                set.skipped.push(format!("key {index} (kid '{kid}') skipped: {why}"));
            }
        }
    }
    Ok(set)
}

fn parse_jwk(key: &Map<String, Value>) -> Result<Jwk, String> {
    let optional = |name: &str| -> Result<Option<String>, String> {
        match key.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("'{name}' is not a string")),
        }
    };
    let kid = optional("kid")?;
    let usage = optional("use")?;
    let alg = optional("alg")?;
    let number = |name: &str| -> Result<Vec<u8>, String> {
        let text = key.get(name).and_then(Value::as_str).ok_or_else(|| format!("no '{name}' string"))?;
        BASE64URL.decode(text).map_err(|_| format!("'{name}' is not base64url"))
    };
    let material = match key.get("kty").and_then(Value::as_str) {
        Some("RSA") => {
            let n = strip_leading_zeros(number("n")?);
            let e = strip_leading_zeros(number("e")?);
            // ring verifies RS256 with 2048..=8192-bit moduli only.
            if !(256..=1024).contains(&n.len()) {
                return Err(format!("RSA modulus of {} bits is not between 2048 and 8192", n.len() * 8));
            }
            if e.is_empty() || e.len() > 4 {
                return Err("RSA exponent is out of range".to_owned());
            }
            Material::Rsa { n, e }
        }
        Some("EC") => {
            if key.get("crv").and_then(Value::as_str) != Some("P-256") {
                return Err("only the EC curve P-256 is supported".to_owned());
            }
            let (x, y) = (number("x")?, number("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err("P-256 coordinates must be 32 bytes".to_owned());
            }
            let mut point = Vec::with_capacity(65);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Material::P256(point)
        }
        Some(other) => return Err(format!("key type '{other}' is not supported")),
        None => return Err("no 'kty' string".to_owned()),
    };
    Ok(Jwk { kid, usage, alg, material })
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ec_key(extra: &str) -> String {
        let coordinate = BASE64URL.encode([7u8; 32]);
        format!(r#"{{"kty":"EC","crv":"P-256","x":"{coordinate}","y":"{coordinate}"{extra}}}"#)
    }

    #[test]
    fn documents_without_a_keys_array_are_invalid() {
        for (doc, why) in [
            ("", "not valid JSON"),
            ("[]", "not a JSON object"),
            ("{}", "no 'keys' member"),
            (r#"{"keys":{}}"#, "'keys' is not an array"),
            (r#"{"keys":[1]}"#, "key 0 is not a JSON object"),
        ] {
            let error = parse_jwks(doc.as_bytes()).unwrap_err();
            assert!(error.starts_with(why), "{doc}: {error}");
        }
    }

    #[test]
    fn unusable_keys_are_skipped_with_a_reason() {
        let doc = format!(
            r#"{{"keys":[{{"kty":"oct","k":"AA","kid":"h"}},{{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}},
            {{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"small"}},{}]}}"#,
            ec_key(r#","kid":"ec""#)
        );
        let set = parse_jwks(doc.as_bytes()).unwrap();
        assert_eq!(set.keys.len(), 1);
        assert_eq!(set.keys[0].kid.as_deref(), Some("ec"));
        assert_eq!(set.skipped.len(), 3, "{:?}", set.skipped);
        assert!(set.skipped[0].contains("key type 'oct' is not supported"), "{:?}", set.skipped);
        assert!(set.skipped[2].contains("2048"), "{:?}", set.skipped);
    }

    #[test]
    fn use_and_alg_restrict_which_tokens_a_key_verifies() {
        let accepts = |extra: &str, alg| {
            parse_jwks(format!(r#"{{"keys":[{}]}}"#, ec_key(extra)).as_bytes()).unwrap().keys[0].accepts(alg)
        };
        assert!(accepts("", Algorithm::Es256));
        assert!(!accepts("", Algorithm::Rs256), "an EC key never verifies RS256");
        assert!(accepts(r#","use":"sig","alg":"ES256""#, Algorithm::Es256));
        assert!(!accepts(r#","use":"enc""#, Algorithm::Es256));
        assert!(!accepts(r#","alg":"ES384""#, Algorithm::Es256));
    }
}
