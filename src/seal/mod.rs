//! The document seal: a PAdES signature (ETSI EN 319 142, `/SubFilter /ETSI.CAdES.detached`)
//! the server applies to a completed PDF with the instance's seal certificate, optionally with
//! an RFC 3161 signature timestamp (PAdES B-T), and the verifier for it.
//!
//! The server builds seals; this module holds what both sides must agree on (object
//! identifiers, the ESS and RFC 3161 structures, PDF dates) and the one verifier, which also
//! runs in the browser (wasm32). [`verify_seal`] checks the *last* signature of a file: that its
//! `/ByteRange` leaves out exactly its `/Contents` and reaches the end of the file, that the
//! signed digest matches those bytes, that the signer's key made the signature and the ESS
//! signing-certificate-v2 attribute names that signer, that the certificate chains to a given
//! trust anchor, and that a signature timestamp, when present, stamps this signature value and
//! is signed by a time-stamping authority (trusted when it too chains to an anchor).
//!
//! Invariants: pure functions of their input; no clock (certificate validity is judged at the
//! timestamp's time, else at the signer's claimed `/M`), no randomness, no network (so
//! revocation is not checked, and the report says so).

pub mod asn1;
pub mod certs;
pub mod cms;
pub mod crypto;
pub mod oid;
pub mod pdf;
pub mod timestamp;
pub mod verify;

pub use timestamp::{TimestampError, TimestampToken, verify_timestamp_token};
pub use verify::{SealFacts, SealVerification, verify_seal, verify_seal_detailed};

use crate::Timestamp;

/// `2026-11-22T06:30:00Z` (seconds; `unknown time` when out of range).
pub fn format_utc(t: Timestamp) -> String {
    match date_time(t) {
        Some(dt) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minutes(),
            dt.seconds()
        ),
        None => "unknown time".to_owned(),
    }
}

/// A PDF date (ISO 32000-1 section 7.9.4) in UTC, `D:20261122063000+00'00'`, for `/M`.
pub fn pdf_date(t: Timestamp) -> Option<String> {
    let dt = date_time(t)?;
    Some(format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minutes(),
        dt.seconds()
    ))
}

fn date_time(t: Timestamp) -> Option<der::DateTime> {
    let seconds = u64::try_from(t.as_micros().div_euclid(1_000_000)).ok()?;
    der::DateTime::from_unix_duration(core::time::Duration::from_secs(seconds)).ok()
}

/// Reads a PDF date: `D:YYYY` followed by optional `MM DD HH mm SS` and a zone (`Z`,
/// `+HH'mm'`, `-HH'mm`). Without a zone the time is taken as UTC.
pub fn parse_pdf_date(text: &[u8]) -> Option<Timestamp> {
    let text = core::str::from_utf8(text).ok()?;
    let text = text.strip_prefix("D:").unwrap_or(text);
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if !(4..=14).contains(&digits) || digits % 2 != 0 {
        return None;
    }
    let field = |at: usize, default: u16| -> Option<u16> {
        if at + 2 <= digits { text.get(at..at + 2)?.parse().ok() } else { Some(default) }
    };
    let year: u16 = text.get(0..4)?.parse().ok()?;
    let seconds = asn1::calendar_seconds(year, field(4, 1)?, field(6, 1)?, field(8, 0)?, field(10, 0)?, field(12, 0)?)?;
    let zone = text.get(digits..)?;
    let offset = match zone.bytes().next() {
        None | Some(b'Z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let rest: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
            let hours: i64 = rest.get(0..2)?.parse().ok()?;
            let minutes: i64 = rest.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
            let offset = hours * 3600 + minutes * 60;
            if sign == b'+' { offset } else { -offset }
        }
        Some(_) => return None,
    };
    // Local time = UTC + offset, so UTC = local - offset.
    Some(Timestamp::from_micros((seconds - offset).checked_mul(1_000_000)?))
}

#[cfg(test)]
mod tests;
