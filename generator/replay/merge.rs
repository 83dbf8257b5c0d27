//! The replayed streams as one sequence: every record of the selected
//! streams in (event time, stream, row) order, stream order being the
//! kind's declaration order. A record's index in that sequence is its
//! in-lap offset. One stream is its own sequence; several are merged once,
//! when the dataset is opened, from their time columns alone, into runs of
//! consecutive rows of one stream.
//!
//! The records before a time `t` are those of every stream before `t`, so
//! the offset of a position is a sum of per-stream searches.

use std::path::Path;

use super::codec::{Codec, WireFormat};
use super::source::TableFile;
use crate::error::{Error, Result};
use crate::streams::StreamSpec;

/// One stream, opened: its declaration, its table, its record codec.
#[derive(Clone)]
pub struct Stream {
    pub spec: StreamSpec,
    pub file: TableFile,
    pub codec: Codec,
}

/// Rows `row..` of stream `stream` from merged index `start` on.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Run {
    start: u64,
    stream: u16,
    row: u64,
}

/// The selected streams and their merge.
#[derive(Clone)]
pub struct Sources {
    pub streams: Vec<Stream>,
    runs: std::sync::Arc<Vec<Run>>,
    len: u64,
}

impl Sources {
    /// Opens `specs`' tables in `dir`; records are encoded as `format`
    /// (the lap length is set once the timeline is known).
    pub fn open(dir: &Path, specs: &[StreamSpec], format: WireFormat, fingerprint: &str) -> Result<Sources> {
        let mut streams = Vec::with_capacity(specs.len());
        for spec in specs {
            let codec = Codec::new(spec, format, fingerprint, 0)?;
            let file = TableFile::open(dir, &spec.table, &spec.time, &codec.columns())?;
            streams.push(Stream { spec: spec.clone(), file, codec });
        }
        let len = streams.iter().map(|s| s.file.len()).sum();
        let runs = if streams.len() == 1 { vec![Run { start: 0, stream: 0, row: 0 }] } else { merge(&streams)? };
        Ok(Sources { streams, runs: runs.into(), len })
    }

    /// The lap length every record's times are shifted by, once per lap.
    pub fn set_lap_ms(&mut self, lap_ms: i64) {
        for s in &mut self.streams {
            s.codec.set_lap_ms(lap_ms);
        }
    }

    /// The streams' names, in stream order.
    pub fn names(&self) -> Vec<String> {
        self.streams.iter().map(|s| s.spec.name.clone()).collect()
    }

    /// Records in one lap.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The stream and in-stream row of merged index `idx` (< len), and the
    /// merged index where that stream's run ends.
    pub fn locate(&self, idx: u64) -> (u16, u64, u64) {
        let r = self.runs.partition_point(|r| r.start <= idx) - 1;
        let run = self.runs[r];
        let end = self.runs.get(r + 1).map_or(self.len, |n| n.start);
        (run.stream, run.row + (idx - run.start), end)
    }

    /// The merged index of the first record at or after `t` (len if none).
    pub fn first_at_or_after(&self, t: i64) -> Result<u64> {
        self.streams.iter().map(|s| s.file.first_at_or_after(t)).sum()
    }

    /// The event time of merged index `idx` (< len).
    pub fn ts_at(&self, idx: u64) -> Result<i64> {
        let (s, row, _) = self.locate(idx);
        self.streams[s as usize].file.ts_at(row)
    }

    /// The latest event time of any record.
    pub fn last_ts(&self) -> Option<i64> {
        self.streams.iter().filter_map(|s| s.file.last_ts()).max()
    }
}

/// Merges several streams by (time, stream, row) into runs; each stream's
/// times must not decrease.
fn merge(streams: &[Stream]) -> Result<Vec<Run>> {
    let times = streams.iter().map(|s| all_times(&s.file)).collect::<Result<Vec<_>>>()?;
    let mut at = vec![0usize; streams.len()];
    let mut runs: Vec<Run> = Vec::new();
    let total: usize = times.iter().map(Vec::len).sum();
    for merged in 0..total as u64 {
        let next = (0..streams.len())
            .filter(|&s| at[s] < times[s].len())
            .min_by_key(|&s| (times[s][at[s]], s))
            .expect("a record is left while merged < total");
        if runs.last().is_none_or(|r| r.stream as usize != next) {
            runs.push(Run { start: merged, stream: next as u16, row: at[next] as u64 });
        }
        at[next] += 1;
    }
    if runs.is_empty() {
        runs.push(Run { start: 0, stream: 0, row: 0 });
    }
    Ok(runs)
}

/// Every event time of a table, checked to be in order.
fn all_times(file: &TableFile) -> Result<Vec<i64>> {
    let mut ts = Vec::with_capacity(file.len() as usize);
    for g in 0..file.row_groups() {
        ts.extend(file.group_times(g)?);
    }
    if let Some(i) = ts.windows(2).position(|w| w[1] < w[0]) {
        return Err(Error(format!(
            "{}: row {} lies before row {i}: the table is not in time order",
            file.path().display(),
            i + 1
        )));
    }
    Ok(ts)
}
