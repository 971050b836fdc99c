//! Load-time benchmark: writes an N-row score table as CSV and as NPY arrays into a temp
//! dir, then times `load_scores` on each.
//!
//! `cargo run --release -p mia-data --example bench_load -- 10000000 4`

use std::io::{BufWriter, Write};
use std::time::Instant;

use mia_data::{LoadOptions, ScoreColumns, ScoreSource, load_scores};
use ndarray::{Array1, Array2};
use ndarray_npy::WriteNpyExt;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let c: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(4);
    let dir = tempfile::tempdir().unwrap();
    let logit = |i: usize, k: usize| ((i.wrapping_mul(2654435761) >> 7) % 100_000) as f64 / 997.0 - 50.0 + k as f64;

    let t = Instant::now();
    let csv = dir.path().join("s.csv");
    let mut w = BufWriter::new(std::fs::File::create(&csv).unwrap());
    write!(w, "id,member,label").unwrap();
    for k in 0..c {
        write!(w, ",logit_{k}").unwrap();
    }
    writeln!(w).unwrap();
    for i in 0..n {
        write!(w, "{i},{},{}", i % 2, i % c).unwrap();
        for k in 0..c {
            write!(w, ",{}", logit(i, k)).unwrap();
        }
        writeln!(w).unwrap();
    }
    drop(w);
    let size = std::fs::metadata(&csv).unwrap().len();
    eprintln!("wrote {n} x {c} CSV ({:.0} MB) in {:.1?}", size as f64 / 1e6, t.elapsed());

    let src = ScoreSource::Table { path: csv.clone(), columns: ScoreColumns::default() };
    let t = Instant::now();
    let table = load_scores(&src, &LoadOptions::default()).unwrap();
    eprintln!("CSV: loaded {} rows in {:.2?}", table.len(), t.elapsed());
    drop(table);
    std::fs::remove_file(&csv).unwrap();

    let write = |name: &str, f: &dyn Fn(&mut Vec<u8>)| {
        let p = dir.path().join(name);
        let mut buf = Vec::new();
        f(&mut buf);
        std::fs::write(&p, buf).unwrap();
        p
    };
    let z = write("z.npy", &|b| Array2::from_shape_fn((n, c), |(i, k)| logit(i, k)).write_npy(b).unwrap());
    let y = write("y.npy", &|b| Array1::from_shape_fn(n, |i| (i % c) as i64).write_npy(b).unwrap());
    let m = write("m.npy", &|b| Array1::from_shape_fn(n, |i| i % 2 == 0).write_npy(b).unwrap());
    let ids = write("i.npy", &|b| Array1::from_shape_fn(n, |i| i as i64).write_npy(b).unwrap());
    let src = ScoreSource::Arrays { logits: Some(z), probs: None, labels: Some(y), member: m, ids: Some(ids) };
    let t = Instant::now();
    let table = load_scores(&src, &LoadOptions::default()).unwrap();
    eprintln!("NPY: loaded {} rows in {:.2?}", table.len(), t.elapsed());
}
