//! The answer key of a disordered stream, computed from tables alone (the
//! same code serves `generate`, from the tables it builds, and `verify`,
//! from the Parquet files), so anyone can recompute it:
//!
//! - windows: per tumbling window of each size (aligned to the epoch, UTC)
//!   over the clean table, for all records (`key_field` null) and per value
//!   of each key column: `count`, `distinct_ids` (distinct values of the
//!   `distinct` column) and the sum of each summed column (a null adds
//!   nothing; floats are added in table order);
//! - watermarks: walking the deliveries in arrival order (ties in table
//!   order), the watermark at a delivery is the largest event time of the
//!   deliveries before it minus the delay (none before the first); the
//!   delivery is dropped when its window's end is at or before the
//!   watermark, else counted (`count_seen`), duplicates like any record;
//! - counts: records, deliveries, late, duplicates, dropped and distinct
//!   events (distinct ids among the deliveries).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::columns::{Res, Rows, Sum};
use crate::events::utc_ms;
use crate::sinks::dims::utc_times;

/// What the truth of one stream is computed over; kept in the manifest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TruthSpec {
    /// The stream.
    pub stream: String,
    /// The clean table and its event-time column.
    pub table: String,
    pub time: String,
    pub delivered: String,
    /// The columns that identify a record.
    pub id: Vec<String>,
    pub keys: Vec<String>,
    pub sums: Vec<String>,
    pub distinct: String,
    pub window_s: Vec<u32>,
    pub watermark_s: Vec<u32>,
}

/// A stream's delivery counts.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub records: u64,
    pub delivered: u64,
    pub late: u64,
    pub duplicates: u64,
    pub dropped: u64,
    pub distinct_events: u64,
}

/// The grouping columns of one stream's truth rows: (delay,) size,
/// window, key group (`None`: all records) and key slot (see [`slot`]).
#[derive(Default)]
struct Head {
    delay_s: Vec<i64>,
    size_s: Vec<i64>,
    start: Vec<i64>,
    group: Vec<Option<usize>>,
    slot: Vec<u32>,
}

impl Head {
    fn push(&mut self, delay_s: u32, size_s: u32, start: i64, group: Option<usize>, slot: u32) {
        self.delay_s.push(delay_s as i64);
        self.size_s.push(size_s as i64);
        self.start.push(start);
        self.group.push(group);
        self.slot.push(slot);
    }

    fn append(&mut self, other: Head) {
        self.delay_s.extend(other.delay_s);
        self.size_s.extend(other.size_s);
        self.start.extend(other.start);
        self.group.extend(other.group);
        self.slot.extend(other.slot);
    }

    /// The columns (`delay_s` after `stream` when `with_delay`), keys named by `names` (by rank).
    fn columns(self, spec: &TruthSpec, names: &[Vec<&str>], with_delay: bool) -> Vec<(Field, ArrayRef)> {
        let n = self.start.len();
        let stream = StringArray::from_iter_values(std::iter::repeat_n(spec.stream.as_str(), n));
        let mut out = vec![(Field::new("stream", DataType::Utf8, false), Arc::new(stream) as ArrayRef)];
        if with_delay {
            out.push((Field::new("delay_s", DataType::Int64, false), ints(self.delay_s)));
        }
        out.push((Field::new("size_s", DataType::Int64, false), ints(self.size_s)));
        out.push((Field::new("window_start", utc_ms(), false), utc_times(self.start.into_iter())));
        let field = self.group.iter().map(|g| g.map(|k| spec.keys[k].as_str()));
        out.push((Field::new("key_field", DataType::Utf8, true), Arc::new(field.collect::<StringArray>())));
        let key =
            self.group.iter().zip(&self.slot).map(|(g, &s)| g.filter(|_| s > 0).map(|k| names[k][s as usize - 1]));
        out.push((Field::new("key", DataType::Utf8, true), Arc::new(key.collect::<StringArray>())));
        out
    }
}

fn batch(columns: Vec<(Field, ArrayRef)>) -> RecordBatch {
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("truth columns match their fields")
}

fn ints(v: Vec<i64>) -> ArrayRef {
    Arc::new(Int64Array::from(v))
}

/// The key groups: all records (`None`), then each key column.
fn groups(r: &Rows) -> Vec<Option<usize>> {
    std::iter::once(None).chain((0..r.keys.len()).map(Some)).collect()
}

