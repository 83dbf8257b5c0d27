//! Where replayed records go, one micro-batch at a time: `begin(from)`, any
//! number of `write`s, then `finish(to)` ends the batch of global offsets
//! `[from, to)` and returns the [`Publish`] job that makes it visible (run
//! after the checkpoint records the batch as pending; it may run on another
//! thread while the next batch is being written).
//!
//! - `stdout`: JSON lines, flushed when a batch finishes (and after each release in
//!   follow mode). At-least-once across crashes: a batch written but not yet
//!   committed is written again by the next run.
//! - `dir:<path>`: one file per batch, `events-<from>-<to>.jsonl` (global
//!   offsets, 12 digits zero-padded, `to` exclusive), written as
//!   `.events-<from>.jsonl.tmp`, fsynced, renamed, and the directory fsynced.
//!   Publishing the same offsets again rewrites the same name with the same
//!   bytes, so with the checkpoint's pending batch every event lands in
//!   exactly one file whenever the process dies. The directory is locked
//!   (`flock`) while a replay writes it, which keeps a second replay out
//!   and leaves no lock file behind; leftover `.tmp` files of a killed run
//!   are removed on start. Readers should ignore dot files.
//! - `kafka://host:port/topic`: see [`super::kafka`]; records go out as they
//!   are written (a *streaming* sink) and `finish` waits for their acknowledgements.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::checkpoint::{lock_dir, Pending};
use super::kafka::{KafkaSink, KafkaSpec};
use crate::error::{Context, Error, Result};
use crate::sinks::files::sync_dir;

/// A parsed `--sink`.
#[derive(Clone, Debug, PartialEq)]
pub enum SinkSpec {
    Stdout,
    Dir(PathBuf),
    Kafka(KafkaSpec),
}

impl SinkSpec {
    pub fn parse(s: &str) -> Result<SinkSpec> {
        if s == "stdout" || s == "-" {
            return Ok(SinkSpec::Stdout);
        }
        if let Some(kafka) = KafkaSpec::parse(s) {
            return kafka.map(SinkSpec::Kafka);
        }
        match s.strip_prefix("dir:") {
            Some(p) if !p.is_empty() => Ok(SinkSpec::Dir(PathBuf::from(p))),
            _ => Err(Error(format!("--sink {s}: expected `stdout`, `dir:PATH` or `kafka://HOST:PORT/TOPIC`"))),
        }
    }

    /// The sink as recorded in a checkpoint: `stdout`, `dir:<absolute path>` or the Kafka address.
    pub fn describe(&self) -> String {
        match self {
            SinkSpec::Stdout => "stdout".into(),
            SinkSpec::Dir(p) => {
                format!("dir:{}", std::path::absolute(p).unwrap_or_else(|_| p.clone()).display())
            }
            SinkSpec::Kafka(k) => k.describe(),
        }
    }

    /// Opens the sink; `props` are `-X` properties (Kafka only), `fingerprint` the dataset's.
    pub fn open(&self, props: &[(String, String)], fingerprint: &str) -> Result<Box<dyn Sink>> {
        if !props.is_empty() && !matches!(self, SinkSpec::Kafka(_)) {
            return Err(Error(format!("-X {}: properties apply to kafka:// sinks only", props[0].0)));
        }
        match self {
            SinkSpec::Kafka(k) => Ok(Box::new(KafkaSink::open(k, props, fingerprint)?)),
            SinkSpec::Stdout => Ok(Box::new(StdoutSink { out: BufWriter::with_capacity(1 << 20, std::io::stdout()) })),
            SinkSpec::Dir(p) => Ok(Box::new(DirSink::open(p)?)),
        }
    }
}

pub trait Sink {
    /// Whether publishing is atomic and repeatable, so that a checkpoint's
    /// pending batch gives exactly-once output.
    fn exactly_once(&self) -> bool;
    /// Whether records go out as they are written (Kafka): then a batch is
    /// recorded as pending when it opens, with [`Sink::marks`], and `finish`
    /// returns only once the batch is durably out.
    fn streams(&self) -> bool {
        false
    }
    /// A streaming sink's position, recorded with a batch that opens (after `begin`).
    fn marks(&mut self) -> Result<Option<Vec<i64>>> {
        Ok(None)
    }
    /// Before a pending batch is published again: returns the end of the
    /// batch to redo (a streaming sink also learns which records arrived, to
    /// skip them).
    fn resume(&mut self, pending: &Pending) -> Result<u64> {
        pending.to.ok_or_else(|| Error("replay: the checkpoint's pending batch has no end".into()))
    }
    /// Starts a batch at global offset `from`.
    fn begin(&mut self, from: u64) -> Result<()>;
    fn write(&mut self, bytes: &[u8]) -> Result<()>;
    /// Pushes written records out early where the sink can (stdout).
    fn flush(&mut self) -> Result<()>;
    /// Ends the batch `[from, to)`; the job makes it visible, durably.
    fn finish(&mut self, to: u64) -> Result<Publish>;
}

/// Makes a finished batch visible, durably: for a `dir:` sink, fsync of the
/// temp file, rename to the batch's name, fsync of the directory.
#[must_use]
pub struct Publish(Option<FinishedFile>);

struct FinishedFile {
    file: File,
    tmp: PathBuf,
    target: PathBuf,
    dir: PathBuf,
}

