//! Sign-in throttling per client address (SPEC §13: a wrong token slows further attempts).
//!
//! Each address may fail [`FREE_FAILURES`] times per [`WINDOW`]; after that its sign-ins are
//! refused (429) until the window that began with its first failure ends. Successful sign-ins
//! do not count. The table lives in memory: an attacker spreading over processes gains a
//! factor of the process count against 256-bit tokens, which changes nothing in practice.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins an address may make per window.
pub const FREE_FAILURES: u32 = 5;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; older windows are dropped first when full.
const MAX_ADDRESSES: usize = 10_000;

/// Failed sign-ins per address.
#[derive(Default)]
pub struct SignInThrottle {
    // CONCURRENCY: short critical sections, never held across an await.
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl SignInThrottle {
    /// `Err(seconds to wait)` when `addr` has failed too often lately.
    pub fn check(&self, addr: IpAddr) -> Result<(), u64> {
        let map = self.lock();
        match map.get(&addr) {
            Some((since, count)) if *count >= FREE_FAILURES && since.elapsed() < WINDOW => {
                Err((WINDOW - since.elapsed()).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed sign-in from `addr`.
    pub fn failed(&self, addr: IpAddr) {
        let mut map = self.lock();
        if map.len() >= MAX_ADDRESSES {
            map.retain(|_, (since, _)| since.elapsed() < WINDOW);
        }
        let entry = map.entry(addr).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (Instant, u32)>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_after_its_free_failures_and_others_are_not() {
        let throttle = SignInThrottle::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..FREE_FAILURES {
            assert!(throttle.check(a).is_ok());
            throttle.failed(a);
        }
        assert!(throttle.check(a).is_err());
        assert!(throttle.check(b).is_ok());
    }
}
