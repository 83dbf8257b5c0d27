//! Sinks: everything that leaves the process. A dataset is written into a
//! temporary sibling directory and swapped into place only when complete
//! ([`output`]), so a failed or interrupted run leaves nothing behind and
//! never touches what it was not asked to replace. The entry point is
//! [`write_tables`].

pub mod dims;
pub mod files;
mod float_lists;
pub mod manifest;
pub mod output;
pub mod parquet;

use std::ops::Range;
use std::path::Path;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

pub use output::OutputDir;

use crate::error::{Context, Error, Result};
use crate::events::{events_schema, orders_schema, Dataset};
use manifest::{FileInfo, Manifest};
pub use parquet::Special;
use parquet::Special::{DeltaLength, Dictionary, SortKey};

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
    pub batch: Box<dyn Fn(Range<usize>) -> RecordBatch + Sync + 'a>,
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

/// Writes every table, the tools and the manifest into `dir`, for any
/// kind. The first table (the largest) is written while the others are:
/// their encoding fills the gaps of its pipeline.
pub fn write_tables(
    dir: &Path,
    tables: &[&Table],
    enc: parquet::Encoding,
    tools: &[Tool],
    mut manifest: Manifest,
    on_table: &(dyn Fn(&str) + Sync),
) -> Result<Manifest> {
    let write = |t: &&Table| -> Result<(String, FileInfo)> {
        let file = format!("{}.parquet", t.name);
        if let Some(parent) = dir.join(&file).parent().filter(|p| *p != dir) {
            std::fs::create_dir_all(parent).context(|| format!("{}: cannot create", parent.display()))?;
        }
        let info = parquet::write_table(&dir.join(&file), t.schema.clone(), t.rows, enc, t.special, |r| (t.batch)(r))?;
        on_table(&t.name);
        Ok((file, info))
    };
    let (first, rest) = tables.split_first().ok_or_else(|| Error("a dataset needs at least one table".into()))?;
    let (first, rest) = rayon::join(|| write(first), || rest.iter().map(write).collect::<Result<Vec<_>>>());
    manifest.set_files(std::iter::once(first?).chain(rest?));
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

/// The ghost-kitchen tables: events, orders and the dimension tables.
pub fn kitchen_tables<'a>(ds: &'a Dataset) -> Vec<Table<'a>> {
    let mut tables = vec![
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
            rows: ds.sim.orders.len(),
            special: ORDERS_SPECIAL,
            batch: Box::new(|r| ds.orders_batch(r)),
        },
    ];
    tables.extend(DIMENSION_TABLES.iter().map(|&name| Table::whole(name, dims::table(name, ds))));
    tables
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
