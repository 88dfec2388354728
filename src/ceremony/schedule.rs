//! Scheduled sending in the sender's terms: a wall-clock time ("2026-12-07T09:00") in an IANA
//! time zone ("Europe/Paris"), turned into the one instant the ceremony keeps, and that instant
//! told back in the same terms. The rules of scheduling itself (a draft only, in the future, not
//! too far ahead, once) are in [`super::decide`].

use crate::time::Timestamp;
use chrono::{Datelike as _, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _, Timelike as _};
use std::time::Duration;

/// The furthest ahead a send may be scheduled: a year and a day (so "this day next year" fits).
pub const MAX_AHEAD: Duration = Duration::from_secs(366 * 24 * 3600);

/// The longest time zone name accepted (the longest IANA name is 32 bytes).
const MAX_ZONE_BYTES: usize = 64;

/// Why a wall-clock time cannot be scheduled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleTimeError {
    #[error("{0:?} is not a date and time of the form YYYY-MM-DDTHH:MM")]
    Form(String),
    #[error("{0:?} is not an IANA time zone name (such as \"Europe/Paris\" or \"UTC\")")]
    Zone(String),
    /// The clocks jump over it (the night summer time starts).
    #[error("{local} does not exist in {zone}: the clocks move forward then; pick another time")]
    Skipped { local: String, zone: String },
}

/// The zone named `name`.
pub fn zone(name: &str) -> Result<chrono_tz::Tz, ScheduleTimeError> {
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_ZONE_BYTES {
        return Err(ScheduleTimeError::Zone(name.chars().take(MAX_ZONE_BYTES).collect()));
    }
    name.parse::<chrono_tz::Tz>().map_err(|_| ScheduleTimeError::Zone(name.to_owned()))
}

/// The instant `local` (`YYYY-MM-DDTHH:MM`, seconds optional, as an HTML `datetime-local` input
/// gives it) names in `zone_name`. A time the clocks pass twice (the night summer time ends) is
/// the first of the two: a send goes out at the earlier moment, never an hour late.
pub fn instant_in(local: &str, zone_name: &str) -> Result<Timestamp, ScheduleTimeError> {
    let tz = zone(zone_name)?;
    let local = local.trim();
    let naive = parse_local(local).ok_or_else(|| ScheduleTimeError::Form(local.chars().take(40).collect()))?;
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(Timestamp::from_micros(t.timestamp_micros())),
        LocalResult::None => Err(ScheduleTimeError::Skipped { local: local.to_owned(), zone: tz.name().to_owned() }),
    }
}

fn parse_local(text: &str) -> Option<NaiveDateTime> {
    let (date, time) = text.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-');
    let year: i32 = number(d.next()?, 4)?;
    let month: u32 = number(d.next()?, 2)?;
    let day: u32 = number(d.next()?, 2)?;
    let mut t = time.splitn(3, ':');
    let hour: u32 = number(t.next()?, 2)?;
    let minute: u32 = number(t.next()?, 2)?;
    let second: u32 = match t.next() {
        Some(s) => number(s, 2)?,
        None => 0,
    };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = NaiveTime::from_hms_opt(hour, minute, second)?;
    Some(NaiveDateTime::new(date, time))
}

/// Exactly `digits` ASCII digits.
fn number<T: std::str::FromStr>(text: &str, digits: usize) -> Option<T> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok())?
}

/// `at` as the sender reads it in `zone_name`: "Mon 7 Dec 2026, 09:00 (Europe/Paris)". A zone
/// that no longer parses (it cannot: it was checked when stored) falls back to UTC.
pub fn describe(at: Timestamp, zone_name: &str) -> String {
    let tz = zone(zone_name).unwrap_or(chrono_tz::Tz::UTC);
    let Some(utc) = chrono::DateTime::from_timestamp_micros(at.as_micros()) else {
        return format!("{} µs (UTC)", at.as_micros());
    };
    let t = utc.with_timezone(&tz);
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let weekday = DAYS[t.weekday().num_days_from_monday() as usize];
    let month = MONTHS[t.month0() as usize];
    format!("{weekday} {} {month} {}, {:02}:{:02} ({})", t.day(), t.year(), t.hour(), t.minute(), tz.name())
}

/// `at` in `zone_name` in the form [`instant_in`] reads (`YYYY-MM-DDTHH:MM`), to fill a
/// `datetime-local` input with the time already chosen.
pub fn local_input(at: Timestamp, zone_name: &str) -> String {
    let tz = zone(zone_name).unwrap_or(chrono_tz::Tz::UTC);
    let Some(utc) = chrono::DateTime::from_timestamp_micros(at.as_micros()) else { return String::new() };
    let t = utc.with_timezone(&tz);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}", t.year(), t.month(), t.day(), t.hour(), t.minute())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(utc: &str) -> Timestamp {
        instant_in(utc, "UTC").expect("valid")
    }

    #[test]
    fn a_wall_clock_time_is_read_in_its_zone() {
        // Paris is UTC+1 in December, UTC+2 in July.
        assert_eq!(instant_in("2026-12-07T09:00", "Europe/Paris"), Ok(at("2026-12-07T08:00")));
        assert_eq!(instant_in("2027-07-01T09:00", "Europe/Paris"), Ok(at("2027-07-01T07:00")));
        assert_eq!(instant_in(" 2026-12-07 09:00:30 ", "America/New_York"), Ok(at("2026-12-07T14:00:30")));
        assert_eq!(at("1970-01-01T00:01").as_micros(), 60_000_000);
    }

    #[test]
    fn times_the_clocks_skip_are_refused_and_repeated_ones_are_the_first() {
        // 2027-03-28 02:30 does not exist in Paris; 2027-10-31 02:30 happens twice.
        assert!(matches!(instant_in("2027-03-28T02:30", "Europe/Paris"), Err(ScheduleTimeError::Skipped { .. })));
        assert_eq!(instant_in("2027-10-31T02:30", "Europe/Paris"), Ok(at("2027-10-31T00:30")));
    }

    #[test]
    fn malformed_input_is_refused_with_a_reason() {
        for bad in [
            "",
            "2026-12-07",
            "2026-12-07T9:00",
            "2026-13-01T09:00",
            "2026-02-30T09:00",
            "2026-12-07T24:00",
            "+2026-12-07T09:00",
            "2026-12-07T09:00:00:00",
        ] {
            assert!(matches!(instant_in(bad, "UTC"), Err(ScheduleTimeError::Form(_))), "{bad:?}");
        }
        for zone in ["", "Mars/Olympus", "Europe/Paris/Left", &"x".repeat(100)] {
            assert!(matches!(instant_in("2026-12-07T09:00", zone), Err(ScheduleTimeError::Zone(_))), "{zone:?}");
        }
    }

    #[test]
    fn an_instant_is_told_back_in_the_senders_terms() {
        let t = instant_in("2026-12-07T09:05", "Europe/Paris").expect("valid");
        assert_eq!(describe(t, "Europe/Paris"), "Mon 7 Dec 2026, 09:05 (Europe/Paris)");
        assert_eq!(describe(t, "UTC"), "Mon 7 Dec 2026, 08:05 (UTC)");
        assert_eq!(local_input(t, "Europe/Paris"), "2026-12-07T09:05");
        assert_eq!(instant_in(&local_input(t, "Asia/Tokyo"), "Asia/Tokyo"), Ok(t));
    }
}
