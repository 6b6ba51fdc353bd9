//! The verification handshake (SPEC §4): `GET <target>?verification_challenge=<challenge>`,
//! unsigned, passed when the target answers `200` with the challenge as its body.
//!
//! The `Err` texts are the webhook's `status_reason` as they are stored and shown.

use super::{describe_status, OutboundClient};
use hooklayer_core::target_url::TargetUrl;
use hooklayer_core::webhook::WebhookVersion;
use http::header::{HeaderName, HeaderValue, USER_AGENT};
use http::{HeaderMap, StatusCode};
use rand::RngCore;

/// The header naming the webhook, as on deliveries.
const WEBHOOK_ID: HeaderName = HeaderName::from_static("layer-webhook-id");

/// A fresh challenge: 40 lowercase hex characters (160 bits from the thread-local CSPRNG).
pub fn new_challenge() -> String {
    let mut bytes = [0u8; 20];
    // `rand::rng()` is a ChaCha-based CSPRNG seeded and periodically reseeded from the OS.
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Runs the handshake once with a new challenge. `Ok(())` means the webhook becomes
/// `active`; `Err(reason)` is its `status_reason`. No retry: the user calls `activate`.
pub async fn verify(
    client: &OutboundClient,
    target: &TargetUrl,
    webhook_uri: &str,
    version: WebhookVersion,
) -> Result<(), String> {
    let challenge = new_challenge();
    let url = target.with_challenge(&challenge);
    let mut headers = HeaderMap::new();
    let user_agent = HeaderValue::from_str(&version.user_agent())
        .map_err(|_| "Verification failed: invalid user-agent header".to_owned())?;
    let webhook_id = HeaderValue::from_str(webhook_uri)
        .map_err(|_| "Verification failed: invalid layer-webhook-id header".to_owned())?;
    headers.insert(USER_AGENT, user_agent);
    headers.insert(WEBHOOK_ID, webhook_id);

    let response = client
        .get(&url, headers)
        .await
        .map_err(|e| format!("Verification failed: {e}"))?;
    // Redirects are not followed (the client never does), so a 3xx lands here too.
    if response.status != StatusCode::OK {
        return Err(format!(
            "Verification failed due to {}",
            describe_status(response.status)
        ));
    }
    if trimmed(&response.body) != Some(challenge.as_str()) {
        return Err("Verification failed: response body did not match the challenge".to_owned());
    }
    Ok(())
}

/// The body as text without surrounding whitespace; `None` when it is not UTF-8.
fn trimmed(body: &[u8]) -> Option<&str> {
    std::str::from_utf8(body).ok().map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_40_lowercase_hex_chars_and_differ() {
        let a = new_challenge();
        let b = new_challenge();
        assert_eq!(a.len(), 40);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
            "{a}"
        );
        assert_ne!(a, b);
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        assert_eq!(trimmed(b" \r\nabc\n"), Some("abc"));
        assert_eq!(trimmed(b"\xff"), None);
    }
}
