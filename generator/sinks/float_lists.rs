//! A fast path for top-level lists of f32 values or of structs of f32 values
//! (the pickup event's route points, 7.6 M per canonical run). The generic
//! Arrow writer computes repetition and definition levels separately for
//! every leaf, growing them value by value, and then gathers the values by
//! index. Here the levels are read straight off the list offsets once per
//! row group, shared by all leaves, and each leaf's values go to the column
//! writer as one contiguous slice. The encoded pages are the same bytes the
//! Arrow writer produces.

use std::iter::repeat_n;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, Float32Type};
use bytes::Bytes;
use parquet::basic::Type;
use parquet::column::writer::{get_column_writer, get_typed_column_writer, ColumnCloseResult};
use parquet::data_type::FloatType;
use parquet::errors::Result;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;
use rayon::prelude::*;

/// The writer properties the fast path uses: `props` with calls into the
/// column writer of up to a page of values instead of 8 Ki. The values are
/// one slice already, and the encoder's buffer would grow call by call,
/// each growth copying it; with one call per page it is allocated once. Pages still end at their size limit: the column writer
/// splits a call that would overfill one.
pub fn properties(props: &WriterProperties) -> WriterProperties {
    let values_per_page = (props.data_page_size_limit() / size_of::<f32>()).max(1);
    props.clone().into_builder().set_write_batch_size(values_per_page).build()
}

/// One leaf column chunk, encoded and ready to be appended to its row group.
pub struct RawChunk {
    pub bytes: Bytes,
    pub close: ColumnCloseResult,
}

/// Whether `field` is a list whose elements are required f32 values or
/// required structs of required f32 fields: the shapes [`encode`] handles.
pub fn is_float_list(field: &Field) -> bool {
    let DataType::List(element) = field.data_type() else { return false };
    let required_f32 = |f: &Field| !f.is_nullable() && f.data_type() == &DataType::Float32;
    !element.is_nullable()
        && match element.data_type() {
            DataType::Float32 => true,
            DataType::Struct(fields) => !fields.is_empty() && fields.iter().all(|f| required_f32(f)),
            _ => false,
        }
}

/// Repetition and definition levels of a list column, one pair per value or
/// per null or empty row.
struct Levels {
    rep: Vec<i16>,
    def: Vec<i16>,
}

/// The levels of `array` (the shape [`is_float_list`] accepts) and the range of
/// its values; `None` if a null row spans values, which only the generic
/// writer can skip.
fn levels(array: &ArrayRef, max_def: i16) -> Option<(Levels, std::ops::Range<usize>)> {
    let list = array.as_list_opt::<i32>()?;
    let offsets = list.value_offsets();
    let (first, last) = (offsets[0] as usize, offsets[list.len()] as usize);
    let capacity = last - first + list.len();
    let mut lv = Levels { rep: Vec::with_capacity(capacity), def: Vec::with_capacity(capacity) };
    for (row, pair) in offsets.windows(2).enumerate() {
        let len = (pair[1] - pair[0]) as usize;
        let (def, values) = match (list.is_null(row), len) {
            (true, 0) if max_def >= 2 => (max_def - 2, 0),
            (true, _) => return None,
            (false, 0) => (max_def - 1, 0),
            (false, n) => (max_def, n),
        };
        lv.rep.push(0);
        lv.def.push(def);
        if values > 1 {
            lv.rep.extend(repeat_n(1, values - 1));
            lv.def.extend(repeat_n(max_def, values - 1));
        }
    }
    Some((lv, first..last))
}

/// The f32 leaf arrays of a list's elements, in schema order.
fn leaf_values(array: &ArrayRef) -> Option<Vec<&[f32]>> {
    let values = array.as_list_opt::<i32>()?.values();
    let leaves: Vec<&ArrayRef> = match values.as_struct_opt() {
        Some(s) if s.null_count() == 0 => s.columns().iter().collect(),
        Some(_) => return None,
        None => vec![values],
    };
    leaves
        .into_iter()
        .map(|a| a.as_primitive_opt::<Float32Type>().filter(|p| p.null_count() == 0).map(|p| &p.values()[..]))
        .collect()
}

