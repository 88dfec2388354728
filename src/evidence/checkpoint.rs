//! Checkpoints: the log's signed statements of its size and root, as C2SP signed notes
//! (`c2sp.org/signed-note`) in the `c2sp.org/tlog-checkpoint` format, signed with Ed25519.
//!
//! A checkpoint note is `origin\nsize\nbase64(root)\n`, a blank line, and one signature line per
//! key: `— <key name> base64(key id || signature)\n`. The key id is
//! `SHA-256(name || 0x0A || 0x01 || public key)[:4]`, and a verifier key is written
//! `<name>+<hex key id>+base64(0x01 || public key)`. Parsing is strict: anything the specs do
//! not allow is refused rather than guessed at. Attesta's log signs with one Ed25519 key whose
//! name equals the log's origin line, and verification insists on that.
//!
//! Invariant: the log must never sign a checkpoint inconsistent with one it signed before.
//! [`LogSigner::sign_checkpoint_after`] enforces it: it signs only after the consistency proof
//! from the previous checkpoint verifies. The core never generates keys or reads randomness;
//! the signing key is derived from a 32-byte seed the server supplies (Ed25519 signing itself is
//! deterministic).

use super::hash::Sha256;
use super::merkle::{self, ProofError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::Digest as _;
use std::fmt;

/// Largest note accepted, in bytes: room for well over the 16 signatures the spec requires
/// verifiers to accept, even post-quantum ones.
pub const MAX_NOTE_BYTES: usize = 256 * 1024;
/// Most signature lines accepted on one note (as in Go's `sumdb/note`).
pub const MAX_SIGNATURES: usize = 100;
/// The signed-note signature type of Ed25519.
const ED25519: u8 = 0x01;
/// Every signature line starts with an em dash and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    #[error("note is larger than {MAX_NOTE_BYTES} bytes")]
    NoteTooLarge,
    #[error("the signature by {0} does not verify")]
    BadSignature(String),
    #[error("the note has no signature by {0}")]
    NotSigned(String),
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    #[error("malformed verifier key: {0}")]
    MalformedKey(&'static str),
    #[error("malformed signer key: {0}")]
    MalformedSignerKey(&'static str),
    #[error("key names are non-empty and have no spaces, control characters or `+`")]
    InvalidKeyName,
    #[error("checkpoint origin {origin:?} is not the log key's name {key:?}")]
    OriginMismatch { origin: String, key: String },
    #[error("checkpoint origin changed from {old:?} to {new:?}")]
    OriginChanged { old: String, new: String },
    #[error("tree size went down from {old} to {new}")]
    SizeDecreased { old: u64, new: u64 },
    #[error("checkpoints are inconsistent: {0}")]
    Inconsistent(ProofError),
}

/// A signed-note key name: non-empty, no Unicode spaces, no control characters, no `+`.
/// Attesta uses the log's origin, e.g. `sign.example.com/log`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyName(String);

impl KeyName {
    pub fn parse(input: &str) -> Result<Self, CheckpointError> {
        if input.is_empty()
            || input.len() > 256
            || input.chars().any(|c| c.is_whitespace() || c.is_control() || c == '+')
        {
            return Err(CheckpointError::InvalidKeyName);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `SHA-256(name || 0x0A || 0x01 || public key)[:4]`, big-endian.
fn key_id(name: &KeyName, key: &VerifyingKey) -> u32 {
    let mut hasher = sha2::Sha256::new();
    hasher.update(name.0.as_bytes());
    hasher.update([b'\n', ED25519]);
    hasher.update(key.as_bytes());
    let digest: [u8; 32] = hasher.finalize().into();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// A public Ed25519 note-verifier key with its name and key id.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: KeyName,
    id: u32,
    key: VerifyingKey,
}

impl VerifierKey {
    /// The verifier key for a raw 32-byte Ed25519 public key.
    pub fn from_public_key(name: KeyName, public_key: &[u8; 32]) -> Result<Self, CheckpointError> {
        let key =
            VerifyingKey::from_bytes(public_key).map_err(|_| CheckpointError::MalformedKey("not an Ed25519 point"))?;
        // One point, one encoding; and small-order keys verify forged signatures under lax rules.
        if key.to_edwards().compress().to_bytes() != *public_key {
            return Err(CheckpointError::MalformedKey("non-canonical Ed25519 point"));
        }
        if key.is_weak() {
            return Err(CheckpointError::MalformedKey("small-order Ed25519 point"));
        }
        Ok(Self { id: key_id(&name, &key), name, key })
    }

    /// Parses `<name>+<8 lowercase hex key id>+base64(0x01 || 32-byte key)`, refusing an id
    /// that does not match the name and key.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let (name, rest) = text.split_once('+').ok_or(CheckpointError::MalformedKey("expected name+id+key"))?;
        let (id_hex, key_b64) = rest.split_once('+').ok_or(CheckpointError::MalformedKey("expected name+id+key"))?;
        let name = KeyName::parse(name).map_err(|_| CheckpointError::MalformedKey("invalid key name"))?;
        let id = parse_key_id(id_hex).ok_or(CheckpointError::MalformedKey("key id is not 8 lowercase hex digits"))?;
        let bytes = BASE64.decode(key_b64).map_err(|_| CheckpointError::MalformedKey("key is not base64"))?;
        let Some((&ED25519, public)) = bytes.split_first() else {
            return Err(CheckpointError::MalformedKey("not an Ed25519 key"));
        };
        let public: &[u8; 32] =
            public.try_into().map_err(|_| CheckpointError::MalformedKey("Ed25519 keys are 32 bytes"))?;
        let key = Self::from_public_key(name, public)?;
        if key.id != id {
            return Err(CheckpointError::MalformedKey("key id does not match the name and key"));
        }
        Ok(key)
    }

    pub fn name(&self) -> &KeyName {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.id
    }

    pub fn public_key(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }
}

fn parse_key_id(text: &str) -> Option<u32> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = vec![ED25519];
        material.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, BASE64.encode(material))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

/// The log's signing key. Never printed; the seed is wiped when it is dropped.
#[derive(Clone)]
pub struct LogSigner {
    key: SigningKey,
    verifier: VerifierKey,
}

impl LogSigner {
    /// The Ed25519 key with this 32-byte seed (RFC 8032 secret key). The server creates the seed
    /// once from its random source and keeps it secret.
    pub fn from_seed(name: KeyName, seed: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(seed);
        let public = key.verifying_key();
        let verifier = VerifierKey { id: key_id(&name, &public), name, key: public };
        Self { key, verifier }
    }

    /// Reads the signer-key text of Go's `sumdb/note`: `PRIVATE+KEY+<name>+<hex id>+base64(0x01 || seed)`,
    /// so keys made with the usual transparency-log tools can be used.
    pub fn parse_signer_key(text: &str) -> Result<Self, CheckpointError> {
        let rest =
            text.strip_prefix("PRIVATE+KEY+").ok_or(CheckpointError::MalformedSignerKey("missing PRIVATE+KEY+"))?;
        let (name, rest) = rest.split_once('+').ok_or(CheckpointError::MalformedSignerKey("expected name+id+key"))?;
        let (id_hex, key_b64) =
            rest.split_once('+').ok_or(CheckpointError::MalformedSignerKey("expected name+id+key"))?;
        let name = KeyName::parse(name).map_err(|_| CheckpointError::MalformedSignerKey("invalid key name"))?;
        let id =
            parse_key_id(id_hex).ok_or(CheckpointError::MalformedSignerKey("key id is not 8 lowercase hex digits"))?;
        let bytes = BASE64.decode(key_b64).map_err(|_| CheckpointError::MalformedSignerKey("key is not base64"))?;
        let Some((&ED25519, seed)) = bytes.split_first() else {
            return Err(CheckpointError::MalformedSignerKey("not an Ed25519 key"));
        };
        let seed: &[u8; 32] =
            seed.try_into().map_err(|_| CheckpointError::MalformedSignerKey("Ed25519 seeds are 32 bytes"))?;
        let signer = Self::from_seed(name, seed);
        if signer.verifier.id != id {
            return Err(CheckpointError::MalformedSignerKey("key id does not match the name and key"));
        }
        Ok(signer)
    }

    pub fn verifier_key(&self) -> &VerifierKey {
        &self.verifier
    }

    /// Signs note text (non-empty, ending in a newline, no control characters other than
    /// newline) and returns the whole signed note.
    pub fn sign_note(&self, text: &str) -> Result<String, CheckpointError> {
        check_note_text(text)?;
        let signature = self.key.sign(text.as_bytes());
        let mut blob = self.verifier.id.to_be_bytes().to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        let note = format!("{text}\n{SIGNATURE_PREFIX}{} {}\n", self.verifier.name, BASE64.encode(blob));
        if note.len() > MAX_NOTE_BYTES {
            return Err(CheckpointError::NoteTooLarge);
        }
        Ok(note)
    }

    /// Signs a checkpoint whose origin is this key's name. Prefer
    /// [`LogSigner::sign_checkpoint_after`], which also enforces consistency.
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String, CheckpointError> {
        if checkpoint.origin != self.verifier.name.0 {
            return Err(CheckpointError::OriginMismatch {
                origin: checkpoint.origin.clone(),
                key: self.verifier.name.0.clone(),
            });
        }
        self.sign_note(&checkpoint.to_text())
    }

    /// Signs `next` only if it is consistent with `previous`, the last checkpoint this log
    /// signed (`None` for the first), given the consistency proof from `previous.size()` to
    /// `next.size()` (empty when the sizes are equal or the previous tree was empty).
    pub fn sign_checkpoint_after(
        &self,
        previous: Option<&Checkpoint>,
        next: &Checkpoint,
        proof: &[Sha256],
    ) -> Result<String, CheckpointError> {
        if let Some(previous) = previous {
            check_consistent(previous, next, proof)?;
        }
        self.sign_checkpoint(next)
    }
}

impl fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogSigner({}, <secret>)", self.verifier)
    }
}

fn check_note_text(text: &str) -> Result<(), CheckpointError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(CheckpointError::MalformedNote("text must be non-empty and end with a newline"));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(CheckpointError::MalformedNote("control character"));
    }
    if text.len() > MAX_NOTE_BYTES {
        return Err(CheckpointError::NoteTooLarge);
    }
    Ok(())
}

