//! Sinks: everything that leaves the process. A dataset is written into a
//! temporary sibling directory and swapped into place only when complete
//! ([`output`]), so a failed or interrupted run leaves nothing behind and
//! never touches what it was not asked to replace. The entry points are
//! [`StreamedTables`] (tables written piece by piece), [`write_parquet`]
//! (tables held whole) and [`write_manifest`].

pub mod dims;
pub mod files;
mod float_lists;
pub mod manifest;
pub mod output;
pub mod parquet;
pub mod spill;

use std::ops::Range;
use std::path::Path;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use rayon::prelude::*;

pub use output::OutputDir;

use crate::error::{Context, Error, Result};
use crate::events::{events_schema, orders_schema, Dataset};
use manifest::{FileInfo, Manifest};
use parquet::Special::{DeltaLength, Dictionary, SortKey};
pub use parquet::{Special, TableWriter};

/// The files of a dataset, in manifest order.
pub const DIMENSION_TABLES: [&str; 7] =
    ["locations", "brands", "brand_locations", "menus", "categories", "items", "event_types"];

/// The PySpark streaming source written beside every dataset.
pub const REPLAY_SOURCE: &str = "replay_source.py";
const REPLAY_SOURCE_PY: &str = include_str!("../replay/replay_source.py");

/// Columns treated differently from the type defaults (see [`parquet::Special`]).
const EVENTS_SPECIAL: &[Special] = &[DeltaLength("order_id"), Dictionary("progress_pct"), SortKey("ts")];
/// Orders are in (day, location) partitions, each by creation time.
const ORDERS_SPECIAL: &[Special] = &[DeltaLength("order_id"), SortKey("created_at")];

/// One table of a dataset as the Parquet writer takes it: a schema, a row
/// count and a function that builds any range of rows.
pub struct Table<'a> {
    /// The file is `<name>.parquet` (a name may hold a folder: `truth/windows`).
    pub name: String,
    pub schema: SchemaRef,
    pub rows: usize,
    pub special: &'static [Special],
    pub batch: Box<dyn Fn(Range<usize>) -> RecordBatch + Send + Sync + 'a>,
}

impl<'a> Table<'a> {
    /// A small table built whole, written from slices of it.
    pub fn whole(name: &str, batch: RecordBatch) -> Table<'a> {
        Table {
            name: name.to_string(),
            schema: batch.schema(),
            rows: batch.num_rows(),
            special: &[],
            batch: Box::new(move |r| batch.slice(r.start, r.len())),
        }
    }
}

/// A file shipped beside the data (not part of the fingerprint).
pub struct Tool {
    pub name: &'static str,
    pub content: &'static str,
}

/// Writes each table to `<name>.parquet` in `dir`; returns the files.
pub fn write_parquet(
    dir: &Path,
    tables: &[&Table],
    enc: parquet::Encoding,
    on_table: &(dyn Fn(&str) + Sync),
) -> Result<Vec<(String, FileInfo)>> {
    let write = |t: &&Table| -> Result<(String, FileInfo)> {
        let (file, path) = table_path(dir, &t.name)?;
        let info = parquet::write_table(&path, t.schema.clone(), t.rows, enc, t.special, |r| (t.batch)(r))?;
        on_table(&t.name);
        Ok((file, info))
    };
    let (first, rest) = tables.split_first().ok_or_else(|| Error("a dataset needs at least one table".into()))?;
    let (first, rest) = rayon::join(|| write(first), || rest.iter().map(write).collect::<Result<Vec<_>>>());
    Ok(std::iter::once(first?).chain(rest?).collect())
}

/// A table's file name in the dataset and its path, its folder created.
fn table_path(dir: &Path, name: &str) -> Result<(String, std::path::PathBuf)> {
    let file = format!("{name}.parquet");
    let path = dir.join(&file);
    if let Some(parent) = path.parent().filter(|p| *p != dir) {
        std::fs::create_dir_all(parent).context(|| format!("{}: cannot create", parent.display()))?;
    }
    Ok((file, path))
}

/// Writes the tools and the manifest listing `files`; returns the manifest.
pub fn write_manifest(
    dir: &Path,
    files: Vec<(String, FileInfo)>,
    tools: &[Tool],
    mut manifest: Manifest,
) -> Result<Manifest> {
    manifest.set_files(files);
    let replay_source = Tool { name: REPLAY_SOURCE, content: REPLAY_SOURCE_PY };
    for tool in tools.iter().chain([&replay_source]) {
        let path = dir.join(tool.name);
        std::fs::write(&path, tool.content).context(|| format!("{}: cannot write", path.display()))?;
        manifest.add_tool(tool.name, tool.content.as_bytes());
    }
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| Error(format!("manifest: {e}")))?;
    std::fs::write(dir.join("manifest.json"), json + "\n")
        .context(|| format!("{}: cannot write the manifest", dir.display()))?;
    Ok(manifest)
}

