//! # hooklayer-verify
//!
//! Checks, on the receiving side, that a webhook delivery comes from hooklayer and was not
//! changed on the way. hooklayer signs every delivery twice (SPEC §6), and this crate verifies
//! either scheme, in constant time:
//!
//! - **Layer**: `layer-webhook-signature`, the hex HMAC-SHA1 of the raw body.
//! - **Standard Webhooks**: `webhook-id`, `webhook-timestamp` (within a tolerance of now,
//!   5 minutes by default) and `webhook-signature`, which may hold several `v1,` signatures
//!   (during a secret rotation it holds one per secret). Secrets starting with `whsec_` are
//!   base64-decoded, any other secret is used as its UTF-8 bytes, exactly as the server signs.
//!
//! Every failed check is its own error variant ([`LayerError`], [`StandardError`]), so a
//! receiver can log *why* it refused a request.
//!
//! ```
//! use hooklayer_verify::{sign, Scheme, Verifier};
//!
//! let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! let body = br#"{"event":{"type":"message.sent"}}"#;
//! let now = 1_700_000_000;
//! let signature = sign::standard(secret, "msg_1", now, body);
//! let headers = [
//!     ("webhook-id", "msg_1".to_owned()),
//!     ("webhook-timestamp", now.to_string()),
//!     ("webhook-signature", signature),
//! ];
//!
//! let verified = Verifier::new(secret).verify_at(&headers, body, now).unwrap();
//! assert_eq!(verified.schemes(), vec![Scheme::Standard]);
//! ```
//!
//! ## Layout
//! - [`Verifier`]: the secret and tolerance; `verify_layer`, `verify_standard`, `verify`.
//! - [`HeaderLookup`]: where headers come from (pairs, maps, `http::HeaderMap`).
//! - [`sign`]: signing as the server does, for tests of a receiver.
//! - `axum` feature: [`axum::VerifiedBody`](crate::axum::VerifiedBody), an extractor that
//!   rejects unsigned requests. `cargo run -p hooklayer-verify --example receiver` runs one.
//!
//! The crate depends on no other part of hooklayer, and only on the hash, HMAC, base64 and
//! constant-time crates (plus `http`/`axum` with their features).

mod headers;
mod layer;
pub mod sign;
mod standard;
mod verdict;

#[cfg(feature = "axum")]
pub mod axum;

pub use headers::HeaderLookup;
pub use layer::{LayerError, LAYER_SIGNATURE};
pub use standard::{StandardError, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP};
pub use verdict::{Failure, Rejected, Scheme, Verified};

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far `webhook-timestamp` may be from now, either way, by default: 5 minutes, as the
/// Standard Webhooks libraries use.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Verifies deliveries signed with one webhook secret.
///
/// ```
/// use std::time::Duration;
/// use hooklayer_verify::{sign, LayerError, Verifier};
///
/// let verifier = Verifier::new("my secret").with_tolerance(Duration::from_secs(60));
/// let body = b"{}";
/// let headers = [("layer-webhook-signature", sign::layer("my secret", body))];
/// assert_eq!(verifier.verify_layer(&headers, body), Ok(()));
/// assert_eq!(
///     verifier.verify_layer(&headers, b"{ }"),
///     Err(LayerError::SignatureMismatch)
/// );
/// ```
#[derive(Clone)]
pub struct Verifier {
    /// The secret as given: the Layer key is its UTF-8 bytes.
    secret: String,
    /// The Standard Webhooks key, decoded once.
    standard_key: Vec<u8>,
    tolerance: Duration,
}

/// SECURITY: the secret never appears in logs through `Debug`.
impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("secret", &"<redacted>")
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl Verifier {
    /// A verifier for the webhook's `secret` (as registered), with the default tolerance.
    pub fn new(secret: &str) -> Self {
        Self {
            secret: secret.to_owned(),
            standard_key: sign::standard_key(secret),
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// The same verifier with another timestamp tolerance (whole seconds count).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let strict = hooklayer_verify::Verifier::new("s").with_tolerance(Duration::from_secs(30));
    /// assert_eq!(strict.tolerance(), Duration::from_secs(30));
    /// ```
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The timestamp tolerance.
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// Checks the Layer signature (`layer-webhook-signature`) of `body`.
    pub fn verify_layer(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
    ) -> Result<(), LayerError> {
        layer::verify(&self.secret, headers, body)
    }

    /// Checks the Standard Webhooks headers of `body` against the system clock.
    pub fn verify_standard(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
    ) -> Result<(), StandardError> {
        self.verify_standard_at(headers, body, unix_now())
    }

    /// Checks the Standard Webhooks headers of `body` as if the time were `now` (Unix
    /// seconds).
    ///
    /// ```
    /// use hooklayer_verify::{sign, StandardError, Verifier};
    ///
    /// let body = b"{}";
    /// let headers = [
    ///     ("webhook-id", "msg_1".to_owned()),
    ///     ("webhook-timestamp", "1000".to_owned()),
    ///     ("webhook-signature", sign::standard("s", "msg_1", 1000, body)),
    /// ];
    /// let verifier = Verifier::new("s");
    /// assert_eq!(verifier.verify_standard_at(&headers, body, 1200), Ok(()));
    /// assert_eq!(
    ///     verifier.verify_standard_at(&headers, body, 1400),
    ///     Err(StandardError::TimestampTooOld { age_secs: 400, tolerance_secs: 300 })
    /// );
    /// ```
    pub fn verify_standard_at(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
        now: i64,
    ) -> Result<(), StandardError> {
        standard::verify(
            &self.standard_key,
            headers,
            body,
            now,
            self.tolerance.as_secs(),
        )
    }

    /// Checks every scheme the request carries, against the system clock. See
    /// [`Verifier::verify_at`].
    pub fn verify(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
    ) -> Result<Verified, Rejected> {
        self.verify_at(headers, body, unix_now())
    }

    /// Checks every scheme the request carries, as if the time were `now` (Unix seconds).
    ///
    /// A scheme is *carried* when one of its headers is present (`layer-webhook-signature`;
    /// any of `webhook-id`, `webhook-timestamp`, `webhook-signature`). The request is
    /// accepted when it carries at least one scheme and every scheme it carries verifies: a
    /// valid Layer signature does not excuse a stale Standard Webhooks timestamp. A request
    /// carrying neither is rejected with the missing-header error of both.
    ///
    /// ```
    /// use hooklayer_verify::{Failure, LayerError, Verifier};
    ///
    /// let rejected = Verifier::new("s").verify_at(&[("x", "y")], b"{}", 0).unwrap_err();
    /// assert_eq!(rejected.failures[0], Failure::Layer(LayerError::MissingSignature));
    /// ```
    pub fn verify_at(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
        now: i64,
    ) -> Result<Verified, Rejected> {
        let carries_layer = headers.header(LAYER_SIGNATURE).is_some();
        let carries_standard = [WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE]
            .iter()
            .any(|name| headers.header(name).is_some());
        let neither = !carries_layer && !carries_standard;
        let layer = (carries_layer || neither).then(|| self.verify_layer(headers, body));
        let standard =
            (carries_standard || neither).then(|| self.verify_standard_at(headers, body, now));
        verdict::decide(layer, standard)
    }
}

/// Now, in Unix seconds (0 if the clock is before 1970).
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