/// Checks a signed note's format and its signature by `key`; returns the signed text.
///
/// As the spec requires: signatures by other keys (another name or key id) are ignored; a
/// signature by `key` that does not verify rejects the note; a note without a verifying
/// signature by `key` is rejected.
pub fn open_note<'a>(note: &'a str, key: &VerifierKey) -> Result<&'a str, CheckpointError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(CheckpointError::NoteTooLarge);
    }
    if note.chars().any(|c| c < ' ' && c != '\n') {
        return Err(CheckpointError::MalformedNote("control character"));
    }
    if !note.ends_with('\n') {
        return Err(CheckpointError::MalformedNote("must end with a newline"));
    }
    // The text ends at the last blank line; signature lines are never empty.
    let split = note.rfind("\n\n").ok_or(CheckpointError::MalformedNote("no blank line before the signatures"))?;
    let (text, signatures) = (&note[..=split], &note[split + 2..]);
    if signatures.is_empty() {
        return Err(CheckpointError::MalformedNote("no signatures"));
    }
    let mut verified = false;
    for (count, line) in signatures.split_terminator('\n').enumerate() {
        if count >= MAX_SIGNATURES {
            return Err(CheckpointError::MalformedNote("too many signatures"));
        }
        let line = line.strip_prefix(SIGNATURE_PREFIX).ok_or(CheckpointError::MalformedNote("bad signature line"))?;
        let (name, blob) = line.split_once(' ').ok_or(CheckpointError::MalformedNote("bad signature line"))?;
        if KeyName::parse(name).is_err() {
            return Err(CheckpointError::MalformedNote("bad key name in signature line"));
        }
        let blob = BASE64.decode(blob).map_err(|_| CheckpointError::MalformedNote("signature is not base64"))?;
        if blob.len() < 5 {
            return Err(CheckpointError::MalformedNote("signature too short"));
        }
        let id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
        if name != key.name.0 || id != key.id {
            continue;
        }
        let signature: &[u8; 64] =
            blob[4..].try_into().map_err(|_| CheckpointError::BadSignature(key.name.0.clone()))?;
        key.key
            .verify_strict(text.as_bytes(), &Signature::from_bytes(signature))
            .map_err(|_| CheckpointError::BadSignature(key.name.0.clone()))?;
        verified = true;
    }
    if verified { Ok(text) } else { Err(CheckpointError::NotSigned(key.name.0.clone())) }
}

