//! Where replayed records go, one micro-batch at a time: `begin(from)`, any
//! number of `write`s, then `finish(to)` ends the batch of global offsets
//! `[from, to)` and returns the [`Publish`] job that makes it visible (run
//! after the checkpoint records the batch as pending; it may run on another
//! thread while the next batch is being written).
//!
//! Records are framed for files as JSON lines or, with `--format protobuf`,
//! as length-delimited messages (a varint length, then the message).
//!
//! - `stdout`: the records, flushed when a batch finishes (and after each release in
//!   follow mode). At-least-once across crashes: a batch written but not yet
//!   committed is written again by the next run.
//! - `dir:<path>`: one folder per stream, and in it one file per batch
//!   holding that stream's records of the batch,
//!   `<stream>/<stream>-<from>-<to>.jsonl` (`.binpb` for protobuf; global
//!   offsets, 12 digits zero-padded, `to` exclusive), written as
//!   `.<stream>-<from>.<ext>.tmp`, fsynced, renamed, and the folder fsynced.
//!   Publishing the same offsets again rewrites the same names with the same
//!   bytes, so with the checkpoint's pending batch every record lands in
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
use super::codec::WireFormat;
use super::encoded::Encoded;
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

    /// Checks what the sink can take before anything is opened: `-X`
    /// properties only for Kafka, one topic per stream (a `{stream}`
    /// template) when several streams are replayed.
    pub fn check(&self, props: &[(String, String)], streams: &[String]) -> Result<()> {
        if !props.is_empty() && !matches!(self, SinkSpec::Kafka(_)) {
            return Err(Error(format!("-X {}: properties apply to kafka:// sinks only", props[0].0)));
        }
        match self {
            SinkSpec::Kafka(k) => k.check_streams(streams),
            _ => Ok(()),
        }
    }

    /// Opens the sink for `streams` (their names, in stream order);
    /// `props` are `-X` properties (Kafka only), `fingerprint` the dataset's.
    pub fn open(
        &self,
        props: &[(String, String)],
        fingerprint: &str,
        streams: &[String],
        format: WireFormat,
    ) -> Result<Box<dyn Sink>> {
        self.check(props, streams)?;
        match self {
            SinkSpec::Kafka(k) => Ok(Box::new(KafkaSink::open(k, props, fingerprint, streams, format)?)),
            SinkSpec::Stdout => Ok(Box::new(StdoutSink { out: BufWriter::with_capacity(1 << 20, std::io::stdout()) })),
            SinkSpec::Dir(p) => Ok(Box::new(DirSink::open(p, streams, format)?)),
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
    fn write(&mut self, records: &Encoded) -> Result<()>;
    /// Pushes written records out early where the sink can (stdout).
    fn flush(&mut self) -> Result<()>;
    /// Ends the batch `[from, to)`; the job makes it visible, durably.
    fn finish(&mut self, to: u64) -> Result<Publish>;
}

/// Makes a finished batch visible, durably: for a `dir:` sink, fsync of the
/// temp file, rename to the batch's name, fsync of the directory.
#[must_use]
pub struct Publish(Vec<FinishedFile>);

struct FinishedFile {
    file: File,
    tmp: PathBuf,
    target: PathBuf,
    dir: PathBuf,
}

impl Publish {
    /// Nothing left to do (the batch is already out).
    pub fn done() -> Publish {
        Publish(Vec::new())
    }

    pub fn run(self) -> Result<()> {
        for f in &self.0 {
            f.file.sync_all().context(|| f.tmp.display().to_string())?;
        }
        for f in self.0 {
            drop(f.file);
            std::fs::rename(&f.tmp, &f.target).context(|| f.target.display().to_string())?;
            sync_dir(&f.dir)?;
        }
        Ok(())
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

    fn write(&mut self, records: &Encoded) -> Result<()> {
        self.out.write_all(&records.bytes).map_err(stdout_error)
    }

    fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(stdout_error)
    }

    fn finish(&mut self, _to: u64) -> Result<Publish> {
        self.flush()?;
        Ok(Publish::done())
    }
}

/// The published file name of stream `stream`'s records of offsets `[from, to)`.
pub fn batch_file_name(stream: &str, from: u64, to: u64, format: WireFormat) -> String {
    format!("{stream}-{from:012}-{to:012}.{}", extension(format))
}

fn extension(format: WireFormat) -> &'static str {
    match format {
        WireFormat::Json => "jsonl",
        WireFormat::Protobuf => "binpb",
    }
}

fn temp_name(stream: &str, from: u64, format: WireFormat) -> String {
    format!(".{stream}-{from:012}.{}.tmp", extension(format))
}

struct DirSink {
    dir: PathBuf,
    _lock: File,
    streams: Vec<String>,
    format: WireFormat,
    /// The open batch's first offset and, per stream, its temp file once it has records.
    open: Option<(u64, Vec<Option<BufWriter<File>>>)>,
    /// Folders created by this run while nothing is published: removed on drop.
    created: Vec<PathBuf>,
}

