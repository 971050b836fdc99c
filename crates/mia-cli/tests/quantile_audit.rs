//! The quantile-regression attack in `mia audit` (crates/mia-audit/src/quantile.rs): fitted on
//! the population records the plan holds out, never on an audited record, and with no reference
//! model; requested explicitly, it holds a population out itself; it refuses to run on too few.

mod support;
use support::{error_line, mia, report, s, validate};

use serde_json::Value;
use std::path::{Path, PathBuf};

/// A Location-30 audit of a small MLP the tool trains, without reference models
/// (`dir/NAME/audit.toml`).
fn config(dir: &Path, name: &str, plan: &str, attacks: &str) -> PathBuf {
    let sub = dir.join(name.trim_end_matches(".toml"));
    std::fs::create_dir_all(&sub).unwrap();
    let sections = format!(
        "[plan]\nmax_rows = 2000\nreference_models = 0\n{plan}\n\n[learner]\nkind = \"mlp\"\n\
         hidden_layer_sizes = [64]\nmax_iter = 60\ntol = 0.0\n\n[attacks]\n{attacks}\n\n[eval]\nbootstrap = 200\n"
    );
    support::location_config(&sub, 2, &sections)
}

fn attack<'a>(r: &'a Value, name: &str) -> Option<&'a Value> {
    r["attacks"].as_array().unwrap().iter().find(|a| a["name"] == name)
}

#[test]
fn quantile_fits_on_the_population_and_sees_the_overfitting() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "audit.toml", "population_fraction = 0.3", "run = [\"loss\", \"quantile\"]");
    let out = dir.path().join("r");
    let o = mia(&["audit", s(&cfg), "-q", "-o", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = report(&out);
    validate(&r);
    // 2,000 rows: 600 held out as the population, 1,400 audited.
    assert_eq!(r["rows"]["kept"], 1400);
    let q = attack(&r, "quantile").expect("quantile runs");
    let fit = &q["fitting"];
    assert!(fit["method"].as_str().unwrap().contains("600 population records"), "{}", fit["method"]);
    let notes = fit["notes"].to_string();
    assert!(notes.contains("calibration at score > 0 (target FPR alpha = 0.01)"), "{notes}");
    // The paper's operating points, one regressor per target FPR of the report's grid (600
    // population records: too few for 1e-3, which needs 1,000).
    assert!(notes.contains("operating point at target FPR 0.001: not fitted (a fit needs at least 1000"), "{notes}");
    for alpha in ["0.01 (the 0.99 quantile", "0.1 (the 0.9 quantile"] {
        assert!(notes.contains(&format!("operating point at target FPR {alpha}, score > 0): FPR ")), "{notes}");
    }
    let (auc, lo) = (q["auc"]["value"].as_f64().unwrap(), q["auc"]["ci"][0].as_f64().unwrap());
    assert!(lo > 0.6, "the MLP memorises its training rows: quantile AUC {auc}");
    let population_note = r["notes"].to_string();
    assert!(population_note.contains("held out for the quantile attack"), "{population_note}");
}

#[test]
fn too_few_population_records_is_an_error_before_any_training() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "audit.toml", "population_fraction = 0.02", "run = [\"quantile\"]");
    let line = error_line(&mia(&["audit", s(&cfg), "-q", "-o", s(&dir.path().join("r"))]));
    assert!(
        line.contains("quantile fits on at least 100 population records") && line.contains("holds out 40"),
        "{line}"
    );
    assert!(!dir.path().join("r/report.json").exists(), "nothing written");
    let stored = std::fs::read_dir(dir.path().join("r/models")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(stored, 0, "nothing trained");
    let cfg = config(dir.path(), "alpha.toml", "", "[attacks.quantile]\nalpha = 0.7");
    let line = error_line(&mia(&["audit", s(&cfg), "-q", "-o", s(&dir.path().join("a"))]));
    assert!(line.contains("[attacks.quantile]") && line.contains("alpha"), "{line}");
}