/// The text of a note without checking any signature, for diagnostics only.
pub(crate) fn unverified_note_text(note: &str) -> Option<&str> {
    note.rfind("\n\n").map(|split| &note[..=split])
}

/// A log's tree head: origin, size and root (C2SP tlog-checkpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Sha256,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint of Attesta's log, whose origin is also its key name.
    pub fn new(origin: &KeyName, size: u64, root: Sha256) -> Self {
        Self { origin: origin.0.clone(), size, root, extensions: Vec::new() }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn root(&self) -> &Sha256 {
        &self.root
    }

    /// Extension lines: opaque, optional, never written by Attesta.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text: `origin\nsize\nbase64(root)\n` and any extension lines.
    pub fn to_text(&self) -> String {
        let mut text = format!("{}\n{}\n{}\n", self.origin, self.size, self.root.to_base64());
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Parses checkpoint note text (without signatures).
    pub fn parse_text(text: &str) -> Result<Self, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::MalformedCheckpoint("must end with a newline"))?;
        let mut lines = body.split('\n');
        let origin =
            lines.next().filter(|l| !l.is_empty()).ok_or(CheckpointError::MalformedCheckpoint("empty origin"))?;
        if origin.chars().any(char::is_control) {
            return Err(CheckpointError::MalformedCheckpoint("control character in origin"));
        }
        let size = lines.next().ok_or(CheckpointError::MalformedCheckpoint("missing tree size"))?;
        let size =
            parse_decimal(size).ok_or(CheckpointError::MalformedCheckpoint("tree size is not a canonical decimal"))?;
        let root = lines.next().ok_or(CheckpointError::MalformedCheckpoint("missing root hash"))?;
        let root = Sha256::parse_base64(root)
            .map_err(|_| CheckpointError::MalformedCheckpoint("root is not base64 of 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::MalformedCheckpoint("empty extension line"));
        }
        Ok(Self { origin: origin.to_owned(), size, root, extensions })
    }
}

