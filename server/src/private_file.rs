//! Secrets written to disk on first run (the log's signing key, the storage master key): created
//! fresh (never over an existing file), readable by the owner only, synced before use.

use anyhow::Context as _;
use std::io::Write as _;
use std::path::Path;

/// Creates `path` with `contents`, mode 0600, and its parent folders; fails if it exists.
/// `what` names the file in errors ("the log key").
pub fn create(path: &Path, contents: &str, what: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("creating {what} {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}
