//! Shared pieces of the fuzz targets: a private scratch folder for the readers that take a
//! path (mia-data reads files, fingerprints them and re-reads them for error line numbers,
//! so there is no in-memory entry point to call), the file name a table's bytes are read
//! under, and the one check every target makes on a result.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// This process's scratch folder, under `$TMPDIR` (run_all.sh gives each target a folder
/// of its own in /dev/shm). libFuzzer ends the process with `exit`, so the folder is left
/// behind; run_all.sh removes the target's folder afterwards.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("mia-fuzz-").tempdir().expect("cannot create a scratch folder");
        dir.keep()
    })
}

/// Writes `bytes` to `name` in the scratch folder and returns its path.
pub fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    std::fs::write(&path, bytes).expect("cannot write to the scratch folder");
    path
}

/// The name a table file is read under, from its leading bytes, as a user would name it:
/// Parquet magic -> `.parquet`, gzip magic -> `.csv.gz`, anything else -> `.csv`.
pub fn table_name(stem: &str, bytes: &[u8]) -> String {
    if bytes.starts_with(b"PAR1") {
        format!("{stem}.parquet")
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        format!("{stem}.csv.gz")
    } else {
        format!("{stem}.csv")
    }
}

/// The project's rule for every failure: a non-empty, one-line message. A panic inside the
/// parser is caught by libFuzzer itself; this adds the message check.
pub fn check<T, E: Display>(result: &Result<T, E>) {
    if let Err(e) = result {
        let text = e.to_string();
        assert!(!text.trim().is_empty(), "empty error message");
        assert!(!text.contains('\n') && !text.contains('\r'), "multi-line error message: {text:?}");
    }
}

/// A C-order, format 1.0 `.npy` file: dtype descriptor (`<f8`, `|b1`, ...), shape text
/// (`(4, 2)`, `(4,)`) and the raw little-endian data.
pub fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// `.npy` of float64 values with the given shape text.
pub fn f64_npy(shape: &str, values: impl IntoIterator<Item = f64>) -> Vec<u8> {
    npy("<f8", shape, &values.into_iter().flat_map(f64::to_le_bytes).collect::<Vec<u8>>())
}

/// `.npy` of int64 values with the given shape text.
pub fn i64_npy(shape: &str, values: impl IntoIterator<Item = i64>) -> Vec<u8> {
    npy("<i8", shape, &values.into_iter().flat_map(i64::to_le_bytes).collect::<Vec<u8>>())
}

/// `.npy` of booleans with the given shape text.
pub fn bool_npy(shape: &str, values: impl IntoIterator<Item = bool>) -> Vec<u8> {
    npy("|b1", shape, &values.into_iter().map(u8::from).collect::<Vec<u8>>())
}

/// The folder of the repository's fixtures (for targets that need a valid companion file).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// Records of [`score_table`]; reference targets' valid companion arrays use these sizes.
pub const N_RECORDS: usize = 6;
/// Classes of [`score_table`].
pub const N_CLASSES: usize = 3;
/// Reference models of the valid companion arrays.
pub const N_MODELS: usize = 4;

/// A valid score table for the reference readers to align to: records with ids 100..105,
/// alternately member and non-member, labels `n % 3`, 3-class logits.
pub fn score_table() -> &'static mia_data::ScoreTable {
    static T: OnceLock<mia_data::ScoreTable> = OnceLock::new();
    T.get_or_init(|| mia_data::ScoreTable {
        ids: (0..N_RECORDS).map(|n| (100 + n).to_string()).collect(),
        member: (0..N_RECORDS).map(|n| n % 2 == 0).collect(),
        labels: Some((0..N_RECORDS).map(|n| n % N_CLASSES).collect()),
        outputs: mia_core::signals::ModelOutputs::Logits(ndarray::Array2::from_shape_fn(
            (N_RECORDS, N_CLASSES),
            |(n, c)| ((n * 3 + c * 5) % 7) as f64 - 3.0,
        )),
        inputs: vec![mia_data::InputFile { path: "scores.csv".into(), sha256: String::new(), bytes: 0 }],
        rows_read: N_RECORDS,
        skipped: Vec::new(),
        notes: Vec::new(),
    })
}

/// The `[data]` schemas the table targets read their input with: Adult's columns as in
/// `fixtures/tabular/adult_sample.*` (header, id and member columns, numeric list,
/// categorical rest, a label map), and Location-30's shape (no header, label column "0",
/// every other column numeric, `|` comments).
pub fn table_schemas(path: &Path) -> [mia_data::tabular::TableSchema; 3] {
    use mia_data::tabular::{ColumnSet, TableSchema};
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let adult = TableSchema {
        id: Some("id".into()),
        member: Some("member".into()),
        numeric: ColumnSet::List(strings(&[
            "age",
            "fnlwgt",
            "education-num",
            "capital-gain",
            "capital-loss",
            "hours-per-week",
        ])),
        categorical: ColumnSet::Rest,
        label_map: [("<=50K.", "<=50K"), (">50K.", ">50K")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
        ..TableSchema::new(path, "income")
    };
    let all_categorical =
        TableSchema { id: Some("id".into()), categorical: ColumnSet::Rest, ..TableSchema::new(path, "income") };
    let location = TableSchema {
        header: false,
        comment: Some('|'),
        numeric: ColumnSet::Rest,
        standardize: false,
        ..TableSchema::new(path, "0")
    };
    [adult, all_categorical, location]
}

/// Reads a table with `schema` (strict, then lenient and allowing one class) and, when it
/// loads, fits and applies the feature encoding, as a model audit does.
pub fn load_and_encode(schema: &mia_data::tabular::TableSchema, lenient: bool) {
    use mia_data::tabular::{Encoding, TableOptions, load_table};
    let opts = TableOptions { skip_invalid_rows: lenient, allow_one_class: lenient };
    let table = load_table(schema, scratch(), &opts);
    check(&table);
    if let Ok(table) = table {
        let encoding = Encoding::fit_all(&table, schema);
        check(&encoding);
        if let Ok(encoding) = encoding {
            check(&encoding.transform(&table));
        }
    }
}
