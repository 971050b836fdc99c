//! A model trained with DP-SGD at ε = 1 must not be caught leaking more than ε = 1: every
//! attack's empirical ε lower bound (at the same δ = 1e-5, a one-sided bound at the report's
//! confidence, from a threshold chosen on held-out records) stays at or below the guarantee. A
//! bound above it would mean a broken DP implementation or accountant. The same audit without DP
//! shows that the attacks can see far more than ε = 1 in this model, so the check has power.

mod support;

use serde_json::Value;
use support::mia;

fn audit(dp: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let sections = format!(
        "[plan]\nreference_models = 2\n\n[learner]\nkind = \"mlp\"\nhidden_layer_sizes = [64]\nbatch_size = 128\n\
         learning_rate_init = 1e-3\nmax_iter = 30\n{dp}\n\n[eval]\nbootstrap = 100\ndelta = 1e-5\n"
    );
    let config = support::location_config(dir.path(), 2, &sections);
    let out_dir = dir.path().join("report");
    let out = mia(&["audit", config.to_str().unwrap(), "-o", out_dir.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap()).unwrap()
}

fn largest_eps_lower_bound(report: &Value) -> (f64, String) {
    let attacks = report["attacks"].as_array().unwrap();
    assert!(attacks.len() >= 10, "{}", attacks.len());
    attacks
        .iter()
        .map(|a| (a["eps_lower_bound"]["value"].as_f64().unwrap(), a["name"].as_str().unwrap().to_string()))
        .fold((f64::NEG_INFINITY, String::new()), |m, x| if x.0 > m.0 { x } else { m })
}

#[test]
fn no_attack_beats_the_guarantee_of_a_dp_trained_model() {
    let (open_eps, open_attack) = largest_eps_lower_bound(&audit(""));
    assert!(open_eps > 2.0, "without DP the attacks should show ε > 2 ({open_attack}: {open_eps})");

    let report = audit("[learner.dp]\nepsilon = 1.0\ndelta = 1e-5");
    assert_eq!(report["models"]["learner"]["dp"]["epsilon"], 1.0);
    // Still better than chance (30 classes: 3.3 %), at a steep cost in accuracy.
    let held_out = report["models"]["target"]["held_out_accuracy"]["value"].as_f64().unwrap();
    assert!(held_out > 0.045, "held-out accuracy {held_out}");
    let (eps, attack) = largest_eps_lower_bound(&report);
    assert!(eps <= 1.0, "{attack}: empirical ε lower bound {eps} exceeds the DP guarantee ε = 1");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("DP-SGD: the target and every reference model") && notes.contains("ε = 1 at δ = 1e-5"),
        "{notes}"
    );
    assert!(!notes.contains("not below 1/N"), "{notes}");

    // The privacy section: the accountant's guarantee for the target's recipe, each attack's
    // bound at the same δ next to it, and no violation.
    let p = &report["privacy"];
    assert_eq!(p["source"], "learner");
    let claimed = p["claimed_epsilon"].as_f64().unwrap();
    assert!(claimed <= 1.0 && claimed > 0.98, "noise calibrated to ε = 1 spends {claimed}");
    assert_eq!(p["claimed_delta"], 1e-5);
    let acc = &p["accountant"];
    let n = report["models"]["target"]["train_rows"].as_u64().unwrap();
    assert_eq!(acc["training_rows"].as_u64().unwrap(), n);
    assert_eq!(acc["sample_rate"].as_f64().unwrap(), 128.0 / n as f64);
    assert_eq!(acc["steps"].as_u64().unwrap(), 30 * n.div_ceil(128));
    assert_eq!(acc["max_grad_norm"], 1.0);
    // The same ε from the accountant command on the inputs the report lists.
    let out = support::mia(&[
        "accountant",
        "--sample-rate",
        &acc["sample_rate"].to_string(),
        "--noise-multiplier",
        &acc["noise_multiplier"].to_string(),
        "--steps",
        &acc["steps"].to_string(),
        "--delta",
        "1e-5",
        "--json",
    ]);
    let accounted: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(accounted["epsilon"].as_f64().unwrap(), claimed);
    assert_eq!(p["claim_violated"], false);
    let rows = p["attacks"].as_array().unwrap();
    assert_eq!(rows.len(), report["attacks"].as_array().unwrap().len());
    assert!(rows.iter().all(|a| a["eps_lower_bound"].as_f64().unwrap() <= claimed), "{p}");
    support::validate(&report);
}

/// δ ≥ 1/N makes an (ε, δ) guarantee nearly empty: the report says so (the audit still runs).
#[test]
fn a_delta_of_at_least_one_over_n_is_flagged() {
    let report = audit("[learner.dp]\nnoise_multiplier = 1.0\ndelta = 0.01");
    let notes = report["notes"].to_string();
    assert!(notes.contains("learner.dp.delta = 1e-2 is not below 1/N"), "{notes}");
    assert!(notes.contains("noise multiplier 1, δ = 1e-2"), "{notes}");
}

/// A budget the accountant cannot calibrate (here one so large that no noise is needed) is a
/// one-line error before any model is trained. (Every ε > 0 is reachable for these few steps:
/// large enough noise makes the mechanism (0, δ)-DP, see mia_dp::conversion.)
#[test]
fn an_unreachable_budget_stops_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let sections = "[plan]\nreference_models = 2\n\n[learner]\nkind = \"mlp\"\nhidden_layer_sizes = [8]\nmax_iter = 2\n\n\
                    [learner.dp]\nepsilon = 1e9\n";
    let config = support::location_config(dir.path(), 2, sections);
    let out_dir = dir.path().join("report");
    let e = support::error_line(&mia(&["audit", config.to_str().unwrap(), "-o", out_dir.to_str().unwrap()]));
    assert!(
        e.contains("learner: learner parameter dp.epsilon") && e.contains("is met by every noise_multiplier"),
        "{e}"
    );
    let stored = std::fs::read_dir(out_dir.join("models")).map_or(0, |d| d.count());
    assert_eq!(stored, 0, "no model was trained");
}
