//! The output directory of a run, and the promise around it: only a simkit
//! dataset (or an empty directory) is ever replaced, and only as a whole.
//!
//! A run writes into a hidden sibling, `.<name>.partial-<random>`, which it
//! holds locked (`flock` on the directory) while it lives. `commit` swaps it
//! with the old dataset in one atomic `renameat2(RENAME_EXCHANGE)` and then
//! removes the old one, so the path always holds a complete dataset: the old
//! one or the new one. A failed run removes its partial directory; an
//! interrupted one (SIGINT, SIGTERM) has [`remove_partial_outputs`] called
//! by the CLI's signal handler; a killed one leaves a partial directory that
//! the next run on the same path removes (it is unlocked by then). Where the
//! file system cannot exchange, the old dataset is first renamed to
//! `<partial>.old` (and put back if the new one cannot follow), and a run
//! that finds such a directory without a dataset beside it moves it back.
//!
//! What may be replaced: nothing that is not a dataset (a `manifest.json`
//! that parses, and only the files it lists, and the `report/` simkit
//! wrote of it), no directory that holds one of
//! the run's inputs or the working directory, no mount point.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Context, Error, Result};
use crate::sinks::files::{sync_dir, try_lock_dir};
use crate::sinks::manifest::Manifest;

/// Partial directories of this process, removed on interrupt. Held while a
/// partial directory is created and registered, and while `commit` swaps it
/// in, so an interrupt sees each one either pending or committed.
static PARTIAL: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// What an interrupt found.
#[derive(Debug, PartialEq)]
pub enum Interrupted {
    /// A partial output was removed: nothing was replaced.
    Removed,
    /// No output was being written (none yet, or already committed).
    NothingPending,
}

