//! Taking an upload in: spool, hash, check, (typeset), encrypt, store.
//!
//! Memory stays flat whatever the file's size: the body is hashed and written to an unnamed
//! temporary file as it arrives; the PDF is parsed from a memory map of that file (pages the
//! kernel can drop, not heap); encryption streams from that file into a second temporary file in
//! 64 KiB chunks; the store streams from there. The plaintext never has a name on disk: the spool
//! is created with `O_TMPFILE` where the platform has it (tempfile's `tempfile_in`), so it
//! vanishes when closed, even after a crash.

use super::markdown_pdf;
use attesta_core::documents::pdf::{PdfInfo, inspect};
use attesta_core::documents::{Refusal, Sniffed, sniff};
use attesta_core::evidence::{FileHasher, Sha256};
use attesta_core::storage::envelope::{DataKey, Encryptor, Keyring, WrappedKey};
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;
use tokio::io::AsyncWriteExt as _;

/// How much of the start of an upload is kept to decide its type.
const SNIFF_BYTES: usize = 1024;
/// Largest Markdown source accepted (it is typeset in memory).
pub const MAX_MARKDOWN_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The client went away or sent a malformed body.
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    #[error("{0}")]
    Internal(#[from] anyhow::Error),
}

fn internal(context: &str, e: impl std::fmt::Display) -> IngestError {
    IngestError::Internal(anyhow::anyhow!("{context}: {e}"))
}

/// An upload written to a private temporary file, with its hash.
pub struct Spooled {
    pub file: std::fs::File,
    pub len: u64,
    pub sha256: Sha256,
    pub head: Vec<u8>,
}

/// Writes `body` to an unnamed temporary file in `dir`, hashing as it goes, and stops with
/// `TooLarge` as soon as it passes `max_bytes`.
pub async fn spool<S, E>(dir: &Path, mut body: S, max_bytes: u64) -> Result<Spooled, IngestError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let file = tempfile::tempfile_in(dir).map_err(|e| internal("creating a spool file", e))?;
    let mut writer = tokio::fs::File::from_std(file);
    let mut hasher = FileHasher::new();
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut len: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| IngestError::Interrupted(e.to_string()))?;
        len += chunk.len() as u64;
        if len > max_bytes {
            return Err(Refusal::TooLarge { limit: max_bytes }.into());
        }
        if head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(&chunk);
        writer.write_all(&chunk).await.map_err(|e| internal("writing the spool file", e))?;
    }
    writer.flush().await.map_err(|e| internal("writing the spool file", e))?;
    if len == 0 {
        return Err(Refusal::Empty.into());
    }
    Ok(Spooled { file: writer.into_std().await, len, sha256: hasher.finish(), head })
}

/// A PDF ready to be encrypted and stored: what was uploaded, or what Markdown became.
pub struct CheckedPdf {
    pub spooled: Spooled,
    pub info: PdfInfo,
    /// For Markdown: the hash of the source as uploaded.
    pub markdown_sha256: Option<Sha256>,
}

/// Decides what the upload is and checks it; Markdown is typeset into a PDF here.
pub fn check(
    spooled: Spooled,
    file_name: Option<&str>,
    content_type: Option<&str>,
    spool_dir: &Path,
    max_pages: u32,
) -> Result<CheckedPdf, IngestError> {
    match sniff(&spooled.head, file_name, content_type) {
        Sniffed::Pdf => {
            let info = inspect_file(&spooled.file)?;
            pages_within(&info, max_pages)?;
            Ok(CheckedPdf { spooled, info, markdown_sha256: None })
        }
        Sniffed::Markdown => {
            if spooled.len > MAX_MARKDOWN_BYTES {
                return Err(Refusal::Markdown(format!(
                    "Markdown documents are limited to {}",
                    attesta_core::documents::human_bytes(MAX_MARKDOWN_BYTES)
                ))
                .into());
            }
            let mut source = String::new();
            let mut file = &spooled.file;
            file.seek(SeekFrom::Start(0)).map_err(|e| internal("reading the spool file", e))?;
            file.read_to_string(&mut source).map_err(|_| Refusal::Markdown("the file is not UTF-8 text".to_owned()))?;
            let title = file_name.and_then(attesta_core::documents::Title::from_file_name);
            let pdf = markdown_pdf::render(&source, title.as_ref().map(|t| t.as_str()))
                .map_err(|e| Refusal::Markdown(e.to_string()))?;
            let mut out = tempfile::tempfile_in(spool_dir).map_err(|e| internal("creating a spool file", e))?;
            out.write_all(&pdf).map_err(|e| internal("writing the typeset PDF", e))?;
            let head = pdf[..pdf.len().min(SNIFF_BYTES)].to_vec();
            let typeset = Spooled { file: out, len: pdf.len() as u64, sha256: Sha256::digest(&pdf), head };
            let info = inspect(&pdf)?;
            pages_within(&info, max_pages)?;
            Ok(CheckedPdf { spooled: typeset, info, markdown_sha256: Some(spooled.sha256) })
        }
        Sniffed::Unsupported => Err(Refusal::UnsupportedType.into()),
    }
}

