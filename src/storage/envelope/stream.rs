//! The blob format: a chunked AES-256-GCM stream (STREAM construction), encrypted and decrypted push-style in
//! constant memory. See the module docs of `envelope` for the layout.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::keys::DataKey;

const MAGIC: [u8; 8] = *b"ATTESTA\0";
const FORMAT_VERSION: u8 = 1;
/// 64 KiB chunks: large enough that the 16-byte tag per chunk costs 0.02%, small enough to buffer per stream.
const CHUNK_SIZE_LOG2: u8 = 16;
/// Plaintext bytes in every non-final chunk.
pub const CHUNK_SIZE: usize = 1 << CHUNK_SIZE_LOG2;
/// AES-GCM tag appended to every chunk.
pub const TAG_LEN: usize = 16;
const NONCE_PREFIX_LEN: usize = 7;
/// Blob header: magic (8) || version (1) || chunk_size_log2 (1) || nonce prefix (7).
pub const HEADER_LEN: usize = MAGIC.len() + 2 + NONCE_PREFIX_LEN;
/// Chunk sizes a reader accepts (1 KiB ..= 1 MiB). Writers use [`CHUNK_SIZE`]; the header field leaves room to
/// change that later, and the upper bound caps what a reader ever buffers.
const MIN_CHUNK_SIZE_LOG2: u8 = 10;
const MAX_CHUNK_SIZE_LOG2: u8 = 20;
/// Chunk counters are u32, so a blob holds at most 2^32 chunks (256 TiB of plaintext at 64 KiB).
const MAX_CHUNKS: u64 = 1 << 32;

/// Why a blob could not be encrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncryptError {
    /// More than 2^32 chunks (256 TiB at 64 KiB per chunk): the chunk counter would wrap and repeat nonces.
    #[error("file too large to encrypt as one blob (limit 2^32 chunks of 64 KiB)")]
    TooLong,
}

/// Why a blob could not be decrypted. No variant ever comes with plaintext that did not authenticate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// The data does not start with `ATTESTA\0`: not an encrypted Attesta blob (e.g. a file stored unencrypted).
    #[error("not an encrypted Attesta blob (bad magic bytes)")]
    BadMagic,
    /// Written by a newer format version.
    #[error("unsupported encrypted blob format version {0}")]
    UnsupportedVersion(u8),
    /// The header's chunk size is outside what this reader accepts.
    #[error("unsupported encrypted blob chunk size 2^{0}")]
    UnsupportedChunkSize(u8),
    /// The blob ended inside the header or exactly after a non-final chunk. (Truncation inside a chunk surfaces
    /// as [`DecryptError::Authentication`] of that chunk, since it is indistinguishable from tampering.)
    #[error("encrypted blob is truncated")]
    Truncated,
    /// A chunk (0-based index) did not authenticate: the blob was modified, truncated, reordered, has data
    /// appended, or was encrypted under a different data key.
    #[error("encrypted blob chunk {chunk} failed authentication (tampered with, truncated, or wrong key)")]
    Authentication {
        /// Index of the failing chunk.
        chunk: u32,
    },
    /// More than 2^32 chunks; no valid blob has that many.
    #[error("encrypted blob has more chunks than the format allows")]
    TooLong,
}

/// Length of the blob for a plaintext of `plaintext_len` bytes, so a store can send Content-Length before
/// streaming. `None` if the plaintext is too large for one blob.
pub fn ciphertext_len(plaintext_len: u64) -> Option<u64> {
    ciphertext_len_for(plaintext_len, CHUNK_SIZE_LOG2)
}

fn ciphertext_len_for(plaintext_len: u64, chunk_size_log2: u8) -> Option<u64> {
    // Every full chunk is non-final and is followed by a final chunk holding the 0..chunk_size remaining bytes.
    let chunks = (plaintext_len >> chunk_size_log2) + 1;
    if chunks > MAX_CHUNKS {
        return None;
    }
    (HEADER_LEN as u64).checked_add(plaintext_len)?.checked_add(chunks * TAG_LEN as u64)
}

