//! File-system helpers every writer shares: locking a directory for as long
//! as a handle lives (`flock`, so nothing is left behind), fsyncing a
//! directory so a rename in it is durable, and replacing a file atomically.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::error::{Context, Result};

/// Locks `dir` (exclusive, non-blocking) for as long as the returned handle
/// lives: `Ok(None)` when another process holds it.
pub fn try_lock_dir(dir: &Path) -> std::io::Result<Option<File>> {
    let f = File::open(dir)?;
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// fsync of a directory, so a rename in it is durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).context(|| format!("{}: fsync", dir.display()))
}

/// Writes `dir/name` as a temp file, fsyncs it, renames it into place and
/// fsyncs the directory.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let target = dir.join(name);
    let what = || tmp.display().to_string();
    let mut f = File::create(&tmp).context(what)?;
    f.write_all(bytes).context(what)?;
    f.sync_all().context(what)?;
    drop(f);
    std::fs::rename(&tmp, &target).context(|| target.display().to_string())?;
    sync_dir(dir)
}
