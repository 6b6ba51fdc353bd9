//! Outbound errors and their short texts, which end up in a webhook's `status_reason` and in
//! the attempt log. None of them contains the URL (its query may hold the verification
//! challenge) or any header value.

use super::resolver::ResolveError;
use hooklayer_core::address::BlockedRange;
use http::StatusCode;
use std::error::Error as StdError;
use std::net::IpAddr;
use std::time::Duration;

/// Why a request to a target failed before a status code was received.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("request timed out after {}", format_duration(*.0))]
    Timeout(Duration),
    #[error("connection refused")]
    ConnectionRefused,
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    #[error("blocked address {ip} ({}); HOOKLAYER_ALLOW_TARGETS can allow it", range.describe())]
    Blocked { ip: IpAddr, range: BlockedRange },
    #[error("could not resolve host {0}")]
    Unresolvable(String),
    #[error("http targets are not allowed")]
    HttpNotAllowed,
    #[error("connection failed: {0}")]
    Connection(String),
}

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum OutboundBuildError {
    #[error("the trusted CA bundle is not valid PEM: {0}")]
    InvalidPem(String),
    #[error("the trusted CA bundle contains no certificate")]
    NoCertificates,
    #[error("certificate {index} of the trusted CA bundle was rejected: {reason}")]
    BadCertificate { index: usize, reason: String },
    #[error("TLS configuration failed: {0}")]
    Tls(String),
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
}

impl From<&ResolveError> for OutboundError {
    fn from(err: &ResolveError) -> Self {
        match err {
            ResolveError::NotFound(host) => OutboundError::Unresolvable(host.clone()),
            ResolveError::Blocked { ip, range } => OutboundError::Blocked {
                ip: *ip,
                range: *range,
            },
        }
    }
}

/// `unexpected response status: 404 Not Found` (just the code when it has no canonical name).
pub fn describe_status(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("unexpected response status: {} {reason}", status.as_u16()),
        None => format!("unexpected response status: {}", status.as_u16()),
    }
}

/// Renders a duration the way the configuration writes it: `500ms`, `1s`, `1.5s`, `2m`.
/// Precision stops at the millisecond (microseconds below one millisecond).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if d.is_zero() {
        return "0s".to_owned();
    }
    if ms == 0 {
        return format!("{}us", d.as_micros());
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    // Whole hours or minutes read better in their unit; anything else in seconds.
    for (unit_ms, unit) in [(3_600_000, "h"), (60_000, "m")] {
        let (count, rest) = (ms / unit_ms, ms % unit_ms);
        if rest == 0 {
            return format!("{count}{unit}");
        }
    }
    let (secs, frac) = (ms / 1000, ms % 1000);
    if frac == 0 {
        format!("{secs}s")
    } else {
        let frac = format!("{frac:03}");
        format!("{secs}.{}s", frac.trim_end_matches('0'))
    }
}

/// Finds why a request failed by walking the error's `source()` chain.
pub(crate) fn classify(err: &reqwest::Error, timeout: Duration) -> OutboundError {
    if err.is_timeout() {
        return OutboundError::Timeout(timeout);
    }
    let mut source = err.source();
    let mut deepest: Option<&(dyn StdError + 'static)> = None;
    while let Some(cause) = source {
        if let Some(found) = recognise(cause, timeout) {
            return found;
        }
        deepest = Some(cause);
        source = next_cause(cause);
    }
    // The innermost cause is the most specific text; reqwest's own Display would carry the URL.
    let reason = match deepest {
        Some(cause) => cause.to_string(),
        None if err.is_connect() => "could not connect".to_owned(),
        None if err.is_body() || err.is_decode() => "error reading the response body".to_owned(),
        None => "error sending the request".to_owned(),
    };
    OutboundError::Connection(reason)
}

/// The next error down the chain. `io::Error::source()` skips the error it wraps (where
/// rustls and the resolver put theirs, sometimes io-in-io), so step into that one instead.
fn next_cause<'a>(cause: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    match cause
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        Some(inner) => Some(inner),
        None => cause.source(),
    }
}

/// The error kinds with a dedicated text.
fn recognise(cause: &(dyn StdError + 'static), timeout: Duration) -> Option<OutboundError> {
    if let Some(resolve) = cause.downcast_ref::<ResolveError>() {
        return Some(resolve.into());
    }
    if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
        return Some(OutboundError::Tls(tls.to_string()));
    }
    match cause.downcast_ref::<std::io::Error>()?.kind() {
        std::io::ErrorKind::ConnectionRefused => Some(OutboundError::ConnectionRefused),
        std::io::ErrorKind::TimedOut => Some(OutboundError::Timeout(timeout)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_render_like_the_configuration() {
        let cases = [
            (Duration::from_secs(1), "1s"),
            (Duration::from_millis(500), "500ms"),
            (Duration::from_millis(300), "300ms"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(1250), "1.25s"),
            (Duration::from_millis(10_001), "10.001s"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(120), "2m"),
            (Duration::from_secs(7200), "2h"),
            (Duration::from_micros(250), "250us"),
            (Duration::ZERO, "0s"),
        ];
        for (d, want) in cases {
            assert_eq!(format_duration(d), want, "{d:?}");
        }
    }

    #[test]
    fn statuses_are_described_with_their_canonical_reason() {
        assert_eq!(
            describe_status(StatusCode::NOT_FOUND),
            "unexpected response status: 404 Not Found"
        );
        assert_eq!(
            describe_status(StatusCode::INTERNAL_SERVER_ERROR),
            "unexpected response status: 500 Internal Server Error"
        );
        assert_eq!(
            describe_status(StatusCode::FOUND),
            "unexpected response status: 302 Found"
        );
        let unnamed = StatusCode::from_u16(599).unwrap();
        assert_eq!(describe_status(unnamed), "unexpected response status: 599");
    }

    #[test]
    fn error_texts_are_the_short_forms() {
        let blocked = OutboundError::Blocked {
            ip: "127.0.0.1".parse().unwrap(),
            range: BlockedRange::Loopback,
        };
        assert_eq!(
            blocked.to_string(),
            "blocked address 127.0.0.1 (a loopback address); HOOKLAYER_ALLOW_TARGETS can allow it"
        );
        assert_eq!(
            OutboundError::Timeout(Duration::from_secs(1)).to_string(),
            "request timed out after 1s"
        );
        assert_eq!(
            OutboundError::ConnectionRefused.to_string(),
            "connection refused"
        );
        assert_eq!(
            OutboundError::HttpNotAllowed.to_string(),
            "http targets are not allowed"
        );
        assert_eq!(
            OutboundError::Unresolvable("nope.invalid".into()).to_string(),
            "could not resolve host nope.invalid"
        );
    }
}
