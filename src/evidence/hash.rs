//! SHA-256 digests, and the domain tags that keep every hash Attesta computes apart.
//!
//! Invariants: every hash outside the Merkle log is `SHA-256(tag || 0x00 || input)` with one of
//! the ASCII tags below; the log's own hashes start with byte 0x00 or 0x01 (RFC 9162), which no
//! tag does, so no hash of one kind can be passed off as another. Digests travel as 64 lowercase
//! hex characters; any other spelling is refused, so one digest has exactly one text form.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use std::fmt;

/// Domain tags, one per kind of hash. Each is followed by a 0x00 byte when hashed, so no tag
/// can be a prefix of another tag's input.
pub mod tag {
    /// The hash of an event record: `SHA-256("attesta/v1/event" || 0x00 || JCS(record))`.
    pub const EVENT: &str = "attesta/v1/event";
    /// The chain's starting point: `SHA-256("attesta/v1/genesis" || 0x00 || document id)`.
    pub const GENESIS: &str = "attesta/v1/genesis";
    /// The personal-data commitment: `SHA-256("attesta/v1/personal" || 0x00 || salt || JCS(personal))`.
    pub const PERSONAL: &str = "attesta/v1/personal";
    /// A sent document's field layout: `SHA-256("attesta/v1/layout" || 0x00 || JCS(layout))`.
    pub const LAYOUT: &str = "attesta/v1/layout";
    /// A signing link's token, as stored: `SHA-256("attesta/v1/signing-token" || 0x00 || token)`.
    pub const SIGNING_TOKEN: &str = "attesta/v1/signing-token";
    /// A one-time code, as stored: `SHA-256("attesta/v1/otp" || 0x00 || recipient id || 0x00 || code)`.
    pub const OTP: &str = "attesta/v1/otp";
    /// The stored form of an API key's secret.
    pub const API_KEY: &str = "attesta/v1/api-key";
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error("a SHA-256 digest is 32 bytes, got {0}")]
    WrongLength(usize),
    #[error("a SHA-256 digest is written as 64 lowercase hex characters")]
    NotLowercaseHex,
    #[error("invalid base64")]
    Base64,
}

/// A SHA-256 digest: of a file, an event, a personal-data commitment or a Merkle tree node.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256([u8; 32]);

impl Sha256 {
    pub const LEN: usize = 32;

    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The plain SHA-256 of `data`, as used for document files.
    pub fn digest(data: &[u8]) -> Self {
        Self(sha2::Sha256::digest(data).into())
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashError> {
        <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| HashError::WrongLength(bytes.len()))
    }

    /// Parses exactly 64 lowercase hex characters.
    pub fn parse_hex(text: &str) -> Result<Self, HashError> {
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(HashError::NotLowercaseHex);
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(|_| HashError::NotLowercaseHex)?;
        Ok(Self(out))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Standard base64 with padding, as in checkpoints and signed notes.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Parses standard, padded, canonical base64 of exactly 32 bytes.
    pub fn parse_base64(text: &str) -> Result<Self, HashError> {
        let bytes = BASE64.decode(text).map_err(|_| HashError::Base64)?;
        Self::from_slice(&bytes)
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.to_hex())
    }
}

impl Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// SHA-256 over a stream, for files too large to hold in memory at once.
#[derive(Clone, Default)]
pub struct FileHasher(sha2::Sha256);

impl FileHasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.0.update(chunk);
    }

    pub fn finish(self) -> Sha256 {
        Sha256(self.0.finalize().into())
    }
}

/// `SHA-256(tag || 0x00 || parts...)`.
pub(crate) fn tagged(tag: &str, parts: &[&[u8]]) -> Sha256 {
    let mut hasher = sha2::Sha256::new();
    hasher.update(tag.as_bytes());
    hasher.update([0u8]);
    for part in parts {
        hasher.update(part);
    }
    Sha256(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_the_empty_string_is_the_well_known_value() {
        assert_eq!(Sha256::digest(b"").to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn hex_is_read_only_in_its_single_lowercase_form() {
        let h = Sha256::digest(b"x");
        assert_eq!(Sha256::parse_hex(&h.to_hex()), Ok(h));
        assert_eq!(Sha256::parse_hex(&h.to_hex().to_uppercase()), Err(HashError::NotLowercaseHex));
        assert_eq!(Sha256::parse_hex(&h.to_hex()[1..]), Err(HashError::NotLowercaseHex));
        assert_eq!(Sha256::parse_hex(&format!("{}0", h.to_hex())), Err(HashError::NotLowercaseHex));
    }

    #[test]
    fn base64_must_be_canonical_and_exactly_32_bytes() {
        let h = Sha256::digest(b"x");
        assert_eq!(Sha256::parse_base64(&h.to_base64()), Ok(h));
        assert_eq!(Sha256::parse_base64("AAAA"), Err(HashError::WrongLength(3)));
        // The third character of the final group carries 2 spare bits; setting them is refused, so
        // one digest has one base64 spelling.
        let zero = Sha256::from_bytes([0; 32]).to_base64();
        assert_eq!(Sha256::parse_base64(&format!("{}B=", &zero[..42])), Err(HashError::Base64));
    }

    #[test]
    fn streaming_and_one_shot_hashes_agree() {
        let mut hasher = FileHasher::new();
        hasher.update(b"hello ");
        hasher.update(b"world");
        assert_eq!(hasher.finish(), Sha256::digest(b"hello world"));
    }

    #[test]
    fn tagged_hash_places_a_zero_byte_after_the_tag() {
        assert_eq!(tagged("t", &[b"ab", b"c"]), Sha256::digest(b"t\0abc"));
    }
}
