//! Signing, as hooklayer does it (SPEC §6): for tests of a receiver, and to check this crate
//! against other implementations.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// The `layer-webhook-signature` value: lowercase hex HMAC-SHA1 of `body`, keyed with the
/// UTF-8 bytes of `secret`.
///
/// ```
/// let signature = hooklayer_verify::sign::layer("key", r#"{"a":"é"}"#.as_bytes());
/// assert_eq!(signature, "defcf5a8fe2708c1548f6e368b74f2ff01da987f");
/// ```
pub fn layer(secret: &str, body: &[u8]) -> String {
    let digest = layer_mac(secret, body).finalize().into_bytes();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `webhook-signature` entry: `v1,<base64 HMAC-SHA256 over "<id>.<timestamp>.<body>">`,
/// keyed as [`standard_key`] says.
///
/// ```
/// // The example of the Standard Webhooks specification.
/// let signature = hooklayer_verify::sign::standard(
///     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
///     "msg_p5jXN8AQM9LWM0D4loKWxJek",
///     1614265330,
///     br#"{"test": 2432232314}"#,
/// );
/// assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
/// ```
pub fn standard(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = standard_mac(&standard_key(secret), id, &timestamp.to_string(), body);
    format!("v1,{}", BASE64.encode(digest.finalize().into_bytes()))
}

/// The Standard Webhooks key of a secret: the base64-decoded rest of a `whsec_` secret, else
/// the secret's UTF-8 bytes. A `whsec_` secret whose rest is not base64 is used as plain text,
/// exactly as the hooklayer server signs with it.
///
/// ```
/// use hooklayer_verify::sign::standard_key;
/// assert_eq!(standard_key("whsec_AAEC"), vec![0, 1, 2]);
/// assert_eq!(standard_key("plain secret"), b"plain secret".to_vec());
/// ```
pub fn standard_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|rest| BASE64.decode(rest).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The Layer MAC, fed with the body.
pub(crate) fn layer_mac(secret: &str, body: &[u8]) -> Hmac<Sha1> {
    let mut mac = hmac_sha1(secret.as_bytes());
    mac.update(body);
    mac
}

/// The Standard Webhooks MAC, fed with `"<id>.<timestamp>.<body>"`.
pub(crate) fn standard_mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = hmac_sha256(key);
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

// HMAC takes keys of any length (long keys are hashed, short ones padded), so building one
// cannot fail; `new_from_slice` returns a Result only because other MACs need fixed keys.
fn hmac_sha1(key: &[u8]) -> Hmac<Sha1> {
    match Hmac::<Sha1>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}
