//! The gradient-boosted trees learner against scikit-learn's HistGradientBoostingClassifier on UCI
//! Adult: same encoding, same split, same parameters; the reference numbers are in
//! `fixtures/models/sklearn_gbt.json` (written by `scripts/sklearn_gbt.py`).

mod common;

use mia_models::gbt::{GbtLearner, GbtParams};
use mia_models::{Learner, ModelOutputs, TrainSet};
use ndarray::{Array2, Axis};

/// UCI Adult and Location-30 with the encoding rule of scripts/sklearn_gbt.py (the same rule as
/// scripts/sklearn_learners.py; see `common`).
fn adult() -> (Array2<f32>, Vec<usize>) {
    let t = common::adult();
    assert_eq!(t.x.ncols(), 108);
    (t.x, t.y)
}

fn location() -> (Array2<f32>, Vec<usize>) {
    let t = common::location();
    (t.x, t.y)
}

fn fixture() -> serde_json::Value {
    let text = std::fs::read_to_string(common::data_path("fixtures/models/sklearn_gbt.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Accuracy on `rows` from logits computed for every row.
fn accuracy(logits: &Array2<f64>, y: &[usize], rows: &[usize]) -> f64 {
    common::accuracy(&logits.select(Axis(0), rows), y, rows)
}

#[test]
fn adult_accuracy_matches_sklearn() {
    let (x, y) = adult();
    let train: Vec<usize> = (0..y.len()).step_by(2).collect();
    let test: Vec<usize> = (1..y.len()).step_by(2).collect();
    let reference = &fixture()["adult"];
    let params = GbtParams { max_iter: 100, early_stopping: false, ..Default::default() };
    let learner = GbtLearner::new(params).unwrap();
    let data = TrainSet { x: x.view(), y: &y, n_classes: 2, rows: &train };
    let model = learner.fit_gbt(&data).unwrap();

    // Same baseline: log-odds of the training prior.
    let base = reference["baseline_prediction"][0].as_f64().unwrap();
    assert!((model.baseline()[0] - base).abs() < 1e-12, "{} vs {base}", model.baseline()[0]);
    assert_eq!(model.n_iter(), 100);

    let ModelOutputs::Logits(logits) = learner.fit(&data, 7).unwrap().outputs(x.view()).unwrap() else {
        panic!("built-in learners return logits")
    };
    let (acc_test, acc_train) = (accuracy(&logits, &y, &test), accuracy(&logits, &y, &train));
    let sk_test = reference["test_accuracy"].as_f64().unwrap();
    let sk_train = reference["train_accuracy"].as_f64().unwrap();
    eprintln!("adult test accuracy {acc_test:.4} (sklearn {sk_test:.4}), train {acc_train:.4} (sklearn {sk_train:.4})");
    assert!((acc_test - sk_test).abs() <= 0.01, "test accuracy {acc_test} vs sklearn {sk_test}");
    assert!((acc_train - sk_train).abs() <= 0.01, "train accuracy {acc_train} vs sklearn {sk_train}");

    let leaves: usize = model.n_leaves().iter().sum();
    eprintln!("adult leaves {leaves} (sklearn {})", reference["total_leaves"]);
    let max_diff = raw_head_diff(reference, &test, |r| vec![logits[[r, 1]]]);
    eprintln!("adult: first 50 test margins, max |ours - sklearn| = {max_diff:.2e}");
    // With scikit-learn 1.9.1 (the fixture's version) the trees are the same and the margins agree
    // to the fixture's 6 decimals. A near-tied split resolved the other way (summation order) would
    // break this while leaving the accuracies close: then loosen this check, not the one above.
    assert!(max_diff < 1e-4, "raw margins differ from sklearn's by up to {max_diff}");
}

/// Largest |ours - sklearn| over the raw scores of the first test rows in the fixture.
fn raw_head_diff(reference: &serde_json::Value, test: &[usize], ours: impl Fn(usize) -> Vec<f64>) -> f64 {
    let head = reference["test_raw_head"].as_array().unwrap();
    assert_eq!(head.len(), 50);
    let mut max_diff = 0.0f64;
    for (j, v) in head.iter().enumerate() {
        let sk: Vec<f64> = v.as_array().unwrap().iter().map(|a| a.as_f64().unwrap()).collect();
        let o = ours(test[j]);
        assert_eq!(sk.len(), o.len());
        for (a, b) in sk.iter().zip(&o) {
            max_diff = max_diff.max((a - b).abs());
        }
    }
    max_diff
}

#[test]
fn location_multiclass_accuracy_matches_sklearn() {
    let (x, y) = location();
    let train: Vec<usize> = (0..y.len()).step_by(2).collect();
    let test: Vec<usize> = (1..y.len()).step_by(2).collect();
    let reference = &fixture()["location"];
    let learner = GbtLearner::new(GbtParams { max_iter: 30, ..Default::default() }).unwrap();
    let data = TrainSet { x: x.view(), y: &y, n_classes: 30, rows: &train };
    let model = learner.fit_gbt(&data).unwrap();
    for (c, b) in reference["baseline_prediction"].as_array().unwrap().iter().enumerate() {
        assert!((model.baseline()[c] - b.as_f64().unwrap()).abs() < 1e-12);
    }
    let ModelOutputs::Logits(logits) = learner.fit(&data, 0).unwrap().outputs(x.view()).unwrap() else {
        panic!("built-in learners return logits")
    };
    assert_eq!(logits.shape(), &[5010, 30]);
    let (acc_test, acc_train) = (accuracy(&logits, &y, &test), accuracy(&logits, &y, &train));
    let sk_test = reference["test_accuracy"].as_f64().unwrap();
    let sk_train = reference["train_accuracy"].as_f64().unwrap();
    eprintln!(
        "location test accuracy {acc_test:.4} (sklearn {sk_test:.4}), train {acc_train:.4} (sklearn {sk_train:.4})"
    );
    assert!((acc_test - sk_test).abs() <= 0.01, "test accuracy {acc_test} vs sklearn {sk_test}");
    assert!((acc_train - sk_train).abs() <= 0.01, "train accuracy {acc_train} vs sklearn {sk_train}");
    let leaves: usize = model.n_leaves().iter().sum();
    eprintln!("location leaves {leaves} (sklearn {})", reference["total_leaves"]);
    let max_diff = raw_head_diff(reference, &test, |r| logits.row(r).to_vec());
    eprintln!("location: first 50 test rows x 30 class scores, max |ours - sklearn| = {max_diff:.2e}");
    assert!(max_diff < 1e-4, "raw scores differ from sklearn's by up to {max_diff}");
}
