//! One-time codes by email: 6 digits, valid 10 minutes, 5 wrong tries lock the code, and a new
//! one can be asked for only after a pause.
//!
//! The rules live here as plain functions over the stored state, so every server process that
//! shares the database applies the same ones. Wrong codes also count across codes: after
//! [`OtpPolicy::max_total_failures`] for one link no code is sent or accepted any more, until the
//! sender resends the link (a fresh link starts a fresh count). Without that, asking for a new
//! code after every four wrong guesses would allow thousands of guesses a day. Codes are stored as `SHA-256("attesta/v1/otp" ||
//! 0x00 || recipient || 0x00 || code)`; a database reader would still have to try the million
//! codes, which is why a code lives 10 minutes and dies after 5 wrong tries.

use crate::evidence::Sha256;
use crate::evidence::hash::{tag, tagged};
use crate::time::Timestamp;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpPolicy {
    /// How long a code may be used after it was sent.
    pub validity: Duration,
    /// Wrong codes accepted before the code is locked.
    pub max_attempts: u32,
    /// Shortest time between two codes sent to one person.
    pub resend_pause: Duration,
    /// How long after a lock before a new code may be sent.
    pub lock_pause: Duration,
    /// Wrong codes, over all codes sent for one link, after which codes stop.
    pub max_total_failures: u32,
}

impl Default for OtpPolicy {
    fn default() -> Self {
        Self {
            validity: Duration::from_secs(10 * 60),
            max_attempts: 5,
            resend_pause: Duration::from_secs(30),
            lock_pause: Duration::from_secs(5 * 60),
            max_total_failures: 10,
        }
    }
}

/// A code as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpState {
    pub code_hash: Sha256,
    pub issued_at: Timestamp,
    /// Wrong codes entered for this code so far.
    pub attempts: u32,
    pub locked_at: Option<Timestamp>,
    pub verified_at: Option<Timestamp>,
    /// Wrong codes over every code sent for this link.
    pub total_failures: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OtpRefusal {
    #[error("a code was sent moments ago; you can ask for another in {} s", retry_after.as_secs().max(1))]
    TooSoon { retry_after: Duration },
    #[error("too many wrong codes; you can ask for a new code in {} min", retry_after.as_secs().div_ceil(60).max(1))]
    Locked { retry_after: Duration },
    #[error("too many wrong codes for this link: ask the sender to send you a new link")]
    Exhausted,
}

/// What checking an entered code concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpOutcome {
    Verified,
    /// Wrong; this many tries remain before the code locks (0: it just locked).
    Wrong {
        remaining: u32,
    },
    Expired,
    Locked {
        retry_after: Duration,
    },
    /// No code was sent yet, or it was already used.
    NoCode,
    /// Too many wrong codes over all codes for this link: only a new link helps.
    Exhausted,
    /// Not six digits.
    Malformed,
}

/// The stored form of `code` for `recipient`.
pub fn code_hash(recipient: &str, code: &str) -> Sha256 {
    tagged(tag::OTP, &[recipient.as_bytes(), &[0], code.as_bytes()])
}

/// Six digits from a random number (the caller draws it from a CSPRNG; any `u32` works, the
/// bias of `% 1_000_000` over 2^32 is below 0.03%).
pub fn code_from_random(random: u32) -> String {
    format!("{:06}", random % 1_000_000)
}

/// `123 456` for reading aloud and typing.
pub fn display_code(code: &str) -> String {
    if code.len() == 6 { format!("{} {}", &code[..3], &code[3..]) } else { code.to_owned() }
}

