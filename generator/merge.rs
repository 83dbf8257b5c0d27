//! Merge: assembles the shards of one run (`generate --shard i/N`) into one
//! dataset. Nothing in a shard is trusted: each file is checked against its
//! shard's manifest, the shards must be of one scenario, every index from 1
//! to N must be there once, and their days must follow one another. Each
//! of the kind's streamed tables (its registry entry names them and their
//! encodings) is then re-read part by part in shard order and written
//! through the same writer a single run uses, row groups cut across parts,
//! so the merged files (and the manifest, and its fingerprint) are those of
//! the run generated in one piece. The entry point is [`merge`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;

use crate::disorder::shards::{merge_truth, ShardTruth};
use crate::disorder::DELIVERED_SPECIAL;
use crate::error::{Context, Error, Result};
use crate::sinks::manifest::{part_name, Manifest, ShardInfo};
use crate::sinks::parquet::Encoding;
use crate::sinks::{write_manifest, OutputDir, StreamedTables, Table};
use crate::verify::{self, batch_reader, Problems};

/// A shard as read: its directory, manifest and place in the run.
struct Part {
    dir: PathBuf,
    manifest: Manifest,
    shard: ShardInfo,
}

/// Merges the shard directories `shards` (any order) into `out`; returns
/// the dataset's manifest.
pub fn merge(shards: &[PathBuf], out: &Path) -> Result<Manifest> {
    let parts = read_parts(shards)?;
    let first = &parts[0];
    let kind = crate::kinds::lookup(&first.manifest.scenario.kind)?;
    let enc = Encoding { row_group_rows: first.shard.row_group_rows, zstd_level: first.shard.zstd_level };
    let dir = OutputDir::create(out, shards)?;
    let part_file = |p: &Part, table: &str| format!("{}.parquet", part_name(table, p.shard.index, p.shard.count));
    // The kind's growing tables, then each disordered stream's deliveries.
    let delivered = first.manifest.disorder.values().map(|d| (d.truth.delivered.as_str(), DELIVERED_SPECIAL));
    let specs = (kind.streamed.iter().copied().chain(delivered))
        .map(|(table, special)| Ok((table, parquet_schema(&first.dir.join(part_file(first, table)))?, special)))
        .collect::<Result<Vec<_>>>()?;
    let mut files = StreamedTables::create(dir.path(), &specs, enc)?;
    for part in &parts {
        for (i, (table, schema, _)) in specs.iter().enumerate() {
            let file = part_file(part, table);
            for batch in batch_reader(&part.dir.join(&file))? {
                let batch = RecordBatch::try_new(schema.clone(), batch?.columns().to_vec())
                    .context(|| format!("{}: {file}: not the schema of the first shard's part", part.dir.display()))?;
                files.push_to(i, &Table::whole(table, batch))?;
            }
        }
    }
    let mut manifest = first.manifest.clone();
    manifest.shard = None;
    manifest.tables = files.rows().map(|(name, rows)| (name.to_string(), rows)).collect();
    let mut written = files.finish()?;
    if !manifest.disorder.is_empty() {
        let shards: Vec<ShardTruth> = parts
            .iter()
            .map(|p| ShardTruth {
                dir: &p.dir,
                index: p.shard.index,
                count: p.shard.count,
                disorder: &p.manifest.disorder,
            })
            .collect();
        let truth = merge_truth(&shards, dir.path(), enc, &mut manifest.disorder, &mut manifest.tables)?;
        written.extend(truth);
    }
    // The tables written whole, by the first shard alone, and the tools, as they are.
    let own_part = format!("{}.parquet", part_name("", first.shard.index, first.shard.count));
    for (name, info) in first.manifest.files.iter().filter(|(name, _)| !name.ends_with(&own_part)) {
        copy(&first.dir, dir.path(), name)?;
        written.push((name.clone(), info.clone()));
        let table = name.trim_end_matches(".parquet");
        manifest.tables.insert(table.to_string(), first.manifest.tables.get(table).copied().unwrap_or(0));
    }
    for tool in first.manifest.tools.keys().filter(|t| *t != crate::sinks::REPLAY_SOURCE) {
        copy(&first.dir, dir.path(), tool)?;
    }
    add_counts(&mut manifest, &parts);
    let manifest = write_manifest(dir.path(), written, &[], manifest)?;
    dir.commit()?;
    Ok(manifest)
}

