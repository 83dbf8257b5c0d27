//! Sinks: everything that leaves the process. A dataset is written into a
//! temporary sibling directory and renamed into place only when complete, so
//! a failed or interrupted run leaves nothing behind. The entry point is
//! [`write_dataset`].

pub mod dims;
mod float_lists;
pub mod manifest;
pub mod parquet;

use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};
use crate::events::{events_schema, orders_schema, Dataset};
use manifest::{FileInfo, Manifest};
use parquet::Special::{self, DeltaLength, Dictionary, SortKey};

/// A directory being written; dropped without [`OutputDir::commit`] it disappears.
pub struct OutputDir {
    target: PathBuf,
    temp: tempfile::TempDir,
}

impl OutputDir {
    pub fn create(target: &Path) -> Result<OutputDir> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .context(|| format!("{}: cannot create the output directory", parent.display()))?;
        let name = target.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "dataset".into());
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}.partial-"))
            .tempdir_in(&parent)
            .context(|| format!("{}: cannot write in the output directory", parent.display()))?;
        Ok(OutputDir { target: target.to_path_buf(), temp })
    }

    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    /// Moves the finished directory into place, replacing an older dataset.
    pub fn commit(self) -> Result<PathBuf> {
        let target = self.target.clone();
        let temp = self.temp.keep();
        if target.exists() {
            let old = temp.with_extension("old");
            std::fs::rename(&target, &old)
                .context(|| format!("{}: cannot replace the old dataset", target.display()))?;
            std::fs::rename(&temp, &target)
                .context(|| format!("{}: cannot move the new dataset into place", target.display()))?;
            std::fs::remove_dir_all(&old).context(|| format!("{}: cannot remove the old dataset", old.display()))?;
        } else {
            std::fs::rename(&temp, &target)
                .context(|| format!("{}: cannot move the new dataset into place", target.display()))?;
        }
        Ok(target)
    }
}

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
