//! Writing records back out for a user's own program: the raw feature columns and label
//! of chosen records (what a generator command trains on), and encoded feature rows (what
//! a training command fits a model on, so the model it exports takes the same D inputs as
//! every other model of the audit). CSV with a header, comma-separated, quoted where needed.

use std::io::Write;
use std::path::Path;

use super::{ColumnValues, Table, TableSchema};
use crate::DataError;
use crate::error::show_path;
use ndarray::ArrayView2;

/// The token written for a missing numeric value; [`readback_schema`] lists it as missing.
pub const MISSING_TOKEN: &str = "";

fn io_err(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Io { file: show_path(path), message: e.to_string() }
}

fn finish<W: Write>(w: csv::Writer<W>, path: &Path) -> Result<(), DataError> {
    let mut inner = w.into_inner().map_err(|e| io_err(path, e))?;
    inner.flush().map_err(|e| io_err(path, e))
}

/// Writes records `rows` of `table` — every feature column in file order, then the label as
/// its class name — to a CSV file. Numbers are written in the shortest form that reads
/// back to the same f64; missing numbers as [`MISSING_TOKEN`], missing categories as the
/// token they were read as.
pub fn write_table_csv(table: &Table, label: &str, rows: &[usize], path: &Path) -> Result<(), DataError> {
    let file = std::fs::File::create(path).map_err(|e| io_err(path, e))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let mut header: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    header.push(label);
    w.write_record(&header).map_err(|e| io_err(path, e))?;
    let mut record: Vec<String> = Vec::with_capacity(header.len());
    for &r in rows {
        record.clear();
        for col in &table.columns {
            record.push(match &col.values {
                ColumnValues::Numeric(v) if v[r].is_nan() => MISSING_TOKEN.to_string(),
                ColumnValues::Numeric(v) => format!("{}", v[r]),
                ColumnValues::Categorical(c) => c.get(r).unwrap_or_default().to_string(),
            });
        }
        record.push(table.classes[table.labels[r]].clone());
        w.write_record(&record).map_err(|e| io_err(path, e))?;
    }
    finish(w, path)
}

/// The schema that reads a file written by [`write_table_csv`] (or a user's program that
/// writes the same columns) back with the same column kinds and classes: header row,
/// commas, no id or member column.
pub fn readback_schema(schema: &TableSchema, table: &Table, path: &Path) -> TableSchema {
    let mut s = TableSchema::new(path, schema.label.clone());
    s.format = Some(super::DataFormat::Csv);
    s.numeric =
        super::ColumnSet::List(table.columns.iter().filter(|c| c.is_numeric()).map(|c| c.name.clone()).collect());
    s.categorical =
        super::ColumnSet::List(table.columns.iter().filter(|c| !c.is_numeric()).map(|c| c.name.clone()).collect());
    s.missing = schema.missing.clone();
    if !s.missing.iter().any(|m| m == MISSING_TOKEN) {
        s.missing.push(MISSING_TOKEN.to_string());
    }
    s.trim = schema.trim;
    s.standardize = schema.standardize;
    s.classes = Some(table.classes.clone());
    s
}

/// Writes encoded feature rows (N × D) with their column names and, when given, a last
/// column `label` holding each row's class index.
pub fn write_encoded_csv(
    x: ArrayView2<'_, f32>,
    names: &[String],
    labels: Option<&[usize]>,
    path: &Path,
) -> Result<(), DataError> {
    let file = std::fs::File::create(path).map_err(|e| io_err(path, e))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let mut header: Vec<&str> = names.iter().map(String::as_str).collect();
    if labels.is_some() {
        header.push("label");
    }
    w.write_record(&header).map_err(|e| io_err(path, e))?;
    let mut record: Vec<String> = Vec::with_capacity(header.len());
    for (i, row) in x.rows().into_iter().enumerate() {
        record.clear();
        record.extend(row.iter().map(|v| format!("{v}")));
        if let Some(l) = labels {
            record.push(l[i].to_string());
        }
        w.write_record(&record).map_err(|e| io_err(path, e))?;
    }
    finish(w, path)
}

