//! Disorder: dirty streams with an answer key, for any kind. A scenario's
//! `[disorder.<stream>]` section ([`spec`]) makes records of a stream
//! arrive late, out of order, twice or never, and some fields null; every
//! record gets an arrival time. The clean table stays as it is; the stream
//! becomes the table `T_delivered` in arrival order ([`delivery`]), which
//! replay emits; `truth/` holds what a correct pipeline computes
//! ([`truth`]). [`Disorder`] runs it in step with the clean tables, a piece
//! of days at a time, in bounded memory; the only file it touches is the
//! anonymous one its truth rows spill to.
//! docs/disorder.md is the user's reference.

pub mod check;
pub mod columns;
pub mod delivery;
pub mod frame;
pub mod joins;
pub mod parts;
pub mod shards;
pub mod spec;
pub mod truth;
pub mod watermarks;
pub mod windows;

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use serde::{Deserialize, Serialize};

pub use delivery::{delivered_name, Deliverer, Delivery, DELIVERED_SPECIAL};
pub use frame::{shard_span, Frame};
pub use joins::{JoinSpec, JoinTally};
use parts::TruthPart;
pub use spec::{DisorderSection, Plan, StreamPlan};
pub use truth::{Counts, TruthSpec};
use watermarks::{DeliveryCounts, WatermarkTruth};
use windows::WindowTruth;

use crate::error::{Error, Result};
use crate::sinks::{Special, Table};
use crate::streams::StreamSpec;

/// Rows the truth and the deliveries read from a table at a time.
const CHUNK: usize = 1 << 16;

/// The manifest's record of one disordered stream (fingerprinted).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DisorderInfo {
    pub truth: TruthSpec,
    /// The most an arrival may lag its event time.
    pub max_lag_ms: i64,
    pub counts: Counts,
}

/// The truth tables; `truth/joins` only for a kind that declares joins.
pub const TRUTH_TABLES: [&str; 4] = ["truth/windows", "truth/watermarks", "truth/streams", "truth/joins"];

/// The streams replay emits: a disordered stream's delivered table in
/// arrival time, allowed past the window by its largest lag.
pub fn delivered_streams(declared: Vec<StreamSpec>, info: &BTreeMap<String, DisorderInfo>) -> Vec<StreamSpec> {
    declared
        .into_iter()
        .map(|mut s| {
            if let Some(d) = info.get(&s.name) {
                s.table = d.truth.delivered.clone();
                s.time = "arrival_time".into();
                s.late_ms = s.late_ms.saturating_add(d.max_lag_ms);
            }
            s
        })
        .collect()
}

/// A table's batches, `CHUNK` rows at a time.
pub fn chunks<'t>(t: &'t Table<'t>) -> impl Iterator<Item = RecordBatch> + 't {
    (0..t.rows).step_by(CHUNK).map(move |lo| (t.batch)(lo..(lo + CHUNK).min(t.rows)))
}

/// The most a draw of `d` delays, in ms.
fn max_ms(d: &Option<spec::Delay>) -> i64 {
    d.as_ref().map_or(0, |d| (d.delay.bounds().1 * 1000.0).round() as i64)
}

/// The most a delivery of `p` lags its event time.
fn max_lag_ms(p: &StreamPlan) -> i64 {
    p.out_of_order_ms.max(max_ms(&p.late)) + max_ms(&p.duplicates)
}

/// The truth of one stream in the making, fed its clean and delivered rows.
pub struct StreamTally {
    pub windows: WindowTruth,
    pub watermarks: WatermarkTruth,
    pub counts: DeliveryCounts,
}

impl StreamTally {
    /// The truth of `spec`'s stream, whose deliveries lag at most
    /// `max_lag_ms`; its tables spill to `spill_dir` (the system's temporary folder when `None`).
    pub fn new(spec: &TruthSpec, max_lag_ms: i64, spill_dir: Option<&Path>) -> Result<StreamTally> {
        Ok(StreamTally {
            windows: WindowTruth::new(spec, spill_dir)?,
            watermarks: WatermarkTruth::new(spec, max_lag_ms, spill_dir)?,
            counts: DeliveryCounts::new(spec, max_lag_ms),
        })
    }

