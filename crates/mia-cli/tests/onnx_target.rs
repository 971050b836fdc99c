//! `mia audit` on a target given as an ONNX file exported by scikit-learn, compared with
//! `mia score` on the probabilities scikit-learn itself computed for the same records
//! (fixtures from scripts/onnx_audit_fixtures.py: an MLPClassifier trained on the member
//! rows of 2,000 Location-30 records). The two runs must agree attack by attack: the ONNX
//! path (tract, reading the logits before the final softmax, in f32) and scikit-learn's
//! float64 predict_proba give the same membership signals up to float rounding.

mod support;
use support::{mia, report, root, s};

use std::path::{Path, PathBuf};

fn config(dir: &Path, target: &str, plan: &str) -> PathBuf {
    let fx = root().join("fixtures/onnx_audit");
    let text = format!(
        r#"seed = 3
[data]
path = "{}"
label = "label"
member = "member"
numeric = "rest"
standardize = false

[target]
onnx = "{target}"

[plan]
{plan}

[eval]
bootstrap = 200
"#,
        fx.join("location_members.csv.gz").display()
    );
    let path = dir.join("audit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn an_onnx_target_gives_the_report_of_its_frameworks_own_probabilities() {
    let tmp = tempfile::tempdir().unwrap();
    let onnx = root().join("fixtures/onnx_audit/mlp.onnx");
    // No reference models, so no attack reads a population: every row is audited, although
    // population_fraction keeps its default of 0.2 (it held 20 % of the rows out before).
    let cfg = config(tmp.path(), s(&onnx), "reference_models = 0");
    let (a, b) = (tmp.path().join("audit"), tmp.path().join("score"));
    let o = mia(&["audit", s(&cfg), "-q", "-o", s(&a)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let scores = root().join("fixtures/onnx_audit/sklearn_scores.csv.gz");
    let o = mia(&["score", s(&scores), "-q", "--seed", "3", "--bootstrap", "200", "-o", s(&b)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (ra, rb) = (report(&a), report(&b));
    for k in ["members", "non_members"] {
        assert_eq!(ra["rows"][k], rb["rows"][k], "{k}");
    }
    assert_eq!(ra["rows"]["members"], 1000);
    assert_eq!(ra["models"]["population_records"], 0);
    assert_eq!(ra["outputs"]["kind"], "logits", "the ONNX path reads logits");
    assert!(ra["inputs"].as_array().unwrap().iter().any(|f| f["path"].as_str().unwrap().ends_with("mlp.onnx")));
    let n_members = 1000.0;
    let attacks_b = rb["attacks"].as_array().unwrap();
    assert!(attacks_b.len() >= 5);
    for eb in attacks_b {
        let name = eb["name"].as_str().unwrap();
        let ea = ra["attacks"].as_array().unwrap().iter().find(|x| x["name"] == name).unwrap_or_else(|| {
            panic!("{name} missing from the ONNX audit");
        });
        let (auc_a, auc_b) = (ea["auc"]["value"].as_f64().unwrap(), eb["auc"]["value"].as_f64().unwrap());
        // Cross-fitted attacks train on slightly different features; the rest differ only
        // in float rounding, which can swap a few near-tied records.
        let tol = if eb["fitting"].is_null() { 2e-4 } else { 5e-3 };
        assert!((auc_a - auc_b).abs() < tol, "{name}: AUC {auc_a} (ONNX) vs {auc_b} (scikit-learn)");
        for (ta, tb) in ea["tpr_at_fpr"].as_array().unwrap().iter().zip(eb["tpr_at_fpr"].as_array().unwrap()) {
            let (x, y) = (ta["tpr"].as_f64().unwrap(), tb["tpr"].as_f64().unwrap());
            assert!((x - y).abs() <= 3.0 / n_members + tol, "{name} at FPR {}: {x} vs {y}", ta["fpr"]);
        }
    }
    // The model overfits (train accuracy 1.0, held-out ~0.54 in scikit-learn), and the
    // audit's own reading of the ONNX model says so.
    let acc = |k: &str| ra["models"]["target"][k]["value"].as_f64().unwrap();
    assert_eq!(acc("train_accuracy"), 1.0);
    assert!((acc("held_out_accuracy") - 0.537).abs() < 0.002, "{}", acc("held_out_accuracy"));
}

#[test]
fn a_model_of_the_wrong_width_or_a_bad_file_is_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let wrong = root().join("fixtures/onnx/sk_logreg_adult.onnx");
    let cfg = config(tmp.path(), s(&wrong), "reference_models = 0");
    let o = mia(&["audit", s(&cfg), "-q", "-o", s(&tmp.path().join("r"))]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("sk_logreg_adult.onnx") && err.contains("446"), "{err}");

    let junk = tmp.path().join("junk.onnx");
    std::fs::write(&junk, b"not a model").unwrap();
    let cfg = config(tmp.path(), s(&junk), "reference_models = 0");
    let o = mia(&["audit", s(&cfg), "-q", "-o", s(&tmp.path().join("r"))]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("junk.onnx"), "{err}");

    // A given target with a plan that trains its own target is a config error.
    let cfg = config(tmp.path(), s(&junk), "target = \"train\"\nreference_models = 0");
    let o = mia(&["audit", s(&cfg), "-q", "-o", s(&tmp.path().join("r"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("member_column"));
}
