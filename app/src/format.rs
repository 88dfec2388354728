//! How numbers, sizes and times read on screen. The same on the server and in the browser, so
//! hydration never sees a different text.

/// UTC microseconds as `2026-11-22 10:45:12 UTC`.
pub fn time(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, (rem % 3600) / 60, rem % 60)
}

/// UTC microseconds as `2026-11-22`.
pub fn date(micros: i64) -> String {
    let (y, m, d) = civil_from_days(micros.div_euclid(1_000_000).div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Bytes as `1.5 MB`.
pub fn size(bytes: u64) -> String {
    attesta_core::documents::human_bytes(bytes)
}

/// Percent-encodes `text` for a URL query value or an RFC 5987 `filename*`: everything but
/// ASCII letters, digits and `-_.~`.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `1 page`, `12 pages`.
pub fn pages(n: u32) -> String {
    if n == 1 { "1 page".to_owned() } else { format!("{n} pages") }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(super::time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::time(1_795_350_312_000_000), "2026-11-22 12:25:12 UTC");
        assert_eq!(super::date(951_782_400_000_000), "2000-02-29");
        assert_eq!(super::time(-1_000_000), "1969-12-31 23:59:59 UTC");
    }
}
