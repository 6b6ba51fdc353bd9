//! One monotonic clock for the whole bench process.
//!
//! Publishers stamp each event with `now_ns()` (in `message.sent_at_ns`) and the receiver stamps
//! each arrival with `now_ns()`; both run in this process, so the difference is a true
//! publish→arrival latency with no wall-clock skew.

use std::sync::OnceLock;
use std::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the first call in this process.
pub fn now_ns() -> u64 {
    // u64 nanoseconds overflow after 584 years; the truncation is harmless.
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Seconds between two `now_ns()` readings.
pub fn secs_between(from_ns: u64, to_ns: u64) -> f64 {
    to_ns.saturating_sub(from_ns) as f64 / 1e9
}
