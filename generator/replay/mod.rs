//! Replay: streams a generated dataset of any kind as live records, at any
//! speed, exactly once into files and Kafka (or at least once to stdout),
//! resumable from a checkpoint.
//!
//! `simkit replay DATASET [--stream NAME] [--format json|protobuf]
//! [--start-day N] [--speed X] [--checkpoint DIR]
//! [--sink stdout|dir:PATH|kafka://HOST:PORT/TOPIC [-X KEY=VALUE]...]
//! [--available-now | --follow] [--loop]
//! [--catch-up-to RFC3339] [--quiet]`
//!
//! What is streamed is the kind's declaration ([`crate::streams`]): every
//! stream merged by event time ([`merge`]), or the one `--stream` names;
//! "events" and "offsets" below are its records, whatever the kind.
//!
//! Semantics (time arithmetic in [`schedule`], the record format in
//! [`record`], ids in [`event_id`], delivery in [`sink`] and [`checkpoint`]):
//! - Offsets are simulation time; the dataset spans `[start, end)`.
//! - First run (no checkpoint file): historical catch-up of every event with
//!   `ts < start + start_day days + the UTC time of day of now` (or of
//!   `--catch-up-to`), regardless of speed.
//! - Later runs: `position = old position + (now - checkpoint wall time) *
//!   speed`, capped at `end` unless `--loop`; the events in `[old, new)` are
//!   emitted (exactly: the global offsets from the checkpoint's
//!   `events_emitted` up to the first event at or after the new position).
//! - `--available-now` (the default): emit what is due in micro-batches of at
//!   most [`BULK_BATCH_EVENTS`] (cut at multiples of it), commit, exit 0.
//! - `--follow`: after the catch-up, release each event at its wall-clock
//!   moment `anchor wall + (ts - anchor position) / speed`: sleep until the
//!   next event is due and release together everything due within
//!   [`RELEASE_SLACK_MS`]. Micro-batches close after [`FOLLOW_BATCH_MS`] or
//!   [`FOLLOW_BATCH_EVENTS`] events and are then published and committed.
//!   Runs until the dataset ends (never with `--loop`) or SIGINT/SIGTERM,
//!   which publishes the open batch, commits and exits 0.
//! - `--loop`: lap `k` replays the dataset with timestamps shifted by `k * L`,
//!   `L = end - start`, and order ids suffixed `-k` (lap 0 keeps its ids);
//!   event ids follow the emitted order ids, so they differ per lap.
//! - Without `--checkpoint` no state is kept: every run is a first run. A
//!   checkpoint belongs to one dataset (its manifest fingerprint) and one sink.
//! - Delivery: micro-batches are published in offset order; for `dir:` sinks
//!   a batch is recorded as pending in the checkpoint before its file appears
//!   and committed after, so a killed run's successor republishes exactly
//!   that batch: every event lands in exactly one file. A `kafka://` batch is
//!   recorded as pending when it opens (its records go out as they are
//!   written); a successor sends the ones the topic lacks ([`kafka`]).
//!   stdout is at least once.
//! - Every error (not a dataset, a checkpoint of another dataset or sink, a
//!   sink that cannot be written, an invalid option) is an [`Error`]: exit 2.

pub mod checkpoint;
pub mod codec;
pub mod encoded;
pub mod event_id;
pub mod fields;
pub mod kafka;
pub mod merge;
pub mod numfmt;
pub mod pipeline;
pub mod record;
pub mod sample;
pub mod schedule;
pub mod sink;
pub mod source;
pub mod status;
pub mod trust;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Instant;

use crate::figures::grouped;
use checkpoint::{Checkpoint, Pending, Store};
pub use codec::WireFormat;
use encoded::Encoded;
use merge::Sources;
use pipeline::{bulk, Cursor};
use schedule::{advance, due_wall_ms, first_position, time_of_day_ms, Clock, SystemClock, Timeline};
use sink::{Publish, Sink, SinkSpec};
use status::Status;

use crate::error::{Error, Result};
use crate::sinks::manifest::Manifest;

