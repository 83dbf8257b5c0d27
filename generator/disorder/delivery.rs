//! When and how each record of a clean table reaches the stream: the draws
//! (drop, out-of-order lag, late delay, duplicate, nulls), their order of
//! arrival, and the delivered table `T_delivered` built from the clean one.
//!
//! Draws run row by row in table order from one random stream per (stream,
//! UTC day of the event time), so a stream's deliveries depend on nothing
//! but the seed, the stream's position and its clean rows.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray, UInt32Array};
use arrow::compute::{nullif, take_record_batch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use rand::Rng;

use super::columns::for_display;
use super::spec::StreamPlan;
use crate::events::utc_ms;
use crate::seed::{stream, Purpose};
use crate::sinks::dims::utc_times;
use crate::sinks::{Special, Table};

const DAY_MS: i64 = 86_400_000;

/// One delivered copy of a clean row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub row: u32,
    pub arrival_ms: i64,
    /// Arrived with a late delay (an original, never a duplicate).
    pub late: bool,
    pub duplicate: bool,
    /// Bit `i` set: the plan's `nulls[i]` column is null in this copy.
    pub nulls: u32,
}

/// Milliseconds of a delay drawn in seconds.
fn delay_ms<R: Rng>(d: &super::spec::Delay, rng: &mut R) -> Option<i64> {
    (rng.random::<f64>() < d.share).then(|| (d.delay.sample(rng) * 1000.0).round() as i64)
}

fn null_bits<R: Rng>(plan: &StreamPlan, rng: &mut R) -> u32 {
    let mut bits = 0;
    for (i, (_, share)) in plan.nulls.iter().enumerate() {
        if rng.random::<f64>() < *share {
            bits |= 1 << i;
        }
    }
    bits
}

/// Every delivery of a table whose rows have event times `times` (ms, in
/// order), sorted by arrival, then row, then original before duplicate.
pub fn deliver(plan: &StreamPlan, seed: u64, start_ms: i64, times: &[i64]) -> Vec<Delivery> {
    let mut out = Vec::with_capacity(times.len());
    let mut rng = None;
    let mut day = u64::MAX;
    for (row, &t) in times.iter().enumerate() {
        let d = (t - start_ms).div_euclid(DAY_MS).max(0) as u64;
        if d != day || rng.is_none() {
            day = d;
            rng = Some(stream(seed, plan.index as u64, day, Purpose::Disorder));
        }
        let rng = rng.as_mut().expect("set above");
        if rng.random::<f64>() < plan.drop_share {
            continue;
        }
        // A late record arrives after its delay; any other within the out-of-order lag.
        let late = plan.late.as_ref().and_then(|l| delay_ms(l, rng));
        let lag = match late {
            Some(delay) => delay,
            None if plan.out_of_order_ms > 0 => rng.random_range(0..=plan.out_of_order_ms),
            None => 0,
        };
        let arrival_ms = t + lag;
        let row = row as u32;
        out.push(Delivery { row, arrival_ms, late: late.is_some(), duplicate: false, nulls: null_bits(plan, rng) });
        if let Some(again) = plan.duplicates.as_ref().and_then(|d| delay_ms(d, rng)) {
            let nulls = null_bits(plan, rng);
            out.push(Delivery { row, arrival_ms: arrival_ms + again, late: false, duplicate: true, nulls });
        }
    }
    out.sort_by_key(|d| (d.arrival_ms, d.row, d.duplicate));
    out
}

/// The delivered table's name for the clean table `table`.
pub fn delivered_name(table: &str) -> String {
    format!("{table}_delivered")
}

/// The clean schema with the nulled columns nullable, then `arrival_time`,
/// `late` and `duplicate_of`.
fn delivered_schema(clean: &Schema, plan: &StreamPlan) -> SchemaRef {
    let mut fields: Vec<Field> = clean
        .fields()
        .iter()
        .map(|f| {
            let nulled = plan.nulls.iter().any(|(c, _)| c == f.name());
            f.as_ref().clone().with_nullable(f.is_nullable() || nulled)
        })
        .collect();
    fields.push(Field::new("arrival_time", utc_ms(), false));
    fields.push(Field::new("late", DataType::Boolean, false));
    fields.push(Field::new("duplicate_of", DataType::Utf8, true));
    Arc::new(Schema::new(fields))
}

/// The ids of a batch's rows: the id columns as Arrow displays them
/// (timestamps as UTC without a zone), joined by `/`.
fn id_texts(b: &RecordBatch, id: &[String], rows: impl Iterator<Item = Option<usize>>) -> StringArray {
    let shown: Vec<ArrayRef> = id
        .iter()
        .map(|c| {
            let col = b.column_by_name(c).expect("id columns are validated against the record");
            for_display(col.as_ref()).expect("a column of a simkit table displays")
        })
        .collect();
    let options = FormatOptions::default();
    let formatters: Vec<ArrayFormatter> =
        shown.iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("displayable")).collect();
    rows.map(|i| {
        let i = i?;
        let parts: Vec<String> = formatters.iter().map(|f| f.value(i).to_string()).collect();
        Some(parts.join("/"))
    })
    .collect()
}