fn pages_within(info: &PdfInfo, max_pages: u32) -> Result<(), Refusal> {
    if info.pages > max_pages {
        return Err(Refusal::TooManyPages { pages: info.pages, limit: max_pages });
    }
    Ok(())
}

/// Inspects the spooled PDF through a read-only memory map, so a large file is not copied onto
/// the heap.
fn inspect_file(file: &std::fs::File) -> Result<PdfInfo, IngestError> {
    let map = map_private(file).map_err(|e| internal("mapping the spool file", e))?;
    Ok(inspect(&map)?)
}

#[allow(unsafe_code)]
fn map_private(file: &std::fs::File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: the file is an unnamed temporary file this process created and no longer writes
    // to; nothing else can open it, so the mapping cannot change underneath the slice.
    unsafe { memmap2::Mmap::map(file) }
}

/// A file encrypted into a named temporary file, ready for the blob store.
pub struct Encrypted {
    pub path: tempfile::TempPath,
    pub wrapped_key: WrappedKey,
    pub stored_size: u64,
}

/// Encrypts `file` under a fresh data key, wrapped by the keyring's current master key with the
/// blob key as associated data (so a wrapped key copied to another blob's row fails to open it).
pub fn encrypt(
    file: &std::fs::File,
    keyring: &Keyring,
    blob_key: &str,
    spool_dir: &Path,
) -> Result<Encrypted, IngestError> {
    let mut rng = rand::rngs::OsRng;
    let data_key = DataKey::generate(&mut rng);
    let wrapped_key =
        keyring.wrap_key(&data_key, blob_key.as_bytes(), &mut rng).map_err(|e| internal("wrapping the data key", e))?;
    let named = tempfile::NamedTempFile::new_in(spool_dir).map_err(|e| internal("creating a spool file", e))?;
    let (mut out, path) = named.into_parts();
    let mut encryptor = Encryptor::new(&data_key, &mut rng);
    let mut source = file;
    source.seek(SeekFrom::Start(0)).map_err(|e| internal("reading the spool file", e))?;
    let mut buffer = vec![0u8; 1024 * 1024];
    let mut sealed = Vec::with_capacity(buffer.len() + 64 * 1024);
    let mut stored_size = 0u64;
    loop {
        let n = source.read(&mut buffer).map_err(|e| internal("reading the spool file", e))?;
        if n == 0 {
            break;
        }
        sealed.clear();
        encryptor.update(&buffer[..n], &mut sealed).map_err(|e| internal("encrypting", e))?;
        out.write_all(&sealed).map_err(|e| internal("writing the encrypted file", e))?;
        stored_size += sealed.len() as u64;
    }
    sealed.clear();
    encryptor.finish(&mut sealed).map_err(|e| internal("encrypting", e))?;
    out.write_all(&sealed).map_err(|e| internal("writing the encrypted file", e))?;
    stored_size += sealed.len() as u64;
    out.flush().map_err(|e| internal("writing the encrypted file", e))?;
    Ok(Encrypted { path, wrapped_key, stored_size })
}