/// ASCII decimal without sign or leading zeros (except `0` itself), fitting a u64.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

/// Verifies a checkpoint note signed by `key` and parses it; its origin must be the key's name.
pub fn verify_checkpoint(note: &str, key: &VerifierKey) -> Result<Checkpoint, CheckpointError> {
    let checkpoint = Checkpoint::parse_text(open_note(note, key)?)?;
    if checkpoint.origin != key.name.0 {
        return Err(CheckpointError::OriginMismatch { origin: checkpoint.origin, key: key.name.0.clone() });
    }
    Ok(checkpoint)
}

/// Checks that `next` extends `previous`: same origin, no smaller, and the consistency proof
/// from `previous.size()` to `next.size()` verifies (RFC 9162 §2.1.4.2). From an empty tree the
/// proof must be empty and the old root the empty-tree root.
pub fn check_consistent(previous: &Checkpoint, next: &Checkpoint, proof: &[Sha256]) -> Result<(), CheckpointError> {
    if previous.origin != next.origin {
        return Err(CheckpointError::OriginChanged { old: previous.origin.clone(), new: next.origin.clone() });
    }
    if next.size < previous.size {
        return Err(CheckpointError::SizeDecreased { old: previous.size, new: next.size });
    }
    if previous.size == 0 {
        if previous.root != merkle::empty_root() {
            return Err(CheckpointError::Inconsistent(ProofError::OldRootMismatch));
        }
        if !proof.is_empty() {
            return Err(CheckpointError::Inconsistent(ProofError::UnexpectedProof));
        }
        return Ok(());
    }
    merkle::verify_consistency(previous.size, next.size, &previous.root, &next.root, proof)
        .map_err(CheckpointError::Inconsistent)
}

#[cfg(test)]
mod tests;
