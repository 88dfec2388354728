//! Time as the domain sees it: UTC microseconds since the Unix epoch.
//!
//! The domain never reads the system clock itself; it asks the [`crate::ports::Clock`] port,
//! so tests can move time and the evidence chain can state exactly which clock it trusted.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A point in time, UTC, in microseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// This moment minus `d`, saturating at the earliest representable time.
    pub fn saturating_sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(duration_micros(d)))
    }

    /// This moment plus `d`, saturating at the latest representable time.
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(duration_micros(d)))
    }

    /// How long after `earlier` this moment is; zero when it is not after.
    pub fn duration_since(self, earlier: Timestamp) -> Duration {
        let micros = self.0.saturating_sub(earlier.0).max(0);
        Duration::from_micros(u64::try_from(micros).unwrap_or(0))
    }
}

fn duration_micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        let t = Timestamp::from_micros(i64::MAX - 1);
        assert_eq!(t.saturating_add(Duration::from_secs(1)).as_micros(), i64::MAX);
        let t = Timestamp::from_micros(i64::MIN + 1);
        assert_eq!(t.saturating_sub(Duration::from_secs(1)).as_micros(), i64::MIN);
    }

    #[test]
    fn duration_since_a_later_time_is_zero() {
        let a = Timestamp::from_micros(10);
        let b = Timestamp::from_micros(20);
        assert_eq!(b.duration_since(a), Duration::from_micros(10));
        assert_eq!(a.duration_since(b), Duration::ZERO);
    }
}