/// Encodes one row group's chunk of a float list column (one chunk per leaf,
/// in parallel). `None` when the array does not fit the fast path after all;
/// the caller then uses the generic writer.
pub fn encode(
    array: &ArrayRef,
    leaves: &[ColumnDescPtr],
    props: &Arc<WriterProperties>,
) -> Option<Result<Vec<RawChunk>>> {
    let max_def = leaves.first()?.max_def_level();
    let values = leaf_values(array)?;
    if values.len() != leaves.len() || leaves.iter().any(|d| d.physical_type() != Type::FLOAT) {
        return None;
    }
    let (levels, range) = levels(array, max_def)?;
    Some(
        leaves
            .par_iter()
            .zip(values)
            .map(|(descr, values)| encode_leaf(descr, props, &values[range.clone()], &levels))
            .collect(),
    )
}

fn encode_leaf(
    descr: &ColumnDescPtr,
    props: &Arc<WriterProperties>,
    values: &[f32],
    levels: &Levels,
) -> Result<RawChunk> {
    let mut sink = TrackedWrite::new(Vec::new());
    let close = {
        let pages = Box::new(SerializedPageWriter::new(&mut sink));
        let mut writer = get_typed_column_writer::<FloatType>(get_column_writer(descr.clone(), props.clone(), pages));
        writer.write_batch(values, Some(&levels.def), Some(&levels.rep))?;
        writer.close()?
    };
    Ok(RawChunk { bytes: Bytes::from(sink.into_inner()?), close })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float32Array, ListArray};
    use arrow::buffer::{NullBuffer, OffsetBuffer};
    use arrow::datatypes::{DataType, Field};
    use parquet::arrow::ArrowSchemaConverter;
    use parquet::file::properties::WriterProperties;

    /// A nullable list<f32> whose row 1 is null and spans `span` values.
    fn column(span: usize) -> (Field, ArrayRef) {
        let element = Arc::new(Field::new("element", DataType::Float32, false));
        let lens = [2, span, 0, 3];
        let n: usize = lens.iter().sum();
        let array = ListArray::new(
            element.clone(),
            OffsetBuffer::from_lengths(lens),
            Arc::new(Float32Array::from_iter_values((0..n).map(|i| i as f32))),
            Some(NullBuffer::from(vec![true, false, true, true])),
        );
        (Field::new("xs", DataType::List(element), true), Arc::new(array))
    }

    /// Encodes the column's one leaf; the chunk's level count, or `None`
    /// if the fast path declined.
    fn encoded(span: usize) -> Option<usize> {
        let (field, array) = column(span);
        assert!(super::is_float_list(&field));
        let schema = arrow::datatypes::Schema::new(vec![field]);
        let descr = ArrowSchemaConverter::new().convert(&schema).unwrap();
        let props = Arc::new(WriterProperties::builder().build());
        let chunks = super::encode(&array, &[descr.column(0)], &props)?.unwrap();
        assert_eq!(chunks.len(), 1);
        Some(chunks[0].close.metadata.num_values() as usize)
    }

    #[test]
    fn levels_follow_the_offsets() {
        let (_, array) = column(0);
        let (levels, range) = super::levels(&array, 2).unwrap();
        assert_eq!(levels.rep, [0, 1, 0, 0, 0, 1, 1]);
        assert_eq!(levels.def, [2, 2, 0, 1, 2, 2, 2]);
        assert_eq!(range, 0..5);
        // One level per value, one each for the null and the empty row.
        assert_eq!(encoded(0), Some(7));
    }

    #[test]
    fn a_null_row_spanning_values_is_left_to_the_generic_writer() {
        assert_eq!(encoded(2), None);
    }

    #[test]
    fn only_required_f32_elements_take_the_fast_path() {
        let list = |element: Field| Field::new("l", DataType::List(Arc::new(element)), true);
        assert!(!super::is_float_list(&list(Field::new("element", DataType::Float32, true))));
        assert!(!super::is_float_list(&list(Field::new("element", DataType::Float64, false))));
        let mixed = DataType::Struct(
            vec![Field::new("a", DataType::Float32, false), Field::new("b", DataType::Int32, false)].into(),
        );
        assert!(!super::is_float_list(&list(Field::new("element", mixed, false))));
        assert!(!super::is_float_list(&Field::new("f", DataType::Float32, false)));
    }
}
