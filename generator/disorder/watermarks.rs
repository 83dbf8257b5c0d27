//! What a stream's deliveries give, in one pass over its delivered table in
//! arrival order: the watermark truth (per watermark delay and window size,
//! the deliveries counted and dropped per window and key) and the delivery
//! counts. Tallies are kept per window and key, never per delivery; the
//! ids seen are kept only while a later delivery could repeat them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, TimestampMillisecondType};
use rayon::prelude::*;

use super::columns::{batch_times, column, FastMap, Interned, Res};
use super::delivery::id_texts;
use super::frame::Frame;
use super::parts::{PartLayout, PartWriter, Segment, TruthPart};
use super::truth::{Counts, TruthSpec};
use crate::error::Result;

/// `(seen, dropped)` per key, per window index (in order).
type Tally = BTreeMap<i64, FastMap<Option<u32>, [i64; 2]>>;

/// The watermark truth of one stream, fed its deliveries in arrival order.
/// A window's tallies are final, and spilled, once no later delivery can
/// fall in it (none arrives more than `max_lag_ms` after its event time).
pub struct WatermarkTruth {
    spec: TruthSpec,
    max_lag_ms: i64,
    keys: Vec<Interned>,
    /// (delay, size) pairs, delays first, each with a tally per key group.
    combos: Vec<((u32, u32), Vec<Tally>)>,
    /// The largest event time delivered so far.
    max_ms: Option<i64>,
    rows: PartWriter,
}

impl WatermarkTruth {
    pub fn new(spec: &TruthSpec, max_lag_ms: i64, spill_dir: Option<&Path>) -> Result<WatermarkTruth> {
        let groups = 1 + spec.keys.len();
        let combos: Vec<_> = spec
            .watermark_s
            .iter()
            .flat_map(|&d| spec.window_s.iter().map(move |&s| ((d, s), vec![Tally::new(); groups])))
            .collect();
        let rows = PartWriter::new(spill_dir, combos.len() * groups, 2)?;
        Ok(WatermarkTruth {
            spec: spec.clone(),
            max_lag_ms,
            keys: spec.keys.iter().map(|_| Interned::default()).collect(),
            combos,
            max_ms: None,
            rows,
        })
    }

    /// Adds the next deliveries.
    pub fn push(&mut self, b: &RecordBatch) -> Res<()> {
        let times = batch_times(b, &self.spec.time)?;
        let mut keys = Vec::with_capacity(self.keys.len());
        for (k, name) in self.spec.keys.iter().enumerate() {
            keys.push(self.keys[k].ids(column(b, name)?.as_ref())?);
        }
        // The watermark before each delivery rests on the largest event time before it.
        let mut before = Vec::with_capacity(times.len());
        for &t in &times {
            before.push(self.max_ms);
            self.max_ms = Some(self.max_ms.map_or(t, |m| m.max(t)));
        }
        self.combos.par_iter_mut().for_each(|((delay_s, size_s), tallies)| {
            let (delay_ms, size_ms) = (*delay_s as i64 * 1000, *size_s as i64 * 1000);
            let windows: Vec<i64> = times.iter().map(|t| t.div_euclid(size_ms)).collect();
            let dropped: Vec<usize> = (windows.iter().zip(&before))
                .map(|(w, m)| m.is_some_and(|m| (w + 1).saturating_mul(size_ms) <= m.saturating_sub(delay_ms)) as usize)
                .collect();
            for (g, tally) in tallies.iter_mut().enumerate() {
                // Rows in arrival order come in runs of one window: one lookup a run.
                let mut i = 0;
                while let Some(&window) = windows.get(i) {
                    let cells = tally.entry(window).or_default();
                    while windows.get(i) == Some(&window) {
                        let key = if g == 0 { None } else { keys[g - 1][i] };
                        cells.entry(key).or_default()[dropped[i]] += 1;
                        i += 1;
                    }
                }
            }
        });
        let arrival = column(b, "arrival_time")?
            .as_primitive_opt::<TimestampMillisecondType>()
            .ok_or("`arrival_time` is not a timestamp (ms)")?;
        match arrival.values().last() {
            Some(&last) => self.spill_before(last.saturating_sub(self.max_lag_ms)),
            None => Ok(()),
        }
    }

    /// Keeps only the windows that start in `frame`.
    pub fn in_frame(&mut self, frame: Frame) {
        self.rows.in_frame(frame);
    }

