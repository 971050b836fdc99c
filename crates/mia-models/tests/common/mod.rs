//! Loaders for the vendored data sets, shared by the accuracy test and the benchmark example
//! (`#[path]`-included there). The encoding follows the rule `scripts/sklearn_learners.py` uses.
#![allow(dead_code)]

use ndarray::Array2;
use std::io::Read;
use std::path::PathBuf;

/// `rel` under the repository root: `$MIA_REPO_ROOT` if set (a benchmark binary run away from
/// its build tree), else the root this crate was compiled in.
pub fn data_path(rel: &str) -> PathBuf {
    match std::env::var_os("MIA_REPO_ROOT") {
        Some(root) => PathBuf::from(root).join(rel),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel),
    }
}

fn read_gz_csv(rel: &str) -> Vec<Vec<String>> {
    let file = std::fs::File::open(data_path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    rdr.records()
        .map(|r| r.unwrap().iter().map(|s| s.trim().to_string()).collect::<Vec<_>>())
        .filter(|r| !(r.len() == 1 && r[0].is_empty()))
        .collect()
}

/// A classification table: features (f32), classes, class count.
pub struct Table {
    pub x: Array2<f32>,
    pub y: Vec<usize>,
    pub n_classes: usize,
}

impl Table {
    /// Rows with even 0-based index (train) and odd (test).
    pub fn split(&self) -> (Vec<usize>, Vec<usize>) {
        let n = self.y.len();
        ((0..n).step_by(2).collect(), (1..n).step_by(2).collect())
    }
}

/// Location-30: class "k" -> k-1, the 446 binary features raw.
pub fn location() -> Table {
    let rows = read_gz_csv("data/location/bangkok.csv.gz");
    assert_eq!(rows.len(), 5010);
    let d = rows[0].len() - 1;
    let mut x = Array2::zeros((rows.len(), d));
    let mut y = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        y.push(r[0].parse::<usize>().unwrap() - 1);
        for (j, v) in r[1..].iter().enumerate() {
            x[[i, j]] = v.parse::<f32>().unwrap();
        }
    }
    Table { x, y, n_classes: 30 }
}

const ADULT_NUMERIC: [usize; 6] = [0, 2, 4, 10, 11, 12];

/// UCI Adult: numeric columns standardised over all rows (population std), categorical columns
/// one-hot over their sorted distinct values ("?" included), column order; ">50K" -> 1.
pub fn adult() -> Table {
    let rows = read_gz_csv("data/adult/adult.data.gz");
    assert_eq!(rows.len(), 32561);
    let n = rows.len();
    let mut blocks: Vec<Vec<Vec<f64>>> = Vec::new(); // per column: per output feature: n values
    for c in 0..14 {
        if ADULT_NUMERIC.contains(&c) {
            let v: Vec<f64> = rows.iter().map(|r| r[c].parse::<f64>().unwrap()).collect();
            let mean = v.iter().sum::<f64>() / n as f64;
            let var = v.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / n as f64;
            let sd = if var == 0.0 { 1.0 } else { var.sqrt() };
            blocks.push(vec![v.iter().map(|a| (a - mean) / sd).collect()]);
        } else {
            let mut cats: Vec<&str> = rows.iter().map(|r| r[c].as_str()).collect();
            cats.sort_unstable();
            cats.dedup();
            blocks
                .push(cats.iter().map(|k| rows.iter().map(|r| if r[c] == *k { 1.0 } else { 0.0 }).collect()).collect());
        }
    }
    let cols: Vec<&Vec<f64>> = blocks.iter().flatten().collect();
    let x = Array2::from_shape_fn((n, cols.len()), |(i, j)| cols[j][i] as f32);
    let y = rows
        .iter()
        .map(|r| match r[14].as_str() {
            ">50K" => 1,
            "<=50K" => 0,
            other => panic!("label {other}"),
        })
        .collect();
    Table { x, y, n_classes: 2 }
}

/// Fraction of rows whose argmax logit (first on ties) is the class.
pub fn accuracy(logits: &Array2<f64>, y: &[usize], rows: &[usize]) -> f64 {
    let correct = rows
        .iter()
        .enumerate()
        .filter(|&(i, &r)| {
            let l = logits.row(i);
            let mut best = 0;
            for c in 1..l.len() {
                if l[c] > l[best] {
                    best = c;
                }
            }
            best == y[r]
        })
        .count();
    correct as f64 / rows.len() as f64
}
