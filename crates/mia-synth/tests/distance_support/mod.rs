//! Loads the fixtures of `scripts/synth_distance_fixtures.py` (fixtures/synth/distance/):
//! tables through `mia_data::tabular::load_table` and `mia_synth::mixed::mix`, and the
//! expected neighbours that scipy computed.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use mia_synth::mixed::MixedTable;

#[path = "../adult/mod.rs"]
mod adult_columns;

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/synth/distance")
}

/// The named tables (file stems), mixed with one shared dictionary, in the order given.
pub fn tables(names: &[&str]) -> Vec<MixedTable> {
    let paths: Vec<PathBuf> = names.iter().map(|n| fixture_dir().join(format!("{n}.csv.gz"))).collect();
    adult_columns::load_mixed(&paths, true, None).1
}

/// One query's expected two nearest neighbours.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    pub i1: usize,
    pub d1: f64,
    pub i2: usize,
    pub d2: f64,
    /// Rounding may order a neighbour either way (a non-identical row within 1e-12).
    pub ambiguous: bool,
}

/// expected.csv by scenario, in query order.
pub fn expected() -> HashMap<String, Vec<Expected>> {
    let text = std::fs::read_to_string(fixture_dir().join("expected.csv")).expect("expected.csv");
    let mut out: HashMap<String, Vec<Expected>> = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let v = out.entry(f[0].to_string()).or_default();
        assert_eq!(f[1].parse::<usize>().unwrap(), v.len(), "{line}");
        v.push(Expected {
            i1: f[2].parse().unwrap(),
            d1: f[3].parse().unwrap(),
            i2: f[4].parse().unwrap(),
            d2: f[5].parse().unwrap(),
            ambiguous: f[6] == "1",
        });
    }
    out
}

/// `a` equals scipy's `b` up to the two implementations' rounding (and exactly when b = 0).
pub fn close(a: f64, b: f64) -> bool {
    if b == 0.0 { a == 0.0 } else { (a - b).abs() <= 1e-12 * b.max(1e-3) }
}
