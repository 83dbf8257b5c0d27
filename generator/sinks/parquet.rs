//! Parquet at the edge: writes a table whose rows are produced by a
//! range-to-batch function. Row groups are built and encoded in parallel
//! (rayon), then appended to the file strictly in order, so the bytes do not
//! depend on the thread count. Memory stays bounded by encoding a window of
//! row groups at a time. The file's sha256 is computed from the bytes as they
//! are appended, so it never has to be read back.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::Path;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowWriter};
use parquet::arrow::ArrowSchemaConverter;
use parquet::basic::{Compression, Encoding as ParquetEncoding, LogicalType, Type as PhysicalType, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::manifest::FileInfo;
use crate::error::{Context, Result};
use crate::scenario::hex;

/// How a table is encoded.
#[derive(Clone, Copy, Debug)]
pub struct Encoding {
    pub row_group_rows: usize,
    pub zstd_level: i32,
}

/// Column encodings chosen by type, the same for every table: floats use
/// BYTE_STREAM_SPLIT (coordinates compress far better than with a dictionary),
/// timestamps DELTA_BINARY_PACKED (rows are sorted by time), and strings keep
/// dictionaries unless listed in `plain` (high-cardinality ids compress
/// better plain).
fn properties(schema: &SchemaRef, enc: Encoding, plain: &[&str]) -> Result<WriterProperties> {
    let level = ZstdLevel::try_new(enc.zstd_level).context(|| format!("zstd level {}", enc.zstd_level))?;
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_write_batch_size(8192)
        .set_max_row_group_row_count(Some(enc.row_group_rows.max(1)));
    let descr = ArrowSchemaConverter::new().convert(schema).context(|| "parquet schema".to_string())?;
    for col in descr.columns() {
        let path = col.path().clone();
        let timestamp = matches!(col.logical_type_ref(), Some(LogicalType::Timestamp { .. }));
        let choice = match col.physical_type() {
            PhysicalType::FLOAT | PhysicalType::DOUBLE => Some(ParquetEncoding::BYTE_STREAM_SPLIT),
            PhysicalType::INT64 if timestamp => Some(ParquetEncoding::DELTA_BINARY_PACKED),
            _ if plain.contains(&path.string().as_str()) => Some(ParquetEncoding::PLAIN),
            _ => None,
        };
        if let Some(e) = choice {
            b = b.set_column_dictionary_enabled(path.clone(), false).set_column_encoding(path, e);
        }
    }
    Ok(b.build())
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
    plain: &[&str],
    batch: F,
) -> Result<FileInfo>
where
    F: Fn(Range<usize>) -> RecordBatch + Sync,
{
    let name = || path.display().to_string();
    let file = File::create(path).context(name)?;
    let hashing = Hashing { inner: BufWriter::with_capacity(1 << 20, file), hash: Sha256::new(), bytes: 0 };
    let writer = ArrowWriter::try_new(hashing, schema.clone(), Some(properties(&schema, enc, plain)?)).context(name)?;
    let (mut file_writer, factory) = writer.into_serialized_writer().context(name)?;
    let step = enc.row_group_rows.max(1);
    let groups: Vec<Range<usize>> = (0..rows).step_by(step).map(|s| s..(s + step).min(rows)).collect();
    let window = rayon::current_num_threads().max(1) * 2;
    for (w, chunk) in groups.chunks(window).enumerate() {
        let mut writers = Vec::with_capacity(chunk.len());
        for i in 0..chunk.len() {
            writers.push(factory.create_column_writers(w * window + i).context(name)?);
        }
        let encoded: Vec<Result<Vec<ArrowColumnChunk>>> = chunk
            .par_iter()
            .cloned()
            .zip(writers)
            .map(|(range, mut columns)| {
                let batch = batch(range);
                let mut leaves = columns.iter_mut();
                for (array, field) in batch.columns().iter().zip(schema.fields()) {
                    for leaf in compute_leaves(field, array).context(name)? {
                        leaves.next().expect("one writer per leaf").write(&leaf).context(name)?;
                    }
                }
                columns.into_iter().map(|c| c.close().context(name)).collect()
            })
            .collect();
        for chunks in encoded {
            let mut row_group = file_writer.next_row_group().context(name)?;
            for c in chunks? {
                c.append_to_row_group(&mut row_group).context(name)?;
            }
            row_group.close().context(name)?;
        }
    }
    let mut hashing = file_writer.into_inner().context(name)?;
    hashing.flush().context(name)?;
    hashing.inner.into_inner().map_err(|e| e.into_error()).context(name)?.sync_all().context(name)?;
    Ok(FileInfo { bytes: hashing.bytes, sha256: hex(&hashing.hash.finalize()) })
}
