//! The data and the DP-SGD fit shared by `tests/dp_sgd_opacus.rs` and `examples/dp_mlp.rs`
//! (both `#[path]`-include this file beside `common/mod.rs`, as `crate::common`).
//!
//! * Location-30: `common::location()` (446 binary features used raw, class "k" -> k-1).
//! * UCI Adult: `data/adult/adult.data.gz` read through the `[data]` table of
//!   `examples/data/adult.toml` with `mia_data::tabular::load_table` and encoded by the audit's own
//!   `mia_data::tabular::Encoding` (numeric columns standardised, categorical columns one-hot, "?"
//!   a category of its own, classes "<=50K" -> 0, ">50K" -> 1), fitted on every row as an audit
//!   that uses every row fits it: 108 features.
//!
//! Both split by row parity: train = even 0-based rows, test = odd rows.
#![allow(dead_code)]

use crate::common;
use mia_data::tabular::{Encoding, TableOptions, TableSchema, load_table};
use mia_models::mlp::{MlpLearner, MlpParams};
use mia_models::{DpGuarantee, DpSgd, Model, TrainSet};
use ndarray::{Array2, Axis};

/// A data set with its train/test split.
pub struct Split {
    pub name: &'static str,
    pub x: Array2<f32>,
    pub y: Vec<usize>,
    pub n_classes: usize,
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// `"location"` or `"adult"`.
pub fn load(name: &str) -> Split {
    let (name, t) = match name {
        "location" => ("location", common::location()),
        "adult" => ("adult", adult_encoded()),
        other => panic!("unknown data set {other:?} (location or adult)"),
    };
    let (train, test) = t.split();
    Split { name, x: t.x, y: t.y, n_classes: t.n_classes, train, test }
}

/// UCI Adult encoded as an audit encodes it (see the module documentation).
pub fn adult_encoded() -> common::Table {
    let config = common::data_path("examples/data/adult.toml");
    let text = std::fs::read_to_string(&config).unwrap_or_else(|e| panic!("{}: {e}", config.display()));
    let doc: toml::Table = text.parse().expect("examples/data/adult.toml");
    let schema: TableSchema = doc["data"].clone().try_into().expect("[data] of examples/data/adult.toml");
    let table = load_table(&schema, config.parent().unwrap(), &TableOptions::default()).expect("adult table");
    assert_eq!(table.len(), 32561);
    assert_eq!(table.classes, ["<=50K", ">50K"]);
    let encoding = Encoding::fit_all(&table, &schema).expect("encoding");
    let x = encoding.transform(&table).expect("encoded adult");
    assert_eq!(x.ncols(), 108);
    common::Table { x, y: table.labels, n_classes: 2 }
}

/// The network and optimiser of a DP-SGD fit (the mechanism's σ comes separately).
#[derive(Debug, Clone)]
pub struct Setting {
    pub hidden: Vec<usize>,
    /// Expected batch size (q = batch / training rows).
    pub batch: usize,
    pub epochs: usize,
    pub lr: f64,
    pub alpha: f64,
    /// C, the per-example clipping norm.
    pub clip: f64,
    pub delta: f64,
}

/// One fitted model's guarantee, accuracies and fit time.
pub struct Fit {
    pub guarantee: DpGuarantee,
    pub train_accuracy: f64,
    pub test_accuracy: f64,
    pub fit_seconds: f64,
}

/// Trains the built-in MLP with DP-SGD on `split.train`: σ calibrated to `epsilon`, or `sigma`
/// when given (exactly one of the two).
pub fn fit(split: &Split, s: &Setting, epsilon: Option<f64>, sigma: Option<f64>, seed: u64) -> Fit {
    let dp = DpSgd { epsilon, noise_multiplier: sigma, delta: s.delta, max_grad_norm: s.clip, ..DpSgd::default() };
    let params = MlpParams {
        hidden_layer_sizes: s.hidden.clone(),
        alpha: s.alpha,
        batch_size: Some(s.batch),
        learning_rate_init: s.lr,
        max_iter: s.epochs,
        dp: Some(dp),
        ..MlpParams::default()
    };
    let data = TrainSet { x: split.x.view(), y: &split.y, n_classes: split.n_classes, rows: &split.train };
    let t = std::time::Instant::now();
    let model = MlpLearner::new(params).expect("params").fit_mlp(&data, seed).expect("fit");
    let fit_seconds = t.elapsed().as_secs_f64();
    let acc = |rows: &[usize]| common::accuracy(&model.logits(split.x.select(Axis(0), rows).view()), &split.y, rows);
    Fit {
        guarantee: *model.dp().expect("a DP fit reports its guarantee"),
        train_accuracy: acc(&split.train),
        test_accuracy: acc(&split.test),
        fit_seconds,
    }
}
