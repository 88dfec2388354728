//! The blob store port: where encrypted files live. Two adapters: a local folder (the embedded
//! default) and any S3-compatible service.
//!
//! Stores only ever see ciphertext (see `documents::ingest`); a key names an object, nothing
//! more, and carries nothing about the document.

pub mod local;
pub mod s3;
pub mod sweep;

use bytes::Bytes;
use futures_core::Stream;
use std::path::Path;
use std::pin::Pin;

pub type BlobStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A validated object key: 1..=512 bytes of [a-z0-9/._-], no leading '/', no '..' segment, no '//'.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn parse(s: &str) -> Result<Self, BlobError> {
        let invalid = || BlobError::InvalidKey(s.chars().take(80).collect());
        if s.is_empty() || s.len() > 512 || s.starts_with('/') || s.ends_with('/') || s.contains("//") {
            return Err(invalid());
        }
        if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'/' | b'.' | b'_' | b'-')) {
            return Err(invalid());
        }
        if s.split('/').any(|segment| segment == ".." || segment == ".") {
            return Err(invalid());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("invalid blob key: {0}")]
    InvalidKey(String),
    #[error("blob {0} does not exist")]
    NotFound(String),
    #[error("blob store: {0}")]
    Backend(String),
}

/// An object found in a store, for the orphan sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: BlobKey,
    /// When it was written, in microseconds since the Unix epoch (the store's clock).
    pub modified_micros: i64,
}

/// Opaque bytes, written once, read many times, deleted by retention. A put is atomic: a reader
/// never sees a partial object.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores the complete file at `path` under `key` (overwriting is allowed only for identical
    /// content; callers use fresh keys). The store may read `path` more than once (retries) but
    /// does not delete it.
    async fn put_file(&self, key: &BlobKey, path: &Path) -> Result<(), BlobError>;
    /// Streams the object's bytes.
    async fn get(&self, key: &BlobKey) -> Result<BlobStream, BlobError>;
    /// Deletes the object; deleting a missing object is not an error.
    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError>;
    /// Every complete object in the store (the orphan sweep compares them with the `blobs` rows).
    async fn list(&self) -> Result<Vec<Listed>, BlobError>;
    /// Removes writes that never finished (a local `.partial-*` file, an S3 multipart upload)
    /// begun before `before_micros`; returns how many it removed.
    async fn remove_partials(&self, before_micros: i64) -> Result<u64, BlobError>;
    /// Cheap readiness probe (for /readyz): the store is reachable and the bucket or folder exists.
    async fn check(&self) -> Result<(), BlobError>;
    /// A short name for logs and metrics: "local" or "s3".
    fn kind(&self) -> &'static str;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        for good in ["a", "documents/2026/abc.bin", "x-y_z.0"] {
            assert!(BlobKey::parse(good).is_ok(), "{good}");
        }
        let long = "a".repeat(513);
        for bad in ["", "/a", "a/", "a/../b", "a/./b", "..", "a//b", "Upper", "a b", "a\\b", long.as_str()] {
            assert!(BlobKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
