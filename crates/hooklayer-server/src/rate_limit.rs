//! Per-app rate limits on the app APIs: a token bucket per app that refills at
//! `HOOKLAYER_RATE_LIMIT` tokens per second up to twice that (the burst), starting full.
//! Buckets live in this process; with several API processes each enforces its own share.

use hooklayer_core::ids::AppId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// The limiter; `rate == 0` turns it off.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    // CONCURRENCY: one short critical section per request (a map lookup and some arithmetic),
    // far cheaper than the request itself; no await is held under the lock.
    buckets: Mutex<HashMap<AppId, Bucket>>,
}

impl RateLimiter {
    pub fn new(per_second: u32) -> Self {
        let rate = f64::from(per_second);
        Self {
            rate,
            burst: rate * 2.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `app`, or says how many whole seconds until one is available.
    pub fn check(&self, app: AppId) -> Result<(), u64> {
        self.check_at(app, Instant::now())
    }

    fn check_at(&self, app: AppId, now: Instant) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(app).or_insert(Bucket {
            tokens: self.burst,
            refilled_at: now,
        });
        let elapsed = now
            .saturating_duration_since(bucket.refilled_at)
            .as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.rate;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_bucket_starts_full_at_twice_the_rate_and_refills() {
        let limiter = RateLimiter::new(2);
        let app = AppId::new();
        let t0 = Instant::now();
        for _ in 0..4 {
            assert!(limiter.check_at(app, t0).is_ok());
        }
        assert_eq!(limiter.check_at(app, t0), Err(1));
        assert!(
            limiter.check_at(AppId::new(), t0).is_ok(),
            "other apps have their own bucket"
        );
        assert!(limiter
            .check_at(app, t0 + Duration::from_millis(500))
            .is_ok());
    }

    #[test]
    fn zero_turns_it_off() {
        let limiter = RateLimiter::new(0);
        let app = AppId::new();
        for _ in 0..10_000 {
            assert!(limiter.check(app).is_ok());
        }
    }
}
