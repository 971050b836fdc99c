//! End-to-end behaviour of `mia score` on the bundled real score file: report files,
//! schema validity, determinism across thread counts, and the gate's exit codes.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const DEMO: &str = "data/scores/location_mlp.csv.gz";

fn mia(args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mia"))
        .arg("score")
        .args(args)
        .arg("-o")
        .arg(out)
        .current_dir(root())
        .output()
        .unwrap()
}

fn report(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

#[test]
fn same_seed_gives_identical_files_with_one_or_two_threads() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = [DEMO, "--bootstrap", "200", "--seed", "7", "-q"];
    let o1 = mia(&[&args[..], &["--threads", "1"]].concat(), a.path());
    let o2 = mia(&[&args[..], &["--threads", "2"]].concat(), b.path());
    assert!(o1.status.success() && o2.status.success(), "{}", String::from_utf8_lossy(&o1.stderr));
    for f in ["report.json", "records.csv", "report.html"] {
        let (x, y) = (std::fs::read(a.path().join(f)).unwrap(), std::fs::read(b.path().join(f)).unwrap());
        assert!(x == y, "{f} differs between 1 and 2 threads");
    }
    // A different seed changes the intervals (so the comparison above could fail).
    let c = tempfile::tempdir().unwrap();
    assert!(mia(&[DEMO, "--bootstrap", "200", "--seed", "8", "-q"], c.path()).status.success());
    assert_ne!(
        std::fs::read(a.path().join("report.json")).unwrap(),
        std::fs::read(c.path().join("report.json")).unwrap()
    );
}

#[test]
fn report_validates_against_the_committed_schema() {
    let dir = tempfile::tempdir().unwrap();
    assert!(mia(&[DEMO, "--bootstrap", "50", "-q"], dir.path()).status.success());
    let schema: Value =
        serde_json::from_slice(&std::fs::read(root().join("schema/report.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let doc = report(dir.path());
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // Headline content: every score-only attack ran and the demo model leaks.
    let names: Vec<&str> = doc["attacks"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    for want in ["loss", "phi", "modified_entropy", "correctness", "loss_per_class", "learned"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(doc["max"]["auc"]["value"].as_f64().unwrap() > 0.75);
    // 2,505 non-members cannot support FPR 1e-3 (needs 10,000).
    let t = &doc["attacks"][0]["tpr_at_fpr"];
    assert_eq!(t[2]["fpr"], 0.001);
    assert_eq!(t[2]["supported"], false);
    assert_eq!(t[4]["supported"], true);
}

#[test]
fn gate_sets_the_exit_code_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let o = mia(
        &[DEMO, "--bootstrap", "0", "-q", "--fail-if", "loss.auc > 0.6", "--fail-if", "max.tpr@0.1 > 0.99"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let r = report(dir.path());
    assert_eq!(r["gate"]["verdict"], "fail");
    assert_eq!(r["gate"]["rules"][0]["fired"], true);
    assert_eq!(r["gate"]["rules"][1]["fired"], false);

    let o = mia(&[DEMO, "--bootstrap", "0", "-q", "--fail-if", "eps_lower_bound > 100"], dir.path());
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(report(dir.path())["gate"]["verdict"], "pass");

    // A bad rule is a usage error, reported before any work.
    let o = mia(&[DEMO, "--fail-if", "loss.aucc > 0.6"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn records_csv_ranks_every_record() {
    let dir = tempfile::tempdir().unwrap();
    assert!(mia(&[DEMO, "--bootstrap", "0", "-q", "--attacks", "loss,phi"], dir.path()).status.success());
    let text = std::fs::read_to_string(dir.path().join("records.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "id,member,label,loss_score,loss_rank,phi_score,phi_rank");
    let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(String::from).collect()).collect();
    assert_eq!(rows.len(), 5010);
    assert!(rows.iter().any(|r| r[4] == "1"));
    // Rank 1 has the highest loss score.
    let best = rows.iter().map(|r| r[3].parse::<f64>().unwrap()).fold(f64::NEG_INFINITY, f64::max);
    let top = rows.iter().find(|r| r[4] == "1").unwrap();
    assert_eq!(top[3].parse::<f64>().unwrap(), best);
}

/// The terminal summary names the configured confidence (it printed "95% CI" whatever
/// `--confidence` said) and finds the 0.1 % and 1 % targets however they were written;
/// `--fpr-rule` parses into the report's rule, and a bad one is a one-line error.
#[test]
fn the_summary_prints_the_configured_confidence() {
    let dir = tempfile::tempdir().unwrap();
    let args =
        [DEMO, "--bootstrap", "50", "--confidence", "0.9", "--fpr", "0.001", "--fpr", "1e-2", "--fpr-rule", "strict"];
    let o = mia(&args, dir.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(text.contains("AUC [90% CI]") && !text.contains("95% CI"), "{text}");
    let row = text.lines().find(|l| l.starts_with("loss ")).unwrap_or_else(|| panic!("{text}"));
    assert_eq!(row.split_whitespace().filter(|w| *w == "-").count(), 0, "{row}");
    assert_eq!(report(dir.path())["settings"]["fpr_rule"], "strict");
    let bad = mia(&[DEMO, "--fpr-rule", "atmost"], dir.path());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(err.contains("at-most or strict") && err.trim_end().lines().count() == 1, "{err}");
}