/// A row's slot in `group`: 0 for all records or a null key, else 1 + the key's rank by name.
fn slot(r: &Rows, ranks: &[Vec<u32>], group: Option<usize>, row: usize) -> u32 {
    group.and_then(|k| r.keys[k].ids[row].map(|id| ranks[k][id as usize] + 1)).unwrap_or(0)
}

/// Ranks of each key column's ids and its names in rank order.
fn key_order(r: &Rows) -> (Vec<Vec<u32>>, Vec<Vec<&str>>) {
    let ranks: Vec<Vec<u32>> = r.keys.iter().map(|k| k.ranks()).collect();
    let names = r
        .keys
        .iter()
        .zip(&ranks)
        .map(|(k, rank)| {
            let mut by_rank = vec![""; rank.len()];
            for (id, &rk) in rank.iter().enumerate() {
                by_rank[rk as usize] = k.names[id].as_str();
            }
            by_rank
        })
        .collect();
    (ranks, names)
}

/// One window size's rows of the window truth.
struct WindowPart {
    head: Head,
    count: Vec<i64>,
    distinct: Vec<i64>,
    exact: Vec<Vec<i128>>,
    floats: Vec<Vec<f64>>,
}

fn window_part(r: &Rows, ranks: &[Vec<u32>], by_time: &[u32], size: u32) -> WindowPart {
    let size_ms = size as i64 * 1000;
    let mut p = WindowPart {
        head: Head::default(),
        count: Vec::new(),
        distinct: Vec::new(),
        exact: r.sums.iter().map(|_| Vec::new()).collect(),
        floats: r.sums.iter().map(|_| Vec::new()).collect(),
    };
    let window = |i: u32| r.times[i as usize].div_euclid(size_ms) * size_ms;
    for group in groups(r) {
        let mut cells: Vec<(u32, u32, u32)> = Vec::new();
        let mut lo = 0;
        while lo < by_time.len() {
            let start = window(by_time[lo]);
            let hi = lo + by_time[lo..].partition_point(|&i| window(i) == start);
            cells.clear();
            cells.extend(by_time[lo..hi].iter().map(|&i| {
                let d = r.distinct.ids[i as usize].map_or(u32::MAX, |d| d);
                (slot(r, ranks, group, i as usize), d, i)
            }));
            cells.sort_unstable();
            for run in cells.chunk_by(|a, b| a.0 == b.0) {
                p.head.push(0, size, start, group, run[0].0);
                p.count.push(run.len() as i64);
                let distinct = run.chunk_by(|a, b| a.1 == b.1).filter(|d| d[0].1 != u32::MAX).count();
                p.distinct.push(distinct as i64);
                // Floats in table order, so the sum is reproducible anywhere.
                let mut rows: Vec<usize> = run.iter().map(|c| c.2 as usize).collect();
                rows.sort_unstable();
                for (s, sum) in r.sums.iter().enumerate() {
                    match sum {
                        Sum::Int(v) | Sum::Dec(v, _) => p.exact[s].push(rows.iter().map(|&i| v[i]).sum()),
                        Sum::Float(v) => p.floats[s].push(rows.iter().fold(0.0, |acc, &i| acc + v[i])),
                    }
                }
            }
            lo = hi;
        }
    }
    p
}

/// Rows of `r` in event-time order (table order among equal times).
fn by_time(r: &Rows) -> Vec<u32> {
    let mut order: Vec<u32> = (0..r.len() as u32).collect();
    order.sort_by_key(|&i| r.times[i as usize]);
    order
}

