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
