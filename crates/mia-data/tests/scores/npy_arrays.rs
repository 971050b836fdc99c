use std::path::{Path, PathBuf};

use mia_core::signals::ModelOutputs;
use mia_data::{DataError, ScoreSource};
use ndarray::{Array1, Array2, ShapeBuilder, array};
use ndarray_npy::{WritableElement, WriteNpyExt};

use crate::*;

pub fn npy<A: WritableElement, D: ndarray::Dimension>(dir: &Path, name: &str, a: &ndarray::Array<A, D>) -> PathBuf {
    let p = dir.join(name);
    let mut buf = Vec::new();
    a.write_npy(&mut buf).unwrap();
    std::fs::write(&p, buf).unwrap();
    p
}

#[path = "../support/npy.rs"]
mod npy_support;
pub use npy_support::raw_npy;

struct Arrays {
    logits: Option<PathBuf>,
    probs: Option<PathBuf>,
    labels: Option<PathBuf>,
    member: PathBuf,
    ids: Option<PathBuf>,
}

impl Arrays {
    fn src(&self) -> ScoreSource {
        ScoreSource::Arrays {
            logits: self.logits.clone(),
            probs: self.probs.clone(),
            labels: self.labels.clone(),
            member: self.member.clone(),
            ids: self.ids.clone(),
        }
    }
}

/// Four records, 3 classes, all valid.
fn valid(dir: &Path) -> Arrays {
    Arrays {
        logits: Some(npy(
            dir,
            "logits.npy",
            &array![[1.0f64, 2.0, 3.0], [0.5, -1.0, 0.0], [2.0, 2.0, 2.0], [9.0, 0.0, -9.0]],
        )),
        probs: None,
        labels: Some(npy(dir, "labels.npy", &array![0i64, 2, 1, 0])),
        member: npy(dir, "member.npy", &array![true, false, true, false]),
        ids: Some(npy(dir, "ids.npy", &array![10i64, 11, 12, 13])),
    }
}

fn err(dir: &tempfile::TempDir, a: &Arrays) -> String {
    match load(&a.src(), &strict()) {
        Ok(_) => panic!("expected an error"),
        Err(e) => strip(&e.to_string(), dir.path()),
    }
}

#[test]
fn loads_float64_logits_with_ids() {
    let dir = tempfile::tempdir().unwrap();
    let a = valid(dir.path());
    let t = load(&a.src(), &strict()).unwrap();
    assert_eq!(t.ids, ["10", "11", "12", "13"]);
    assert_eq!(t.member, [true, false, true, false]);
    assert_eq!(t.labels.as_deref(), Some(&[0usize, 2, 1, 0][..]));
    let ModelOutputs::Logits(l) = &t.outputs else { panic!() };
    assert_eq!(l.shape(), [4, 3]);
    assert_eq!(l[[3, 2]], -9.0);
    assert_eq!(t.inputs.len(), 4);
    let names: Vec<&str> = t.inputs.iter().map(|i| i.path.rsplit('/').next().unwrap()).collect();
    assert_eq!(names, ["logits.npy", "labels.npy", "member.npy", "ids.npy"]);
    for i in &t.inputs {
        assert_eq!(i.bytes, std::fs::metadata(&i.path).unwrap().len());
        assert_eq!(i.sha256.len(), 64);
    }
}

#[test]
fn float32_probs_small_int_labels_int_member_and_no_ids() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = Arrays {
        logits: None,
        probs: Some(npy(d, "p.npy", &array![[0.25f32, 0.75], [1.0, 0.0], [0.5, 0.5]])),
        labels: Some(npy(d, "l.npy", &array![1u8, 0, 1])),
        member: npy(d, "m.npy", &array![1i32, 0, 0]),
        ids: None,
    };
    let t = load(&a.src(), &strict()).unwrap();
    let ModelOutputs::Probabilities(p) = &t.outputs else { panic!() };
    assert_eq!(p[[0, 1]], 0.75);
    assert_eq!(t.ids, ["1", "2", "3"]);
    assert!(t.notes.iter().any(|n| n.contains("no ids array")));
    assert_eq!(t.member, [true, false, false]);
}

