//! What a replay checks before it emits anything; it trusts nothing it reads.
//!
//! - The dataset: a manifest of this format whose fingerprint matches its
//!   content and whose streams are its kind's, every data file of the
//!   listed size and sha256 (a flipped bit in events.parquet is refused, not
//!   streamed), each streamed table's rows and time range against the
//!   manifest's counts and window.
//! - The checkpoint: of this dataset, sink, `--stream` and `--format`; a position inside the
//!   dataset (or, with `--loop`, in a lap that agrees with it); counts that
//!   do not run ahead of the position; a pending batch that starts at the
//!   committed offset and ends inside the data; a wall time not in the
//!   future; and the first run's `--start-day` / `--catch-up-to`, which a
//!   later run may not contradict.
//!
//! Every failure is an error (exit 2) with the reason.

use std::path::Path;

use super::checkpoint::Checkpoint;
use super::merge::Sources;
use super::schedule::{Timeline, DAY_MS};
use super::source::timestamp_range;
use super::Options;
use crate::error::{Error, Result};
use crate::kinds::Kind;
use crate::sinks::manifest::{sha256_file, Manifest};
use crate::streams::StreamSpec;

/// An instant as UTC text, for messages.
fn ts(epoch_ms: i64) -> String {
    super::numfmt::ts_string(epoch_ms)
}

/// A wall time this far ahead of now is a broken checkpoint, not clock skew.
const FUTURE_SLACK_MS: i64 = DAY_MS;

/// The streams `opts` selects (`--stream`, else all) of the kind's declaration.
fn selected_streams(dir: &Path, m: &Manifest, opts: &Options) -> Result<(Vec<StreamSpec>, &'static Kind)> {
    let kind = crate::kinds::find(&m.scenario.kind).ok_or_else(|| {
        Error(format!("{}: manifest.json: {}", dir.display(), crate::kinds::unknown(&m.scenario.kind)))
    })?;
    let declared = crate::disorder::delivered_streams((kind.streams)(), &m.disorder);
    if !m.streams.is_empty() && m.streams != declared {
        return Err(Error(format!(
            "{}: manifest.json's streams differ from what a {} dataset streams: the manifest was edited or another simkit version made it (regenerate the dataset)",
            dir.display(),
            kind.name
        )));
    }
    let Some(name) = &opts.stream else { return Ok((declared, kind)) };
    match declared.iter().find(|s| &s.name == name) {
        Some(s) => Ok((vec![s.clone()], kind)),
        None => {
            let names: Vec<&str> = declared.iter().map(|s| s.name.as_str()).collect();
            let hint = crate::scenario::shape::suggestion(name, names.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            Err(Error(format!(
                "--stream {name}: the dataset has no such stream{hint}; its streams: {}",
                names.join(", ")
            )))
        }
    }
}

/// Opens a dataset's streams after checking it against its manifest.
pub fn open_dataset(opts: &Options) -> Result<(Manifest, Sources)> {
    let dir = &opts.dataset;
    let manifest = Manifest::read(dir)?;
    crate::verify::refuse_shard(dir, &manifest)?;
    let (specs, kind) = selected_streams(dir, &manifest, opts)?;
    if manifest.compute_fingerprint() != manifest.fingerprint {
        return Err(Error(format!(
            "{}: manifest.json does not match its fingerprint: the manifest was edited (regenerate the dataset, or check it with `simkit verify`)",
            dir.display()
        )));
    }
    for spec in &specs {
        if !manifest.files.contains_key(&format!("{}.parquet", spec.table)) {
            return Err(Error(format!("{}: manifest.json lists no {}.parquet", dir.display(), spec.table)));
        }
    }
    for (name, info) in &manifest.files {
        check_file(dir, name, info.bytes, &info.sha256)?;
    }
    let sources = Sources::open(dir, &specs, opts.format, &manifest.fingerprint)?;
    for s in &sources.streams {
        let n = manifest.rows(&s.spec.table)?;
        if n != s.file.len() {
            return Err(Error(format!("{}: {} rows, manifest.json says {n}", s.file.path().display(), s.file.len())));
        }
    }
    if sources.is_empty() {
        return Err(Error(format!("{}: the dataset has no records to replay", dir.display())));
    }
    check_window(dir, &manifest, &sources, kind)?;
    let s = &manifest.scenario;
    if let Some(day) = opts.start_day.filter(|&d| d >= s.days) {
        return Err(Error(format!(
            "--start-day {day}: beyond the dataset, which has days 0 ..= {}",
            s.days.saturating_sub(1)
        )));
    }
    Ok((manifest, sources))
}

/// The manifest's window follows from its start, days and time zones, and
/// the data lies in it: each stream from the window's start to at most its
/// allowance past the end, the kind's other timed tables inside it.
fn check_window(dir: &Path, m: &Manifest, sources: &Sources, kind: &Kind) -> Result<()> {
    let s = &m.scenario;
    let window = m.recomputed_window().map_err(|e| Error(format!("{}: manifest.json: {e}", dir.display())))?;
    if window != (s.start_ms, s.end_ms) {
        return Err(Error(format!(
            "{}: manifest.json's window {} .. {} does not follow from start {} + {} days in its time zones",
            dir.display(),
            ts(s.start_ms),
            ts(s.end_ms),
            s.start,
            s.days
        )));
    }
    let outside = |what: String, (lo, hi): (i64, i64)| {
        Err(Error(format!(
            "{}: the data does not fit manifest.json's window of {} day{} from {} ({what} {} .. {}, UTC)",
            dir.display(),
            s.days,
            if s.days == 1 { "" } else { "s" },
            s.start,
            ts(lo),
            ts(hi)
        )))
    };
    for stream in sources.streams.iter().filter(|x| !x.file.is_empty()) {
        let (first, last) = (stream.file.first_ts()?, stream.file.last_ts().unwrap_or(i64::MIN));
        if first < s.start_ms || last >= s.end_ms.saturating_add(stream.spec.late_ms) {
            return outside(format!("{} from", stream.spec.name), (first, last));
        }
    }
    for &(table, column) in kind.windowed {
        let range = timestamp_range(&dir.join(format!("{table}.parquet")), column)?;
        if let Some((lo, hi)) = range.filter(|&(lo, hi)| lo < s.start_ms || hi >= s.end_ms) {
            return outside(format!("{table}.{column} from"), (lo, hi));
        }
    }
    Ok(())
}

fn check_file(dir: &Path, name: &str, bytes: u64, sha256: &str) -> Result<()> {
    let path = dir.join(name);
    let len = std::fs::metadata(&path).map_err(|e| Error(format!("{}: {e}", path.display())))?.len();
    if len != bytes {
        return Err(Error(format!(
            "{}: {len} bytes, but manifest.json says {bytes}: the dataset was modified",
            path.display()
        )));
    }
    if sha256_file(&path)? != sha256 {
        return Err(Error(format!(
            "{}: its sha256 differs from manifest.json's: the file is damaged or was modified (check it with `simkit verify`)",
            path.display()
        )));
    }
    Ok(())
}

/// What a checkpoint is checked against.
pub struct Expected<'a> {
    pub fingerprint: &'a str,
    pub sink: &'a str,
    pub tl: &'a Timeline,
    /// The lowest position a first run can start at (the catch-up epoch).
    pub earliest_ms: i64,
    /// The global offset of a position.
    pub offset_of: &'a dyn Fn(i64) -> Result<u64>,
    pub now_ms: i64,
    pub opts: &'a Options,
}

