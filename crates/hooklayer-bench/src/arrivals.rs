//! Matching arrivals to publishes: loss, duplicates, completion time and latency percentiles.
//!
//! A scenario publishes events with ids it generated and keeps the ids that got a `202`. Each
//! (hook, event id) pair is one expected delivery. The [`Tracker`] folds the receiver's arrivals
//! into a map keyed by that pair, so it can tell lost (expected, never arrived), duplicate
//! (arrived more than once: at-least-once retries) and unexpected (arrived, never acknowledged by
//! a `202` — e.g. a publish the client timed out on) deliveries apart.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::receiver::{Arrival, Receiver};

#[derive(Clone, Copy)]
struct Seen {
    sent_ns: u64,
    /// The first arrival; later ones only bump `count`.
    at_ns: u64,
    count: u32,
}

/// Arrivals of one scenario, keyed by (hook, event id).
pub struct Tracker {
    hooks: Vec<u32>,
    seen: HashMap<(u32, u128), Seen>,
}

/// What became of a scenario's expected deliveries.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    pub expected: u64,
    /// Expected deliveries that arrived at least once.
    pub delivered: u64,
    pub lost: u64,
    /// Arrivals beyond the first of an expected delivery.
    pub duplicates: u64,
    /// Distinct deliveries that arrived but were not expected.
    pub unexpected: u64,
    /// First and last first-arrival of an expected delivery (clock ns).
    #[serde(skip)]
    pub first_at_ns: Option<u64>,
    #[serde(skip)]
    pub last_at_ns: Option<u64>,
    /// Publish→arrival latency of expected deliveries (first arrival).
    pub latency: Option<Percentiles>,
}

impl Outcome {
    /// Seconds from `from_ns` (the first publish) to the last first arrival (or now), and the
    /// deliveries per second over them.
    pub fn rate_since(&self, from_ns: u64) -> (f64, f64) {
        let end_ns = self.last_at_ns.unwrap_or_else(crate::clock::now_ns);
        let secs = crate::clock::secs_between(from_ns, end_ns);
        let rate = if secs > 0.0 {
            self.delivered as f64 / secs
        } else {
            0.0
        };
        (secs, rate)
    }
}

/// Latency distribution in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Percentiles {
    pub samples: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `samples_ns` (sorted in place); `None` when empty.
    pub fn of(samples_ns: &mut [u64]) -> Option<Self> {
        if samples_ns.is_empty() {
            return None;
        }
        samples_ns.sort_unstable();
        let n = samples_ns.len();
        let rank = |q: f64| {
            let i = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
            samples_ns[i] as f64 / 1e6
        };
        let sum: u128 = samples_ns.iter().map(|&s| u128::from(s)).sum();
        Some(Self {
            samples: n as u64,
            p50_ms: rank(0.50),
            p90_ms: rank(0.90),
            p99_ms: rank(0.99),
            max_ms: samples_ns[n - 1] as f64 / 1e6,
            mean_ms: sum as f64 / n as f64 / 1e6,
        })
    }
}

impl Tracker {
    /// Tracks arrivals on `hooks`; arrivals on other paths are ignored.
    pub fn new(hooks: &[u32]) -> Self {
        Self {
            hooks: hooks.to_vec(),
            seen: HashMap::new(),
        }
    }

    pub fn ingest(&mut self, arrivals: Vec<Arrival>) {
        for a in arrivals {
            if !self.hooks.contains(&a.hook) {
                continue;
            }
            self.seen
                .entry((a.hook, a.id))
                .and_modify(|s| s.count += 1)
                .or_insert(Seen {
                    sent_ns: a.sent_ns,
                    at_ns: a.at_ns,
                    count: 1,
                });
        }
    }

    fn missing(&self, expected: &[u128]) -> usize {
        self.hooks
            .iter()
            .map(|&h| {
                let seen = &self.seen;
                expected
                    .iter()
                    .filter(|&&id| !seen.contains_key(&(h, id)))
                    .count()
            })
            .sum()
    }

    /// Drains the receiver until every expected delivery arrived, nothing arrived for `stall`,
    /// or `limit` passed. Returns whether all arrived.
    pub async fn wait_all(
        &mut self,
        receiver: &Receiver,
        expected: &[u128],
        limit: Duration,
        stall: Duration,
    ) -> bool {
        let target = expected.len() * self.hooks.len();
        let started = Instant::now();
        let mut last_progress = Instant::now();
        let mut last_check = None::<Instant>;
        loop {
            let batch = receiver.drain();
            if !batch.is_empty() {
                last_progress = Instant::now();
            }
            self.ingest(batch);
            // The exact check is O(expected); run it only when the count says we may be done,
            // and at most once a second (unexpected arrivals can inflate the count).
            if self.seen.len() >= target
                && last_check.is_none_or(|t: Instant| t.elapsed() >= Duration::from_secs(1))
            {
                if self.missing(expected) == 0 {
                    return true;
                }
                last_check = Some(Instant::now());
            }
            if started.elapsed() >= limit || last_progress.elapsed() >= stall {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Counts and latencies against the expected ids.
    pub fn outcome(&self, expected: &[u128]) -> Outcome {
        let mut out = Outcome {
            expected: (expected.len() * self.hooks.len()) as u64,
            ..Outcome::default()
        };
        let mut latencies = Vec::with_capacity(out.expected as usize);
        let mut matched = 0usize;
        for &hook in &self.hooks {
            for &id in expected {
                let Some(s) = self.seen.get(&(hook, id)) else {
                    out.lost += 1;
                    continue;
                };
                matched += 1;
                out.delivered += 1;
                out.duplicates += u64::from(s.count - 1);
                latencies.push(s.at_ns.saturating_sub(s.sent_ns));
                out.first_at_ns = Some(out.first_at_ns.map_or(s.at_ns, |f| f.min(s.at_ns)));
                out.last_at_ns = Some(out.last_at_ns.map_or(s.at_ns, |l| l.max(s.at_ns)));
            }
        }
        out.unexpected = (self.seen.len() - matched) as u64;
        out.latency = Percentiles::of(&mut latencies);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival(hook: u32, id: u128, at_ns: u64) -> Arrival {
        Arrival {
            hook,
            id,
            sent_ns: 0,
            at_ns,
        }
    }

    #[test]
    fn lost_duplicate_and_unexpected_deliveries_are_told_apart() {
        let mut tracker = Tracker::new(&[0, 1]);
        tracker.ingest(vec![
            arrival(0, 1, 10),
            arrival(0, 1, 20),
            arrival(1, 1, 30),
            arrival(0, 2, 40),
            arrival(0, 9, 50),
            arrival(5, 1, 60),
        ]);
        let out = tracker.outcome(&[1, 2]);
        assert_eq!((out.expected, out.delivered), (4, 3));
        assert_eq!((out.lost, out.duplicates, out.unexpected), (1, 1, 1));
        assert_eq!((out.first_at_ns, out.last_at_ns), (Some(10), Some(40)));
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut samples: Vec<u64> = (1..=100).map(|ms| ms * 1_000_000).collect();
        let p = Percentiles::of(&mut samples).unwrap();
        assert_eq!(
            (p.p50_ms, p.p90_ms, p.p99_ms, p.max_ms),
            (50.0, 90.0, 99.0, 100.0)
        );
        assert!(Percentiles::of(&mut []).is_none());
    }
}
