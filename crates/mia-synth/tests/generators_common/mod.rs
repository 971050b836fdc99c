//! Shared by the generator and shadow tests: UCI Adult (data/adult) read through `mia-data` as
//! `examples/data/adult.toml` describes it, as one mixed table; and small hand-made tables.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mia_synth::mixed::{MixedSchema, MixedTable};
use ndarray::{Array2, array};

#[path = "../adult/mod.rs"]
mod adult_columns;
pub use adult_columns::repo_root;

/// Adult's 32,561 training rows (numeric: age, fnlwgt, education-num, capital-gain,
/// capital-loss, hours-per-week; categorical: the 8 others then income), read once.
pub fn adult() -> &'static (MixedSchema, MixedTable) {
    static ADULT: OnceLock<(MixedSchema, MixedTable)> = OnceLock::new();
    ADULT.get_or_init(adult_columns::bundled)
}

/// The first `n` Adult rows.
pub fn adult_head(n: usize) -> (MixedSchema, MixedTable) {
    let (schema, table) = adult();
    (schema.clone(), table.select(&(0..n).collect::<Vec<_>>()))
}

pub fn numeric_index(schema: &MixedSchema, name: &str) -> usize {
    schema.numeric.iter().position(|c| c == name).unwrap()
}

pub fn categorical_index(schema: &MixedSchema, name: &str) -> usize {
    schema.categorical.iter().position(|c| c == name).unwrap()
}

/// A tiny schema: numeric `x`, `y`; categorical `c` (levels a, b, c) and `label` (no, yes).
pub fn tiny_schema() -> MixedSchema {
    MixedSchema {
        numeric: vec!["x".into(), "y".into()],
        categorical: vec!["c".into(), "label".into()],
        levels: vec![vec!["a".into(), "b".into(), "c".into()], vec!["no".into(), "yes".into()]],
    }
}

pub fn table(numeric: Array2<f64>, categorical: Array2<u32>) -> MixedTable {
    let ids = (1..=numeric.nrows()).map(|i| format!("r{i}")).collect();
    MixedTable { ids, numeric, categorical }
}

pub fn tiny_table() -> MixedTable {
    table(array![[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, f64::NAN]], array![[0, 0], [1, 1], [0, 1], [2, 0]])
}

pub fn fixture(name: &str) -> serde_json::Value {
    let path: PathBuf = repo_root().join("fixtures/synth/generators").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", Path::new(&path).display()));
    serde_json::from_str(&text).unwrap()
}
