//! API keys: the bearer credentials of the REST API, and what each scope allows.
//!
//! A key reads `atk_<public id>_<secret>`: `atk` says what it is (so secret scanners and people
//! recognise one), the public id (16 lowercase base32 characters, 80 random bits) finds its row,
//! and the secret (43 base64url characters, 256 random bits) proves possession. The server keeps
//! only `SHA-256("attesta/v1/api-key" || 0x00 || secret)` and compares it in constant time.
//!
//! A fast hash is right here, unlike for passwords: a password is guessable, so its hash must be
//! slow to make guessing expensive; a 256-bit random secret cannot be guessed however fast the
//! hash, and a slow hash would only make every API request slow.
//!
//! Randomness comes from the caller (this crate has none); the server draws it from the OS.
//!
//! **Scopes** are nested: `admin` ⊇ `send` ⊇ `read`.
//! - `read`: list and get documents, download their original and sealed PDFs and evidence.
//! - `send`: also create documents (upload, prepare, send) and void them.
//! - `admin`: also reach every document the key's *user* may see, as in the app (an owner or an
//!   admin sees everyone's documents); without it a key sees only its user's own documents.
//!
//! A key never exceeds its user: it acts as the user, with the user's role, and stops working
//! when the user is disabled or the key is revoked.

use crate::evidence::Sha256;
use crate::evidence::hash::{tag, tagged};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What every key starts with.
pub const PREFIX: &str = "atk";
/// Random bytes in a public id (80 bits: unique without coordination, not a secret).
pub const PUBLIC_ID_BYTES: usize = 10;
/// Characters of a public id: base32 of [`PUBLIC_ID_BYTES`].
pub const PUBLIC_ID_CHARS: usize = 16;
/// Random bytes in a secret (256 bits).
pub const SECRET_BYTES: usize = 32;
/// Characters of a secret: unpadded base64url of [`SECRET_BYTES`].
pub const SECRET_CHARS: usize = 43;
/// Longest key name, in characters.
pub const MAX_NAME_CHARS: usize = 80;

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    #[error("the API key is malformed: it must look like atk_<id>_<secret>")]
    Malformed,
    #[error("unknown scope `{0}`: use read, send or admin")]
    UnknownScope(String),
    #[error("choose at least one scope")]
    NoScope,
    #[error("the name must be 1 to {MAX_NAME_CHARS} characters")]
    InvalidName,
}

/// The public half of a key: finds its row, appears in lists and in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PublicId(String);

impl PublicId {
    /// A public id from fresh random bytes.
    pub fn from_random(bytes: [u8; PUBLIC_ID_BYTES]) -> Self {
        // 80 bits = 16 groups of 5.
        let mut bits: u128 = 0;
        for b in bytes {
            bits = (bits << 8) | u128::from(b);
        }
        let text = (0..PUBLIC_ID_CHARS)
            .rev()
            .map(|i| char::from(BASE32[usize::try_from((bits >> (5 * i)) & 31).unwrap_or(0)]))
            .collect();
        Self(text)
    }

    pub fn parse(text: &str) -> Result<Self, ApiKeyError> {
        let ok = text.len() == PUBLIC_ID_CHARS && text.bytes().all(|b| BASE32.contains(&b));
        ok.then(|| Self(text.to_owned())).ok_or(ApiKeyError::Malformed)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The actor id events written with this key carry: `api_key:<public id>`.
    pub fn actor_id(&self) -> String {
        format!("api_key:{}", self.0)
    }

    /// What lists show so a person can match a key to the one in their configuration.
    pub fn display_prefix(&self) -> String {
        format!("{PREFIX}_{}", self.0)
    }
}

impl TryFrom<String> for PublicId {
    type Error = ApiKeyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PublicId> for String {
    fn from(value: PublicId) -> Self {
        value.0
    }
}

impl fmt::Display for PublicId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A whole key as the client sends it. Shown once at creation; never stored or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    public_id: PublicId,
    secret: String,
}

impl ApiKey {
    /// A new key from fresh random bytes (the caller draws them from a CSPRNG).
    pub fn from_random(public: [u8; PUBLIC_ID_BYTES], secret: [u8; SECRET_BYTES]) -> Self {
        Self { public_id: PublicId::from_random(public), secret: URL_SAFE_NO_PAD.encode(secret) }
    }