/// Plaintext length of a (64 KiB-chunk) blob of `ciphertext_len` bytes, e.g. to report a file's size from the
/// object store's metadata; `None` if no valid blob has that length. Inverse of [`ciphertext_len`].
pub fn plaintext_len(ciphertext_len: u64) -> Option<u64> {
    let body = ciphertext_len.checked_sub(HEADER_LEN as u64)?;
    let full_chunk = (CHUNK_SIZE + TAG_LEN) as u64;
    let (full_chunks, final_chunk) = (body / full_chunk, body % full_chunk);
    if final_chunk < TAG_LEN as u64 || full_chunks >= MAX_CHUNKS {
        return None;
    }
    Some(full_chunks * CHUNK_SIZE as u64 + (final_chunk - TAG_LEN as u64))
}

/// Nonce of chunk `counter`: `prefix (7) || counter (u32 BE) || last flag (1)`, exactly as in STREAM /
/// `aead::stream::StreamBE32`. The last flag is what makes dropping the tail of a blob detectable.
fn chunk_nonce(prefix: &[u8; NONCE_PREFIX_LEN], counter: u32, last: bool) -> Nonce<aes_gcm::aead::consts::U12> {
    let mut nonce = [0u8; 12];
    nonce[..NONCE_PREFIX_LEN].copy_from_slice(prefix);
    nonce[NONCE_PREFIX_LEN..NONCE_PREFIX_LEN + 4].copy_from_slice(&counter.to_be_bytes());
    nonce[NONCE_PREFIX_LEN + 4] = u8::from(last);
    Nonce::from(nonce)
}

/// Per-blob chunk sealing/opening state shared by both directions: the key, the header (which is the associated
/// data of every chunk, so any header edit fails the very first chunk), and the next chunk's counter.
struct Chunks {
    cipher: Aes256Gcm,
    header: [u8; HEADER_LEN],
    next: u32,
}

impl Chunks {
    fn nonce_prefix(&self) -> [u8; NONCE_PREFIX_LEN] {
        let mut prefix = [0u8; NONCE_PREFIX_LEN];
        prefix.copy_from_slice(&self.header[HEADER_LEN - NONCE_PREFIX_LEN..]);
        prefix
    }

    /// The counter for the next chunk. A non-final chunk cannot take the last counter value, since the final
    /// chunk still needs one after it.
    fn take_counter(&mut self, last: bool) -> Option<u32> {
        let counter = self.next;
        if !last {
            self.next = counter.checked_add(1)?;
        }
        Some(counter)
    }

    /// Appends the sealed chunk (ciphertext || tag) to `out`. On error `out` is unchanged.
    fn seal(&mut self, plaintext: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), EncryptError> {
        let counter = self.take_counter(last).ok_or(EncryptError::TooLong)?;
        let start = out.len();
        out.extend_from_slice(plaintext);
        let nonce = chunk_nonce(&self.nonce_prefix(), counter, last);
        match self.cipher.encrypt_in_place_detached(&nonce, &self.header, &mut out[start..]) {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                Ok(())
            }
            Err(_) => {
                out.truncate(start);
                Err(EncryptError::TooLong)
            }
        }
    }

    /// Appends the plaintext of `chunk` (ciphertext || tag) to `out` if and only if it authenticates.
    fn open(&mut self, chunk: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), DecryptError> {
        let counter = self.take_counter(last).ok_or(DecryptError::TooLong)?;
        let body_len = chunk.len().checked_sub(TAG_LEN).ok_or(DecryptError::Truncated)?;
        let (body, tag) = chunk.split_at(body_len);
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| DecryptError::Truncated)?;
        let start = out.len();
        out.extend_from_slice(body);
        let nonce = chunk_nonce(&self.nonce_prefix(), counter, last);
        match self.cipher.decrypt_in_place_detached(&nonce, &self.header, &mut out[start..], &Tag::from(tag)) {
            Ok(()) => Ok(()),
            Err(_) => {
                out.truncate(start);
                Err(DecryptError::Authentication { chunk: counter })
            }
        }
    }
}