#[test]
fn every_integer_dtype_reads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let logits = npy(d, "z.npy", &array![[1.0f64, 0.0], [0.0, 1.0]]);
    let member = npy(d, "m.npy", &array![1u64, 0]);
    let labels: Vec<PathBuf> = vec![
        npy(d, "i1.npy", &array![1i8, 0]),
        npy(d, "i2.npy", &array![1i16, 0]),
        npy(d, "i4.npy", &array![1i32, 0]),
        npy(d, "i8.npy", &array![1i64, 0]),
        npy(d, "u1.npy", &array![1u8, 0]),
        npy(d, "u2.npy", &array![1u16, 0]),
        npy(d, "u4.npy", &array![1u32, 0]),
        npy(d, "u8.npy", &array![1u64, 0]),
    ];
    for l in labels {
        let src = ScoreSource::Arrays {
            logits: Some(logits.clone()),
            probs: None,
            labels: Some(l.clone()),
            member: member.clone(),
            ids: Some(l.clone()),
        };
        let t = load(&src, &strict()).unwrap();
        assert_eq!(t.labels.as_deref(), Some(&[1usize, 0][..]), "{}", l.display());
        assert_eq!(t.ids, ["1", "0"]);
    }
}

#[test]
fn fortran_order_and_big_endian() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut f = Array2::<f64>::zeros((3, 2).f());
    f.assign(&array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    let logits = npy(d, "f.npy", &f);
    let mut be = Vec::new();
    for v in [1i32, 0, 1] {
        be.extend_from_slice(&v.to_be_bytes());
    }
    let labels = d.join("be.npy");
    std::fs::write(&labels, raw_npy(">i4", false, "(3,)", &be)).unwrap();
    let member = npy(d, "m.npy", &array![false, true, false]);
    let src = ScoreSource::Arrays { logits: Some(logits), probs: None, labels: Some(labels), member, ids: None };
    let t = load(&src, &strict()).unwrap();
    let ModelOutputs::Logits(l) = &t.outputs else { panic!() };
    assert_eq!(l.row(2).to_vec(), [5.0, 6.0]);
    assert_eq!(t.labels.as_deref(), Some(&[1usize, 0, 1][..]));
}

#[test]
fn both_logits_and_probs_uses_logits() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = valid(dir.path());
    a.probs = Some(npy(dir.path(), "p.npy", &array![[0.5f64, 0.5], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]));
    let t = load(&a.src(), &strict()).unwrap();
    assert_eq!(t.outputs.kind(), "logits");
    assert!(t.notes.iter().any(|n| n.contains("using the logits")));
}

#[test]
fn wrong_dtype_for_logits() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = valid(dir.path());
    a.logits = Some(npy(dir.path(), "logits.npy", &array![[1i64, 2], [3, 4], [5, 6], [7, 8]]));
    assert_eq!(err(&dir, &a), "logits.npy: expected a 2-D array of float32 or float64 values, found dtype int64");
    std::fs::write(dir.path().join("logits.npy"), raw_npy("<U3", false, "(4, 2)", &[0u8; 96])).unwrap();
    assert_eq!(err(&dir, &a), "logits.npy: expected a 2-D array of float32 or float64 values, found dtype str (<U3)");
    std::fs::write(dir.path().join("logits.npy"), raw_npy("|O", false, "(4,)", &[0u8; 32])).unwrap();
    assert!(err(&dir, &a).ends_with("found dtype object"));
    let dict = "{'descr': [('a', '<f8'), ('b', '<i4')], 'fortran_order': False, 'shape': (4,), }\n";
    let mut structured = b"\x93NUMPY\x01\x00".to_vec();
    structured.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    structured.extend_from_slice(dict.as_bytes());
    structured.extend_from_slice(&[0u8; 48]);
    std::fs::write(dir.path().join("logits.npy"), structured).unwrap();
    assert!(err(&dir, &a).contains("found dtype structured"), "{}", err(&dir, &a));
}

#[test]
fn wrong_dtype_for_labels_member_ids() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = valid(dir.path());
    a.labels = Some(npy(dir.path(), "labels.npy", &array![0.0f64, 2.0, 1.0, 0.0]));
    assert_eq!(
        err(&dir, &a),
        "labels.npy: expected a 1-D array of integer values (int8..int64 or uint8..uint64), found dtype float64"
    );
    let mut a = valid(dir.path());
    a.member = npy(dir.path(), "member.npy", &array![1.0f32, 0.0, 1.0, 0.0]);
    assert_eq!(err(&dir, &a), "member.npy: expected a 1-D array of bool or integer (0/1) values, found dtype float32");
    let mut a = valid(dir.path());
    a.ids = Some(npy(dir.path(), "ids.npy", &array![true, false, true, false]));
    assert!(err(&dir, &a).starts_with("ids.npy: expected a 1-D array of integer values"));
}

