//! The `fields` record of [`crate::streams`] (its doc is the format's
//! specification): a row of declared columns as a flat JSON object, or as a
//! protobuf message. Columns are typed once per decoded range; a record is
//! written straight into the chunk's buffer.

use std::path::Path;

use arrow::array::{
    Array, AsArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit};
use protobuf::CodedOutputStream;

use super::encoded::Encoded;
use super::numfmt::{write_cents, write_escaped, write_i64, write_ts};
use super::schedule::DAY_MS;
use crate::error::{Context, Error, Result};
use crate::streams::{FieldFormat, StreamSpec};

/// How a stream's rows are written.
#[derive(Clone)]
pub struct FieldsCodec {
    formats: Vec<FieldFormat>,
    columns: Vec<String>,
    /// Per field: `{"name":` for the first, `,"name":` for the others.
    prefixes: Vec<Vec<u8>>,
    /// Protobuf field numbers, when records are sent as protobuf.
    tags: Option<Vec<u32>>,
    /// The field whose text is the Kafka key.
    key: usize,
    pub(super) lap_ms: i64,
}

/// A decoded range of a stream's rows.
pub struct FieldRows {
    cols: Vec<Col>,
}

enum Col {
    Str(StringArray),
    Int(Int64Array),
    Float(Float64Array),
    Dec(Decimal128Array),
    Bool(BooleanArray),
    Time(TimestampMillisecondArray),
    Date(Date32Array),
}

impl FieldsCodec {
    /// `protobuf`: records as the stream's protobuf message (it must have one).
    pub fn new(spec: &StreamSpec, protobuf: bool, lap_ms: i64) -> Result<FieldsCodec> {
        let key = spec.fields.iter().position(|f| f.column == spec.key).ok_or_else(|| {
            Error(format!("stream `{}`: its key column `{}` is not one of its fields", spec.name, spec.key))
        })?;
        if !matches!(spec.fields[key].format, FieldFormat::String | FieldFormat::Id) {
            return Err(Error(format!("stream `{}`: its key `{}` is not a string field", spec.name, spec.key)));
        }
        let prefixes = spec
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut p = if i == 0 { b"{\"".to_vec() } else { b",\"".to_vec() };
                write_escaped(&mut p, f.name.as_bytes());
                p.extend_from_slice(b"\":");
                p
            })
            .collect();
        let tags = if protobuf {
            let no_proto = || Error(format!("--format protobuf: stream `{}` has no protobuf message", spec.name));
            spec.proto.as_ref().ok_or_else(no_proto)?;
            Some(spec.fields.iter().map(|f| f.tag.ok_or_else(no_proto)).collect::<Result<Vec<_>>>()?)
        } else {
            None
        };
        Ok(FieldsCodec {
            formats: spec.fields.iter().map(|f| f.format).collect(),
            columns: spec.fields.iter().map(|f| f.column.clone()).collect(),
            prefixes,
            tags,
            key,
            lap_ms,
        })
    }

    pub fn columns(&self) -> Vec<&str> {
        self.columns.iter().map(String::as_str).collect()
    }

    /// Types the columns of a batch read from `path`.
    pub fn decode(&self, path: &Path, b: &RecordBatch) -> Result<FieldRows> {
        let cols = self
            .columns
            .iter()
            .zip(&self.formats)
            .map(|(name, &format)| {
                let col =
                    b.column_by_name(name).ok_or_else(|| Error(format!("{}: no column `{name}`", path.display())))?;
                typed(path, name, col.as_ref(), format)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FieldRows { cols })
    }

    /// Appends the record of row `i` of lap `lap`.
    pub fn encode(&self, rows: &FieldRows, i: usize, ts: i64, lap: u64, stream: u16, out: &mut Encoded) {
        let shift = lap as i64 * self.lap_ms;
        let suffix = super::record::lap_suffix(lap);
        if let Col::Str(a) = &rows.cols[self.key] {
            if a.is_valid(i) {
                out.keys.extend_from_slice(a.value(i).as_bytes());
                if self.formats[self.key] == FieldFormat::Id {
                    out.keys.extend_from_slice(suffix.as_bytes());
                }
            }
        }
        match &self.tags {
            None => self.write_json(rows, i, shift, &suffix, &mut out.bytes),
            Some(tags) => write_protobuf(rows, i, shift, &suffix, tags, &self.formats, &mut out.bytes),
        }
        out.close(ts + shift, stream);
    }

    fn write_json(&self, rows: &FieldRows, i: usize, shift: i64, suffix: &str, out: &mut Vec<u8>) {
        for (k, col) in rows.cols.iter().enumerate() {
            out.extend_from_slice(&self.prefixes[k]);
            if !col.is_valid(i) {
                out.extend_from_slice(b"null");
                continue;
            }
            match (col, self.formats[k]) {
                (Col::Str(a), f) => {
                    out.push(b'"');
                    write_escaped(out, a.value(i).as_bytes());
                    if f == FieldFormat::Id {
                        out.extend_from_slice(suffix.as_bytes());
                    }
                    out.push(b'"');
                }
                (Col::Int(a), _) => write_i64(out, a.value(i)),
                (Col::Float(a), _) => write_py_float(out, a.value(i)),
                (Col::Dec(a), _) => write_cents(out, a.value(i)),
                (Col::Bool(a), FieldFormat::Bool01) => out.push(if a.value(i) { b'1' } else { b'0' }),
                (Col::Bool(a), _) => out.extend_from_slice(if a.value(i) { b"true" } else { b"false" }),
                (Col::Time(a), _) => {
                    out.push(b'"');
                    write_micros(out, a.value(i) + shift);
                    out.push(b'"');
                }
                (Col::Date(a), _) => {
                    out.push(b'"');
                    write_date(out, a.value(i), shift);
                    out.push(b'"');
                }
            }
        }
        out.extend_from_slice(b"}\n");
    }
}

