//! Benchmark of the exact DCR engine (not a test; `cargo test` never times anything).
//!
//! Two modes:
//!
//! * `bench_dcr [--rows N] [--synthetic M] [--threads T] [--seed S] [--check Q] [--copies F]
//!   [--weight W]`: an Adult-like "real" table of N rows and "synthetic" table of M rows, each
//!   resampled from the bundled UCI Adult with seeded jitter (ages and hours ±2, fnlwgt and
//!   capital amounts ×(1 ± 5%), and with probability 0.05 one categorical cell taken from
//!   another row), with a share F (default 0.01) of synthetic rows replaced by exact copies of
//!   real rows; then times DCR (k = 1) and the two nearest neighbours (k = 2) of real →
//!   synthetic under the default distance (categorical weight W, default 1; W = 0 defeats
//!   the categorical pruning and shows the raw kernel), and checks the first Q queries
//!   against the plain f64 double loop; then times uniform random rows → real (k = 1).
//! * `bench_dcr --csv TRAIN SYNTHETIC HOLDOUT [--threads T]`: the Adult columns from three
//!   CSV files with a header (as `bench/compare_dcr.py` writes them); times what SDMetrics'
//!   `DCRBaselineProtection` and `DCROverfittingProtection` compute (DCR of synthetic rows to
//!   the training data, to the holdout and of uniform random rows to the training data) and
//!   prints one JSON line.
//!
//! Build: `CARGO_TARGET_DIR=... cargo build --release -p mia-synth --no-default-features --example bench_dcr`.
//! `MIA_REPO_ROOT` points at the repository when the binary runs away from its build tree.

use std::path::PathBuf;
use std::time::Instant;

use mia_synth::distance::{Distance, DistanceConfig};
use mia_synth::mixed::MixedTable;
use mia_synth::nn::{KnnOptions, knn, knn_plain};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

#[path = "../tests/adult/mod.rs"]
mod adult_columns;
use adult_columns::{NUMERIC, repo_root};

fn load(paths: &[PathBuf], header: bool) -> Vec<MixedTable> {
    adult_columns::load_mixed(paths, header, None).1
}

/// `n` rows resampled from `adult` with jitter (see the module docs).
fn adult_like(adult: &MixedTable, n: usize, seed: u64) -> MixedTable {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let (p, q, m) = (adult.numeric.ncols(), adult.categorical.ncols(), adult.len());
    let mut num = Array2::zeros((n, p));
    let mut cat = Array2::zeros((n, q));
    for i in 0..n {
        let r = rng.random_range(0..m);
        for j in 0..p {
            let x = adult.numeric[[r, j]];
            num[[i, j]] = match NUMERIC[j] {
                "age" => (x + rng.random_range(-2..=2) as f64).max(17.0),
                "hours-per-week" => (x + rng.random_range(-2..=2) as f64).clamp(1.0, 99.0),
                "fnlwgt" | "capital-gain" | "capital-loss" => {
                    (x * (1.0 + 0.05 * (2.0 * rng.random::<f64>() - 1.0))).round()
                }
                _ => x,
            };
        }
        for kc in 0..q {
            cat[[i, kc]] = adult.categorical[[r, kc]];
        }
        if rng.random::<f64>() < 0.05 {
            let kc = rng.random_range(0..q);
            cat[[i, kc]] = adult.categorical[[rng.random_range(0..m), kc]];
        }
    }
    MixedTable { ids: (1..=n).map(|i| i.to_string()).collect(), numeric: num, categorical: cat }
}