/// Writes encoded feature rows as Parquet (cargo feature `parquet`): one float32 column per
/// feature, named as in `names`, and, when given, an int64 column `label` (zstd-compressed).
#[cfg(feature = "parquet")]
pub fn write_encoded_parquet(
    x: ArrayView2<'_, f32>,
    names: &[String],
    labels: Option<&[usize]>,
    path: &Path,
) -> Result<(), DataError> {
    use crate::pqwrite::{ColumnData, write_parquet};

    if names.len() != x.ncols() {
        return Err(io_err(path, format!("{} column names for {} columns", names.len(), x.ncols())));
    }
    let mut columns: Vec<(&str, ColumnData)> = names
        .iter()
        .zip(x.columns())
        .map(|(n, c)| (n.as_str(), ColumnData::Float32(c.iter().copied().collect::<Vec<f32>>().into())))
        .collect();
    if let Some(l) = labels {
        columns.push(("label", ColumnData::Int64(l.iter().map(|&v| v as i64).collect::<Vec<i64>>().into())));
    }
    let file = std::fs::File::create(path).map_err(|e| io_err(path, e))?;
    write_parquet(&columns, file).map_err(|e| io_err(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tabular::{TableOptions, load_table};

    #[test]
    fn a_written_table_reads_back_identically() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in.csv");
        std::fs::write(
            &src,
            "id,age,city,score,y\na,30,Paris,0.1,yes\nb,,\"Ro, me\",1e-300,no\nc,41.5,?,-2.25,yes\nd,7,Paris,,no\n",
        )
        .unwrap();
        let mut schema = TableSchema::new(&src, "y");
        schema.id = Some("id".into());
        schema.categorical = crate::tabular::ColumnSet::List(vec!["city".into()]);
        let table = load_table(&schema, dir.path(), &TableOptions::default()).unwrap();
        let out = dir.path().join("out.csv");
        write_table_csv(&table, "y", &[3, 1, 0], &out).unwrap();
        let back = load_table(&readback_schema(&schema, &table, &out), dir.path(), &TableOptions::default()).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back.classes, table.classes);
        for (i, &r) in [3usize, 1, 0].iter().enumerate() {
            assert_eq!(back.labels[i], table.labels[r]);
            for (cb, ct) in back.columns.iter().zip(&table.columns) {
                assert_eq!(cb.name, ct.name);
                match (&cb.values, &ct.values) {
                    (ColumnValues::Numeric(b), ColumnValues::Numeric(t)) => {
                        assert!(b[i] == t[r] || (b[i].is_nan() && t[r].is_nan()), "{} vs {}", b[i], t[r])
                    }
                    (ColumnValues::Categorical(b), ColumnValues::Categorical(t)) => assert_eq!(b.get(i), t.get(r)),
                    _ => panic!("column kind changed"),
                }
            }
        }
    }

    #[cfg(feature = "parquet")]
    #[test]
    fn encoded_rows_round_trip_through_parquet() {
        use arrow::array::{AsArray, RecordBatchReader};
        use arrow::datatypes::{Float32Type, Int64Type};
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.parquet");
        let x = ndarray::array![[0.1f32, -3.0e-8], [1.0 / 3.0, 7.0]];
        write_encoded_parquet(x.view(), &["a".into(), "b=c".into()], Some(&[1, 0]), &out).unwrap();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&out).unwrap())
                .unwrap()
                .build()
                .unwrap();
        let names: Vec<String> = reader.schema().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names, ["a", "b=c", "label"]);
        let batch = reader.into_iter().next().unwrap().unwrap();
        let b: Vec<f32> = batch.column(1).as_primitive::<Float32Type>().values().to_vec();
        assert_eq!(b, vec![-3.0e-8, 7.0]);
        let l: Vec<i64> = batch.column(2).as_primitive::<Int64Type>().values().to_vec();
        assert_eq!(l, vec![1, 0]);
    }

    #[test]
    fn encoded_rows_round_trip_through_text() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.csv");
        let x = ndarray::array![[0.1f32, -3.0e-8], [1.0 / 3.0, 7.0]];
        write_encoded_csv(x.view(), &["a".into(), "b=c".into()], Some(&[1, 0]), &out).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("a,b=c,label"));
        let first: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(first[0].parse::<f32>().unwrap(), 0.1f32);
        assert_eq!(first[1].parse::<f32>().unwrap(), -3.0e-8f32);
        assert_eq!(first[2], "1");
        let second: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(second[0].parse::<f32>().unwrap(), 1.0f32 / 3.0);
    }
}