    /// Keeps only what `frame` owns (a shard's part).
    pub fn in_frame(&mut self, frame: Frame) {
        self.windows.in_frame(frame);
        self.watermarks.in_frame(frame);
        self.counts.in_frame(frame);
    }

    /// Adds deliveries, in arrival order.
    pub fn push_delivered(&mut self, b: &RecordBatch) -> std::result::Result<(), String> {
        self.watermarks.push(b)?;
        self.counts.push(b)
    }

    pub fn finish(self, stream: &str) -> std::result::Result<StreamTruth, String> {
        let records = self.windows.records();
        Ok(StreamTruth {
            stream: stream.to_string(),
            windows: self.windows.finish()?,
            watermarks: self.watermarks.finish()?,
            counts: self.counts.finish(records),
        })
    }
}

/// Where the deliveries go: `(stream number, batch)`.
pub type Emit<'e> = &'e mut (dyn FnMut(usize, &RecordBatch) -> Result<()> + Send);

/// What a run's draws rest on: its seed and the start of its first day
/// (UTC ms); and the frame of the part of it being made.
#[derive(Clone, Copy)]
pub struct RunSeed {
    pub seed: u64,
    pub start_ms: i64,
    pub frame: Frame,
}

/// One disordered stream of a run: its plan, deliveries and truth.
struct Live<'p> {
    plan: &'p StreamPlan,
    spec: TruthSpec,
    deliverer: Deliverer<'p>,
    tally: StreamTally,
}

/// The disorder of a run, in step with its clean tables: each piece of
/// them (whole days, in time order) gives every disordered stream its
/// deliveries that can leave, and adds to the truth, so a run of any
/// length is disordered in bounded memory. The model does no I/O: the
/// caller writes what [`Self::push`] and [`Self::finish`] return.
pub struct Disorder<'p> {
    streams: Vec<Live<'p>>,
    joins: Vec<JoinTally>,
    frame: Frame,
}

impl<'p> Disorder<'p> {
    /// The disorder of `plan` over clean tables shaped like `tables`, with
    /// the matches of the kind's `joins` among them; the truth spills to `spill_dir`.
    pub fn new(plan: &'p Plan, tables: &[&Table], joins: &[JoinSpec], run: RunSeed, spill_dir: &Path) -> Result<Self> {
        let mut streams = Vec::new();
        for p in &plan.streams {
            let (name, table) = (&p.stream.name, &p.stream.table);
            let clean = tables
                .iter()
                .find(|t| &t.name == table)
                .ok_or_else(|| Error(format!("disorder.{name}: the run has no table `{table}`")))?;
            let spec = truth_spec(p);
            let mut tally = StreamTally::new(&spec, max_lag_ms(p), Some(spill_dir))?;
            tally.in_frame(run.frame);
            let deliverer = Deliverer::new(p, &clean.schema, run.seed, run.start_ms).in_frame(run.frame);
            streams.push(Live { plan: p, spec, deliverer, tally });
        }
        let tally = |j| JoinTally::new(j).in_frame(run.frame);
        let joins = if streams.is_empty() { Vec::new() } else { joins.iter().map(tally).collect() };
        Ok(Disorder { streams, joins, frame: run.frame })
    }

    /// The delivered tables' names and layouts, in stream order.
    pub fn delivered_tables(&self) -> Vec<(String, SchemaRef, &'static [Special])> {
        self.streams.iter().map(|s| (s.spec.delivered.clone(), s.deliverer.schema(), DELIVERED_SPECIAL)).collect()
    }

