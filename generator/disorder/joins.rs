//! The join truth: for a stream-stream join a kind declares (the
//! clickstream's clicks to their impressions), the true number of matches
//! in the clean tables — pairs of a left and a right row with equal `on`
//! values and `0 <= right time - left time <= bound` — which
//! `truth/joins.parquet` holds (join, left, left_time, right, right_time,
//! on, bound_ms, matches).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use super::columns::{for_display, times_ms};

/// A time-bounded join of two clean tables.
#[derive(Clone, Debug, PartialEq)]
pub struct JoinSpec {
    pub name: String,
    pub left: String,
    pub left_time: String,
    pub right: String,
    pub right_time: String,
    pub on: String,
    pub bound_ms: i64,
}

type Res<T> = std::result::Result<T, String>;

/// `(on value as text, time)` of every row of a table's batches.
fn keyed_times(batches: impl Iterator<Item = RecordBatch>, on: &str, time: &str) -> Res<Vec<(String, i64)>> {
    let mut out = Vec::new();
    for b in batches {
        let key = b.column_by_name(on).ok_or_else(|| format!("no column `{on}`"))?;
        let t = times_ms(b.column_by_name(time).ok_or_else(|| format!("no column `{time}`"))?.as_ref())?;
        let shown = for_display(key.as_ref())?;
        let f = ArrayFormatter::try_new(shown.as_ref(), &FormatOptions::default()).map_err(|e| e.to_string())?;
        out.extend((0..b.num_rows()).map(|i| (f.value(i).to_string(), t[i])));
    }
    Ok(out)
}

/// The number of matching pairs of `j` in its left and right tables.
pub fn matches(
    j: &JoinSpec,
    left: impl Iterator<Item = RecordBatch>,
    right: impl Iterator<Item = RecordBatch>,
) -> Res<u64> {
    let mut by_key: HashMap<String, Vec<i64>> = HashMap::new();
    for (k, t) in keyed_times(left, &j.on, &j.left_time)? {
        by_key.entry(k).or_default().push(t);
    }
    let mut n = 0;
    for (k, t) in keyed_times(right, &j.on, &j.right_time)? {
        let lefts = by_key.get(&k).map_or(&[][..], Vec::as_slice);
        n += lefts.iter().filter(|&&l| (0..=j.bound_ms).contains(&(t - l))).count() as u64;
    }
    Ok(n)
}

/// The `truth/joins.parquet` rows.
pub fn joins_batch(rows: &[(JoinSpec, u64)]) -> RecordBatch {
    let text = |f: fn(&JoinSpec) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(|(j, _)| f(j))))
    };
    let fields =
        ["join", "left", "left_time", "right", "right_time", "on"].map(|n| Field::new(n, DataType::Utf8, false));
    let mut columns = vec![
        text(|j| &j.name),
        text(|j| &j.left),
        text(|j| &j.left_time),
        text(|j| &j.right),
        text(|j| &j.right_time),
        text(|j| &j.on),
    ];
    columns.push(Arc::new(Int64Array::from_iter_values(rows.iter().map(|(j, _)| j.bound_ms))));
    columns.push(Arc::new(Int64Array::from_iter_values(rows.iter().map(|(_, n)| *n as i64))));
    let mut fields = fields.to_vec();
    fields.push(Field::new("bound_ms", DataType::Int64, false));
    fields.push(Field::new("matches", DataType::Int64, false));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("join truth columns match their fields")
}
