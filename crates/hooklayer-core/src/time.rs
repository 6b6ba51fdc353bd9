//! Timestamps: milliseconds since the Unix epoch, the one representation stored in every
//! backend, rendered as RFC 3339 UTC with milliseconds and `Z` (`2026-11-30T07:00:00.123Z`).

use chrono::{DateTime, SecondsFormat, Utc};
use std::fmt;

/// A point in time with millisecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time, truncated to the millisecond.
    pub fn now() -> Self {
        Self(Utc::now().timestamp_millis())
    }
    /// From milliseconds since the epoch.
    pub fn from_millis(ms: i64) -> Self {
        Self(ms)
    }
    /// Milliseconds since the epoch.
    pub fn millis(&self) -> i64 {
        self.0
    }
    /// Whole seconds since the epoch (the Standard Webhooks `webhook-timestamp`).
    pub fn unix_seconds(&self) -> i64 {
        self.0.div_euclid(1000)
    }
    /// This time plus `ms` milliseconds.
    pub fn plus_millis(&self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }
    /// Parses any RFC 3339 time (any offset, any precision), truncated to milliseconds.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| Self(t.with_timezone(&Utc).timestamp_millis()))
    }
    /// `2026-11-30T07:00:00.123Z`
    pub fn to_rfc3339(&self) -> String {
        DateTime::<Utc>::from_timestamp_millis(self.0)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_milliseconds_and_z() {
        let t = Timestamp::parse_rfc3339("2026-11-30T08:00:00.123+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-30T07:00:00.123Z");
        let whole = Timestamp::parse_rfc3339("2015-03-14T13:37:27Z").unwrap();
        assert_eq!(whole.to_rfc3339(), "2015-03-14T13:37:27.000Z");
        assert_eq!(whole.unix_seconds(), 1_426_340_247);
    }

    #[test]
    fn rejects_non_rfc3339() {
        assert!(Timestamp::parse_rfc3339("yesterday").is_none());
        assert!(Timestamp::parse_rfc3339("2026-11-30").is_none());
    }
}
