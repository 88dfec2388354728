//! The orphan sweep: what a process killed mid-upload or mid-seal leaves behind.
//!
//! A file is stored before the row that refers to it is committed (the object first, then the
//! `blobs` row with its event), so a crash in between leaves an encrypted object no row names.
//! A crash during a put leaves a local `.partial-*` file or an S3 multipart upload, and one
//! during encryption a named spool file (`.attesta-spool-*`; the plaintext spool has no name and
//! vanishes by itself). Each crash adds more. The sweep removes exactly these: objects no `blobs`
//! row refers to, unfinished puts, and named spool files, each only once it is older than a
//! grace period (by the [`Clock`] port), so a write in flight in this or another process is
//! never taken from under it. The server sweeps at start-up and every hour; `/metrics` counts
//! what was found and what was removed (`blob_orphans_found_total`, `blob_orphans_swept_total`,
//! by `kind`: `object`, `partial`, `spool`).

use super::BlobStore;
use attesta_core::ports::Clock;
use sqlx::AnyPool;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

/// How old an unreferenced file must be before it is removed: far longer than any upload,
/// completion step or put takes between writing a file and committing its row.
pub const GRACE: Duration = Duration::from_secs(3600);

/// What one sweep found and removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Objects in the store no `blobs` row refers to, older than the grace period.
    pub objects_found: u64,
    pub objects_swept: u64,
    /// Unfinished puts removed (found and removed are the same here).
    pub partials_swept: u64,
    /// Named spool files older than the grace period.
    pub spool_found: u64,
    pub spool_swept: u64,
}

impl SweepReport {
    fn record(&self) {
        // Incremented even by 0, so the series exist from the first sweep on.
        let count = |name: &'static str, kind: &'static str, n: u64| {
            metrics::counter!(name, "kind" => kind).increment(n);
        };
        count("blob_orphans_found_total", "object", self.objects_found);
        count("blob_orphans_swept_total", "object", self.objects_swept);
        count("blob_orphans_found_total", "partial", self.partials_swept);
        count("blob_orphans_swept_total", "partial", self.partials_swept);
        count("blob_orphans_found_total", "spool", self.spool_found);
        count("blob_orphans_swept_total", "spool", self.spool_swept);
    }
}

/// Removes what no row refers to and is older than `grace`; see the module's description.
pub async fn sweep(
    pool: &AnyPool,
    blobs: &dyn BlobStore,
    spool_dir: &Path,
    clock: &dyn Clock,
    grace: Duration,
) -> anyhow::Result<SweepReport> {
    let grace = i64::try_from(grace.as_micros()).unwrap_or(i64::MAX);
    let cutoff = clock.now().as_micros().saturating_sub(grace);
    let mut report = SweepReport::default();

    // The listing comes first: a row committed after it can only name an object listed here or
    // one written later (and so too young to be touched).
    let listed = blobs.list().await?;
    let referenced: HashSet<String> =
        sqlx::query_scalar::<_, String>("SELECT key FROM blobs").fetch_all(pool).await?.into_iter().collect();
    for object in listed {
        if referenced.contains(object.key.as_str()) || object.modified_micros >= cutoff {
            continue;
        }
        report.objects_found += 1;
        match blobs.delete(&object.key).await {
            Ok(()) => report.objects_swept += 1,
            Err(e) => tracing::warn!(blob = %object.key, error = %e, "could not remove an orphan object"),
        }
    }
    report.partials_swept = blobs.remove_partials(cutoff).await?;

    let (found, swept) = sweep_spool(spool_dir, cutoff).await?;
    report.spool_found = found;
    report.spool_swept = swept;
    report.record();
    if report != SweepReport::default() {
        tracing::info!(
            objects = report.objects_swept,
            partials = report.partials_swept,
            spool_files = report.spool_swept,
            "removed files a stopped process left behind"
        );
    }
    Ok(report)
}

/// Named spool files (ours only, by their prefix) older than `cutoff`: (found, removed).
async fn sweep_spool(dir: &Path, cutoff: i64) -> anyhow::Result<(u64, u64)> {
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0)),
        Err(e) => return Err(anyhow::anyhow!("reading {}: {e}", dir.display())),
    };
    let (mut found, mut swept) = (0, 0);
    while let Some(entry) = entries.next_entry().await? {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(crate::documents::ingest::SPOOL_PREFIX) {
            continue;
        }
        let meta = entry.metadata().await?;
        if !meta.is_file() || super::local::micros_of(meta.modified()?) >= cutoff {
            continue;
        }
        found += 1;
        match tokio::fs::remove_file(entry.path()).await {
            Ok(()) => swept += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(file = %entry.path().display(), error = %e, "could not remove a spool file"),
        }
    }
    Ok((found, swept))
}
