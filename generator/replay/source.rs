//! The events table as replay reads it: `events.parquet`'s metadata (row
//! groups, their first row and largest `ts` from the column statistics) and
//! decoding of any row range into typed columns. Only the columns a record
//! needs are read, and only the row groups that hold the range; rows are in
//! (ts, order id, sequence) order, so a row's index is its in-lap offset and
//! the first row at or after a time is found from the statistics plus one
//! `ts` column chunk.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{
    Array, AsArray, Decimal128Array, DictionaryArray, Float32Array, Int16Array, Int8Array, ListArray, RecordBatch,
    RecordBatchReader, StringArray,
};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Int8Type, TimestampMillisecondType};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::arrow::ProjectionMask;
use parquet::file::statistics::Statistics;

use crate::error::{Context, Error, Result};

/// The columns a record is built from, in the order they are projected.
const COLUMNS: [&str; 13] = [
    "ts",
    "order_id",
    "location_id",
    "event_type",
    "sequence",
    "customer_lat",
    "customer_lon",
    "customer_addr",
    "items",
    "route",
    "lat",
    "lon",
    "progress_pct",
];

/// How an event's body is built, from its event type's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    Created,
    PickedUp,
    Ping,
    Delivered,
    Empty,
}

impl BodyKind {
    pub fn of(event_type: &str) -> BodyKind {
        match event_type {
            "order_created" => BodyKind::Created,
            "driver_picked_up" => BodyKind::PickedUp,
            "driver_ping" => BodyKind::Ping,
            "delivered" => BodyKind::Delivered,
            _ => BodyKind::Empty,
        }
    }
}

/// `events.parquet`, opened once; cheap to share between threads.
#[derive(Clone)]
pub struct EventsFile {
    path: PathBuf,
    meta: ArrowReaderMetadata,
    projection: ProjectionMask,
    ts_only: ProjectionMask,
    /// In-lap index of each row group's first row, then the row count.
    starts: Vec<u64>,
    /// Largest `ts` of each row group.
    max_ts: Vec<i64>,
}

impl EventsFile {
    pub fn open(dir: &Path) -> Result<EventsFile> {
        let path = dir.join("events.parquet");
        let name = || format!("{}: not a simkit dataset (unreadable events.parquet)", dir.display());
        let file = File::open(&path).context(name)?;
        let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).context(name)?;
        let schema = meta.schema().clone();
        let mut roots = Vec::new();
        for col in COLUMNS {
            let (i, _) = schema
                .column_with_name(col)
                .ok_or_else(|| Error(format!("{}: no column `{col}`: not a simkit events table", path.display())))?;
            roots.push(i);
        }
        let descr = meta.metadata().file_metadata().schema_descr_ptr();
        let projection = ProjectionMask::roots(&descr, roots.iter().copied());
        let ts_only = ProjectionMask::roots(&descr, [roots[0]]);
        let ts_leaf = descr
            .columns()
            .iter()
            .position(|c| c.path().string() == "ts")
            .ok_or_else(|| Error(format!("{}: no `ts` column", path.display())))?;
        let mut events = EventsFile { path, meta, projection, ts_only, starts: vec![0], max_ts: Vec::new() };
        let groups = events.meta.metadata().row_groups().to_vec();
        for (g, rg) in groups.iter().enumerate() {
            let rows = rg.num_rows() as u64;
            events.starts.push(events.starts[g] + rows);
            let stat = match rg.column(ts_leaf).statistics() {
                Some(Statistics::Int64(s)) => s.max_opt().copied(),
                _ => None,
            };
            let max = match stat {
                Some(m) => m,
                None if rows == 0 => i64::MIN,
                None => events.read_ts(g)?.iter().copied().max().unwrap_or(i64::MIN),
            };
            events.max_ts.push(max);
        }
        Ok(events)
    }

    /// Events in the dataset (one lap).
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
                .read_ts(g)?
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

    fn read_ts(&self, g: usize) -> Result<Vec<i64>> {
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
            let col = b.column(0).as_primitive_opt::<TimestampMillisecondType>().ok_or_else(|| {
                Error(format!("{}: `ts` is {}, expected timestamp[ms]", self.path.display(), b.column(0).data_type()))
            })?;
            ts.extend_from_slice(col.values());
        }
        Ok(ts)
    }

    /// The timestamp of in-lap row `idx` (< len).
    pub fn ts_at(&self, idx: u64) -> Result<i64> {
        let g = self.group_of(idx);
        let ts = self.read_ts(g)?;
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
        let ts = self.read_ts(g)?;
        Ok(self.starts[g] + ts.partition_point(|&x| x < t) as u64)
    }

    /// Decodes in-lap rows `lo..hi`, which lie in row group `g`.
    pub fn read(&self, g: usize, lo: u64, hi: u64) -> Result<Decoded> {
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
        Decoded::new(&self.path, lo, &batch)
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

/// Decoded rows with their columns typed, ready to encode.
pub struct Decoded {
    /// In-lap index of row 0.
    pub first: u64,
    pub ts: Vec<i64>,
    pub order_id: StringArray,
    pub location_id: Int8Array,
    /// Per row, an index into `kinds`.
    pub kind_key: Vec<u8>,
    /// Per event type: its JSON-escaped name and body kind.
    pub kinds: Vec<(Vec<u8>, BodyKind)>,
    pub sequence: Int16Array,
    pub customer_lat: Float32Array,
    pub customer_lon: Float32Array,
    pub customer_addr: StringArray,
    pub items: ListArray,
    pub item_id: Int16Array,
    pub item_brand: Int8Array,
    pub item_name: StringArray,
    pub item_price: Decimal128Array,
    pub item_qty: Int8Array,
    pub route: ListArray,
    pub route_lat: Float32Array,
    pub route_lon: Float32Array,
    pub lat: Float32Array,
    pub lon: Float32Array,
    pub progress: Float32Array,
}

fn typed<T: Array + Clone + 'static>(path: &Path, name: &str, a: &dyn Array, want: &str) -> Result<T> {
    a.as_any()
        .downcast_ref::<T>()
        .cloned()
        .ok_or_else(|| Error(format!("{}: column `{name}` is {}, expected {want}", path.display(), a.data_type())))
}

