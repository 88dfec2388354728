//! The system clock, the one place the server reads wall time for the domain.

use attesta_core::Timestamp;
use attesta_core::ports::Clock;

pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(clippy::disallowed_methods, reason = "this is the Clock port's implementation")]
    fn now(&self) -> Timestamp {
        let now = time::OffsetDateTime::now_utc();
        let micros = now.unix_timestamp_nanos() / 1_000;
        Timestamp::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
    }
}

/// The system clock moved by an offset the owner can change: tests use it to make time pass
/// (an ID token expire, a session time out) without waiting.
#[derive(Default)]
pub struct MovableClock {
    offset_micros: std::sync::atomic::AtomicI64,
}

impl MovableClock {
    /// Moves this clock `by` into the future.
    pub fn advance(&self, by: std::time::Duration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.offset_micros.fetch_add(micros, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for MovableClock {
    fn now(&self) -> Timestamp {
        let offset = self.offset_micros.load(std::sync::atomic::Ordering::SeqCst);
        Timestamp::from_micros(SystemClock.now().as_micros().saturating_add(offset))
    }
}

/// The UTC calendar date of `at`, as `YYYY-MM-DD` (what date fields are filled with).
pub fn utc_date(at: Timestamp) -> String {
    let nanos = i128::from(at.as_micros()) * 1_000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        Err(_) => "unknown date".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use attesta_core::ports::Clock as _;

    #[test]
    fn a_movable_clock_moves_only_forward_by_what_it_is_told() {
        let clock = super::MovableClock::default();
        let before = super::SystemClock.now();
        clock.advance(std::time::Duration::from_secs(3600));
        let moved = clock.now().duration_since(before);
        assert!(moved >= std::time::Duration::from_secs(3600) && moved < std::time::Duration::from_secs(3660));
    }

    #[test]
    fn dates_are_utc_and_padded() {
        let t = attesta_core::Timestamp::from_micros(1_700_000_000 * 1_000_000);
        assert_eq!(super::utc_date(t), "2023-11-14");
    }
}
