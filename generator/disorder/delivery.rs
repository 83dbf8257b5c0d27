//! When and how each record of a clean table reaches the stream: the draws
//! (drop, out-of-order lag, late delay, duplicate, nulls), their order of
//! arrival, and the delivered table `T_delivered` built from the clean one.
//!
//! Draws run row by row in table order from one random stream per (stream,
//! UTC day of the event time), so a stream's deliveries depend on nothing
//! but the seed, the stream's position and its clean rows.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow::compute::{interleave_record_batch, nullif};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use rand::Rng;

use super::columns::{for_display, times_ms, Res};
use super::frame::Frame;
use super::spec::StreamPlan;
use crate::events::utc_ms;
use crate::seed::{stream, Purpose, SimRng};
use crate::sinks::dims::utc_times;
use crate::sinks::Special;

const DAY_MS: i64 = 86_400_000;

/// One delivered copy of a clean row (`row`: its position in the clean table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delivery {
    // Field order is arrival order: arrival, then row, then an original before its duplicate.
    pub arrival_ms: i64,
    pub row: u64,
    pub duplicate: bool,
    /// Arrived with a late delay (an original, never a duplicate).
    pub late: bool,
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

/// The deliveries of one stream, drawn as its clean table goes by in
/// event-time order and handed out in arrival order: a delivery leaves once
/// no later row can arrive before it (a row arrives no earlier than its
/// event time). Only the clean batches a waiting delivery needs are kept.
pub struct Deliverer<'p> {
    plan: &'p StreamPlan,
    seed: u64,
    start_ms: i64,
    schema: SchemaRef,
    /// The random stream of the UTC day `day` of the rows being drawn.
    rng: Option<(u64, SimRng)>,
    rows: u64,
    last_ms: i64,
    waiting: BinaryHeap<Reverse<Delivery>>,
    /// Clean batches still needed, each with its first row.
    kept: VecDeque<(u64, RecordBatch)>,
    frame: Frame,
    /// Rows at times the frame owns, and those of them dropped.
    own_rows: u64,
    own_drops: u64,
}