    /// Spills the tallies of the windows that end at or before `t`.
    fn spill_before(&mut self, t: i64) -> Res<()> {
        let groups = 1 + self.spec.keys.len();
        for (c, ((_, size_s), tallies)) in self.combos.iter_mut().enumerate() {
            let size_ms = *size_s as i64 * 1000;
            for (g, tally) in tallies.iter_mut().enumerate() {
                while let Some(entry) = tally.first_entry().filter(|e| (e.key() + 1).saturating_mul(size_ms) <= t) {
                    let window = *entry.key();
                    let mut cells: Vec<_> = entry.remove().into_iter().collect();
                    if g > 0 {
                        cells.sort_by(|a, b| self.keys[g - 1].cmp(a.0, b.0));
                    }
                    for (key, [seen, dropped]) in cells {
                        let values = [seen as i128, dropped as i128];
                        self.rows.push(c * groups + g, window * size_ms, key, &values).map_err(|e| e.to_string())?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The stream's rows of the watermark truth (stream, delay_s, size_s,
    /// window_start, key_field, key, count_seen, dropped): by delay, size,
    /// key group, window and key.
    pub fn finish(mut self) -> Res<TruthPart> {
        self.spill_before(i64::MAX)?;
        let groups = 1 + self.spec.keys.len();
        let segments = self
            .combos
            .iter()
            .flat_map(|&((d, size_s), _)| {
                (0..groups).map(move |g| Segment { delay_s: Some(d), size_s, key_field: g.checked_sub(1) })
            })
            .collect();
        let layout = PartLayout {
            segments,
            key_fields: self.spec.keys.clone(),
            key_names: self.keys.into_iter().map(|k| k.names).collect(),
            values: vec![("count_seen".into(), DataType::Int64, false), ("dropped".into(), DataType::Int64, false)],
            with_delay: true,
        };
        self.rows.finish(&self.spec.stream, layout).map_err(|e| e.to_string())
    }
}

/// A stream's delivery counts, fed its deliveries in arrival order. A
/// distinct event is a distinct (id, event time); an id is forgotten once
/// no later delivery can have its event time (none arrives more than
/// `max_lag_ms` after it).
pub struct DeliveryCounts {
    id: Vec<String>,
    time: String,
    max_lag_ms: i64,
    counts: Counts,
    /// (event time, id) of the deliveries, while a later one may repeat them.
    seen: BTreeSet<(i64, Box<str>)>,
    frame: Frame,
}

impl DeliveryCounts {
    pub fn new(spec: &TruthSpec, max_lag_ms: i64) -> DeliveryCounts {
        let (id, time) = (spec.id.clone(), spec.time.clone());
        let (counts, seen, frame) = (Counts::default(), BTreeSet::new(), Frame::WHOLE);
        DeliveryCounts { id, time, max_lag_ms, counts, seen, frame }
    }

    /// Counts only what `frame` owns.
    pub fn in_frame(&mut self, frame: Frame) {
        self.frame = frame;
    }

    /// Adds the next deliveries.
    pub fn push(&mut self, b: &RecordBatch) -> Res<()> {
        let times = batch_times(b, &self.time)?;
        let late = column(b, "late")?.as_boolean_opt().ok_or("`late` is not a boolean")?;
        let dup = column(b, "duplicate_of")?;
        let arrival = column(b, "arrival_time")?
            .as_primitive_opt::<TimestampMillisecondType>()
            .ok_or("`arrival_time` is not a timestamp (ms)")?;
        let ids = id_texts(b, &self.id, (0..b.num_rows()).map(Some))?;
        let (c, frame) = (&mut self.counts, self.frame);
        // A delivery is counted where it arrives, a distinct event at its event time.
        for i in (0..b.num_rows()).filter(|&i| frame.owns(arrival.value(i))) {
            c.delivered += 1;
            c.late += late.value(i) as u64;
            c.duplicates += dup.is_valid(i) as u64;
        }
        for (i, id) in ids.iter().enumerate().filter(|(i, _)| frame.owns(times[*i])) {
            c.distinct_events += self.seen.insert((times[i], id.unwrap_or_default().into())) as u64;
        }
        if let Some(last) = arrival.values().last() {
            let horizon = last.saturating_sub(self.max_lag_ms);
            while self.seen.first().is_some_and(|(t, _)| *t < horizon) {
                self.seen.pop_first();
            }
        }
        Ok(())
    }

    /// The counts, `records` the clean table's rows.
    pub fn finish(self, records: u64) -> Counts {
        let mut c = self.counts;
        c.records = records;
        c.dropped = records.saturating_sub(c.delivered - c.duplicates);
        c
    }
}
