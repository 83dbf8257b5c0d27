//! What `simkit verify` checks of a disordered dataset, reading its files:
//! each delivered table is in arrival order, no record arrives before its
//! event time or later than the stream's largest lag, and the truth
//! recomputed from the clean and delivered tables equals `truth/` and the
//! manifest's counts.

use std::path::Path;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::TimestampMillisecondType;

use super::columns::{times_ms, Part, Rows};
use super::{assemble, compute, joins, DisorderInfo, JoinSpec, StreamTruth};
use crate::error::Result;
use crate::sinks::manifest::Manifest;
use crate::verify::{read_batches, Problems};

/// Checks every disordered stream; says what it found.
pub fn verify(dir: &Path, m: &Manifest, p: &mut Problems) -> Result<String> {
    if m.disorder.is_empty() {
        return Ok(String::new());
    }
    let mut parts = Vec::new();
    for (name, info) in &m.disorder {
        let (clean, delivered) = (table(dir, &info.truth.table)?, table(dir, &info.truth.delivered)?);
        check_arrivals(name, info, &delivered, p);
        let read = |batches: Vec<RecordBatch>, part| Rows::read(&info.truth, batches.into_iter(), part);
        let truth = read(clean, Part::Clean).and_then(|clean| {
            let delivered = read(delivered, Part::Delivered)?;
            let order: Vec<u32> = (0..delivered.len() as u32).collect();
            compute(&info.truth, &clean, (&delivered, &order), &delivered.late, &delivered.duplicate)
        });
        match truth {
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
        let (left, right) = (table(dir, &j.left)?, table(dir, &j.right)?);
        match joins::matches(j, left.into_iter(), right.into_iter()) {
            Ok(n) => matched.push((j.clone(), n)),
            Err(e) => p.check(false, || format!("join {}: {e}", j.name)),
        }
    }
    if parts.len() == m.disorder.len() && matched.len() == kind_joins.len() {
        check_truth(dir, &parts, &matched, p)?;
    }
    let delivered: u64 = m.disorder.values().map(|d| d.counts.delivered).sum();
    Ok(format!(
        "; {} disordered stream(s), {delivered} deliveries in arrival order, truth recomputed",
        m.disorder.len()
    ))
}

fn table(dir: &Path, name: &str) -> Result<Vec<RecordBatch>> {
    read_batches(&dir.join(format!("{name}.parquet")))
}

/// Arrival order and lags of one delivered table.
fn check_arrivals(name: &str, info: &DisorderInfo, delivered: &[RecordBatch], p: &mut Problems) {
    let mut last = i64::MIN;
    let (mut unordered, mut early, mut lagging) = (0u64, 0u64, 0u64);
    for b in delivered {
        let (Some(arrival), Some(time)) = (b.column_by_name("arrival_time"), b.column_by_name(&info.truth.time)) else {
            p.check(false, || {
                format!("{}.parquet: no arrival_time or {} column", info.truth.delivered, info.truth.time)
            });
            return;
        };
        let Some(arrival) = arrival.as_primitive_opt::<TimestampMillisecondType>() else {
            p.check(false, || format!("{}.parquet: arrival_time is not a timestamp", info.truth.delivered));
            return;
        };
        let times = match times_ms(time.as_ref()) {
            Ok(t) => t,
            Err(e) => return p.check(false, || format!("{}.parquet: `{}` {e}", info.truth.delivered, info.truth.time)),
        };
        for (i, &a) in arrival.values().iter().enumerate() {
            unordered += (a < last) as u64;
            early += (a < times[i]) as u64;
            lagging += (a - times[i] > info.max_lag_ms) as u64;
            last = a;
        }
    }
    p.check(unordered == 0, || format!("stream `{name}`: {unordered} deliveries out of arrival order"));
    p.check(early == 0, || format!("stream `{name}`: {early} deliveries arrive before their event time"));
    p.check(lagging == 0, || format!("stream `{name}`: {lagging} deliveries lag more than {} ms", info.max_lag_ms));
}

/// The truth files hold exactly the recomputed truth.
fn check_truth(dir: &Path, parts: &[StreamTruth], joins: &[(JoinSpec, u64)], p: &mut Problems) -> Result<()> {
    let expected = match assemble(parts, joins) {
        Ok(e) => e,
        Err(e) => {
            p.check(false, || format!("truth: {e}"));
            return Ok(());
        }
    };
    for (name, want) in expected {
        let file = format!("{name}.parquet");
        let batches = read_batches(&dir.join(&file))?;
        let found = arrow::compute::concat_batches(&want.schema(), &batches);
        let same = found.is_ok_and(|f| {
            f.num_rows() == want.num_rows()
                && f.schema().fields().iter().map(|x| x.name()).eq(want.schema().fields().iter().map(|x| x.name()))
                && f.columns().iter().zip(want.columns()).all(|(a, b)| a.as_ref() == b.as_ref())
        });
        p.check(same, || format!("{file}: differs from the truth recomputed from the tables"));
    }
    Ok(())
}
