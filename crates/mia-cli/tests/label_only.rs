//! `mia audit` of a target seen only through its predicted labels (`[target] output =
//! "label"`): the gap attack (`correctness`) and the noise-robustness attack (`label_noise`),
//! for a target the tool trains and for a given ONNX model; only label attacks run, and the
//! settings that need confidences are refused.

mod support;
use support::{error_line, mia, report, root, s, validate};

use serde_json::Value;
use std::path::{Path, PathBuf};

/// A Location-30 audit of an MLP the tool trains, seen through its labels (`dir/NAME/audit.toml`).
fn trained_config(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let sub = dir.join(name.trim_end_matches(".toml"));
    std::fs::create_dir_all(&sub).unwrap();
    let sections = format!(
        "[plan]\nmax_rows = 1500\npopulation_fraction = 0.2\nreference_models = 0\n\n[learner]\nkind = \"mlp\"\n\
         hidden_layer_sizes = [64]\nmax_iter = 60\ntol = 0.0\n\n[target]\noutput = \"label\"\n\n\
         [attacks.label_noise]\ncopies = 12\n\n[eval]\nbootstrap = 200\n{extra}\n"
    );
    support::location_config(&sub, 4, &sections)
}

fn attack<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["attacks"].as_array().unwrap().iter().find(|a| a["name"] == name).unwrap()
}

fn auc(a: &Value) -> (f64, f64) {
    (a["auc"]["value"].as_f64().unwrap(), a["auc"]["ci"][0].as_f64().unwrap())
}

#[test]
fn a_trained_target_seen_through_its_labels_runs_the_label_attacks() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = trained_config(dir.path(), "audit.toml", "");
    let out = dir.path().join("r");
    let o = mia(&["audit", s(&cfg), "-q", "-o", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = report(&out);
    validate(&r);
    let names: Vec<&str> = r["attacks"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["correctness", "label_noise"], "only what labels give");
    assert_eq!(r["outputs"]["kind"], "labels");
    // The MLP memorises its training rows (accuracy 1 on them, far less on others): both
    // attacks see it.
    let (gap, gap_lo) = auc(attack(&r, "correctness"));
    let (noise, noise_lo) = auc(attack(&r, "label_noise"));
    assert!(gap_lo > 0.55 && noise_lo > 0.55, "gap {gap}, noise {noise}");
    // The noise attack grades records the gap attack can only call right or wrong.
    assert!(
        attack(&r, "label_noise")["distinct_scores"].as_u64().unwrap() > 2,
        "{}",
        attack(&r, "label_noise")["distinct_scores"]
    );
    let fit = &attack(&r, "label_noise")["fitting"];
    let notes = fit["notes"].to_string();
    assert!(notes.contains("chosen") && notes.contains("queries to the target"), "{notes}");
    // 1500 rows: 300 population, 1200 audited; 5 levels × 1500 records × 12 copies.
    assert!(notes.contains("90000 queries"), "{notes}");

    // A rerun reads the stored answers and gives the same report.
    let first = std::fs::read(out.join("report.json")).unwrap();
    let o = mia(&["audit", s(&cfg), "-q", "-o", s(&out), "--threads", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(out.join("report.json")).unwrap(), first);
}

/// The ONNX target of fixtures/onnx_audit seen through its labels: with the gap attack alone
/// (no population held out, so the same audited records) its figures are the full-output
/// audit's `correctness`, exactly (the same predicted classes); with `label_noise` too, the
/// noise attack sees the overfitting.
#[test]
fn an_onnx_target_seen_through_its_labels_gives_the_same_gap_attack() {
    let dir = tempfile::tempdir().unwrap();
    let fx = root().join("fixtures/onnx_audit");
    let write = |name: &str, target: &str, rest: &str| {
        let text = format!(
            "seed = 3\n[data]\npath = \"{}\"\nlabel = \"label\"\nmember = \"member\"\nnumeric = \"rest\"\n\
             standardize = false\n\n[target]\nonnx = \"{}\"\n{target}\n\n[plan]\nreference_models = 0\n\
             population_fraction = 0.2\n\n{rest}\n[eval]\nbootstrap = 200\n",
            fx.join("location_members.csv.gz").display(),
            fx.join("mlp.onnx").display()
        );
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let out = dir.path().join(name.trim_end_matches(".toml"));
        let o = mia(&["audit", s(&p), "-q", "-o", s(&out)]);
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        report(&out)
    };
    let full = write("full.toml", "", "");
    let gap = write("gap.toml", "output = \"label\"", "[attacks]\nrun = [\"correctness\"]\n");
    assert_eq!(gap["outputs"]["kind"], "labels");
    assert_eq!(gap["rows"], full["rows"]);
    let (a, b) = (attack(&gap, "correctness"), attack(&full, "correctness"));
    for k in ["auc", "tpr_at_fpr", "advantage"] {
        assert_eq!(a[k], b[k], "{k}");
    }
    let both = write("both.toml", "output = \"label\"", "[attacks.label_noise]\ncopies = 8\nlevels = [0.05, 0.2]\n");
    assert_eq!(both["rows"]["kept"], 1600, "a population of 400 held out for the noise level");
    let (gap, _) = auc(attack(&both, "correctness"));
    let (noise, noise_lo) = auc(attack(&both, "label_noise"));
    assert!(gap > 0.6 && noise_lo > 0.5, "gap {gap}, noise {noise}");
}

#[test]
fn settings_that_need_confidences_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[attacks]\nrun = [\"loss\", \"label_noise\"]", "attacks.run: \"loss\" needs the target's confidences"),
        ("[report]\nslices = [\"loss\"]", "report.slices: \"loss\" does not run on a label-only target"),
    ];
    for (k, (extra, want)) in cases.into_iter().enumerate() {
        let cfg = trained_config(dir.path(), &format!("{k}.toml"), extra);
        let line = error_line(&mia(&["audit", s(&cfg), "-q", "-o", s(&dir.path().join(format!("r{k}")))]));
        assert!(line.contains(want), "{extra}: {line}");
    }
    let cfg = trained_config(dir.path(), "refs.toml", "");
    let text = std::fs::read_to_string(&cfg).unwrap().replace("reference_models = 0", "reference_models = 4");
    std::fs::write(&cfg, text).unwrap();
    let line = error_line(&mia(&["audit", s(&cfg), "-q", "-o", s(&dir.path().join("refs"))]));
    assert!(line.contains("plan.reference_models = 4") && line.contains("correctness and label_noise"), "{line}");
    // label_noise on a target seen in full is a config error, as is the section.
    let cfg = trained_config(dir.path(), "full.toml", "");
    let text = std::fs::read_to_string(&cfg).unwrap().replace("[target]\noutput = \"label\"\n", "");
    std::fs::write(&cfg, &text).unwrap();
    let line = error_line(&mia(&["audit", s(&cfg), "-q", "-o", s(&dir.path().join("full"))]));
    assert!(line.contains("[attacks.label_noise] is for a label-only target"), "{line}");
    let bad = trained_config(dir.path(), "levels.toml", "").display().to_string();
    let text = std::fs::read_to_string(&bad).unwrap().replace("copies = 12", "copies = 12\nlevels = [0.4, 0.2]");
    std::fs::write(&bad, text).unwrap();
    let line = error_line(&mia(&["audit", &bad, "-q", "-o", s(&dir.path().join("levels"))]));
    assert!(line.contains("[attacks.label_noise] levels = [0.4, 0.2]: expected increasing numbers"), "{line}");
}
