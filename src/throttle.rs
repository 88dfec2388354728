//! Login throttling policy.
//!
//! A sliding window: once `max_failures` failed attempts for one key (an account, or a client
//! address) fall inside the last `window`, further attempts are refused until the oldest of them
//! leaves the window. Failures are kept by the store, so every server process sharing a database
//! sees the same count. A success clears the account's failures, never the address's: an attacker
//! who knows one password must not be able to reset the counter for the others.

use crate::time::Timestamp;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed inside the window before attempts are refused.
    pub max_failures: u32,
    /// How far back failures count.
    pub window: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleDecision {
    Allow,
    /// Refused; the caller may try again after this long.
    Refuse {
        retry_after: Duration,
    },
}

impl ThrottlePolicy {
    /// Decide whether another attempt may be made now, given the times of recent failures (any
    /// order; failures older than the window are ignored).
    pub fn decide(&self, failures: &[Timestamp], now: Timestamp) -> ThrottleDecision {
        let since = now.saturating_sub(self.window);
        let mut recent: Vec<Timestamp> = failures.iter().copied().filter(|t| *t > since).collect();
        if recent.len() < self.max_failures as usize {
            return ThrottleDecision::Allow;
        }
        recent.sort_unstable();
        // The attempt becomes allowed when enough of the oldest failures have aged out that fewer
        // than `max_failures` remain.
        let excess = recent.len() + 1 - self.max_failures as usize;
        let unlock_at = recent[excess - 1].saturating_add(self.window);
        let retry_after = unlock_at.duration_since(now).max(Duration::from_secs(1));
        ThrottleDecision::Refuse { retry_after }
    }

    /// The earliest failure time that still counts at `now`.
    pub fn window_start(&self, now: Timestamp) -> Timestamp {
        now.saturating_sub(self.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEC: i64 = 1_000_000;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy { max_failures: 3, window: Duration::from_secs(60) }
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_micros(s * SEC)
    }

    #[test]
    fn allows_until_the_limit_is_reached() {
        let p = policy();
        assert_eq!(p.decide(&[], at(100)), ThrottleDecision::Allow);
        assert_eq!(p.decide(&[at(90), at(95)], at(100)), ThrottleDecision::Allow);
        assert!(matches!(p.decide(&[at(90), at(95), at(99)], at(100)), ThrottleDecision::Refuse { .. }));
    }

    #[test]
    fn refusal_ends_when_the_oldest_failure_leaves_the_window() {
        let p = policy();
        let failures = [at(90), at(95), at(99)];
        assert_eq!(p.decide(&failures, at(100)), ThrottleDecision::Refuse { retry_after: Duration::from_secs(50) });
        assert_eq!(p.decide(&failures, at(150)), ThrottleDecision::Allow);
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let p = policy();
        assert_eq!(p.decide(&[at(0), at(1), at(2)], at(100)), ThrottleDecision::Allow);
    }

    proptest! {
        #[test]
        fn a_refused_caller_is_allowed_once_retry_after_has_passed(
            offsets in proptest::collection::vec(0i64..120, 0..12),
            max in 1u32..6,
        ) {
            let p = ThrottlePolicy { max_failures: max, window: Duration::from_secs(60) };
            let now = at(200);
            let failures: Vec<_> = offsets.iter().map(|o| at(200 - o)).collect();
            if let ThrottleDecision::Refuse { retry_after } = p.decide(&failures, now) {
                prop_assert!(retry_after > Duration::ZERO);
                prop_assert!(retry_after <= p.window);
                let later = now.saturating_add(retry_after);
                prop_assert_eq!(p.decide(&failures, later), ThrottleDecision::Allow);
            }
        }

        #[test]
        fn never_refuses_with_fewer_recent_failures_than_the_limit(
            n in 0u32..5,
            max in 1u32..8,
        ) {
            let p = ThrottlePolicy { max_failures: max, window: Duration::from_secs(60) };
            let failures: Vec<_> = (0..n).map(|i| at(100 + i64::from(i))).collect();
            let decision = p.decide(&failures, at(110));
            prop_assert_eq!(decision == ThrottleDecision::Allow, n < max);
        }
    }
}
