//! Parquet at the edge: writes a table whose rows are produced by a
//! range-to-batch function. Row groups are built and encoded in parallel
//! (rayon) over a sliding window, then appended to the file strictly in
//! order, so the bytes do not depend on the thread count and memory holds at
//! most a window of encoded groups. The file's sha256 is computed from the
//! bytes as they are appended, so it never has to be read back.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory, ArrowWriter};
use parquet::arrow::ArrowSchemaConverter;
use parquet::basic::{Compression, Encoding as ParquetEncoding, LogicalType, Type as PhysicalType, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnDescPtr;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::float_lists::{self, RawChunk};
use super::manifest::FileInfo;
use crate::error::{Context, Error, Result};
use crate::scenario::hex;

/// Data page size limit: one page per leaf column chunk for the canonical
/// row groups (a 65 536-event group holds ~2 MB of route latitudes).
const PAGE_BYTES: usize = 4 << 20;

/// Row groups in flight (built, encoding or waiting their turn) per
/// worker thread: enough to keep every thread busy while a slow group
/// finishes, few enough to hold memory to a few of them each (an events
/// group is ~15 MB while it is encoded).
const WINDOW_PER_THREAD: usize = 2;

/// How a table is encoded.
#[derive(Clone, Copy, Debug)]
pub struct Encoding {
    pub row_group_rows: usize,
    pub zstd_level: i32,
}

/// A column treated differently from its type's default.
#[derive(Clone, Copy, Debug)]
pub enum Special {
    /// High-cardinality strings (ids) compress better without a dictionary,
    /// and DELTA_LENGTH_BYTE_ARRAY (lengths apart from the bytes) is smaller
    /// than PLAIN for order ids.
    DeltaLength(&'static str),
    /// Floats with few distinct values (ping progress) are far smaller as a dictionary.
    Dictionary(&'static str),
    /// The rows are (nearly) sorted by this column, so its min/max let readers
    /// skip row groups. A table that names sort keys keeps statistics on them
    /// only: every other column spans its whole range in every row group,
    /// prunes nothing, and its min/max cost time to compute (string
    /// comparisons above all).
    SortKey(&'static str),
}

impl Special {
    fn column(&self) -> &str {
        match self {
            Special::DeltaLength(c) | Special::Dictionary(c) | Special::SortKey(c) => c,
        }
    }
}

/// Column encodings chosen by type, the same for every table unless listed
/// in `special`: floats use BYTE_STREAM_SPLIT (coordinates compress far
/// better than with a dictionary), timestamps DELTA_BINARY_PACKED (rows are
/// sorted by time), and everything else a dictionary. Statistics are kept
/// per column chunk for top-level columns (only the sort keys, if the table
/// names any). Also returns how each top-level field is encoded.
fn properties(schema: &SchemaRef, enc: Encoding, special: &[Special]) -> Result<(WriterProperties, Vec<FieldPlan>)> {
    let level = ZstdLevel::try_new(enc.zstd_level).context(|| format!("zstd level {}", enc.zstd_level))?;
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_write_batch_size(8192)
        // Pages end by size only (not the default 20 000 rows), so a row group's
        // route points share one page per leaf: zstd then finds the routes'
        // common prefixes across the whole group.
        .set_data_page_row_count_limit(usize::MAX)
        .set_data_page_size_limit(PAGE_BYTES)
        .set_max_row_group_row_count(Some(enc.row_group_rows.max(1)));
    let descr = ArrowSchemaConverter::new().convert(schema).context(|| "parquet schema".to_string())?;
    let has_sort_keys = special.iter().any(|s| matches!(s, Special::SortKey(_)));
    for col in descr.columns() {
        let path = col.path().clone();
        let name = path.string();
        let timestamp = matches!(col.logical_type_ref(), Some(LogicalType::Timestamp { .. }));
        let named = |s: &&Special| s.column() == name;
        let sort_key = special.iter().filter(named).any(|s| matches!(s, Special::SortKey(_)));
        let encoding = special.iter().filter(named).find(|s| !matches!(s, Special::SortKey(_)));
        let choice = match (encoding, col.physical_type()) {
            (Some(Special::Dictionary(_)), _) => None,
            (Some(Special::DeltaLength(_)), _) => Some(ParquetEncoding::DELTA_LENGTH_BYTE_ARRAY),
            (_, PhysicalType::FLOAT | PhysicalType::DOUBLE) => Some(ParquetEncoding::BYTE_STREAM_SPLIT),
            (_, PhysicalType::INT64) if timestamp => Some(ParquetEncoding::DELTA_BINARY_PACKED),
            _ => None,
        };
        // Leaves inside lists (route points, basket items): nobody prunes by
        // their min/max, which cost time to compute.
        if path.parts().len() > 1 || (has_sort_keys && !sort_key) {
            b = b.set_column_statistics_enabled(path.clone(), EnabledStatistics::None);
        }
        if let Some(e) = choice {
            b = b.set_column_dictionary_enabled(path.clone(), false).set_column_encoding(path, e);
        }
    }
    let mut plans: Vec<FieldPlan> = schema
        .fields()
        .iter()
        .map(|f| FieldPlan { leaves: Vec::new(), float_list: float_lists::is_float_list(f) })
        .collect();
    for leaf in 0..descr.num_columns() {
        plans[descr.get_column_root_idx(leaf)].leaves.push(descr.column(leaf));
    }
    Ok((b.build(), plans))
}

/// How one top-level field is encoded: its leaf columns, and whether they
/// take the float-list fast path.
struct FieldPlan {
    leaves: Vec<ColumnDescPtr>,
    float_list: bool,
}

/// An encoded leaf column chunk, from the Arrow writer or the fast path.
enum Chunk {
    Arrow(ArrowColumnChunk),
    Raw(RawChunk),
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `rows` rows to `path`, calling `batch(range)` once per row group;
/// returns the file's size and sha256.
pub fn write_table<F>(
    path: &Path,
    schema: SchemaRef,
    rows: usize,
    enc: Encoding,
    special: &[Special],
    batch: F,
) -> Result<FileInfo>
where
    F: Fn(Range<usize>) -> RecordBatch + Sync,
{
    let mut writer = TableWriter::create(path, schema, enc, special)?;
    writer.push_last(rows, batch)?;
    writer.finish()
}

/// A Parquet file written in pieces: each [`push`](Self::push) hands over
/// the next rows (any number), and row groups are cut at fixed row counts
/// across the pieces, so the file is the same however the rows were split
/// (the rows of an unfinished group wait, built, for the next piece).
pub struct TableWriter {
    name: String,
    schema: SchemaRef,
    fields: Vec<FieldPlan>,
    float_list_props: Arc<WriterProperties>,
    factory: ArrowRowGroupWriterFactory,
    file: Option<SerializedFileWriter<Sink>>,
    group_rows: usize,
    /// Row groups appended so far.
    groups: usize,
    /// The first rows of the next group.
    carry: Option<RecordBatch>,
}

impl TableWriter {
    pub fn create(path: &Path, schema: SchemaRef, enc: Encoding, special: &[Special]) -> Result<TableWriter> {
        let name = path.display().to_string();
        let file = File::create(path).context(|| name.clone())?;
        let hashing = Hashing { inner: BufWriter::with_capacity(1 << 20, file), hash: Sha256::new(), bytes: 0 };
        let (props, fields) = properties(&schema, enc, special)?;
        let float_list_props = Arc::new(float_lists::properties(&props));
        let writer = ArrowWriter::try_new(hashing, schema.clone(), Some(props)).context(|| name.clone())?;
        let (file, factory) = writer.into_serialized_writer().context(|| name.clone())?;
        Ok(TableWriter {
            name,
            schema,
            fields,
            float_list_props,
            factory,
            file: Some(file),
            group_rows: enc.row_group_rows.max(1),
            groups: 0,
            carry: None,
        })
    }

    /// Appends `rows` rows, built by `batch(range)`; the rows of a last,
    /// unfinished group are kept for the next piece.
    pub fn push<F>(&mut self, rows: usize, batch: F) -> Result<()>
    where
        F: Fn(Range<usize>) -> RecordBatch + Sync,
    {
        self.append(rows, &batch, false)
    }

    /// [`Self::push`] for the last piece: every row is written.
    pub fn push_last<F>(&mut self, rows: usize, batch: F) -> Result<()>
    where
        F: Fn(Range<usize>) -> RecordBatch + Sync,
    {
        self.append(rows, &batch, true)
    }

    fn append(&mut self, rows: usize, batch: &(dyn Fn(Range<usize>) -> RecordBatch + Sync), last: bool) -> Result<()> {
        let g = self.group_rows;
        let mut sources = Vec::new();
        let mut from = 0;
        if let Some(carry) = self.carry.take() {
            // The carried rows and the first of these make the next group.
            from = rows.min(g - carry.num_rows());
            let head = arrow::compute::concat_batches(&self.schema, [&carry, &batch(0..from)]);
            sources.push(Source::Built(head.context(|| self.name.clone())?));
        }
        sources.extend((from..rows).step_by(g).map(|s| Source::Rows(s..(s + g).min(rows))));
        if !last && sources.last().is_some_and(|s| s.rows() < g) {
            self.carry = match sources.pop() {
                Some(Source::Built(b)) => Some(b),
                Some(Source::Rows(r)) => Some(batch(r)),
                None => None,
            };
        }
        self.encode_in_order(sources, batch)
    }

    /// Encodes `sources` as the next row groups, in parallel, appended in order.
    fn encode_in_order(
        &mut self,
        sources: Vec<Source>,
        batch: &(dyn Fn(Range<usize>) -> RecordBatch + Sync),
    ) -> Result<()> {
        let file = self.file.take().ok_or_else(|| Error(format!("{}: written after an error", self.name)))?;
        let n = sources.len();
        let pipeline = Pipeline {
            sources: sources.into_iter().map(|s| Mutex::new(Some(s))).collect(),
            first_group: self.groups,
            window: rayon::current_num_threads().max(1) * WINDOW_PER_THREAD,
            writer: self,
            batch,
            state: Mutex::new(InOrder { file, appended: 0, scheduled: 0, ready: BTreeMap::new(), error: None }),
        };
        rayon::scope_fifo(|s| {
            let pipeline = &pipeline;
            for i in pipeline.schedule(None) {
                s.spawn_fifo(move |s| pipeline.run(s, i));
            }
        });
        let state = pipeline.state.into_inner().expect("no row group panicked");
        if let Some(e) = state.error {
            return Err(e);
        }
        self.file = Some(state.file);
        self.groups += n;
        Ok(())
    }

    /// Writes any rows still waiting and the footer; returns the file's size and sha256.
    pub fn finish(mut self) -> Result<FileInfo> {
        if let Some(carry) = self.carry.take() {
            self.encode_in_order(vec![Source::Built(carry)], &|_| unreachable!("a built group"))?;
        }
        let name = || self.name.clone();
        let file = self.file.take().ok_or_else(|| Error(format!("{}: written after an error", self.name)))?;
        let mut hashing = file.into_inner().context(name)?;
        hashing.flush().context(name)?;
        hashing.inner.into_inner().map_err(|e| e.into_error()).context(name)?.sync_all().context(name)?;
        Ok(FileInfo { bytes: hashing.bytes, sha256: hex(&hashing.hash.finalize()) })
    }
}

/// Where a row group's rows come from: built already (carried rows and the
/// first of a piece), or a range of the piece.
enum Source {
    Built(RecordBatch),
    Rows(Range<usize>),
}

impl Source {
    fn rows(&self) -> usize {
        match self {
            Source::Built(b) => b.num_rows(),
            Source::Rows(r) => r.len(),
        }
    }
}

/// Row groups are encoded in parallel over a sliding window and appended
/// strictly in order: whoever finishes a group appends every group that is
/// next in line, then starts the groups the window now admits. No thread
/// waits for a whole batch of groups, and at most `window` encoded groups
/// are held in memory.
struct Pipeline<'a> {
    /// Each taken when its group is encoded.
    sources: Vec<Mutex<Option<Source>>>,
    /// The file's index of the first group.
    first_group: usize,
    window: usize,
    writer: &'a TableWriter,
    batch: &'a (dyn Fn(Range<usize>) -> RecordBatch + Sync),
    state: Mutex<InOrder>,
}

/// The file being written: hashed as it goes, buffered.
type Sink = Hashing<BufWriter<File>>;

struct InOrder {
    file: SerializedFileWriter<Sink>,
    /// Groups appended to the file so far.
    appended: usize,
    /// Groups started so far.
    scheduled: usize,
    /// Encoded groups waiting for an earlier one.
    ready: BTreeMap<usize, Vec<Chunk>>,
    error: Option<Error>,
}

impl Pipeline<'_> {
    fn run<'s>(&'s self, s: &rayon::ScopeFifo<'s>, group: usize) {
        let encoded = self.encode(group);
        for next in self.schedule(Some((group, encoded))) {
            s.spawn_fifo(move |s| self.run(s, next));
        }
    }

    /// Encodes one row group. Its fields, and the leaves within a field, are
    /// encoded in parallel too: an idle thread helps with the route columns
    /// of the last groups instead of waiting for them.
    fn encode(&self, group: usize) -> Result<Vec<Chunk>> {
        let w = self.writer;
        let name = || w.name.clone();
        let mut writers = w.factory.create_column_writers(self.first_group + group).context(name)?.into_iter();
        let per_field: Vec<Vec<_>> = w.fields.iter().map(|f| writers.by_ref().take(f.leaves.len()).collect()).collect();
        let source = self.sources[group].lock().expect("no row group panicked").take();
        let batch = match source.expect("each group is encoded once") {
            Source::Built(b) => b,
            Source::Rows(r) => (self.batch)(r),
        };
        let fields = batch.columns().par_iter().zip(w.schema.fields().par_iter()).zip(w.fields.par_iter());
        let chunks: Vec<Vec<Chunk>> = per_field
            .into_par_iter()
            .zip(fields)
            .map(|(writers, ((array, field), plan))| {
                if plan.float_list {
                    if let Some(chunks) = float_lists::encode(array, &plan.leaves, &w.float_list_props) {
                        return Ok(chunks.context(name)?.into_iter().map(Chunk::Raw).collect());
                    }
                }
                let leaves = compute_leaves(field, array).context(name)?;
                writers
                    .into_par_iter()
                    .zip(leaves)
                    .map(|(mut writer, leaf)| {
                        writer.write(&leaf).context(name)?;
                        writer.close().map(Chunk::Arrow).context(name)
                    })
                    .collect()
            })
            .collect::<Result<_>>()?;
        Ok(chunks.into_iter().flatten().collect())
    }

    /// Takes a finished group (if any), appends what is next in line and
    /// returns the groups to start now (none after an error).
    fn schedule(&self, finished: Option<(usize, Result<Vec<Chunk>>)>) -> Range<usize> {
        let mut guard = self.state.lock().expect("no row group panicked");
        let st = &mut *guard;
        match finished {
            Some((group, Ok(chunks))) => {
                st.ready.insert(group, chunks);
            }
            Some((_, Err(e))) => {
                st.error.get_or_insert(e);
            }
            None => {}
        }
        while st.error.is_none() {
            let Some(chunks) = st.ready.remove(&st.appended) else { break };
            match append(&mut st.file, chunks).context(|| self.writer.name.clone()) {
                Ok(()) => {
                    st.appended += 1;
                    start_writeback(st.file.inner().inner.get_ref());
                }
                Err(e) => st.error = Some(e),
            }
        }
        if st.error.is_some() {
            return 0..0;
        }
        let from = st.scheduled;
        st.scheduled = st.scheduled.max((st.appended + self.window).min(self.sources.len()));
        from..st.scheduled
    }
}

/// Asks the kernel to start writing out what the file holds so far, so the
/// final fsync has little left to wait for: on its own it ended each run with
/// ~13 ms of idle cores. A hint only; a no-op off Linux.
fn start_writeback(file: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: sync_file_range only reads the descriptor, which `file` keeps open.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
}

fn append(file: &mut SerializedFileWriter<Sink>, chunks: Vec<Chunk>) -> parquet::errors::Result<()> {
    let mut row_group = file.next_row_group()?;
    for chunk in chunks {
        match chunk {
            Chunk::Arrow(c) => c.append_to_row_group(&mut row_group)?,
            Chunk::Raw(RawChunk { bytes, close }) => row_group.append_column(&bytes, close)?,
        }
    }
    row_group.close()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, ArrayRef, Float32Array, Int32Array, ListArray, RecordBatch, StructArray};
    use arrow::buffer::{NullBuffer, OffsetBuffer};
    use arrow::compute::concat_batches;
    use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ArrowWriter;

    use super::{properties, write_table, Encoding, Special, TableWriter};

    const ENC: Encoding = Encoding { row_group_rows: 4, zstd_level: 3 };

    fn points() -> Fields {
        Fields::from(vec![Field::new("lat", DataType::Float32, false), Field::new("lon", DataType::Float32, false)])
    }

    /// Rows 0..10 with nullable point lists (nulls, empties, one and several
    /// points) and required f32 lists; `spanning_null` makes row 1 a null
    /// that spans values, which only the generic writer can skip.
    fn table(spanning_null: bool) -> RecordBatch {
        let lens = [2usize, 0, 0, 1, 5, 3, 0, 4, 1, 2];
        let valid: Vec<bool> = (0..10).map(|r| r != 2 && r != 6 && !(spanning_null && r == 1)).collect();
        let mut lens_with_span = lens;
        if spanning_null {
            lens_with_span[1] = 2;
        }
        let n: usize = lens_with_span.iter().sum();
        let lat = Float32Array::from_iter_values((0..n).map(|i| 37.0 + i as f32 * 0.001));
        let lon = Float32Array::from_iter_values((0..n).map(|i| -122.0 - i as f32 * 0.002));
        let element = Arc::new(Field::new("element", DataType::Struct(points()), false));
        let route = ListArray::new(
            element.clone(),
            OffsetBuffer::from_lengths(lens_with_span),
            Arc::new(StructArray::new(points(), vec![Arc::new(lat), Arc::new(lon)], None)),
            Some(NullBuffer::from(valid)),
        );
        let xs_element = Arc::new(Field::new("element", DataType::Float32, false));
        let xs = ListArray::new(
            xs_element.clone(),
            OffsetBuffer::from_lengths((0..10).map(|r| r % 3)),
            Arc::new(Float32Array::from_iter_values(
                (0..10).flat_map(|r| (0..r % 3).map(move |k| (r * 10 + k) as f32)),
            )),
            None,
        );
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, false),
            Field::new("route", DataType::List(element), true),
            Field::new("xs", DataType::List(xs_element), false),
        ]));
        let columns: Vec<ArrayRef> = vec![Arc::new(Int32Array::from_iter_values(0..10)), Arc::new(route), Arc::new(xs)];
        RecordBatch::try_new(schema, columns).unwrap()
    }

    fn written_with(batch: &RecordBatch, special: &[Special]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write_table(&path, batch.schema(), batch.num_rows(), ENC, special, |r| batch.slice(r.start, r.len())).unwrap();
        std::fs::read(path).unwrap()
    }

    fn written(batch: &RecordBatch) -> Vec<u8> {
        written_with(batch, &[])
    }

    fn read(bytes: Vec<u8>) -> RecordBatch {
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).unwrap().build().unwrap();
        let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        concat_batches(&batches[0].schema(), &batches).unwrap()
    }

    #[test]
    fn float_lists_read_back_as_written() {
        for spanning_null in [false, true] {
            let batch = table(spanning_null);
            let back = read(written(&batch));
            assert_eq!(back.num_rows(), 10);
            for (i, (got, want)) in back.columns().iter().zip(batch.columns()).enumerate() {
                assert_eq!(got.to_data(), want.to_data(), "column {i}, spanning null {spanning_null}");
            }
        }
    }

    /// The leaf columns of every row group that carry min/max statistics.
    fn leaves_with_min_max(bytes: Vec<u8>) -> Vec<String> {
        let reader = parquet::file::reader::SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        let meta = parquet::file::reader::FileReader::metadata(&reader);
        let mut names: Vec<String> = meta
            .row_groups()
            .iter()
            .flat_map(|rg| rg.columns().iter())
            .filter(|c| c.statistics().is_some_and(|s| s.min_bytes_opt().is_some()))
            .map(|c| c.column_path().string())
            .collect();
        names.dedup();
        names
    }

    #[test]
    fn statistics_only_on_sort_keys_when_a_table_names_them() {
        let batch = table(false);
        // Without sort keys every top-level column keeps min/max (not leaves in lists).
        assert_eq!(leaves_with_min_max(written(&batch)), ["id"]);
        let keyed = written_with(&batch, &[Special::SortKey("id")]);
        assert_eq!(leaves_with_min_max(keyed.clone()), ["id"]);
        // A table whose sort key is another column drops the statistics of `id`.
        let other = written_with(&batch, &[Special::SortKey("xs")]);
        assert!(leaves_with_min_max(other).is_empty());
        assert_eq!(read(keyed).column(0).to_data(), batch.column(0).to_data());
    }

    #[test]
    fn float_lists_fast_path_writes_the_arrow_writers_bytes() {
        let batch = table(false);
        let (props, _) = properties(&batch.schema(), ENC, &[]).unwrap();
        let mut generic = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut generic, batch.schema(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        assert_eq!(written(&batch), generic);
    }

    #[test]
    fn pieces_of_any_size_write_the_whole_tables_bytes() {
        for spanning_null in [false, true] {
            let batch = table(spanning_null);
            let whole = written(&batch);
            for pieces in [&[10][..], &[3, 0, 2, 5], &[1; 10], &[4, 4, 2], &[0, 7, 3, 0], &[5, 5]] {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("t.parquet");
                let mut w = TableWriter::create(&path, batch.schema(), ENC, &[]).unwrap();
                let mut at = 0;
                for &n in pieces {
                    let base = at;
                    w.push(n, |r| batch.slice(base + r.start, r.len())).unwrap();
                    at += n;
                }
                let info = w.finish().unwrap();
                let bytes = std::fs::read(&path).unwrap();
                assert_eq!(bytes, whole, "pieces {pieces:?}, spanning null {spanning_null}");
                assert_eq!(info.bytes, bytes.len() as u64);
            }
        }
    }
}
