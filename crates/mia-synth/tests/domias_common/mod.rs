//! Shared by the DOMIAS tests: loading the fixtures of `scripts/domias_fixtures.py` and the
//! bundled Adult data through `mia-data` and `mixed`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use mia_synth::mixed::{MixedSchema, MixedTable};

#[path = "../adult/mod.rs"]
mod adult_columns;

pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

pub fn fixture_json(name: &str) -> serde_json::Value {
    let path = repo(&format!("fixtures/synth/domias/{name}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub fn f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// The fixture CSVs `{prefix}_{synthetic,reference,query}.csv` (with an `id` column), mixed
/// with one dictionary.
pub fn fixture_tables(prefix: &str) -> (MixedSchema, MixedTable, MixedTable, MixedTable) {
    let paths: Vec<PathBuf> = ["synthetic", "reference", "query"]
        .iter()
        .map(|role| repo(&format!("fixtures/synth/domias/{prefix}_{role}.csv")))
        .collect();
    let (schema, mut mixed) = adult_columns::load_mixed(&paths, true, Some("id"));
    let query = mixed.pop().unwrap();
    let reference = mixed.pop().unwrap();
    let synthetic = mixed.pop().unwrap();
    (schema, synthetic, reference, query)
}

/// All of UCI Adult (data/adult/adult.data.gz) as one mixed table.
pub fn adult() -> (MixedSchema, MixedTable) {
    adult_columns::bundled()
}

/// `|a − b| ≤ rel · max(|a|, |b|, 1)`, element-wise, with the worst index in the message.
pub fn assert_close(what: &str, got: &[f64], expected: &[f64], rel: f64) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    let mut worst = (0.0f64, 0);
    for (i, (a, b)) in got.iter().zip(expected).enumerate() {
        let err = (a - b).abs() / a.abs().max(b.abs()).max(1.0);
        assert!(err.is_finite(), "{what}[{i}]: {a} vs {b}");
        if err > worst.0 {
            worst = (err, i);
        }
    }
    let i = worst.1;
    assert!(worst.0 <= rel, "{what}[{i}]: {} vs expected {} (relative error {:e})", got[i], expected[i], worst.0);
}