    /// Takes the next piece of some clean tables (a table written whole
    /// comes as one piece), a chunk at a time: `emit(k, batch)` gets the
    /// deliveries of stream `k` (in [`Self::delivered_tables`]' order) that can leave.
    pub fn push(&mut self, piece: &[&Table], emit: Emit) -> Result<()> {
        let table = |name: &str| piece.iter().find(|t| t.name == name).copied();
        for (k, s) in self.streams.iter_mut().enumerate() {
            for b in table(&s.spec.table).into_iter().flat_map(chunks) {
                let (windows, d) = rayon::join(|| s.tally.windows.push(&b), || s.deliverer.push(b.clone()));
                let d = windows.and(d).map_err(|e| s.error(&e))?;
                s.tally.push_delivered(&d).map_err(|e| s.error(&e))?;
                emit(k, &self.frame.arriving(&d).map_err(|e| s.error(&e))?)?;
            }
        }
        for j in &mut self.joins {
            let (Some(left), Some(right)) = (table(&j.spec().left), table(&j.spec().right)) else { continue };
            // The piece holds every left row before its right rows' times (whole days).
            let counted = j.push_in_step(&mut chunks(left).map(Ok), chunks(right).map(Ok));
            counted.map_err(|e| Error(format!("join {}: {e}", j.spec().name)))?;
        }
        Ok(())
    }

    /// Emits the deliveries still waiting (as [`Self::push`] does); returns
    /// the truth tables and the manifest's record of each stream.
    pub fn finish(self, emit: Emit) -> Result<(Vec<Table<'static>>, BTreeMap<String, DisorderInfo>)> {
        let mut info = BTreeMap::new();
        if self.streams.is_empty() {
            return Ok((Vec::new(), info));
        }
        let mut parts = Vec::new();
        for (k, mut s) in self.streams.into_iter().enumerate() {
            let d = s.deliverer.finish().map_err(|e| s.error(&e))?;
            s.tally.push_delivered(&d).map_err(|e| s.error(&e))?;
            emit(k, &self.frame.arriving(&d).map_err(|e| s.error(&e))?)?;
            let mut part =
                s.tally.finish(&s.spec.stream).map_err(|e| Error(format!("disorder.{}: {e}", s.spec.stream)))?;
            // The rows of the frame's times (in a whole run, what the deliveries imply).
            (part.counts.records, part.counts.dropped) = s.deliverer.own_rows();
            let max_lag_ms = max_lag_ms(s.plan);
            info.insert(s.spec.stream.clone(), DisorderInfo { truth: s.spec, max_lag_ms, counts: part.counts.clone() });
            parts.push(part);
        }
        let matched: Vec<(JoinSpec, u64)> = self.joins.iter().map(|j| (j.spec().clone(), j.matches())).collect();
        Ok((assemble(parts, &matched).map_err(Error)?, info))
    }
}

impl Live<'_> {
    fn error(&self, e: &str) -> Error {
        Error(format!("disorder.{}: table `{}`: {e}", self.spec.stream, self.spec.table))
    }
}

/// What the truth of one stream holds.
pub struct StreamTruth {
    pub stream: String,
    pub windows: TruthPart,
    pub watermarks: TruthPart,
    pub counts: Counts,
}

/// The truth tables of all streams (streams in name order) and joins.
pub fn assemble(
    parts: Vec<StreamTruth>,
    joins: &[(JoinSpec, u64)],
) -> std::result::Result<Vec<Table<'static>>, String> {
    let mut parts = parts;
    parts.sort_by(|a, b| a.stream.cmp(&b.stream));
    let counts: Vec<(String, Counts)> = parts.iter().map(|p| (p.stream.clone(), p.counts.clone())).collect();
    let (windows, watermarks): (Vec<TruthPart>, Vec<TruthPart>) =
        parts.into_iter().map(|p| (p.windows, p.watermarks)).unzip();
    let mut out = vec![
        parts::truth_table(TRUTH_TABLES[0], windows)?,
        parts::truth_table(TRUTH_TABLES[1], watermarks)?,
        Table::whole(TRUTH_TABLES[2], truth::streams_batch(&counts)),
    ];
    if !joins.is_empty() {
        out.push(Table::whole(TRUTH_TABLES[3], joins::joins_batch(joins)));
    }
    Ok(out)
}

fn truth_spec(p: &StreamPlan) -> TruthSpec {
    TruthSpec {
        stream: p.stream.name.clone(),
        table: p.stream.table.clone(),
        time: p.stream.time.clone(),
        delivered: delivered_name(&p.stream.table),
        id: p.id.clone(),
        keys: p.keys.clone(),
        sums: p.sums.clone(),
        distinct: p.distinct.clone(),
        window_s: p.window_s.clone(),
        watermark_s: p.watermark_s.clone(),
    }
}
