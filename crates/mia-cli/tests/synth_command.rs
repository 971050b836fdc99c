//! End-to-end behaviour of `mia synth` on bundled UCI Adult: a generator that copies its
//! training rows is flagged and fails the gate, an independent-marginals generator on a
//! large training set is not; released files with planted copies are found; a user's own
//! generator runs as a command; the report is byte-identical with 1 or 2 threads and valid
//! against the schema; config errors are one line with exit code 2.

mod support;
use support::{ADULT_COLUMNS, generated_config, mia, report, root, s, validate};

use serde_json::Value;
use std::io::Read;

/// No shadow generators: the other attacks only (the shadow attack has its own test).
const NO_SHADOW: &str = "[attacks]\nrun = [\"dcr\", \"dcr_calibrated\", \"domias\"]";

fn auc(doc: &Value, attack: &str) -> (f64, f64, f64) {
    let a = doc["attacks"].as_array().unwrap().iter().find(|a| a["name"] == attack).unwrap_or_else(|| {
        panic!("{attack} missing");
    });
    let e = &a["auc"];
    (e["value"].as_f64().unwrap(), e["ci"][0].as_f64().unwrap(), e["ci"][1].as_f64().unwrap())
}

#[test]
fn a_generator_that_copies_its_training_rows_is_flagged_and_fails_the_gate() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = generated_config(
        tmp.path(),
        "kind = \"copy\"",
        3000,
        "",
        "[shadow]\nn_targets = 8\nn_shadow = 40\ntrain_size = 300\nfolds = 4",
    );
    let out = tmp.path().join("r");
    let o = mia(&["synth", s(&cfg), "-q", "-o", s(&out), "--fail-if", "max.auc.lo > 0.6"]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let doc = report(&out);
    validate(&doc);
    assert_eq!(doc["command"], "synth");
    let syn = &doc["synth"];
    // 3,000 rows: 1,500 members, 750 reference, 750 scored holdout.
    assert_eq!(
        (syn["members"].as_u64(), syn["reference"].as_u64(), syn["holdout"].as_u64()),
        (Some(1500), Some(750), Some(750))
    );
    // Every member has an exact copy in the release.
    assert_eq!(syn["distances"][0]["exact_copies"]["members_in_synthetic"], 1500);
    for (attack, floor) in [("dcr", 0.95), ("dcr_calibrated", 0.95), ("domias", 0.8)] {
        let (v, lo, _) = auc(&doc, attack);
        // DOMIAS smooths with a bandwidth fitted to 1,500 rows in 15 columns, so an exact
        // copy lifts the synthetic density less than it lifts the distance.
        assert!(lo > floor, "{attack}: AUC {v} [{lo}, ..] should flag a copying generator");
    }
    // The closeness share compares equal-sized sets, so members are subsampled to the 750
    // holdout records: the half of synthetic rows whose member was kept sit on it (share 1),
    // the other half are as near to either set (share 1/2), so ≈ 0.75 is expected.
    let share = syn["distances"][0]["closeness"]["share"].as_f64().unwrap();
    assert!((0.7..0.8).contains(&share), "closeness share {share}");
    assert_eq!(doc["gate"]["verdict"], "fail");
    // The shadow-generator attack on the 8 most isolated scored records: shadow classifiers
    // learn a copying generator perfectly, and member targets outscore non-member ones.
    let shadow = &syn["shadow"]["results"][0];
    let targets = shadow["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 8);
    let member: Vec<bool> = shadow["member"].as_array().unwrap().iter().map(|m| m.as_bool().unwrap()).collect();
    for t in targets {
        assert!(t["heldout_accuracy"].as_f64().unwrap() > 0.9, "{t}");
    }
    let scores: Vec<f64> = targets.iter().map(|t| t["score"].as_f64().unwrap()).collect();
    let (m, n): (Vec<f64>, Vec<f64>) = (
        scores.iter().zip(&member).filter(|(_, m)| **m).map(|(s, _)| *s).collect(),
        scores.iter().zip(&member).filter(|(_, m)| !**m).map(|(s, _)| *s).collect(),
    );
    if !m.is_empty() && !n.is_empty() {
        assert!(m.iter().cloned().fold(f64::INFINITY, f64::min) > n.iter().cloned().fold(f64::NEG_INFINITY, f64::max));
        assert_eq!(shadow["evaluation"]["auc"]["value"], 1.0);
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<h2>Synthetic data</h2>") && html.contains("Shadow generators"));
}

#[test]
fn an_independent_marginals_generator_on_a_large_training_set_is_not_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = generated_config(tmp.path(), "kind = \"marginals\"", 12000, "confidence = 0.99", NO_SHADOW);
    let out = tmp.path().join("r");
    let o = mia(&["synth", s(&cfg), "-q", "-o", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc = report(&out);
    for attack in ["dcr", "dcr_calibrated", "domias"] {
        let (v, lo, hi) = auc(&doc, attack);
        assert!(lo <= 0.5 && 0.5 <= hi, "{attack}: AUC {v} [{lo}, {hi}] should cover 0.5");
    }
    // Independent marginals still reproduce rare category values, so synthetic rows sit a
    // little nearer to the members who hold them (a closeness share just above 1/2 with
    // 6,000 rows); far from the near-1 share of a copying generator.
    let share = doc["synth"]["distances"][0]["closeness"]["share"].as_f64().unwrap();
    assert!((0.45..0.6).contains(&share), "closeness share {share}");
}

#[test]
fn synth_report_is_byte_identical_with_one_or_two_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = generated_config(
        tmp.path(),
        "kind = \"copula\"",
        2000,
        "",
        "[shadow]\nn_targets = 4\nn_shadow = 20\ntrain_size = 200\nfolds = 4",
    );
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for (dir, threads) in [(&a, "1"), (&b, "2")] {
        let o = mia(&["synth", s(&cfg), "-q", "--threads", threads, "-o", s(dir)]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for f in ["report.json", "records.csv", "report.html"] {
        assert!(std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(), "{f} differs");
    }
    validate(&report(&a));
}

/// Adult's first rows as text lines (no header).
fn adult_lines(n: usize) -> Vec<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(root().join("data/adult/adult.data.gz")).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines().filter(|l| !l.trim().is_empty()).take(n).map(str::to_string).collect()
}

#[test]
fn released_files_with_planted_copies_are_found() {
    let tmp = tempfile::tempdir().unwrap();
    let lines = adult_lines(4000);
    let write = |name: &str, rows: &[String]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, rows.join("\n") + "\n").unwrap();
        p
    };
    let members = write("members.csv", &lines[..1500]);
    let holdout = write("holdout.csv", &lines[1500..3000]);
    // The release: 1,000 other real rows (what a perfect generator would emit) plus copies
    // of members 100..130.
    let mut release: Vec<String> = lines[3000..4000].to_vec();
    release.extend(lines[100..130].iter().cloned());
    let synthetic = write("synthetic.csv", &release);
    let text = format!(
        r#"seed = 5
[data]
path = "{}"
header = false
{ADULT_COLUMNS}
[release]
synthetic = ["{}"]
holdout = "{}"
[eval]
bootstrap = 200
"#,
        s(&members),
        s(&synthetic),
        s(&holdout)
    );
    let cfg = tmp.path().join("synth.toml");
    std::fs::write(&cfg, text).unwrap();
    let out = tmp.path().join("r");
    let o = mia(&["synth", s(&cfg), "-q", "-o", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc = report(&out);
    validate(&doc);
    let syn = &doc["synth"];
    assert_eq!(syn["members"], 1500);
    assert_eq!(syn["holdout"].as_u64().unwrap() + syn["reference"].as_u64().unwrap(), 1500);
    assert_eq!(syn["synthetic"][0]["rows"], 1030);
    // At least the 30 planted copies (Adult also holds a few duplicate rows).
    let copies = syn["distances"][0]["exact_copies"]["members_in_synthetic"].as_u64().unwrap();
    assert!((30..40).contains(&copies), "{copies} members with exact copies");
    // The ids of the two files clash (both are row numbers), so they carry their role, and
    // the planted members score dcr = 0, the highest possible.
    let csv = std::fs::read_to_string(out.join("records.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let (id_col, dcr_col) =
        (header.iter().position(|h| *h == "id").unwrap(), header.iter().position(|h| *h == "dcr_score").unwrap());
    for row in 101..=130 {
        let id = format!("data:{row}");
        let line = csv.lines().find(|l| l.split(',').nth(id_col) == Some(id.as_str())).unwrap_or_else(|| {
            panic!("{id} missing from records.csv");
        });
        let dcr: f64 = line.split(',').nth(dcr_col).unwrap().parse().unwrap();
        assert_eq!(dcr, 0.0, "{id}: {line}");
    }
    assert!(csv.lines().any(|l| l.split(',').nth(id_col).is_some_and(|i| i.starts_with("holdout:"))));
}

#[cfg(unix)]
#[test]
fn a_users_generator_runs_as_a_command() {
    let tmp = tempfile::tempdir().unwrap();
    // `cp` as the generator: it "generates" its training rows, which exercises the CSV the
    // tool writes and reads back.
    let cfg = generated_config(
        tmp.path(),
        "kind = \"command\"\ncommand = [\"cp\", \"{train}\", \"{out}\"]\ntimeout_s = 60",
        1200,
        "",
        NO_SHADOW,
    );
    let out = tmp.path().join("r");
    let o = mia(&["synth", s(&cfg), "-q", "-o", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc = report(&out);
    assert_eq!(doc["synth"]["distances"][0]["exact_copies"]["members_in_synthetic"], 600);
    assert_eq!(doc["synth"]["generator"]["kind"], "command");

    // A failing generator: exit code 2, its status and the end of its standard error.
    let cfg = generated_config(
        tmp.path(),
        "kind = \"command\"\ncommand = [\"sh\", \"-c\", \"echo first >&2; echo out of memory >&2; exit 4\", \"{train}\", \"{out}\"]",
        1200,
        "",
        NO_SHADOW,
    );
    let o = mia(&["synth", s(&cfg), "-q", "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("exit code 4") && err.contains("out of memory"), "{err}");
}

#[test]
fn config_errors_are_one_line_with_exit_code_2() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("[generator]\nkind = \"copula\"\nshrinkage = 0.1\nbins = 3\n", "bins"),
        ("[generator]\nkind = \"gan\"\n", "gan"),
        ("[release]\nsynthetic = [\"x.csv\"]\n", "holdout"),
        ("[generator]\nkind = \"copy\"\n[attacks]\nrun = [\"dcr\", \"loss\"]\n", "unknown attack \"loss\""),
        ("[split]\nmember_fraction = 1.5\n[generator]\nkind = \"copy\"\n", "member_fraction"),
        ("[generator]\nkind = \"command\"\ncommand = [\"gen\", \"{input}\"]\n", "unknown placeholder {input}"),
    ];
    for (section, want) in cases {
        let text = format!(
            "[data]\npath = \"{}\"\nheader = false\n{ADULT_COLUMNS}\n{section}",
            root().join("data/adult/adult.data.gz").display()
        );
        let cfg = tmp.path().join("bad.toml");
        std::fs::write(&cfg, text).unwrap();
        let o = mia(&["synth", s(&cfg), "-q", "-o", s(&tmp.path().join("r"))]);
        assert_eq!(o.status.code(), Some(2), "{section}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(want) && err.contains("bad.toml"), "{section}: {err}");
    }
}

#[test]
fn shadow_targets_beyond_the_scored_records_are_rejected_before_any_generator_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let shadow = "[shadow]\nn_targets = 1000000000\nn_shadow = 20\nfolds = 4";
    let cfg = generated_config(tmp.path(), "kind = \"copy\"", 200, "", shadow);
    let o = mia(&["synth", s(&cfg), "-q", "-o", s(&tmp.path().join("r"))]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("shadow.n_targets = 1000000000: expected 1 to "), "{err}");
}
