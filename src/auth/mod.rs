//! JWT authentication (spec §12): the JWKS key store with its refresh policy, and the
//! verifier that turns an `Authorization` header into the caller's identity or a 401 reason.

pub mod jwks;
pub mod store;
pub mod token;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;

pub use store::KeyStore;
pub use token::{AuthError, Outcome, Token, Verifier};

/// base64url as JOSE uses it: no padding written; padding tolerated when reading.
pub(crate) const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_encode_padding(false).with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
