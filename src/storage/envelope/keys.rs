//! Master keys, per-file data keys, and wrapping one under the other.

use core::fmt;
use core::str::FromStr;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of every symmetric key here (AES-256).
const KEY_LEN: usize = 32;
/// Length of a master key in standard base64 (32 bytes, with one `=` of padding).
const KEY_BASE64_LEN: usize = 44;
/// AES-GCM tag length.
const TAG_LEN: usize = 16;
/// Random nonce of a wrap. Each wrap uses a fresh one; at 96 bits, collisions under one master key stay negligible
/// far beyond any realistic number of files.
const WRAP_NONCE_LEN: usize = 12;
/// Wrapped data key: 32 bytes of ciphertext followed by the 16-byte tag.
const WRAP_CT_LEN: usize = KEY_LEN + TAG_LEN;
/// Length of the base64 part of the string form: nonce || ciphertext, 60 bytes, no padding needed.
const WRAP_BODY_BASE64_LEN: usize = (WRAP_NONCE_LEN + WRAP_CT_LEN) / 3 * 4;
const KEY_ID_LEN: usize = 8;
/// Domain-separation label of the key id hash, so the id can never collide with another use of SHA-256(key).
const KEY_ID_LABEL: &[u8] = b"attesta/v1/master-key-id";
/// Domain-separation label prefixed to the caller's associated data of a wrap, so a master key's AES-GCM outputs
/// for wrapping can never be confused with any other use of the same key.
const WRAP_AAD_LABEL: &[u8] = b"attesta/v1/wrap";
/// Version tag of [`WrappedKey`]'s string form.
const WRAPPED_KEY_VERSION: &str = "v1";

fn aes256gcm(key: &[u8; KEY_LEN]) -> Aes256Gcm {
    Aes256Gcm::new(key.into())
}

/// Public, stable identifier of a [`MasterKey`]: the first 8 bytes of
/// `SHA-256("attesta/v1/master-key-id" || 0x00 || key)`, shown as 16 lowercase hex digits.
///
/// It is stored inside every [`WrappedKey`] so a [`Keyring`] can pick the right key after rotation, and it is safe
/// to log: it is a one-way function of the key and too short to be a useful check value for guessing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MasterKeyId([u8; KEY_ID_LEN]);

impl MasterKeyId {
    /// The raw 8 bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_ID_LEN] {
        &self.0
    }

    fn of_key(key: &[u8; KEY_LEN]) -> Self {
        let digest = Sha256::new().chain_update(KEY_ID_LABEL).chain_update([0u8]).chain_update(key).finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Self(id)
    }
}

impl fmt::Display for MasterKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for MasterKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKeyId({self})")
    }
}

/// Why a configured master key could not be read. Never contains any part of the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterKeyError {
    /// Wrong length; the usual cause is a key generated some other way than 32 random bytes.
    #[error(
        "master key must be 32 random bytes in standard base64 (44 characters, e.g. `openssl rand -base64 32`), \
         but it is {len} characters long"
    )]
    WrongLength {
        /// Length of the given text after trimming whitespace.
        len: usize,
    },
    /// Right length, but not standard base64.
    #[error(
        "master key is not valid standard base64 (expected 44 characters of A-Z a-z 0-9 + / ending in `=`, \
         e.g. `openssl rand -base64 32`)"
    )]
    InvalidBase64,
}

/// The long-lived key-encryption key from config. It only ever wraps [`DataKey`]s; it never touches file bytes.
///
/// Zeroized on drop; `Debug` shows only its [`MasterKeyId`]. Deliberately not `Clone`, so the secret is not
/// copied around by accident; share it by reference (or `Arc`).
#[derive(ZeroizeOnDrop)]
pub struct MasterKey {
    key: [u8; KEY_LEN],
    #[zeroize(skip)]
    id: MasterKeyId,
}

