//! Trains the built-in MLP with DP-SGD on Location-30 or UCI Adult and prints the guarantee and the
//! accuracy, one JSON line per seed: the Rust side of `scripts/dp_sgd_opacus.py` (Opacus), which
//! runs this binary for σ, q and T and to dump the encoded data it trains on.
//!
//! ```text
//! cargo run --release -p mia-models --no-default-features --example dp_mlp -- --dataset location|adult
//!     [--epsilon 8 | --sigma 1.1] [--delta 1e-5] [--clip 1.0] [--hidden 256] [--batch 128]
//!     [--epochs 30] [--lr 1e-3] [--alpha 1e-4] [--seeds 0,1,2]
//! cargo run ... --example dp_mlp -- --dataset adult --dump DIR
//! ```
//! Data and split as `tests/common/dp_data.rs`: Location-30's 446 binary features, Adult encoded by
//! the audit's own `mia_data` encoding (108 features); train = even rows, test = odd rows. Poisson
//! sampling at q = batch / n_train, T = epochs × ceil(n_train / batch) steps, Adam on the noised
//! gradient (see `mia_models::dp`). `--dump DIR` writes `x_train.npy`, `x_test.npy` (f32),
//! `y_train.npy`, `y_test.npy` (i64) and `meta.json` to DIR and trains nothing, so that the Python
//! side trains on exactly these numbers. `MIA_REPO_ROOT` points the binary at the data when it runs
//! away from its build tree. The fit is single-threaded.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/dp_data.rs"]
mod dp_data;

use ndarray::{Array1, Axis};
use ndarray_npy::WriteNpyExt;
use std::path::Path;

fn dump(split: &dp_data::Split, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let write = |name: &str, f: &dyn Fn(std::io::BufWriter<std::fs::File>)| {
        let path = dir.join(name);
        f(std::io::BufWriter::new(std::fs::File::create(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))));
    };
    for (part, rows) in [("train", &split.train), ("test", &split.test)] {
        let x = split.x.select(Axis(0), rows);
        let y: Array1<i64> = rows.iter().map(|&r| split.y[r] as i64).collect();
        write(&format!("x_{part}.npy"), &|w| x.write_npy(w).expect("write x"));
        write(&format!("y_{part}.npy"), &|w| y.write_npy(w).expect("write y"));
    }
    let meta = format!(
        "{{\"dataset\": \"{}\", \"n_classes\": {}, \"n_features\": {}, \"n_train\": {}, \"n_test\": {}}}",
        split.name,
        split.n_classes,
        split.x.ncols(),
        split.train.len(),
        split.test.len()
    );
    std::fs::write(dir.join("meta.json"), format!("{meta}\n")).expect("write meta.json");
    println!("{meta}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let num = |name: &str, default: f64| get(name).map_or(default, |s| s.parse().unwrap_or_else(|_| panic!("{name}")));
    let split = dp_data::load(&get("--dataset").unwrap_or("location".into()));
    if let Some(dir) = get("--dump") {
        dump(&split, Path::new(&dir));
        return;
    }
    let setting = dp_data::Setting {
        hidden: get("--hidden").unwrap_or("256".into()).split(',').map(|s| s.parse().expect("--hidden")).collect(),
        batch: num("--batch", 128.0) as usize,
        epochs: num("--epochs", 30.0) as usize,
        lr: num("--lr", 1e-3),
        alpha: num("--alpha", 1e-4),
        clip: num("--clip", 1.0),
        delta: num("--delta", 1e-5),
    };
    let sigma = get("--sigma").map(|s| s.parse::<f64>().expect("--sigma"));
    let epsilon = if sigma.is_some() { None } else { Some(num("--epsilon", 8.0)) };
    let seeds: Vec<u64> =
        get("--seeds").unwrap_or("0".into()).split(',').map(|s| s.parse().expect("--seeds")).collect();
    for seed in seeds {
        let f = dp_data::fit(&split, &setting, epsilon, sigma, seed);
        let g = f.guarantee;
        println!(
            "{{\"library\": \"mia-models\", \"dataset\": \"{}\", \"hidden\": {:?}, \"batch\": {}, \"epochs\": {}, \
             \"lr\": {}, \"alpha\": {}, \"seed\": {seed}, \"epsilon\": {}, \"delta\": {}, \"noise_multiplier\": {}, \
             \"sample_rate\": {}, \"steps\": {}, \"max_grad_norm\": {}, \"fit_seconds\": {:.3}, \
             \"train_accuracy\": {:.4}, \"test_accuracy\": {:.4}}}",
            split.name,
            setting.hidden,
            setting.batch,
            setting.epochs,
            setting.lr,
            setting.alpha,
            g.epsilon,
            g.delta,
            g.noise_multiplier,
            g.sample_rate,
            g.steps,
            g.max_grad_norm,
            f.fit_seconds,
            f.train_accuracy,
            f.test_accuracy,
        );
    }
}
