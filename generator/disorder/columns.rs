//! The columns the truth reads, row by row, from a table's batches: event
//! times, each key column and the ids as dense numbers (values as Arrow
//! displays them), the distinct column and the summed columns of a clean
//! table, the flags of a delivered one. Read once per table.

use std::collections::HashMap;
use std::fmt::Write;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Decimal128Type, Float64Type, Int64Type, TimestampMillisecondType};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use super::truth::TruthSpec;

const DAY_MS: i64 = 86_400_000;

pub type Res<T> = std::result::Result<T, String>;

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

/// Dense ids of a column's values (as text), null as `None`.
#[derive(Default)]
pub struct Interned {
    pub ids: Vec<Option<u32>>,
    pub names: Vec<String>,
    lookup: HashMap<String, u32>,
    text: String,
}

impl Interned {
    fn push_column(&mut self, col: &dyn Array) -> Res<()> {
        let shown = for_display(col)?;
        let f = ArrayFormatter::try_new(shown.as_ref(), &FormatOptions::default()).map_err(|e| e.to_string())?;
        for i in 0..col.len() {
            if col.is_null(i) {
                self.ids.push(None);
                continue;
            }
            self.text.clear();
            let _ = write!(self.text, "{}", f.value(i));
            let id = match self.lookup.get(&self.text) {
                Some(&id) => id,
                None => {
                    let id = self.names.len() as u32;
                    self.names.push(self.text.clone());
                    self.lookup.insert(self.text.clone(), id);
                    id
                }
            };
            self.ids.push(Some(id));
        }
        Ok(())
    }

    /// Each id's position when the names are sorted.
    pub fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        let mut rank = vec![0; order.len()];
        for (r, &id) in order.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        rank
    }
}

/// A summed column's values, a null as zero.
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

    fn push(sum: &mut Option<Sum>, col: &ArrayRef) -> Res<()> {
        let err = |e: arrow::error::ArrowError| e.to_string();
        let mismatch = || Err("changes type between batches".to_string());
        match col.data_type() {
            DataType::Decimal128(_, scale) => {
                let values = col.as_primitive::<Decimal128Type>().iter().map(|v| v.unwrap_or(0));
                match sum.get_or_insert_with(|| Sum::Dec(Vec::new(), *scale)) {
                    Sum::Dec(v, _) => v.extend(values),
                    _ => return mismatch(),
                }
            }
            DataType::Float16 | DataType::Float32 | DataType::Float64 => {
                let a = cast(col, &DataType::Float64).map_err(err)?;
                let values = a.as_primitive::<Float64Type>().iter().map(|v| v.unwrap_or(0.0));
                match sum.get_or_insert_with(|| Sum::Float(Vec::new())) {
                    Sum::Float(v) => v.extend(values),
                    _ => return mismatch(),
                }
            }
            t if t.is_integer() => {
                let a = cast(col, &DataType::Int64).map_err(err)?;
                let values = a.as_primitive::<Int64Type>().iter().map(|v| v.unwrap_or(0) as i128);
                match sum.get_or_insert_with(|| Sum::Int(Vec::new())) {
                    Sum::Int(v) => v.extend(values),
                    _ => return mismatch(),
                }
            }
            other => return Err(format!("is {other}, expected a number")),
        }
        Ok(())
    }
}

/// Which table the rows come from: a clean table (the distinct and summed
/// columns are read) or a delivered one (the `late` and `duplicate_of` flags).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Clean,
    Delivered,
}

/// The truth's columns of one table.
#[derive(Default)]
pub struct Rows {
    pub times: Vec<i64>,
    pub keys: Vec<Interned>,
    pub distinct: Interned,
    pub sums: Vec<Sum>,
    /// Dense ids of the `id` columns' value tuples.
    pub ids: Vec<u32>,
    pub late: Vec<bool>,
    pub duplicate: Vec<bool>,
}

fn column<'b>(b: &'b RecordBatch, name: &str) -> Res<&'b ArrayRef> {
    b.column_by_name(name).ok_or_else(|| format!("no column `{name}`"))
}

impl Rows {
    pub fn read(spec: &TruthSpec, batches: impl Iterator<Item = RecordBatch>, part: Part) -> Res<Rows> {
        let mut r = Rows { keys: spec.keys.iter().map(|_| Interned::default()).collect(), ..Rows::default() };
        let mut ids: Vec<Interned> = spec.id.iter().map(|_| Interned::default()).collect();
        let mut sums: Vec<Option<Sum>> = spec.sums.iter().map(|_| None).collect();
        for b in batches {
            r.times.extend(times_ms(column(&b, &spec.time)?.as_ref()).map_err(|e| format!("`{}` {e}", spec.time))?);
            for (k, name) in spec.keys.iter().enumerate() {
                r.keys[k].push_column(column(&b, name)?.as_ref())?;
            }
            for (k, name) in spec.id.iter().enumerate() {
                ids[k].push_column(column(&b, name)?.as_ref())?;
            }
            match part {
                Part::Clean => {
                    r.distinct.push_column(column(&b, &spec.distinct)?.as_ref())?;
                    for (s, name) in spec.sums.iter().enumerate() {
                        Sum::push(&mut sums[s], column(&b, name)?).map_err(|e| format!("`{name}` {e}"))?;
                    }
                }
                Part::Delivered => {
                    let late = column(&b, "late")?.as_boolean_opt().ok_or("`late` is not a boolean")?;
                    r.late.extend(late.iter().map(|v| v == Some(true)));
                    let dup = column(&b, "duplicate_of")?;
                    r.duplicate.extend((0..dup.len()).map(|i| dup.is_valid(i)));
                }
            }
        }
        r.sums = sums.into_iter().flatten().collect();
        r.ids = tuple_ids(&ids, r.times.len());
        Ok(r)
    }

    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }
}

/// One dense id per row for the tuple of its columns' ids.
fn tuple_ids(columns: &[Interned], rows: usize) -> Vec<u32> {
    let mut ids = vec![0u32; rows];
    for (c, col) in columns.iter().enumerate() {
        let mut pairs: HashMap<(u32, u32), u32> = HashMap::new();
        for (row, id) in ids.iter_mut().enumerate() {
            let value = col.ids[row].unwrap_or(col.names.len() as u32);
            let next = pairs.len() as u32;
            *id = if c == 0 { value } else { *pairs.entry((*id, value)).or_insert(next) };
        }
    }
    ids
}