impl<'p> Deliverer<'p> {
    /// Deliveries of `plan`'s stream, whose clean table has the schema `clean`.
    pub fn new(plan: &'p StreamPlan, clean: &Schema, seed: u64, start_ms: i64) -> Deliverer<'p> {
        let schema = delivered_schema(clean, plan);
        let (rng, waiting, kept) = (None, BinaryHeap::new(), VecDeque::new());
        let (frame, own_rows, own_drops) = (Frame::WHOLE, 0, 0);
        Deliverer {
            plan,
            seed,
            start_ms,
            schema,
            rng,
            rows: 0,
            last_ms: i64::MIN,
            waiting,
            kept,
            frame,
            own_rows,
            own_drops,
        }
    }

    /// Draws only the rows from `frame.draw_from` on, and counts those it owns.
    pub fn in_frame(mut self, frame: Frame) -> Self {
        self.frame = frame;
        self
    }

    /// The rows at times the frame owns, and how many of them were dropped.
    pub fn own_rows(&self) -> (u64, u64) {
        (self.own_rows, self.own_drops)
    }

    /// The delivered table's schema.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Draws the deliveries of the clean table's next rows; returns those
    /// that can leave, in arrival order.
    pub fn push(&mut self, clean: RecordBatch) -> Res<RecordBatch> {
        let time = &self.plan.stream.time;
        let col = clean.column_by_name(time).ok_or_else(|| format!("no column `{time}`"))?;
        let times = times_ms(col.as_ref()).map_err(|e| format!("`{time}` {e}"))?;
        for &t in &times {
            if t < self.last_ms {
                return Err(format!("row {} is not in `{time}` order", self.rows));
            }
            self.last_ms = t;
            self.draw(t);
            self.rows += 1;
        }
        self.kept.push_back((self.rows - times.len() as u64, clean));
        let frontier = self.last_ms;
        self.release(|d| d.arrival_ms <= frontier)
    }

    /// Every delivery still waiting, in arrival order.
    pub fn finish(&mut self) -> Res<RecordBatch> {
        self.release(|_| true)
    }

    /// Draws row `self.rows`, at event time `t`.
    fn draw(&mut self, t: i64) {
        let (plan, row) = (self.plan, self.rows);
        if t < self.frame.draw_from {
            return;
        }
        let own = self.frame.owns(t) as u64;
        self.own_rows += own;
        let day = (t - self.start_ms).div_euclid(DAY_MS).max(0) as u64;
        if self.rng.as_ref().is_none_or(|(d, _)| *d != day) {
            self.rng = Some((day, stream(self.seed, plan.index as u64, day, Purpose::Disorder)));
        }
        let rng = &mut self.rng.as_mut().expect("set above").1;
        if rng.random::<f64>() < plan.drop_share {
            self.own_drops += own;
            return;
        }
        // A late record arrives after its delay; any other within the out-of-order lag.
        let late = plan.late.as_ref().and_then(|l| delay_ms(l, rng));
        let lag = match late {
            Some(delay) => delay,
            None if plan.out_of_order_ms > 0 => rng.random_range(0..=plan.out_of_order_ms),
            None => 0,
        };
        let arrival_ms = t + lag;
        let nulls = null_bits(plan, rng);
        self.waiting.push(Reverse(Delivery { arrival_ms, row, duplicate: false, late: late.is_some(), nulls }));
        if let Some(again) = plan.duplicates.as_ref().and_then(|d| delay_ms(d, rng)) {
            let nulls = null_bits(plan, rng);
            let copy = Delivery { arrival_ms: arrival_ms + again, row, duplicate: true, late: false, nulls };
            self.waiting.push(Reverse(copy));
        }
    }

    /// The waiting deliveries that `leaves` lets go (a prefix in arrival
    /// order) as a delivered batch; drops the clean batches no longer needed.
    fn release(&mut self, leaves: impl Fn(&Delivery) -> bool) -> Res<RecordBatch> {
        let mut out = Vec::new();
        while let Some(Reverse(d)) = self.waiting.peek().filter(|d| leaves(&d.0)) {
            out.push(*d);
            self.waiting.pop();
        }
        let batch = self.delivered_batch(&out)?;
        let needed = self.waiting.iter().map(|d| d.0.row).min().unwrap_or(self.rows);
        while self.kept.front().is_some_and(|(first, b)| first + b.num_rows() as u64 <= needed) {
            self.kept.pop_front();
        }
        Ok(batch)
    }

    /// The delivered rows of `copies`: their clean rows, nulled as drawn,
    /// then `arrival_time`, `late` and `duplicate_of`.
    fn delivered_batch(&self, copies: &[Delivery]) -> Res<RecordBatch> {
        if copies.is_empty() {
            return Ok(RecordBatch::new_empty(self.schema.clone()));
        }
        let batches: Vec<&RecordBatch> = self.kept.iter().map(|(_, b)| b).collect();
        let at = |row: u64| {
            let k = self.kept.partition_point(|(first, _)| *first <= row) - 1;
            (k, (row - self.kept[k].0) as usize)
        };
        let indices: Vec<(usize, usize)> = copies.iter().map(|d| at(d.row)).collect();
        let taken = interleave_record_batch(&batches, &indices).map_err(|e| e.to_string())?;
        let plan = self.plan;
        let mut columns: Vec<ArrayRef> = taken
            .schema()
            .fields()
            .iter()
            .zip(taken.columns())
            .map(|(f, col)| match plan.nulls.iter().position(|(c, _)| c == f.name()) {
                Some(bit) => {
                    let mask = BooleanArray::from_iter(copies.iter().map(|d| Some(d.nulls >> bit & 1 == 1)));
                    nullif(col.as_ref(), &mask).map_err(|e| e.to_string())
                }
                None => Ok(col.clone()),
            })
            .collect::<Res<_>>()?;
        columns.push(utc_times(copies.iter().map(|d| d.arrival_ms)));
        columns.push(Arc::new(BooleanArray::from_iter(copies.iter().map(|d| Some(d.late)))));
        let dup_of = copies.iter().enumerate().map(|(i, d)| d.duplicate.then_some(i));
        columns.push(Arc::new(id_texts(&taken, &plan.id, dup_of)?));
        RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| e.to_string())
    }
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

/// The ids of a batch's `rows` (`None` stays null): the id columns as Arrow
/// displays them (timestamps as UTC without a zone), joined by `/`.
pub fn id_texts(b: &RecordBatch, id: &[String], rows: impl Iterator<Item = Option<usize>>) -> Res<StringArray> {
    let shown = id
        .iter()
        .map(|c| for_display(b.column_by_name(c).ok_or_else(|| format!("no id column `{c}`"))?.as_ref()))
        .collect::<Res<Vec<ArrayRef>>>()?;
    let options = FormatOptions::default();
    let formatters = shown
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).map_err(|e| e.to_string()))
        .collect::<Res<Vec<ArrayFormatter>>>()?;
    Ok(rows
        .map(|i| {
            let i = i?;
            let parts: Vec<String> = formatters.iter().map(|f| f.value(i).to_string()).collect();
            Some(parts.join("/"))
        })
        .collect())
}

