//! The window truth of one stream in one pass over its clean table, which
//! is in event-time order: per tumbling window of each size (aligned to the
//! epoch, UTC), for all records and per value of each key column, the
//! count, the distinct values of the `distinct` column and the sum of each
//! summed column (a null adds nothing; floats added in table order). A
//! window is closed as soon as a row falls past it and its rows spilled,
//! so only the open window of each size is in memory.

use std::path::Path;

use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use rayon::prelude::*;

use super::columns::{batch_times, column, texts, FastMap, Interned, Res, Sum};
use super::frame::Frame;
use super::parts::{PartLayout, PartWriter, Segment, TruthPart};
use super::truth::TruthSpec;
use crate::error::Result;

/// One window's tally of one key value.
#[derive(Default)]
struct Cell {
    count: i64,
    /// Window-local ids of the distinct column's values (repeats included).
    distinct: Vec<u32>,
    exact: Vec<i128>,
    floats: Vec<f64>,
}

/// The rows of one window size, per key group (all records, then each key column).
struct Size {
    size_s: u32,
    open: Option<i64>,
    distinct: Interned,
    cells: Vec<FastMap<Option<u32>, Cell>>,
    /// Rows of closed windows not yet spilled: (group, window start, key, values).
    closed: Vec<(usize, i64, Option<u32>, Vec<i128>)>,
}

/// What one batch gives every size: times, key ids per key column, the
/// distinct column's values and the summed columns.
struct BatchRows {
    times: Vec<i64>,
    keys: Vec<Vec<Option<u32>>>,
    distinct: Vec<Option<String>>,
    sums: Vec<Sum>,
}

impl Size {
    fn new(size_s: u32, groups: usize) -> Size {
        let cells = (0..groups).map(|_| FastMap::default()).collect();
        Size { size_s, open: None, distinct: Interned::default(), cells, closed: Vec::new() }
    }

    fn add(&mut self, rows: &BatchRows, keys: &[Interned], sums: usize) {
        let size_ms = self.size_s as i64 * 1000;
        for (i, &t) in rows.times.iter().enumerate() {
            let start = t.div_euclid(size_ms) * size_ms;
            if self.open != Some(start) {
                self.close(keys);
                self.open = Some(start);
            }
            let d = rows.distinct[i].as_deref().map(|v| self.distinct.id(v));
            for (g, cells) in self.cells.iter_mut().enumerate() {
                let key = if g == 0 { None } else { rows.keys[g - 1][i] };
                let cell = cells.entry(key).or_insert_with(|| Cell {
                    exact: vec![0; sums],
                    floats: vec![0.0; sums],
                    ..Cell::default()
                });
                cell.count += 1;
                cell.distinct.extend(d);
                for (s, sum) in rows.sums.iter().enumerate() {
                    match sum {
                        Sum::Int(v) | Sum::Dec(v, _) => cell.exact[s] += v[i],
                        Sum::Float(v) => cell.floats[s] += v[i],
                    }
                }
            }
        }
    }

    /// Moves the open window's cells to the closed rows, keys in name order.
    fn close(&mut self, keys: &[Interned]) {
        let Some(start) = self.open.take() else { return };
        for (g, cells) in self.cells.iter_mut().enumerate() {
            let mut sorted: Vec<(Option<u32>, Cell)> = cells.drain().collect();
            if g > 0 {
                sorted.sort_by(|a, b| keys[g - 1].cmp(a.0, b.0));
            }
            for (key, mut cell) in sorted {
                cell.distinct.sort_unstable();
                cell.distinct.dedup();
                let mut values = vec![cell.count as i128, cell.distinct.len() as i128];
                // A summed column adds to `exact` or to `floats`, never both: the other stays 0 (0.0 has bits 0).
                values.extend(cell.exact.iter().zip(&cell.floats).map(|(&e, f)| e + f.to_bits() as i128));
                self.closed.push((g, start, key, values));
            }
        }
        self.distinct.clear();
    }
}

/// The window truth of one stream, fed its clean table's batches in order.
pub struct WindowTruth {
    spec: TruthSpec,
    keys: Vec<Interned>,
    sizes: Vec<Size>,
    rows: PartWriter,
    /// The summed columns' types, from the first batch.
    sum_types: Option<Vec<DataType>>,
    last_ms: i64,
    records: u64,
}