/// Encrypts one file into a blob, push-style: feed plaintext pieces of any size to [`Encryptor::update`], then call
/// [`Encryptor::finish`]. The concatenation of everything appended to `out` (header included) is the blob.
///
/// Memory: buffers at most one partial chunk (< 64 KiB) of plaintext, zeroized on drop.
pub struct Encryptor {
    chunks: Chunks,
    chunk_size: usize,
    header_written: bool,
    buffer: Zeroizing<Vec<u8>>,
    failed: bool,
}

impl Encryptor {
    /// Starts a blob under `data_key` (which must be fresh for this file) with a random nonce prefix from `rng`.
    pub fn new(data_key: &DataKey, rng: &mut impl CryptoRngCore) -> Self {
        Self::with_chunk_size_log2(data_key, CHUNK_SIZE_LOG2, rng)
    }

    /// Like [`Encryptor::new`] with another chunk size (clamped to what readers accept); tests use small chunks to
    /// cover many chunk boundaries cheaply.
    pub(super) fn with_chunk_size_log2(data_key: &DataKey, chunk_size_log2: u8, rng: &mut impl CryptoRngCore) -> Self {
        let chunk_size_log2 = chunk_size_log2.clamp(MIN_CHUNK_SIZE_LOG2, MAX_CHUNK_SIZE_LOG2);
        let mut header = [0u8; HEADER_LEN];
        header[..MAGIC.len()].copy_from_slice(&MAGIC);
        header[MAGIC.len()] = FORMAT_VERSION;
        header[MAGIC.len() + 1] = chunk_size_log2;
        // The data key is never meant to be reused; the random prefix keeps nonces distinct even if it is.
        rng.fill_bytes(&mut header[MAGIC.len() + 2..]);
        let chunk_size = 1usize << chunk_size_log2;
        Self {
            chunks: Chunks { cipher: data_key.cipher(), header, next: 0 },
            chunk_size,
            header_written: false,
            buffer: Zeroizing::new(Vec::with_capacity(chunk_size)),
            failed: false,
        }
    }

    /// Encrypts `plaintext` (any length, including empty), appending the header (first call only) and every chunk
    /// that fills up. On error `out` is unchanged and the encryptor is unusable.
    pub fn update(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), EncryptError> {
        if self.failed {
            return Err(EncryptError::TooLong);
        }
        let start = out.len();
        let result = self.update_inner(plaintext, out);
        if result.is_err() {
            self.failed = true;
            out.truncate(start);
        }
        result
    }

    fn update_inner(&mut self, mut plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), EncryptError> {
        self.write_header(out);
        if !self.buffer.is_empty() {
            let (head, rest) = plaintext.split_at((self.chunk_size - self.buffer.len()).min(plaintext.len()));
            self.buffer.extend_from_slice(head);
            plaintext = rest;
            if self.buffer.len() < self.chunk_size {
                return Ok(());
            }
            // A full chunk is always non-final: the final chunk is the (possibly empty) partial one from finish().
            self.chunks.seal(&self.buffer, false, out)?;
            self.buffer.clear();
        }
        // Whole chunks straight from the input, without copying them through the buffer.
        while plaintext.len() >= self.chunk_size {
            let (chunk, rest) = plaintext.split_at(self.chunk_size);
            self.chunks.seal(chunk, false, out)?;
            plaintext = rest;
        }
        self.buffer.extend_from_slice(plaintext);
        Ok(())
    }

    /// Appends the final chunk (and the header if nothing was written yet), completing the blob.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), EncryptError> {
        if self.failed {
            return Err(EncryptError::TooLong);
        }
        let start = out.len();
        self.write_header(out);
        let result = self.chunks.seal(&self.buffer, true, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn write_header(&mut self, out: &mut Vec<u8>) {
        if !self.header_written {
            out.extend_from_slice(&self.chunks.header);
            self.header_written = true;
        }
    }
}

/// Decrypts a blob, push-style: feed the blob in pieces split anywhere to [`Decryptor::update`], then call
/// [`Decryptor::finish`]. Only authenticated plaintext is ever appended to `out`; the whole file is only confirmed
/// complete when `finish` returns `Ok`.
///
/// Memory: buffers at most one chunk of ciphertext (64 KiB + 16 bytes for blobs written by [`Encryptor`]).
pub struct Decryptor {
    chunks: Chunks,
    header_len: usize,
    /// Ciphertext length of a full (necessarily non-final) chunk, once the header has been read.
    full_chunk_len: Option<usize>,
    buffer: Vec<u8>,
    failed: Option<DecryptError>,
}

impl Decryptor {
    /// Starts decrypting a blob encrypted under `data_key`.
    pub fn new(data_key: &DataKey) -> Self {
        Self {
            chunks: Chunks { cipher: data_key.cipher(), header: [0u8; HEADER_LEN], next: 0 },
            header_len: 0,
            full_chunk_len: None,
            buffer: Vec::new(),
            failed: None,
        }
    }