/// One stream's window truth (stream, size_s, window_start, key_field, key,
/// count, distinct_ids, `sum_<column>`...) from its clean rows.
pub fn windows(spec: &TruthSpec, r: &Rows) -> Res<RecordBatch> {
    let order = by_time(r);
    let (ranks, names) = key_order(r);
    let parts: Vec<WindowPart> = spec.window_s.par_iter().map(|&size| window_part(r, &ranks, &order, size)).collect();
    let mut head = Head::default();
    let (mut count, mut distinct) = (Vec::new(), Vec::new());
    let mut exact: Vec<Vec<i128>> = r.sums.iter().map(|_| Vec::new()).collect();
    let mut floats: Vec<Vec<f64>> = r.sums.iter().map(|_| Vec::new()).collect();
    for p in parts {
        head.append(p.head);
        count.extend(p.count);
        distinct.extend(p.distinct);
        exact.iter_mut().zip(p.exact).for_each(|(a, b)| a.extend(b));
        floats.iter_mut().zip(p.floats).for_each(|(a, b)| a.extend(b));
    }
    let mut columns = head.columns(spec, &names, false);
    columns.push((Field::new("count", DataType::Int64, false), ints(count)));
    columns.push((Field::new("distinct_ids", DataType::Int64, false), ints(distinct)));
    for (s, sum) in r.sums.iter().enumerate() {
        let array: ArrayRef = match sum {
            Sum::Int(_) => ints(exact[s].iter().map(|&v| v.clamp(i64::MIN as i128, i64::MAX as i128) as i64).collect()),
            Sum::Dec(_, scale) => Arc::new(
                Decimal128Array::from(std::mem::take(&mut exact[s]))
                    .with_precision_and_scale(38, *scale)
                    .map_err(|e| e.to_string())?,
            ),
            Sum::Float(_) => Arc::new(Float64Array::from(std::mem::take(&mut floats[s]))),
        };
        columns.push((Field::new(format!("sum_{}", spec.sums[s]), sum.data_type(), true), array));
    }
    Ok(batch(columns))
}

/// Which deliveries (rows of `times`, in `order`) a watermark `delay_ms` behind drops, for windows of `size_ms`.
fn dropped(times: &[i64], order: &[u32], delay_ms: i64, size_ms: i64) -> Vec<bool> {
    let mut max_before: Option<i64> = None;
    order
        .iter()
        .map(|&i| {
            let t = times[i as usize];
            let end = t.div_euclid(size_ms) * size_ms + size_ms;
            let drop = max_before.is_some_and(|m| end <= m - delay_ms);
            max_before = Some(max_before.map_or(t, |m| m.max(t)));
            drop
        })
        .collect()
}

/// Cells dense in memory when there are at most this many.
const DENSE_CELLS: u64 = 1 << 24;

/// `(seen, dropped)` per (window, slot), in window then slot order.
fn tally(cells: impl Iterator<Item = (i64, u32, bool)>, windows: (i64, i64), slots: u32) -> Vec<(i64, u32, [i64; 2])> {
    let (first, last) = windows;
    if last < first {
        return Vec::new(); // no deliveries
    }
    let span = (last as i128 - first as i128 + 1) as u64;
    if span.saturating_mul(slots as u64) <= DENSE_CELLS {
        let mut dense = vec![[0i64; 2]; (span * slots as u64) as usize];
        for (w, s, drop) in cells {
            dense[((w - first) as u64 * slots as u64 + s as u64) as usize][drop as usize] += 1;
        }
        let at = |i: usize| (first + (i as u64 / slots as u64) as i64, (i as u64 % slots as u64) as u32);
        return dense
            .into_iter()
            .enumerate()
            .filter(|(_, c)| c[0] + c[1] > 0)
            .map(|(i, c)| (at(i).0, at(i).1, c))
            .collect();
    }
    let mut sparse: HashMap<(i64, u32), [i64; 2]> = HashMap::new();
    for (w, s, drop) in cells {
        sparse.entry((w, s)).or_default()[drop as usize] += 1;
    }
    let mut out: Vec<_> = sparse.into_iter().map(|((w, s), c)| (w, s, c)).collect();
    out.sort_unstable_by_key(|&(w, s, _)| (w, s));
    out
}