#[test]
fn wrong_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = valid(dir.path());
    a.logits = Some(npy(dir.path(), "logits.npy", &array![1.0f64, 2.0, 3.0, 4.0]));
    assert_eq!(err(&dir, &a), "logits.npy: expected a 2-D array (records x classes), found shape (4,)");
    a.logits = Some(npy(dir.path(), "logits.npy", &array![[1.0f64], [2.0], [3.0], [4.0]]));
    assert_eq!(err(&dir, &a), "logits.npy: expected a 2-D array with at least 2 classes (columns), found shape (4, 1)");
    let mut a = valid(dir.path());
    a.labels = Some(npy(dir.path(), "labels.npy", &array![[0i64, 1], [1, 0]]));
    assert_eq!(err(&dir, &a), "labels.npy: expected a 1-D array (one value per record), found shape (2, 2)");
    let mut a = valid(dir.path());
    a.logits = Some(npy(dir.path(), "logits.npy", &Array2::<f64>::zeros((0, 3))));
    assert_eq!(err(&dir, &a), "logits.npy: the array has no rows");
    let mut a = valid(dir.path());
    let p = dir.path().join("labels.npy");
    std::fs::write(&p, raw_npy("<i8", false, "()", &[0u8; 8])).unwrap();
    a.labels = Some(p);
    assert!(err(&dir, &a).ends_with("found shape ()"), "{}", err(&dir, &a));
}

#[test]
fn arrays_of_different_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = valid(dir.path());
    a.member = npy(dir.path(), "member.npy", &array![true, false, true]);
    assert_eq!(err(&dir, &a), "logits.npy has 4 rows but member.npy has 3; arrays must have one entry per record");
    let mut a = valid(dir.path());
    a.ids = Some(npy(dir.path(), "ids.npy", &Array1::<i64>::from_iter(0..5)));
    assert!(err(&dir, &a).starts_with("logits.npy has 4 rows but ids.npy has 5"));
}

#[test]
fn bad_values_name_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = valid(dir.path());
    a.logits = Some(npy(
        dir.path(),
        "logits.npy",
        &array![[1.0f64, 2.0, 3.0], [0.5, -1.0, 0.0], [2.0, f64::NAN, 2.0], [9.0, 0.0, -9.0]],
    ));
    assert_eq!(err(&dir, &a), "logits.npy: row 3, column 1: expected a finite number, found NaN");
    let mut a = valid(dir.path());
    a.labels = Some(npy(dir.path(), "labels.npy", &array![0i64, 3, 1, 0]));
    assert_eq!(err(&dir, &a), "labels.npy: row 2: expected a class index in 0..3 (3 class columns), found 3");
    a.labels = Some(npy(dir.path(), "labels.npy", &array![0i64, 1, -1, 0]));
    assert_eq!(err(&dir, &a), "labels.npy: row 3: expected a non-negative integer class label, found -1");
    let mut a = valid(dir.path());
    a.member = npy(dir.path(), "member.npy", &array![1u8, 0, 2, 0]);
    assert_eq!(err(&dir, &a), "member.npy: row 3: expected 0/1 or true/false, found 2");
    let mut a = valid(dir.path());
    a.ids = Some(npy(dir.path(), "ids.npy", &array![5i32, 6, 7, 6]));
    assert_eq!(err(&dir, &a), "ids.npy: rows 2 and 4: expected unique record ids, found \"6\" twice");
    let mut a = valid(dir.path());
    a.member = npy(dir.path(), "member.npy", &array![false, false, false, false]);
    assert_eq!(
        err(&dir, &a),
        "member.npy: need at least one member and one non-member, found 0 member(s) and 4 non-member(s)"
    );
}

#[test]
fn probability_rows_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = valid(dir.path());
    a.logits = None;
    a.probs = Some(npy(
        dir.path(),
        "probs.npy",
        &array![[0.2f64, 0.3, 0.5], [0.1, 0.1, 0.1], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
    ));
    assert_eq!(
        err(&dir, &a),
        "probs.npy: row 2, columns 0..2: expected probabilities summing to 1 (within tolerance 1e-3), found sum 0.30000000000000004"
    );
    let t = load(&a.src(), &lenient()).unwrap();
    assert_eq!(t.ids, ["10", "12", "13"]);
    assert_eq!(t.skipped[0].reason, "invalid probability row");
}

#[test]
fn missing_labels_or_outputs_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = valid(dir.path());
    a.labels = None;
    let e = load(&a.src(), &strict()).unwrap_err();
    assert!(matches!(e, DataError::Usage { .. }));
    assert!(e.to_string().contains("labels array"), "{e}");
    let mut a = valid(dir.path());
    a.logits = None;
    let e = load(&a.src(), &strict()).unwrap_err();
    assert!(e.to_string().contains("logits or a probabilities array"), "{e}");
}

