//! The Layer scheme: `layer-webhook-signature` is the lowercase hex HMAC-SHA1 of the raw
//! body, keyed with the UTF-8 bytes of the secret.

use crate::headers::HeaderLookup;
use crate::sign::layer_mac;
use hmac::Mac;
use std::fmt;

/// The header that carries the Layer signature.
pub const LAYER_SIGNATURE: &str = "layer-webhook-signature";

/// Which check of the Layer scheme failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerError {
    /// The request has no `layer-webhook-signature` header.
    MissingSignature,
    /// The header is not a hexadecimal string.
    MalformedSignature,
    /// The signature is not the one the secret makes for this body: the body was changed on
    /// the way, or the secret is not the webhook's (HMAC cannot tell these apart).
    SignatureMismatch,
}

impl fmt::Display for LayerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LayerError::MissingSignature => "the layer-webhook-signature header is missing",
            LayerError::MalformedSignature => "the layer-webhook-signature header is not hex",
            LayerError::SignatureMismatch => {
                "the layer-webhook-signature does not match the body with this secret"
            }
        })
    }
}

impl std::error::Error for LayerError {}

/// Checks the Layer signature of `body`.
pub(crate) fn verify(
    secret: &str,
    headers: &(impl HeaderLookup + ?Sized),
    body: &[u8],
) -> Result<(), LayerError> {
    let given = headers
        .header(LAYER_SIGNATURE)
        .ok_or(LayerError::MissingSignature)?;
    let given = decode_hex(given.trim()).ok_or(LayerError::MalformedSignature)?;
    // SECURITY: `verify_slice` compares in constant time and refuses a tag of another length
    // without looking at its bytes.
    layer_mac(secret, body)
        .verify_slice(&given)
        .map_err(|_| LayerError::SignatureMismatch)
}

/// Decodes hex of either case; `None` for an odd length or a non-hex character.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16);
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_of_either_case_decodes_and_anything_else_does_not() {
        assert_eq!(decode_hex("00ff0A"), Some(vec![0, 255, 10]));
        assert_eq!(decode_hex("abc"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(decode_hex("é1"), None);
    }
}
