//! The files of one run (or shard) written piece by piece: the streamed
//! clean tables, and with disorder each disordered stream's delivered table
//! and the truth, the disorder run in step ([`RunFiles`]). A shard writes
//! part files (`events/part-00003-of-00016`), the tables written whole in
//! shard 1 alone; with disorder it also simulates the days around its own
//! ([`RunFiles::spans`]), whose rows reach the disorder but not the files.

use std::ops::Range;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;

use super::Shard;
use crate::disorder::{delivered_streams, shard_span, Disorder, RunSeed};
use crate::error::Result;
use crate::scenario;
use crate::sinks::manifest::{Manifest, ShardInfo};
use crate::sinks::parquet::Encoding;
use crate::sinks::{write_manifest, write_parquet, OutputDir, StreamedTables, Table, Tool};

/// Whether a piece of days is the run's (or shard's) own, written to its
/// files, or only context for the disorder of a shard.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Days {
    Own,
    Context,
}

pub struct RunFiles<'p, 'w> {
    loaded: &'p scenario::Scenario,
    enc: Encoding,
    shard: Option<Shard>,
    run_days: u32,
    /// The days simulated: the own ones and those around them.
    span: Range<u32>,
    clean: StreamedTables,
    delivered: Delivered,
    /// The tables written whole at the end (dimension tables); their
    /// streams are disordered in every shard, written in shard 1 alone.
    whole: Vec<Table<'w>>,
    disorder: Disorder<'p>,
}

/// The delivered tables' files and names.
struct Delivered {
    files: StreamedTables,
    names: Vec<String>,
}

impl Delivered {
    fn emit(&mut self) -> impl FnMut(usize, &RecordBatch) -> Result<()> + Send + '_ {
        |k, b| self.files.push_to(k, &Table::whole(&self.names[k], b.clone()))
    }
}

impl<'p, 'w> RunFiles<'p, 'w> {
    /// Creates the files of tables shaped like `tables` (their rows unread)
    /// and of their delivered streams; `whole` is written at the end.
    pub fn create(
        dir: &Path,
        loaded: &'p scenario::Scenario,
        tables: &[Table],
        whole: Vec<Table<'w>>,
        m: &Manifest,
        (enc, shard): (Encoding, Option<Shard>),
    ) -> Result<Self> {
        let run_days = m.scenario.days;
        let own = shard.map_or(0..run_days, |sh| sh.days(run_days));
        let joins = (loaded.model.kind().joins)(m);
        let (span, frame) = shard_span(&loaded.disorder, &joins, m.scenario.start_ms, own, run_days);
        let run = RunSeed { seed: m.scenario.seed, start_ms: m.scenario.start_ms, frame };
        let all: Vec<&Table> = tables.iter().chain(&whole).collect();
        let disorder = Disorder::new(&loaded.disorder, &all, &joins, run, dir)?;
        let name = |table: &str| shard.map_or_else(|| table.to_string(), |sh| sh.part(table));
        let names: Vec<String> = tables.iter().map(|t| name(&t.name)).collect();
        let layouts: Vec<_> =
            tables.iter().zip(&names).map(|(t, n)| (n.as_str(), t.schema.clone(), t.special)).collect();
        let clean = StreamedTables::create(dir, &layouts, enc)?;
        let specs = disorder.delivered_tables();
        let names: Vec<String> = specs.iter().map(|(table, _, _)| name(table)).collect();
        let specs: Vec<_> =
            specs.iter().zip(&names).map(|((_, schema, sp), n)| (n.as_str(), schema.clone(), *sp)).collect();
        let delivered = Delivered { files: StreamedTables::create(dir, &specs, enc)?, names };
        Ok(RunFiles { loaded, enc, shard, run_days, span, clean, delivered, whole, disorder })
    }

    /// The days to simulate, in order, and whose they are: the own days
    /// and, for a disordered shard, the context days before and after.
    pub fn spans(&self) -> Vec<(Range<u32>, Days)> {
        let own = self.shard.map_or(0..self.run_days, |sh| sh.days(self.run_days));
        let spans = [
            (self.span.start..own.start, Days::Context),
            (own.clone(), Days::Own),
            (own.end..self.span.end, Days::Context),
        ];
        spans.into_iter().filter(|(d, _)| !d.is_empty()).collect()
    }

    /// Appends the next piece of every clean table (own days only), and the
    /// deliveries it lets leave to theirs, the two in parallel.
    pub fn push(&mut self, pieces: &[Table], days: Days) -> Result<()> {
        let (clean, disorder, delivered) = (&mut self.clean, &mut self.disorder, &mut self.delivered);
        let refs: Vec<&Table> = pieces.iter().collect();
        let write = || if days == Days::Own { clean.push(&refs) } else { Ok(()) };
        let (written, disordered) = rayon::join(write, || disorder.push(&refs, &mut delivered.emit()));
        written.and(disordered)
    }

    /// Finishes the run: the deliveries of the tables held whole and the
    /// last ones, then those tables, the truth, the tools and the manifest
    /// (row counts, the kind's streams, the disorder), swapped in.
    pub fn finish(mut self, dir: OutputDir, tools: &[Tool], mut manifest: Manifest) -> Result<(PathBuf, Manifest)> {
        let whole = std::mem::take(&mut self.whole);
        self.disorder.push(&whole.iter().collect::<Vec<_>>(), &mut self.delivered.emit())?;
        let (mut truth, info) = self.disorder.finish(&mut self.delivered.emit())?;
        let whole = if self.shard.is_none_or(|sh| sh.index == 1) { whole } else { Vec::new() };
        if let Some(sh) = self.shard {
            truth.iter_mut().for_each(|t| t.name = sh.part(&t.name));
        }
        let whole: Vec<&Table> = whole.iter().chain(&truth).collect();
        let streamed = self.clean.rows().chain(self.delivered.files.rows());
        manifest.tables = streamed.map(|(name, rows)| (name.to_string(), rows)).collect();
        manifest.tables.extend(whole.iter().map(|t| (t.name.clone(), t.rows as u64)));
        manifest.streams = delivered_streams((self.loaded.model.kind().streams)(), &info);
        manifest.disorder = info;
        manifest.shard = self.shard.map(|sh| shard_info(sh, self.run_days, self.enc));
        let mut written = self.clean.finish()?;
        written.extend(self.delivered.files.finish()?);
        if !whole.is_empty() {
            written.extend(write_parquet(dir.path(), &whole, self.enc, &|_| ())?);
        }
        let manifest = write_manifest(dir.path(), written, tools, manifest)?;
        Ok((dir.commit()?, manifest))
    }
}

/// What the manifest of shard `sh` of a run of `days` records.
fn shard_info(sh: Shard, days: u32, enc: Encoding) -> ShardInfo {
    let d = sh.days(days);
    ShardInfo {
        index: sh.index,
        count: sh.count,
        first_day: d.start,
        end_day: d.end,
        row_group_rows: enc.row_group_rows,
        zstd_level: enc.zstd_level,
    }
}
