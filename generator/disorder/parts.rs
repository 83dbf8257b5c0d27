//! Truth tables too large to hold: each stream's rows of a truth table are
//! found segment by segment (a segment: one watermark delay, window size
//! and key group, listed together in the table), spilled to disk as they
//! are final ([`crate::sinks::spill`]) and decoded back a range at a time
//! while the table is written, in the table's order.

use std::sync::Arc;

use arrow::array::{ArrayRef, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::columns::Res;
use super::frame::Frame;
use crate::error::Result;
use crate::events::utc_ms;
use crate::sinks::dims::utc_times;
use crate::sinks::spill::{Spill, Spilled};
use crate::sinks::Table;

/// What every row of one segment shares.
#[derive(Clone)]
pub struct Segment {
    /// The watermark delay (a watermark table's segments only).
    pub delay_s: Option<u32>,
    pub size_s: u32,
    /// The key column grouped by; `None`: all records.
    pub key_field: Option<usize>,
}

/// Bytes of a row before its values: the window start and the key id.
const HEAD: usize = 16;
const NO_KEY: u32 = u32::MAX;

/// One stream's rows of a truth table as they are found.
pub struct PartWriter {
    spill: Spill,
    row: Vec<u8>,
    /// Rows of windows starting outside it are left out (a shard's part).
    frame: Frame,
}

impl PartWriter {
    /// Rows of `segments` segments, each with `values` numbers.
    pub fn new(spill_dir: Option<&std::path::Path>, segments: usize, values: usize) -> Result<PartWriter> {
        let spill = Spill::create(spill_dir, segments, HEAD + 16 * values)?;
        Ok(PartWriter { spill, row: Vec::new(), frame: Frame::WHOLE })
    }

    /// Keeps only the rows of windows that start in `frame`.
    pub fn in_frame(&mut self, frame: Frame) {
        self.frame = frame;
    }

    /// Appends a row to `segment`: its window start, key and numbers (a float as its bits).
    pub fn push(&mut self, segment: usize, start_ms: i64, key: Option<u32>, values: &[i128]) -> Result<()> {
        if !self.frame.owns(start_ms) {
            return Ok(());
        }
        self.row.clear();
        self.row.extend_from_slice(&start_ms.to_le_bytes());
        self.row.extend_from_slice(&key.unwrap_or(NO_KEY).to_le_bytes());
        self.row.extend_from_slice(&[0; 4]);
        for v in values {
            self.row.extend_from_slice(&v.to_le_bytes());
        }
        self.spill.push(segment, &self.row)
    }

    /// The part: its rows in segment order, described by `segments`, the
    /// names of each key column's ids, and the value columns.
    pub fn finish(self, stream: &str, layout: PartLayout) -> Result<TruthPart> {
        let rows = self.spill.finish()?;
        let schema = layout.schema();
        Ok(TruthPart { stream: stream.to_string(), rows, layout, schema })
    }
}

/// How a part's rows read.
pub struct PartLayout {
    pub segments: Vec<Segment>,
    /// The key columns and the name of each id of theirs.
    pub key_fields: Vec<String>,
    pub key_names: Vec<Vec<String>>,
    /// The value columns: name, type (Int64, Decimal128 or Float64) and nullability.
    pub values: Vec<(String, DataType, bool)>,
    pub with_delay: bool,
}

impl PartLayout {
    fn schema(&self) -> SchemaRef {
        let mut fields = vec![Field::new("stream", DataType::Utf8, false)];
        if self.with_delay {
            fields.push(Field::new("delay_s", DataType::Int64, false));
        }
        fields.push(Field::new("size_s", DataType::Int64, false));
        fields.push(Field::new("window_start", utc_ms(), false));
        fields.push(Field::new("key_field", DataType::Utf8, true));
        fields.push(Field::new("key", DataType::Utf8, true));
        fields.extend(self.values.iter().map(|(name, t, nullable)| Field::new(name, t.clone(), *nullable)));
        Arc::new(Schema::new(fields))
    }
}

/// One stream's rows of a truth table, on disk.
pub struct TruthPart {
    stream: String,
    rows: Spilled,
    layout: PartLayout,
    schema: SchemaRef,
}

impl TruthPart {
    pub fn rows(&self) -> usize {
        self.rows.rows()
    }

    /// Rows `range`, decoded.
    fn batch(&self, range: std::ops::Range<usize>) -> RecordBatch {
        let (bytes, segments) = self.rows.read(range.clone()).expect("the spill file reads back");
        let l = &self.layout;
        let width = HEAD + 16 * l.values.len();
        let rows: Vec<&[u8]> = bytes.chunks(width).collect();
        let seg = |i: usize| &l.segments[segments[i]];
        let i64_at = |r: &[u8], at: usize| i64::from_le_bytes(r[at..at + 8].try_into().expect("8 bytes"));
        let value =
            |r: &[u8], v: usize| i128::from_le_bytes(r[HEAD + 16 * v..HEAD + 16 * v + 16].try_into().expect("16"));
        let n = rows.len();
        let mut columns: Vec<ArrayRef> =
            vec![Arc::new(StringArray::from_iter_values(std::iter::repeat_n(&self.stream, n)))];
        if l.with_delay {
            columns.push(Arc::new(Int64Array::from_iter_values((0..n).map(|i| seg(i).delay_s.unwrap_or(0) as i64))));
        }
        columns.push(Arc::new(Int64Array::from_iter_values((0..n).map(|i| seg(i).size_s as i64))));
        columns.push(utc_times(rows.iter().map(|r| i64_at(r, 0))));
        let field = (0..n).map(|i| seg(i).key_field.map(|k| l.key_fields[k].as_str()));
        columns.push(Arc::new(field.collect::<StringArray>()));
        let key = rows.iter().enumerate().map(|(i, r)| {
            let id = u32::from_le_bytes(r[8..12].try_into().expect("4 bytes"));
            let k = seg(i).key_field?;
            (id != NO_KEY).then(|| l.key_names[k][id as usize].as_str())
        });
        columns.push(Arc::new(key.collect::<StringArray>()));
        for (v, (_, data_type, _)) in l.values.iter().enumerate() {
            let values = rows.iter().map(|r| value(r, v));
            columns.push(match data_type {
                DataType::Decimal128(_, scale) => Arc::new(
                    Decimal128Array::from_iter_values(values)
                        .with_precision_and_scale(38, *scale)
                        .expect("a scale the column had"),
                ),
                DataType::Float64 => Arc::new(Float64Array::from_iter_values(values.map(|b| f64::from_bits(b as u64)))),
                _ => Arc::new(Int64Array::from_iter_values(
                    values.map(|x| x.clamp(i64::MIN as i128, i64::MAX as i128) as i64),
                )),
            });
        }
        RecordBatch::try_new(self.schema.clone(), columns).expect("truth columns match their fields")
    }
}

/// The truth table `name`: the parts of every stream (in stream name
/// order), their columns united, a column a stream lacks null in its rows.
pub fn truth_table(name: &str, mut parts: Vec<TruthPart>) -> Res<Table<'static>> {
    parts.sort_by(|a, b| a.stream.cmp(&b.stream));
    let schema = union_schema(parts.iter().map(|p| &p.schema))?;
    let mut starts = vec![0];
    for p in &parts {
        starts.push(starts.last().copied().unwrap_or(0) + p.rows());
    }
    let rows = starts.last().copied().unwrap_or(0);
    let out = schema.clone();
    let batch = move |r: std::ops::Range<usize>| {
        let pieces: Vec<RecordBatch> = parts
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let (lo, hi) = (r.start.max(starts[i]), r.end.min(starts[i + 1]));
                (lo < hi).then(|| widen(&p.batch(lo - starts[i]..hi - starts[i]), &out))
            })
            .collect();
        arrow::compute::concat_batches(&out, &pieces).expect("widened parts share the schema")
    };
    Ok(Table { name: name.to_string(), schema, rows, special: &[], batch: Box::new(batch) })
}

/// The union of the parts' columns, in order of appearance.
fn union_schema<'s>(schemas: impl Iterator<Item = &'s SchemaRef>) -> Res<SchemaRef> {
    let mut fields: Vec<Field> = Vec::new();
    for s in schemas {
        for f in s.fields() {
            match fields.iter().find(|g| g.name() == f.name()) {
                Some(g) if g.data_type() != f.data_type() => {
                    return Err(format!(
                        "column `{}` is {} in one stream and {} in another",
                        f.name(),
                        g.data_type(),
                        f.data_type()
                    ))
                }
                Some(_) => {}
                None => fields.push(f.as_ref().clone()),
            }
        }
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// `b` with the columns of `schema`, those it lacks null.
fn widen(b: &RecordBatch, schema: &SchemaRef) -> RecordBatch {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let existing = b.column_by_name(f.name()).cloned();
            existing.unwrap_or_else(|| arrow::array::new_null_array(f.data_type(), b.num_rows()))
        })
        .collect();
    RecordBatch::try_new(schema.clone(), columns).expect("a widened batch matches its schema")
}
