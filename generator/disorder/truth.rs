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
//!   events (distinct (id, event time) among the deliveries).
//!
//! Each is computed in one pass ([`super::windows`], [`super::watermarks`]).

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};

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

pub fn batch(columns: Vec<(Field, ArrayRef)>) -> RecordBatch {
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("truth columns match their fields")
}

pub fn ints(v: Vec<i64>) -> ArrayRef {
    Arc::new(Int64Array::from(v))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disorder::parts::{truth_table, TruthPart};
    use crate::disorder::{StreamTally, StreamTruth};
    use crate::events::utc_ms;
    use arrow::array::{AsArray, BooleanArray, TimestampMillisecondArray};
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

    /// Rows (ts seconds, id, key, user, value), delivered at `arrival` seconds
    /// (`None`: a clean table), a duplicate when `dup`.
    type Row = (i64, &'static str, &'static str, &'static str, i64);

    fn table(data: &[Row], arrival: Option<&[(i64, bool)]>) -> RecordBatch {
        let col =
            |f: fn(&Row) -> &'static str| -> ArrayRef { Arc::new(StringArray::from_iter_values(data.iter().map(f))) };
        let times = |s: &mut dyn Iterator<Item = i64>| -> ArrayRef {
            Arc::new(TimestampMillisecondArray::from_iter_values(s.map(|t| t * 1000)).with_timezone("UTC"))
        };
        let mut columns = vec![
            (Field::new("ts", utc_ms(), false), times(&mut data.iter().map(|r| r.0))),
            (Field::new("id", DataType::Utf8, false), col(|r| r.1)),
            (Field::new("k", DataType::Utf8, false), col(|r| r.2)),
            (Field::new("u", DataType::Utf8, false), col(|r| r.3)),
            (Field::new("v", DataType::Int64, false), ints(data.iter().map(|r| r.4).collect())),
        ];
        if let Some(a) = arrival {
            columns.push((Field::new("arrival_time", utc_ms(), false), times(&mut a.iter().map(|x| x.0))));
            let late = BooleanArray::from(vec![false; a.len()]);
            columns.push((Field::new("late", DataType::Boolean, false), Arc::new(late)));
            let dup: StringArray = a.iter().zip(data).map(|(x, r)| x.1.then_some(r.1)).collect();
            columns.push((Field::new("duplicate_of", DataType::Utf8, true), Arc::new(dup)));
        }
        batch(columns)
    }

    /// The truth of a clean table and its deliveries, each pushed a row at a time.
    fn truth(clean: &[Row], delivered: &[Row], arrival: &[(i64, bool)], max_lag_s: i64) -> StreamTruth {
        let mut t = StreamTally::new(&spec(), max_lag_s * 1000, None).unwrap();
        let (c, d) = (table(clean, None), table(delivered, Some(arrival)));
        (0..c.num_rows()).for_each(|i| t.windows.push(&c.slice(i, 1)).unwrap());
        (0..d.num_rows()).for_each(|i| t.push_delivered(&d.slice(i, 1)).unwrap());
        t.finish("s").unwrap()
    }

    fn rows_of(part: TruthPart) -> RecordBatch {
        let t = truth_table("t", vec![part]).unwrap();
        (t.batch)(0..t.rows)
    }

    fn int_col(b: &RecordBatch, name: &str) -> Vec<i64> {
        b.column_by_name(name).unwrap().as_primitive::<Int64Type>().values().to_vec()
    }

    #[test]
    fn windows_count_distinct_and_sum_per_key() {
        let clean = [(0, "a", "x", "u1", 5), (10, "b", "y", "u1", 7), (59, "c", "x", "u2", 1), (60, "d", "x", "u1", 2)];
        let w = rows_of(truth(&clean, &[], &[], 0).windows);
        // All records: [0, 60) and [60, 120); then key x in both, key y in the first.
        assert_eq!(int_col(&w, "count"), [3, 1, 2, 1, 1]);
        assert_eq!(int_col(&w, "distinct_ids"), [2, 1, 2, 1, 1]);
        assert_eq!(int_col(&w, "sum_v"), [13, 2, 6, 7, 2]);
        let keys: Vec<Option<&str>> = w.column_by_name("key").unwrap().as_string::<i32>().iter().collect();
        assert_eq!(keys, [None, None, Some("x"), Some("y"), Some("x")]);
    }

    #[test]
    fn a_clean_table_out_of_time_order_is_refused() {
        let mut t = StreamTally::new(&spec(), 0, None).unwrap();
        let err = t.windows.push(&table(&[(10, "a", "x", "u", 0), (5, "b", "x", "u", 0)], None)).unwrap_err();
        assert_eq!(err, "row 1 is not in `ts` order");
    }

    #[test]
    fn a_delivery_is_dropped_when_its_window_ended_at_or_before_the_watermark() {
        // Arrival order: 120 s, then 59 s (window [0, 60) ends at 60 <= 120 - 0: dropped
        // with delay 0; 60 > 120 - 100: kept with delay 100), then 150 s.
        let d = [(120, "b", "x", "u", 0), (59, "a", "x", "u", 0), (150, "c", "x", "u", 0)];
        let arrival = [(120, false), (121, false), (150, false)];
        // Tallies spill as windows close (a lag of 62 s) or only at the end: the same rows.
        for lag in [62, 10_000] {
            let w = rows_of(truth(&[], &d, &arrival, lag).watermarks);
            let delays = int_col(&w, "delay_s");
            let (seen, dropped) = (int_col(&w, "count_seen"), int_col(&w, "dropped"));
            let all: Vec<(i64, i64, i64)> = (0..w.num_rows()).map(|i| (delays[i], seen[i], dropped[i])).collect();
            // Per delay: all records' windows [0,60) and [120,180), then key x's.
            let want = [(0, 0, 1), (0, 2, 0), (0, 0, 1), (0, 2, 0), (100, 1, 0), (100, 2, 0), (100, 1, 0), (100, 2, 0)];
            assert_eq!(all, want, "max lag {lag} s");
        }
        // The first delivery has no watermark: nothing before it.
        let first = truth(&[], &[d[1], d[0], d[2]], &arrival, 10_000).watermarks;
        assert_eq!(int_col(&rows_of(first), "dropped").iter().sum::<i64>(), 0);
    }

    #[test]
    fn counts_take_an_id_at_one_event_time_as_one_event() {
        let clean = [(0, "a", "x", "u", 0), (1, "b", "x", "u", 0), (2, "c", "x", "u", 0)];
        let delivered = [clean[0], clean[2], clean[0]];
        let c = truth(&clean, &delivered, &[(0, false), (5, false), (6, true)], 10).counts;
        let want = Counts { records: 3, delivered: 3, late: 0, duplicates: 1, dropped: 1, distinct_events: 2 };
        assert_eq!(c, want);
    }
}
