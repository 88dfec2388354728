//! Blobs as files in a local folder: the embedded default.
//!
//! A put copies into a temporary file in the same folder, syncs it, and renames it into place, so
//! a crash never leaves a partial object under its key; the folder is synced too, so the rename
//! itself survives a power cut.

use super::{BlobError, BlobKey, BlobStore, BlobStream};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt as _;

pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    /// A store rooted at `root`, created (owner-only) if missing.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| backend(&root, e))?;
        restrict(&root);
        Ok(Self { root })
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.as_str())
    }
}

#[cfg(unix)]
fn restrict(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}

#[cfg(not(unix))]
fn restrict(_: &Path) {}

/// The name a put writes to before renaming into place; a crash can leave one behind.
const PARTIAL: &str = ".partial-";

/// Every file under `root`: its path relative to `root` (with `/`), its name, and when it was
/// last modified (µs since the epoch).
fn walk(root: &Path) -> Result<Vec<(String, String, i64)>, BlobError> {
    let mut out = Vec::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(backend(&folder, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| backend(&folder, e))?;
            let kind = entry.file_type().map_err(|e| backend(&entry.path(), e))?;
            if kind.is_dir() {
                folders.push(entry.path());
            } else if kind.is_file() {
                let path = entry.path();
                let Ok(relative) = path.strip_prefix(root) else { continue };
                let relative: Vec<String> =
                    relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                let name = relative.last().cloned().unwrap_or_default();
                let modified = entry.metadata().and_then(|m| m.modified()).map_err(|e| backend(&path, e))?;
                out.push((relative.join("/"), name, micros_of(modified)));
            }
        }
    }
    Ok(out)
}

/// A file time as µs since the Unix epoch (before it: negative).
pub(crate) fn micros_of(time: std::time::SystemTime) -> i64 {
    match time.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

fn backend(path: &Path, e: std::io::Error) -> BlobError {
    BlobError::Backend(format!("{}: {e}", path.display()))
}

#[async_trait::async_trait]
impl BlobStore for LocalBlobStore {
    async fn put_file(&self, key: &BlobKey, path: &Path) -> Result<(), BlobError> {
        let target = self.path(key);
        let dir = target.parent().unwrap_or(&self.root).to_owned();
        tokio::fs::create_dir_all(&dir).await.map_err(|e| backend(&dir, e))?;
        // Unique without randomness: no two processes share an id, and the counter never
        // repeats within one.
        static PARTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = PARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let partial = dir.join(format!("{PARTIAL}{}-{n}", std::process::id()));
        let copy = async {
            let mut source = tokio::fs::File::open(path).await?;
            let mut sink = tokio::fs::File::create(&partial).await?;
            tokio::io::copy(&mut source, &mut sink).await?;
            sink.flush().await?;
            sink.sync_all().await?;
            tokio::fs::rename(&partial, &target).await?;
            tokio::fs::File::open(&dir).await?.sync_all().await
        };
        match copy.await {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(backend(&target, e))
            }
        }
    }

    async fn get(&self, key: &BlobKey) -> Result<BlobStream, BlobError> {
        let path = self.path(key);
        match tokio::fs::File::open(&path).await {
            Ok(file) => Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BlobError::NotFound(key.to_string())),
            Err(e) => Err(backend(&path, e)),
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        let path = self.path(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(backend(&path, e)),
        }
    }

    async fn list(&self) -> Result<Vec<super::Listed>, BlobError> {
        let root = self.root.clone();
        let files = tokio::task::spawn_blocking(move || walk(&root))
            .await
            .map_err(|e| BlobError::Backend(format!("listing the store: {e}")))??;
        Ok(files
            .into_iter()
            .filter(|(_, name, _)| !name.starts_with(PARTIAL))
            .filter_map(|(relative, _, modified_micros)| {
                let key = BlobKey::parse(&relative).ok()?;
                Some(super::Listed { key, modified_micros })
            })
            .collect())
    }

    async fn remove_partials(&self, before_micros: i64) -> Result<u64, BlobError> {
        let root = self.root.clone();
        let files = tokio::task::spawn_blocking(move || walk(&root))
            .await
            .map_err(|e| BlobError::Backend(format!("listing the store: {e}")))??;
        let mut removed = 0;
        for (relative, name, modified) in files {
            if name.starts_with(PARTIAL) && modified < before_micros {
                let path = self.root.join(&relative);
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(backend(&path, e)),
                }
            }
        }
        Ok(removed)
    }

    async fn check(&self) -> Result<(), BlobError> {
        let meta = tokio::fs::metadata(&self.root).await.map_err(|e| backend(&self.root, e))?;
        if !meta.is_dir() {
            return Err(BlobError::Backend(format!("{} is not a folder", self.root.display())));
        }
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "local"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt as _;

    #[tokio::test]
    async fn put_get_delete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalBlobStore::open(dir.path().join("blobs")).expect("open");
        let key = BlobKey::parse("documents/ab/cd.bin").expect("key");
        let source = dir.path().join("source");
        std::fs::write(&source, b"ciphertext").expect("write");
        store.put_file(&key, &source).await.expect("put");
        assert!(source.exists(), "the source is left in place");
        let bytes: Vec<u8> =
            store.get(&key).await.expect("get").map_ok(|b| b.to_vec()).try_concat().await.expect("read");
        assert_eq!(bytes, b"ciphertext");
        store.delete(&key).await.expect("delete");
        store.delete(&key).await.expect("deleting twice is fine");
        assert!(matches!(store.get(&key).await, Err(BlobError::NotFound(_))));
        store.check().await.expect("check");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("blobs/documents/ab")).expect("dir").collect();
        assert!(leftovers.is_empty(), "no partial files remain");
    }
}
