//! Sinks: everything that leaves the process. A dataset is written into a
//! temporary sibling directory and swapped into place only when complete
//! ([`output`]), so a failed or interrupted run leaves nothing behind and
//! never touches what it was not asked to replace. The entry point is
//! [`write_dataset`].

pub mod dims;
pub mod files;
mod float_lists;
pub mod manifest;
pub mod output;
pub mod parquet;

use std::path::Path;

pub use output::OutputDir;

use crate::error::{Context, Error, Result};
use crate::events::{events_schema, orders_schema, Dataset};
use manifest::{FileInfo, Manifest};
use parquet::Special::{self, DeltaLength, Dictionary, SortKey};

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

/// Writes every table, the Spark replay source and the manifest into `dir`.
/// The events table is written while the small tables are: their encoding
/// fills the gaps of the events' pipeline.
pub fn write_dataset(
    dir: &Path,
    ds: &Dataset,
    mut manifest: Manifest,
    on_table: &(dyn Fn(&str) + Sync),
) -> Result<Manifest> {
    let enc = parquet::Encoding { row_group_rows: ds.scenario.row_group_rows, zstd_level: ds.scenario.zstd_level };
    let table = |name: &str, write: &dyn Fn(&Path) -> Result<FileInfo>| -> Result<(String, FileInfo)> {
        let file = format!("{name}.parquet");
        let info = write(&dir.join(&file))?;
        on_table(name);
        Ok((file, info))
    };
    let (events, others) = rayon::join(
        || {
            table("events", &|p| {
                parquet::write_table(p, events_schema(), ds.sim.events.len(), enc, EVENTS_SPECIAL, |r| {
                    ds.events_batch(r)
                })
            })
        },
        || -> Result<Vec<(String, FileInfo)>> {
            let orders = table("orders", &|p| {
                parquet::write_table(p, orders_schema(), ds.sim.orders.len(), enc, ORDERS_SPECIAL, |r| {
                    ds.orders_batch(r)
                })
            })?;
            let dims = DIMENSION_TABLES.iter().map(|&name| {
                let batch = dims::table(name, ds);
                table(name, &|p| {
                    parquet::write_table(p, batch.schema(), batch.num_rows(), enc, &[], |r| {
                        batch.slice(r.start, r.len())
                    })
                })
            });
            std::iter::once(Ok(orders)).chain(dims).collect()
        },
    );
    manifest.set_files(std::iter::once(events?).chain(others?));
    let script = dir.join(REPLAY_SOURCE);
    std::fs::write(&script, REPLAY_SOURCE_PY).context(|| format!("{}: cannot write", script.display()))?;
    manifest.add_tool(REPLAY_SOURCE, REPLAY_SOURCE_PY.as_bytes());
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| Error(format!("manifest: {e}")))?;
    std::fs::write(dir.join("manifest.json"), json + "\n")
        .context(|| format!("{}: cannot write the manifest", dir.display()))?;
    Ok(manifest)
}
