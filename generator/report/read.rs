//! A dataset's tables as a report reads them: the named columns only, a
//! batch at a time, and their values as plain numbers and strings.

use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use crate::error::{Context, Error, Result};

/// Calls `f` on each batch of `table` (its `columns` only), in order.
pub fn scan(dir: &Path, table: &str, columns: &[&str], mut f: impl FnMut(&RecordBatch) -> Result<()>) -> Result<()> {
    let path = dir.join(format!("{table}.parquet"));
    let name = || path.display().to_string();
    let file = std::fs::File::open(&path).context(name)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).context(name)?;
    let roots = columns
        .iter()
        .map(|c| builder.schema().index_of(c).map_err(|_| Error(format!("{}: no column `{c}`", name()))))
        .collect::<Result<Vec<usize>>>()?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    for b in builder.with_projection(mask).with_batch_size(65_536).build().context(name)? {
        f(&b.context(name)?)?;
    }
    Ok(())
}

fn column<'b>(b: &'b RecordBatch, name: &str) -> Result<&'b dyn Array> {
    b.column_by_name(name).map(|c| c.as_ref()).ok_or_else(|| Error(format!("no column `{name}`")))
}

/// Whole numbers (timestamps as their milliseconds, dates as days).
pub fn ints(b: &RecordBatch, name: &str) -> Result<Vec<i64>> {
    let c = cast(column(b, name)?, &DataType::Int64).context(|| name.into())?;
    Ok(c.as_primitive::<Int64Type>().iter().map(|v| v.unwrap_or(0)).collect())
}

/// Numbers as floats (decimals at their scale); a null is NaN.
pub fn floats(b: &RecordBatch, name: &str) -> Result<Vec<f64>> {
    let c = cast(column(b, name)?, &DataType::Float64).context(|| name.into())?;
    Ok(c.as_primitive::<Float64Type>().iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// Values as text.
pub fn texts(b: &RecordBatch, name: &str) -> Result<StringArray> {
    let c = cast(column(b, name)?, &DataType::Utf8).context(|| name.into())?;
    Ok(c.as_string::<i32>().clone())
}
