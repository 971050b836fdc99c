//! Times the built-in MLP (and optionally logistic regression) on Location-30, the counterpart of
//! `python3 scripts/sklearn_learners.py bench`.
//!
//! ```text
//! cargo run --release -p mia-models --example bench_mlp -- [--hidden 256] [--epochs 200] [--batch 200]
//!     [--alpha 1e-4] [--repeat 3] [--plateau] [--sparse auto|always|never] [--logistic]
//! ```
//! Trains on the even rows (2,505), reports each fit's wall and CPU time (single thread), epochs
//! run and test accuracy on the odd rows. Without `--plateau` every fit runs exactly `--epochs`
//! epochs (the Python side then sets `n_iter_no_change = max_iter`). `MIA_REPO_ROOT` points the
//! binary at the data when it runs away from its build tree.
//!
//! Measured November 2026, 200 epochs, one fit, release build (ours single-threaded):
//!
//! | machine | net, batch | ours | scikit-learn 1.9.1, 1 BLAS thread | all BLAS threads |
//! |---|---|---|---|---|
//! | 16-core Xeon VM, idle | [256], 200 | 1.58–1.72 s | 9.36 s | 7.61 s (16 threads) |
//! | same kind, another start | [128], 128 | 0.86–1.24 s | 7.21 s | 6.33 s (16 threads) |
//! | 2-core EPYC (Zen 4), shared and loaded | [256], 200 | 1.38–1.42 s CPU | 10.0 s CPU | — |

#[path = "../tests/common/mod.rs"]
mod common;

use mia_models::TrainSet;
use mia_models::logistic::{LogisticLearner, LogisticParams};
use mia_models::mlp::{MlpLearner, MlpParams, SparseInput};
use ndarray::Axis;
use std::time::Instant;

/// CPU time of this thread in seconds (Linux `/proc/thread-self/schedstat`, nanoseconds), or NaN.
/// Reported beside wall time because a shared machine's wall times swing with its load.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()))
        .map_or(f64::NAN, |ns| ns * 1e-9)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let hidden: Vec<usize> =
        get("--hidden").unwrap_or("256".into()).split(',').map(|s| s.parse().expect("--hidden")).collect();
    let epochs: usize = get("--epochs").map_or(200, |s| s.parse().expect("--epochs"));
    let batch: usize = get("--batch").map_or(200, |s| s.parse().expect("--batch"));
    let alpha: f64 = get("--alpha").map_or(1e-4, |s| s.parse().expect("--alpha"));
    let repeat: usize = get("--repeat").map_or(3, |s| s.parse().expect("--repeat"));
    let sparse = match get("--sparse").as_deref() {
        None | Some("auto") => SparseInput::Auto,
        Some("always") => SparseInput::Always,
        Some("never") => SparseInput::Never,
        Some(o) => panic!("--sparse {o}"),
    };

    let t = Instant::now();
    let table = common::location();
    let (train, test) = table.split();
    eprintln!("loaded Location-30 {:?} in {:.2?}", table.x.dim(), t.elapsed());
    let data = TrainSet { x: table.x.view(), y: &table.y, n_classes: table.n_classes, rows: &train };
    let x_test = table.x.select(Axis(0), &test);

    let params = MlpParams {
        hidden_layer_sizes: hidden.clone(),
        alpha,
        batch_size: Some(batch),
        max_iter: epochs,
        stop_on_plateau: flag("--plateau"),
        sparse_input: sparse,
        ..MlpParams::default()
    };
    let learner = MlpLearner::new(params).expect("params");
    let mut times = Vec::new();
    for seed in 0..repeat as u64 {
        let (t, c) = (Instant::now(), cpu_seconds());
        let model = learner.fit_mlp(&data, seed).expect("fit");
        let fit_s = t.elapsed().as_secs_f64();
        let cpu_s = cpu_seconds() - c;
        let t = Instant::now();
        let logits = model.logits(x_test.view());
        let pred_s = t.elapsed().as_secs_f64();
        let acc = common::accuracy(&logits, &table.y, &test);
        println!(
            "{{\"learner\": \"mlp\", \"hidden\": {hidden:?}, \"batch\": {batch}, \"alpha\": {alpha}, \"sparse\": \"{sparse:?}\", \"seed\": {seed}, \"epochs\": {}, \"fit_seconds\": {fit_s:.3}, \"fit_cpu_seconds\": {cpu_s:.3}, \"per_epoch_cpu_ms\": {:.2}, \"logits_seconds\": {pred_s:.4}, \"final_loss\": {:.6}, \"test_accuracy\": {acc:.4}}}",
            model.n_iter(),
            1e3 * cpu_s / model.n_iter() as f64,
            model.loss_curve().last().unwrap()
        );
        times.push((fit_s, cpu_s));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "{{\"mlp_median_fit_seconds\": {:.3}, \"mlp_median_fit_cpu_seconds\": {:.3}}}",
        median(times.iter().map(|t| t.0).collect()),
        median(times.iter().map(|t| t.1).collect())
    );

    if flag("--logistic") {
        let (t, c) = (Instant::now(), cpu_seconds());
        let m = LogisticLearner::new(LogisticParams::default()).unwrap().fit_logistic(&data).expect("fit");
        let fit_s = t.elapsed().as_secs_f64();
        let cpu_s = cpu_seconds() - c;
        let acc = common::accuracy(&m.logits(x_test.view()), &table.y, &test);
        println!(
            "{{\"learner\": \"logistic\", \"fit_seconds\": {fit_s:.3}, \"fit_cpu_seconds\": {cpu_s:.3}, \"n_iter\": {}, \"converged\": {}, \"test_accuracy\": {acc:.4}}}",
            m.n_iter(),
            m.converged()
        );
    }
}
