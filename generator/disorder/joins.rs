//! The join truth: for a stream-stream join a kind declares (the
//! clickstream's clicks to their impressions), the true number of matches
//! in the clean tables — pairs of a left and a right row with equal `on`
//! values and `0 <= right time - left time <= bound` — which
//! `truth/joins.parquet` holds (join, left, left_time, right, right_time,
//! on, bound_ms, matches).

use std::collections::VecDeque;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use super::columns::{batch_times, column, for_each_text, FastMap, Res};
use super::frame::Frame;

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

/// The matches of a join, counted in one pass over both tables in time
/// order: each right row against the left rows of its key within the
/// bound before it. Left rows are kept only while a right row may match them.
pub struct JoinTally {
    spec: JoinSpec,
    /// Left times per key, oldest first, and every left row in time order.
    lefts: FastMap<String, VecDeque<i64>>,
    order: VecDeque<(i64, String)>,
    last_left: i64,
    last_right: i64,
    matches: u64,
    /// Only right rows at times it owns are counted.
    frame: Frame,
}

impl JoinTally {
    pub fn new(spec: &JoinSpec) -> JoinTally {
        let (lefts, order) = (FastMap::default(), VecDeque::new());
        let (last_left, last_right, frame) = (i64::MIN, i64::MIN, Frame::WHOLE);
        JoinTally { spec: spec.clone(), lefts, order, last_left, last_right, matches: 0, frame }
    }

    /// Counts only the matches of right rows at times `frame` owns.
    pub fn in_frame(mut self, frame: Frame) -> Self {
        self.frame = frame;
        self
    }

    /// Adds the left table's next rows.
    pub fn push_left(&mut self, b: &RecordBatch) -> Res<()> {
        let (on, time) = (self.spec.on.clone(), self.spec.left_time.clone());
        let times = batch_times(b, &time)?;
        let (mut i, mut unordered) = (0, false);
        for_each_text(column(b, &on)?.as_ref(), |key| {
            let t = times[i];
            i += 1;
            unordered |= t < self.last_left;
            self.last_left = t;
            let key = key.unwrap_or_default().to_string();
            self.lefts.entry(key.clone()).or_default().push_back(t);
            self.order.push_back((t, key));
        })?;
        if unordered {
            return Err(format!("`{}`: the left table is not in `{time}` order", self.spec.left));
        }
        Ok(())
    }

    /// Counts the matches of the right table's next rows (every left row up
    /// to their times already added).
    pub fn push_right(&mut self, b: &RecordBatch) -> Res<()> {
        let (on, time) = (self.spec.on.clone(), self.spec.right_time.clone());
        let times = batch_times(b, &time)?;
        let mut unordered = false;
        let mut i = 0;
        for_each_text(column(b, &on)?.as_ref(), |key| {
            let t = times[i];
            i += 1;
            unordered |= t < self.last_right;
            self.last_right = t;
            self.forget_before(t.saturating_sub(self.spec.bound_ms));
            // What is left of the key's rows is within the bound before `t`, or later.
            if self.frame.owns(t) {
                let n = self.lefts.get(key.unwrap_or_default()).map_or(0, |l| l.partition_point(|&x| x <= t));
                self.matches += n as u64;
            }
        })?;
        if unordered {
            return Err(format!("`{}`: the right table is not in `{time}` order", self.spec.right));
        }
        Ok(())
    }

    /// Counts the matches of the right table's next batches, pulling the
    /// left table's batches only as far as each right row needs (so only
    /// the left rows within the bound are held); `lefts` carries on from
    /// where an earlier call left it.
    pub fn push_in_step(
        &mut self,
        lefts: &mut impl Iterator<Item = Res<RecordBatch>>,
        rights: impl Iterator<Item = Res<RecordBatch>>,
    ) -> Res<()> {
        let mut exhausted = false;
        for right in rights {
            let right = right?;
            let times = batch_times(&right, &self.spec.right_time)?;
            let mut from = 0;
            while from < times.len() {
                // Every left row up to the next right row's time, and the whole batch holding it.
                while !exhausted && self.last_left <= times[from] {
                    match lefts.next() {
                        Some(left) => self.push_left(&left?)?,
                        None => exhausted = true,
                    }
                }
                // Right rows before the last left time have all their left rows in.
                let ready = times[from..].partition_point(|&t| exhausted || t < self.last_left);
                let to = from + ready.max(1);
                self.push_right(&right.slice(from, to - from))?;
                from = to;
            }
        }
        Ok(())
    }

    /// Drops the left rows before `t` (no later right row can match them).
    fn forget_before(&mut self, t: i64) {
        while self.order.front().is_some_and(|(l, _)| *l < t) {
            let (_, key) = self.order.pop_front().expect("checked above");
            if let Some(times) = self.lefts.get_mut(&key) {
                times.pop_front();
                if times.is_empty() {
                    self.lefts.remove(&key);
                }
            }
        }
    }

    pub fn matches(&self) -> u64 {
        self.matches
    }

    pub fn spec(&self) -> &JoinSpec {
        &self.spec
    }
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