/// Removes every partial output of this process and keeps any from being
/// committed afterwards (the registry stays locked until exit). For signal
/// handlers: call it, then exit.
pub fn remove_partial_outputs() -> Interrupted {
    let mut partial = PARTIAL.lock().unwrap_or_else(|p| p.into_inner());
    let found = if partial.is_empty() { Interrupted::NothingPending } else { Interrupted::Removed };
    for dir in partial.drain(..) {
        // Writers may still be adding files: try again until the directory is gone.
        for _ in 0..50 {
            if std::fs::remove_dir_all(&dir).is_ok() || !dir.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    std::mem::forget(partial);
    found
}

/// A directory being written; dropped without [`OutputDir::commit`] it disappears.
pub struct OutputDir {
    target: PathBuf,
    partial: PathBuf,
    _lock: File,
    committed: bool,
    /// Parent directories this run created, deepest first: removed again
    /// (when empty) if the run fails.
    created_parents: Vec<PathBuf>,
}

fn partial_prefix(target: &Path) -> String {
    let name = target.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "dataset".into());
    format!(".{name}.partial-")
}

/// Where the fallback swap parks the old dataset: `<partial>.old`.
fn old_path(partial: &Path) -> PathBuf {
    let mut name = partial.as_os_str().to_os_string();
    name.push(".old");
    PathBuf::from(name)
}

impl OutputDir {
    /// Prepares to write `target`. `inputs` are paths the run reads (the
    /// scenario, its tables, extracts): a target that holds one is refused.
    pub fn create(target: &Path, inputs: &[PathBuf]) -> Result<OutputDir> {
        let shown = target.display().to_string();
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let created_parents: Vec<PathBuf> = parent
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .map(Path::to_path_buf)
            .collect();
        std::fs::create_dir_all(&parent)
            .context(|| format!("{}: cannot create the output directory", parent.display()))?;
        let remove_created = || created_parents.iter().for_each(|d| drop(std::fs::remove_dir(d)));
        // A symbolic link to a dataset: write beside the dataset it points to.
        let target = match std::fs::symlink_metadata(target) {
            Ok(m) if m.file_type().is_symlink() => {
                std::fs::canonicalize(target).context(|| format!("{shown}: a broken symbolic link"))?
            }
            _ => target.to_path_buf(),
        };
        let parent = target.parent().map_or(parent, Path::to_path_buf);
        let parent = if parent.as_os_str().is_empty() { PathBuf::from(".") } else { parent };
        let checked = check_not_holding_inputs(&shown, &target, &parent, inputs)
            .and_then(|()| check_replaceable(&shown, &target, &parent))
            .and_then(|()| clean_leftovers(&shown, &target, &parent))
            .and_then(|()| new_partial(&target, &parent));
        let (partial, lock) = checked.inspect_err(|_| remove_created())?;
        Ok(OutputDir { target, partial, _lock: lock, committed: false, created_parents })
    }

    pub fn path(&self) -> &Path {
        &self.partial
    }

    /// Moves the finished directory into place, replacing an older dataset.
    pub fn commit(mut self) -> Result<PathBuf> {
        let shown = self.target.display().to_string();
        let parent = self.partial.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        let mut partial = PARTIAL.lock().unwrap_or_else(|p| p.into_inner());
        // The target may have changed while the run was busy.
        check_replaceable(&shown, &self.target, &parent)?;
        let old = if self.target.exists() {
            Some(self.swap_in()?)
        } else {
            std::fs::rename(&self.partial, &self.target)
                .context(|| format!("{shown}: cannot move the new dataset into place"))?;
            None
        };
        self.committed = true;
        partial.retain(|p| p != &self.partial);
        drop(partial);
        // The new dataset is in place: an old one that will not go is only a
        // leftover, which the next run on this path removes.
        if let Some(old) = old {
            let _ = std::fs::remove_dir_all(&old);
        }
        sync_dir(&parent)?;
        Ok(self.target.clone())
    }

    /// Puts the partial directory at the target and returns where the old
    /// dataset went: an atomic exchange, or two renames where the file
    /// system cannot exchange (the old dataset put back if the second fails).
    fn swap_in(&self) -> Result<PathBuf> {
        match exchange(&self.partial, &self.target) {
            Ok(()) => return Ok(self.partial.clone()),
            Err(e) if e.raw_os_error() != Some(libc::EINVAL) && e.raw_os_error() != Some(libc::ENOSYS) => {
                return Err(Error(format!("{}: cannot replace the old dataset: {e}", self.target.display())));
            }
            Err(_) => {}
        }
        let old = old_path(&self.partial);
        std::fs::rename(&self.target, &old)
            .context(|| format!("{}: cannot replace the old dataset", self.target.display()))?;
        if let Err(e) = std::fs::rename(&self.partial, &self.target) {
            let _ = std::fs::rename(&old, &self.target);
            return Err(Error(format!("{}: cannot move the new dataset into place: {e}", self.target.display())));
        }
        Ok(old)
    }
}

/// Creates, locks and registers a partial directory beside `target`: the
/// registry is held throughout, so an interrupt never misses it.
fn new_partial(target: &Path, parent: &Path) -> Result<(PathBuf, File)> {
    let mut registry = PARTIAL.lock().unwrap_or_else(|p| p.into_inner());
    let temp = tempfile::Builder::new()
        .prefix(&partial_prefix(target))
        .tempdir_in(parent)
        .context(|| format!("{}: cannot write in the output directory", parent.display()))?;
    let lock = match try_lock_dir(temp.path()) {
        Ok(Some(lock)) => lock,
        Ok(None) => return Err(Error(format!("{}: another process locked the partial output", temp.path().display()))),
        Err(e) => return Err(Error(format!("{}: cannot lock the partial output: {e}", temp.path().display()))),
    };
    let partial = temp.keep();
    registry.push(partial.clone());
    Ok((partial, lock))
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.committed {
            let mut partial = PARTIAL.lock().unwrap_or_else(|p| p.into_inner());
            partial.retain(|p| p != &self.partial);
            let _ = std::fs::remove_dir_all(&self.partial);
            for dir in &self.created_parents {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let cstr = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(|_| std::io::ErrorKind::InvalidInput);
    let (a, b) = (cstr(a)?, cstr(b)?);
    // SAFETY: both paths are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_EXCHANGE) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from_raw_os_error(libc::ENOSYS))
}

/// The absolute form of a path that may not exist yet: its parent resolved.
fn resolved(target: &Path, parent: &Path) -> Result<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(target) {
        return Ok(p);
    }
    let parent = std::fs::canonicalize(parent).context(|| parent.display().to_string())?;
    Ok(target.file_name().map_or(parent.clone(), |n| parent.join(n)))
}

fn check_not_holding_inputs(shown: &str, target: &Path, parent: &Path, inputs: &[PathBuf]) -> Result<()> {
    let target = resolved(target, parent)?;
    let cwd = std::env::current_dir().ok();
    let named = inputs.iter().map(|p| (p.clone(), "the input")).chain(cwd.map(|d| (d, "the working directory")));
    for (path, what) in named {
        let Ok(real) = std::fs::canonicalize(&path) else { continue };
        if real.starts_with(&target) {
            let what = if what == "the input" { format!("the input {}", path.display()) } else { what.to_string() };
            return Err(Error(format!(
                "--out {shown}: holds {what}; choose an output directory that contains none of the run's inputs"
            )));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn device(m: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::dev(m)
}

#[cfg(not(unix))]
fn device(_: &std::fs::Metadata) -> u64 {
    0
}

/// A target may be replaced if it does not exist, is an empty directory, or
/// is a simkit dataset: its manifest parses and it holds only the manifest's
/// files, on its own file system (no mount points in or at it).
fn check_replaceable(shown: &str, target: &Path, parent: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error(format!("{shown}: {e}"))),
    };
    let refuse = |why: &str| {
        Err(Error(format!("--out {shown}: {why}; simkit replaces only a dataset it wrote (choose another --out)")))
    };
    if !meta.is_dir() {
        return refuse("exists and is not a directory");
    }
    let parent_meta = std::fs::metadata(parent).context(|| parent.display().to_string())?;
    let is_root = std::fs::canonicalize(target).is_ok_and(|p| p.parent().is_none());
    if device(&meta) != device(&parent_meta) || is_root {
        return refuse("is a mount point");
    }
    let listed = Manifest::listed_files(target);
    let mut entries = Vec::new();
    list_entries(shown, target, "", listed.as_deref().unwrap_or_default(), &mut entries)?;
    if entries.is_empty() {
        return Ok(());
    }
    let Some(listed) = listed else {
        return refuse("exists and is not a simkit dataset (no manifest.json written by simkit)");
    };
    // The dataset's own report (`simkit report`) goes with it, as does what an interrupted one left.
    entries.retain(|(name, path)| {
        !(name == crate::report::REPORT_DIR && crate::report::is_report(path) || crate::report::is_leftover(name, path))
    });
    let mut foreign: Vec<&str> =
        entries.iter().map(|(n, _)| n.as_str()).filter(|n| !listed.iter().any(|l| l == n)).collect();
    foreign.sort();
    if !foreign.is_empty() {
        let shown_names = foreign.iter().take(5).copied().collect::<Vec<_>>().join(", ");
        return refuse(&format!("holds files that are not part of the dataset ({shown_names})"));
    }
    for (name, path) in &entries {
        let m = std::fs::symlink_metadata(path).context(|| path.display().to_string())?;
        if !m.is_file() || device(&m) != device(&meta) {
            return refuse(&format!("its entry {name} is not a plain file of the dataset"));
        }
    }
    Ok(())
}

/// The entries of `dir` as paths relative to the dataset (`prefix` is
/// `dir`'s), descending into the folders that the dataset's files lie in.
fn list_entries(
    shown: &str,
    dir: &Path,
    prefix: &str,
    listed: &[String],
    out: &mut Vec<(String, PathBuf)>,
) -> Result<()> {
    for e in std::fs::read_dir(dir).context(|| format!("{shown}: cannot list the directory"))? {
        let e = e.context(|| format!("{shown}: cannot list the directory"))?;
        let name = format!("{prefix}{}", e.file_name().to_string_lossy());
        let folder = format!("{name}/");
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && listed.iter().any(|l| l.starts_with(&folder)) {
            list_entries(shown, &e.path(), &folder, listed, out)?;
        } else {
            out.push((name, e.path()));
        }
    }
    Ok(())
}

/// Removes what interrupted runs left beside `target`; puts back a dataset
/// that a run stopped in the middle of replacing.
fn clean_leftovers(shown: &str, target: &Path, parent: &Path) -> Result<()> {
    let prefix = partial_prefix(target);
    let Ok(read) = std::fs::read_dir(parent) else { return Ok(()) };
    let mut leftovers: Vec<PathBuf> = read
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    leftovers.sort();
    for dir in leftovers {
        let lock = match try_lock_dir(&dir) {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                return Err(Error(format!(
                    "--out {shown}: another simkit run is writing it ({} is locked)",
                    dir.display()
                )))
            }
            Err(_) => continue, // gone meanwhile, or not a directory we can open
        };
        let is_old = dir.extension().is_some_and(|e| e == "old");
        if is_old && !target.exists() {
            std::fs::rename(&dir, target)
                .context(|| format!("{}: cannot restore the previous dataset", dir.display()))?;
        } else {
            std::fs::remove_dir_all(&dir).context(|| format!("{}: cannot remove a leftover", dir.display()))?;
        }
        drop(lock);
    }
    Ok(())
}