/// One stream's watermark truth (stream, delay_s, size_s, window_start,
/// key_field, key, count_seen, dropped): the deliveries are the rows `order`
/// of `r`, in arrival order.
pub fn watermarks(spec: &TruthSpec, r: &Rows, order: &[u32]) -> Res<RecordBatch> {
    let (ranks, names) = key_order(r);
    let combos: Vec<(u32, u32)> =
        spec.watermark_s.iter().flat_map(|&d| spec.window_s.iter().map(move |&s| (d, s))).collect();
    let parts: Vec<(Head, Vec<i64>, Vec<i64>)> = combos
        .par_iter()
        .map(|&(delay, size)| {
            let size_ms = size as i64 * 1000;
            let drops = dropped(&r.times, order, delay as i64 * 1000, size_ms);
            let window = |i: u32| r.times[i as usize].div_euclid(size_ms);
            let span = order.iter().map(|&i| window(i)).fold((i64::MAX, i64::MIN), |(a, b), w| (a.min(w), b.max(w)));
            let (mut head, mut seen, mut lost) = (Head::default(), Vec::new(), Vec::new());
            for group in groups(r) {
                let slots = group.map_or(1, |k| names[k].len() as u32 + 1);
                let cells = order.iter().zip(&drops).map(|(&i, &d)| (window(i), slot(r, &ranks, group, i as usize), d));
                for (w, s, c) in tally(cells, span, slots) {
                    head.push(delay, size, w * size_ms, group, s);
                    seen.push(c[0]);
                    lost.push(c[1]);
                }
            }
            (head, seen, lost)
        })
        .collect();
    let (mut head, mut seen, mut lost) = (Head::default(), Vec::new(), Vec::new());
    for (h, s, l) in parts {
        head.append(h);
        seen.extend(s);
        lost.extend(l);
    }
    let mut columns = head.columns(spec, &names, true);
    columns.push((Field::new("count_seen", DataType::Int64, false), ints(seen)));
    columns.push((Field::new("dropped", DataType::Int64, false), ints(lost)));
    Ok(batch(columns))
}

/// A stream's counts: `records` clean rows, deliveries the rows `order` of
/// `r` with their flags.
pub fn counts(records: u64, r: &Rows, order: &[u32], late: &[bool], duplicate: &[bool]) -> Counts {
    let mut seen = vec![false; r.ids.iter().max().map_or(0, |&m| m as usize + 1)];
    for &i in order {
        seen[r.ids[i as usize] as usize] = true;
    }
    let delivered = order.len() as u64;
    let duplicates = duplicate.iter().filter(|&&d| d).count() as u64;
    Counts {
        records,
        delivered,
        late: late.iter().filter(|&&l| l).count() as u64,
        duplicates,
        dropped: records.saturating_sub(delivered - duplicates),
        distinct_events: seen.iter().filter(|&&s| s).count() as u64,
    }
}

/// The `truth/streams.parquet` rows.
pub fn streams_batch(rows: &[(String, Counts)]) -> RecordBatch {
    let col = |f: fn(&Counts) -> u64| ints(rows.iter().map(|(_, c)| f(c) as i64).collect());
    batch(vec![
        (
            Field::new("stream", DataType::Utf8, false),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|(s, _)| s))),
        ),
        (Field::new("records", DataType::Int64, false), col(|c| c.records)),
        (Field::new("delivered", DataType::Int64, false), col(|c| c.delivered)),
        (Field::new("late", DataType::Int64, false), col(|c| c.late)),
        (Field::new("duplicates", DataType::Int64, false), col(|c| c.duplicates)),
        (Field::new("dropped", DataType::Int64, false), col(|c| c.dropped)),
        (Field::new("distinct_events", DataType::Int64, false), col(|c| c.distinct_events)),
    ])
}

