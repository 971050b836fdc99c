//! `mia score --claimed-epsilon E --claimed-delta D`: the report's `privacy` section sets every
//! attack's ε lower bound at δ = D against the claim, and the gate can fail on a claim the
//! data show false.
//!
//! The scores are made here so the truth is known: a model whose losses separate members
//! from non-members almost perfectly cannot be ε = 0.5 DP (a perfect test on 1,000 + 1,000
//! records bounds ε well above 3 at 95 %), while no 2,000-record audit can refute ε = 30.

mod support;

use support::{error_line, mia, report, s, validate};

/// 1,000 members with small losses and 1,000 non-members with larger ones, overlapping in a
/// few records so the attacks are strong but not perfect.
fn leaky_scores(dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = String::from("id,member,loss\n");
    for i in 0..2000u32 {
        let member = i % 2 == 0;
        // A fixed scramble of the index for spread, no randomness needed.
        let spread = f64::from((i.wrapping_mul(2_654_435_761)) % 1000) / 1000.0;
        let loss = if member {
            0.1 * spread
        } else if i % 50 == 1 {
            0.05
        } else {
            1.0 + spread
        };
        text.push_str(&format!("r{i},{},{loss}\n", u8::from(member)));
    }
    let path = dir.join("scores.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let scores = leaky_scores(dir);
    let out = dir.join("report");
    let mut args = vec!["score", s(&scores), "-o", s(&out), "-q", "--bootstrap", "50"];
    args.extend_from_slice(extra);
    mia(&args)
}

#[test]
fn a_claim_the_scores_refute_is_violated_and_fails_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--claimed-epsilon", "0.5", "--claimed-delta", "1e-6", "--fail-if", "claim_violated"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&dir.path().join("report"));
    validate(&r);
    let p = &r["privacy"];
    assert_eq!(p["source"], "claimed");
    assert_eq!(p["claimed_epsilon"], 0.5);
    assert_eq!(p["claimed_delta"], 1e-6);
    assert!(p.get("accountant").is_none());
    assert_eq!(p["claim_violated"], true);
    let attacks = p["attacks"].as_array().unwrap();
    assert_eq!(attacks.len(), r["attacks"].as_array().unwrap().len());
    // Bonferroni over the attacks, at the report's 95 %.
    let family = 1.0 - 0.05 / attacks.len() as f64;
    assert!((p["decision_confidence"].as_f64().unwrap() - family).abs() < 1e-12);
    let loss = attacks.iter().find(|a| a["attack"] == "loss").unwrap();
    let (at, decision) =
        (loss["eps_lower_bound"].as_f64().unwrap(), loss["eps_lower_bound_for_decision"].as_f64().unwrap());
    assert!(decision > 0.5 && at >= decision, "{loss}");
    assert_eq!(loss["exceeds_claim"], true);
    assert_eq!(r["gate"]["rules"][0]["expr"], "claim_violated");
    assert_eq!(r["gate"]["rules"][0]["fired"], true);
}

#[test]
fn a_claim_beyond_what_the_sample_can_refute_stands() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "--claimed-epsilon",
            "30",
            "--claimed-delta",
            "1e-6",
            "--fail-if",
            "claim_violated",
            "--fail-if",
            "eps_lower_bound > claimed_epsilon",
            "--fail-if",
            "loss.eps_lower_bound > claimed_epsilon - 25",
        ],
    );
    // The last rule reads the loss attack's bound at δ = 1e-6 (about 4–6 here) against 30 − 25.
    let r = report(&dir.path().join("report"));
    let p = &r["privacy"];
    assert_eq!(p["claim_violated"], false);
    let rules = r["gate"]["rules"].as_array().unwrap();
    assert_eq!(rules[0]["fired"], false);
    assert_eq!(rules[1]["fired"], false);
    let max_decision = p["attacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["eps_lower_bound_for_decision"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(rules[1]["value"].as_f64().unwrap(), max_decision);
    let loss_bound =
        p["attacks"].as_array().unwrap().iter().find(|a| a["attack"] == "loss").unwrap()["eps_lower_bound"]
            .as_f64()
            .unwrap();
    assert_eq!(rules[2]["value"].as_f64().unwrap(), loss_bound);
    assert_eq!(out.status.code(), Some(if loss_bound > 5.0 { 1 } else { 0 }));
}

#[test]
fn claims_and_claim_rules_need_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let e = error_line(&run(dir.path(), &["--fail-if", "claim_violated"]));
    assert!(e.contains("claim_violated") && e.contains("no claimed DP guarantee"), "{e}");
    let e = error_line(&run(dir.path(), &["--claimed-epsilon", "-1", "--claimed-delta", "1e-6"]));
    assert!(e.contains("claimed ε must be a finite number ≥ 0"), "{e}");
    let e = error_line(&run(dir.path(), &["--claimed-epsilon", "1", "--claimed-delta", "1"]));
    assert!(e.contains("claimed δ must be in (0, 1)"), "{e}");
    let o = run(dir.path(), &["--claimed-epsilon", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--claimed-delta"));
    let e = error_line(&run(
        dir.path(),
        &["--claimed-epsilon", "1", "--claimed-delta", "1e-6", "--fail-if", "max.auc > claimed_epsilon"],
    ));
    assert!(e.contains("before `claimed_epsilon`"), "{e}");
    assert!(!dir.path().join("report/report.json").exists(), "nothing is written on a bad rule");
}
