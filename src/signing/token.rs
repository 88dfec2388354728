//! Signing links: `/sign/{token}` with 256 random bits, stored only as a hash.
//!
//! The server keeps `SHA-256("attesta/v1/signing-token" || 0x00 || token)`, looks the row up by
//! that hash and compares it again in constant time, so neither a database reader nor a timing
//! observer learns a usable link.

use crate::evidence::Sha256;
use crate::evidence::hash::{tag, tagged};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Random bytes in a token (256 bits; the issue asks for at least 128).
pub const TOKEN_BYTES: usize = 32;
/// Characters in a token: unpadded base64url of [`TOKEN_BYTES`].
pub const TOKEN_CHARS: usize = 43;

/// A signing link's secret, as it appears in the URL.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningToken(String);

impl SigningToken {
    /// A token from fresh random bytes (the caller supplies them from a CSPRNG).
    pub fn from_random(bytes: [u8; TOKEN_BYTES]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts only the exact shape a token has; anything else is not a link we made, and is
    /// refused without touching the database.
    pub fn parse(text: &str) -> Option<Self> {
        let shaped = text.len() == TOKEN_CHARS
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && URL_SAFE_NO_PAD.decode(text).is_ok_and(|b| b.len() == TOKEN_BYTES);
        shaped.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the database stores and looks up.
    pub fn hash(&self) -> Sha256 {
        tagged(tag::SIGNING_TOKEN, &[self.0.as_bytes()])
    }
}

impl std::fmt::Debug for SigningToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a live link into a log.
        f.write_str("SigningToken(…)")
    }
}

/// Compares two digests without an early exit, so the time taken says nothing about where they
/// first differ.
pub fn same_digest(a: &Sha256, b: &Sha256) -> bool {
    let diff = a.as_bytes().iter().zip(b.as_bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tokens_round_trip_and_hash_apart() {
        let a = SigningToken::from_random([7; TOKEN_BYTES]);
        assert_eq!(a.as_str().len(), TOKEN_CHARS);
        assert_eq!(SigningToken::parse(a.as_str()), Some(a.clone()));
        let b = SigningToken::from_random([8; TOKEN_BYTES]);
        assert_ne!(a.hash(), b.hash());
        assert!(same_digest(&a.hash(), &a.hash()));
        assert!(!same_digest(&a.hash(), &b.hash()));
        assert_eq!(format!("{a:?}"), "SigningToken(…)");
    }

    #[test]
    fn anything_not_shaped_like_a_token_is_refused() {
        let good = SigningToken::from_random([1; TOKEN_BYTES]);
        for bad in ["", "abc", &good.as_str()[1..], &format!("{}A", good.as_str()), &good.as_str().replace('B', "+")] {
            if bad != good.as_str() {
                assert_eq!(SigningToken::parse(bad), None, "{bad}");
            }
        }
        let with_slash = format!("{}/", &good.as_str()[..42]);
        assert_eq!(SigningToken::parse(&with_slash), None);
    }

    proptest! {
        #[test]
        fn every_random_token_parses_back(bytes in any::<[u8; 32]>()) {
            let t = SigningToken::from_random(bytes);
            prop_assert_eq!(SigningToken::parse(t.as_str()), Some(t));
        }
    }
}
