//! Disorder: dirty streams with an answer key, for any kind. A scenario's
//! `[disorder.<stream>]` section ([`spec`]) makes records of a stream
//! arrive late, out of order, twice or never, and some fields null; every
//! record gets an arrival time. The clean table stays as it is; the stream
//! becomes the table `T_delivered` in arrival order ([`delivery`]), which
//! replay emits; `truth/` holds what a correct pipeline computes
//! ([`truth`]). The model does no I/O: [`Disorder::plan`] draws the
//! deliveries, [`Disorder::tables`] describes the tables to write.
//! docs/disorder.md is the user's reference.

pub mod check;
pub mod columns;
pub mod delivery;
pub mod joins;
pub mod spec;
pub mod truth;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use delivery::{delivered_name, Delivery};
pub use joins::JoinSpec;
pub use spec::{DisorderSection, Plan, StreamPlan};
pub use truth::{Counts, TruthSpec};

use arrow::array::RecordBatch;

use crate::error::{Error, Result};
use crate::sinks::Table;
use crate::streams::StreamSpec;
use columns::{Part, Rows};

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

/// One disordered stream of a run: its plan, its clean table (index), the
/// truth's columns of that table and the deliveries.
struct Stream<'p> {
    plan: &'p StreamPlan,
    table: usize,
    rows: Rows,
    deliveries: Vec<Delivery>,
}

/// The deliveries of every disordered stream of a run.
pub struct Disorder<'p> {
    streams: Vec<Stream<'p>>,
}

impl<'p> Disorder<'p> {
    /// Reads each disordered stream's clean table once and draws its deliveries.
    pub fn plan(plan: &'p Plan, tables: &[Table], seed: u64, start_ms: i64) -> Result<Disorder<'p>> {
        let mut streams = Vec::new();
        for s in &plan.streams {
            let name = &s.stream.name;
            let table = tables
                .iter()
                .position(|t| t.name == s.stream.table)
                .ok_or_else(|| Error(format!("disorder.{name}: the run has no table `{}`", s.stream.table)))?;
            let rows = Rows::read(&truth_spec(s), chunks(&tables[table]), Part::Clean)
                .map_err(|e| Error(format!("disorder.{name}: table `{}`: {e}", s.stream.table)))?;
            let deliveries = delivery::deliver(s, seed, start_ms, &rows.times);
            streams.push(Stream { plan: s, table, rows, deliveries });
        }
        Ok(Disorder { streams })
    }

    /// The delivered tables, borrowing the clean ones.
    pub fn delivered<'a>(&'a self, tables: &'a [Table<'a>]) -> Vec<Table<'a>> {
        self.streams.iter().map(|s| delivery::delivered_table(&tables[s.table], s.plan, &s.deliveries)).collect()
    }

    /// The truth tables and the manifest's record of each stream, with the
    /// matches of the kind's `joins` in the clean `tables`.
    pub fn truth(
        &self,
        tables: &[Table],
        joins: &[JoinSpec],
    ) -> Result<(Vec<Table<'static>>, BTreeMap<String, DisorderInfo>)> {
        let mut info = BTreeMap::new();
        if self.streams.is_empty() {
            return Ok((Vec::new(), info));
        }
        let mut parts = Vec::new();
        for s in &self.streams {
            let spec = truth_spec(s.plan);
            let order: Vec<u32> = s.deliveries.iter().map(|d| d.row).collect();
            let late: Vec<bool> = s.deliveries.iter().map(|d| d.late).collect();
            let dup: Vec<bool> = s.deliveries.iter().map(|d| d.duplicate).collect();
            let part = compute(&spec, &s.rows, (&s.rows, &order), &late, &dup)
                .map_err(|e| Error(format!("disorder.{}: {e}", spec.stream)))?;
            let p = s.plan;
            let max_lag_ms = p.out_of_order_ms.max(max_ms(&p.late)) + max_ms(&p.duplicates);
            info.insert(spec.stream.clone(), DisorderInfo { truth: spec, max_lag_ms, counts: part.counts.clone() });
            parts.push(part);
        }
        let table = |name: &str| {
            tables.iter().find(|t| t.name == name).ok_or_else(|| Error(format!("the run has no table `{name}`")))
        };
        let mut matched = Vec::new();
        for j in joins {
            let n = joins::matches(j, chunks(table(&j.left)?), chunks(table(&j.right)?))
                .map_err(|e| Error(format!("join {}: {e}", j.name)))?;
            matched.push((j.clone(), n));
        }
        let tables = assemble(&parts, &matched).map_err(Error)?;
        Ok((tables.into_iter().map(|(name, b)| Table::whole(name, b)).collect(), info))
    }
}

/// What the truth of one stream holds.
pub struct StreamTruth {
    pub stream: String,
    pub windows: RecordBatch,
    pub watermarks: RecordBatch,
    pub counts: Counts,
}

/// One stream's truth from its clean rows and its deliveries: the rows
/// `order` of `delivered` (the clean rows themselves, or a delivered table's
/// in its order), flagged `late` and `duplicate`.
pub fn compute(
    spec: &TruthSpec,
    clean: &Rows,
    (delivered, order): (&Rows, &[u32]),
    late: &[bool],
    duplicate: &[bool],
) -> std::result::Result<StreamTruth, String> {
    Ok(StreamTruth {
        stream: spec.stream.clone(),
        windows: truth::windows(spec, clean)?,
        watermarks: truth::watermarks(spec, delivered, order)?,
        counts: truth::counts(clean.len() as u64, delivered, order, late, duplicate),
    })
}

/// The truth tables of all streams (streams in name order) and joins, named.
pub fn assemble(
    parts: &[StreamTruth],
    joins: &[(JoinSpec, u64)],
) -> std::result::Result<Vec<(&'static str, RecordBatch)>, String> {
    let mut parts: Vec<&StreamTruth> = parts.iter().collect();
    parts.sort_by(|a, b| a.stream.cmp(&b.stream));
    let windows: Vec<_> = parts.iter().map(|p| p.windows.clone()).collect();
    let watermarks: Vec<_> = parts.iter().map(|p| p.watermarks.clone()).collect();
    let counts: Vec<(String, Counts)> = parts.iter().map(|p| (p.stream.clone(), p.counts.clone())).collect();
    let mut out = vec![truth::union(&windows)?, truth::union(&watermarks)?, truth::streams_batch(&counts)];
    if !joins.is_empty() {
        out.push(joins::joins_batch(joins));
    }
    Ok(TRUTH_TABLES.into_iter().zip(out).collect())
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
