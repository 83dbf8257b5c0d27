//! The disorder of a sharded run put back together (for `simkit merge`).
//! Each shard holds the truth of its frame ([`super::frame`]): windows
//! that start in it, counts of its records, deliveries and distinct events,
//! join matches of its right rows. Truth tables list their rows segment by
//! segment (stream, watermark delay, window size, key group), windows in
//! time order within each, so the merged tables take each segment from
//! every shard in turn; the counts and matches add up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray, Int64Array, RecordBatch};
use arrow::datatypes::Int64Type;

use super::{truth, Counts, DisorderInfo, TRUTH_TABLES};
use crate::error::{Context, Error, Result};
use crate::sinks::manifest::{part_name, FileInfo};
use crate::sinks::parquet::Encoding;
use crate::sinks::{write_parquet, StreamedTables, Table};
use crate::verify::batch_reader;

/// One segment of a truth table: (stream, watermark delay, window size, key field).
type SegmentKey = (String, Option<i64>, i64, Option<String>);

/// The segments of the windows (`watermarks` false) or watermarks table, in order.
fn segments(info: &BTreeMap<String, DisorderInfo>, watermarks: bool) -> Vec<SegmentKey> {
    let mut out = Vec::new();
    for (stream, d) in info {
        let t = &d.truth;
        let delays: Vec<Option<i64>> =
            if watermarks { t.watermark_s.iter().map(|&d| Some(d as i64)).collect() } else { vec![None] };
        let fields: Vec<Option<String>> = std::iter::once(None).chain(t.keys.iter().cloned().map(Some)).collect();
        for delay in &delays {
            for &size in &t.window_s {
                out.extend(fields.iter().map(|f| (stream.clone(), *delay, size as i64, f.clone())));
            }
        }
    }
    out
}

/// A shard's truth table read in order, a batch at a time.
struct Cursor {
    batches: Box<dyn Iterator<Item = Result<RecordBatch>>>,
    head: Option<RecordBatch>,
}

impl Cursor {
    fn open(path: &Path) -> Result<Cursor> {
        Ok(Cursor { batches: Box::new(batch_reader(path)?), head: None })
    }

    /// Hands `out` the leading rows of segment `seg`, a batch at a time.
    fn take(&mut self, seg: &SegmentKey, out: &mut dyn FnMut(RecordBatch) -> Result<()>) -> Result<()> {
        loop {
            let b = match self.head.take().filter(|b| b.num_rows() > 0) {
                Some(b) => b,
                None => match self.batches.next() {
                    Some(b) => b?,
                    None => return Ok(()),
                },
            };
            let n = (0..b.num_rows()).take_while(|&i| segment_of(&b, i).as_ref() == Some(seg)).count();
            let len = b.num_rows();
            if n > 0 {
                out(b.slice(0, n))?;
            }
            self.head = Some(b.slice(n, len - n));
            if n < len {
                return Ok(());
            }
        }
    }
}

impl Cursor {
    /// The rows not taken.
    fn rows_left(&mut self) -> Result<usize> {
        let mut n = self.head.take().map_or(0, |b| b.num_rows());
        for b in &mut self.batches {
            n += b?.num_rows();
        }
        Ok(n)
    }
}

/// The segment of row `i` (`None`: not a truth table's row).
fn segment_of(b: &RecordBatch, i: usize) -> Option<SegmentKey> {
    let text = |name: &str| {
        let c = b.column_by_name(name)?.as_string_opt::<i32>()?;
        Some(c.is_valid(i).then(|| c.value(i).to_string()))
    };
    let int = |name: &str| b.column_by_name(name)?.as_primitive_opt::<Int64Type>().map(|c| c.value(i));
    let delay = b.column_by_name("delay_s").map(|_| int("delay_s"));
    Some((text("stream")??, delay.map_or(Some(None), |d| d.map(Some))?, int("size_s")?, text("key_field")?))
}

/// One shard as the merge reads its disorder.
pub struct ShardTruth<'a> {
    pub dir: &'a Path,
    pub index: u32,
    pub count: u32,
    pub disorder: &'a BTreeMap<String, DisorderInfo>,
}

impl ShardTruth<'_> {
    fn path(&self, table: &str) -> PathBuf {
        self.dir.join(format!("{}.parquet", part_name(table, self.index, self.count)))
    }
}