/// Batches of several streams as one table: the union of their columns,
/// a column a stream lacks null in its rows.
pub fn union(batches: &[RecordBatch]) -> Res<RecordBatch> {
    if let [one] = batches {
        return Ok(one.clone());
    }
    let mut fields: Vec<Field> = Vec::new();
    for b in batches {
        for f in b.schema().fields() {
            match fields.iter().find(|g| g.name() == f.name()) {
                Some(g) if g.data_type() != f.data_type() => {
                    return Err(format!(
                        "column `{}` is {} in one stream and {} in another",
                        f.name(),
                        g.data_type(),
                        f.data_type()
                    ))
                }
                Some(_) => {}
                None => fields.push(f.as_ref().clone()),
            }
        }
    }
    let schema = Arc::new(Schema::new(fields));
    let widened = batches
        .iter()
        .map(|b| {
            let columns = schema
                .fields()
                .iter()
                .map(|f| {
                    let existing = b.column_by_name(f.name()).cloned();
                    existing.unwrap_or_else(|| arrow::array::new_null_array(f.data_type(), b.num_rows()))
                })
                .collect();
            RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
        })
        .collect::<Res<Vec<_>>>()?;
    arrow::compute::concat_batches(&schema, &widened).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disorder::columns::Part;
    use arrow::array::{AsArray, TimestampMillisecondArray};
    use arrow::datatypes::Int64Type;

    fn spec() -> TruthSpec {
        TruthSpec {
            stream: "s".into(),
            table: "t".into(),
            time: "ts".into(),
            delivered: "t_delivered".into(),
            id: vec!["id".into()],
            keys: vec!["k".into()],
            sums: vec!["v".into()],
            distinct: "u".into(),
            window_s: vec![60],
            watermark_s: vec![0, 100],
        }
    }

    /// Rows (ts seconds, id, key, user, value) as a clean table.
    type Row = (i64, &'static str, &'static str, &'static str, i64);

    fn rows(data: &[Row]) -> Rows {
        let col =
            |f: fn(&Row) -> &'static str| -> ArrayRef { Arc::new(StringArray::from_iter_values(data.iter().map(f))) };
        let ts = TimestampMillisecondArray::from_iter_values(data.iter().map(|r| r.0 * 1000)).with_timezone("UTC");
        let b = batch(vec![
            (Field::new("ts", utc_ms(), false), Arc::new(ts) as ArrayRef),
            (Field::new("id", DataType::Utf8, false), col(|r| r.1)),
            (Field::new("k", DataType::Utf8, false), col(|r| r.2)),
            (Field::new("u", DataType::Utf8, false), col(|r| r.3)),
            (Field::new("v", DataType::Int64, false), ints(data.iter().map(|r| r.4).collect())),
        ]);
        Rows::read(&spec(), std::iter::once(b), Part::Clean).unwrap()
    }

    fn int_col(b: &RecordBatch, name: &str) -> Vec<i64> {
        b.column_by_name(name).unwrap().as_primitive::<Int64Type>().values().to_vec()
    }

    #[test]
    fn windows_count_distinct_and_sum_per_key() {
        let r =
            rows(&[(0, "a", "x", "u1", 5), (10, "b", "y", "u1", 7), (59, "c", "x", "u2", 1), (60, "d", "x", "u1", 2)]);
        let w = windows(&spec(), &r).unwrap();
        // All records: [0, 60) and [60, 120); then key x in both, key y in the first.
        assert_eq!(int_col(&w, "count"), [3, 1, 2, 1, 1]);
        assert_eq!(int_col(&w, "distinct_ids"), [2, 1, 2, 1, 1]);
        assert_eq!(int_col(&w, "sum_v"), [13, 2, 6, 7, 2]);
        let keys: Vec<Option<&str>> = w.column_by_name("key").unwrap().as_string::<i32>().iter().collect();
        assert_eq!(keys, [None, None, Some("x"), Some("y"), Some("x")]);
    }

    #[test]
    fn a_delivery_is_dropped_when_its_window_ended_at_or_before_the_watermark() {
        // Arrival order: 120 s, then 59 s (window [0, 60) ends at 60 <= 120 - 0: dropped
        // with delay 0; 60 > 120 - 100: kept with delay 100), then 150 s.
        let r = rows(&[(59, "a", "x", "u", 0), (120, "b", "x", "u", 0), (150, "c", "x", "u", 0)]);
        let w = watermarks(&spec(), &r, &[1, 0, 2]).unwrap();
        let delays = int_col(&w, "delay_s");
        let (seen, dropped) = (int_col(&w, "count_seen"), int_col(&w, "dropped"));
        let all: Vec<(i64, i64, i64)> = (0..w.num_rows()).map(|i| (delays[i], seen[i], dropped[i])).collect();
        // Per delay: all records' windows [0,60) and [120,180), then key x's.
        assert_eq!(
            all,
            [(0, 0, 1), (0, 2, 0), (0, 0, 1), (0, 2, 0), (100, 1, 0), (100, 2, 0), (100, 1, 0), (100, 2, 0)]
        );
        // The first delivery has no watermark: nothing before it.
        let first = watermarks(&spec(), &r, &[0, 1, 2]).unwrap();
        assert_eq!(int_col(&first, "dropped").iter().sum::<i64>(), 0);
    }

    #[test]
    fn counts_dedup_by_id() {
        let r = rows(&[(0, "a", "x", "u", 0), (1, "b", "x", "u", 0), (2, "c", "x", "u", 0)]);
        let c = counts(3, &r, &[0, 2, 0], &[false, true, false], &[false, false, true]);
        assert_eq!(c, Counts { records: 3, delivered: 3, late: 1, duplicates: 1, dropped: 1, distinct_events: 2 });
    }
}