impl Decoded {
    fn new(path: &Path, first: u64, b: &RecordBatch) -> Result<Decoded> {
        let col = |n: &str| b.column_by_name(n).ok_or_else(|| Error(format!("{}: no column `{n}`", path.display())));
        let ts = col("ts")?
            .as_primitive_opt::<TimestampMillisecondType>()
            .ok_or_else(|| Error(format!("{}: `ts` is not timestamp[ms]", path.display())))?
            .values()
            .to_vec();
        let et = col("event_type")?;
        let dict_type = DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8));
        let et = if et.data_type() == &dict_type {
            et.clone()
        } else {
            cast(et, &dict_type).context(|| path.display().to_string())?
        };
        let et: &DictionaryArray<Int8Type> = et.as_dictionary();
        let names = et.values().as_string::<i32>();
        let mut kinds = Vec::with_capacity(names.len());
        for i in 0..names.len() {
            let mut esc = Vec::new();
            super::numfmt::write_escaped(&mut esc, names.value(i).as_bytes());
            kinds.push((esc, BodyKind::of(names.value(i))));
        }
        let kind_key = et.keys().values().iter().map(|&k| k as u8).collect();

        let list = |n: &str| -> Result<ListArray> { typed::<ListArray>(path, n, col(n)?.as_ref(), "a list") };
        let items = list("items")?;
        let route = list("route")?;
        let item_values = items
            .values()
            .as_struct_opt()
            .cloned()
            .ok_or_else(|| Error(format!("{}: `items` elements are not structs", path.display())))?;
        let route_values = route
            .values()
            .as_struct_opt()
            .cloned()
            .ok_or_else(|| Error(format!("{}: `route` elements are not structs", path.display())))?;
        let field = |s: &arrow::array::StructArray, n: &str| {
            s.column_by_name(n).cloned().ok_or_else(|| Error(format!("{}: no field `{n}`", path.display())))
        };
        let item_price: Decimal128Array =
            typed(path, "items.price", field(&item_values, "price")?.as_ref(), "decimal128(12, 2)")?;
        if item_price.scale() != 2 {
            return Err(Error(format!(
                "{}: `items.price` has scale {}, expected 2",
                path.display(),
                item_price.scale()
            )));
        }
        Ok(Decoded {
            first,
            item_price,
            ts,
            order_id: typed(path, "order_id", col("order_id")?.as_ref(), "utf8")?,
            location_id: typed(path, "location_id", col("location_id")?.as_ref(), "int8")?,
            kind_key,
            kinds,
            sequence: typed(path, "sequence", col("sequence")?.as_ref(), "int16")?,
            customer_lat: typed(path, "customer_lat", col("customer_lat")?.as_ref(), "float32")?,
            customer_lon: typed(path, "customer_lon", col("customer_lon")?.as_ref(), "float32")?,
            customer_addr: typed(path, "customer_addr", col("customer_addr")?.as_ref(), "utf8")?,
            item_id: typed(path, "items.item_id", field(&item_values, "item_id")?.as_ref(), "int16")?,
            item_brand: typed(path, "items.brand_id", field(&item_values, "brand_id")?.as_ref(), "int8")?,
            item_name: typed(path, "items.name", field(&item_values, "name")?.as_ref(), "utf8")?,
            item_qty: typed(path, "items.qty", field(&item_values, "qty")?.as_ref(), "int8")?,
            route_lat: typed(path, "route.lat", field(&route_values, "lat")?.as_ref(), "float32")?,
            route_lon: typed(path, "route.lon", field(&route_values, "lon")?.as_ref(), "float32")?,
            items,
            route,
            lat: typed(path, "lat", col("lat")?.as_ref(), "float32")?,
            lon: typed(path, "lon", col("lon")?.as_ref(), "float32")?,
            progress: typed(path, "progress_pct", col("progress_pct")?.as_ref(), "float32")?,
        })
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
}