    /// Accepts only the exact shape a key has, so anything else is refused without a lookup.
    pub fn parse(text: &str) -> Result<Self, ApiKeyError> {
        let rest = text.strip_prefix(PREFIX).and_then(|r| r.strip_prefix('_')).ok_or(ApiKeyError::Malformed)?;
        // The secret may contain `_` (base64url), the id never does: split at the first.
        let (id, secret) = rest.split_once('_').ok_or(ApiKeyError::Malformed)?;
        let public_id = PublicId::parse(id)?;
        let shaped = secret.len() == SECRET_CHARS
            && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && URL_SAFE_NO_PAD.decode(secret).is_ok_and(|b| b.len() == SECRET_BYTES);
        if !shaped {
            return Err(ApiKeyError::Malformed);
        }
        Ok(Self { public_id, secret: secret.to_owned() })
    }

    pub fn public_id(&self) -> &PublicId {
        &self.public_id
    }

    /// The full text to hand to the user, once.
    pub fn expose(&self) -> String {
        format!("{PREFIX}_{}_{}", self.public_id, self.secret)
    }

    /// What the server stores.
    pub fn secret_hash(&self) -> Sha256 {
        tagged(tag::API_KEY, &[self.secret.as_bytes()])
    }

    /// Whether this key's secret is the one stored, compared in constant time.
    pub fn matches(&self, stored: &Sha256) -> bool {
        crate::signing::token::same_digest(&self.secret_hash(), stored)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a live secret into a log.
        write!(f, "ApiKey({}_…)", self.public_id)
    }
}

/// One permission of a key. Ordered: a scope allows everything the ones below it allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Send,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Send, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Send => "send",
            Self::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ApiKeyError> {
        Self::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| ApiKeyError::UnknownScope(text.to_owned()))
    }
}

/// The scopes a key was granted, in order, without repeats.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// From a list such as `read,send` (spaces and repeats ignored); at least one is needed.
    pub fn parse(text: &str) -> Result<Self, ApiKeyError> {
        let list = text
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Scope::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_list(list)
    }

    pub fn from_list(mut list: Vec<Scope>) -> Result<Self, ApiKeyError> {
        list.sort();
        list.dedup();
        if list.is_empty() {
            return Err(ApiKeyError::NoScope);
        }
        Ok(Self(list))
    }

    /// Whether a key with these scopes may do what needs `required` (nested: admin ⊇ send ⊇ read).
    pub fn allow(&self, required: Scope) -> bool {
        self.0.iter().any(|s| *s >= required)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// `read,send`: how the database stores them.
    pub fn to_text(&self) -> String {
        self.0.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
    }
}

/// A key's name as its owner chose it: trimmed, 1 to [`MAX_NAME_CHARS`] characters, no control
/// characters (it is shown in the audit timeline).
pub fn clean_name(name: &str) -> Result<String, ApiKeyError> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ApiKeyError::InvalidName);
    }
    Ok(name.to_owned())
}

