//! UCI Adult's columns as `examples/data/adult.toml` describes them, shared by every
//! mia-synth test and benchmark that reads Adult or Adult-shaped fixture tables.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use mia_data::tabular::{ColumnSet, DataFormat, TableOptions, TableSchema, load_table};
use mia_synth::mixed::{MixedSchema, MixedTable, mix};

/// Column names of `data/adult/adult.data.gz` (no header row).
pub const NAMES: [&str; 15] = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
];
/// The numeric columns; the others (and the label `income`) are categorical.
pub const NUMERIC: [&str; 6] = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"];

/// The repository root (`MIA_REPO_ROOT` overrides, for a benchmark binary run elsewhere).
pub fn repo_root() -> PathBuf {
    match std::env::var_os("MIA_REPO_ROOT") {
        Some(root) => PathBuf::from(root),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."),
    }
}

/// The schema of an Adult-shaped CSV: with a header row, or headerless as the bundled file.
pub fn schema(path: &Path, header: bool) -> TableSchema {
    let mut s = TableSchema::new(path, "income");
    s.format = Some(DataFormat::Csv);
    s.header = header;
    if !header {
        s.names = Some(NAMES.iter().map(|n| n.to_string()).collect());
    }
    s.numeric = ColumnSet::List(NUMERIC.iter().map(|n| n.to_string()).collect());
    s.categorical = ColumnSet::Rest;
    s
}

/// Adult-shaped tables (`id`: their id column, if any), mixed with one dictionary, in order.
pub fn load_mixed(paths: &[PathBuf], header: bool, id: Option<&str>) -> (MixedSchema, Vec<MixedTable>) {
    let tables: Vec<_> = paths
        .iter()
        .map(|p| {
            let mut s = schema(p, header);
            s.id = id.map(String::from);
            load_table(&s, Path::new("."), &TableOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect();
    let refs: Vec<_> = tables.iter().collect();
    mix(&refs, "income").expect("tables of one schema")
}

/// All 32,561 rows of the bundled Adult training file as one mixed table.
pub fn bundled() -> (MixedSchema, MixedTable) {
    let (schema, mut t) = load_mixed(&[repo_root().join("data/adult/adult.data.gz")], false, None);
    (schema, t.remove(0))
}
