//! `mia score FILE --one-run`: the member column read as each canary's fair coin, and the
//! report's `one_run` section bounding ε from one training run (Steinke, Nasr & Jagielski 2023).
//!
//! The scores are made here so the truth is known. Losses unrelated to the coins cannot show
//! any ε above 0 (every guess is a coin toss); losses that track the coins closely must show a
//! bound well above 1 on 1,000 canaries. The bound itself is cross-checked against an
//! independent implementation in mia-core's tests (scripts/one_run_fixtures.py).

mod support;

use serde_json::Value;
use support::{error_line, mia, report, s, validate};

/// A fixed scramble of `i` into [0, 1), no randomness needed.
fn scramble(i: u64, salt: u64) -> f64 {
    ((i.wrapping_add(salt).wrapping_mul(2_654_435_761)) % 4096) as f64 / 4096.0
}

/// `n` canaries with coin `scramble(i, 0) < ½`; the loss is `leak`-tracking the coin plus noise.
fn scores(dir: &std::path::Path, n: u64, leak: f64) -> std::path::PathBuf {
    let mut text = String::from("id,member,loss\n");
    for i in 0..n {
        let member = scramble(i, 0) < 0.5;
        let noise = scramble(i, 7_919);
        let loss = noise + if member { 0.0 } else { leak };
        text.push_str(&format!("c{i},{},{loss}\n", u8::from(member)));
    }
    let path = dir.join("scores.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(dir: &std::path::Path, n: u64, leak: f64, extra: &[&str]) -> std::process::Output {
    let file = scores(dir, n, leak);
    let out = dir.join("report");
    let mut args = vec!["score", s(&file), "-o", s(&out), "-q", "--bootstrap", "50", "--one-run"];
    args.extend_from_slice(extra);
    mia(&args)
}

fn one_run(dir: &std::path::Path) -> Value {
    let r = report(&dir.join("report"));
    validate(&r);
    r["one_run"].clone()
}

#[test]
fn coins_the_scores_track_give_a_bound_and_noise_gives_none() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), 1000, 0.6, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let o = one_run(dir.path());
    let bound = o["epsilon_lower_bound"].as_f64().unwrap();
    assert!(bound > 1.0, "{o}");
    assert_eq!(o["canaries"], 1000);
    let included = (0..1000).filter(|&i| scramble(i, 0) < 0.5).count();
    assert_eq!(o["included"], included);
    let (k_plus, k_minus, guesses, correct) = (
        o["k_plus"].as_u64().unwrap(),
        o["k_minus"].as_u64().unwrap(),
        o["guesses"].as_u64().unwrap(),
        o["correct"].as_u64().unwrap(),
    );
    assert_eq!(k_plus + k_minus, guesses);
    assert!(correct <= guesses && correct * 10 >= guesses * 9, "a strong attack is right >= 90 %: {o}");
    // The headline is the best attack's best grid point, and every attack is listed.
    let attacks = o["attacks"].as_array().unwrap();
    let best = attacks.iter().map(|a| a["epsilon_lower_bound"].as_f64().unwrap()).fold(0.0, f64::max);
    assert_eq!(best, bound);
    assert_eq!(o["attack"], attacks.iter().find(|a| a["epsilon_lower_bound"] == bound).unwrap()["attack"]);
    let tests = attacks.iter().map(|a| a["grid"].as_array().unwrap().len()).sum::<usize>();
    assert_eq!(o["tests"], tests);
    assert!((o["per_test_confidence"].as_f64().unwrap() - (1.0 - 0.05 / tests as f64)).abs() < 1e-12);
    assert!(o["excluded_attacks"].as_array().unwrap().iter().all(|a| a != "loss"));
    assert!(String::from_utf8_lossy(&out.stdout).is_empty(), "-q prints nothing");
    let html = std::fs::read_to_string(dir.path().join("report/report.html")).unwrap();
    assert!(html.contains("<h2>One-run audit</h2>") && html.contains(&format!("ε ≥ {bound:.3}")), "html");

    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), 1000, 0.0, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let o = one_run(dir.path());
    assert_eq!(o["epsilon_lower_bound"], 0.0, "{o}");
    assert_eq!(o["attack"], Value::Null);
}

#[test]
fn too_few_canaries_or_no_coins_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = error_line(&run(dir.path(), 99, 0.6, &[]));
    assert!(e.contains("at least 100 canaries, got 99"), "{e}");
    assert!(!dir.path().join("report/report.json").exists(), "nothing is written");

    // An ordinary audit's member column (10 % members) is not fair coins.
    let mut text = String::from("id,member,loss\n");
    for i in 0..1000u32 {
        text.push_str(&format!("r{i},{},{}\n", u8::from(i % 10 == 0), f64::from(i % 97)));
    }
    let file = dir.path().join("skewed.csv");
    std::fs::write(&file, text).unwrap();
    let out = dir.path().join("skewed");
    let e = error_line(&mia(&["score", s(&file), "-o", s(&out), "-q", "--one-run"]));
    assert!(e.contains("100 of 1000 records are members") && e.contains("probability 1/2"), "{e}");
}

/// `[plan] target = "one_run"`: the tool trains one target on a fair coin per audit record
/// (Location-30, an MLP that memorises), and the report bounds ε from it. Without DP the
/// model leaks, so the bound is above 0; the coins are the plan's, about half the canaries.
#[test]
fn a_model_audit_trains_one_target_on_coins() {
    let dir = tempfile::tempdir().unwrap();
    let config = support::location_config(
        dir.path(),
        3,
        r#"[plan]
target = "one_run"
max_rows = 2000
reference_models = 2

[learner]
kind = "mlp"
hidden_layer_sizes = [64]
batch_size = 128
learning_rate_init = 1e-3
max_iter = 30

[attacks]
run = ["loss", "lira_online", "loss_per_class"]

[eval]
bootstrap = 50
delta = 1e-5
"#,
    );
    let out_dir = dir.path().join("report");
    let out = mia(&["audit", s(&config), "-o", s(&out_dir), "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&out_dir);
    validate(&r);
    assert_eq!(r["models"]["target_training"], "one_run");
    let o = &r["one_run"];
    let canaries = o["canaries"].as_u64().unwrap();
    assert_eq!(canaries, r["models"]["audit_records"].as_u64().unwrap());
    let included = o["included"].as_u64().unwrap();
    assert!(included.abs_diff(canaries / 2) * 10 < canaries, "{included} of {canaries}");
    assert_eq!(included, r["models"]["target"]["train_rows"].as_u64().unwrap());
    assert!(o["epsilon_lower_bound"].as_f64().unwrap() > 0.0, "{o}");
    // The per-class thresholds are cross-fitted on the coins: named and left out.
    assert_eq!(o["excluded_attacks"], serde_json::json!(["loss_per_class"]));
}