impl WindowTruth {
    /// Spills its finished rows to `spill_dir` (the system's temporary folder when `None`).
    pub fn new(spec: &TruthSpec, spill_dir: Option<&Path>) -> Result<WindowTruth> {
        let groups = 1 + spec.keys.len();
        let rows = PartWriter::new(spill_dir, spec.window_s.len() * groups, 2 + spec.sums.len())?;
        Ok(WindowTruth {
            spec: spec.clone(),
            keys: spec.keys.iter().map(|_| Interned::default()).collect(),
            sizes: spec.window_s.iter().map(|&s| Size::new(s, groups)).collect(),
            rows,
            sum_types: None,
            last_ms: i64::MIN,
            records: 0,
        })
    }

    /// Records added so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Adds the clean table's next rows.
    pub fn push(&mut self, b: &RecordBatch) -> Res<()> {
        let spec = &self.spec;
        let times = batch_times(b, &spec.time)?;
        if let Some(i) = (0..times.len()).find(|&i| times[i] < if i == 0 { self.last_ms } else { times[i - 1] }) {
            return Err(format!("row {} is not in `{}` order", self.records + i as u64, spec.time));
        }
        let mut keys = Vec::with_capacity(spec.keys.len());
        for (k, name) in spec.keys.iter().enumerate() {
            keys.push(self.keys[k].ids(column(b, name)?.as_ref())?);
        }
        let sums = spec
            .sums
            .iter()
            .map(|name| Sum::read(column(b, name)?).map_err(|e| format!("`{name}` {e}")))
            .collect::<Res<Vec<Sum>>>()?;
        let types: Vec<DataType> = sums.iter().map(Sum::data_type).collect();
        if self.sum_types.get_or_insert_with(|| types.clone()) != &types {
            return Err("a summed column changes type between batches".into());
        }
        let rows = BatchRows { times, keys, distinct: texts(column(b, &spec.distinct)?.as_ref())?, sums };
        let (names, n) = (&self.keys, spec.sums.len());
        self.sizes.par_iter_mut().for_each(|s| s.add(&rows, names, n));
        self.last_ms = rows.times.last().copied().unwrap_or(self.last_ms);
        self.records += rows.times.len() as u64;
        self.spill()
    }

    /// Keeps only the windows that start in `frame`.
    pub fn in_frame(&mut self, frame: Frame) {
        self.rows.in_frame(frame);
    }

    /// Spills the closed windows' rows, each to its (size, key group) segment.
    fn spill(&mut self) -> Res<()> {
        let groups = 1 + self.spec.keys.len();
        for (s, size) in self.sizes.iter_mut().enumerate() {
            for (g, start, key, values) in size.closed.drain(..) {
                self.rows.push(s * groups + g, start, key, &values).map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    /// The stream's rows of the window truth (stream, size_s, window_start,
    /// key_field, key, count, distinct_ids, `sum_<column>`...): by size,
    /// key group, window and key.
    pub fn finish(mut self) -> Res<TruthPart> {
        let keys = std::mem::take(&mut self.keys);
        for s in &mut self.sizes {
            s.close(&keys);
        }
        self.spill()?;
        let groups = 1 + self.spec.keys.len();
        let segments = self
            .spec
            .window_s
            .iter()
            .flat_map(|&size_s| {
                (0..groups).map(move |g| Segment { delay_s: None, size_s, key_field: g.checked_sub(1) })
            })
            .collect();
        let mut values =
            vec![("count".to_string(), DataType::Int64, false), ("distinct_ids".into(), DataType::Int64, false)];
        let sums = self.spec.sums.iter().zip(self.sum_types.iter().flatten());
        values.extend(sums.map(|(name, t)| (format!("sum_{name}"), t.clone(), true)));
        let layout = PartLayout {
            segments,
            key_fields: self.spec.keys.clone(),
            key_names: keys.into_iter().map(|k| k.names).collect(),
            values,
            with_delay: false,
        };
        self.rows.finish(&self.spec.stream, layout).map_err(|e| e.to_string())
    }
}