/// `Authorization: Bearer <key>` → the key text; `None` for any other scheme or shape.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_key_round_trips_and_only_its_own_secret_matches() {
        let key = ApiKey::from_random([1; PUBLIC_ID_BYTES], [2; SECRET_BYTES]);
        let text = key.expose();
        assert!(text.starts_with("atk_"));
        assert_eq!(text.len(), 4 + PUBLIC_ID_CHARS + 1 + SECRET_CHARS);
        let parsed = ApiKey::parse(&text).expect("parses");
        assert_eq!(parsed, key);
        assert!(parsed.matches(&key.secret_hash()));
        let other = ApiKey::from_random([1; PUBLIC_ID_BYTES], [3; SECRET_BYTES]);
        assert!(!other.matches(&key.secret_hash()));
        assert_eq!(format!("{key:?}"), format!("ApiKey({}_…)", key.public_id()));
    }

    #[test]
    fn the_stored_hash_is_domain_separated() {
        let key = ApiKey::from_random([0; PUBLIC_ID_BYTES], [0; SECRET_BYTES]);
        let plain = Sha256::digest(key.secret.as_bytes());
        assert_ne!(key.secret_hash(), plain);
        assert_eq!(key.secret_hash(), Sha256::digest(format!("attesta/v1/api-key\0{}", key.secret).as_bytes()));
    }

    #[test]
    fn public_ids_are_base32_of_all_80_bits() {
        assert_eq!(PublicId::from_random([0; 10]).as_str(), "aaaaaaaaaaaaaaaa");
        assert_eq!(PublicId::from_random([0xff; 10]).as_str(), "7777777777777777");
        assert_ne!(PublicId::from_random([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), PublicId::from_random([0; 10]));
    }

    #[test]
    fn malformed_keys_are_refused() {
        let good = ApiKey::from_random([5; PUBLIC_ID_BYTES], [6; SECRET_BYTES]).expose();
        let bad = [
            String::new(),
            "atk_".to_owned(),
            good.replacen("atk_", "atx_", 1),
            good[..good.len() - 1].to_owned(),
            format!("{good}A"),
            good.replacen('_', "-", 1),
            good.to_uppercase(),
            format!(" {good}"),
        ];
        for text in bad {
            assert_eq!(ApiKey::parse(&text), Err(ApiKeyError::Malformed), "{text}");
        }
    }

    #[test]
    fn scopes_nest() {
        let read = Scopes::parse("read").expect("read");
        assert!(read.allow(Scope::Read) && !read.allow(Scope::Send) && !read.allow(Scope::Admin));
        let send = Scopes::parse("send").expect("send");
        assert!(send.allow(Scope::Read) && send.allow(Scope::Send) && !send.allow(Scope::Admin));
        let admin = Scopes::parse("admin").expect("admin");
        assert!(Scope::ALL.iter().all(|s| admin.allow(*s)));
    }

    #[test]
    fn scope_lists_are_normalised_and_checked() {
        assert_eq!(Scopes::parse("send, read,read").expect("ok").to_text(), "read,send");
        assert_eq!(Scopes::parse(""), Err(ApiKeyError::NoScope));
        assert_eq!(Scopes::parse("read,write"), Err(ApiKeyError::UnknownScope("write".to_owned())));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  CRM ").as_deref(), Ok("CRM"));
        assert_eq!(clean_name("   "), Err(ApiKeyError::InvalidName));
        assert_eq!(clean_name("a\nb"), Err(ApiKeyError::InvalidName));
        assert_eq!(clean_name(&"x".repeat(MAX_NAME_CHARS + 1)), Err(ApiKeyError::InvalidName));
    }

    #[test]
    fn the_bearer_scheme_is_read_case_insensitively() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearer"), None);
    }

    proptest! {
        #[test]
        fn every_generated_key_parses_back(public in any::<[u8; PUBLIC_ID_BYTES]>(), secret in any::<[u8; SECRET_BYTES]>()) {
            let key = ApiKey::from_random(public, secret);
            let parsed = ApiKey::parse(&key.expose()).expect("parses");
            prop_assert!(parsed.matches(&key.secret_hash()));
            prop_assert_eq!(parsed, key);
        }

        #[test]
        fn parsing_never_panics(text in ".{0,80}") {
            let _ = ApiKey::parse(&text);
        }

        #[test]
        fn a_changed_character_of_the_secret_no_longer_matches(secret in any::<[u8; SECRET_BYTES]>(), at in 0usize..SECRET_CHARS) {
            let key = ApiKey::from_random([9; PUBLIC_ID_BYTES], secret);
            let text = key.expose();
            let pos = text.len() - SECRET_CHARS + at;
            let mut bytes = text.into_bytes();
            bytes[pos] = if bytes[pos] == b'A' { b'B' } else { b'A' };
            if let Ok(changed) = ApiKey::parse(&String::from_utf8(bytes).expect("ascii")) {
                prop_assert!(!changed.matches(&key.secret_hash()));
            }
        }
    }
}
