//! A streamed table as replay reads it: `<table>.parquet`'s metadata (row
//! groups, their first row and largest event time from the column
//! statistics) and decoding of any row range. Only the columns a record
//! needs are read, and only the row groups that hold the range; rows are in
//! time order, so the first row at or after a time is found from the
//! statistics plus one time column chunk. The time column is a timestamp
//! (ms) or a date (its UTC midnight).

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch, RecordBatchReader};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Date32Type, TimeUnit, TimestampMillisecondType};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::arrow::ProjectionMask;
use parquet::file::statistics::Statistics;

use super::schedule::DAY_MS;
use crate::error::{Context, Error, Result};

/// One streamed table, opened once; cheap to share between threads.
#[derive(Clone)]
pub struct TableFile {
    path: PathBuf,
    /// The time column's name and whether it holds dates.
    time: String,
    dates: bool,
    meta: ArrowReaderMetadata,
    projection: ProjectionMask,
    ts_only: ProjectionMask,
    /// In-lap index of each row group's first row, then the row count.
    starts: Vec<u64>,
    /// Largest `ts` of each row group.
    max_ts: Vec<i64>,
}

impl TableFile {
    /// Opens `dir/<table>.parquet`, whose `time` column orders it, to read `columns`.
    pub fn open(dir: &Path, table: &str, time: &str, columns: &[&str]) -> Result<TableFile> {
        let path = dir.join(format!("{table}.parquet"));
        let name = || format!("{}: not a simkit dataset (unreadable {table}.parquet)", dir.display());
        let file = File::open(&path).context(name)?;
        let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).context(name)?;
        let schema = meta.schema().clone();
        let root = |col: &str| {
            schema
                .index_of(col)
                .map_err(|_| Error(format!("{}: no column `{col}`: not the simkit `{table}` table", path.display())))
        };
        let time_root = root(time)?;
        let dates = match schema.field(time_root).data_type() {
            DataType::Date32 => true,
            DataType::Timestamp(TimeUnit::Millisecond, _) => false,
            other => {
                return Err(Error(format!("{}: `{time}` is {other}, expected timestamp[ms] or date32", path.display())))
            }
        };
        // The time column orders the rows, whether or not the record holds it.
        let mut roots = columns.iter().map(|c| root(c)).collect::<Result<Vec<_>>>()?;
        roots.push(time_root);
        let descr = meta.metadata().file_metadata().schema_descr_ptr();
        let projection = ProjectionMask::roots(&descr, roots.iter().copied());
        let ts_only = ProjectionMask::roots(&descr, [time_root]);
        let ts_leaf = descr
            .columns()
            .iter()
            .position(|c| c.path().string() == time)
            .ok_or_else(|| Error(format!("{}: no `{time}` column", path.display())))?;
        let mut events = TableFile {
            path,
            time: time.into(),
            dates,
            meta,
            projection,
            ts_only,
            starts: vec![0],
            max_ts: Vec::new(),
        };
        let groups = events.meta.metadata().row_groups().to_vec();
        for (g, rg) in groups.iter().enumerate() {
            let rows = rg.num_rows() as u64;
            events.starts.push(events.starts[g] + rows);
            let stat = match rg.column(ts_leaf).statistics() {
                Some(Statistics::Int64(s)) if !dates => s.max_opt().copied(),
                Some(Statistics::Int32(s)) if dates => s.max_opt().map(|&d| d as i64 * DAY_MS),
                _ => None,
            };
            let max = match stat {
                Some(m) => m,
                None if rows == 0 => i64::MIN,
                None => events.group_times(g)?.iter().copied().max().unwrap_or(i64::MIN),
            };
            events.max_ts.push(max);
        }
        Ok(events)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows in the table (one lap).
    pub fn len(&self) -> u64 {
        *self.starts.last().expect("starts has a final entry")
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first event's timestamp (the smallest: rows are in time order).
    pub fn first_ts(&self) -> Result<i64> {
        match self.max_ts.iter().position(|&m| m != i64::MIN) {
            Some(g) => self
                .group_times(g)?
                .first()
                .copied()
                .ok_or_else(|| Error(format!("{}: empty row group", self.path.display()))),
            None => Err(Error(format!("{}: no events", self.path.display()))),
        }
    }

    /// The last event's timestamp (the largest).
    pub fn last_ts(&self) -> Option<i64> {
        self.max_ts.iter().copied().filter(|&t| t != i64::MIN).max()
    }

    pub fn row_groups(&self) -> usize {
        self.max_ts.len()
    }

    /// The in-lap rows of row group `g`.
    pub fn group_rows(&self, g: usize) -> (u64, u64) {
        (self.starts[g], self.starts[g + 1])
    }

    /// The row group holding in-lap row `idx` (< len).
    pub fn group_of(&self, idx: u64) -> usize {
        self.starts.partition_point(|&s| s <= idx) - 1
    }

    fn builder(&self) -> Result<ParquetRecordBatchReaderBuilder<File>> {
        let file = File::open(&self.path).context(|| self.path.display().to_string())?;
        Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.meta.clone()))
    }

    pub fn group_times(&self, g: usize) -> Result<Vec<i64>> {
        let name = || self.path.display().to_string();
        let reader = self
            .builder()?
            .with_projection(self.ts_only.clone())
            .with_row_groups(vec![g])
            .with_batch_size(self.meta.metadata().row_group(g).num_rows().max(1) as usize)
            .build()
            .context(name)?;
        let mut ts = Vec::new();
        for b in reader {
            let b = b.context(name)?;
            self.push_times(b.column(0).as_ref(), &mut ts)?;
        }
        Ok(ts)
    }

    /// Appends the event times (epoch ms) of a time column's values.
    pub fn push_times(&self, col: &dyn Array, ts: &mut Vec<i64>) -> Result<()> {
        let wrong = || {
            let want = if self.dates { "date32" } else { "timestamp[ms]" };
            Error(format!("{}: `{}` is {}, expected {want}", self.path.display(), self.time, col.data_type()))
        };
        if self.dates {
            let days = col.as_primitive_opt::<Date32Type>().ok_or_else(wrong)?;
            ts.extend(days.values().iter().map(|&d| d as i64 * DAY_MS));
        } else {
            ts.extend_from_slice(col.as_primitive_opt::<TimestampMillisecondType>().ok_or_else(wrong)?.values());
        }
        Ok(())
    }

    /// The event times of a batch read with [`TableFile::read`].
    pub fn times(&self, b: &RecordBatch) -> Result<Vec<i64>> {
        let col = b
            .column_by_name(&self.time)
            .ok_or_else(|| Error(format!("{}: no column `{}`", self.path.display(), self.time)))?;
        let mut ts = Vec::with_capacity(b.num_rows());
        self.push_times(col.as_ref(), &mut ts)?;
        Ok(ts)
    }

    /// The timestamp of in-lap row `idx` (< len).
    pub fn ts_at(&self, idx: u64) -> Result<i64> {
        let g = self.group_of(idx);
        let ts = self.group_times(g)?;
        ts.get((idx - self.starts[g]) as usize)
            .copied()
            .ok_or_else(|| Error(format!("{}: no row {idx}", self.path.display())))
    }

    /// The in-lap index of the first event with `ts >= t` (the row count if none).
    pub fn first_at_or_after(&self, t: i64) -> Result<u64> {
        let g = self.max_ts.partition_point(|&m| m < t);
        if g == self.max_ts.len() {
            return Ok(self.len());
        }
        let ts = self.group_times(g)?;
        Ok(self.starts[g] + ts.partition_point(|&x| x < t) as u64)
    }

    /// Reads in-lap rows `lo..hi`, which lie in row group `g`.
    pub fn read(&self, g: usize, lo: u64, hi: u64) -> Result<RecordBatch> {
        let (start, end) = self.group_rows(g);
        debug_assert!(start <= lo && lo <= hi && hi <= end);
        let name = || self.path.display().to_string();
        let mut selectors = Vec::with_capacity(3);
        if lo > start {
            selectors.push(RowSelector::skip((lo - start) as usize));
        }
        selectors.push(RowSelector::select((hi - lo) as usize));
        if hi < end {
            selectors.push(RowSelector::skip((end - hi) as usize));
        }
        let mut builder = self
            .builder()?
            .with_projection(self.projection.clone())
            .with_row_groups(vec![g])
            .with_batch_size((hi - lo).max(1) as usize);
        if selectors.len() > 1 {
            builder = builder.with_row_selection(RowSelection::from(selectors));
        }
        let reader = builder.build().context(name)?;
        let schema = reader.schema();
        let batches = reader.collect::<std::result::Result<Vec<_>, _>>().context(name)?;
        let batch = if batches.len() == 1 {
            batches.into_iter().next().expect("one batch")
        } else {
            concat_batches(&schema, &batches).context(name)?
        };
        if batch.num_rows() as u64 != hi - lo {
            return Err(Error(format!("{}: read {} rows, expected {}", name(), batch.num_rows(), hi - lo)));
        }
        Ok(batch)
    }
}

/// The smallest and largest value of a timestamp column of a Parquet file,
/// from its statistics (`None` for an empty file or one without them).
pub fn timestamp_range(path: &Path, column: &str) -> Result<Option<(i64, i64)>> {
    let name = || path.display().to_string();
    let file = File::open(path).context(name)?;
    let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).context(name)?;
    let descr = meta.metadata().file_metadata().schema_descr_ptr();
    let Some(leaf) = descr.columns().iter().position(|c| c.path().string() == column) else {
        return Err(Error(format!("{}: no column `{column}`", path.display())));
    };
    let mut range: Option<(i64, i64)> = None;
    for rg in meta.metadata().row_groups() {
        let Some(Statistics::Int64(s)) = rg.column(leaf).statistics() else { return Ok(None) };
        let (Some(&lo), Some(&hi)) = (s.min_opt(), s.max_opt()) else { return Ok(None) };
        range = Some(range.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
    }
    Ok(range)
}