/// The first run's day grid: UTC midnight of the dataset's start date.
fn catch_up_epoch(m: &Manifest) -> Result<i64> {
    let date = chrono::NaiveDate::parse_from_str(&m.scenario.start, "%Y-%m-%d")
        .map_err(|_| Error(format!("manifest.json: scenario start {:?} is not a date", m.scenario.start)))?;
    Ok(date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp_millis())
}

/// Largest catch-up micro-batch (one file in a `dir:` sink).
pub const BULK_BATCH_EVENTS: u64 = 1 << 17;
/// Follow mode closes a micro-batch after this long...
pub const FOLLOW_BATCH_MS: i64 = 1_000;
/// ...or this many events.
pub const FOLLOW_BATCH_EVENTS: u64 = 100_000;
/// Follow mode releases events due within this many wall-clock ms together.
pub const RELEASE_SLACK_MS: f64 = 2.0;
/// Follow mode's longest sleep, so a signal is handled promptly.
const MAX_SLEEP_MS: i64 = 100;

#[derive(Clone, Debug)]
pub struct Options {
    pub dataset: PathBuf,
    /// First run: the day to catch up to (default 0).
    pub start_day: Option<u32>,
    /// Simulated ms per wall-clock ms (> 0).
    pub speed: f64,
    pub checkpoint: Option<PathBuf>,
    /// `stdout`, `dir:PATH` or `kafka://HOST:PORT/TOPIC`.
    pub sink: String,
    /// `-X` librdkafka properties (Kafka sinks only).
    pub kafka_props: Vec<(String, String)>,
    pub available_now: bool,
    pub follow: bool,
    pub looping: bool,
    /// An RFC 3339 time whose UTC time of day replaces now's on a first run.
    pub catch_up_to: Option<String>,
    pub quiet: bool,
    /// Encoding threads for catch-up (default: all cores).
    pub threads: Option<usize>,
    /// Replay only this stream (default: every stream, merged by time).
    pub stream: Option<String>,
    pub format: WireFormat,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dataset: PathBuf::new(),
            start_day: None,
            speed: 60.0,
            checkpoint: None,
            sink: "stdout".into(),
            kafka_props: Vec::new(),
            available_now: false,
            follow: false,
            looping: false,
            catch_up_to: None,
            quiet: false,
            threads: None,
            stream: None,
            format: WireFormat::Json,
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Global offsets emitted: `[from, to)` (a redone pending batch included).
    pub from: u64,
    pub to: u64,
    /// The committed simulation position.
    pub position_ms: i64,
    pub seconds: f64,
    /// Follow mode: stopped by SIGINT/SIGTERM.
    pub interrupted: bool,
    /// Every event of the dataset has been emitted (never with `--loop`).
    pub ended: bool,
}

/// Runs a replay on the real clock; SIGINT and SIGTERM stop it cleanly.
pub fn run(opts: &Options) -> Result<Summary> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).map_err(|e| Error(format!("signal handler: {e}")))?;
    }
    run_with(opts, &SystemClock, &stop)
}

/// Parses `--catch-up-to`.
pub fn parse_rfc3339(s: &str) -> Result<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| Error(format!("--catch-up-to {s}: not an RFC 3339 time ({e}), e.g. 2024-05-01T12:30:00Z")))
}

/// The global offset of a position: the first record at or after it.
fn offset_of(sources: &Sources, tl: &Timeline, pos: i64) -> Result<u64> {
    if !tl.looping && pos >= tl.end_ms {
        return Ok(tl.events);
    }
    let (lap, t) = tl.split(pos);
    Ok(lap * tl.events + sources.first_at_or_after(t)?)
}

/// A testing aid: `SIMKIT_REPLAY_PUBLISH_DELAY_MS` widens the window between
/// recording a batch as pending and publishing it, so crash tests can kill a
/// replay inside it.
fn publish_delay_ms() -> Option<u64> {
    static DELAY: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *DELAY.get_or_init(|| std::env::var("SIMKIT_REPLAY_PUBLISH_DELAY_MS").ok().and_then(|v| v.parse().ok()))
}