/// The merged truth tables of `shards` (in index order) written into
/// `out`; adds their rows to `tables` and sums the shards' counts into
/// `info`; returns the files written.
pub fn merge_truth(
    shards: &[ShardTruth],
    out: &Path,
    enc: Encoding,
    info: &mut BTreeMap<String, DisorderInfo>,
    tables: &mut BTreeMap<String, u64>,
) -> Result<Vec<(String, FileInfo)>> {
    let mut written = Vec::new();
    for (table, watermarks) in [(TRUTH_TABLES[0], false), (TRUTH_TABLES[1], true)] {
        let first = shards.first().ok_or_else(|| Error("merge: no shards".into()))?;
        let schema = crate::merge::parquet_schema(&first.path(table))?;
        let mut files = StreamedTables::create(out, &[(table, schema.clone(), &[])], enc)?;
        let mut cursors = shards.iter().map(|p| Cursor::open(&p.path(table))).collect::<Result<Vec<_>>>()?;
        for seg in segments(info, watermarks) {
            for c in &mut cursors {
                c.take(&seg, &mut |b| {
                    let b = RecordBatch::try_new(schema.clone(), b.columns().to_vec())
                        .context(|| format!("{table}: a shard's part has another schema"))?;
                    files.push_to(0, &Table::whole(table, b))
                })?;
            }
        }
        for (c, p) in cursors.iter_mut().zip(shards) {
            if c.rows_left()? > 0 {
                return Err(Error(format!("{}: {table}: rows of no stream's segment", p.dir.display())));
            }
        }
        tables.extend(files.rows().map(|(n, r)| (n.to_string(), r)));
        written.extend(files.finish()?);
    }
    for (stream, d) in info.iter_mut() {
        let parts = shards.iter().filter_map(|s| s.disorder.get(stream));
        d.counts = parts.fold(Counts::default(), |a, s| add(a, &s.counts));
    }
    let counts: Vec<(String, Counts)> = info.iter().map(|(s, d)| (s.clone(), d.counts.clone())).collect();
    let mut whole = vec![Table::whole(TRUTH_TABLES[2], truth::streams_batch(&counts))];
    let joins_parts: Vec<_> = shards.iter().map(|p| p.path(TRUTH_TABLES[3])).filter(|p| p.exists()).collect();
    if !joins_parts.is_empty() {
        whole.push(Table::whole(TRUTH_TABLES[3], summed_joins(&joins_parts)?));
    }
    tables.extend(whole.iter().map(|t| (t.name.clone(), t.rows as u64)));
    written.extend(write_parquet(out, &whole.iter().collect::<Vec<_>>(), enc, &|_| ())?);
    Ok(written)
}

fn add(a: Counts, b: &Counts) -> Counts {
    Counts {
        records: a.records + b.records,
        delivered: a.delivered + b.delivered,
        late: a.late + b.late,
        duplicates: a.duplicates + b.duplicates,
        dropped: a.dropped + b.dropped,
        distinct_events: a.distinct_events + b.distinct_events,
    }
}

/// The shards' join truth with each join's matches added up (the joins
/// themselves must agree).
fn summed_joins(parts: &[PathBuf]) -> Result<RecordBatch> {
    let read = |p: &PathBuf| -> Result<RecordBatch> {
        let batches = batch_reader(p)?.collect::<Result<Vec<_>>>()?;
        let schema = batches.first().map(|b| b.schema()).ok_or_else(|| Error(format!("{}: empty", p.display())))?;
        arrow::compute::concat_batches(&schema, &batches).context(|| p.display().to_string())
    };
    let first = read(&parts[0])?;
    let matches =
        |b: &RecordBatch| b.column_by_name("matches").and_then(|c| c.as_primitive_opt::<Int64Type>().cloned());
    let mut sum =
        matches(&first).ok_or_else(|| Error(format!("{}: no `matches` column", parts[0].display())))?.values().to_vec();
    for p in &parts[1..] {
        let b = read(p)?;
        let same = b.schema() == first.schema()
            && b.num_rows() == first.num_rows()
            && b.columns()
                .iter()
                .zip(first.columns())
                .zip(first.schema().fields())
                .all(|((x, y), f)| f.name() == "matches" || x == y);
        let m =
            matches(&b).filter(|_| same).ok_or_else(|| Error(format!("{}: the joins of another run", p.display())))?;
        sum.iter_mut().zip(m.values()).for_each(|(s, v)| *s += v);
    }
    let i = first.schema().index_of("matches").context(|| parts[0].display().to_string())?;
    let mut columns = first.columns().to_vec();
    columns[i] = Arc::new(Int64Array::from(sum));
    RecordBatch::try_new(first.schema(), columns).context(|| parts[0].display().to_string())
}
