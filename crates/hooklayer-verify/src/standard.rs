//! The Standard Webhooks scheme: `webhook-id`, `webhook-timestamp` (Unix seconds, within a
//! tolerance of now) and `webhook-signature`, a space-separated list of `v1,<base64
//! HMAC-SHA256 over "<id>.<timestamp>.<body>">` of which one must match.

use crate::headers::HeaderLookup;
use crate::sign::standard_mac;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::Mac;
use std::fmt;
use subtle::ConstantTimeEq;

/// The Standard Webhooks headers.
pub const WEBHOOK_ID: &str = "webhook-id";
/// See [`WEBHOOK_ID`].
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// See [`WEBHOOK_ID`].
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// Which check of the Standard Webhooks scheme failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StandardError {
    /// The request has no `webhook-id` header.
    MissingId,
    /// The request has no `webhook-timestamp` header.
    MissingTimestamp,
    /// The request has no `webhook-signature` header.
    MissingSignature,
    /// `webhook-timestamp` is not a whole number of seconds.
    MalformedTimestamp,
    /// `webhook-signature` holds no `v1,<base64>` entry.
    MalformedSignature,
    /// The timestamp is further in the past than the tolerance (a replayed request).
    TimestampTooOld {
        /// How old the timestamp is, in seconds.
        age_secs: u64,
        /// The tolerance, in seconds.
        tolerance_secs: u64,
    },
    /// The timestamp is further in the future than the tolerance (a forged or skewed clock).
    TimestampInFuture {
        /// How far ahead the timestamp is, in seconds.
        ahead_secs: u64,
        /// The tolerance, in seconds.
        tolerance_secs: u64,
    },
    /// No `v1` signature is the one the secret makes for this id, timestamp and body: one of
    /// them was changed on the way, or the secret is not the webhook's.
    SignatureMismatch,
}

impl fmt::Display for StandardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StandardError::MissingId => f.write_str("the webhook-id header is missing"),
            StandardError::MissingTimestamp => f.write_str("the webhook-timestamp header is missing"),
            StandardError::MissingSignature => f.write_str("the webhook-signature header is missing"),
            StandardError::MalformedTimestamp => {
                f.write_str("the webhook-timestamp header is not a Unix time in seconds")
            }
            StandardError::MalformedSignature => {
                f.write_str("the webhook-signature header holds no v1 signature")
            }
            StandardError::TimestampTooOld { age_secs, tolerance_secs } => write!(
                f,
                "the webhook-timestamp is {age_secs} s old, beyond the tolerance of {tolerance_secs} s"
            ),
            StandardError::TimestampInFuture { ahead_secs, tolerance_secs } => write!(
                f,
                "the webhook-timestamp is {ahead_secs} s in the future, beyond the tolerance of {tolerance_secs} s"
            ),
            StandardError::SignatureMismatch => f.write_str(
                "no webhook-signature matches the id, timestamp and body with this secret",
            ),
        }
    }
}

impl std::error::Error for StandardError {}

/// Checks the Standard Webhooks headers of `body` at `now` (Unix seconds). Header presence
/// and shape first, then the timestamp, then the signatures.
pub(crate) fn verify(
    key: &[u8],
    headers: &(impl HeaderLookup + ?Sized),
    body: &[u8],
    now: i64,
    tolerance_secs: u64,
) -> Result<(), StandardError> {
    let id = headers.header(WEBHOOK_ID).ok_or(StandardError::MissingId)?;
    let timestamp = headers
        .header(WEBHOOK_TIMESTAMP)
        .ok_or(StandardError::MissingTimestamp)?
        .trim();
    let signatures = headers
        .header(WEBHOOK_SIGNATURE)
        .ok_or(StandardError::MissingSignature)?;
    let seconds: i64 = timestamp
        .parse()
        .ok()
        .filter(|_| timestamp.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(StandardError::MalformedTimestamp)?;
    let candidates: Vec<Vec<u8>> = signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|sig| BASE64.decode(sig).ok())
        .collect();
    if candidates.is_empty() {
        return Err(StandardError::MalformedSignature);
    }
    check_time(seconds, now, tolerance_secs)?;
    let expected = standard_mac(key, id, timestamp, body)
        .finalize()
        .into_bytes();
    // SECURITY: every candidate is compared in constant time; a candidate of another length
    // simply does not match (`ct_eq` on slices of different lengths is false, never a panic).
    let matched = candidates.iter().fold(subtle::Choice::from(0), |any, c| {
        any | expected.as_slice().ct_eq(c)
    });
    if bool::from(matched) {
        Ok(())
    } else {
        Err(StandardError::SignatureMismatch)
    }
}

fn check_time(timestamp: i64, now: i64, tolerance_secs: u64) -> Result<(), StandardError> {
    let offset = i128::from(now) - i128::from(timestamp);
    let distance = u64::try_from(offset.unsigned_abs()).unwrap_or(u64::MAX);
    if distance <= tolerance_secs {
        Ok(())
    } else if offset > 0 {
        Err(StandardError::TimestampTooOld {
            age_secs: distance,
            tolerance_secs,
        })
    } else {
        Err(StandardError::TimestampInFuture {
            ahead_secs: distance,
            tolerance_secs,
        })
    }
}
