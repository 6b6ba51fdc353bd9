//! Delivery signatures.
//!
//! - Layer: `layer-webhook-signature` = lowercase hex HMAC-SHA1 over the raw body, keyed with
//!   the UTF-8 bytes of the secret (reference §6.4).
//! - Standard Webhooks: `webhook-signature` = `v1,<base64 HMAC-SHA256 over "id.timestamp.body">`,
//!   keyed with the base64-decoded rest of a `whsec_` secret, else the secret's UTF-8 bytes.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// Lowercase hex HMAC-SHA1 of `body` keyed with `secret`.
pub fn layer_signature(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so new_from_slice cannot fail.
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The Standard Webhooks key for a secret: the decoded rest of `whsec_…`, else its UTF-8 bytes.
/// A `whsec_` secret whose rest is not valid base64 is used as plain text.
pub fn standard_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|rest| BASE64.decode(rest).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// `v1,<base64 HMAC-SHA256 over "<msg_id>.<timestamp>.<body>">`
pub fn standard_signature(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference §6.4, first synthetic vector.
    #[test]
    fn layer_vector_conversation_created() {
        let body = r#"{"event":{"created_at":"2015-09-17T20:46:47.561Z","type":"conversation.created","id":"c12f340d-3b62-4cf1-9b93-ef4d754cfe69"},"conversation":{"id":"layer:///conversations/f3cc7b32-3c92-11e4-baad-164230d1df67","url":"https://api.layer.com/apps/082d4684-0992-11e5-a6c0-1697f925ec7b/conversations/f3cc7b32-3c92-11e4-baad-164230d1df67","created_at":"2014-09-15T04:44:47+00:00","messages_url":"https://api.layer.com/apps/082d4684-0992-11e5-a6c0-1697f925ec7b/conversations/f3cc7b32-3c92-11e4-baad-164230d1df67/messages","distinct":false,"participants":[],"metadata":{}},"config":{"key1":"value1"}}"#;
        assert_eq!(
            layer_signature("1697f925ec7b1697f925ec7b", body.as_bytes()),
            "785813331610044c0fa8df6585a250a30eaec0d2"
        );
    }

    /// Reference §6.4, second vector: non-ASCII is signed as raw UTF-8.
    #[test]
    fn layer_vector_utf8() {
        assert_eq!(
            layer_signature("key", r#"{"a":"é"}"#.as_bytes()),
            "defcf5a8fe2708c1548f6e368b74f2ff01da987f"
        );
    }

    /// The Standard Webhooks specification's example.
    #[test]
    fn standard_webhooks_vector() {
        let key = standard_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert_eq!(
            standard_signature(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn plain_secrets_key_with_their_utf8_bytes() {
        assert_eq!(
            standard_key("1697f925ec7b1697f925ec7b"),
            b"1697f925ec7b1697f925ec7b"
        );
        assert_eq!(standard_key("whsec_!!notbase64"), b"whsec_!!notbase64");
    }
}
