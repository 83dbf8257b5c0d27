//! What `simkit verify` checks of a disordered dataset, reading each file
//! once, a batch at a time:
//! each delivered table is in arrival order, no record arrives before its
//! event time or later than the stream's largest lag, and the truth
//! recomputed from the clean and delivered tables equals `truth/` and the
//! manifest's counts.

use std::path::Path;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::TimestampMillisecondType;

use super::columns::{batch_times, column, Res};
use super::{assemble, DisorderInfo, JoinSpec, JoinTally, StreamTally, StreamTruth};
use crate::error::Result;
use crate::sinks::manifest::Manifest;
use crate::sinks::Table;
use crate::verify::{batch_reader, Problems};

/// Checks every disordered stream in one pass over its tables; says what it found.
pub fn verify(dir: &Path, m: &Manifest, p: &mut Problems) -> Result<String> {
    if m.disorder.is_empty() {
        return Ok(String::new());
    }
    let mut parts = Vec::new();
    for (name, info) in &m.disorder {
        let mut tally = StreamTally::new(&info.truth, info.max_lag_ms, None)?;
        let mut arrivals = Arrivals::default();
        let clean = for_each_batch(dir, &info.truth.table, |b| tally.windows.push(b))?;
        let delivered = clean.and(for_each_batch(dir, &info.truth.delivered, |b| {
            arrivals.check(info, b)?;
            tally.push_delivered(b)
        })?);
        arrivals.report(name, info, p);
        match delivered.and_then(|_| tally.finish(name)) {
            Ok(t) => {
                let same = t.counts == info.counts;
                p.check(same, || format!("stream `{name}`: the delivered table's counts differ from the manifest's"));
                parts.push(t);
            }
            Err(e) => p.check(false, || format!("stream `{name}`: {e}")),
        }
    }
    let kind_joins = crate::kinds::find(&m.scenario.kind).map_or(Vec::new(), |k| (k.joins)(m));
    let mut matched = Vec::new();
    for j in &kind_joins {
        match join_matches(dir, j)? {
            Ok(n) => matched.push((j.clone(), n)),
            Err(e) => p.check(false, || format!("join {}: {e}", j.name)),
        }
    }
    if parts.len() == m.disorder.len() && matched.len() == kind_joins.len() {
        check_truth(dir, parts, &matched, p)?;
    }
    let delivered: u64 = m.disorder.values().map(|d| d.counts.delivered).sum();
    Ok(format!(
        "; {} disordered stream(s), {delivered} deliveries in arrival order, truth recomputed",
        m.disorder.len()
    ))
}

fn table_path(dir: &Path, name: &str) -> std::path::PathBuf {
    dir.join(format!("{name}.parquet"))
}

/// Calls `f` on each batch of the table `name` in order, up to its first
/// complaint; an unreadable file is an error.
fn for_each_batch(dir: &Path, name: &str, mut f: impl FnMut(&RecordBatch) -> Res<()>) -> Result<Res<()>> {
    for b in batch_reader(&table_path(dir, name))? {
        if let Err(e) = f(&b?) {
            return Ok(Err(format!("{name}.parquet: {e}")));
        }
    }
    Ok(Ok(()))
}

/// The matches of `j`, reading its two tables once, in step by time.
fn join_matches(dir: &Path, j: &JoinSpec) -> Result<Res<u64>> {
    let mut tally = JoinTally::new(j);
    let batches =
        |name: &str| -> Result<_> { Ok(batch_reader(&table_path(dir, name))?.map(|b| b.map_err(|e| e.to_string()))) };
    let counted = tally.push_in_step(&mut batches(&j.left)?, batches(&j.right)?);
    Ok(counted.map(|_| tally.matches()))
}

/// Arrival order and lags of one delivered table, batch by batch.
struct Arrivals {
    last: i64,
    unordered: u64,
    early: u64,
    lagging: u64,
}

impl Default for Arrivals {
    fn default() -> Self {
        Arrivals { last: i64::MIN, unordered: 0, early: 0, lagging: 0 }
    }
}

impl Arrivals {
    fn check(&mut self, info: &DisorderInfo, b: &RecordBatch) -> Res<()> {
        let arrival = column(b, "arrival_time")?
            .as_primitive_opt::<TimestampMillisecondType>()
            .ok_or("arrival_time is not a timestamp (ms)")?;
        let times = batch_times(b, &info.truth.time)?;
        for (&a, &t) in arrival.values().iter().zip(&times) {
            self.unordered += (a < self.last) as u64;
            self.early += (a < t) as u64;
            self.lagging += (a.saturating_sub(t) > info.max_lag_ms) as u64;
            self.last = a;
        }
        Ok(())
    }

    fn report(&self, name: &str, info: &DisorderInfo, p: &mut Problems) {
        let (unordered, early, lagging) = (self.unordered, self.early, self.lagging);
        p.check(unordered == 0, || format!("stream `{name}`: {unordered} deliveries out of arrival order"));
        p.check(early == 0, || format!("stream `{name}`: {early} deliveries arrive before their event time"));
        let max = info.max_lag_ms;
        p.check(lagging == 0, || format!("stream `{name}`: {lagging} deliveries lag more than {max} ms"));
    }
}

/// The truth files hold exactly the recomputed truth.
fn check_truth(dir: &Path, parts: Vec<StreamTruth>, joins: &[(JoinSpec, u64)], p: &mut Problems) -> Result<()> {
    let expected = match assemble(parts, joins) {
        Ok(e) => e,
        Err(e) => {
            p.check(false, || format!("truth: {e}"));
            return Ok(());
        }
    };
    for want in expected {
        let file = format!("{}.parquet", want.name);
        let same = same_rows(&table_path(dir, &want.name), &want)?;
        p.check(same, || format!("{file}: differs from the truth recomputed from the tables"));
    }
    Ok(())
}

/// Whether the file holds exactly the rows of `want`, read a batch at a time.
fn same_rows(path: &Path, want: &Table) -> Result<bool> {
    let names = |s: &arrow::datatypes::Schema| s.fields().iter().map(|f| f.name().clone()).collect::<Vec<_>>();
    let mut at = 0;
    for b in batch_reader(path)? {
        let b = b?;
        let n = b.num_rows();
        if at + n > want.rows || names(&b.schema()) != names(&want.schema) {
            return Ok(false);
        }
        let expected = (want.batch)(at..at + n);
        if !b.columns().iter().zip(expected.columns()).all(|(a, e)| a.as_ref() == e.as_ref()) {
            return Ok(false);
        }
        at += n;
    }
    Ok(at == want.rows)
}