const DELIVERED_SPECIAL: &[Special] = &[Special::SortKey("arrival_time")];

/// `T_delivered`: the deliveries' rows taken from the clean table.
pub fn delivered_table<'a>(clean: &'a Table<'a>, plan: &'a StreamPlan, order: &'a [Delivery]) -> Table<'a> {
    let schema = delivered_schema(&clean.schema, plan);
    let out_schema = schema.clone();
    Table {
        name: delivered_name(&clean.name),
        schema,
        rows: order.len(),
        special: DELIVERED_SPECIAL,
        batch: Box::new(move |r| {
            let copies = &order[r];
            let lo = copies.iter().map(|d| d.row).min().unwrap_or(0);
            let hi = copies.iter().map(|d| d.row + 1).max().unwrap_or(0);
            let base = (clean.batch)(lo as usize..hi as usize);
            let idx = UInt32Array::from_iter_values(copies.iter().map(|d| d.row - lo));
            let taken = take_record_batch(&base, &idx).expect("delivered rows lie in the clean range");
            let mut columns: Vec<ArrayRef> = taken
                .schema()
                .fields()
                .iter()
                .zip(taken.columns())
                .map(|(f, col)| match plan.nulls.iter().position(|(c, _)| c == f.name()) {
                    Some(bit) => {
                        let mask = BooleanArray::from_iter(copies.iter().map(|d| Some(d.nulls >> bit & 1 == 1)));
                        nullif(col.as_ref(), &mask).expect("mask matches the column")
                    }
                    None => col.clone(),
                })
                .collect();
            columns.push(utc_times(copies.iter().map(|d| d.arrival_ms)));
            columns.push(Arc::new(BooleanArray::from_iter(copies.iter().map(|d| Some(d.late)))));
            let dup_of = copies.iter().enumerate().map(|(i, d)| d.duplicate.then_some(i));
            columns.push(Arc::new(id_texts(&taken, &plan.id, dup_of)));
            RecordBatch::try_new(out_schema.clone(), columns).expect("delivered columns match their schema")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disorder::spec::Delay;
    use crate::model::dist::DistSpec;

    fn plan(late: Option<f64>, dup: Option<f64>, drop_share: f64, out_of_order_ms: i64) -> StreamPlan {
        let delay =
            |share: f64, min: f64, max: f64| Delay { share, delay: DistSpec::Uniform { min, max }.compile().unwrap() };
        StreamPlan {
            index: 0,
            stream: crate::kinds::clickstream::tables::streams().remove(0),
            late: late.map(|s| delay(s, 300.0, 1800.0)),
            duplicates: dup.map(|s| delay(s, 1.0, 60.0)),
            out_of_order_ms,
            drop_share,
            nulls: Vec::new(),
            id: vec!["event_id".into()],
            window_s: vec![60],
            watermark_s: vec![0],
            keys: Vec::new(),
            sums: Vec::new(),
            distinct: "user_id".into(),
        }
    }

    fn times() -> Vec<i64> {
        (0..20_000).map(|i| i * 1_000).collect()
    }

    #[test]
    fn without_disorder_every_record_arrives_once_at_its_event_time() {
        let d = deliver(&plan(None, None, 0.0, 0), 1, 0, &times());
        assert!(d.iter().enumerate().all(|(i, d)| d.row as usize == i && d.arrival_ms == i as i64 * 1000));
        assert!(d.iter().all(|d| !d.late && !d.duplicate && d.nulls == 0));
    }

    #[test]
    fn deliveries_follow_the_plan_and_its_seed() {
        let p = plan(Some(0.1), Some(0.05), 0.02, 5_000);
        let t = times();
        let d = deliver(&p, 7, 0, &t);
        assert_eq!(d, deliver(&p, 7, 0, &t), "same seed, same deliveries");
        assert_ne!(d, deliver(&p, 8, 0, &t), "another seed, other deliveries");
        assert!(d.windows(2).all(|w| (w[0].arrival_ms, w[0].row) <= (w[1].arrival_ms, w[1].row)));
        let originals: Vec<&Delivery> = d.iter().filter(|x| !x.duplicate).collect();
        let share = |n: usize| n as f64 / t.len() as f64;
        assert!((share(t.len() - originals.len()) - 0.02).abs() < 0.006, "drops");
        assert!((share(originals.iter().filter(|x| x.late).count()) - 0.1).abs() < 0.01, "late");
        assert!((share(d.len() - originals.len()) - 0.05 * 0.98).abs() < 0.008, "duplicates");
        for x in &originals {
            let lag = x.arrival_ms - t[x.row as usize];
            let range = if x.late { 300_000..=1_800_000 } else { 0..=5_000 };
            assert!(range.contains(&lag), "lag {lag}, late {}", x.late);
        }
    }
}