impl MasterKey {
    /// A fresh random master key (for a key-generation command or tests).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut key = [0u8; KEY_LEN];
        rng.fill_bytes(&mut key);
        let master = Self::from_bytes(key);
        key.zeroize();
        master
    }

    /// Uses 32 raw key bytes.
    pub fn from_bytes(key: [u8; KEY_LEN]) -> Self {
        Self { id: MasterKeyId::of_key(&key), key }
    }

    /// Reads the config form: 32 bytes in standard base64 (44 characters). Surrounding whitespace (e.g. the
    /// trailing newline of a mounted secret file) is ignored.
    pub fn from_base64(text: &str) -> Result<Self, MasterKeyError> {
        let text = text.trim();
        if text.len() != KEY_BASE64_LEN {
            return Err(MasterKeyError::WrongLength { len: text.chars().count() });
        }
        let decoded = Zeroizing::new(STANDARD.decode(text).map_err(|_| MasterKeyError::InvalidBase64)?);
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if decoded.len() != KEY_LEN {
            // Unreachable for 44 valid characters, but never trust that silently.
            return Err(MasterKeyError::InvalidBase64);
        }
        key.copy_from_slice(&decoded);
        Ok(Self::from_bytes(*key))
    }

    /// The config form (standard base64), for a key-generation command. Zeroized when dropped.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.key))
    }

    /// This key's public identifier.
    pub fn id(&self) -> MasterKeyId {
        self.id
    }

    /// Wraps `data_key` under this master key, binding `aad` (the blob's identity, e.g. its storage key) so the
    /// result only unwraps for that same `aad`.
    ///
    /// Fails only if `aad` exceeds AES-GCM's limit (2^36 bytes).
    pub fn wrap_key(
        &self,
        data_key: &DataKey,
        aad: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<WrappedKey, KeyError> {
        let mut nonce = [0u8; WRAP_NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let mut ciphertext = [0u8; WRAP_CT_LEN];
        let (body, tag_out) = ciphertext.split_at_mut(KEY_LEN);
        body.copy_from_slice(&data_key.0);
        let tag = aes256gcm(&self.key)
            .encrypt_in_place_detached(&Nonce::from(nonce), &wrap_aad(self.id, aad), body)
            .map_err(|_| KeyError::AadTooLong)?;
        tag_out.copy_from_slice(&tag);
        Ok(WrappedKey { master_key_id: self.id, nonce, ciphertext })
    }

    /// Recovers the data key from `wrapped`, which must have been made by this key with the same `aad`.
    pub fn unwrap_key(&self, wrapped: &WrappedKey, aad: &[u8]) -> Result<DataKey, KeyError> {
        if wrapped.master_key_id != self.id {
            return Err(KeyError::UnknownMasterKey(wrapped.master_key_id));
        }
        let (body, tag) = wrapped.ciphertext.split_at(KEY_LEN);
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| KeyError::Authentication)?;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(body);
        aes256gcm(&self.key)
            .decrypt_in_place_detached(
                &Nonce::from(wrapped.nonce),
                &wrap_aad(self.id, aad),
                &mut key[..],
                &Tag::from(tag),
            )
            .map_err(|_| KeyError::Authentication)?;
        Ok(DataKey(*key))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl FromStr for MasterKey {
    type Err = MasterKeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_base64(text)
    }
}

/// `label || 0x00 || master key id || caller aad`. Every part before the caller's is fixed-length, so the
/// encoding is unambiguous; binding the id makes a wrapped key's id field part of what is authenticated.
fn wrap_aad(id: MasterKeyId, aad: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(WRAP_AAD_LABEL.len() + 1 + KEY_ID_LEN + aad.len());
    out.extend_from_slice(WRAP_AAD_LABEL);
    out.push(0);
    out.extend_from_slice(&id.0);
    out.extend_from_slice(aad);
    out
}

/// The random per-file key that encrypts one blob. Generated when the file is stored, kept only wrapped
/// ([`WrappedKey`]), and never reused for another file.
///
/// Zeroized on drop; `Debug` is redacted; deliberately neither `Clone` nor comparable.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; KEY_LEN]);

impl DataKey {
    /// A fresh random data key for a new file.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut key = [0u8; KEY_LEN];
        rng.fill_bytes(&mut key);
        let data_key = Self(key);
        key.zeroize();
        data_key
    }

    /// The AES-256-GCM instance that encrypts the blob's chunks.
    pub(super) fn cipher(&self) -> Aes256Gcm {
        aes256gcm(&self.0)
    }

    #[cfg(test)]
    pub(super) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// Why a data key could not be wrapped or unwrapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The wrapped key names a master key that is not configured: usually an old key removed from the keyring
    /// before every file was re-wrapped.
    #[error(
        "data key is wrapped under master key {0}, which is not configured; add it back to the previous master keys \
         (and re-wrap the remaining files) before removing it"
    )]
    UnknownMasterKey(MasterKeyId),
    /// Authentication failed: the wrapped key was tampered with, belongs to a different blob (associated data
    /// mismatch), or was made by a different key with a colliding id.
    #[error("wrapped data key failed authentication (tampered with, or belongs to a different file)")]
    Authentication,
    /// The associated data exceeds AES-GCM's limit (2^36 bytes); cannot happen with real blob identifiers.
    #[error("associated data of the key wrap is too long")]
    AadTooLong,
}

/// A [`DataKey`] encrypted under a [`MasterKey`], as stored in the database next to the blob's key.
///
/// String form (via `Display` / `FromStr`): `v1.<master key id: 16 lowercase hex>.<base64(nonce || ciphertext)>`,
/// 100 characters. It names its master key so rotation can find the right one, and contains no secret.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct WrappedKey {
    master_key_id: MasterKeyId,
    nonce: [u8; WRAP_NONCE_LEN],
    ciphertext: [u8; WRAP_CT_LEN],
}

