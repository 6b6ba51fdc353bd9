//! One delivery attempt: build the signed request of SPEC §6, send it, and turn the result
//! into an attempt record with its outcome (success, retry at, or exhausted).

use crate::outbound::{describe_status, OutboundClient};
use hooklayer_core::event::render_body;
use hooklayer_core::ids::webhook_uri;
use hooklayer_core::retry::{parse_retry_after, RetrySchedule};
use hooklayer_core::signing::{layer_signature, standard_key, standard_signature};
use hooklayer_core::time::Timestamp;
use hooklayer_store::{Attempt, AttemptOutcome, AttemptRecord, ClaimedDelivery};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::time::{Duration, Instant};

/// Most of a response body kept in the attempt log.
pub const LOGGED_BODY_BYTES: usize = 1024;

/// The nine delivery headers (content-type, user-agent, four `layer-webhook-*`, three
/// Standard Webhooks). Values that cannot be header values are skipped (they cannot occur:
/// every value is ASCII built here).
pub fn delivery_headers(d: &ClaimedDelivery, body: &[u8], now: Timestamp) -> HeaderMap {
    let request_id = d.request_id.to_string();
    let timestamp = now.unix_seconds();
    let secret = d.secret.expose();
    let pairs = [
        ("content-type", d.version.content_type()),
        ("user-agent", d.version.user_agent()),
        ("layer-webhook-event-type", d.event_type.as_str().to_owned()),
        ("layer-webhook-id", webhook_uri(d.app, d.webhook)),
        ("layer-webhook-request-id", request_id.clone()),
        ("layer-webhook-signature", layer_signature(secret, body)),
        ("webhook-id", request_id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", {
            let sign = |secret: &str| {
                standard_signature(&standard_key(secret), &request_id, timestamp, body)
            };
            // During a rotation's overlap window both secrets sign, the new one first (SPEC §11).
            match &d.previous_secret {
                Some(previous) => format!("{} {}", sign(secret), sign(previous.expose())),
                None => sign(secret),
            }
        }),
    ];
    let mut headers = HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    headers
}

/// Sends one attempt and decides what follows. `jitter_unit` is a sample from [-1, 1].
pub async fn run(
    client: &OutboundClient,
    schedule: &RetrySchedule,
    d: &ClaimedDelivery,
    jitter_unit: f64,
) -> AttemptRecord {
    let body = render_body(&d.payload_prefix, &d.config_json);
    let at = Timestamp::now();
    let headers = delivery_headers(d, body.as_bytes(), at);
    let started = Instant::now();
    let result = match url::Url::parse(&d.target_url) {
        Ok(url) => client
            .post(&url, headers, body.into())
            .await
            .map_err(|e| e.to_string()),
        Err(_) => Err("invalid target URL".to_owned()),
    };
    let duration_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
    let (status_code, error, response_body, retry_after) = match result {
        Ok(resp) => {
            let kept = &resp.body[..resp.body.len().min(LOGGED_BODY_BYTES)];
            // NUL cannot be stored in PostgreSQL text; a receiver's binary reply must not make
            // the whole batch of attempt records fail.
            let text =
                (!kept.is_empty()).then(|| String::from_utf8_lossy(kept).replace('\0', "\u{FFFD}"));
            let wants_wait = matches!(resp.status.as_u16(), 429 | 503);
            let retry_after = resp
                .retry_after
                .as_deref()
                .filter(|_| wants_wait)
                .and_then(|v| parse_retry_after(v, Timestamp::now().millis()));
            let error = (!resp.status.is_success()).then(|| describe_status(resp.status));
            (Some(resp.status.as_u16()), error, text, retry_after)
        }
        Err(e) => (None, Some(e), None, None),
    };
    let outcome = match &error {
        None => AttemptOutcome::Succeeded,
        Some(err) => next_step(schedule, d.attempts_made + 1, retry_after, jitter_unit, err),
    };
    AttemptRecord {
        request_id: d.request_id,
        webhook: d.webhook,
        lease_until: d.lease_until,
        attempt: Attempt {
            at,
            duration_ms,
            status_code,
            error,
            response_body,
        },
        outcome,
    }
}

/// After failed attempt number `attempt` (1-based): retry at a time, or exhausted.
pub fn next_step(
    schedule: &RetrySchedule,
    attempt: u32,
    retry_after: Option<Duration>,
    jitter_unit: f64,
    error: &str,
) -> AttemptOutcome {
    match schedule.next_delay(attempt, retry_after, jitter_unit) {
        Some(delay) => AttemptOutcome::RetryAt(
            Timestamp::now().plus_millis(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)),
        ),
        None => AttemptOutcome::Exhausted {
            webhook_reason: format!("Delivery failed after {attempt} attempts: {error}"),
        },
    }
}

/// Whether an attempt started at `now` ends, and its outcome is recorded, before the claim's
/// lease ends at `lease_until`: at least the delivery `timeout` plus a fifth of the `lease`
/// (for the recorder's commit) must be left. Otherwise the lease could run out mid-attempt,
/// another claim send the delivery again and the late outcome be ignored: a duplicate without
/// any crash. Judged on the lease's end, not on when the claim returned, because the claim
/// query itself (a busy writer, a wait for a pool connection) eats into the lease too.
pub fn fits_in_lease(
    lease_until: Timestamp,
    now: Timestamp,
    timeout: Duration,
    lease: Duration,
) -> bool {
    let needed = timeout + lease / 5;
    let left = lease_until.millis() - now.millis();
    left > i64::try_from(needed.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_starts_only_while_it_and_its_recording_fit_in_the_lease() {
        let (timeout, lease) = (Duration::from_secs(1), Duration::from_secs(30));
        let now = Timestamp::now();
        // 1 s for the request and 6 s for recording: 7 s must be left.
        assert!(fits_in_lease(now.plus_millis(30_000), now, timeout, lease));
        assert!(fits_in_lease(now.plus_millis(7_001), now, timeout, lease));
        assert!(!fits_in_lease(now.plus_millis(7_000), now, timeout, lease));
        assert!(!fits_in_lease(now.plus_millis(-5), now, timeout, lease));
        // The shortest lease allowed (twice the timeout) leaves 0.6 s to start in, where a
        // rule of "80 % of the lease since the claim" let an attempt end after the lease.
        let short = Duration::from_secs(2);
        assert!(fits_in_lease(now.plus_millis(1_401), now, timeout, short));
        assert!(!fits_in_lease(now.plus_millis(1_400), now, timeout, short));
    }

    #[test]
    fn the_last_failure_exhausts_with_the_layer_style_reason() {
        let s = RetrySchedule::new(vec![Duration::from_millis(10); 2]);
        assert!(matches!(
            next_step(&s, 1, None, 0.0, "x"),
            AttemptOutcome::RetryAt(_)
        ));
        assert_eq!(
            next_step(&s, 3, None, 0.0, "unexpected response status: 500 Internal Server Error"),
            AttemptOutcome::Exhausted {
                webhook_reason: "Delivery failed after 3 attempts: unexpected response status: 500 Internal Server Error".into()
            }
        );
    }
}