#[test]
fn not_npy_truncated_and_hostile_headers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut a = valid(d);
    let p = d.join("logits.npy");
    std::fs::write(&p, "id,member\n1,2\n").unwrap();
    assert_eq!(err(&dir, &a), "logits.npy: not a .npy file (it does not start with the NumPy magic \\x93NUMPY)");
    std::fs::write(&p, "").unwrap();
    assert_eq!(err(&dir, &a), "logits.npy: file is empty: expected a .npy array");
    std::fs::write(&p, b"\x93NUM").unwrap();
    assert!(err(&dir, &a).contains("truncated .npy file"));
    // Truncated data.
    let full = std::fs::read(npy(d, "full.npy", &Array2::<f64>::ones((4, 3)))).unwrap();
    std::fs::write(&p, &full[..full.len() - 10]).unwrap();
    assert_eq!(err(&dir, &a), "logits.npy: truncated .npy file: shape (4, 3) of float64 needs 96 data bytes, found 86");
    let mut extra = full.clone();
    extra.extend_from_slice(b"junk");
    std::fs::write(&p, &extra).unwrap();
    assert!(err(&dir, &a).contains("4 bytes after the 96 data bytes"));
    // A header promising an enormous array must not allocate it.
    std::fs::write(&p, raw_npy("<f8", false, "(1000000000000, 3)", &[0u8; 24])).unwrap();
    assert!(err(&dir, &a).contains("truncated .npy file: shape (1000000000000, 3)"), "{}", err(&dir, &a));
    std::fs::write(&p, raw_npy("<f8", false, "(18446744073709551615, 18446744073709551615)", &[])).unwrap();
    assert!(err(&dir, &a).contains("too large"), "{}", err(&dir, &a));
    // Deep nesting in the header is refused before the recursive parser sees it.
    let deep = format!("{}{}", "(".repeat(10_000), ")".repeat(10_000));
    std::fs::write(&p, raw_npy("<f8", false, &deep, &[])).unwrap();
    assert!(err(&dir, &a).contains("malformed .npy header"), "{}", err(&dir, &a));
    std::fs::write(&p, b"\x93NUMPY\x02\x00\xff\xff\xff\xff{").unwrap();
    assert!(err(&dir, &a).contains("implausibly large"));
    std::fs::write(&p, b"\x93NUMPY\x09\x00\x10\x00{}").unwrap();
    assert!(err(&dir, &a).contains("unsupported .npy format version 9.0"));
    // A bool array holding a byte that is not 0/1.
    a.member = d.join("member.npy");
    std::fs::write(&a.member, raw_npy("|b1", false, "(4,)", &[1, 0, 7, 0])).unwrap();
    std::fs::write(&p, &full).unwrap();
    assert!(err(&dir, &a).starts_with("member.npy: cannot read the array data"), "{}", err(&dir, &a));
}

#[test]
fn skipping_in_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = valid(dir.path());
    a.logits = Some(npy(
        dir.path(),
        "logits.npy",
        &array![[1.0f64, 2.0, 3.0], [f64::INFINITY, -1.0, 0.0], [2.0, 2.0, 2.0], [9.0, 0.0, -9.0]],
    ));
    a.labels = Some(npy(dir.path(), "labels.npy", &array![0i64, 2, 7, 0]));
    let t = load(&a.src(), &lenient()).unwrap();
    assert_eq!(t.ids, ["10", "13"]);
    assert_eq!(t.rows_read, 4);
    assert_eq!(t.n_skipped(), 2);
}

#[test]
fn million_rows_npy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 1_000_000usize;
    let logits = Array2::from_shape_fn((n, 4), |(i, k)| ((i * 7 + k) % 13) as f32 - 6.0);
    let labels = Array1::from_shape_fn(n, |i| (i % 4) as i64);
    let member = Array1::from_shape_fn(n, |i| i % 3 == 0);
    let ids = Array1::from_shape_fn(n, |i| i as i64 * 3);
    let src = ScoreSource::Arrays {
        logits: Some(npy(d, "z.npy", &logits)),
        probs: None,
        labels: Some(npy(d, "y.npy", &labels)),
        member: npy(d, "m.npy", &member),
        ids: Some(npy(d, "i.npy", &ids)),
    };
    let t0 = std::time::Instant::now();
    let t = load(&src, &strict()).unwrap();
    eprintln!("1M-row NPY loaded in {:?}", t0.elapsed());
    assert_eq!(t.len(), n);
    assert_eq!(t.ids[n - 1], ((n - 1) * 3).to_string());
}
