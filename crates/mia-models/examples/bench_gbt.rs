//! Fit time of the gradient-boosted trees learner on UCI Adult and Location-30, next to
//! scikit-learn's HistGradientBoostingClassifier on the same data (numbers from
//! `fixtures/models/sklearn_gbt.json`, written by `scripts/sklearn_gbt.py`).
//!
//! ```text
//! cargo run --release -p mia-models --example bench_gbt [-- REPEATS]
//! ```
//!
//! Encoding and split as in the script: Adult one-hot + standardised numerics (108 features),
//! Location-30 raw binary (446 features); train = even rows, test = odd rows. Our fit is
//! single-threaded; the best of REPEATS (default 5) fits is reported, as thread CPU time (Linux)
//! and wall time.

use std::time::Instant;

use mia_models::TrainSet;
use mia_models::gbt::{GbtLearner, GbtParams};
use ndarray::{Array2, Axis};

#[path = "../tests/common/mod.rs"]
mod common;

fn cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

/// Runs `f`, returning its result, wall seconds and CPU seconds (wall where CPU time is unknown).
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let (c0, t0) = (cpu_seconds(), Instant::now());
    let out = f();
    let wall = t0.elapsed().as_secs_f64();
    let cpu = match (c0, cpu_seconds()) {
        (Some(a), Some(b)) => b - a,
        _ => wall,
    };
    (out, wall, cpu)
}

/// Accuracy on `rows` from logits computed for every row.
fn accuracy(logits: &Array2<f64>, y: &[usize], rows: &[usize]) -> f64 {
    common::accuracy(&logits.select(Axis(0), rows), y, rows)
}

fn bench(name: &str, x: &Array2<f32>, y: &[usize], n_classes: usize, max_iter: usize, repeats: usize) {
    let train: Vec<usize> = (0..y.len()).step_by(2).collect();
    let test: Vec<usize> = (1..y.len()).step_by(2).collect();
    let learner = GbtLearner::new(GbtParams { max_iter, ..Default::default() }).expect("params");
    let data = TrainSet { x: x.view(), y, n_classes, rows: &train };
    let (mut best_wall, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
    let mut model = None;
    for _ in 0..repeats {
        let (m, wall, cpu) = timed(|| learner.fit_gbt(&data).expect("fit"));
        best_wall = best_wall.min(wall);
        best_cpu = best_cpu.min(cpu);
        model = Some(m);
    }
    let model = model.expect("at least one fit");
    let (logits, _, predict) = timed(|| model.logits(x.view()));
    let leaves: usize = model.n_leaves().iter().sum();

    let fixture: serde_json::Value = std::fs::read_to_string(common::data_path("fixtures/models/sklearn_gbt.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let sk = &fixture[name];
    println!(
        "{name}: {} train x {} features, {n_classes} classes, max_iter {max_iter}, {} trees, {leaves} leaves",
        train.len(),
        x.ncols(),
        model.n_leaves().len()
    );
    println!(
        "  ours:    fit {best_cpu:.3} s CPU ({best_wall:.3} s wall; 1 thread, best of {repeats}), \
         predict all {} rows {predict:.3} s CPU, test acc {:.4}, train acc {:.4}",
        y.len(),
        accuracy(&logits, y, &test),
        accuracy(&logits, y, &train)
    );
    println!(
        "  sklearn: fit {} s CPU ({} s wall) with OMP 1 thread; {} s wall ({} s CPU) with default threads; \
         test acc {}, train acc {}, {} leaves",
        sk["fit_cpu_seconds_1_thread"],
        sk["fit_seconds_1_thread"],
        sk["fit_seconds_default_threads"],
        sk["fit_cpu_seconds_default_threads"],
        sk["test_accuracy"],
        sk["train_accuracy"],
        sk["total_leaves"]
    );
}

fn main() {
    let repeats: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let adult = common::adult();
    bench("adult", &adult.x, &adult.y, 2, 100, repeats);
    let location = common::location();
    bench("location", &location.x, &location.y, 30, 30, repeats);
}
