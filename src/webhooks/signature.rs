//! Standard Webhooks signatures: signing a message with one or more secrets, and the check a
//! receiver runs (signature and timestamp tolerance).
//!
//! Own code rather than the `standardwebhooks` crate: that crate reads the wall clock inside
//! `verify` (the core takes time from its caller) and needs `http` types; it serves as the test
//! oracle below instead, together with the specification's published example.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use std::fmt;
use std::time::Duration;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// How far a message's timestamp may be from the receiver's clock, either way, before the
/// receiver refuses it (the specification's recommendation): replayed captures age out.
pub const TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The prefix of a secret's text form.
pub const SECRET_PREFIX: &str = "whsec_";

/// The signature scheme version this code writes and reads.
const VERSION: &str = "v1";

/// Secrets are 24 to 64 bytes (the specification's bounds); Attesta makes 32-byte ones.
const MIN_SECRET: usize = 24;
const MAX_SECRET: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("a webhook secret is `whsec_` followed by the base64 of 24 to 64 bytes")]
    InvalidSecret,
    #[error("the webhook-timestamp header is not a whole number of seconds")]
    InvalidTimestamp,
    #[error("the message is older than the tolerance allows")]
    TooOld,
    #[error("the message's timestamp is too far in the future")]
    TooNew,
    #[error("no signature in webhook-signature matches")]
    NoMatch,
}

/// An endpoint's signing secret. Zeroed on drop; `Debug` does not show it.
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// A secret from its raw bytes (24 to 64 of them).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignatureError> {
        if !(MIN_SECRET..=MAX_SECRET).contains(&bytes.len()) {
            return Err(SignatureError::InvalidSecret);
        }
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }

    /// Reads `whsec_<base64>` (the prefix is optional, as receivers' libraries accept).
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let body = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        let bytes = Zeroizing::new(STANDARD.decode(body).map_err(|_| SignatureError::InvalidSecret)?);
        Self::from_bytes(&bytes)
    }

    /// The text form shown to the endpoint's owner: `whsec_<base64>`.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{SECRET_PREFIX}{}", STANDARD.encode(self.0.as_slice())))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// `v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("{VERSION},{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<sha2::Sha256>>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The `webhook-signature` header value: one signature per secret, space-separated, so a
/// receiver holding either the old or the new secret accepts the message during a rotation.
pub fn signature_header<'a>(
    secrets: impl IntoIterator<Item = &'a Secret>,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets.into_iter().map(|s| s.sign(id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// What a receiver runs on each request: the timestamp within [`TOLERANCE`] of `now` (Unix
/// seconds, from the receiver's clock), and at least one `v1` signature in `signature` made by
/// `secret` over exactly these `id`, `timestamp` and `body` bytes (compared in constant time).
pub fn verify(
    secret: &Secret,
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let ts: i64 = timestamp.trim().parse().map_err(|_| SignatureError::InvalidTimestamp)?;
    let tolerance = i64::try_from(TOLERANCE.as_secs()).unwrap_or(i64::MAX);
    if now.saturating_sub(ts) > tolerance {
        return Err(SignatureError::TooOld);
    }
    if ts.saturating_sub(now) > tolerance {
        return Err(SignatureError::TooNew);
    }
    let expected = secret.mac(id, ts, body);
    let matched = signature
        .split(' ')
        .filter_map(|s| s.split_once(','))
        .filter(|(version, _)| *version == VERSION)
        .filter_map(|(_, b64)| STANDARD.decode(b64).ok())
        .fold(false, |found, candidate| found | bool::from(candidate.as_slice().ct_eq(&expected)));
    if matched { Ok(()) } else { Err(SignatureError::NoMatch) }
}

/// A message id, `msg_` and 32 lowercase hex characters; the receiver's key for deduplication
/// (it stays the same on every retry of one message).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageId(String);