/// Uniform random rows over the fit data's ranges and levels (SDMetrics' baseline).
fn uniform_rows(like: &MixedTable, dist: &Distance, n: usize, seed: u64) -> MixedTable {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let (p, q) = (like.numeric.ncols(), like.categorical.ncols());
    let levels: Vec<Vec<u32>> = (0..q)
        .map(|kc| {
            let mut v: Vec<u32> = like.categorical.column(kc).to_vec();
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect();
    let mut num = Array2::zeros((n, p));
    let mut cat = Array2::zeros((n, q));
    for i in 0..n {
        for j in 0..p {
            num[[i, j]] = dist.fit_min[j] + rng.random::<f64>() * (dist.fit_max[j] - dist.fit_min[j]);
        }
        for kc in 0..q {
            cat[[i, kc]] = levels[kc][rng.random_range(0..levels[kc].len())];
        }
    }
    MixedTable { ids: (1..=n).map(|i| i.to_string()).collect(), numeric: num, categorical: cat }
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}: bad value {v}")))
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = arg(&args, "--threads", 0);
    if threads > 0 {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().expect("thread pool");
    }
    if let Some(i) = args.iter().position(|a| a == "--csv") {
        let paths: Vec<PathBuf> = args[i + 1..i + 4].iter().map(PathBuf::from).collect();
        return csv_mode(&paths);
    }
    let rows: usize = arg(&args, "--rows", 100_000);
    let synthetic: usize = arg(&args, "--synthetic", rows);
    let seed: u64 = arg(&args, "--seed", 1);
    let check: usize = arg(&args, "--check", 200);
    let adult = load(&[repo_root().join("data/adult/adult.data.gz")], false).remove(0);
    let real = adult_like(&adult, rows, seed);
    let mut synth = adult_like(&adult, synthetic, seed.wrapping_add(1_000_003));
    let copies: f64 = arg(&args, "--copies", 0.01);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed.wrapping_add(2_000_003));
    for i in 0..synth.len() {
        if rng.random::<f64>() < copies {
            let r = rng.random_range(0..real.len());
            synth.numeric.row_mut(i).assign(&real.numeric.row(r));
            synth.categorical.row_mut(i).assign(&real.categorical.row(r));
        }
    }
    let weight: f64 = arg(&args, "--weight", 1.0);
    let config = DistanceConfig { categorical_weight: weight, ..DistanceConfig::default() };
    let dist = Distance::fit(&config, &real).expect("distance");
    println!(
        "real {} x synthetic {} rows, {} numeric + {} categorical columns, categorical weight {weight}, {} threads",
        real.len(),
        synth.len(),
        real.numeric.ncols(),
        real.categorical.ncols(),
        rayon::current_num_threads()
    );
    for k in [1, 2] {
        let t = Instant::now();
        let nn = knn(&dist, &real, &synth, &KnnOptions::k(k)).expect("knn");
        let secs = t.elapsed().as_secs_f64();
        let zeros = nn.distances.column(0).iter().filter(|&&d| d == 0.0).count();
        let mean = nn.distances.column(0).mean().unwrap_or(f64::NAN);
        println!("k={k}: {secs:.2} s  (mean DCR {mean:.5}, {zeros} exact copies)");
        if check > 0 {
            let sub = real.select(&(0..check.min(real.len())).collect::<Vec<_>>());
            let plain = knn_plain(&dist, &sub, &synth, &KnnOptions::k(k)).expect("plain");
            let fast = nn.distances.slice(ndarray::s![..sub.len(), ..]).to_owned();
            let idx = nn.indices.slice(ndarray::s![..sub.len(), ..]).to_owned();
            assert_eq!((fast, idx), (plain.distances, plain.indices), "engine differs from the plain loop");
            println!("      first {} queries identical to the plain f64 double loop", sub.len());
        }
    }
    // A harder case for the pruning: uniform random rows (SDMetrics' baseline) are far from
    // everything, several categorical mismatches away.
    let random = uniform_rows(&real, &dist, synth.len(), seed.wrapping_add(3_000_003));
    let t = Instant::now();
    let nn = knn(&dist, &random, &real, &KnnOptions::k(1)).expect("knn");
    let mean = nn.distances.column(0).mean().unwrap_or(f64::NAN);
    println!("uniform random rows -> real, k=1: {:.2} s  (mean DCR {mean:.5})", t.elapsed().as_secs_f64());
}

fn csv_mode(paths: &[PathBuf]) {
    let t0 = Instant::now();
    let mut tables = load(paths, true);
    let holdout = tables.pop().expect("holdout");
    let synth = tables.pop().expect("synthetic");
    let train = tables.pop().expect("train");
    let load_s = t0.elapsed().as_secs_f64();
    let t = Instant::now();
    let dist = Distance::fit(&DistanceConfig::default(), &train).expect("distance");
    let one = KnnOptions::k(1);
    let s_train = knn(&dist, &synth, &train, &one).expect("knn").nearest();
    let s_hold = knn(&dist, &synth, &holdout, &one).expect("knn").nearest();
    let random = uniform_rows(&train, &dist, synth.len(), 7);
    let r_train = knn(&dist, &random, &train, &one).expect("knn").nearest();
    let compute_s = t.elapsed().as_secs_f64();
    let median = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        mia_core::stats::percentile_sorted(&s, 0.5)
    };
    let closer = s_train.iter().zip(&s_hold).filter(|(a, b)| a < b).count();
    println!(
        "{{\"load_s\": {load_s:.4}, \"compute_s\": {compute_s:.4}, \"threads\": {}, \"median_dcr_synthetic_train\": {:.6}, \"median_dcr_random_train\": {:.6}, \"share_closer_to_train\": {:.4}}}",
        rayon::current_num_threads(),
        median(&s_train),
        median(&r_train),
        closer as f64 / s_train.len().max(1) as f64
    );
}
