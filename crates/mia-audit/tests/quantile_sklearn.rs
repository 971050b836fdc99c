//! The quantile-regression attack against an independent computation with scikit-learn.
//!
//! Expected values: `fixtures/expected/quantile_digits.json`, written by
//! `scripts/quantile_attack_crosscheck.py` (scikit-learn 1.9.1): φ of every digits record computed
//! from the logits of `fixtures/scores/digits_logreg.csv` in plain Python, then
//! `HistGradientBoostingRegressor(loss="quantile", quantile=1 − α)` with the attack's default
//! hyper-parameters fitted on the first 600 non-members (features `digits_features.npy` plus the
//! one-hot label) and every other record scored as φ − prediction, for α = 0.01 and 0.1. Here the
//! same records go through mia's own reader, signals and [`quantile_attack`].

use mia_audit::quantile::{Calibration, QuantileConfig, QuantileRecords, quantile_attack};
use mia_core::signals::compute_signals;
use mia_data::{LoadOptions, ScoreColumns, ScoreSource};
use ndarray::Axis;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn indices(v: &serde_json::Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|i| i.as_u64().unwrap() as usize).collect()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn quantile_population_scores_match_scikit_learn_on_digits() {
    let root = root();
    let text = std::fs::read_to_string(root.join("fixtures/expected/quantile_digits.json")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&text).unwrap();

    let source =
        ScoreSource::Table { path: root.join("fixtures/scores/digits_logreg.csv"), columns: ScoreColumns::default() };
    let table = mia_data::load_scores(&source, &LoadOptions::default()).unwrap();
    let labels = table.labels.clone().unwrap();
    let phi = compute_signals(&table.outputs, Some(&labels)).phi;
    let (x, _) = mia_data::load_features(&root.join("fixtures/scores/digits_features.npy")).unwrap();
    assert_eq!((x.nrows(), phi.len()), (1797, 1797));

    // The same signal: φ from the logits, operation by operation.
    let py_phi = floats(&expected["phi"]);
    let worst = phi.iter().zip(&py_phi).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst <= 1e-12, "φ differs from the script's by {worst:e}");

    let (fit, eval) = (indices(&expected["fit_records"]), indices(&expected["eval_records"]));
    let pick = |rows: &[usize]| {
        let l: Vec<usize> = rows.iter().map(|&i| labels[i]).collect();
        let p: Vec<f64> = rows.iter().map(|&i| phi[i]).collect();
        (x.select(Axis(0), rows), l, p)
    };
    let (fx, fl, fp) = pick(&fit);
    let (ex, el, ep) = pick(&eval);
    let eval_member: Vec<bool> = eval.iter().map(|&i| table.member[i]).collect();
    for case in expected["cases"].as_array().unwrap() {
        let alpha = case["alpha"].as_f64().unwrap();
        let cfg = QuantileConfig { alpha, ..QuantileConfig::default() };
        let (scores, notes) = quantile_attack(
            QuantileRecords { x: fx.view(), labels: Some(&fl), phi: &fp },
            QuantileRecords { x: ex.view(), labels: Some(&el), phi: &ep },
            10,
            &cfg,
        )
        .unwrap();
        assert!(notes[0].contains("fitted on 600 non-members"), "{}", notes[0]);
        let want = floats(&case["scores"]);
        assert_eq!(scores.len(), want.len());
        let worst = scores.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(worst <= 1e-9, "α = {alpha}: scores differ from scikit-learn's by up to {worst:e}");
        let c = Calibration::of(&scores, &eval_member);
        assert_eq!(c.non_members_above as u64, case["non_members_above"].as_u64().unwrap(), "α = {alpha}");
        assert_eq!(c.members_above as u64, case["members_above"].as_u64().unwrap(), "α = {alpha}");
    }
}