/// Copies the file `name` (which may hold a folder) from `from` to `to`.
fn copy(from: &Path, to: &Path, name: &str) -> Result<()> {
    let target = to.join(name);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).context(|| format!("{}: cannot create", parent.display()))?;
    }
    std::fs::copy(from.join(name), &target).context(|| format!("{}: cannot copy {name}", from.display()))?;
    Ok(())
}

/// The Arrow schema a Parquet file was written with.
pub(crate) fn parquet_schema(path: &Path) -> Result<arrow::datatypes::SchemaRef> {
    let name = || path.display().to_string();
    let file = std::fs::File::open(path).context(name)?;
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).context(name)?;
    Ok(builder.schema().clone())
}

/// The shards' orders and events per location and type, added up.
fn add_counts(m: &mut Manifest, parts: &[Part]) {
    for (i, loc) in m.locations.iter_mut().enumerate() {
        loc.orders = parts.iter().filter_map(|p| p.manifest.locations.get(i)).map(|l| l.orders).sum();
        loc.events = parts.iter().filter_map(|p| p.manifest.locations.get(i)).map(|l| l.events).sum();
    }
    let mut types: BTreeMap<String, u64> = BTreeMap::new();
    for p in parts {
        for (t, n) in &p.manifest.event_types {
            *types.entry(t.clone()).or_default() += n;
        }
    }
    m.event_types = types;
}

/// Reads and checks every shard; returns them by index.
fn read_parts(shards: &[PathBuf]) -> Result<Vec<Part>> {
    let mut parts = Vec::with_capacity(shards.len());
    for dir in shards {
        let manifest = Manifest::read(dir)?;
        let shard = manifest.shard.clone().ok_or_else(|| {
            Error(format!("{}: not a shard (its manifest has no `shard`; generate with --shard i/N)", dir.display()))
        })?;
        let mut problems = Problems::default();
        if !verify::check_files(dir, &manifest, &mut problems)? {
            return Err(problems.into_error(dir).unwrap_or_else(|| Error(format!("{}: damaged files", dir.display()))));
        }
        parts.push(Part { dir: dir.clone(), manifest, shard });
    }
    parts.sort_by_key(|p| p.shard.index);
    let first = parts.first().ok_or_else(|| Error("merge: give the shard directories".into()))?;
    let n = first.shard.count;
    for p in &parts {
        let same = p.manifest.scenario == first.manifest.scenario
            && p.shard.count == n
            && (p.shard.row_group_rows, p.shard.zstd_level) == (first.shard.row_group_rows, first.shard.zstd_level);
        if !same {
            return Err(Error(format!(
                "{}: a shard of another run than {} (scenario, seed, days, shard count or encoding differ)",
                p.dir.display(),
                first.dir.display()
            )));
        }
    }
    for pair in parts.windows(2) {
        if pair[0].shard.index == pair[1].shard.index {
            return Err(Error(format!(
                "shard {} of {n} is given twice: {} and {}",
                pair[0].shard.index,
                pair[0].dir.display(),
                pair[1].dir.display()
            )));
        }
    }
    let have: Vec<u32> = parts.iter().map(|p| p.shard.index).collect();
    if let Some(missing) = (1..=n).find(|i| !have.contains(i)) {
        return Err(Error(format!("shard {missing} of {n} is missing (given: {have:?})")));
    }
    let days = first.manifest.scenario.days;
    let mut next = 0;
    for p in &parts {
        if p.shard.first_day != next || p.shard.end_day <= p.shard.first_day {
            return Err(Error(format!(
                "{}: shard {} of {n} holds days {}..{}, expected days from {next}",
                p.dir.display(),
                p.shard.index,
                p.shard.first_day,
                p.shard.end_day
            )));
        }
        next = p.shard.end_day;
    }
    if next != days {
        return Err(Error(format!("the shards end at day {next}, the run has {days} days")));
    }
    Ok(parts)
}