/// Checks a loaded checkpoint; `shown` names its file in messages.
pub fn check_checkpoint(c: &Checkpoint, x: &Expected, shown: &str) -> Result<()> {
    let bad = |why: String| Err(Error(format!("{shown}: {why}")));
    if c.fingerprint != x.fingerprint {
        let short: String = c.fingerprint.chars().take(12).collect();
        return bad(format!(
            "this checkpoint belongs to another dataset (`{}`, fingerprint {short}); use a new --checkpoint directory",
            c.dataset
        ));
    }
    if c.sink != x.sink {
        return bad(format!(
            "this checkpoint belongs to --sink {}, not {}; use a new --checkpoint directory",
            c.sink, x.sink
        ));
    }
    if c.stream != x.opts.stream || c.record_format != x.opts.format.name() {
        let shown_stream =
            |s: &Option<String>| s.as_deref().map_or("every stream".to_string(), |s| format!("--stream {s}"));
        return bad(format!(
            "this checkpoint belongs to {} as {}, not {} as {}; use a new --checkpoint directory",
            shown_stream(&c.stream),
            c.record_format,
            shown_stream(&x.opts.stream),
            x.opts.format.name()
        ));
    }
    check_position(c, x).or_else(bad)?;
    check_first_run_options(c, x.opts).or_else(bad)
}

fn check_position(c: &Checkpoint, x: &Expected) -> std::result::Result<(), String> {
    let tl = x.tl;
    if c.position_ms < x.earliest_ms.min(tl.start_ms) {
        return Err(format!("its position {} lies before the dataset ({})", ts(c.position_ms), ts(tl.start_ms)));
    }
    if !tl.looping && c.position_ms > tl.end_ms {
        return Err(format!(
            "its position lies in lap {} past the dataset's end: it was made with --loop (add --loop)",
            tl.split(c.position_ms).0
        ));
    }
    if c.lap != tl.split(c.position_ms).0 {
        return Err(format!("its lap {} does not match its position (lap {})", c.lap, tl.split(c.position_ms).0));
    }
    let reached = (x.offset_of)(c.position_ms).map_err(|e| e.0)?;
    if c.events_emitted > reached {
        return Err(format!("it counts {} events emitted, more than its position holds ({reached})", c.events_emitted));
    }
    if c.wall_ms > x.now_ms.saturating_add(FUTURE_SLACK_MS) {
        return Err(format!("its wall time {} is more than a day in the future", ts(c.wall_ms)));
    }
    if let Some(p) = &c.pending {
        let end = (x.offset_of)(p.position_ms).map_err(|e| e.0)?;
        let ok = p.from == c.events_emitted
            && p.to.is_none_or(|to| to >= p.from && to <= end)
            && p.position_ms >= c.position_ms;
        if !ok {
            return Err("its pending batch does not follow the committed state".into());
        }
    }
    Ok(())
}

fn check_first_run_options(c: &Checkpoint, opts: &Options) -> std::result::Result<(), String> {
    let first_run_only = "apply to a first run only: drop it, or use a new --checkpoint directory";
    if let Some(day) = opts.start_day.filter(|&d| d != c.start_day) {
        return Err(format!(
            "it started at --start-day {}; --start-day {day} and --catch-up-to {first_run_only}",
            c.start_day
        ));
    }
    if let Some(t) = opts.catch_up_to.as_ref().filter(|&t| Some(t) != c.catch_up_to.as_ref()) {
        let was = c.catch_up_to.as_deref().unwrap_or("the time of its first run");
        return Err(format!("it caught up to {was}; --catch-up-to {t} and --start-day {first_run_only}"));
    }
    Ok(())
}
