//! When a failed delivery is tried again: the Standard Webhooks (Svix) schedule, immediately,
//! then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after each failure (about 27 hours in all),
//! after which the message is failed. A little jitter, drawn by the caller, keeps the retries of
//! many messages that failed together (an endpoint down) from arriving together again.

use std::time::Duration;

/// The pause before each attempt: entry `n` is the wait before attempt `n + 1`, counted from the
/// previous attempt (the first is immediate).
pub const STANDARD: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// At most this fraction of a pause is added as jitter.
const JITTER: f64 = 0.1;

/// A retry schedule: the standard one, or a shorter one given in configuration (for tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl Default for RetrySchedule {
    fn default() -> Self {
        Self(STANDARD.to_vec())
    }
}

impl RetrySchedule {
    /// A schedule of these pauses (the first is the wait before the first attempt, normally 0).
    /// `None` when empty: a message must be tried at least once.
    pub fn new(pauses: Vec<Duration>) -> Option<Self> {
        (!pauses.is_empty()).then_some(Self(pauses))
    }

    /// How many attempts a message gets at most.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.0.len()).unwrap_or(u32::MAX)
    }

    /// The pause before the next attempt, after `attempts_made` attempts have failed, with
    /// `jitter` (in `[0, 1)`, from the caller's random source) adding up to 10 %; `None` when
    /// the schedule is exhausted and the message has failed.
    pub fn next_pause(&self, attempts_made: u32, jitter: f64) -> Option<Duration> {
        let pause = *self.0.get(usize::try_from(attempts_made).ok()?)?;
        let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.0 };
        Some(pause + pause.mul_f64(JITTER * jitter))
    }

    /// The whole span from the first attempt to the last, without jitter.
    pub fn span(&self) -> Duration {
        self.0.iter().skip(1).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_schedule_spans_about_a_day_in_eight_attempts() {
        let s = RetrySchedule::default();
        assert_eq!(s.max_attempts(), 8);
        assert_eq!(s.next_pause(0, 0.0), Some(Duration::ZERO), "the first attempt is immediate");
        assert_eq!(s.next_pause(1, 0.0), Some(Duration::from_secs(5)));
        assert_eq!(s.next_pause(7, 0.0), Some(Duration::from_secs(36_000)));
        assert_eq!(s.next_pause(8, 0.0), None, "after the eighth failure the message has failed");
        let span = s.span();
        assert!(span > Duration::from_secs(24 * 3600) && span < Duration::from_secs(28 * 3600), "{span:?}");
    }

    #[test]
    fn jitter_adds_at_most_a_tenth_and_bad_jitter_adds_nothing() {
        let s = RetrySchedule::default();
        assert_eq!(s.next_pause(2, 0.5), Some(Duration::from_secs(315)));
        assert!(s.next_pause(2, 0.999_999).expect("pause") <= Duration::from_secs(330));
        assert_eq!(s.next_pause(2, f64::NAN), Some(Duration::from_secs(300)));
        assert_eq!(s.next_pause(2, 7.0), Some(Duration::from_secs(330)));
    }

    #[test]
    fn a_configured_schedule_must_not_be_empty() {
        assert_eq!(RetrySchedule::new(vec![]), None);
        let s = RetrySchedule::new(vec![Duration::ZERO, Duration::from_millis(200)]).expect("schedule");
        assert_eq!(s.max_attempts(), 2);
        assert_eq!(s.next_pause(2, 0.0), None);
    }
}