/// How a delivered table is written: sorted by arrival.
pub const DELIVERED_SPECIAL: &[Special] = &[Special::SortKey("arrival_time")];

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

    /// The deliveries of a clean table (event times `times`, event ids the
    /// row numbers) pushed `chunk` rows at a time, and the most clean rows kept at once.
    fn deliver_in(p: &StreamPlan, seed: u64, times: &[i64], chunk: usize) -> (Vec<Delivery>, usize) {
        use arrow::array::{Array, AsArray, TimestampMillisecondArray};
        let clean =
            Schema::new(vec![Field::new("event_time", utc_ms(), false), Field::new("event_id", DataType::Utf8, false)]);
        let mut d = Deliverer::new(p, &clean, seed, 0);
        let (mut out, mut kept) = (Vec::new(), 0);
        let mut take = |b: RecordBatch| {
            let arrival =
                b.column_by_name("arrival_time").unwrap().as_primitive::<arrow::datatypes::TimestampMillisecondType>();
            let ids = b.column_by_name("event_id").unwrap().as_string::<i32>();
            let late = b.column_by_name("late").unwrap().as_boolean();
            let dup = b.column_by_name("duplicate_of").unwrap();
            for i in 0..b.num_rows() {
                let row = ids.value(i).parse().unwrap();
                if dup.is_valid(i) {
                    assert_eq!(dup.as_string::<i32>().value(i), ids.value(i), "a duplicate names its original");
                }
                out.push(Delivery {
                    arrival_ms: arrival.value(i),
                    row,
                    duplicate: dup.is_valid(i),
                    late: late.value(i),
                    nulls: 0,
                });
            }
        };
        for lo in (0..times.len()).step_by(chunk) {
            let hi = (lo + chunk).min(times.len());
            let ts = TimestampMillisecondArray::from_iter_values(times[lo..hi].iter().copied()).with_timezone("UTC");
            let ids = StringArray::from_iter_values((lo..hi).map(|i| i.to_string()));
            let b = RecordBatch::try_new(Arc::new(clean.clone()), vec![Arc::new(ts), Arc::new(ids)]).unwrap();
            take(d.push(b).unwrap());
            kept = kept.max(d.kept.iter().map(|(_, b)| b.num_rows()).sum());
        }
        take(d.finish().unwrap());
        (out, kept)
    }

    fn deliver(p: &StreamPlan, seed: u64, times: &[i64]) -> Vec<Delivery> {
        deliver_in(p, seed, times, 1000).0
    }

    #[test]
    fn without_disorder_every_record_arrives_once_at_its_event_time() {
        let d = deliver(&plan(None, None, 0.0, 0), 1, &times());
        assert!(d.iter().enumerate().all(|(i, d)| d.row as usize == i && d.arrival_ms == i as i64 * 1000));
        assert!(d.iter().all(|d| !d.late && !d.duplicate && d.nulls == 0));
    }

    #[test]
    fn deliveries_follow_the_plan_and_its_seed() {
        let p = plan(Some(0.1), Some(0.05), 0.02, 5_000);
        let t = times();
        let d = deliver(&p, 7, &t);
        assert_eq!(d, deliver(&p, 7, &t), "same seed, same deliveries");
        assert_ne!(d, deliver(&p, 8, &t), "another seed, other deliveries");
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

    #[test]
    fn deliveries_are_the_same_however_the_table_is_cut_and_keep_only_what_waits() {
        let p = plan(Some(0.1), Some(0.05), 0.02, 5_000);
        // A row a second over 2 days: a lag of at most 31 min keeps about that many rows.
        let t: Vec<i64> = (0..172_800).map(|i| i * 1_000).collect();
        let (whole, _) = deliver_in(&p, 3, &t, t.len());
        for chunk in [1_000, 4_096, 65_536] {
            let (cut, kept) = deliver_in(&p, 3, &t, chunk);
            assert_eq!(cut, whole, "pushed {chunk} rows at a time");
            assert!(kept <= 1_860 + 2 * chunk, "{kept} clean rows kept, pushed {chunk} at a time");
        }
    }

    #[test]
    fn a_table_out_of_event_time_order_is_refused() {
        let (p, clean) = (plan(None, None, 0.0, 0), Schema::new(vec![Field::new("event_time", utc_ms(), false)]));
        let mut d = Deliverer::new(&p, &clean, 1, 0);
        let ts = arrow::array::TimestampMillisecondArray::from(vec![5_000, 4_000]).with_timezone("UTC");
        let b = RecordBatch::try_new(Arc::new(clean), vec![Arc::new(ts)]).unwrap();
        assert_eq!(d.push(b).unwrap_err(), "row 1 is not in `event_time` order");
    }
}
