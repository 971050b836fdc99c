//! `mia score` against scikit-learn and SciPy on real models' outputs.
//!
//! The score files and the expected values are written by `scripts/make_fixtures.py`:
//! real scikit-learn models trained on the bundled digits, breast-cancer and Location-30
//! data; AUC from `sklearn.metrics.roc_auc_score`, TPR@FPR as `max(tpr[fpr <= t])` and
//! advantage as `max(tpr - fpr)` from `roc_curve(drop_intermediate=False)`, p-values from
//! `scipy.stats.mannwhitneyu(..., alternative="greater", method="asymptotic")`, per-record
//! signals from `scipy.special` in float64. Files with ties: breast_cancer_probs.csv (a
//! random forest's probabilities, exact 0s and 1s) and digits_loss_rounded.csv.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// Runs `mia score ARGS -o DIR` and returns the report and records.csv text.
fn run(args: &[&str], dir: &Path) -> (Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mia"))
        .arg("score")
        .args(args)
        .args(["--bootstrap", "20", "-q", "-o"])
        .arg(dir)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "mia failed: {}", String::from_utf8_lossy(&out.stderr));
    (json(&dir.join("report.json")), std::fs::read_to_string(dir.join("records.csv")).unwrap())
}

fn attack<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["attacks"].as_array().unwrap().iter().find(|a| a["name"] == name).unwrap_or_else(|| panic!("{name}"))
}

fn check_against(expected_name: &str, args: &[&str]) {
    let want = json(&root().join("fixtures/expected").join(expected_name));
    let tmp = tempfile::tempdir().unwrap();
    let (got, records) = run(args, tmp.path());
    assert_eq!(got["rows"]["kept"].as_u64(), want["n"].as_u64());
    assert_eq!(got["rows"]["members"].as_u64(), want["n_members"].as_u64());
    for (name, w) in want["attacks"].as_object().unwrap() {
        let g = attack(&got, name);
        let (ga, wa) = (g["auc"]["value"].as_f64().unwrap(), w["auc"].as_f64().unwrap());
        assert!((ga - wa).abs() <= 1e-12, "{expected_name} {name}: AUC {ga} vs sklearn {wa}");
        assert_eq!(g["advantage"]["value"], w["advantage"], "{expected_name} {name}: advantage");
        assert_eq!(g["distinct_scores"], w["n_distinct_thresholds"], "{expected_name} {name}");
        for (gt, wt) in g["tpr_at_fpr"].as_array().unwrap().iter().zip(w["tpr_at_fpr"].as_array().unwrap()) {
            assert_eq!(gt["fpr"], wt["fpr"]);
            assert_eq!(gt["tpr"], wt["tpr"], "{expected_name} {name}: TPR at FPR {}", wt["fpr"]);
        }
        let (gp, wp) = (g["p_value"].as_f64().unwrap(), w["mannwhitney_p_greater"].as_f64().unwrap());
        assert!((gp - wp).abs() <= 1e-9 * wp.max(1e-300) + 1e-15, "{expected_name} {name}: p {gp} vs {wp}");
    }
    // Per-record signals, through the scores in records.csv.
    let mut lines = records.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let col = |n: &str| header.iter().position(|h| *h == n);
    for rec in want["per_record"].as_array().unwrap() {
        let i = rec["row"].as_u64().unwrap() as usize;
        assert_eq!(rows[i][0], rec["id"].as_str().unwrap());
        let checks = [
            ("loss", "loss", -1.0),
            ("phi", "phi", 1.0),
            ("entropy", "entropy", -1.0),
            ("modified_entropy", "modified_entropy", -1.0),
            ("confidence", "confidence", 1.0),
        ];
        for (attack, signal, sign) in checks {
            let (Some(c), Some(w)) = (col(&format!("{attack}_score")), rec[signal].as_f64()) else { continue };
            let g: f64 = rows[i][c].parse().unwrap();
            assert!((g - sign * w).abs() <= 1e-9 * (1.0 + w.abs()), "{expected_name} row {i} {signal}: {g} vs {w}");
        }
    }
    // Overfitting reading.
    let o = &got["overfitting"];
    let close = |a: &Value, b: &Value| (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-12;
    assert!(close(&o["mean_loss_members"]["value"], &want["mean_loss_members"]));
    assert!(close(&o["mean_loss_non_members"]["value"], &want["mean_loss_nonmembers"]));
    if !want["accuracy_members"].is_null() && !o["accuracy_members"].is_null() {
        assert!(close(&o["accuracy_members"]["value"], &want["accuracy_members"]));
        assert!(close(&o["accuracy_non_members"]["value"], &want["accuracy_nonmembers"]));
    }
}

#[test]
fn digits_logits_csv_matches_sklearn() {
    check_against("digits_logreg.json", &["fixtures/scores/digits_logreg.csv"]);
}

#[test]
fn digits_parquet_matches_sklearn() {
    check_against("digits_logreg.json", &["fixtures/scores/digits_logreg.parquet"]);
}

#[test]
fn digits_npy_arrays_match_sklearn() {
    let p = "fixtures/scores/digits_logreg_";
    check_against(
        "digits_logreg.json",
        &[
            "--logits",
            &format!("{p}logits.npy"),
            "--labels",
            &format!("{p}labels.npy"),
            "--member",
            &format!("{p}member.npy"),
            "--ids",
            &format!("{p}ids.npy"),
        ],
    );
}

#[test]
fn tied_random_forest_probabilities_match_sklearn() {
    check_against("breast_cancer_probs.json", &["fixtures/scores/breast_cancer_probs.csv"]);
}

#[test]
fn rounded_losses_with_ties_match_sklearn() {
    check_against("digits_loss_rounded.json", &["fixtures/scores/digits_loss_rounded.csv"]);
}

#[test]
fn location_mlp_logits_match_sklearn() {
    check_against("location_mlp.json", &["data/scores/location_mlp.csv.gz", "--slices", "none"]);
}

/// Per-class slices of the loss attack: AUC and p-value per class, and Holm's adjustment
/// (computed by hand in the fixture script).
#[test]
fn class_slices_and_holm_match_scipy() {
    let want = json(&root().join("fixtures/expected/digits_logreg.json"));
    let tmp = tempfile::tempdir().unwrap();
    let (got, _) = run(&["fixtures/scores/digits_logreg.csv", "--slices", "loss"], tmp.path());
    let slices = got["slices"].as_array().unwrap();
    let classes = want["per_class_loss"]["classes"].as_array().unwrap();
    assert_eq!(slices.len(), classes.len());
    for (s, w) in slices.iter().zip(classes) {
        assert_eq!(s["attack"], "loss");
        assert_eq!(s["class"], w["class"]);
        let e = &s["evaluation"];
        assert!((e["auc"]["value"].as_f64().unwrap() - w["auc"].as_f64().unwrap()).abs() < 1e-12);
        let (gp, wp) = (e["p_value"].as_f64().unwrap(), w["mannwhitney_p_greater"].as_f64().unwrap());
        assert!((gp - wp).abs() < 1e-9 * wp.max(1e-300) + 1e-15);
        let (gh, wh) = (e["p_holm"].as_f64().unwrap(), w["holm_p"].as_f64().unwrap());
        assert!((gh - wh).abs() < 1e-9, "class {}: holm {gh} vs {wh}", w["class"]);
    }
}
