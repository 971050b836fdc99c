//! `--baseline OLD/report.json` and `mia diff OLD NEW`: an audit compared with the last
//! release's, per attack and metric, and gate rules over the difference.
//!
//! The two score files hold the same records; the new one's losses separate members
//! more, so every difference is known in sign. The paired bootstrap's own arithmetic is
//! checked in mia-report's unit tests (baseline.rs); here: the wiring, the gate terms, the
//! equality of the embedded section and `mia diff`, and the refusals.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::{error_line, mia, report, s, validate};

/// `rows` records, every other one a member; members' losses are lower by `gap`.
fn scores(dir: &Path, name: &str, gap: f64, rows: u32) -> PathBuf {
    let mut text = String::from("id,member,loss\n");
    for i in 0..rows {
        let member = i % 2 == 0;
        let noise = f64::from((i.wrapping_mul(2_654_435_761)) % 1000) / 1000.0;
        let loss = noise + if member { 0.0 } else { gap };
        text.push_str(&format!("r{i},{},{loss}\n", u8::from(member)));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn score(file: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["score", s(file), "-o", s(out), "-q", "--bootstrap", "200", "--attacks", "loss,confidence"];
    args.extend_from_slice(extra);
    mia(&args)
}

fn metric<'a>(b: &'a Value, attack: &str, metric: &str) -> &'a Value {
    let a = b["attacks"].as_array().unwrap().iter().find(|a| a["name"] == attack).unwrap();
    a["metrics"].as_array().unwrap().iter().find(|m| m["metric"] == metric).unwrap()
}

#[test]
fn leakage_that_grew_is_measured_paired_and_fails_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let (old_dir, new_dir) = (dir.path().join("old"), dir.path().join("new"));
    // 1,200 non-members: enough for TPR at 1 % FPR (10 / FPR).
    let old = score(&scores(dir.path(), "old.csv", 0.1, 2400), &old_dir, &[]);
    assert_eq!(old.status.code(), Some(0), "{}", String::from_utf8_lossy(&old.stderr));
    let baseline = old_dir.join("report.json");
    let new = score(
        &scores(dir.path(), "new.csv", 0.4, 2400),
        &new_dir,
        &[
            "--baseline",
            s(&baseline),
            "--fail-if",
            "delta.max.auc.lo > 0",
            "--fail-if",
            "max.auc > baseline + 0.5",
            "--fail-if",
            "loss.tpr@1e-2 > baseline",
        ],
    );
    assert_eq!(new.status.code(), Some(1), "{}", String::from_utf8_lossy(&new.stderr));
    let (o, r) = (report(&old_dir), report(&new_dir));
    validate(&r);
    let b = &r["baseline"];
    assert_eq!(b["source"], s(&baseline));
    assert_eq!(b["method"], "paired_bootstrap");
    assert_eq!(b["shared_records"], 2400);
    assert_eq!(b["comparable"], true);
    // Old and new values are the two reports' own figures.
    let loss_auc = metric(b, "loss", "auc");
    let auc = |rep: &Value| {
        rep["attacks"].as_array().unwrap().iter().find(|a| a["name"] == "loss").unwrap()["auc"]["value"].clone()
    };
    assert_eq!(loss_auc["old"], auc(&o));
    assert_eq!(loss_auc["new"], auc(&r));
    let delta = loss_auc["delta"].as_f64().unwrap();
    assert_eq!(delta, auc(&r).as_f64().unwrap() - auc(&o).as_f64().unwrap());
    let [lo, hi] = [loss_auc["ci"][0].as_f64().unwrap(), loss_auc["ci"][1].as_f64().unwrap()];
    assert!(0.0 < lo && lo < delta && delta < hi, "{loss_auc}");
    let rules = r["gate"]["rules"].as_array().unwrap();
    let max_auc = metric(b, "max", "auc");
    assert_eq!(rules[0]["value"], max_auc["ci"][0]);
    assert_eq!(rules[0]["fired"], true);
    // 0.5 more than the old AUC is out of reach.
    assert_eq!(rules[1]["value"], max_auc["new"]);
    assert_eq!(rules[1]["fired"], false);
    // `tpr@1e-2` names the compared `tpr@0.01`.
    assert_eq!(rules[2]["value"], metric(b, "loss", "tpr@0.01")["new"]);
    assert_eq!(rules[2]["fired"], true);
    let html = std::fs::read_to_string(new_dir.join("report.html")).unwrap();
    assert!(html.contains("<h2>Compared with the baseline</h2>"));

    // `mia diff` of the two report folders gives the section the report holds.
    let out = mia(&["diff", s(&baseline), s(&new_dir), "--json", "--fail-if", "delta.max.auc.lo > 0"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["baseline"]["attacks"], b["attacks"]);
    assert_eq!(printed["baseline"]["method"], "paired_bootstrap");
    assert_eq!(printed["gate"]["rules"][0]["value"], rules[0]["value"]);
    let text = mia(&["diff", s(&old_dir), s(&new_dir)]);
    assert_eq!(text.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("paired_bootstrap over 2400 shared records") && stdout.contains("tpr@0.01"), "{stdout}");
    let e = error_line(&mia(&["diff", s(&old_dir), s(&dir.path().join("missing"))]));
    assert!(e.contains("new report ") && e.contains("missing: cannot read it"), "{e}");
    let e = error_line(&mia(&["diff", s(&old_dir), s(&new_dir), "--fail-if", "max.auc > 0.6"]));
    assert!(e.contains("a rule reads the difference"), "{e}");
}

