//! The columns the truth reads from a table's batches: event times, values
//! as text (as Arrow displays them) or as dense ids, summed numbers.

use std::collections::HashMap;
use std::fmt::Write;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Decimal128Type, Float64Type, Int64Type, TimestampMillisecondType};
use arrow::util::display::{ArrayFormatter, FormatOptions};

const DAY_MS: i64 = 86_400_000;

pub type Res<T> = std::result::Result<T, String>;

/// Hash maps on the per-row paths: a fast hasher with a fixed seed.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Event times in ms from a timestamp (ms) or date column.
pub fn times_ms(col: &dyn Array) -> Res<Vec<i64>> {
    match col.data_type() {
        DataType::Timestamp(arrow::datatypes::TimeUnit::Millisecond, _) => {
            Ok(col.as_primitive::<TimestampMillisecondType>().values().to_vec())
        }
        DataType::Date32 => Ok(col.as_primitive::<Date32Type>().values().iter().map(|&d| d as i64 * DAY_MS).collect()),
        other => Err(format!("is {other}, expected a timestamp or a date")),
    }
}

/// `col` ready for an `ArrayFormatter`: a timestamp with a zone (UTC in
/// every simkit table) without it, so it shows as UTC, `2024-01-01T08:00:00`.
pub fn for_display(col: &dyn Array) -> Res<ArrayRef> {
    let array = arrow::array::make_array(col.to_data());
    match col.data_type() {
        DataType::Timestamp(unit, Some(_)) => {
            cast(&array, &DataType::Timestamp(*unit, None)).map_err(|e| e.to_string())
        }
        _ => Ok(array),
    }
}

/// Dense ids of a column's values (as text); [`Self::ids`] gives a
/// batch's, null as `None`.
#[derive(Default)]
pub struct Interned {
    pub names: Vec<String>,
    lookup: FastMap<String, u32>,
}

impl Interned {
    /// The ids of `col`'s values, new values given the next ids.
    pub fn ids(&mut self, col: &dyn Array) -> Res<Vec<Option<u32>>> {
        let mut out = Vec::with_capacity(col.len());
        for_each_text(col, |text| out.push(text.map(|t| self.id(t))))?;
        Ok(out)
    }

    /// The id of `text`, a new one for a new value.
    pub fn id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.lookup.get(text) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(text.to_string());
        self.lookup.insert(text.to_string(), id);
        id
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        self.names.clear();
        self.lookup.clear();
    }

    /// Key ids in the order of their names, `None` first.
    pub fn cmp(&self, a: Option<u32>, b: Option<u32>) -> std::cmp::Ordering {
        a.map(|k| &self.names[k as usize]).cmp(&b.map(|k| &self.names[k as usize]))
    }
}

/// Calls `f` with each value of `col` as Arrow displays it (`None` for a null).
pub fn for_each_text(col: &dyn Array, mut f: impl FnMut(Option<&str>)) -> Res<()> {
    let shown = for_display(col)?;
    let formatter = ArrayFormatter::try_new(shown.as_ref(), &FormatOptions::default()).map_err(|e| e.to_string())?;
    let mut text = String::new();
    for i in 0..col.len() {
        if col.is_null(i) {
            f(None);
            continue;
        }
        text.clear();
        let _ = write!(text, "{}", formatter.value(i));
        f(Some(&text));
    }
    Ok(())
}

/// The values of `col` as text (`None` for a null).
pub fn texts(col: &dyn Array) -> Res<Vec<Option<String>>> {
    let mut out = Vec::with_capacity(col.len());
    for_each_text(col, |t| out.push(t.map(str::to_string)))?;
    Ok(out)
}

/// A summed column's values in one batch, a null as zero.
pub enum Sum {
    Int(Vec<i128>),
    Dec(Vec<i128>, i8),
    Float(Vec<f64>),
}

impl Sum {
    pub fn data_type(&self) -> DataType {
        match self {
            Sum::Int(_) => DataType::Int64,
            Sum::Dec(_, s) => DataType::Decimal128(38, *s),
            Sum::Float(_) => DataType::Float64,
        }
    }

    pub fn read(col: &ArrayRef) -> Res<Sum> {
        let err = |e: arrow::error::ArrowError| e.to_string();
        Ok(match col.data_type() {
            DataType::Decimal128(_, scale) => {
                Sum::Dec(col.as_primitive::<Decimal128Type>().iter().map(|v| v.unwrap_or(0)).collect(), *scale)
            }
            DataType::Float16 | DataType::Float32 | DataType::Float64 => {
                let a = cast(col, &DataType::Float64).map_err(err)?;
                Sum::Float(a.as_primitive::<Float64Type>().iter().map(|v| v.unwrap_or(0.0)).collect())
            }
            t if t.is_integer() => {
                let a = cast(col, &DataType::Int64).map_err(err)?;
                Sum::Int(a.as_primitive::<Int64Type>().iter().map(|v| v.unwrap_or(0) as i128).collect())
            }
            other => return Err(format!("is {other}, expected a number")),
        })
    }
}

/// The column `name` of `b`, or an error naming it.
pub fn column<'b>(b: &'b RecordBatch, name: &str) -> Res<&'b ArrayRef> {
    b.column_by_name(name).ok_or_else(|| format!("no column `{name}`"))
}

/// The event times of a batch's `time` column, in ms.
pub fn batch_times(b: &RecordBatch, time: &str) -> Res<Vec<i64>> {
    times_ms(column(b, time)?.as_ref()).map_err(|e| format!("`{time}` {e}"))
}