/// The checkpoint side of publishing: records, publishes, commits.
struct Ledger {
    store: Option<Store>,
    ckpt: Checkpoint,
    tl: Timeline,
    /// Pending batches are recorded only for exactly-once sinks.
    exactly_once: bool,
}

impl Ledger {
    fn save(&mut self) -> Result<()> {
        match &mut self.store {
            Some(s) => s.store(&self.ckpt),
            None => Ok(()),
        }
    }

    /// Records a streaming sink's batch as pending when it opens at the
    /// committed offset, with the sink's `marks`, no end, and the state
    /// `(pos, wall)` it will commit.
    fn open_batch(&mut self, marks: Option<Vec<i64>>, pos: i64, wall: i64) -> Result<()> {
        if self.store.is_none() {
            return Ok(());
        }
        let from = self.ckpt.events_emitted;
        self.ckpt.pending = Some(Pending { from, to: None, position_ms: pos, wall_ms: wall, marks });
        self.save()
    }

    /// Publishes the finished batch `[ckpt.events_emitted, to)` and commits
    /// `(pos, wall, to)`, recording it as pending first for exactly-once
    /// sinks (unless it was recorded when it opened).
    fn commit_batch(&mut self, publish: Publish, to: u64, pos: i64, wall: i64) -> Result<()> {
        let opened = self.ckpt.pending.as_ref().is_some_and(|p| p.to.is_none());
        if self.exactly_once && self.store.is_some() && !opened {
            let from = self.ckpt.events_emitted;
            self.ckpt.pending = Some(Pending { from, to: Some(to), position_ms: pos, wall_ms: wall, marks: None });
            self.save()?;
        }
        if let (Some(ms), true) = (publish_delay_ms(), self.exactly_once && self.store.is_some()) {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        publish.run()?;
        self.commit_state(to, pos, wall)
    }

    /// Commits a state with no batch to publish.
    fn commit_state(&mut self, emitted: u64, pos: i64, wall: i64) -> Result<()> {
        self.ckpt.pending = None;
        self.ckpt.events_emitted = emitted;
        self.ckpt.position_ms = pos;
        self.ckpt.wall_ms = wall;
        self.ckpt.lap = self.tl.split(pos).0;
        self.save()
    }
}

struct Replay<'a> {
    opts: &'a Options,
    clock: &'a dyn Clock,
    stop: &'a AtomicBool,
    sources: Sources,
    tl: Timeline,
    sink: Box<dyn Sink>,
    ledger: Ledger,
    status: Status,
    threads: usize,
    /// The committed offset when the run started.
    first_offset: u64,
}

