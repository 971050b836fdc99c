//! End-to-end tests of the quantile-regression attack in `mia score --features` (Bertran et al.
//! 2023; crates/mia-audit/src/quantile.rs). Its scores are checked against scikit-learn in
//! crates/mia-audit/tests/quantile_sklearn.rs; here: that the command runs it, reports it with an
//! interval and its fitting, stays byte-identical across thread counts, and refuses what cannot run.

mod support;

use support::{error_line, mia, report, s, validate};

#[path = "../../mia-data/tests/support/npy.rs"]
mod npy_support;

fn attack<'a>(r: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    r["attacks"].as_array().unwrap().iter().find(|a| a["name"] == name)
}

#[test]
fn score_with_features_runs_the_quantile_attack() {
    let dir = tempfile::tempdir().unwrap();
    let root = support::root();
    let scores = root.join("fixtures/scores/digits_logreg.csv");
    let features = root.join("fixtures/scores/digits_features.npy");
    let run = |out: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["score", s(&scores), "--features", s(&features), "-o", s(out), "--bootstrap", "100", "-q"];
        args.extend_from_slice(extra);
        mia(&args)
    };
    let one = dir.path().join("one");
    let o = run(&one, &["--threads", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = report(&one);
    validate(&r);
    let q = attack(&r, "quantile").expect("the quantile attack runs with --features");
    let auc = &q["auc"];
    let (lo, hi) = (auc["ci"][0].as_f64().unwrap(), auc["ci"][1].as_f64().unwrap());
    assert!(lo <= auc["value"].as_f64().unwrap() && auc["value"].as_f64().unwrap() <= hi, "{auc}");
    assert!(q["description"].as_str().unwrap().contains("targets FPR alpha = 0.01"), "{}", q["description"]);
    let fit = &q["fitting"];
    assert_eq!((fit["folds"].as_u64(), fit["seed"].as_u64()), (Some(5), Some(0)));
    let notes: Vec<&str> = fit["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(notes[0].contains("64 features and 10 one-hot class columns; fitted on 719–720 non-members"), "{notes:?}");
    assert!(notes[1].starts_with("calibration at score > 0 (target FPR alpha = 0.01): "), "{notes:?}");
    assert!(notes[1].contains(" of 899 non-members above (") && notes[1].contains(" of 898 members above (TPR "));
    // A fitted attack: not sliced by class unless asked, and in the records file.
    let header = std::fs::read_to_string(one.join("records.csv")).unwrap();
    assert!(header.lines().next().unwrap().contains("quantile_score,quantile_rank"));

    // The same report whatever the thread count.
    let two = dir.path().join("two");
    let o = run(&two, &["--threads", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(one.join("report.json")).unwrap(), std::fs::read(two.join("report.json")).unwrap());

    // Asked for alone, at another α.
    let alone = dir.path().join("alone");
    let o = run(&alone, &["--attacks", "quantile", "--quantile-alpha", "0.1"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = report(&alone);
    let names: Vec<&str> = r["attacks"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["quantile"]);
    assert!(attack(&r, "quantile").unwrap()["description"].as_str().unwrap().contains("alpha = 0.1"));

    // Settings it refuses.
    let out = dir.path().join("bad");
    let line = error_line(&run(&out, &["--quantile-alpha", "0.7"]));
    assert!(line.contains("--quantile-alpha must be in (0, 0.5]"), "{line}");
    let line = error_line(&run(&out, &["--attacks", "loss", "--quantile-alpha", "0.1"]));
    assert!(
        line.contains("--quantile-alpha 0.1 applies to quantile, and it did not run (--attacks leaves it out)"),
        "{line}"
    );
}

/// Without --features the attack does not run, and asking for it (or its α) is a one-line error.
#[test]
fn quantile_attack_needs_features() {
    let dir = tempfile::tempdir().unwrap();
    let scores = support::root().join("fixtures/scores/digits_logreg.csv");
    let out = dir.path().join("r");
    let o = mia(&["score", s(&scores), "-o", s(&out), "--bootstrap", "0", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(attack(&report(&out), "quantile").is_none());
    let line = error_line(&mia(&["score", s(&scores), "-o", s(&out), "--attacks", "loss,quantile"]));
    assert!(line.contains("attack \"quantile\" needs the records' features: give them with --features FILE"), "{line}");
    let line = error_line(&mia(&["score", s(&scores), "-o", s(&out), "--quantile-alpha", "0.05"]));
    assert!(line.contains("--quantile-alpha 0.05 applies to the quantile attack, which needs the records' features"));
}

/// Too few non-members to fit on: a note when the attack runs by default, an error when asked for
/// by name. A loss-only input: φ from the loss, no class columns.
#[test]
fn quantile_attack_on_few_records_and_on_losses() {
    let dir = tempfile::tempdir().unwrap();
    let root = support::root();
    // The first 150 digits records (about 75 non-members: 60 a fit, fewer than the 100 that α = 0.01 needs).
    let text = std::fs::read_to_string(root.join("fixtures/scores/digits_logreg.csv")).unwrap();
    let head: Vec<&str> = text.lines().take(151).collect();
    let scores = dir.path().join("head.csv");
    std::fs::write(&scores, head.join("\n") + "\n").unwrap();
    let values: Vec<f64> = (0..150).flat_map(|i| [(i % 7) as f64, ((i * 31) % 11) as f64]).collect();
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let features = dir.path().join("x.npy");
    std::fs::write(&features, npy_support::raw_npy("<f8", false, "(150, 2)", &data)).unwrap();
    let out = dir.path().join("r");
    let base = ["score", s(&scores), "--features", s(&features), "-o", s(&out), "--bootstrap", "0", "-q"];
    let o = mia(&base);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = report(&out);
    assert!(attack(&r, "quantile").is_none());
    let notes: Vec<&str> = r["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("The quantile attack did not run: with 5 folds, a fold's other folds hold only")
                && n.contains("needs at least 100")),
        "{notes:?}"
    );
    let line = error_line(&mia(&[&base[..], &["--attacks", "quantile"]].concat()));
    assert!(line.contains("quantile attack: with 5 folds") && line.contains("needs at least 100"), "{line}");
    // At α = 0.1 it needs 20 a fit, and runs.
    let o = mia(&[&base[..], &["--quantile-alpha", "0.1"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(attack(&report(&out), "quantile").is_some());

    // Losses only (no labels): φ is the loss's transform; the regressor sees the features alone.
    let losses = root.join("fixtures/scores/digits_loss_rounded.csv");
    let digits_features = root.join("fixtures/scores/digits_features.npy");
    let o = mia(&["score", s(&losses), "--features", s(&digits_features), "-o", s(&out), "--bootstrap", "0", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = report(&out);
    validate(&r);
    let notes = &attack(&r, "quantile").expect("runs on losses")["fitting"]["notes"];
    assert!(notes[0].as_str().unwrap().contains("on 64 features and no class columns (the input has no labels)"));
}
