//! The gradient-boosted trees learner against scikit-learn's HistGradientBoostingClassifier on UCI
//! Adult: same encoding, same split, same parameters; the reference numbers are in
//! `fixtures/models/sklearn_gbt.json` (written by `scripts/sklearn_gbt.py`).

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use mia_models::gbt::{GbtLearner, GbtParams};
use mia_models::{Learner, TrainSet};
use ndarray::Array2;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn gunzip(path: &Path) -> String {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    GzDecoder::new(file).read_to_string(&mut text).unwrap();
    text
}

/// UCI Adult with the encoding rule of scripts/sklearn_gbt.py: the 6 numeric columns standardised
/// (mean, population std over all rows), the 8 others one-hot over their sorted distinct trimmed
/// values ("?" included), in column order; label ">50K" -> 1.
fn adult() -> (Array2<f32>, Vec<usize>) {
    const NUMERIC: [usize; 6] = [0, 2, 4, 10, 11, 12];
    let text = gunzip(&root().join("data/adult/adult.data.gz"));
    let rows: Vec<Vec<&str>> =
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| l.split(',').map(str::trim).collect()).collect();
    assert_eq!(rows.len(), 32561);
    assert!(rows.iter().all(|r| r.len() == 15));
    let y: Vec<usize> = rows.iter().map(|r| usize::from(r[14] == ">50K")).collect();
    let n = rows.len();
    let mut columns: Vec<Vec<f64>> = Vec::new();
    for j in 0..14 {
        if NUMERIC.contains(&j) {
            let v: Vec<f64> = rows.iter().map(|r| r[j].parse::<f64>().unwrap()).collect();
            let mean = v.iter().sum::<f64>() / n as f64;
            let sd = (v.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / n as f64).sqrt();
            columns.push(v.iter().map(|a| (a - mean) / sd).collect());
        } else {
            let mut cats: Vec<&str> = rows.iter().map(|r| r[j]).collect();
            cats.sort_unstable();
            cats.dedup();
            for c in cats {
                columns.push(rows.iter().map(|r| if r[j] == c { 1.0 } else { 0.0 }).collect());
            }
        }
    }
    assert_eq!(columns.len(), 108);
    let x = Array2::from_shape_fn((n, columns.len()), |(i, j)| columns[j][i] as f32);
    (x, y)
}

/// Location-30: class "1".."30" -> 0..29, then 446 binary features used raw.
fn location() -> (Array2<f32>, Vec<usize>) {
    let text = gunzip(&root().join("data/location/bangkok.csv.gz"));
    let mut y = Vec::new();
    let mut xs = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let mut fields = line.split(',');
        let class: usize = fields.next().unwrap().trim_matches('"').parse().unwrap();
        y.push(class - 1);
        xs.extend(fields.map(|v| v.parse::<f32>().unwrap()));
    }
    assert_eq!((y.len(), xs.len()), (5010, 5010 * 446));
    (Array2::from_shape_vec((5010, 446), xs).unwrap(), y)
}

fn fixture() -> serde_json::Value {
    let text = std::fs::read_to_string(root().join("fixtures/models/sklearn_gbt.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn accuracy(logits: &Array2<f64>, y: &[usize], rows: &[usize]) -> f64 {
    let correct = rows
        .iter()
        .filter(|&&r| {
            let row = logits.row(r);
            let arg = (0..row.len()).fold(0, |a, k| if row[k] > row[a] { k } else { a });
            arg == y[r]
        })
        .count();
    correct as f64 / rows.len() as f64
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

    let logits = learner.fit(&data, 7).unwrap().logits(x.view());
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
    let logits = learner.fit(&data, 0).unwrap().logits(x.view());
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