impl Replay<'_> {
    /// Emits `[emitted, to)` in micro-batches ending at `cuts` (and `to`),
    /// each committed with `(pos, wall)`. While one batch is published and
    /// committed (fsync, rename, checkpoint) on a second thread, the next one
    /// is already being written. A streaming sink's batches are opened and
    /// committed in turn on this thread (its records are out as they are
    /// written). Returns the offset reached (< `to` if stopped).
    fn emit_bulk(&mut self, to: u64, cuts: &[u64], pos: i64, wall: i64) -> Result<u64> {
        let from = self.ledger.ckpt.events_emitted;
        if from >= to {
            return Ok(from);
        }
        let streams = self.sink.streams();
        let (sink, stop) = (&mut self.sink, self.stop);
        let ledger = std::sync::Mutex::new(&mut self.ledger);
        let lock = || ledger.lock().map_err(|_| Error("replay: the committing thread panicked".into()));
        let (sources, tl, threads) = (&self.sources, &self.tl, self.threads);
        std::thread::scope(|scope| -> Result<()> {
            let (tx, rx) = sync_channel::<(Publish, u64)>(1);
            let committer = scope.spawn(move || -> Result<()> {
                for (publish, end) in rx {
                    lock()?.commit_batch(publish, end, pos, wall)?;
                }
                Ok(())
            });
            let mut batch_from = from;
            let mut open = false;
            let encoded = bulk(sources, tl, (from, to), cuts, threads, |end, records| {
                if !open {
                    sink.begin(batch_from)?;
                    if streams {
                        let marks = sink.marks()?;
                        lock()?.open_batch(marks, pos, wall)?;
                    }
                    open = true;
                }
                sink.write(records)?;
                if end == to || cuts.binary_search(&end).is_ok() {
                    let publish = sink.finish(end)?;
                    open = false;
                    batch_from = end;
                    if streams {
                        lock()?.commit_batch(publish, end, pos, wall)?;
                    } else if tx.send((publish, end)).is_err() {
                        return Ok(false); // the committer failed: its error is reported below
                    }
                    if stop.load(Ordering::Relaxed) {
                        return Ok(false);
                    }
                }
                Ok(true)
            });
            drop(tx);
            let committed = committer.join().map_err(|_| Error("replay: the committing thread panicked".into()))?;
            committed.and(encoded)
        })?;
        Ok(self.ledger.ckpt.events_emitted)
    }

    /// The offset a run stops at: the dataset's end, or with `--loop` the
    /// start of the lap [`MAX_LAPS_PER_RUN`] laps after the run's first one.
    fn run_limit(&self) -> u64 {
        let tl = &self.tl;
        if !tl.looping {
            return tl.offset_limit();
        }
        (tl.locate(self.first_offset).0 + MAX_LAPS_PER_RUN).saturating_mul(tl.events)
    }

    /// `pos`, held back to the run's lap limit (with a note when it is).
    fn lap_cap(&mut self, pos: i64) -> i64 {
        if !self.tl.looping {
            return pos;
        }
        let lap = self.run_limit() / self.tl.events.max(1);
        let cap = self.tl.start_ms.saturating_add((lap as i64).saturating_mul(self.tl.lap_ms()));
        if pos > cap {
            self.status.note(&format!(
                "--speed {} takes this run past lap {lap}: it stops there (at most {MAX_LAPS_PER_RUN} laps per run); the next run goes on",
                self.opts.speed
            ));
            return cap;
        }
        pos
    }

    /// The catch-up cuts of `[from, to)`: multiples of [`BULK_BATCH_EVENTS`].
    fn cuts(from: u64, to: u64) -> Vec<u64> {
        let first = (from / BULK_BATCH_EVENTS + 1) * BULK_BATCH_EVENTS;
        (first..to).step_by(BULK_BATCH_EVENTS as usize).collect()
    }

    /// Follow mode after the catch-up: paced releases from the anchor `(pos, wall)`.
    fn follow(&mut self, anchor_pos: i64, anchor_wall: i64) -> Result<(i64, bool, bool)> {
        let speed = self.opts.speed;
        let limit = self.run_limit();
        let mut cursor = Cursor::new(&self.sources, self.tl);
        let mut o = self.ledger.ckpt.events_emitted;
        // Events due within the release slack go out ahead of the position:
        // a committed position never lies before an emitted event.
        let mut released_to = i64::MIN;
        let mut buf = Encoded::with_capacity(1 << 16);
        // (opened at wall ms, events in it) of the open micro-batch.
        let mut batch: Option<(i64, u64)> = None;
        let slack = (RELEASE_SLACK_MS * speed).ceil() as i64;
        self.status.start(self.clock.now_ms(), o);
        loop {
            let stopping = self.stop.load(Ordering::Relaxed);
            let now = self.clock.now_ms();
            let pos = advance(&self.tl, anchor_pos, anchor_wall, now, speed);
            let horizon = pos.saturating_add(slack);
            while o < limit {
                let ts = cursor.ts(o)?;
                if ts >= horizon || batch.is_some_and(|(_, n)| n >= FOLLOW_BATCH_EVENTS) {
                    break;
                }
                if batch.is_none() {
                    self.sink.begin(o)?;
                    if self.sink.streams() {
                        let marks = self.sink.marks()?;
                        self.ledger.open_batch(marks, pos, now)?;
                    }
                    batch = Some((now, 0));
                }
                cursor.encode(o, &mut buf)?;
                released_to = released_to.max(ts + 1);
                o += 1;
                if let Some((_, n)) = batch.as_mut() {
                    *n += 1;
                }
                let lag = now - due_wall_ms(anchor_pos, anchor_wall, ts, speed);
                self.status.max_lag_ms = self.status.max_lag_ms.max(lag);
                if buf.bytes.len() >= 1 << 22 {
                    self.sink.write(&buf)?;
                    buf.clear();
                }
            }
            if !buf.is_empty() {
                self.sink.write(&buf)?;
                self.sink.flush()?;
                buf.clear();
            }
            let ended = o >= limit;
            let finishing = stopping || ended;
            if let Some((opened, n)) = batch {
                if finishing || now - opened >= FOLLOW_BATCH_MS || n >= FOLLOW_BATCH_EVENTS {
                    let publish = self.sink.finish(o)?;
                    self.ledger.commit_batch(publish, o, pos.max(released_to), now)?;
                    batch = None;
                }
            }
            self.status.tick(now, pos, o);
            if finishing {
                let pos = pos.max(released_to);
                self.ledger.commit_state(o, pos, now)?;
                return Ok((pos, stopping, ended));
            }
            let mut wake = now + MAX_SLEEP_MS;
            if o < limit && batch.is_none_or(|(_, n)| n < FOLLOW_BATCH_EVENTS) {
                wake = wake.min(due_wall_ms(anchor_pos, anchor_wall, cursor.ts(o)?, speed));
            } else if o < limit {
                wake = now;
            }
            if let Some((opened, _)) = batch {
                wake = wake.min(opened + FOLLOW_BATCH_MS);
            }
            wake = wake.min(self.status.next_due_ms(now));
            if wake > now {
                self.clock.sleep_until(wake);
            }
        }
    }
}

