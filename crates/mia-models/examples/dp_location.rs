//! Trains the built-in MLP with DP-SGD on Location-30 and prints the guarantee and the accuracy:
//! the counterpart of `python3 scripts/dp_sgd_opacus.py` (Opacus), for cross-checking the two.
//!
//! ```text
//! cargo run --release -p mia-models --example dp_location -- [--epsilon 8 | --sigma 1.1]
//!     [--delta 1e-5] [--clip 1.0] [--hidden 256] [--batch 128] [--epochs 30] [--lr 1e-3]
//!     [--alpha 1e-4] [--seed 0]
//! ```
//! Trains on the even rows (2,505) and tests on the odd rows, as `bench_mlp`. Poisson sampling at
//! q = batch / 2,505, T = epochs × ceil(2,505 / batch) steps, Adam on the noised gradient (see
//! `mia_models::dp`). Prints one JSON line with ε, σ, q, T and the train and test accuracy; pass
//! the printed `noise_multiplier` to the Python script's `--sigma` to train the same mechanism
//! there. `MIA_REPO_ROOT` points the binary at the data when it runs away from its build tree.

#[path = "../tests/common/mod.rs"]
mod common;

use mia_models::mlp::{MlpLearner, MlpParams};
use mia_models::{DpSgd, Model, TrainSet};
use ndarray::Axis;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let num = |name: &str, default: f64| get(name).map_or(default, |s| s.parse().unwrap_or_else(|_| panic!("{name}")));
    let hidden: Vec<usize> =
        get("--hidden").unwrap_or("256".into()).split(',').map(|s| s.parse().expect("--hidden")).collect();
    let sigma = get("--sigma").map(|s| s.parse::<f64>().expect("--sigma"));
    let epsilon = if sigma.is_some() { None } else { Some(num("--epsilon", 8.0)) };
    let dp = DpSgd {
        epsilon,
        noise_multiplier: sigma,
        delta: num("--delta", 1e-5),
        max_grad_norm: num("--clip", 1.0),
        ..DpSgd::default()
    };
    let params = MlpParams {
        hidden_layer_sizes: hidden.clone(),
        alpha: num("--alpha", 1e-4),
        batch_size: Some(num("--batch", 128.0) as usize),
        learning_rate_init: num("--lr", 1e-3),
        max_iter: num("--epochs", 30.0) as usize,
        dp: Some(dp),
        ..MlpParams::default()
    };
    let seed = num("--seed", 0.0) as u64;

    let table = common::location();
    let (train, test) = table.split();
    let data = TrainSet { x: table.x.view(), y: &table.y, n_classes: table.n_classes, rows: &train };
    let t = std::time::Instant::now();
    let model = MlpLearner::new(params.clone()).expect("params").fit_mlp(&data, seed).expect("fit");
    let fit_s = t.elapsed().as_secs_f64();
    let acc = |rows: &[usize]| common::accuracy(&model.logits(table.x.select(Axis(0), rows).view()), &table.y, rows);
    let g = model.dp().expect("a DP fit reports its guarantee");
    println!(
        "{{\"hidden\": {hidden:?}, \"batch\": {}, \"epochs\": {}, \"lr\": {}, \"alpha\": {}, \"seed\": {seed}, \
         \"epsilon\": {}, \"delta\": {}, \"noise_multiplier\": {}, \"sample_rate\": {}, \"steps\": {}, \
         \"max_grad_norm\": {}, \"fit_seconds\": {fit_s:.3}, \"train_accuracy\": {:.4}, \"test_accuracy\": {:.4}}}",
        params.batch_size.unwrap(),
        params.max_iter,
        params.learning_rate_init,
        params.alpha,
        g.epsilon,
        g.delta,
        g.noise_multiplier,
        g.sample_rate,
        g.steps,
        g.max_grad_norm,
        acc(&train),
        acc(&test),
    );
}