/// Tables written piece by piece, in step: each [`push`](Self::push) gives
/// every table its next rows (a [`Table`] over them), so a run of any
/// length is written while only a piece of it is in memory. Row groups are
/// cut at fixed row counts across pieces: the files are the bytes one
/// [`write_parquet`] of the whole tables writes.
pub struct StreamedTables {
    tables: Vec<(String, u64, TableWriter)>,
}

impl StreamedTables {
    /// Creates `<name>.parquet` in `dir` for each `(name, schema, special)`
    /// (a name may hold a folder: `events/part-00001-of-00004`).
    pub fn create(dir: &Path, specs: &[(&str, SchemaRef, &[Special])], enc: parquet::Encoding) -> Result<Self> {
        let tables = specs
            .iter()
            .map(|(name, schema, special)| {
                let (_, path) = table_path(dir, name)?;
                Ok((name.to_string(), 0, TableWriter::create(&path, schema.clone(), enc, special)?))
            })
            .collect::<Result<_>>()?;
        Ok(StreamedTables { tables })
    }

    /// Appends each piece to its table (one piece per table, in the order
    /// created), the tables in parallel.
    pub fn push(&mut self, pieces: &[&Table]) -> Result<()> {
        if pieces.len() != self.tables.len() {
            return Err(Error("streamed pieces do not match their tables".into()));
        }
        let results: Vec<Result<()>> = self
            .tables
            .par_iter_mut()
            .zip(pieces)
            .map(|((_, rows, writer), piece)| {
                *rows += piece.rows as u64;
                writer.push(piece.rows, |r| (piece.batch)(r))
            })
            .collect();
        results.into_iter().collect()
    }

    /// Appends `piece` to the `i`-th table alone.
    pub fn push_to(&mut self, i: usize, piece: &Table) -> Result<()> {
        let (_, rows, writer) = self.tables.get_mut(i).ok_or_else(|| Error(format!("no streamed table number {i}")))?;
        *rows += piece.rows as u64;
        writer.push(piece.rows, |r| (piece.batch)(r))
    }

    /// Rows pushed so far, per table.
    pub fn rows(&self) -> impl Iterator<Item = (&str, u64)> {
        self.tables.iter().map(|(name, rows, _)| (name.as_str(), *rows))
    }

    /// Finishes every file; returns them as the manifest lists them.
    pub fn finish(self) -> Result<Vec<(String, FileInfo)>> {
        self.tables.into_par_iter().map(|(name, _, writer)| Ok((format!("{name}.parquet"), writer.finish()?))).collect()
    }
}

/// The ghost kitchen's streamed tables and their columns' encodings.
pub const KITCHEN_STREAMED: &[(&str, &[Special])] = &[("events", EVENTS_SPECIAL), ("orders", ORDERS_SPECIAL)];

/// The events and orders of `ds` as the next pieces of those tables: all
/// its events, and its orders in `new_orders` (the rest were written with
/// an earlier piece).
pub fn kitchen_pieces<'a>(ds: &'a Dataset, new_orders: Range<usize>) -> [Table<'a>; 2] {
    [
        Table {
            name: "events".into(),
            schema: events_schema(),
            rows: ds.sim.events.len(),
            special: EVENTS_SPECIAL,
            batch: Box::new(|r| ds.events_batch(r)),
        },
        Table {
            name: "orders".into(),
            schema: orders_schema(),
            rows: new_orders.len(),
            special: ORDERS_SPECIAL,
            batch: Box::new(move |r| ds.orders_batch(new_orders.start + r.start..new_orders.start + r.end)),
        },
    ]
}

/// The ghost kitchen's dimension tables (from the scenario and the roads alone).
pub fn kitchen_dimensions<'a>(ds: &Dataset) -> Vec<Table<'a>> {
    DIMENSION_TABLES.iter().map(|&name| Table::whole(name, dims::table(name, ds))).collect()
}

/// The ghost kitchen's one stream: `events`, each row an event record keyed
/// by its order id.
pub fn kitchen_streams() -> Vec<crate::streams::StreamSpec> {
    use crate::streams::{RecordFormat, StreamSpec};
    vec![StreamSpec {
        name: "events".into(),
        table: "events".into(),
        time: "ts".into(),
        key: "order_id".into(),
        record: RecordFormat::GhostKitchenEvent,
        fields: Vec::new(),
        proto: None,
        late_ms: crate::limits::MAX_ORDER_SPAN_MS,
    }]
}