impl MessageId {
    /// From 16 random bytes the caller drew.
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(format!("msg_{}", hex::encode(bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example in the Standard Webhooks specification and its reference libraries.
    const SPEC_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const SPEC_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const SPEC_TS: i64 = 1_649_367_553;
    const SPEC_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SPEC_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn spec_secret() -> Secret {
        Secret::parse(SPEC_SECRET).expect("the specification's secret parses")
    }

    #[test]
    fn signing_reproduces_the_specifications_example() {
        assert_eq!(spec_secret().sign(SPEC_ID, SPEC_TS, SPEC_BODY), SPEC_SIGNATURE);
    }

    #[test]
    fn the_specifications_example_verifies_within_the_tolerance() {
        let ts = SPEC_TS.to_string();
        verify(&spec_secret(), SPEC_ID, &ts, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS + 299).expect("fresh enough");
        verify(&spec_secret(), SPEC_ID, &ts, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS - 299).expect("clock skew allowed");
    }

    #[test]
    fn old_and_future_timestamps_are_refused() {
        let ts = SPEC_TS.to_string();
        let check = |now| verify(&spec_secret(), SPEC_ID, &ts, SPEC_SIGNATURE, SPEC_BODY, now);
        assert_eq!(check(SPEC_TS + 301), Err(SignatureError::TooOld));
        assert_eq!(check(SPEC_TS - 301), Err(SignatureError::TooNew));
        assert_eq!(
            verify(&spec_secret(), SPEC_ID, "soon", SPEC_SIGNATURE, SPEC_BODY, SPEC_TS),
            Err(SignatureError::InvalidTimestamp)
        );
    }

    #[test]
    fn tampering_with_any_signed_part_is_detected() {
        let ts = SPEC_TS.to_string();
        let secret = spec_secret();
        let mut body = SPEC_BODY.to_vec();
        for i in 0..body.len() {
            body[i] ^= 0x01;
            assert_eq!(verify(&secret, SPEC_ID, &ts, SPEC_SIGNATURE, &body, SPEC_TS), Err(SignatureError::NoMatch));
            body[i] ^= 0x01;
        }
        assert_eq!(verify(&secret, "msg_other", &ts, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS), Err(SignatureError::NoMatch));
        // A timestamp moved within the tolerance still fails: it is signed too.
        let moved = (SPEC_TS + 1).to_string();
        assert_eq!(verify(&secret, SPEC_ID, &moved, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS), Err(SignatureError::NoMatch));
        let other = Secret::from_bytes(&[7u8; 32]).expect("secret");
        assert_eq!(verify(&other, SPEC_ID, &ts, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS), Err(SignatureError::NoMatch));
        // Truncated, wrong version, empty.
        for bad in ["v1,", "v1,tZ1I4/hD", "v2,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=", ""] {
            assert_eq!(verify(&secret, SPEC_ID, &ts, bad, SPEC_BODY, SPEC_TS), Err(SignatureError::NoMatch), "{bad}");
        }
    }

    #[test]
    fn during_a_rotation_each_secret_verifies_its_own_signature_in_the_header() {
        let old = Secret::from_bytes(&[1u8; 32]).expect("secret");
        let new = Secret::from_bytes(&[2u8; 32]).expect("secret");
        let header = signature_header([&new, &old], SPEC_ID, SPEC_TS, SPEC_BODY);
        assert_eq!(header.split(' ').count(), 2);
        let ts = SPEC_TS.to_string();
        verify(&old, SPEC_ID, &ts, &header, SPEC_BODY, SPEC_TS).expect("old secret");
        verify(&new, SPEC_ID, &ts, &header, SPEC_BODY, SPEC_TS).expect("new secret");
    }

    #[test]
    fn agrees_with_the_reference_library() {
        let now = SPEC_TS;
        for len in [24usize, 32, 64] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let secret = Secret::from_bytes(&bytes).expect("secret");
            let reference = standardwebhooks::Webhook::new(&secret.to_text()).expect("reference parses our secret");
            for body in [&b"{}"[..], SPEC_BODY, "{\"caf\u{e9}\":\"\u{2603}\"}".as_bytes()] {
                let ours = secret.sign("msg_abc", now, body);
                assert_eq!(ours, reference.sign("msg_abc", now, body).expect("reference signs"));
            }
        }
    }

    #[test]
    fn secrets_round_trip_their_text_and_refuse_bad_lengths() {
        let secret = Secret::from_bytes(&[9u8; 32]).expect("secret");
        let text = secret.to_text();
        assert!(text.starts_with("whsec_"));
        assert_eq!(Secret::parse(&text).expect("parses").as_bytes(), secret.as_bytes());
        assert_eq!(Secret::from_bytes(&[0u8; 23]).err(), Some(SignatureError::InvalidSecret));
        assert_eq!(Secret::from_bytes(&[0u8; 65]).err(), Some(SignatureError::InvalidSecret));
        assert_eq!(Secret::parse("whsec_!!!").err(), Some(SignatureError::InvalidSecret));
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    }

    #[test]
    fn message_ids_are_msg_and_hex() {
        assert_eq!(MessageId::from_random([0xab; 16]).as_str(), format!("msg_{}", "ab".repeat(16)));
    }
}
