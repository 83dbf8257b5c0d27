//! The replay checkpoint: `<dir>/checkpoint.json`, a small JSON file holding
//! the simulation position and the wall-clock moment it was reached, the
//! dataset's fingerprint, the events emitted (which is also the next global
//! offset), the lap, and the batch in flight. It is replaced atomically (temp
//! file, fsync, rename, fsync of the directory). The directory itself is
//! locked (`flock`) while a replay uses it, so two replays never share one
//! and no lock file is left behind; a directory a failed first run created
//! is removed again.
//!
//! Commit protocol of a micro-batch with offsets `[from, to)`: for an
//! exactly-once sink, `pending = {from, to, ...}` is stored *before* the
//! batch's output is published; after publishing, the pending state becomes
//! the committed state. A run that finds a pending batch first publishes
//! exactly that batch again (same offsets, so the same file and bytes), then
//! commits it. A streaming sink (Kafka) sends records as they are written, so
//! its batch is recorded as pending, with the sink's marks and no end, when it
//! *opens*; a resume asks the sink which of its records arrived and sends the
//! rest (see [`super::sink::Sink::resume`]).

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};
use crate::sinks::files::{try_lock_dir, write_atomic};

/// The checkpoint file format version.
pub const FORMAT: u32 = 2;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    pub format: u32,
    /// The scenario name (for people).
    pub dataset: String,
    /// The manifest fingerprint of the dataset this checkpoint belongs to.
    pub fingerprint: String,
    /// The sink, as given (`stdout` or `dir:<absolute path>`).
    pub sink: String,
    /// Simulation position (epoch ms, lap shift included) and the wall-clock
    /// moment (epoch ms) it was reached: the anchor of the next advance. Every
    /// event before the position has been emitted, except when a run stopped
    /// in the middle of a catch-up: then `events_emitted` is behind, and the
    /// next run emits from there (the replay clock does not stop with it).
    pub position_ms: i64,
    pub wall_ms: i64,
    /// Events emitted so far over all runs and laps = the next global offset.
    pub events_emitted: u64,
    /// The lap of `position_ms`.
    pub lap: u64,
    /// The first run's `--start-day` and `--catch-up-to`, which later runs
    /// may not contradict.
    pub start_day: u32,
    #[serde(default)]
    pub catch_up_to: Option<String>,
    /// The replayed stream (`--stream`; none: every stream) and the record
    /// format (`json` or `protobuf`), which later runs must keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    #[serde(default = "json")]
    pub record_format: String,
    /// The batch being published, if a run stopped before committing it.
    pub pending: Option<Pending>,
    /// `position_ms` and `wall_ms` as UTC text, for people; ignored when read.
    #[serde(default)]
    pub position: String,
    #[serde(default)]
    pub wall: String,
}

fn json() -> String {
    "json".into()
}

/// A batch whose output may exist but is not committed yet.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Pending {
    /// Global offsets `[from, to)`. `to` is `None` for a batch of a streaming
    /// sink (Kafka), recorded when the batch opened: its records go out as
    /// they are written, so its end is found on resume from what the sink holds.
    pub from: u64,
    pub to: Option<u64>,
    /// The state to commit once it is published.
    pub position_ms: i64,
    pub wall_ms: i64,
    /// Where the sink stood when the batch opened (Kafka: each partition's
    /// end offset), so a resume looks for the batch's records only past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marks: Option<Vec<i64>>,
}

/// The checkpoint directory, locked for this process.
pub struct Store {
    dir: PathBuf,
    _lock: File,
    /// Created by this run and not written yet: removed on drop.
    created: bool,
}

impl Store {
    pub const FILE: &'static str = "checkpoint.json";

    /// Creates the directory if needed and locks it.
    pub fn open(dir: &Path) -> Result<Store> {
        let created = !dir.exists();
        std::fs::create_dir_all(dir)
            .context(|| format!("--checkpoint {}: cannot create the directory", dir.display()))?;
        let lock = lock_dir(dir, "checkpoint").inspect_err(|_| {
            if created {
                let _ = std::fs::remove_dir(dir);
            }
        })?;
        // Older simkit versions locked a file instead of the directory.
        let _ = std::fs::remove_file(dir.join(".lock"));
        Ok(Store { dir: dir.to_path_buf(), _lock: lock, created })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(Self::FILE)
    }

