//! Envelope encryption for every file Attesta stores.
//!
//! # Why
//! Attesta stores documents in a bucket or folder that an operator may share, back up elsewhere, or lose. The
//! store alone must reveal nothing, so every file is encrypted by Attesta itself before it is written:
//!
//! * Each file gets its own random 256-bit [`DataKey`]. The file is encrypted with it as a chunked AES-256-GCM
//!   stream (see [`Encryptor`] / [`Decryptor`]), so uploads and downloads of 100+ MB files stream in constant
//!   memory and every chunk is authenticated before its plaintext is released.
//! * The data key is wrapped (AES-256-GCM) under a [`MasterKey`] from config. The resulting [`WrappedKey`] is a
//!   short string stored in the *database* row of the file, not in the blob. Rotating the master key therefore
//!   only re-wraps those strings ([`Keyring::rewrap`]); blobs are never rewritten.
//! * The wrap binds the blob's identity (e.g. its storage key) as associated data, so a wrapped key copied onto
//!   another row does not open it.
//! * The file hash Attesta records is of the *plaintext*; the caller hashes the same pieces it feeds to
//!   [`Encryptor::update`]. This module never sees or needs that hash.
//!
//! # Blob format (version 1)
//! ```text
//! header  = "ATTESTA\0" || version:u8 (=1) || chunk_size_log2:u8 (=16) || nonce_prefix:[u8; 7]   (17 bytes)
//! chunk_i = AES-256-GCM(data_key, nonce = nonce_prefix || i:u32 BE || last:u8, aad = header, plaintext_i)
//! blob    = header || chunk_0 || ... || chunk_n
//! ```
//! This is the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015), byte-for-byte what
//! `aead::stream::StreamBE32` produces, with the header as associated data of every chunk. Every non-final chunk
//! holds exactly `2^chunk_size_log2` plaintext bytes; the final chunk (flag 1) holds the remaining 0 to
//! `2^chunk_size_log2 - 1` bytes, so a plaintext whose length is a multiple of the chunk size ends in an empty
//! final chunk, and the empty file is a single empty final chunk. Reordering, dropping, duplicating or appending
//! chunks, truncation, and any edit of the header all fail authentication.
//!
//! # Streaming caveat
//! [`Decryptor::update`] releases each chunk's plaintext as soon as that chunk authenticates, which is what makes
//! constant-memory downloads possible. Each released chunk is genuine, but the file is only known to be complete
//! when [`Decryptor::finish`] returns `Ok`: a consumer that acts on content (rather than just forwarding bytes to
//! a client that will also see the error) must wait for `finish`.
#![forbid(unsafe_code)]

mod keys;
mod stream;
#[cfg(test)]
mod tests;

pub use keys::{DataKey, KeyError, Keyring, MasterKey, MasterKeyError, MasterKeyId, WrappedKey, WrappedKeyParseError};
pub use stream::{
    CHUNK_SIZE, DecryptError, Decryptor, EncryptError, Encryptor, HEADER_LEN, TAG_LEN, ciphertext_len, decrypt_all,
    encrypt_all, plaintext_len,
};