impl WrappedKey {
    /// The master key this data key is wrapped under.
    pub fn master_key_id(&self) -> MasterKeyId {
        self.master_key_id
    }
}

impl fmt::Display for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut body = [0u8; WRAP_NONCE_LEN + WRAP_CT_LEN];
        body[..WRAP_NONCE_LEN].copy_from_slice(&self.nonce);
        body[WRAP_NONCE_LEN..].copy_from_slice(&self.ciphertext);
        write!(f, "{WRAPPED_KEY_VERSION}.{}.{}", self.master_key_id, STANDARD.encode(body))
    }
}

/// A stored wrapped-key string is malformed (corrupted row, or written by a newer Attesta).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed wrapped data key: {reason}")]
pub struct WrappedKeyParseError {
    reason: &'static str,
}

impl FromStr for WrappedKey {
    type Err = WrappedKeyParseError;

    /// Strict: exactly one encoding is accepted for each value, so equal keys have equal strings.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason| WrappedKeyParseError { reason };
        let mut parts = text.split('.');
        let (Some(version), Some(id_hex), Some(body_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(fail("expected three dot-separated parts `v1.<key id>.<base64>`"));
        };
        if version != WRAPPED_KEY_VERSION {
            return Err(fail("unsupported version (expected `v1`)"));
        }
        if id_hex.len() != 2 * KEY_ID_LEN || !id_hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(fail("master key id must be 16 lowercase hex digits"));
        }
        let mut id = [0u8; KEY_ID_LEN];
        hex::decode_to_slice(id_hex, &mut id).map_err(|_| fail("master key id must be 16 lowercase hex digits"))?;
        if body_b64.len() != WRAP_BODY_BASE64_LEN {
            return Err(fail("key material must be 80 base64 characters"));
        }
        let body = STANDARD.decode(body_b64).map_err(|_| fail("key material is not valid base64"))?;
        if body.len() != WRAP_NONCE_LEN + WRAP_CT_LEN {
            return Err(fail("key material must be 60 bytes"));
        }
        let (nonce, ciphertext) = body.split_at(WRAP_NONCE_LEN);
        let nonce = nonce.try_into().map_err(|_| fail("key material must be 60 bytes"))?;
        let ciphertext = ciphertext.try_into().map_err(|_| fail("key material must be 60 bytes"))?;
        Ok(Self { master_key_id: MasterKeyId(id), nonce, ciphertext })
    }
}

/// The configured master keys: `current` wraps every new data key; `previous` keys (from earlier rotations) are
/// only used to unwrap until [`Keyring::rewrap`] has moved every stored wrapped key to `current`.
///
/// Rotation procedure: configure the new key as current and the old one as previous; run a job that calls
/// [`Keyring::rewrap`] on every stored wrapped key and saves each `Some`; then drop the old key from config.
pub struct Keyring {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl Keyring {
    /// A keyring wrapping under `current` and still able to unwrap under any of `previous`.
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        Self { current, previous }
    }

    /// The key new data keys are wrapped under.
    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// The configured key with this id, current first.
    pub fn get(&self, id: MasterKeyId) -> Option<&MasterKey> {
        core::iter::once(&self.current).chain(&self.previous).find(|key| key.id == id)
    }

    /// Wraps `data_key` under the current master key, bound to `aad` (see [`MasterKey::wrap_key`]).
    pub fn wrap_key(
        &self,
        data_key: &DataKey,
        aad: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<WrappedKey, KeyError> {
        self.current.wrap_key(data_key, aad, rng)
    }

    /// Unwraps with whichever configured master key `wrapped` names.
    pub fn unwrap_key(&self, wrapped: &WrappedKey, aad: &[u8]) -> Result<DataKey, KeyError> {
        self.get(wrapped.master_key_id)
            .ok_or(KeyError::UnknownMasterKey(wrapped.master_key_id))?
            .unwrap_key(wrapped, aad)
    }

    /// For master-key rotation: `Ok(None)` if `wrapped` is already under the current key (and authenticates),
    /// otherwise the same data key wrapped under the current key, to store in place of `wrapped`. The blob is
    /// untouched. Errors if `wrapped` does not unwrap (unknown key, tampered, wrong `aad`).
    pub fn rewrap(
        &self,
        wrapped: &WrappedKey,
        aad: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Option<WrappedKey>, KeyError> {
        let data_key = self.unwrap_key(wrapped, aad)?;
        if wrapped.master_key_id == self.current.id {
            return Ok(None);
        }
        self.current.wrap_key(&data_key, aad, rng).map(Some)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field("previous", &self.previous.iter().map(|key| key.id).collect::<Vec<_>>())
            .finish()
    }
}
