//! The retry policy as data plus one pure function. The schedule comes from
//! `HOOKLAYER_RETRY_SCHEDULE` (Layer's 10s, 30s, 2m, 5m, 20m by default; milliseconds in tests).

use std::time::Duration;

/// Delays before retry 1..n; `n + 1` attempts in all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

/// Jitter applied to scheduled delays: ±10%.
pub const JITTER: f64 = 0.10;

impl RetrySchedule {
    pub fn new(delays: Vec<Duration>) -> Self {
        Self { delays }
    }

    /// Layer's schedule: 10 s, 30 s, 2 min, 5 min, 20 min.
    pub fn layer_default() -> Self {
        Self::new([10, 30, 120, 300, 1200].map(Duration::from_secs).to_vec())
    }

    /// Attempts a delivery gets before it fails: the first plus one per delay.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.delays.len()).unwrap_or(u32::MAX - 1) + 1
    }

    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// When to try again after failed attempt number `attempts_made` (1-based), or `None` when
    /// that was the last. `jitter_unit` is a sample from [-1, 1] (the caller draws it, so this
    /// stays pure). A `retry_after` (429/503) replaces the jittered delay, clamped to
    /// [scheduled, 2 × scheduled].
    pub fn next_delay(
        &self,
        attempts_made: u32,
        retry_after: Option<Duration>,
        jitter_unit: f64,
    ) -> Option<Duration> {
        let index = usize::try_from(attempts_made.checked_sub(1)?).ok()?;
        let scheduled = *self.delays.get(index)?;
        Some(match retry_after {
            Some(wanted) => wanted.clamp(scheduled, scheduled * 2),
            None => scheduled.mul_f64(1.0 + JITTER * jitter_unit.clamp(-1.0, 1.0)),
        })
    }
}

/// Parses a `Retry-After` value: delta seconds or an HTTP date (relative to `now_unix_ms`).
pub fn parse_retry_after(value: &str, now_unix_ms: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value)
        .ok()?
        .timestamp_millis();
    Some(Duration::from_millis(
        u64::try_from(at - now_unix_ms).unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn layer_schedule_gives_six_attempts() {
        let s = RetrySchedule::layer_default();
        assert_eq!(s.max_attempts(), 6);
        assert_eq!(s.next_delay(1, None, 0.0), Some(Duration::from_secs(10)));
        assert_eq!(s.next_delay(5, None, 0.0), Some(Duration::from_secs(1200)));
        assert_eq!(s.next_delay(6, None, 0.0), None);
        assert_eq!(s.next_delay(0, None, 0.0), None);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let s = RetrySchedule::new(vec![ms(1000)]);
        assert_eq!(s.next_delay(1, None, 1.0), Some(ms(1100)));
        assert_eq!(s.next_delay(1, None, -1.0), Some(ms(900)));
        assert_eq!(s.next_delay(1, None, 7.0), Some(ms(1100)));
    }

    #[test]
    fn retry_after_is_clamped_to_one_to_two_times_the_schedule() {
        let s = RetrySchedule::new(vec![ms(10_000)]);
        assert_eq!(s.next_delay(1, Some(ms(1)), 1.0), Some(ms(10_000)));
        assert_eq!(s.next_delay(1, Some(ms(15_000)), 1.0), Some(ms(15_000)));
        assert_eq!(s.next_delay(1, Some(ms(99_000)), 1.0), Some(ms(20_000)));
    }

    #[test]
    fn every_delay_of_any_schedule_is_within_bounds() {
        // A property check over a spread of schedules, attempts and jitter samples.
        for base in [1u64, 7, 250, 10_000, 1_200_000] {
            let s = RetrySchedule::new(vec![ms(base); 5]);
            for attempt in 1..=5 {
                for step in -10..=10 {
                    let j = f64::from(step) / 10.0;
                    let d = s.next_delay(attempt, None, j).unwrap();
                    assert!(d >= ms(base).mul_f64(0.9) && d <= ms(base).mul_f64(1.1));
                    let r = s
                        .next_delay(attempt, Some(ms(base * u64::from(attempt))), j)
                        .unwrap();
                    assert!(r >= ms(base) && r <= ms(base * 2));
                }
            }
            assert_eq!(s.next_delay(6, None, 0.0), None);
        }
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("120", 0), Some(Duration::from_secs(120)));
        let now = chrono::DateTime::parse_from_rfc2822("Sun, 06 Nov 1994 08:49:37 GMT")
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
