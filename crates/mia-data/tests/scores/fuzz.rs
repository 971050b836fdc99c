//! Fuzz-ish tests: random and mutated inputs never panic, and every error is one line.

use std::io::Write;
use std::path::Path;

use mia_data::ScoreSource;
use ndarray::array;

use crate::npy_arrays::npy;
use crate::*;

#[path = "../support/rng.rs"]
mod rng;
use rng::Rng;

fn mutate(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    match rng.below(4) {
        0 => d.truncate(rng.below(d.len() + 1)),
        1 => {
            for _ in 0..1 + rng.below(8) {
                if !d.is_empty() {
                    let i = rng.below(d.len());
                    d[i] = rng.next() as u8;
                }
            }
        }
        2 => {
            let i = rng.below(d.len() + 1);
            let k = 1 + rng.below(16);
            let extra = rng.bytes(k);
            d.splice(i..i, extra);
        }
        _ => {
            if d.len() > 2 {
                let i = rng.below(d.len() - 1);
                let j = (i + 1 + rng.below(32)).min(d.len());
                d.drain(i..j);
            }
        }
    }
    d
}

/// Loads `bytes` as the table `name`: any result is fine, but no panic, and one-line errors.
fn try_table(dir: &Path, name: &str, bytes: &[u8]) {
    let p = write(dir, name, bytes);
    let _ = load(&table(&p), &strict());
    let _ = load(&table(&p), &lenient());
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn random_bytes_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..300 {
        let n = rng.below(if i % 10 == 0 { 5000 } else { 200 });
        let b = rng.bytes(n);
        for name in ["r.csv", "r.csv.gz", "r.parquet"] {
            try_table(dir.path(), name, &b);
        }
        let mut gz = b"\x1f\x8b".to_vec();
        gz.extend_from_slice(&b);
        try_table(dir.path(), "g.csv.gz", &gz);
        let mut pq = b"PAR1".to_vec();
        pq.extend_from_slice(&b);
        pq.extend_from_slice(b"PAR1");
        try_table(dir.path(), "p.parquet", &pq);
        let mut np = b"\x93NUMPY\x01\x00".to_vec();
        np.extend_from_slice(&b);
        let p = write(dir.path(), "r.npy", &np);
        let q = write(dir.path(), "q.npy", &b);
        let src = ScoreSource::Arrays {
            logits: Some(p.clone()),
            probs: None,
            labels: Some(p.clone()),
            member: q,
            ids: Some(p),
        };
        let _ = load(&src, &strict());
    }
}

const CELLS: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "0.5",
    "1e-3",
    "true",
    "FALSE",
    "",
    " ",
    "nan",
    "inf",
    "-inf",
    "x",
    "\"q\"",
    "3.0",
    "1e400",
    "\"a,b\"",
    "\"\n\"",
    "0.25",
    "9",
    "abc",
    "\u{feff}",
    "\"",
    "18446744073709551616",
];
const NAMES: &[&str] = &[
    "id", "member", "label", "loss", "logit_0", "logit_1", "logit_2", "prob_0", "prob_1", "prob_2", "logit_00", "x",
    "", "member",
];

#[test]
fn random_csv_grids_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(42);
    for _ in 0..1500 {
        let ncol = 1 + rng.below(7);
        let mut s = String::new();
        let header: Vec<&str> = (0..ncol).map(|_| *rng.pick(NAMES)).collect();
        s.push_str(&header.join(","));
        s.push('\n');
        for _ in 0..rng.below(8) {
            let n = if rng.below(10) == 0 { rng.below(ncol + 2) } else { ncol };
            let row: Vec<&str> = (0..n).map(|_| *rng.pick(CELLS)).collect();
            s.push_str(&row.join(","));
            if rng.below(8) != 0 {
                s.push('\n');
            }
        }
        try_table(dir.path(), "g.csv", s.as_bytes());
    }
}

#[test]
fn mutated_valid_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(7);
    let mut csv = String::from("id,member,label,prob_0,prob_1\n");
    for i in 0..200 {
        csv.push_str(&format!("r{i},{},{},0.25,0.75\n", i % 2, i % 2));
    }
    let gz = gzip(csv.as_bytes());
    for _ in 0..400 {
        try_table(dir.path(), "m.csv", &mutate(&mut rng, csv.as_bytes()));
        try_table(dir.path(), "m.csv.gz", &mutate(&mut rng, &gz));
    }

    let logits = std::fs::read(npy(dir.path(), "z0.npy", &array![[1.0f64, 2.0], [3.0, 4.0], [5.0, 6.0]])).unwrap();
    let member = std::fs::read(npy(dir.path(), "m0.npy", &array![true, false, true])).unwrap();
    let labels = std::fs::read(npy(dir.path(), "y0.npy", &array![1i64, 0, 1])).unwrap();
    for _ in 0..400 {
        let z = write(dir.path(), "z.npy", mutate(&mut rng, &logits));
        let m = write(dir.path(), "m.npy", mutate(&mut rng, &member));
        let y = write(dir.path(), "y.npy", mutate(&mut rng, &labels));
        let src =
            ScoreSource::Arrays { logits: Some(z), probs: None, labels: Some(y.clone()), member: m, ids: Some(y) };
        let _ = load(&src, &strict());
        let _ = load(&src, &lenient());
    }
}

#[cfg(feature = "parquet")]
#[test]
fn mutated_parquet_never_panics() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array};

    let dir = tempfile::tempdir().unwrap();
    let n = 300;
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from((0..n).collect::<Vec<i64>>()))),
        ("member", Arc::new(BooleanArray::from((0..n).map(|i| i % 2 == 0).collect::<Vec<_>>()))),
        ("label", Arc::new(Int64Array::from((0..n).map(|i| i % 2).collect::<Vec<i64>>()))),
        ("logit_0", Arc::new(Float64Array::from((0..n).map(|i| i as f64 * 0.5).collect::<Vec<_>>()))),
        ("logit_1", Arc::new(Float64Array::from((0..n).map(|i| -(i as f64)).collect::<Vec<_>>()))),
    ];
    let good = std::fs::read(crate::parquet_tables::write_pq(dir.path(), "good.parquet", cols, 100)).unwrap();

    // Some mutations make the Parquet decoder itself panic (e.g. an overflow on a mangled
    // length); the reader catches that, reports a corrupt file, and keeps the panic message
    // off stderr.
    let mut rng = Rng(99);
    let mut errors = 0;
    for _ in 0..1000 {
        // Keep both magics so the mutation reaches the decoder.
        let mut d = good.clone();
        let len = d.len();
        for _ in 0..1 + rng.below(6) {
            let i = 4 + rng.below(len - 8);
            d[i] = rng.next() as u8;
        }
        let p = write(dir.path(), "m.parquet", &d);
        if load(&table(&p), &strict()).is_err() {
            errors += 1;
        }
    }
    eprintln!("mutated parquet: {errors}/1000 rejected");
    assert!(errors > 100);
}