    /// Consumes the next piece of the blob (any length, split anywhere) and appends the plaintext of every chunk it
    /// completes. Because the final chunk is always shorter than a full chunk, a full chunk is known to be
    /// non-final and is released as soon as it has authenticated; only a partial chunk is held back for `finish`.
    ///
    /// On error `out` is unchanged, and this and every later call return the same error.
    pub fn update(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<(), DecryptError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let start = out.len();
        let result = self.update_inner(ciphertext, out);
        if let Err(error) = &result {
            self.failed = Some(error.clone());
            out.truncate(start);
        }
        result
    }

    fn update_inner(&mut self, mut ciphertext: &[u8], out: &mut Vec<u8>) -> Result<(), DecryptError> {
        let full_chunk_len = match self.full_chunk_len {
            Some(len) => len,
            None => {
                let (head, rest) = ciphertext.split_at((HEADER_LEN - self.header_len).min(ciphertext.len()));
                self.chunks.header[self.header_len..self.header_len + head.len()].copy_from_slice(head);
                self.header_len += head.len();
                ciphertext = rest;
                // Reject non-blobs (e.g. legacy unencrypted files) as soon as the first bytes show it.
                let seen = self.header_len.min(MAGIC.len());
                if self.chunks.header[..seen] != MAGIC[..seen] {
                    return Err(DecryptError::BadMagic);
                }
                if self.header_len < HEADER_LEN {
                    return Ok(());
                }
                let len = parse_header(&self.chunks.header)? + TAG_LEN;
                self.full_chunk_len = Some(len);
                self.buffer.reserve_exact(len);
                len
            }
        };
        if !self.buffer.is_empty() {
            let (head, rest) = ciphertext.split_at((full_chunk_len - self.buffer.len()).min(ciphertext.len()));
            self.buffer.extend_from_slice(head);
            ciphertext = rest;
            if self.buffer.len() < full_chunk_len {
                return Ok(());
            }
            self.chunks.open(&self.buffer, false, out)?;
            self.buffer.clear();
        }
        while ciphertext.len() >= full_chunk_len {
            let (chunk, rest) = ciphertext.split_at(full_chunk_len);
            self.chunks.open(chunk, false, out)?;
            ciphertext = rest;
        }
        self.buffer.extend_from_slice(ciphertext);
        Ok(())
    }

    /// Ends the blob: authenticates the buffered final chunk and appends its plaintext. `Ok` means the whole file
    /// was received intact; an error here means it was truncated or tampered with.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), DecryptError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        if self.full_chunk_len.is_none() || self.buffer.len() < TAG_LEN {
            // Ended inside the header, or at a chunk boundary (the final chunk, which is never full, is missing).
            return Err(DecryptError::Truncated);
        }
        self.chunks.open(&self.buffer, true, out)
    }
}

/// Checks magic, version and chunk size; returns the plaintext chunk size.
fn parse_header(header: &[u8; HEADER_LEN]) -> Result<usize, DecryptError> {
    if header[..MAGIC.len()] != MAGIC {
        return Err(DecryptError::BadMagic);
    }
    let version = header[MAGIC.len()];
    if version != FORMAT_VERSION {
        return Err(DecryptError::UnsupportedVersion(version));
    }
    let chunk_size_log2 = header[MAGIC.len() + 1];
    if !(MIN_CHUNK_SIZE_LOG2..=MAX_CHUNK_SIZE_LOG2).contains(&chunk_size_log2) {
        return Err(DecryptError::UnsupportedChunkSize(chunk_size_log2));
    }
    Ok(1usize << chunk_size_log2)
}

