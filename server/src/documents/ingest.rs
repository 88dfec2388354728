//! Taking an upload in: spool, hash, check, (typeset), encrypt, store.
//!
//! Memory stays flat whatever the file's size: the body is hashed and written to an unnamed
//! temporary file as it arrives; the PDF is parsed from a memory map of that file (pages the
//! kernel can drop, not heap); encryption streams from that file into a second temporary file in
//! 64 KiB chunks; the store streams from there. The plaintext never has a name on disk: the spool
//! is created with `O_TMPFILE` where the platform has it (tempfile's `tempfile_in`), so it
//! vanishes when closed, even after a crash.

use super::markdown_pdf;
use attesta_core::documents::pdf::{PdfInfo, page_geometry};
use attesta_core::documents::repair::{self, Diagnosis};
use attesta_core::documents::{Refusal, Sniffed, sniff};
use attesta_core::evidence::{FileHasher, Sha256};
use attesta_core::storage::envelope::{DataKey, Encryptor, Keyring, WrappedKey};
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;
use tokio::io::AsyncWriteExt as _;

/// The start of the name of every named file in the spool folder (the encrypted copy waiting
/// for the blob store): what the orphan sweep may remove there, and nothing else.
pub const SPOOL_PREFIX: &str = ".attesta-spool-";

/// What the checks running at once in a process may weigh together (PDF reading, repair, the
/// completion dry run, Markdown typesetting). Each check weighs what it costs in memory, roughly
/// (see [`weight`]), so this is what bounds the memory uploads take: a few small PDFs at once,
/// a large one beside a small one, Markdown alone. Others wait their turn, on disk.
pub const CHECK_BUDGET: u32 = 4;

/// The weight of checking an upload of `len` bytes of this kind: typesetting up to 1 MiB of
/// Markdown takes the whole budget (measured at up to about 160 MB); a PDF 1, plus 1 for every
/// 16 MiB (the dry run holds a few copies of the file).
pub fn weight(kind: Sniffed, len: u64) -> u32 {
    match kind {
        Sniffed::Markdown => CHECK_BUDGET,
        _ => (1 + u32::try_from(len / (16 * 1024 * 1024)).unwrap_or(u32::MAX)).min(CHECK_BUDGET),
    }
}

/// How long an upload waits for its turn before it is refused as busy (503).
pub const CHECK_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);
/// How long one check may take before the upload is refused.
pub const CHECK_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);
/// `Retry-After` on a busy refusal, in seconds.
pub const BUSY_RETRY_SECONDS: u64 = 5;

/// Waits up to `wait` for room to check an upload of this `weight`; `Busy` when none came.
pub async fn turn(
    checks: &std::sync::Arc<tokio::sync::Semaphore>,
    weight: u32,
    wait: std::time::Duration,
) -> Result<tokio::sync::OwnedSemaphorePermit, IngestError> {
    tokio::time::timeout(wait, checks.clone().acquire_many_owned(weight.clamp(1, CHECK_BUDGET)))
        .await
        .map_err(|_| IngestError::Refused(Refusal::Busy))?
        .map_err(|e| internal("upload checks", e))
}

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
pub async fn spool<S, E>(dir: &Path, body: S, max_bytes: u64) -> Result<Spooled, IngestError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    spool_hashed(dir, body, max_bytes, b"").await
}

/// [`spool`], with the hash taken over `hash_prefix` followed by the body (the REST API's
/// idempotency fingerprint is the content type, a zero byte and the body). Only the body is
/// written and counted.
pub async fn spool_hashed<S, E>(
    dir: &Path,
    mut body: S,
    max_bytes: u64,
    hash_prefix: &[u8],
) -> Result<Spooled, IngestError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let file = tempfile::tempfile_in(dir).map_err(|e| internal("creating a spool file", e))?;
    let mut writer = tokio::fs::File::from_std(file);
    let mut hasher = FileHasher::new();
    hasher.update(hash_prefix);
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

/// A PDF ready to be encrypted and stored: what was uploaded, its clean copy, or what Markdown
/// became.
pub struct CheckedPdf {
    pub spooled: Spooled,
    pub info: PdfInfo,
    /// For Markdown: the hash of the source as uploaded.
    pub markdown_sha256: Option<Sha256>,
    /// For Markdown: the title the typeset PDF carries (the uploader's, else its first heading).
    pub markdown_title: Option<String>,
    /// When the upload was damaged and `spooled` is its clean copy: what was uploaded, and why.
    pub repaired: Option<Repair>,
}