#[test]
fn without_records_the_intervals_are_independent_and_other_records_are_not_compared() {
    let dir = tempfile::tempdir().unwrap();
    let old_dir = dir.path().join("old");
    assert_eq!(score(&scores(dir.path(), "old.csv", 0.1, 600), &old_dir, &[]).status.code(), Some(0));
    std::fs::remove_file(old_dir.join("records.csv")).unwrap();
    let new_dir = dir.path().join("new");
    let out = score(&scores(dir.path(), "new.csv", 0.4, 600), &new_dir, &["--baseline", s(&old_dir)]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let b = report(&new_dir)["baseline"].clone();
    assert_eq!(b["method"], "independent_intervals");
    assert_eq!(b["shared_records"], Value::Null);
    assert!(b["notes"].to_string().contains("no records.csv beside the baseline report"), "{b}");
    assert!(metric(&b, "loss", "auc")["ci"][0].as_f64().unwrap() > 0.0);

    // Another record set (fewer rows): listed, marked not comparable, and a rule over it stops.
    let other = dir.path().join("other");
    let e = error_line(&score(
        &scores(dir.path(), "fewer.csv", 0.4, 400),
        &other,
        &["--baseline", s(&old_dir), "--fail-if", "delta.max.auc > 0"],
    ));
    assert!(e.contains("cannot be compared") && e.contains("record sets differ"), "{e}");
    assert!(!other.join("report.json").exists(), "nothing written on a gate error");
    let out = score(&scores(dir.path(), "fewer.csv", 0.4, 400), &other, &["--baseline", s(&old_dir)]);
    assert_eq!(out.status.code(), Some(0));
    let b = report(&other)["baseline"].clone();
    assert_eq!(b["comparable"], false);
}

#[test]
fn bad_baselines_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = scores(dir.path(), "s.csv", 0.2, 600);
    let out = dir.path().join("out");
    let e = error_line(&score(&file, &out, &["--baseline", "nowhere/report.json"]));
    assert!(e.contains("--baseline nowhere/report.json: cannot read it"), "{e}");
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"attacks\": [").unwrap();
    let e = error_line(&score(&file, &out, &["--baseline", s(&junk)]));
    assert!(e.contains("not JSON at line 1"), "{e}");
    std::fs::write(&junk, "{\"rows\": 3}").unwrap();
    let e = error_line(&score(&file, &out, &["--baseline", s(&junk)]));
    assert!(e.contains("not a report of this tool"), "{e}");
    let e = error_line(&score(&file, &out, &["--fail-if", "delta.max.auc > 0"]));
    assert!(e.contains("no baseline to compare with"), "{e}");
    let e = error_line(&score(&file, &out, &["--fail-if", "delta.max.auc > baseline"]));
    assert!(e.contains("a `delta.` rule compares the difference itself"), "{e}");
    assert!(!out.join("report.json").exists());

    // The output folder may be the baseline's own: it is read before the folder is replaced.
    assert_eq!(score(&file, &out, &[]).status.code(), Some(0));
    let again = score(&file, &out, &["--baseline", s(&out), "--fail-if", "delta.max.auc != 0"]);
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stderr));
    let b = report(&out)["baseline"].clone();
    assert_eq!(metric(&b, "max", "auc")["delta"], 0.0);
}