/// Laps one run emits at most: a huge `--speed` with `--loop` stops there
/// (the next run goes on), so neither memory nor output grows without bound.
pub const MAX_LAPS_PER_RUN: u64 = 10;

fn validate(opts: &Options) -> Result<Option<i64>> {
    if !(opts.speed > 0.0 && opts.speed.is_finite()) {
        return Err(Error(format!(
            "--speed {}: expected a finite number > 0 (1 = real time, 60 = 1 min per hour, 86400 = 1 day per second)",
            opts.speed
        )));
    }
    if opts.available_now && opts.follow {
        return Err(Error("--available-now and --follow: choose one".into()));
    }
    if opts.threads == Some(0) {
        return Err(Error("--threads 0: expected at least 1 thread".into()));
    }
    opts.catch_up_to.as_deref().map(parse_rfc3339).transpose()
}

/// Runs a replay on `clock`; `stop` (set by a signal handler) ends follow
/// mode, or catch-up after the current micro-batch, with everything committed.
pub fn run_with(opts: &Options, clock: &dyn Clock, stop: &AtomicBool) -> Result<Summary> {
    run_inner(opts, clock, stop, None)
}

/// A dataset opened for replay, after [`trust::open_dataset`]'s checks.
struct Opened {
    manifest: Manifest,
    sources: Sources,
    tl: Timeline,
    /// UTC midnight of the start date: the first run's day grid.
    epoch_ms: i64,
    /// The sink as a checkpoint records it.
    sink: String,
}

impl Opened {
    fn open(opts: &Options, spec: &SinkSpec) -> Result<Opened> {
        let sink = spec.describe();
        let (manifest, mut sources) = trust::open_dataset(opts)?;
        spec.check(&opts.kafka_props, &sources.names())?;
        let s = &manifest.scenario;
        let tl = Timeline::new(s.start_ms, s.end_ms, sources.last_ts(), sources.len(), opts.looping);
        sources.set_lap_ms(tl.lap_ms());
        let epoch_ms = catch_up_epoch(&manifest)?;
        Ok(Opened { manifest, sources, tl, epoch_ms, sink })
    }