/// Keeps the digits of what was typed (`123 456`, `123-456`), or `None` when it is not 6 digits.
pub fn normalise_input(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

impl OtpPolicy {
    /// Whether a new code may be sent now, given the current one (if any).
    pub fn may_issue(&self, current: Option<&OtpState>, now: Timestamp) -> Result<(), OtpRefusal> {
        let Some(state) = current else { return Ok(()) };
        if state.total_failures >= self.max_total_failures {
            return Err(OtpRefusal::Exhausted);
        }
        if let Some(locked) = state.locked_at {
            let until = locked.saturating_add(self.lock_pause);
            if now < until {
                return Err(OtpRefusal::Locked { retry_after: until.duration_since(now).max(Duration::from_secs(1)) });
            }
            return Ok(());
        }
        let until = state.issued_at.saturating_add(self.resend_pause);
        if now < until {
            return Err(OtpRefusal::TooSoon { retry_after: until.duration_since(now).max(Duration::from_secs(1)) });
        }
        Ok(())
    }

    /// Checks `input` against the stored code and updates the state: a wrong code counts, the
    /// last allowed wrong code locks, a right one marks the code used.
    pub fn verify(&self, state: &mut OtpState, recipient: &str, input: &str, now: Timestamp) -> OtpOutcome {
        if state.verified_at.is_some() {
            return OtpOutcome::NoCode;
        }
        if state.total_failures >= self.max_total_failures {
            return OtpOutcome::Exhausted;
        }
        if let Some(locked) = state.locked_at {
            let until = locked.saturating_add(self.lock_pause);
            return OtpOutcome::Locked { retry_after: until.duration_since(now).max(Duration::from_secs(1)) };
        }
        if now >= state.issued_at.saturating_add(self.validity) {
            return OtpOutcome::Expired;
        }
        let Some(code) = normalise_input(input) else { return OtpOutcome::Malformed };
        if super::token::same_digest(&code_hash(recipient, &code), &state.code_hash) {
            state.verified_at = Some(now);
            return OtpOutcome::Verified;
        }
        state.attempts += 1;
        state.total_failures += 1;
        if state.total_failures >= self.max_total_failures {
            state.locked_at = Some(now);
            return OtpOutcome::Exhausted;
        }
        if state.attempts >= self.max_attempts {
            state.locked_at = Some(now);
            return OtpOutcome::Wrong { remaining: 0 };
        }
        OtpOutcome::Wrong { remaining: self.max_attempts - state.attempts }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEC: i64 = 1_000_000;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_micros(s * SEC)
    }

    fn issued(code: &str, t: i64) -> OtpState {
        OtpState {
            code_hash: code_hash("r1", code),
            issued_at: at(t),
            attempts: 0,
            locked_at: None,
            verified_at: None,
            total_failures: 0,
        }
    }

    #[test]
    fn the_right_code_verifies_once() {
        let p = OtpPolicy::default();
        let mut s = issued("042917", 0);
        assert_eq!(p.verify(&mut s, "r1", "042 917", at(60)), OtpOutcome::Verified);
        assert_eq!(p.verify(&mut s, "r1", "042917", at(61)), OtpOutcome::NoCode);
    }

    #[test]
    fn a_code_is_bound_to_its_recipient() {
        let p = OtpPolicy::default();
        let mut s = issued("042917", 0);
        assert_eq!(p.verify(&mut s, "r2", "042917", at(1)), OtpOutcome::Wrong { remaining: 4 });
    }

    #[test]
    fn codes_expire_after_ten_minutes() {
        let p = OtpPolicy::default();
        let mut s = issued("111111", 0);
        assert_eq!(p.verify(&mut s, "r1", "111111", at(599)), OtpOutcome::Verified);
        let mut s = issued("111111", 0);
        assert_eq!(p.verify(&mut s, "r1", "111111", at(600)), OtpOutcome::Expired);
    }

    #[test]
    fn five_wrong_codes_lock_and_a_new_code_waits_for_the_pause() {
        let p = OtpPolicy::default();
        let mut s = issued("123456", 0);
        for remaining in (1..5).rev() {
            assert_eq!(p.verify(&mut s, "r1", "000000", at(10)), OtpOutcome::Wrong { remaining });
        }
        assert_eq!(p.verify(&mut s, "r1", "000000", at(20)), OtpOutcome::Wrong { remaining: 0 });
        // Even the right code is refused once locked.
        assert!(matches!(p.verify(&mut s, "r1", "123456", at(21)), OtpOutcome::Locked { .. }));
        assert_eq!(p.may_issue(Some(&s), at(21)), Err(OtpRefusal::Locked { retry_after: Duration::from_secs(299) }));
        assert_eq!(p.may_issue(Some(&s), at(20 + 300)), Ok(()));
    }

    #[test]
    fn wrong_codes_count_across_codes_until_a_new_link() {
        let p = OtpPolicy::default();
        let mut s = issued("123456", 0);
        for _ in 0..4 {
            p.verify(&mut s, "r1", "000000", at(1));
        }
        // A new code keeps the running total (the server carries it over).
        let mut s = OtpState { total_failures: s.total_failures, ..issued("654321", 100) };
        for _ in 0..5 {
            p.verify(&mut s, "r1", "000000", at(101));
        }
        assert_eq!(s.total_failures, 9);
        let mut s = OtpState { total_failures: 9, ..issued("111111", 1000) };
        assert_eq!(p.verify(&mut s, "r1", "000000", at(1001)), OtpOutcome::Exhausted);
        assert_eq!(p.verify(&mut s, "r1", "111111", at(1002)), OtpOutcome::Exhausted, "not even the right code");
        assert_eq!(p.may_issue(Some(&s), at(1_000_000)), Err(OtpRefusal::Exhausted));
    }

    #[test]
    fn resending_needs_a_short_pause() {
        let p = OtpPolicy::default();
        let s = issued("123456", 100);
        assert_eq!(p.may_issue(None, at(0)), Ok(()));
        assert_eq!(p.may_issue(Some(&s), at(110)), Err(OtpRefusal::TooSoon { retry_after: Duration::from_secs(20) }));
        assert_eq!(p.may_issue(Some(&s), at(130)), Ok(()));
    }

    #[test]
    fn input_is_six_digits_with_optional_separators() {
        assert_eq!(normalise_input(" 123-456 "), Some("123456".to_owned()));
        assert_eq!(normalise_input("12345"), None);
        assert_eq!(normalise_input("12345a"), None);
        assert_eq!(normalise_input("１２３４５６"), None);
        let mut s = issued("123456", 0);
        assert_eq!(OtpPolicy::default().verify(&mut s, "r1", "abc", at(1)), OtpOutcome::Malformed);
        assert_eq!(s.attempts, 0, "malformed input does not use up a try");
        assert_eq!(display_code("012345"), "012 345");
    }

    proptest! {
        #[test]
        fn codes_are_always_six_digits(r in any::<u32>()) {
            let c = code_from_random(r);
            prop_assert_eq!(c.len(), 6);
            prop_assert!(normalise_input(&c).is_some());
        }

        #[test]
        fn never_more_than_max_attempts_wrong_guesses(guesses in proptest::collection::vec(0u32..1_000_000, 1..20)) {
            let p = OtpPolicy::default();
            let mut s = issued("999999", 0);
            let mut wrong = 0;
            for g in guesses {
                match p.verify(&mut s, "r1", &format!("{:06}", g % 999_999), at(1)) {
                    OtpOutcome::Wrong { .. } => wrong += 1,
                    OtpOutcome::Locked { .. } | OtpOutcome::Exhausted => {}
                    other => prop_assert!(false, "unexpected {:?}", other),
                }
            }
            prop_assert!(wrong <= p.max_attempts);
        }
    }
}