impl Col {
    fn is_valid(&self, i: usize) -> bool {
        match self {
            Col::Str(a) => a.is_valid(i),
            Col::Int(a) => a.is_valid(i),
            Col::Float(a) => a.is_valid(i) && a.value(i).is_finite(),
            Col::Dec(a) => a.is_valid(i),
            Col::Bool(a) => a.is_valid(i),
            Col::Time(a) => a.is_valid(i),
            Col::Date(a) => a.is_valid(i),
        }
    }
}

/// A column cast to the one Arrow type each format is written from.
fn typed(path: &Path, name: &str, a: &dyn Array, format: FieldFormat) -> Result<Col> {
    use FieldFormat::*;
    let want = match format {
        String | Id => DataType::Utf8,
        Int => DataType::Int64,
        Float => DataType::Float64,
        Bool | Bool01 => DataType::Boolean,
        Time => DataType::Timestamp(TimeUnit::Millisecond, a.data_type().timestamp_zone()),
        Date => DataType::Date32,
        Decimal => match a.data_type() {
            DataType::Decimal128(_, 2) => a.data_type().clone(),
            other => {
                return Err(Error(format!(
                    "{}: column `{name}` is {other}, expected decimal with scale 2",
                    path.display()
                )))
            }
        },
    };
    let mismatch = || Error(format!("{}: column `{name}` is {}, expected {want}", path.display(), a.data_type()));
    let compatible = match (a.data_type(), format) {
        (t, Int) => t.is_integer(),
        (DataType::Float32 | DataType::Float64, Float) => true,
        (DataType::Timestamp(TimeUnit::Millisecond, _), Time) => true,
        (t, _) => *t == want || matches!(t, DataType::Dictionary(_, v) if **v == want),
    };
    if !compatible {
        return Err(mismatch());
    }
    let a = cast(a, &want).context(|| path.display().to_string())?;
    Ok(match format {
        String | Id => Col::Str(a.as_string::<i32>().clone()),
        Int => Col::Int(a.as_primitive().clone()),
        Float => Col::Float(a.as_primitive().clone()),
        Decimal => Col::Dec(a.as_primitive().clone()),
        Bool | Bool01 => Col::Bool(a.as_boolean().clone()),
        Time => Col::Time(a.as_primitive().clone()),
        Date => Col::Date(a.as_primitive().clone()),
    })
}

trait TimestampZone {
    fn timestamp_zone(&self) -> Option<std::sync::Arc<str>>;
}