    /// Checks a checkpoint against this dataset and `opts` (see [`trust`]).
    fn check(&self, c: &Checkpoint, opts: &Options, now_ms: i64, shown: &str) -> Result<()> {
        let offset = |pos: i64| offset_of(&self.sources, &self.tl, pos);
        let expected = trust::Expected {
            fingerprint: &self.manifest.fingerprint,
            sink: &self.sink,
            tl: &self.tl,
            earliest_ms: self.epoch_ms,
            offset_of: &offset,
            now_ms,
            opts,
        };
        trust::check_checkpoint(c, &expected, shown)
    }
}

/// What a replay runs on the checkpoint it loads, for `opts`' dataset and
/// sink: for tests and fuzzing.
pub fn checkpoint_checker(opts: &Options) -> Result<impl Fn(&Checkpoint) -> Result<()>> {
    let opened = Opened::open(opts, &SinkSpec::parse(&opts.sink)?)?;
    let opts = opts.clone();
    Ok(move |c: &Checkpoint| opened.check(c, &opts, SystemClock.now_ms(), "checkpoint"))
}

/// [`run_with`], optionally with a sink object instead of the one `opts.sink` names
/// (which still identifies the sink in the checkpoint).
fn run_inner(opts: &Options, clock: &dyn Clock, stop: &AtomicBool, sink: Option<Box<dyn Sink>>) -> Result<Summary> {
    let started = Instant::now();
    let catch_up_to = validate(opts)?;
    let (mut r, first_run, epoch_ms) = prepare(opts, clock, stop, sink)?;
    let (tl, from) = (r.tl, r.first_offset);

    // 1. A batch that was being published when the last run stopped: exactly that batch again.
    r.republish_pending()?;

    // 2. What is due now: catch-up on a first run, else the advance since the checkpoint.
    let now = clock.now_ms();
    let due = if first_run {
        first_position(&tl, epoch_ms, opts.start_day.unwrap_or(0), time_of_day_ms(catch_up_to.unwrap_or(now)))
    } else {
        advance(&tl, r.ledger.ckpt.position_ms, r.ledger.ckpt.wall_ms, now, opts.speed)
    };
    let pos = r.lap_cap(due);
    let mut interrupted = stop.load(Ordering::Relaxed);
    if !interrupted {
        interrupted = !r.catch_up(pos, now)?;
    }

    // 3. Follow: paced releases until the end or a signal.
    let (final_pos, interrupted, ended) = if opts.follow && !interrupted {
        r.status.note(&format!(
            "caught up to {} with {} events in {:.2} s; following at speed {}",
            r.status.position(pos),
            grouped(r.ledger.ckpt.events_emitted - from),
            started.elapsed().as_secs_f64(),
            opts.speed
        ));
        r.follow(pos, now)?
    } else {
        (r.ledger.ckpt.position_ms, interrupted, r.ledger.ckpt.events_emitted >= tl.offset_limit())
    };
    // With --loop the data never ends: a run that stops at its end met the lap limit.
    let (ended, lap_limit) = (ended && !tl.looping, ended && tl.looping);
    let why = if interrupted {
        "stopped by signal"
    } else if lap_limit {
        "reached the limit of laps per run; the next run goes on"
    } else if ended {
        "dataset ended"
    } else if opts.follow {
        "stopped"
    } else {
        "available-now: done"
    };
    let seconds = started.elapsed().as_secs_f64();
    let to = r.ledger.ckpt.events_emitted;
    r.note_summary(from, to, seconds, final_pos, why);
    Ok(Summary { from, to, position_ms: final_pos, seconds, interrupted, ended })
}

