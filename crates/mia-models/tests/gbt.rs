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

    // Raw margins of the first test rows: the same method on the same bins gives close margins
    // (not identical: f32 gradients summed in another order flip near-tied splits).
    let head = reference["test_raw_head"].as_array().unwrap();
    let mut max_diff = 0.0f64;
    let mut sign_agree = 0;
    for (j, v) in head.iter().enumerate() {
        let sk = v[0].as_f64().unwrap();
        let ours = logits[[test[j], 1]];
        max_diff = max_diff.max((sk - ours).abs());
        sign_agree += usize::from((sk > 0.0) == (ours > 0.0));
    }
    eprintln!("first {} test margins: max |ours - sklearn| = {max_diff:.4}, same sign {sign_agree}", head.len());
    assert!(sign_agree + 2 >= head.len(), "{sign_agree} of {} margins agree in sign", head.len());
}