impl TimestampZone for DataType {
    fn timestamp_zone(&self) -> Option<std::sync::Arc<str>> {
        match self {
            DataType::Timestamp(_, tz) => tz.clone(),
            _ => None,
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) of epoch ms.
fn write_micros(out: &mut Vec<u8>, ms: i64) {
    write_ts(out, ms);
    out.extend_from_slice(b"000");
}

/// `YYYY-MM-DD` of a Date32 shifted by `shift_ms`.
fn write_date(out: &mut Vec<u8>, days: i32, shift_ms: i64) {
    let mut text = Vec::with_capacity(24);
    write_ts(&mut text, (days as i64 * DAY_MS).saturating_add(shift_ms));
    let date_len = text.len() - 13; // " HH:MM:SS.mmm"
    out.extend_from_slice(&text[..date_len]);
}

/// A finite float64 as Python's `repr` writes it: the shortest text that
/// reads back as the same value; positional between 1e-4 and 1e16 (with
/// `.0` when integral), else `<digits>e<sign><2+ digits>`.
pub fn write_py_float(out: &mut Vec<u8>, x: f64) {
    use std::io::Write;
    let a = x.abs();
    if a == 0.0 || (1e-4..1e16).contains(&a) {
        let start = out.len();
        let _ = write!(out, "{x}");
        if !out[start..].contains(&b'.') {
            out.extend_from_slice(b".0");
        }
        return;
    }
    let text = format!("{x:e}");
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    let _ = write!(out, "{mantissa}e{sign}{digits:0>2}");
}

/// The protobuf message of row `i`, after its varint length.
fn write_protobuf(
    rows: &FieldRows,
    i: usize,
    shift: i64,
    suffix: &str,
    tags: &[u32],
    formats: &[FieldFormat],
    out: &mut Vec<u8>,
) {
    let mut msg = Vec::with_capacity(64);
    let mut text = Vec::with_capacity(32);
    {
        let mut s = CodedOutputStream::vec(&mut msg);
        for (k, col) in rows.cols.iter().enumerate() {
            if !col.is_valid(i) {
                continue;
            }
            text.clear();
            let tag = tags[k];
            // Writing into a Vec cannot fail; proto3 leaves defaults out.
            let _ = match col {
                Col::Str(a) => {
                    text.extend_from_slice(a.value(i).as_bytes());
                    if formats[k] == FieldFormat::Id {
                        text.extend_from_slice(suffix.as_bytes());
                    }
                    write_text(&mut s, tag, &text)
                }
                Col::Time(a) => {
                    write_micros(&mut text, a.value(i) + shift);
                    write_text(&mut s, tag, &text)
                }
                Col::Date(a) => {
                    write_date(&mut text, a.value(i), shift);
                    write_text(&mut s, tag, &text)
                }
                Col::Int(a) if a.value(i) != 0 => s.write_int64(tag, a.value(i)),
                Col::Float(a) if a.value(i) != 0.0 => s.write_double(tag, a.value(i)),
                Col::Dec(a) if a.value(i) != 0 => s.write_double(tag, a.value(i) as f64 / 100.0),
                Col::Bool(a) if a.value(i) => s.write_bool(tag, true),
                _ => Ok(()),
            };
        }
        let _ = s.flush();
    }
    let mut s = CodedOutputStream::vec(out);
    let _ = s.write_raw_varint32(msg.len() as u32);
    let _ = s.write_raw_bytes(&msg);
    let _ = s.flush();
}

fn write_text(s: &mut CodedOutputStream, tag: u32, text: &[u8]) -> protobuf::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    s.write_string(tag, std::str::from_utf8(text).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn py(x: f64) -> String {
        let mut out = Vec::new();
        write_py_float(&mut out, x);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_read_as_python_writes_them() {
        for (x, text) in [
            (0.1, "0.1"),
            (45.0, "45.0"),
            (-3.25, "-3.25"),
            (0.0, "0.0"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (0.0001, "0.0001"),
            (57.123456789012344, "57.123456789012344"),
        ] {
            assert_eq!(py(x), text, "{x}");
        }
    }

    #[test]
    fn dates_and_times() {
        let mut out = Vec::new();
        write_date(&mut out, 10_957, DAY_MS); // 2000-01-01 + 1 day
        assert_eq!(out, b"2000-01-02");
        out.clear();
        write_micros(&mut out, 946_684_800_123);
        assert_eq!(out, b"2000-01-01 00:00:00.123000");
    }
}
