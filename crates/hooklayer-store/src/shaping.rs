//! The backend-neutral arithmetic of the shaped claim (SPEC §12): how many deliveries of one
//! shaped webhook a claim may take, and its rate limit's token bucket.
//!
//! The bucket lives in the webhook's row (`rate_tokens` in thousandths of a token, as of
//! `rate_at`) and holds at most `rate_limit` tokens, refilled at `rate_limit` per second. Every
//! claimed delivery takes a token; since every attempt is started under a claim, attempts
//! started in any window of `t` seconds are at most `rate_limit × (t + 1)`: the burst plus the
//! refill, which is the bound of SPEC §12.

use hooklayer_core::time::Timestamp;

/// Thousandths of a token per token.
const MILLI: i64 = 1000;

/// A shaped webhook's row as the claim reads it (locked).
#[derive(Clone, Debug)]
pub(crate) struct ShapedWebhook {
    pub id: String,
    pub rate_limit: Option<i64>,
    pub max_in_flight: Option<i64>,
    pub ordered: bool,
    pub rate_tokens: Option<i64>,
    pub rate_at: Option<i64>,
}

pub(crate) const SHAPED_COLUMNS: &str =
    "id, rate_limit, max_in_flight, ordered, rate_tokens, rate_at";

/// A row selected with [`SHAPED_COLUMNS`].
pub(crate) fn shaped_webhook(
    r: &impl crate::rows::StoredRow,
) -> Result<ShapedWebhook, sqlx::Error> {
    Ok(ShapedWebhook {
        id: r.text("id")?,
        rate_limit: r.opt_int("rate_limit")?,
        max_in_flight: r.opt_int("max_in_flight")?,
        ordered: r.int("ordered")? != 0,
        rate_tokens: r.opt_int("rate_tokens")?,
        rate_at: r.opt_int("rate_at")?,
    })
}

impl ShapedWebhook {
    /// The bucket's content at `now`, in thousandths of a token (a missing bucket is full).
    pub fn tokens(&self, now: Timestamp) -> Option<i64> {
        let rate = self.rate_limit?;
        let full = rate.saturating_mul(MILLI);
        let (Some(tokens), Some(at)) = (self.rate_tokens, self.rate_at) else {
            return Some(full);
        };
        // Milliseconds × tokens per second = thousandths of a token.
        let refill = now.millis().saturating_sub(at).max(0).saturating_mul(rate);
        Some(tokens.saturating_add(refill).min(full))
    }

    /// How many deliveries this claim may take, before looking at the queue: the fewest of
    /// `room`, the whole tokens in the bucket and the free in-flight slots. An ordered webhook
    /// takes one at most (and only its head: see the backends).
    pub fn allowance(&self, room: i64, in_flight: i64, now: Timestamp) -> i64 {
        let mut n = room;
        if let Some(tokens) = self.tokens(now) {
            n = n.min(tokens / MILLI);
        }
        if let Some(cap) = self.max_in_flight {
            n = n.min(cap - in_flight);
        }
        if self.ordered {
            n = n.min(1);
        }
        n.max(0)
    }

    /// The bucket after `taken` tokens at `now`: `(rate_tokens, rate_at)` to store.
    pub fn after_taking(&self, taken: i64, now: Timestamp) -> Option<(i64, i64)> {
        let tokens = self.tokens(now)?;
        Some((tokens - taken * MILLI, now.millis()))
    }

    /// When the bucket holds a whole token again, if it holds none now.
    pub fn next_token_at(&self, taken: i64, now: Timestamp) -> Option<Timestamp> {
        let rate = self.rate_limit?;
        let (left, _) = self.after_taking(taken, now)?;
        if left >= MILLI || rate <= 0 {
            return None;
        }
        // Round up so the claim loop wakes with the token there.
        let ms = (MILLI - left + rate - 1) / rate;
        Some(now.plus_millis(ms.max(1)))
    }
}

/// The earlier of two optional times.
pub(crate) fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if a.millis() <= b.millis() { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(rate: i64) -> ShapedWebhook {
        ShapedWebhook {
            id: String::new(),
            rate_limit: Some(rate),
            max_in_flight: None,
            ordered: false,
            rate_tokens: None,
            rate_at: None,
        }
    }

    #[test]
    fn a_bucket_starts_full_refills_at_the_rate_and_never_overflows() {
        let now = Timestamp::from_millis(10_000);
        let mut w = limited(5);
        assert_eq!(w.allowance(100, 0, now), 5);
        (w.rate_tokens, w.rate_at) = w
            .after_taking(5, now)
            .map(|(t, a)| (Some(t), Some(a)))
            .unwrap();
        assert_eq!(w.allowance(100, 0, now), 0);
        assert_eq!(
            w.next_token_at(0, now),
            Some(Timestamp::from_millis(10_200))
        );
        assert_eq!(w.allowance(100, 0, Timestamp::from_millis(10_399)), 1);
        assert_eq!(w.allowance(100, 0, Timestamp::from_millis(60_000)), 5);
    }

    #[test]
    fn the_cap_and_the_order_bound_the_allowance() {
        let now = Timestamp::from_millis(0);
        let mut w = limited(100);
        w.max_in_flight = Some(2);
        assert_eq!(w.allowance(100, 1, now), 1);
        assert_eq!(w.allowance(100, 3, now), 0);
        w.ordered = true;
        w.max_in_flight = None;
        assert_eq!(w.allowance(100, 0, now), 1);
    }
}
