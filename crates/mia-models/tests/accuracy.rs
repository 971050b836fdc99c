//! Accuracy parity with scikit-learn on real data: Location-30 and UCI Adult, encoded and split as
//! `scripts/sklearn_learners.py` does (train = even rows, test = odd rows), with the hyper-parameters
//! recorded in `fixtures/models/sklearn_accuracy.json`. Our test accuracy must be at least
//! scikit-learn's minus one percentage point (the MLP: mean over seeds on both sides).

mod common;

use common::{Table, accuracy};
use mia_models::TrainSet;
use mia_models::logistic::{LogisticLearner, LogisticParams};
use mia_models::mlp::{MlpLearner, MlpParams};
use ndarray::Axis;
use serde_json::Value;

const TOLERANCE: f64 = 0.01;
const MLP_SEEDS: [u64; 3] = [0, 1, 2];

fn fixture() -> Value {
    let path = common::data_path("fixtures/models/sklearn_accuracy.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn check(name: &str, table: &Table) {
    let fx = fixture();
    let res = &fx["results"][name];
    let (train, test) = table.split();
    assert_eq!(res["n_train"].as_u64().unwrap() as usize, train.len());
    assert_eq!(res["n_features"].as_u64().unwrap() as usize, table.x.ncols());
    let data = TrainSet { x: table.x.view(), y: &table.y, n_classes: table.n_classes, rows: &train };
    let x_test = table.x.select(Axis(0), &test);
    let x_train = table.x.select(Axis(0), &train);

    // Logistic regression: LogisticRegression(C=1, max_iter=1000).
    let lr = LogisticLearner::new(LogisticParams { c: 1.0, max_iter: 1000, ..LogisticParams::default() })
        .unwrap()
        .fit_logistic(&data)
        .unwrap();
    let lr_test = accuracy(&lr.logits(x_test.view()), &table.y, &test);
    let lr_train = accuracy(&lr.logits(x_train.view()), &table.y, &train);
    let sk_test = res["logistic"]["test_accuracy"].as_f64().unwrap();
    let sk_train = res["logistic"]["train_accuracy"].as_f64().unwrap();
    eprintln!(
        "{name} logistic: test {lr_test:.4} (sklearn {sk_test:.4}), train {lr_train:.4} (sklearn {sk_train:.4}), {} iterations",
        lr.n_iter()
    );
    assert!(lr.converged());
    assert!(lr_test >= sk_test - TOLERANCE, "{name} logistic test accuracy {lr_test} vs sklearn {sk_test}");
    // Same objective, same optimum: the training accuracy agrees closely too.
    assert!((lr_train - sk_train).abs() <= TOLERANCE, "{name} logistic train accuracy {lr_train} vs {sk_train}");

    // MLP with the fixture's hyper-parameters (the names are MlpParams' own).
    let params: MlpParams = serde_json::from_value(fx["mlp"]["params"][name].clone()).unwrap();
    let learner = MlpLearner::new(params).unwrap();
    let mut tests = Vec::new();
    for seed in MLP_SEEDS {
        let m = learner.fit_mlp(&data, seed).unwrap();
        let acc = accuracy(&m.logits(x_test.view()), &table.y, &test);
        eprintln!(
            "{name} mlp seed {seed}: test {acc:.4}, {} epochs, loss {:.5}",
            m.n_iter(),
            m.loss_curve().last().unwrap()
        );
        tests.push(acc);
    }
    let ours = tests.iter().sum::<f64>() / tests.len() as f64;
    let sk = res["mlp"]["mean_test_accuracy"].as_f64().unwrap();
    eprintln!("{name} mlp: mean test {ours:.4} (sklearn {sk:.4})");
    assert!(ours >= sk - TOLERANCE, "{name} MLP mean test accuracy {ours} vs sklearn {sk}");
}

#[test]
fn location30_matches_sklearn() {
    check("location", &common::location());
}

#[test]
fn adult_matches_sklearn() {
    let table = common::adult();
    assert_eq!(table.x.ncols(), fixture()["results"]["adult"]["n_features"].as_u64().unwrap() as usize);
    check("adult", &table);
}