/// The uploaded file a clean copy was made from.
#[derive(Debug, Clone)]
pub struct Repair {
    pub uploaded_sha256: Sha256,
    pub uploaded_size: u64,
    /// Why the file could not be used as written, for the uploader and the evidence.
    pub reason: String,
}

/// What a check needs besides the file.
pub struct CheckContext<'a> {
    pub spool_dir: &'a Path,
    pub max_pages: u32,
    /// The seal completion will use: the upload is sealed once in a dry run.
    pub sealer: &'a crate::seal::Sealer,
    pub now: attesta_core::Timestamp,
}

/// Decides what the upload is and checks it; Markdown is typeset into a PDF here. `title` is
/// the one the uploader gave, if any. A PDF is accepted only once completion's steps went
/// through on it in a dry run (see [`prepare_pdf`]); a damaged one that readers still open is
/// replaced by its clean copy.
pub fn check(
    spooled: Spooled,
    file_name: Option<&str>,
    content_type: Option<&str>,
    title: Option<&str>,
    context: &CheckContext<'_>,
) -> Result<CheckedPdf, IngestError> {
    match sniff(&spooled.head, file_name, content_type) {
        Sniffed::Pdf => {
            let map = map_private(&spooled.file).map_err(|e| internal("mapping the spool file", e))?;
            match prepare_pdf(&map, context)? {
                Prepared::AsIs(info) => {
                    drop(map);
                    Ok(CheckedPdf { spooled, info, markdown_sha256: None, markdown_title: None, repaired: None })
                }
                Prepared::Repaired { bytes, info, reason } => {
                    drop(map);
                    let clean = spool_bytes(&bytes, context.spool_dir)?;
                    let repaired = Repair { uploaded_sha256: spooled.sha256, uploaded_size: spooled.len, reason };
                    Ok(CheckedPdf {
                        spooled: clean,
                        info,
                        markdown_sha256: None,
                        markdown_title: None,
                        repaired: Some(repaired),
                    })
                }
            }
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
            let rendered = markdown_pdf::render(&source, title).map_err(|e| Refusal::Markdown(e.to_string()))?;
            drop(source);
            let pdf = rendered.pdf;
            // Our own typesetting reads cleanly; the dry run still proves it can be completed.
            let (pdf, info) = match prepare_pdf(&pdf, context)? {
                Prepared::AsIs(info) => (pdf, info),
                Prepared::Repaired { bytes, info, .. } => (bytes, info),
            };
            let typeset = spool_bytes(&pdf, context.spool_dir)?;
            Ok(CheckedPdf {
                spooled: typeset,
                info,
                markdown_sha256: Some(spooled.sha256),
                markdown_title: rendered.title,
                repaired: None,
            })
        }
        Sniffed::Unsupported => Err(Refusal::UnsupportedType.into()),
    }
}

/// `bytes` in an unnamed temporary file, with their hash.
fn spool_bytes(bytes: &[u8], spool_dir: &Path) -> Result<Spooled, IngestError> {
    let mut out = tempfile::tempfile_in(spool_dir).map_err(|e| internal("creating a spool file", e))?;
    out.write_all(bytes).map_err(|e| internal("writing a spool file", e))?;
    let head = bytes[..bytes.len().min(SNIFF_BYTES)].to_vec();
    Ok(Spooled { file: out, len: bytes.len() as u64, sha256: Sha256::digest(bytes), head })
}

/// A PDF that can be completed: as uploaded, or its clean copy.
pub enum Prepared {
    AsIs(PdfInfo),
    Repaired { bytes: Vec<u8>, info: PdfInfo, reason: String },
}

