//! `[compare] epsilons` / `mia audit --compare`: the same audit once per DP-SGD setting, one
//! report with every setting's accuracy, attacks and bounds.
//!
//! What must hold: the `none` setting is exactly the plain audit (same data, plan and seeds:
//! its attacks' figures are equal to a run without `--compare`); a DP setting's accounted ε
//! is at most its target and no attack's empirical ε lower bound exceeds it (a violated
//! guarantee is a bug); DP costs training fit (the train–test gap shrinks).

mod support;

use serde_json::Value;
use std::path::Path;
use support::{error_line, mia, report, root, s, validate};

fn config(dir: &Path, learner: &str) -> std::path::PathBuf {
    let sections = format!(
        "[plan]\nreference_models = 2\nmax_rows = 1500\n\n[learner]\n{learner}\n\n[attacks]\n\
         run = [\"loss\", \"lira_online\", \"rmia_offline\"]\n\n[eval]\nbootstrap = 50\ndelta = 1e-5\n"
    );
    support::location_config(dir, 5, &sections)
}

const MLP: &str = "kind = \"mlp\"\nhidden_layer_sizes = [32]\nbatch_size = 64\nmax_iter = 20";

#[test]
fn each_setting_is_audited_and_none_is_the_plain_audit() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), MLP);
    let (plain, compared) = (dir.path().join("plain"), dir.path().join("compared"));
    let out = mia(&["audit", s(&cfg), "-o", s(&plain), "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = mia(&["audit", s(&cfg), "-o", s(&compared), "-q", "--compare", "none,1"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let (p, r) = (report(&plain), report(&compared));
    validate(&r);
    assert_eq!(r["attacks"], p["attacks"], "the first setting's audit is the report's body");
    let settings = r["comparison"]["settings"].as_array().unwrap();
    assert_eq!(settings.len(), 2);
    let (none, dp) = (&settings[0], &settings[1]);
    assert_eq!(none["setting"], "none");
    assert_eq!(none["claimed_epsilon"], Value::Null);
    assert_eq!(none["held_out_accuracy"], p["models"]["target"]["held_out_accuracy"]);
    assert_eq!(dp["setting"], "1");
    let claimed = dp["claimed_epsilon"].as_f64().unwrap();
    assert!(claimed <= 1.0 && claimed > 0.95, "{claimed}");
    assert!(dp["noise_multiplier"].as_f64().unwrap() > 1.0);
    for a in dp["attacks"].as_array().unwrap() {
        let eps = a["eps_lower_bound"].as_f64().unwrap();
        assert!(eps <= claimed, "{}: ε lower bound {eps} above the guarantee {claimed}", a["name"]);
        assert_eq!(a["tpr_at_fpr"].as_array().unwrap().len(), p["settings"]["fpr_targets"].as_array().unwrap().len());
    }
    assert_eq!(dp["claim_violated"], false);
    let gap = |s: &Value| s["generalization_gap"].as_f64().unwrap();
    assert!(gap(dp) < gap(none), "DP narrows the train–test gap: {} vs {}", gap(dp), gap(none));
    let html = std::fs::read_to_string(compared.join("report.html")).unwrap();
    assert!(html.contains("<h2>Privacy–utility comparison</h2>"));
    assert_eq!(html.matches("<circle class=\"setting\"").count(), 4, "two settings in each of two plots");

    // Sharded: two workers train every setting's models, the merge writes the same report.
    let shards = dir.path().join("shards");
    for shard in ["0/2", "1/2"] {
        let out = mia(&["run", s(&cfg), "--shard", shard, "--artifacts", s(&shards), "-q", "--compare", "none,1"]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let merged = dir.path().join("merged");
    let out = mia(&["merge", s(&cfg), "--artifacts", s(&shards), "-o", s(&merged), "-q", "--compare", "none,1"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        std::fs::read(merged.join("report.json")).unwrap(),
        std::fs::read(compared.join("report.json")).unwrap(),
        "sharded and merged, the comparison is byte-identical"
    );

    // The plan lists every setting's models, labelled.
    let listed = dir.path().join("plan");
    let artifacts = compared.join("models");
    let out = mia(&["plan", s(&cfg), "-o", s(&listed), "--artifacts", s(&artifacts), "-q", "--compare", "none,1"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let plan: Value = serde_json::from_slice(&std::fs::read(listed.join("plan.json")).unwrap()).unwrap();
    let models = plan["models"].as_array().unwrap();
    assert_eq!(models.len(), 6);
    assert!(models.iter().all(|m| m["stored"] == true), "the comparison stored every model");
    assert_eq!(models.iter().filter(|m| m["setting"] == "1").count(), 3);
}

#[test]
fn settings_that_cannot_be_compared_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), MLP);
    let out = dir.path().join("out");
    let e = error_line(&mia(&["audit", s(&cfg), "-o", s(&out), "--compare", "none,abc"]));
    assert!(e.contains("expected \"none\" or a number ε > 0, got \"abc\""), "{e}");
    let e = error_line(&mia(&["audit", s(&cfg), "-o", s(&out), "--compare", "8,-1"]));
    assert!(e.contains("ε must be a finite number > 0, got -1"), "{e}");
    let e = error_line(&mia(&["audit", s(&cfg), "-o", s(&out), "--compare", "8,8"]));
    assert!(e.contains("8 is listed twice"), "{e}");
    let gbt = config(dir.path(), "kind = \"gbt\"");
    let e = error_line(&mia(&["audit", s(&gbt), "-o", s(&out), "--compare", "none,8"]));
    assert!(e.contains("needs [learner] kind = \"logistic\" or \"mlp\""), "{e}");
    std::fs::write(&gbt, std::fs::read_to_string(&gbt).unwrap() + "\n[compare]\nepsilons = [\"none\", 2]\n").unwrap();
    let e = error_line(&mia(&["audit", s(&gbt), "-o", s(&out)]));
    assert!(e.contains("[compare] epsilons: needs [learner]"), "{e}");
    assert!(!out.join("report.json").exists());
}

/// The bundled DP examples (the README's evidence) are valid comparisons: four settings of a
/// target and 16 reference models each, none trained yet.
#[test]
fn the_bundled_dp_examples_plan_four_settings() {
    for name in ["dp_location_mlp.toml", "dp_adult_logistic.toml"] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = root().join("examples").join(name);
        let artifacts = dir.path().join("models");
        let out = mia(&["plan", s(&cfg), "-o", s(dir.path()), "--artifacts", s(&artifacts), "-q"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let plan: Value = serde_json::from_slice(&std::fs::read(dir.path().join("plan.json")).unwrap()).unwrap();
        let models = plan["models"].as_array().unwrap();
        assert_eq!(models.len(), 4 * 17, "{name}");
        for setting in ["none", "8", "2", "0.5"] {
            assert_eq!(models.iter().filter(|m| m["setting"] == setting).count(), 17, "{name}: {setting}");
        }
        assert!(models.iter().all(|m| m["stored"] == false));
    }
}