impl Publish {
    /// Nothing left to do (the batch is already out).
    pub fn done() -> Publish {
        Publish(None)
    }

    pub fn run(self) -> Result<()> {
        let Some(f) = self.0 else { return Ok(()) };
        f.file.sync_all().context(|| f.tmp.display().to_string())?;
        drop(f.file);
        std::fs::rename(&f.tmp, &f.target).context(|| f.target.display().to_string())?;
        sync_dir(&f.dir)
    }
}

struct StdoutSink {
    out: BufWriter<std::io::Stdout>,
}

fn stdout_error(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Error("stdout: the reader closed the pipe".into())
    } else {
        Error(format!("stdout: {e}"))
    }
}

impl Sink for StdoutSink {
    fn exactly_once(&self) -> bool {
        false
    }

    fn begin(&mut self, _from: u64) -> Result<()> {
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(stdout_error)
    }

    fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(stdout_error)
    }

    fn finish(&mut self, _to: u64) -> Result<Publish> {
        self.flush()?;
        Ok(Publish::done())
    }
}

/// The published file name of offsets `[from, to)`.
pub fn batch_file_name(from: u64, to: u64) -> String {
    format!("events-{from:012}-{to:012}.jsonl")
}

fn temp_name(from: u64) -> String {
    format!(".events-{from:012}.jsonl.tmp")
}

struct DirSink {
    dir: PathBuf,
    _lock: File,
    open: Option<(u64, BufWriter<File>)>,
    /// Created by this run and nothing published yet: removed on drop.
    created: bool,
}

impl DirSink {
    fn open(dir: &Path) -> Result<DirSink> {
        let created = !dir.exists();
        std::fs::create_dir_all(dir)
            .context(|| format!("--sink dir:{}: cannot create the directory", dir.display()))?;
        let lock = lock_dir(dir, "sink").map_err(|e| Error(format!("--sink dir:{}: {e}", dir.display())))?;
        let _ = std::fs::remove_file(dir.join(".simkit-replay.lock")); // older simkit versions' lock file
        for entry in std::fs::read_dir(dir).context(|| dir.display().to_string())? {
            let name = entry.context(|| dir.display().to_string())?.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".events-") && name.ends_with(".tmp") {
                let path = dir.join(name.as_ref());
                std::fs::remove_file(&path).context(|| format!("{}: cannot remove", path.display()))?;
            }
        }
        Ok(DirSink { dir: dir.to_path_buf(), _lock: lock, open: None, created })
    }
}

impl Drop for DirSink {
    fn drop(&mut self) {
        if let Some((from, _)) = self.open.take() {
            let _ = std::fs::remove_file(self.dir.join(temp_name(from)));
        }
        // Only an empty directory goes: remove_dir fails on anything else.
        if self.created {
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

impl Sink for DirSink {
    fn exactly_once(&self) -> bool {
        true
    }

    fn begin(&mut self, from: u64) -> Result<()> {
        let path = self.dir.join(temp_name(from));
        let f = File::create(&path).context(|| format!("{}: cannot write", path.display()))?;
        self.open = Some((from, BufWriter::with_capacity(1 << 20, f)));
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let (from, w) = self.open.as_mut().ok_or_else(|| Error("replay: write outside a batch".into()))?;
        let from = *from;
        w.write_all(bytes).context(|| self.dir.join(temp_name(from)).display().to_string())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    fn finish(&mut self, to: u64) -> Result<Publish> {
        let (from, w) = self.open.take().ok_or_else(|| Error("replay: finish outside a batch".into()))?;
        let tmp = self.dir.join(temp_name(from));
        let file = w.into_inner().map_err(|e| e.into_error()).context(|| tmp.display().to_string())?;
        let target = self.dir.join(batch_file_name(from, to));
        Ok(Publish(Some(FinishedFile { file, tmp, target, dir: self.dir.clone() })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sinks() {
        assert_eq!(SinkSpec::parse("stdout").unwrap(), SinkSpec::Stdout);
        assert_eq!(SinkSpec::parse("dir:out/ev").unwrap(), SinkSpec::Dir("out/ev".into()));
        assert!(matches!(SinkSpec::parse("kafka://x:9092/t").unwrap(), SinkSpec::Kafka(_)));
        for bad in ["dir:", "kafka://x/t", "files", ""] {
            assert!(SinkSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn properties_need_a_kafka_sink() {
        let props = [("acks".to_string(), "all".to_string())];
        let err = SinkSpec::Stdout.open(&props, "ab").err().expect("refused");
        assert!(err.0.contains("-X acks") && err.0.contains("kafka://"), "{err}");
    }

    #[test]
    fn dir_sink_publishes_atomically_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".events-000000000007.jsonl.tmp"), "stale").unwrap();
        let mut s = DirSink::open(dir.path()).unwrap();
        assert!(!dir.path().join(".events-000000000007.jsonl.tmp").exists());
        s.begin(7).unwrap();
        s.write(b"a\n").unwrap();
        s.write(b"b\n").unwrap();
        let publish = s.finish(9).unwrap();
        assert!(!dir.path().join(batch_file_name(7, 9)).exists());
        publish.run().unwrap();
        assert_eq!(std::fs::read(dir.path().join("events-000000000007-000000000009.jsonl")).unwrap(), b"a\nb\n");
        // A second replay on the same directory is refused.
        assert!(DirSink::open(dir.path()).is_err());
    }
}