/// Accepts a PDF only if completion will work on it: it must read cleanly (else it is repaired
/// into a clean copy, see `attesta_core::documents::repair`), and completion's own steps (the
/// marks drawn on every page, the certificate appended, the seal) must go through on it in a
/// dry run. A file that reads cleanly but fails the dry run is repaired and tried once more; a
/// copy that still fails is refused with the reason.
pub fn prepare_pdf(bytes: &[u8], context: &CheckContext<'_>) -> Result<Prepared, Refusal> {
    let reason = match repair::diagnose(bytes)? {
        Diagnosis::Clean(info) => {
            pages_within(&info, context.max_pages)?;
            match rehearse(bytes, context) {
                Ok(()) => return Ok(Prepared::AsIs(info)),
                Err(e) => format!("it could not be completed as written ({e})"),
            }
        }
        Diagnosis::NeedsRepair(reason) => reason,
    };
    let repaired = repair::repair(bytes)?;
    pages_within(&repaired.info, context.max_pages)?;
    if let Diagnosis::NeedsRepair(why) = repair::diagnose(&repaired.bytes)? {
        return Err(Refusal::Unrepairable(format!("its clean copy still does not read: {why}")));
    }
    rehearse(&repaired.bytes, context).map_err(Refusal::Unsealable)?;
    tracing::info!(reason = %reason, "a damaged PDF was replaced by its clean copy");
    Ok(Prepared::Repaired { bytes: repaired.bytes, info: repaired.info, reason })
}

/// Completion's steps on `pdf` with made-up values, sealed without a timestamp, and the result
/// read back: `Err` says what failed.
fn rehearse(pdf: &[u8], context: &CheckContext<'_>) -> Result<(), String> {
    let pages = page_geometry(pdf).map_err(|e| e.to_string())?;
    let certified = crate::documents::completion::render::rehearse(pdf, &pages)?;
    let sealed = context.sealer.dry_run(&certified, context.now).map_err(|e| e.to_string())?;
    drop(certified);
    match repair::diagnose(&sealed) {
        Ok(Diagnosis::Clean(info)) if info.pages as usize > pages.len() => Ok(()),
        Ok(Diagnosis::Clean(_)) => Err("the sealed result lost pages".to_owned()),
        Ok(Diagnosis::NeedsRepair(why)) => Err(format!("the sealed result does not read: {why}")),
        Err(e) => Err(format!("the sealed result does not read: {e}")),
    }
}

fn pages_within(info: &PdfInfo, max_pages: u32) -> Result<(), Refusal> {
    if info.pages > max_pages {
        return Err(Refusal::TooManyPages { pages: info.pages, limit: max_pages });
    }
    Ok(())
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
    entropy: &dyn attesta_core::ports::Entropy,
) -> Result<Encrypted, IngestError> {
    let mut rng = attesta_core::entropy::rng(entropy);
    let data_key = DataKey::generate(&mut rng);
    let wrapped_key =
        keyring.wrap_key(&data_key, blob_key.as_bytes(), &mut rng).map_err(|e| internal("wrapping the data key", e))?;
    let named = tempfile::Builder::new()
        .prefix(SPOOL_PREFIX)
        .tempfile_in(spool_dir)
        .map_err(|e| internal("creating a spool file", e))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checks_share_a_budget_by_weight_and_the_next_is_told_the_server_is_busy() {
        let zero = std::time::Duration::ZERO;
        let checks = std::sync::Arc::new(tokio::sync::Semaphore::new(CHECK_BUDGET as usize));
        let mib = 1024 * 1024;
        assert_eq!(weight(Sniffed::Pdf, mib), 1);
        assert_eq!(weight(Sniffed::Pdf, 45 * mib), 3);
        assert_eq!(weight(Sniffed::Pdf, 500 * mib), CHECK_BUDGET);
        assert_eq!(weight(Sniffed::Markdown, 10), CHECK_BUDGET);
        let large = turn(&checks, weight(Sniffed::Pdf, 45 * mib), zero).await.expect("room for a large PDF");
        let small = turn(&checks, weight(Sniffed::Pdf, mib), zero).await.expect("and a small one beside it");
        let busy = turn(&checks, weight(Sniffed::Pdf, mib), zero).await;
        assert!(matches!(busy, Err(IngestError::Refused(Refusal::Busy))), "{:?}", busy.err());
        drop(small);
        let markdown = turn(&checks, weight(Sniffed::Markdown, 10), zero).await;
        assert!(matches!(markdown, Err(IngestError::Refused(Refusal::Busy))), "typesetting runs alone");
        drop(large);
        assert!(turn(&checks, weight(Sniffed::Markdown, 10), zero).await.is_ok(), "finished checks free the room");
    }
}
