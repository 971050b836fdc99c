//! `mia score` with reference models a team trained itself ("bring your own reference
//! models", `--reference`/`--keep`): LiRA and RMIA metrics in report.json against NumPy,
//! SciPy and scikit-learn; every validation error through the binary; alignment by
//! position and by id giving the same report.
//!
//! The inputs are real models: `fixtures/byo/` is written by `python3 scripts/byo_fixtures.py`
//! (K = 8 scikit-learn LogisticRegression reference models and a target on digits, their φ,
//! logits and keep mask). The expected AUCs and TPR@FPR in `fixtures/byo/expected.json` were
//! computed by that script from the same matrices with the formulas of
//! `scripts/reference_fixtures.py` (scipy.stats.norm for LiRA, the authors' plot.py for the
//! reference-code variant, a brute-force N × P comparison for RMIA) and sklearn's
//! `roc_auc_score` / `roc_curve`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const SCORES: &str = "fixtures/byo/scores.csv";

/// `mia score SCORES ARGS --bootstrap 0 -q -o OUT`, run from the repository root.
fn mia(args: &[String], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mia"))
        .arg("score")
        .arg(SCORES)
        .args(args)
        .args(["--bootstrap", "0", "-q", "-o"])
        .arg(out)
        .current_dir(root())
        .output()
        .unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn report(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

fn ok(args: &[String]) -> (tempfile::TempDir, Value) {
    let dir = tempfile::tempdir().unwrap();
    let o = mia(args, dir.path());
    assert!(o.status.success(), "mia score {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    let r = report(dir.path());
    (dir, r)
}

fn attack<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["attacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("attack {name} missing from the report"))
}

fn names(r: &Value) -> Vec<String> {
    r["attacks"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()).collect()
}

fn expected() -> Value {
    serde_json::from_slice(&std::fs::read(root().join("fixtures/byo/expected.json")).unwrap()).unwrap()
}

/// Asserts `report`'s AUC and TPR@FPR of every attack in `want` (an expected.json variant's
/// `attacks`) equal scikit-learn's.
fn assert_matches(report: &Value, want: &Value, label: &str) {
    for (name, m) in want.as_object().unwrap() {
        let a = attack(report, name);
        let (got, exp) = (a["auc"]["value"].as_f64().unwrap(), m["auc"].as_f64().unwrap());
        assert!((got - exp).abs() <= 1e-9, "{label}: {name} AUC {got} vs sklearn {exp}");
        for t in m["tpr_at_fpr"].as_array().unwrap() {
            let fpr = t["fpr"].as_f64().unwrap();
            let row = a["tpr_at_fpr"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| (x["fpr"].as_f64().unwrap() - fpr).abs() < 1e-15)
                .unwrap_or_else(|| panic!("{label}: {name} has no TPR at FPR {fpr}"));
            let (got, exp) = (row["tpr"].as_f64().unwrap(), t["tpr"].as_f64().unwrap());
            assert!((got - exp).abs() <= 1e-12, "{label}: {name} TPR@{fpr} {got} vs sklearn {exp}");
        }
    }
}

#[test]
fn lira_and_rmia_match_numpy_scipy_and_sklearn_on_real_models() {
    let exp = expected();
    let variants = exp["variants"].as_array().unwrap();
    assert!(variants.len() >= 7);
    for v in variants {
        let label = v["label"].as_str().unwrap();
        let args: Vec<String> = v["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
        let (_dir, r) = ok(&args);
        assert_matches(&r, &v["attacks"], label);
        assert!(r["settings"]["reference"].is_object(), "{label}: settings.reference missing");
    }
}

#[test]
fn the_report_names_every_variant_and_records_the_config() {
    let npy = strings(&["--reference", "fixtures/byo/reference_phi.npy", "--keep", "fixtures/byo/keep.npy"]);
    // The authors' code, exactly.
    let args = [
        &npy[..],
        &strings(&["--lira-std", "reference-code", "--lira-center", "median", "--lira-offline", "two-sided"]),
    ]
    .concat();
    let (_d, r) = ok(&args);
    let lira = &r["settings"]["reference"]["lira"];
    assert_eq!(lira["std"], "reference_code");
    assert_eq!(lira["center"], "median");
    assert_eq!(lira["offline_test"], "two_sided");
    assert_eq!(lira["variance"], "per_example");
    let on = attack(&r, "lira_online")["description"].as_str().unwrap();
    assert!(on.contains("LiRA online") && on.contains("center median") && on.contains("authors' code"), "{on}");
    assert!(on.contains("IN models per record 4, OUT 4"), "{on}");
    let off = attack(&r, "lira_offline")["description"].as_str().unwrap();
    assert!(off.contains("two-sided (authors' code)") && off.contains("center median"), "{off}");
    // Without population records RMIA and Attack P cannot run: the report says so.
    let n = names(&r);
    assert!(!n.iter().any(|x| x.starts_with("rmia") || x == "attack_p"), "{n:?}");
    let notes = r["notes"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect::<Vec<_>>().join(" | ");
    assert!(notes.contains("rmia_online (needs population records"), "{notes}");
    assert!(notes.contains("K = 8 (phi signals), 300 audit records aligned by position"), "{notes}");
    // Every input file is fingerprinted.
    let inputs: Vec<&str> = r["inputs"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(inputs, [SCORES, "fixtures/byo/reference_phi.npy", "fixtures/byo/keep.npy"]);

    // Paper defaults with RMIA flags and population: every reference attack next to the score-only ones.
    let args = [
        &npy[..],
        &strings(&[
            "--population-target",
            "fixtures/byo/population_target_phi.npy",
            "--population-reference",
            "fixtures/byo/population_reference_phi.npy",
            "--rmia-gamma",
            "1.5",
            "--rmia-a",
            "0.6",
        ]),
    ]
    .concat();
    let (_d, r) = ok(&args);
    let n = names(&r);
    for want in [
        "lira_online",
        "lira_offline",
        "rmia_online",
        "rmia_offline",
        "attack_p",
        "attack_r",
        "difficulty_calibration",
        "loss",
        "phi",
        "learned",
    ] {
        assert!(n.iter().any(|x| x == want), "{want} missing from {n:?}");
    }
    assert!(!n.iter().any(|x| x == "shokri_shadow"), "shokri_shadow needs per-class reference outputs");
    let rmia = &r["settings"]["reference"]["rmia"];
    assert_eq!(rmia["gamma"], 1.5);
    assert_eq!(rmia["offline_a"], 0.6);
    let d = attack(&r, "rmia_offline")["description"].as_str().unwrap();
    assert!(d.contains("γ = 1.5") && d.contains("a = 0.6") && d.contains("all 150 population records"), "{d}");
    let d = attack(&r, "lira_online")["description"].as_str().unwrap();
    assert!(d.contains("center mean, per-example variance, std ddof 0 floored at 1e-6"), "{d}");
    assert!(r["caveats"].as_array().unwrap().iter().any(|c| c.as_str().unwrap().contains("Only 8 reference models")));

    // Per-class reference outputs also enable the Shokri shadow attack; the report validates.
    let (_d, r) = ok(&strings(&[
        "--reference",
        "fixtures/byo/reference_logits.npy",
        "--reference-signal",
        "logits",
        "--keep",
        "fixtures/byo/keep.npy",
    ]));
    assert!(names(&r).iter().any(|x| x == "shokri_shadow"));
    let schema: Value =
        serde_json::from_slice(&std::fs::read(root().join("schema/report.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&r).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn attack_config_file_and_flags_combine() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("attack.toml");
    std::fs::write(&cfg, "[lira]\nvariance = \"global\"\nstd_floor = 1e-4\n\n[attack_r]\ninterpolation = \"none\"\n")
        .unwrap();
    let (_d, r) = ok(&strings(&[
        "--reference",
        "fixtures/byo/run.npz",
        "--attack-config",
        cfg.to_str().unwrap(),
        "--lira-center",
        "median",
        "--attacks",
        "lira_online,attack_r,loss",
    ]));
    let s = &r["settings"]["reference"];
    assert_eq!(s["lira"]["variance"], "global"); // from the file
    assert_eq!(s["lira"]["std_floor"], 1e-4);
    assert_eq!(s["lira"]["center"], "median"); // from the flag
    assert_eq!(s["attack_r"]["interpolation"], "none");
    assert_eq!(names(&r), ["lira_online", "attack_r", "loss"]);
    let d = attack(&r, "lira_online")["description"].as_str().unwrap();
    assert!(d.contains("center median, global (pooled) variance, std ddof 0 floored at 1e-4"), "{d}");
}

// ----------------------------------------------------------------------------------- helpers for files

#[path = "../../mia-data/tests/support/npy.rs"]
mod npy_support;

/// A C-order `.npy` (format 1.0).
fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape = match shape {
        [n] => format!("({n},)"),
        s => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    npy_support::raw_npy(descr, false, &shape, data)
}

fn f64_npy(shape: &[usize], v: &[f64]) -> Vec<u8> {
    npy("<f8", shape, &v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>())
}

fn bool_npy(shape: &[usize], v: &[bool]) -> Vec<u8> {
    npy("|b1", shape, &v.iter().map(|&b| b as u8).collect::<Vec<_>>())
}

fn i64_npy(shape: &[usize], v: &[i64]) -> Vec<u8> {
    npy("<i8", shape, &v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>())
}

/// Shape and data of a little-endian C-order `.npy` written by numpy (`<f8` or `|b1`).
fn read_npy(rel: &str) -> (Vec<usize>, Vec<u8>) {
    let b = std::fs::read(root().join(rel)).unwrap();
    assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(&b[10..10 + hl]).unwrap();
    assert!(header.contains("'fortran_order': False"));
    let inner = header.split("'shape': (").nth(1).unwrap().split(')').next().unwrap();
    let shape = inner.split(',').filter(|s| !s.trim().is_empty()).map(|s| s.trim().parse().unwrap()).collect();
    (shape, b[10 + hl..].to_vec())
}

fn phi() -> (usize, usize, Vec<f64>) {
    let (s, d) = read_npy("fixtures/byo/reference_phi.npy");
    (s[0], s[1], d.chunks(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect())
}

fn keep() -> Vec<bool> {
    let (_, d) = read_npy("fixtures/byo/keep.npy");
    d.iter().map(|&b| b != 0).collect()
}

/// The score file's record ids, in order.
fn score_ids() -> Vec<i64> {
    let text = std::fs::read_to_string(root().join(SCORES)).unwrap();
    text.lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect()
}

/// Runs with files written into a temp dir (`@name` in args is replaced by the path);
/// asserts exit 2 and one line; returns that line.
fn fails(files: &[(&str, Vec<u8>)], args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let args: Vec<String> = args
        .iter()
        .map(|a| match a.strip_prefix('@') {
            Some(n) => dir.path().join(n).to_str().unwrap().to_string(),
            None => a.to_string(),
        })
        .collect();
    let out = dir.path().join("report");
    let o = mia(&args, &out);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.join("report.json").exists());
    err
}

// ----------------------------------------------------------------------------------- validation

#[test]
fn shape_mismatches_name_both_shapes_and_files() {
    let (k, n, v) = phi();
    let kp = keep();
    // Keep mask one record short.
    let short: Vec<bool> = (0..k).flat_map(|r| kp[r * n..r * n + n - 1].to_vec()).collect();
    let e = fails(
        &[("keep.npy", bool_npy(&[k, n - 1], &short))],
        &["--reference", "fixtures/byo/reference_phi.npy", "--keep", "@keep.npy"],
    );
    assert!(
        e.contains("keep.npy") && e.contains("8 × 299") && e.contains("reference_phi.npy") && e.contains("8 × 300"),
        "{e}"
    );
    // Reference and keep agree but not with the score file.
    let vs: Vec<f64> = (0..k).flat_map(|r| v[r * n..r * n + n - 1].to_vec()).collect();
    let e = fails(
        &[("phi.npy", f64_npy(&[k, n - 1], &vs)), ("keep.npy", bool_npy(&[k, n - 1], &short))],
        &["--reference", "@phi.npy", "--keep", "@keep.npy"],
    );
    assert!(e.contains("phi.npy") && e.contains("8 × 299") && e.contains(SCORES) && e.contains("300 records"), "{e}");
    // Keep mask 3-D, reference 1-D.
    let e = fails(
        &[("keep.npy", bool_npy(&[2, 2, 2], &[true; 8]))],
        &["--reference", "fixtures/byo/reference_phi.npy", "--keep", "@keep.npy"],
    );
    assert!(e.contains("keep.npy") && e.contains("(2, 2, 2)"), "{e}");
    let e =
        fails(&[("phi.npy", f64_npy(&[n], &v[..n]))], &["--reference", "@phi.npy", "--keep", "fixtures/byo/keep.npy"]);
    assert!(e.contains("phi.npy") && e.contains("(300,)") && e.contains("2-D"), "{e}");
    // Population arrays that disagree with K.
    let e = fails(
        &[("pop_ref.npy", f64_npy(&[3, 150], &[0.5; 450]))],
        &[
            "--reference",
            "fixtures/byo/reference_phi.npy",
            "--keep",
            "fixtures/byo/keep.npy",
            "--population-target",
            "fixtures/byo/population_target_phi.npy",
            "--population-reference",
            "@pop_ref.npy",
        ],
    );
    assert!(e.contains("pop_ref.npy") && e.contains("3 × 150") && e.contains("8 × 150"), "{e}");
    // A 3-D array without saying what it holds.
    let e = fails(&[], &["--reference", "fixtures/byo/reference_logits.npy", "--keep", "fixtures/byo/keep.npy"]);
    assert!(e.contains("reference_logits.npy") && e.contains("--reference-signal logits|probs"), "{e}");
}

#[test]
fn a_record_in_or_out_for_no_model_is_named_unless_only_offline_attacks_run() {
    let (k, n, _) = phi();
    let ids = score_ids();
    let mut kp = keep();
    for r in 0..k {
        kp[r * n + 5] = false; // record 5: IN for none
        kp[r * n + 9] = false; // record 9: IN for none
    }
    let files = [("keep.npy", bool_npy(&[k, n], &kp))];
    let args = ["--reference", "fixtures/byo/reference_phi.npy", "--keep", "@keep.npy"];
    let e = fails(&files, &args);
    assert!(e.contains("keep.npy") && e.contains(&format!("record id \"{}\"", ids[5])), "{e}");
    assert!(
        e.contains("IN for none of the 8 reference models") && e.contains("2 of 300 records have no IN model"),
        "{e}"
    );
    assert!(e.contains("online LiRA and RMIA need"), "{e}");
    // Offline attacks need OUT only: the same mask runs.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.npy"), &files[0].1).unwrap();
    let keep_path = dir.path().join("keep.npy").to_str().unwrap().to_string();
    let o = mia(
        &strings(&[
            "--reference",
            "fixtures/byo/reference_phi.npy",
            "--keep",
            &keep_path,
            "--attacks",
            "lira_offline,difficulty_calibration,loss",
        ]),
        &dir.path().join("r"),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // OUT for none: no attack but Attack P / Shokri can use it.
    let mut kp = keep();
    for r in 0..k {
        kp[r * n + 7] = true;
    }
    let files = [("keep.npy", bool_npy(&[k, n], &kp))];
    let e = fails(&files, &args);
    assert!(
        e.contains(&format!("record id \"{}\"", ids[7])) && e.contains("OUT for none") && e.contains("1 of 300"),
        "{e}"
    );
    let e = fails(
        &files,
        &["--reference", "fixtures/byo/reference_phi.npy", "--keep", "@keep.npy", "--attacks", "lira_offline"],
    );
    assert!(e.contains("OUT for none"), "{e}");
}

#[test]
fn non_finite_values_name_file_model_and_record() {
    let (k, n, mut v) = phi();
    let ids = score_ids();
    v[3 * n + 17] = f64::NAN;
    let e =
        fails(&[("phi.npy", f64_npy(&[k, n], &v))], &["--reference", "@phi.npy", "--keep", "fixtures/byo/keep.npy"]);
    assert!(e.contains("phi.npy") && e.contains("index [3, 17] (model 3, record 17)"), "{e}");
    assert!(e.contains(&format!("record id \"{}\"", ids[17])) && e.contains("found NaN"), "{e}");
    // Infinite population φ.
    let mut p = vec![0.25; 150];
    p[40] = f64::INFINITY;
    let e = fails(
        &[("pop.npy", f64_npy(&[150], &p))],
        &[
            "--reference",
            "fixtures/byo/reference_phi.npy",
            "--keep",
            "fixtures/byo/keep.npy",
            "--population-target",
            "@pop.npy",
            "--population-reference",
            "fixtures/byo/population_reference_phi.npy",
        ],
    );
    assert!(e.contains("pop.npy") && e.contains("index 40") && e.contains("inf"), "{e}");
    // Negative loss.
    let (_, _, v) = phi();
    let loss: Vec<f64> = v.iter().enumerate().map(|(i, _)| if i == 2 * n + 4 { -0.5 } else { 0.1 }).collect();
    let e = fails(
        &[("loss.npy", f64_npy(&[k, n], &loss))],
        &["--reference", "@loss.npy", "--reference-signal", "loss", "--keep", "fixtures/byo/keep.npy"],
    );
    assert!(e.contains("loss.npy") && e.contains("index [2, 4]") && e.contains("non-negative loss"), "{e}");
}

#[test]
fn a_keep_mask_that_is_not_boolean_names_position_and_value() {
    let (k, n, _) = phi();
    let mut ints: Vec<i64> = keep().iter().map(|&b| b as i64).collect();
    // 0/1 integers are fine ...
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("keep01.npy");
    std::fs::write(&p, i64_npy(&[k, n], &ints)).unwrap();
    let (_d, r) = ok(&strings(&["--reference", "fixtures/byo/reference_phi.npy", "--keep", p.to_str().unwrap()]));
    assert!(names(&r).iter().any(|x| x == "lira_online"));
    // ... a 2 is not.
    ints[n + 4] = 2;
    let e = fails(
        &[("keep.npy", i64_npy(&[k, n], &ints))],
        &["--reference", "fixtures/byo/reference_phi.npy", "--keep", "@keep.npy"],
    );
    assert!(e.contains("keep.npy") && e.contains("index [1, 4]") && e.contains("found 2"), "{e}");
    // Floats other than 0/1, and a float keep column in a table.
    let f: Vec<f64> = (0..k * n).map(|i| if i == 7 { 0.5 } else { (i % 2) as f64 }).collect();
    let e = fails(
        &[("keep.npy", f64_npy(&[k, n], &f))],
        &["--reference", "fixtures/byo/reference_phi.npy", "--keep", "@keep.npy"],
    );
    assert!(e.contains("index [0, 7]") && e.contains("found 0.5"), "{e}");
    let csv = std::fs::read_to_string(root().join("fixtures/byo/reference_wide.csv")).unwrap();
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    lines[3] = format!("{},yes", lines[3].rsplit_once(',').unwrap().0);
    let e = fails(&[("wide.csv", (lines.join("\n") + "\n").into_bytes())], &["--reference", "@wide.csv"]);
    assert!(e.contains("wide.csv") && e.contains("row 3") && e.contains("keep_7") && e.contains("\"yes\""), "{e}");
}

#[test]
fn missing_and_duplicate_ids_are_named() {
    let ids = score_ids();
    let args = [
        "--reference",
        "fixtures/byo/reference_phi.npy",
        "--keep",
        "fixtures/byo/keep.npy",
        "--reference-ids",
        "@ids.npy",
    ];
    // One score-file id absent from the reference ids.
    let mut r = ids.clone();
    r[12] = 999_999;
    let e = fails(&[("ids.npy", i64_npy(&[r.len()], &r))], &args);
    assert!(e.contains(SCORES) && e.contains(&format!("record id \"{}\"", ids[12])) && e.contains("ids.npy"), "{e}");
    assert!(e.contains("1 of 300 score-file records are missing"), "{e}");
    // A duplicate.
    let mut r = ids.clone();
    r[20] = r[3];
    let e = fails(&[("ids.npy", i64_npy(&[r.len()], &r))], &args);
    assert!(
        e.contains("ids.npy")
            && e.contains(&format!("duplicate record id \"{}\" at position 3 and position 20", ids[3])),
        "{e}"
    );
    // Wrong count.
    let e = fails(&[("ids.npy", i64_npy(&[5], &ids[..5]))], &args);
    assert!(e.contains("ids.npy") && e.contains("5 record ids") && e.contains("300 records"), "{e}");
    // Float ids.
    let e = fails(&[("ids.npy", f64_npy(&[300], &[1.0; 300]))], &args);
    assert!(e.contains("ids.npy") && e.contains("float64"), "{e}");
}

#[test]
fn usage_errors_are_one_line() {
    // Reference attacks without reference models; unknown attacks; flags without --reference.
    let e = fails(&[], &["--attacks", "lira_online"]);
    assert!(e.contains("lira_online") && e.contains("--reference"), "{e}");
    let e = fails(&[], &["--reference", "fixtures/byo/run.npz", "--attacks", "lira_onlin"]);
    assert!(e.contains("unknown attack \"lira_onlin\"") && e.contains("rmia_offline"), "{e}");
    let e = fails(&[], &["--keep", "fixtures/byo/keep.npy"]);
    assert!(e.contains("--reference"), "{e}");
    // No keep mask anywhere.
    let e = fails(&[], &["--reference", "fixtures/byo/reference_phi.npy"]);
    assert!(e.contains("reference_phi.npy") && e.contains("no keep mask"), "{e}");
    // A misspelt key in the attack config, with its line.
    let e = fails(
        &[("a.toml", b"[lira]\ncentre = \"median\"\n".to_vec())],
        &["--reference", "fixtures/byo/run.npz", "--attack-config", "@a.toml"],
    );
    assert!(e.contains("a.toml: line 2") && e.contains("centre"), "{e}");
    // Out-of-range RMIA option.
    let e = fails(&[], &["--reference", "fixtures/byo/run.npz", "--rmia-a", "1.5"]);
    assert!(e.contains("offline_a") && e.contains("1.5"), "{e}");
    // ... and in the attack config file, named with its key.
    let e = fails(
        &[("a.toml", b"[rmia]\ngamma = 0.0\n".to_vec())],
        &["--reference", "fixtures/byo/run.npz", "--attack-config", "@a.toml"],
    );
    assert!(e.contains("a.toml: rmia.gamma = 0: expected a positive finite number"), "{e}");
    // An RMIA setting when no RMIA attack runs would be recorded without effect.
    let e = fails(&[], &["--reference", "fixtures/byo/run.npz", "--attacks", "lira_online", "--rmia-gamma", "3"]);
    assert!(e.contains("--rmia-gamma 3 applies to rmia_online and rmia_offline") && e.contains("--attacks"), "{e}");
    let e = fails(
        &[],
        &["--reference", "fixtures/byo/reference_phi.npy", "--keep", "fixtures/byo/keep.npy", "--rmia-a", "0.5"],
    );
    assert!(e.contains("--rmia-a 0.5 applies to rmia_offline") && e.contains("population records"), "{e}");
    // A φ the attacks cannot use is named with its file, row and column, not by the attacks.
    let wide = std::fs::read_to_string(root().join("fixtures/byo/reference_wide.csv")).unwrap();
    let mut lines: Vec<String> = wide.lines().map(str::to_string).collect();
    let mut cells: Vec<&str> = lines[3].split(',').collect();
    cells[2] = "1e308";
    lines[3] = cells.join(",");
    let e = fails(&[("wide.csv", (lines.join("\n") + "\n").into_bytes())], &["--reference", "@wide.csv"]);
    assert!(
        e.contains("wide.csv: row 3, column \"phi_1\"") && e.contains("±1e100") && e.contains("found φ = 1e308"),
        "{e}"
    );
    // Unknown file type, missing file.
    let e = fails(&[("r.txt", b"x".to_vec())], &["--reference", "@r.txt"]);
    assert!(e.contains("r.txt") && e.contains(".npz"), "{e}");
    let e = fails(&[], &["--reference", "fixtures/byo/nope.npy", "--keep", "fixtures/byo/keep.npy"]);
    assert!(e.contains("nope.npy") && e.contains("no such file"), "{e}");
    // An np.savez_compressed bundle is read (its 4 records then do not match the score file's 300).
    let e = fails(&[], &["--reference", "fixtures/byo/compressed.npz"]);
    assert!(e.contains("compressed.npz") && e.contains("2 × 4") && e.contains("300 records"), "{e}");
    // An .npz without signals.
    let e = fails(&[], &["--reference", "fixtures/reference/digits_reference.npz"]);
    assert!(e.contains("digits_reference.npz") && e.contains("no reference signals"), "{e}");
}

// ----------------------------------------------------------------------------------- alignment

/// The report minus what names the input files (paths, hashes, notes).
fn comparable(mut r: Value) -> Value {
    let o = r.as_object_mut().unwrap();
    o.remove("inputs");
    o.remove("notes");
    r
}

#[test]
fn alignment_by_id_gives_the_same_report_as_by_position() {
    let (d0, by_pos) = ok(&strings(&["--reference", "fixtures/byo/run.npz"]));
    let (d1, by_id) = ok(&strings(&["--reference", "fixtures/byo/perm.npz"]));
    assert!(by_id["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("aligned by record id")));
    assert_eq!(comparable(by_pos.clone()), comparable(by_id));
    let csv = |d: &Path| std::fs::read(d.join("records.csv")).unwrap();
    assert_eq!(csv(d0.path()), csv(d1.path()));

    // Separate files, reversed, with 3 extra records the score file does not hold, ids as --reference-ids.
    let (k, n, v) = phi();
    let kp = keep();
    let ids = score_ids();
    let m = n + 3;
    let col = |j: usize| n - 1 - j; // reversed
    let mut rv = Vec::with_capacity(k * m);
    let mut rk = Vec::with_capacity(k * m);
    for r in 0..k {
        for j in 0..m {
            rv.push(if j < n { v[r * n + col(j)] } else { 1.0 + j as f64 });
            rk.push(if j < n { kp[r * n + col(j)] } else { r % 2 == 0 });
        }
    }
    let rid: Vec<i64> = (0..m).map(|j| if j < n { ids[col(j)] } else { -(j as i64) }).collect();
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, b: Vec<u8>| {
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        p.to_str().unwrap().to_string()
    };
    let args = vec![
        "--reference".to_string(),
        w("phi.npy", f64_npy(&[k, m], &rv)),
        "--keep".into(),
        w("keep.npy", bool_npy(&[k, m], &rk)),
        "--reference-ids".into(),
        w("ids.npy", i64_npy(&[m], &rid)),
        "--population-target".into(),
        "fixtures/byo/population_target_phi.npy".into(),
        "--population-reference".into(),
        "fixtures/byo/population_reference_phi.npy".into(),
    ];
    let (d2, by_flag) = ok(&args);
    let notes = by_flag["notes"].as_array().unwrap();
    assert!(notes.iter().any(|x| x.as_str().unwrap().contains("3 reference records are not in the score file")));
    assert_eq!(comparable(by_pos), comparable(by_flag));
    assert_eq!(csv(d0.path()), csv(d2.path()));
}

#[test]
fn wide_csv_table_matches_the_arrays() {
    let exp = expected();
    let paper = &exp["variants"][0]["attacks"];
    let lira = serde_json::json!({ "lira_online": paper["lira_online"], "lira_offline": paper["lira_offline"] });
    let (_d, r) = ok(&strings(&["--reference", "fixtures/byo/reference_wide.csv"]));
    assert_matches(&r, &lira, "reference_wide.csv");
    let (_d, a) = ok(&strings(&["--reference", "fixtures/byo/reference_phi.npy", "--keep", "fixtures/byo/keep.npy"]));
    assert_eq!(comparable(r), comparable(a));
}

#[cfg(feature = "parquet")]
#[test]
fn wide_parquet_table_matches_the_arrays() {
    let exp = expected();
    let paper = &exp["variants"][0]["attacks"];
    let lira = serde_json::json!({ "lira_online": paper["lira_online"], "lira_offline": paper["lira_offline"] });
    let (_d, r) = ok(&strings(&["--reference", "fixtures/byo/reference_wide.parquet"]));
    assert_matches(&r, &lira, "reference_wide.parquet");
    let (_d, a) = ok(&strings(&["--reference", "fixtures/byo/reference_wide.csv"]));
    assert_eq!(comparable(r), comparable(a));
}
