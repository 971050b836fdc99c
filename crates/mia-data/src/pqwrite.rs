//! Writing a table of typed columns as Parquet (cargo feature `parquet`): the machine-exact
//! per-record file of a report (`records.parquet`) and the encoded rows a training command
//! reads. Text is written as UTF-8 strings exactly as held, numbers in their own type, so a
//! reader gets back the same bits; zstd-compressed, one row group.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

/// One column's values (no nulls).
#[derive(Debug, Clone)]
pub enum ColumnData<'a> {
    /// UTF-8 strings.
    Text(&'a [String]),
    Bool(&'a [bool]),
    Int64(Cow<'a, [i64]>),
    Float32(Cow<'a, [f32]>),
    Float64(Cow<'a, [f64]>),
}

impl ColumnData<'_> {
    fn array(&self) -> (DataType, ArrayRef) {
        match self {
            ColumnData::Text(v) => (DataType::Utf8, Arc::new(StringArray::from_iter_values(v.iter()))),
            ColumnData::Bool(v) => (DataType::Boolean, Arc::new(BooleanArray::from(v.to_vec()))),
            ColumnData::Int64(v) => (DataType::Int64, Arc::new(Int64Array::from(v.to_vec()))),
            ColumnData::Float32(v) => (DataType::Float32, Arc::new(Float32Array::from(v.to_vec()))),
            ColumnData::Float64(v) => (DataType::Float64, Arc::new(Float64Array::from(v.to_vec()))),
        }
    }
}

/// Writes `columns` (name, values; all of one length) as a Parquet file into `w`.
pub fn write_parquet<W: std::io::Write + Send>(columns: &[(&str, ColumnData<'_>)], w: W) -> Result<(), String> {
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns
        .iter()
        .map(|(name, data)| {
            let (t, a) = data.array();
            (Field::new(*name, t, false), a)
        })
        .unzip();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| e.to_string())?;
    let props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default())).build();
    let mut writer = ArrowWriter::try_new(w, batch.schema(), Some(props)).map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float64Type, Int64Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    #[test]
    fn columns_read_back_exactly() {
        let ids: Vec<String> = ["=1+1", "a\tb", "é"].iter().map(|s| s.to_string()).collect();
        let scores = [-1.5, 0.1 + 0.2, f64::MIN_POSITIVE];
        let mut bytes = Vec::new();
        write_parquet(
            &[
                ("id", ColumnData::Text(&ids)),
                ("member", ColumnData::Bool(&[true, false, true])),
                ("rank", ColumnData::Int64(vec![3, 1, 2].into())),
                ("score", ColumnData::Float64(scores[..].into())),
            ],
            &mut bytes,
        )
        .unwrap();
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, &bytes).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
        let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        let b = &batches[0];
        let got: Vec<&str> = b.column(0).as_string::<i32>().iter().map(Option::unwrap).collect();
        assert_eq!(got, ["=1+1", "a\tb", "é"]);
        assert_eq!(b.column(1).as_boolean().iter().map(Option::unwrap).collect::<Vec<_>>(), [true, false, true]);
        assert_eq!(b.column(2).as_primitive::<Int64Type>().values().to_vec(), [3, 1, 2]);
        let s = b.column(3).as_primitive::<Float64Type>();
        assert_eq!(s.null_count(), 0);
        let bits: Vec<u64> = s.values().iter().map(|v| v.to_bits()).collect();
        assert_eq!(bits, scores.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    }
}