/// Everything before the first event: the dataset opened and checked, the
/// checkpoint locked, loaded and checked, the sink opened. Returns the
/// replay, whether this is a first run, and the first run's day grid.
fn prepare<'a>(
    opts: &'a Options,
    clock: &'a dyn Clock,
    stop: &'a AtomicBool,
    sink: Option<Box<dyn Sink>>,
) -> Result<(Replay<'a>, bool, i64)> {
    let spec = SinkSpec::parse(&opts.sink)?;
    let opened = Opened::open(opts, &spec)?;
    // Locked only now, once the options and the dataset have passed.
    let store = opts.checkpoint.as_deref().map(Store::open).transpose()?;
    let existing = match &store {
        Some(s) => s.load()?,
        None => None,
    };
    if let (Some(c), Some(s)) = (&existing, &store) {
        opened.check(c, opts, clock.now_ms(), &s.path().display().to_string())?;
    }
    let Opened { manifest, sources, tl, epoch_ms, sink: described } = opened;
    let sink = match sink {
        Some(s) => s,
        None => spec.open(&opts.kafka_props, &manifest.fingerprint, &sources.names(), opts.format)?,
    };
    let first_run = existing.is_none();
    let ckpt = existing.unwrap_or_else(|| Checkpoint {
        format: checkpoint::FORMAT,
        dataset: manifest.scenario.name.clone(),
        fingerprint: manifest.fingerprint.clone(),
        sink: described,
        position_ms: tl.start_ms,
        wall_ms: clock.now_ms(),
        events_emitted: 0,
        lap: 0,
        start_day: opts.start_day.unwrap_or(0),
        catch_up_to: opts.catch_up_to.clone(),
        stream: opts.stream.clone(),
        record_format: opts.format.name().to_string(),
        pending: None,
        position: String::new(),
        wall: String::new(),
    });
    let (threads, capped) = crate::limits::threads(opts.threads);
    let status = Status::new(opts.quiet, tl);
    if let Some(warning) = capped {
        status.note(&format!("warning: {warning}"));
    }
    let first_offset = ckpt.events_emitted;
    let r = Replay {
        opts,
        clock,
        stop,
        sources,
        tl,
        ledger: Ledger { store, ckpt, tl, exactly_once: sink.exactly_once() },
        sink,
        status,
        threads,
        first_offset,
    };
    Ok((r, first_run, epoch_ms))
}

impl Replay<'_> {
    /// Publishes again exactly the batch a stopped run left pending, if any.
    fn republish_pending(&mut self) -> Result<()> {
        let Some(p) = self.ledger.ckpt.pending.clone() else { return Ok(()) };
        let to = self.sink.resume(&p)?;
        self.status.note(&format!("republishing the pending batch [{}, {to})", p.from));
        if to == p.from {
            return self.ledger.commit_state(p.from, p.position_ms, p.wall_ms);
        }
        // A batch opened in follow mode may hold events past its position.
        let (lap, idx) = self.tl.locate(to - 1);
        let last = self.sources.ts_at(idx)? + lap as i64 * self.tl.lap_ms();
        self.emit_bulk(to, &[to], p.position_ms.max(last + 1), p.wall_ms).map(|_| ())
    }

    /// Emits everything due before `pos` and commits it; false if a signal
    /// stopped it first.
    fn catch_up(&mut self, pos: i64, now: i64) -> Result<bool> {
        let target = offset_of(&self.sources, &self.tl, pos)?.max(self.ledger.ckpt.events_emitted);
        let cuts = Replay::cuts(self.ledger.ckpt.events_emitted, target);
        let reached = self.emit_bulk(target, &cuts, pos, now)?;
        if self.stop.load(Ordering::Relaxed) {
            return Ok(false);
        }
        if reached == target {
            self.ledger.commit_state(target, pos, now)?;
        }
        Ok(true)
    }

    /// The run's last status line.
    fn note_summary(&mut self, from: u64, to: u64, seconds: f64, pos: i64, why: &str) {
        let ckpt = match &self.ledger.store {
            Some(s) => format!("checkpoint {}", s.path().display()),
            None => "no checkpoint".into(),
        };
        let n = to - from;
        let line = format!(
            "{} events emitted (offsets {from}..{to}) in {seconds:.2} s ({:.0} events/s) | sim {} | {why} | {ckpt}",
            grouped(n),
            n as f64 / seconds.max(1e-9),
            self.status.position(pos),
        );
        self.status.note(&line);
    }
}

#[cfg(test)]
mod tests;
