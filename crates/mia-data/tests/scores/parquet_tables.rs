use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, DictionaryArray, Float32Array, Float64Array, Int32Array, Int64Array, StringArray,
    UInt8Array,
};
use arrow::datatypes::{Field, Int32Type, Schema};
use arrow::record_batch::RecordBatch;
use mia_core::signals::ModelOutputs;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use crate::*;

/// Writes a Parquet file with the given columns, `row_group` rows per row group.
pub fn write_pq(dir: &Path, name: &str, cols: Vec<(&str, ArrayRef)>, row_group: usize) -> PathBuf {
    let p = dir.join(name);
    let fields: Vec<Field> = cols.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), cols.into_iter().map(|(_, a)| a).collect()).unwrap();
    let props = WriterProperties::builder().set_max_row_group_row_count(Some(row_group)).build();
    let mut w = ArrowWriter::try_new(std::fs::File::create(&p).unwrap(), schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    p
}

fn f64s(v: &[f64]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}

fn i64s(v: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}

fn bools(v: &[bool]) -> ArrayRef {
    Arc::new(BooleanArray::from(v.to_vec()))
}

fn strs(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

/// Five records over two row groups.
fn good_cols() -> Vec<(&'static str, ArrayRef)> {
    vec![
        ("id", strs(&["a", "b", "c", "d", "e"])),
        ("member", bools(&[true, false, true, false, true])),
        ("label", i64s(&[0, 1, 1, 0, 1])),
        ("logit_0", f64s(&[1.0, 2.0, 3.0, 4.0, 5.0])),
        ("logit_1", f64s(&[-1.0, -2.0, -3.0, -4.0, -5.0])),
    ]
}

fn with(mut cols: Vec<(&'static str, ArrayRef)>, name: &'static str, a: ArrayRef) -> Vec<(&'static str, ArrayRef)> {
    for c in cols.iter_mut() {
        if c.0 == name {
            c.1 = a.clone();
        }
    }
    cols
}

fn pq_err(cols: Vec<(&'static str, ArrayRef)>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = write_pq(dir.path(), "s.parquet", cols, 3);
    match load(&table(&p), &strict()) {
        Ok(_) => panic!("expected an error"),
        Err(e) => strip(&e.to_string(), dir.path()),
    }
}

#[test]
fn loads_logits_across_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_pq(dir.path(), "s.parquet", good_cols(), 2);
    let t = load(&table(&p), &strict()).unwrap();
    assert_eq!(t.ids, ["a", "b", "c", "d", "e"]);
    assert_eq!(t.member, [true, false, true, false, true]);
    assert_eq!(t.labels.as_deref(), Some(&[0usize, 1, 1, 0, 1][..]));
    let ModelOutputs::Logits(a) = &t.outputs else { panic!() };
    assert_eq!(a.column(1).to_vec(), [-1.0, -2.0, -3.0, -4.0, -5.0]);
    assert_eq!(t.rows_read, 5);
    assert_eq!(t.inputs[0].bytes, std::fs::metadata(&p).unwrap().len());
    // Same data as CSV gives the same table.
    let c = csv_ok("id,member,label,logit_0,logit_1\na,1,0,1,-1\nb,0,1,2,-2\nc,1,1,3,-3\nd,0,0,4,-4\ne,1,1,5,-5\n");
    assert_eq!(c.ids, t.ids);
    assert_eq!(c.member, t.member);
    assert_eq!(c.labels, t.labels);
    let ModelOutputs::Logits(b) = &c.outputs else { panic!() };
    assert_eq!(a, b);
    // .pq works too.
    let p2 = dir.path().join("s.pq");
    std::fs::copy(&p, &p2).unwrap();
    assert_eq!(load(&table(&p2), &strict()).unwrap().len(), 5);
}

#[test]
fn other_column_types() {
    let dir = tempfile::tempdir().unwrap();
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("id", i64s(&[7, 8, 9])),
        ("member", Arc::new(Int32Array::from(vec![1, 0, 0]))),
        ("label", Arc::new(UInt8Array::from(vec![1u8, 0, 1]))),
        ("prob_0", Arc::new(Float32Array::from(vec![0.25f32, 1.0, 0.5]))),
        ("prob_1", Arc::new(Float32Array::from(vec![0.75f32, 0.0, 0.5]))),
    ];
    let p = write_pq(dir.path(), "s.parquet", cols, 100);
    let t = load(&table(&p), &strict()).unwrap();
    assert_eq!(t.ids, ["7", "8", "9"]);
    assert_eq!(t.member, [true, false, false]);
    let ModelOutputs::Probabilities(a) = &t.outputs else { panic!() };
    assert_eq!(a[[0, 1]], 0.75);
    // Dictionary-encoded string ids (pandas categoricals) and a loss column without labels.
    let dict: DictionaryArray<Int32Type> = vec!["x", "y", "z"].into_iter().collect();
    let cols: Vec<(&str, ArrayRef)> =
        vec![("id", Arc::new(dict)), ("member", bools(&[true, false, false])), ("loss", f64s(&[0.0, 1.5, 2.0]))];
    let p = write_pq(dir.path(), "l.parquet", cols, 100);
    let t = load(&table(&p), &strict()).unwrap();
    assert_eq!(t.ids, ["x", "y", "z"]);
    assert!(t.labels.is_none());
    let ModelOutputs::Loss(l) = &t.outputs else { panic!() };
    assert_eq!(l, &[0.0, 1.5, 2.0]);
}

#[test]
fn wrong_column_types() {
    assert_eq!(
        pq_err(with(good_cols(), "member", f64s(&[1.0, 0.0, 1.0, 0.0, 1.0]))),
        "s.parquet: column \"member\": expected a boolean or integer (0/1) column, found type Float64"
    );
    assert_eq!(
        pq_err(with(good_cols(), "label", f64s(&[0.0, 1.0, 1.0, 0.0, 1.0]))),
        "s.parquet: column \"label\": expected an integer column (class index), found type Float64"
    );
    assert_eq!(
        pq_err(with(good_cols(), "logit_1", strs(&["1", "2", "3", "4", "5"]))),
        "s.parquet: column \"logit_1\": expected a float32 or float64 column, found type Utf8"
    );
    assert_eq!(
        pq_err(with(good_cols(), "id", f64s(&[1.0, 2.0, 3.0, 4.0, 5.0]))),
        "s.parquet: column \"id\": expected a string or integer column, found type Float64"
    );
}

#[test]
fn bad_values_have_rows_across_row_groups() {
    let nulls: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), Some(2.0), Some(3.0), None, Some(5.0)]));
    assert_eq!(
        pq_err(with(good_cols(), "logit_1", nulls)),
        "s.parquet: row 4, column \"logit_1\": expected a number, found null"
    );
    assert_eq!(
        pq_err(with(good_cols(), "logit_0", f64s(&[1.0, 2.0, 3.0, 4.0, f64::NEG_INFINITY]))),
        "s.parquet: row 5, column \"logit_0\": expected a finite number, found -inf"
    );
    assert_eq!(
        pq_err(with(good_cols(), "member", i64s(&[1, 0, 1, 2, 0]))),
        "s.parquet: row 4, column \"member\": expected 0/1 or true/false, found 2"
    );
    assert_eq!(
        pq_err(with(good_cols(), "label", i64s(&[0, 1, 1, 0, 2]))),
        "s.parquet: row 5, column \"label\": expected a class index in 0..2 (2 class columns), found 2"
    );
    assert_eq!(
        pq_err(with(good_cols(), "label", i64s(&[0, -1, 1, 0, 1]))),
        "s.parquet: row 2, column \"label\": expected a non-negative integer class label, found -1"
    );
    assert_eq!(
        pq_err(with(good_cols(), "id", strs(&["a", "b", "c", "b", "e"]))),
        "s.parquet: rows 2 and 4, column \"id\": expected unique record ids, found \"b\" twice"
    );
    let null_member: ArrayRef =
        Arc::new(BooleanArray::from(vec![Some(true), None, Some(true), Some(false), Some(true)]));
    assert_eq!(
        pq_err(with(good_cols(), "member", null_member)),
        "s.parquet: row 2, column \"member\": expected 0/1 or true/false, found null"
    );
    assert_eq!(
        pq_err(with(good_cols(), "member", bools(&[true; 5]))),
        "s.parquet: need at least one member and one non-member, found 5 member(s) and 0 non-member(s)"
    );
}