/// Encrypts a whole in-memory file (small files, tests). Large files should stream through [`Encryptor`].
pub fn encrypt_all(
    data_key: &DataKey,
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, EncryptError> {
    let capacity = ciphertext_len(plaintext.len() as u64).and_then(|len| usize::try_from(len).ok()).unwrap_or(0);
    let mut out = Vec::with_capacity(capacity);
    let mut encryptor = Encryptor::new(data_key, rng);
    encryptor.update(plaintext, &mut out)?;
    encryptor.finish(&mut out)?;
    Ok(out)
}

/// Decrypts a whole in-memory blob (small files, tests). Large files should stream through [`Decryptor`].
pub fn decrypt_all(data_key: &DataKey, blob: &[u8]) -> Result<Vec<u8>, DecryptError> {
    let mut out = Vec::with_capacity(blob.len());
    let mut decryptor = Decryptor::new(data_key);
    decryptor.update(blob, &mut out)?;
    decryptor.finish(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Tests that need the private state (chunk counter); the format and property tests are in `envelope::tests`.
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn nonce_layout_is_prefix_counter_be_flag() {
        let prefix = [1, 2, 3, 4, 5, 6, 7];
        assert_eq!(
            chunk_nonce(&prefix, 0x0A0B_0C0D, false).as_slice(),
            [1, 2, 3, 4, 5, 6, 7, 0x0A, 0x0B, 0x0C, 0x0D, 0]
        );
        assert_eq!(chunk_nonce(&prefix, 0, true).as_slice(), [1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0, 1]);
    }

    /// The counter may never wrap: with a non-final chunk at `u32::MAX` the stream could not be ended.
    #[test]
    fn chunk_counter_never_wraps() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let key = DataKey::generate(&mut rng);
        let chunk = vec![7u8; 1024];

        let mut enc = Encryptor::with_chunk_size_log2(&key, 10, &mut rng);
        enc.chunks.next = u32::MAX - 1;
        let mut blob = Vec::new();
        enc.update(&chunk, &mut blob).expect("test value"); // counter u32::MAX - 1, non-final
        let len_before = blob.len();
        assert_eq!(enc.update(&chunk, &mut blob), Err(EncryptError::TooLong)); // would take u32::MAX as non-final
        assert_eq!(blob.len(), len_before, "failed update must not emit output");
        assert_eq!(enc.update(b"", &mut blob), Err(EncryptError::TooLong), "encryptor stays failed");

        // The last counter value is still usable by the final chunk.
        let mut enc = Encryptor::with_chunk_size_log2(&key, 10, &mut rng);
        enc.chunks.next = u32::MAX - 1;
        let mut blob = Vec::new();
        enc.update(&chunk, &mut blob).expect("test value");
        enc.update(b"tail", &mut blob).expect("test value");
        enc.finish(&mut blob).expect("test value");
        let mut dec = Decryptor::new(&key);
        dec.chunks.next = u32::MAX - 1;
        let mut out = Vec::new();
        dec.update(&blob, &mut out).expect("test value");
        dec.finish(&mut out).expect("test value");
        assert_eq!(out, [&chunk[..], b"tail"].concat());

        // A reader refuses a non-final chunk at the last counter value.
        let mut dec = Decryptor::new(&key);
        dec.chunks.next = u32::MAX;
        let mut out = Vec::new();
        assert_eq!(dec.update(&blob, &mut out), Err(DecryptError::TooLong));
        assert!(out.is_empty());
    }

    #[test]
    fn chunk_size_is_clamped_to_what_readers_accept() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let key = DataKey::generate(&mut rng);
        for log2 in [0, 9, 10, 20, 21, 255] {
            let enc = Encryptor::with_chunk_size_log2(&key, log2, &mut rng);
            assert!(parse_header(&enc.chunks.header).is_ok(), "log2 {log2}");
        }
    }
}