    pub fn load(&self) -> Result<Option<Checkpoint>> {
        let path = self.path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error(format!("{}: {e}", path.display()))),
        };
        parse(&text, &path.display().to_string()).map(Some)
    }

    /// Replaces the checkpoint atomically and durably.
    pub fn store(&mut self, c: &Checkpoint) -> Result<()> {
        let mut c = c.clone();
        c.position = super::numfmt::ts_string(c.position_ms);
        c.wall = super::numfmt::ts_string(c.wall_ms);
        let json = serde_json::to_string_pretty(&c).map_err(|e| Error(format!("checkpoint: {e}")))? + "\n";
        write_atomic(&self.dir, Self::FILE, json.as_bytes())?;
        self.created = false;
        Ok(())
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if self.created {
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

/// Parses a checkpoint's text; `shown` names it in messages.
pub fn parse(text: &str, shown: &str) -> Result<Checkpoint> {
    let format = serde_json::from_str::<serde_json::Value>(text).ok().and_then(|v| v.get("format")?.as_u64());
    if format.is_some_and(|f| f != FORMAT as u64) {
        return Err(Error(format!(
            "{shown}: checkpoint format {} is not supported (expected {FORMAT}); use a new --checkpoint directory",
            format.unwrap_or_default()
        )));
    }
    serde_json::from_str(text).map_err(|e| Error(format!("{shown}: not a simkit replay checkpoint ({e})")))
}

/// Locks directory `dir` for as long as the returned handle lives, or
/// fails clearly when another replay holds it.
pub fn lock_dir(dir: &Path, what: &str) -> Result<File> {
    match try_lock_dir(dir) {
        Ok(Some(f)) => Ok(f),
        Ok(None) => Err(Error(format!("{}: another simkit replay is using this {what} directory", dir.display()))),
        Err(e) => Err(Error(format!("{}: cannot lock the {what} directory: {e}", dir.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint {
            format: FORMAT,
            dataset: "caspers".into(),
            fingerprint: "ab".repeat(32),
            sink: "stdout".into(),
            position_ms: 1_704_067_200_123,
            wall_ms: 1_900_000_000_000,
            events_emitted: 42,
            lap: 0,
            start_day: 70,
            catch_up_to: None,
            stream: None,
            record_format: "json".into(),
            pending: Some(Pending {
                from: 42,
                to: Some(50),
                position_ms: 1_704_067_300_000,
                wall_ms: 1_900_000_000_500,
                marks: Some(vec![3, 0, 7]),
            }),
            position: String::new(),
            wall: String::new(),
        }
    }

    #[test]
    fn round_trips_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(store.load().unwrap(), None);
        let mut c = sample();
        store.store(&c).unwrap();
        let back = store.load().unwrap().unwrap();
        assert_eq!(back.position, "2024-01-01 00:00:00.123");
        c.position = back.position.clone();
        c.wall = back.wall.clone();
        assert_eq!(back, c);
        c.pending = None;
        c.events_emitted = 50;
        store.store(&c).unwrap();
        assert_eq!(store.load().unwrap().unwrap().events_emitted, 50);
        let names: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn one_process_per_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let _a = Store::open(dir.path()).unwrap();
        let err = Store::open(dir.path()).err().unwrap();
        assert!(err.0.contains("another simkit replay"), "{err}");
        drop(_a);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(names.is_empty(), "no lock file is left behind");
    }

    #[test]
    fn a_new_directory_is_removed_unless_written() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ckpt");
        drop(Store::open(&dir).unwrap());
        assert!(!dir.exists(), "an unused new checkpoint directory is removed");
        let mut s = Store::open(&dir).unwrap();
        s.store(&sample()).unwrap();
        drop(s);
        assert!(dir.join(Store::FILE).exists());
    }

    #[test]
    fn rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(Store::FILE), "{\"hello\": 1}").unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.load().unwrap_err().0.contains("not a simkit replay checkpoint"));
    }
}