#[test]
fn structural_errors() {
    let mut cols = good_cols();
    cols.remove(1);
    let e = pq_err(cols);
    assert!(e.starts_with("s.parquet: missing required column \"member\""), "{e}");
    let cols: Vec<(&str, ArrayRef)> = vec![("member", bools(&[true, false])), ("score", f64s(&[0.0, 1.0]))];
    let e = pq_err(cols);
    assert!(e.starts_with("s.parquet: no model-output columns"), "{e}");
    let empty: Vec<(&str, ArrayRef)> = good_cols().into_iter().map(|(n, a)| (n, a.slice(0, 0))).collect();
    assert_eq!(pq_err(empty), "s.parquet: no data rows: the table has 0 rows");
}

#[test]
fn skipping_in_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let cols = with(good_cols(), "logit_0", f64s(&[1.0, f64::NAN, 3.0, 4.0, 5.0]));
    let cols = with(cols, "member", i64s(&[1, 0, 1, 9, 0]));
    let p = write_pq(dir.path(), "s.parquet", cols, 2);
    let t = load(&table(&p), &lenient()).unwrap();
    assert_eq!(t.ids, ["a", "c", "e"]);
    assert_eq!(t.rows_read, 5);
    assert_eq!(t.n_skipped(), 2);
}

#[test]
fn truncated_random_and_empty_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(write_pq(dir.path(), "good.parquet", good_cols(), 2)).unwrap();
    let p = write(dir.path(), "t.parquet", &good[..good.len() / 2]);
    let e = strip(&load(&table(&p), &strict()).unwrap_err().to_string(), dir.path());
    assert_eq!(e, "t.parquet: truncated or corrupt Parquet file (the footer magic PAR1 is missing at the end)");
    let p = write(
        dir.path(),
        "r.parquet",
        [0x17u8, 0x99, 0x00, 0xfe, 0x42, 0x42, 0x42, 0x42, 0x01, 0x02, 0x03, 0x04, 0x05],
    );
    let e = strip(&load(&table(&p), &strict()).unwrap_err().to_string(), dir.path());
    assert_eq!(e, "r.parquet: not a Parquet file (it does not start with the magic bytes PAR1)");
    let p = write(dir.path(), "c.parquet", "id,member\n1,1\n");
    let e = strip(&load(&table(&p), &strict()).unwrap_err().to_string(), dir.path());
    assert!(e.ends_with("(it looks like text; if it is CSV, name it .csv)"), "{e}");
    let p = write(dir.path(), "e.parquet", "");
    let e = strip(&load(&table(&p), &strict()).unwrap_err().to_string(), dir.path());
    assert_eq!(e, "e.parquet: file is empty: expected a Parquet file");
    // Magic at both ends but garbage between: a corrupt footer.
    let mut fake = b"PAR1".to_vec();
    fake.extend_from_slice(&[0xab; 40]);
    fake.extend_from_slice(&20u32.to_le_bytes());
    fake.extend_from_slice(b"PAR1");
    let p = write(dir.path(), "f.parquet", &fake);
    let e = strip(&load(&table(&p), &strict()).unwrap_err().to_string(), dir.path());
    assert!(e.starts_with("f.parquet: corrupt or unreadable Parquet file: "), "{e}");
}

/// Prints a small valid Parquet file as hex (used to embed one in the CLI's bad-input test).
#[test]
#[ignore]
fn print_small_parquet_hex() {
    let dir = tempfile::tempdir().unwrap();
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("id", i64s(&[1, 2, 3, 4])),
        ("member", i64s(&[1, 0, 1, 0])),
        ("label", i64s(&[0, 1, 1, 0])),
        ("logit_0", f64s(&[1.0, 2.0, 3.0, 4.0])),
        ("logit_1", f64s(&[-1.0, -2.0, -3.0, -4.0])),
    ];
    let p = write_pq(dir.path(), "s.parquet", cols, 100);
    let b = std::fs::read(p).unwrap();
    println!("{} bytes", b.len());
    println!("{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>());
}