impl DirSink {
    fn open(dir: &Path, streams: &[String], format: WireFormat) -> Result<DirSink> {
        let created = if dir.exists() { Vec::new() } else { vec![dir.to_path_buf()] };
        std::fs::create_dir_all(dir)
            .context(|| format!("--sink dir:{}: cannot create the directory", dir.display()))?;
        let lock = lock_dir(dir, "sink").map_err(|e| Error(format!("--sink dir:{}: {e}", dir.display())))?;
        let _ = std::fs::remove_file(dir.join(".simkit-replay.lock")); // older simkit versions' lock file
        let mut sink =
            DirSink { dir: dir.to_path_buf(), _lock: lock, streams: streams.to_vec(), format, open: None, created };
        for name in streams {
            let folder = dir.join(name);
            if !folder.exists() {
                sink.created.push(folder.clone());
            }
            std::fs::create_dir_all(&folder)
                .context(|| format!("{}: cannot create the directory", folder.display()))?;
            for entry in std::fs::read_dir(&folder).context(|| folder.display().to_string())? {
                let name = entry.context(|| folder.display().to_string())?.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') && name.ends_with(".tmp") {
                    let path = folder.join(name.as_ref());
                    std::fs::remove_file(&path).context(|| format!("{}: cannot remove", path.display()))?;
                }
            }
        }
        Ok(sink)
    }

    fn temp_path(&self, stream: usize, from: u64) -> PathBuf {
        let name = &self.streams[stream];
        self.dir.join(name).join(temp_name(name, from, self.format))
    }
}

impl Drop for DirSink {
    fn drop(&mut self) {
        if let Some((from, files)) = self.open.take() {
            for (s, f) in files.iter().enumerate() {
                if f.is_some() {
                    let _ = std::fs::remove_file(self.temp_path(s, from));
                }
            }
        }
        // Only empty folders go: remove_dir fails on anything else.
        for folder in self.created.iter().rev() {
            let _ = std::fs::remove_dir(folder);
        }
    }
}

impl Sink for DirSink {
    fn exactly_once(&self) -> bool {
        true
    }

    fn begin(&mut self, from: u64) -> Result<()> {
        self.open = Some((from, self.streams.iter().map(|_| None).collect()));
        Ok(())
    }

    fn write(&mut self, records: &Encoded) -> Result<()> {
        let from = self.open.as_ref().ok_or_else(|| Error("replay: write outside a batch".into()))?.0;
        for (stream, frames) in records.runs() {
            let s = stream as usize;
            let path = self.temp_path(s, from);
            let files = &mut self.open.as_mut().expect("checked above").1;
            if files[s].is_none() {
                let f = File::create(&path).context(|| format!("{}: cannot write", path.display()))?;
                files[s] = Some(BufWriter::with_capacity(1 << 20, f));
            }
            let w = files[s].as_mut().expect("just opened");
            w.write_all(frames).context(|| path.display().to_string())?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    fn finish(&mut self, to: u64) -> Result<Publish> {
        let (from, files) = self.open.take().ok_or_else(|| Error("replay: finish outside a batch".into()))?;
        let mut done = Vec::new();
        for (s, w) in files.into_iter().enumerate() {
            let Some(w) = w else { continue };
            let tmp = self.temp_path(s, from);
            let file = w.into_inner().map_err(|e| e.into_error()).context(|| tmp.display().to_string())?;
            let folder = self.dir.join(&self.streams[s]);
            let target = folder.join(batch_file_name(&self.streams[s], from, to, self.format));
            done.push(FinishedFile { file, tmp, target, dir: folder });
        }
        self.created.clear();
        Ok(Publish(done))
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
        let err = SinkSpec::Stdout.check(&props, &["events".into()]).expect_err("refused");
        assert!(err.0.contains("-X acks") && err.0.contains("kafka://"), "{err}");
    }

    fn records(lines: &[(u16, &str)]) -> Encoded {
        let mut e = Encoded::default();
        for &(stream, line) in lines {
            e.bytes.extend_from_slice(line.as_bytes());
            e.close(0, stream);
        }
        e
    }

    #[test]
    fn dir_sink_publishes_one_file_per_stream_atomically_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let streams = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        std::fs::create_dir(dir.path().join("a")).unwrap();
        let stale = dir.path().join("a/.a-000000000007.jsonl.tmp");
        std::fs::write(&stale, "stale").unwrap();
        let mut s = DirSink::open(dir.path(), &streams, WireFormat::Json).unwrap();
        assert!(!stale.exists());
        s.begin(7).unwrap();
        s.write(&records(&[(0, "a1\n"), (1, "b1\n")])).unwrap();
        s.write(&records(&[(0, "a2\n")])).unwrap();
        let publish = s.finish(10).unwrap();
        let a = dir.path().join("a").join(batch_file_name("a", 7, 10, WireFormat::Json));
        assert!(!a.exists());
        publish.run().unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"a1\na2\n");
        assert_eq!(std::fs::read(dir.path().join("b/b-000000000007-000000000010.jsonl")).unwrap(), b"b1\n");
        assert_eq!(std::fs::read_dir(dir.path().join("c")).unwrap().count(), 0, "no records, no file");
        // A second replay on the same directory is refused.
        assert!(DirSink::open(dir.path(), &streams, WireFormat::Json).is_err());
    }
}
