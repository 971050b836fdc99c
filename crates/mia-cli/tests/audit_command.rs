//! End-to-end behaviour of `mia audit` on bundled real data (Location-30): determinism
//! across thread counts, resuming a killed run, the null check, the report schema, and
//! one-line config errors with exit code 2.

mod support;
use support::{mia, report, root, s, validate};

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A small audit of Location-30: a seeded subsample of rows, a small MLP, few reference
/// models. `extra` is appended to the `[plan]` table; `learner` replaces the learner.
fn config(dir: &Path, plan_extra: &str, learner: &str, eval_extra: &str) -> PathBuf {
    let sections = format!(
        "[plan]\nmax_rows = 900\npopulation_fraction = 0.2\n{plan_extra}\n\n[learner]\n{learner}\n\n[eval]\nfpr = [0.01, 0.1]\n{eval_extra}\n"
    );
    support::location_config(dir, 3, &sections)
}

const SMALL_MLP: &str = "kind = \"mlp\"\nhidden_layer_sizes = [32]\nmax_iter = 40\ntol = 0.0";

#[test]
fn audit_is_byte_identical_with_one_or_two_threads_and_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), "reference_models = 4", SMALL_MLP, "bootstrap = 200");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let o1 = mia(&["audit", s(&cfg), "-q", "--threads", "1", "-o", s(&a)]);
    assert!(o1.status.success(), "{}", String::from_utf8_lossy(&o1.stderr));
    let o2 = mia(&["audit", s(&cfg), "-q", "--threads", "2", "-o", s(&b)]);
    assert!(o2.status.success(), "{}", String::from_utf8_lossy(&o2.stderr));
    for f in ["report.json", "records.csv", "report.html", "plan.npz"] {
        assert!(std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(), "{f} differs");
    }
    let doc = report(&a);
    validate(&doc);
    assert_eq!(doc["command"], "audit");
    let m = &doc["models"];
    assert_eq!(m["reference_models"], 4);
    assert_eq!(m["references"].as_array().unwrap().len(), 4);
    assert_eq!(m["audit_records"].as_u64().unwrap() + m["population_records"].as_u64().unwrap(), 900);
    // The MLP fits its training rows better than rows it never saw.
    let acc = |m: &Value, k: &str| m[k]["value"].as_f64().unwrap();
    assert!(acc(&m["target"], "train_accuracy") > acc(&m["target"], "held_out_accuracy"));
    // Every accuracy has its interval, around the value.
    for f in m["references"].as_array().unwrap().iter().chain([&m["target"]]) {
        for k in ["train_accuracy", "held_out_accuracy"] {
            let ci = f[k]["ci"].as_array().unwrap();
            assert!(ci[0].as_f64().unwrap() <= acc(f, k) && acc(f, k) <= ci[1].as_f64().unwrap(), "{f}");
        }
    }
    let names: Vec<&str> = doc["attacks"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    for want in ["lira_online", "lira_offline", "rmia_online", "rmia_offline", "attack_p", "attack_r", "loss"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    // Another seed draws another plan and gives another report.
    let c = tmp.path().join("c");
    let text = std::fs::read_to_string(&cfg).unwrap().replace("seed = 3", "seed = 4");
    let cfg4 = tmp.path().join("audit4.toml");
    std::fs::write(&cfg4, text).unwrap();
    assert!(mia(&["audit", s(&cfg4), "-q", "-o", s(&c)]).status.success());
    assert_ne!(std::fs::read(a.join("report.json")).unwrap(), std::fs::read(c.join("report.json")).unwrap());
}

fn npy_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "npy") && !p.file_name().unwrap().to_str().unwrap().starts_with('.')
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_killed_run_resumes_without_retraining_and_gives_the_same_report() {
    let tmp = tempfile::tempdir().unwrap();
    let learner = "kind = \"mlp\"\nhidden_layer_sizes = [64]\nmax_iter = 150\ntol = 0.0";
    let cfg = config(tmp.path(), "reference_models = 8", learner, "bootstrap = 100");
    let out = tmp.path().join("killed");
    let models = out.join("models");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mia"))
        .args(["audit", s(&cfg), "-q", "--threads", "2", "-o", s(&out)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while npy_files(&models).is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before any model was stored");
        assert!(start.elapsed() < Duration::from_secs(300), "no model finished in 5 minutes");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    assert!(!out.join("report.json").exists(), "the run finished before it was killed");
    let finished = npy_files(&models);
    assert!(!finished.is_empty() && finished.len() < 9, "{} of 9 models stored", finished.len());
    let stamps: Vec<_> = finished.iter().map(|p| std::fs::metadata(p).unwrap().modified().unwrap()).collect();

    let resumed = mia(&["audit", s(&cfg), "--threads", "2", "-o", s(&out)]);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let err = String::from_utf8_lossy(&resumed.stderr);
    let line = err.lines().find(|l| l.starts_with("models: ")).expect("models summary line");
    let n = |word: &str| -> usize {
        let i = line.find(word).unwrap();
        line[..i].trim_end().rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(n(" reused"), finished.len(), "{line}");
    assert_eq!(n(" trained"), 9 - finished.len(), "{line}");
    for (p, t) in finished.iter().zip(stamps) {
        assert_eq!(std::fs::metadata(p).unwrap().modified().unwrap(), t, "{} was rewritten", p.display());
    }
    // The same report as a run that was never interrupted.
    let clean = tmp.path().join("clean");
    assert!(mia(&["audit", s(&cfg), "-q", "-o", s(&clean)]).status.success());
    assert!(
        std::fs::read(out.join("report.json")).unwrap() == std::fs::read(clean.join("report.json")).unwrap(),
        "resumed report differs from a clean run's"
    );
    // A second rerun trains nothing.
    let again = mia(&["audit", s(&cfg), "--threads", "2", "-o", s(&out)]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("models: 0 trained, 9 reused"));
}

#[test]
fn null_check_attacks_are_at_chance() {
    // The target is trained on one random half, the membership scored is another, independent
    // half: no attack can do better than chance. With ~15 attacks, each interval is a 99.8 %
    // one (Bonferroni over 20), so a correct pipeline fails this test with probability < 5 %.
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        "reference_models = 8\ntarget = \"null_check\"",
        SMALL_MLP,
        "bootstrap = 2000\nconfidence = 0.998",
    );
    let out = tmp.path().join("null");
    let o = mia(&["audit", s(&cfg), "-q", "-o", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc = report(&out);
    assert_eq!(doc["models"]["target_training"], "null_check");
    // The target does overfit: real leakage exists, it is just not what is scored.
    let t = &doc["models"]["target"];
    assert!(t["train_accuracy"]["value"].as_f64().unwrap() > t["held_out_accuracy"]["value"].as_f64().unwrap() + 0.1);
    let attacks = doc["attacks"].as_array().unwrap();
    assert!(attacks.len() >= 12);
    for a in attacks {
        let ci = a["auc"]["ci"].as_array().unwrap();
        let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
        assert!(lo <= 0.5 && 0.5 <= hi, "{}: AUC interval [{lo}, {hi}] excludes 0.5", a["name"]);
    }
}

#[test]
fn config_errors_are_one_line_with_exit_code_2() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "unknown key",
            "reference_models = 4\nrefrence_models = 4".into(),
            &["line", "unknown field", "refrence_models"],
        ),
        ("odd K", "reference_models = 3".into(), &["reference_models must be even", "3"]),
        ("fraction", "reference_models = 2\ntarget_fraction = 1.5".into(), &["target_fraction", "1.5"]),
        ("bad mode", "target = \"given\"".into(), &["line", "unknown variant", "given"]),
        ("no member column", "target = \"member_column\"".into(), &["member column"]),
    ];
    for (what, plan, needles) in cases {
        let cfg = config(tmp.path(), &plan, SMALL_MLP, "");
        let o = mia(&["audit", s(&cfg), "-q", "-o", s(&tmp.path().join("out"))]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{what}: not one line: {err}");
        for n in needles {
            assert!(err.contains(n), "{what}: {n:?} not in {err}");
        }
    }
    // An evaluation setting out of range names the config key.
    let cfg = config(tmp.path(), "", SMALL_MLP, "confidence = 1.5");
    let o = mia(&["audit", s(&cfg), "-q"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("audit.toml: eval.confidence must be between 0 and 1, got 1.5"), "{err}");
    // A learner parameter that makes no sense, and a data file that does not exist.
    let cfg = config(tmp.path(), "", "kind = \"mlp\"\nmax_iter = 0", "");
    let o = mia(&["audit", s(&cfg), "-q"]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let cfg = config(tmp.path(), "", SMALL_MLP, "");
    let text = std::fs::read_to_string(&cfg).unwrap().replace("bangkok.csv.gz", "nowhere.csv.gz");
    std::fs::write(&cfg, text).unwrap();
    let o = mia(&["audit", s(&cfg), "-q"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("nowhere.csv.gz") && err.trim_end().lines().count() == 1, "{err}");
    // A missing config file.
    let o = mia(&["audit", "no/such/audit.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no/such/audit.toml"));
}

/// Runs `mia audit` on `text` and asserts exit code 2, one line, and every needle.
fn config_fails(dir: &Path, what: &str, text: &str, needles: &[&str]) {
    let cfg = dir.join("audit.toml");
    std::fs::write(&cfg, text).unwrap();
    let o = mia(&["audit", s(&cfg), "-q", "-o", s(&dir.join("out"))]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{what}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: not one line: {err}");
    for n in needles {
        assert!(err.contains(n), "{what}: {n:?} not in {err}");
    }
}

#[test]
fn counts_and_settings_outside_what_the_data_allow_are_rejected_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(config(tmp.path(), "reference_models = 4", SMALL_MLP, "")).unwrap();
    let with_eval = |extra: &str| base.replace("[eval]\n", &format!("[eval]\n{extra}\n"));
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "huge K",
            base.replace("reference_models = 4", "reference_models = 1000000000000"),
            &["audit.toml: plan.reference_models = 1000000000000", "0 to 1024"],
        ),
        (
            "max_rows below the plan's minimum",
            base.replace("max_rows = 900", "max_rows = 3"),
            &["audit.toml: plan.max_rows = 3: expected at least", "4 reference models"],
        ),
        ("bootstrap", with_eval("bootstrap = 1000000000000"), &["eval.bootstrap = 1000000000000", "100000"]),
        (
            "folds above the records",
            base.clone() + "[attacks]\nfolds = 100000\n",
            &["attacks.folds = 100000", "expected 2 to"],
        ),
        ("unknown slice", base.clone() + "[report]\nslices = [\"nosuch\"]\n", &["report.slices", "\"nosuch\"", "loss"]),
        (
            "RMIA settings without RMIA",
            base.clone() + "[attacks]\nrun = [\"loss\"]\n[attacks.rmia]\ngamma = 3.0\n",
            &["[attacks.rmia]", "attacks.run leaves rmia_online and rmia_offline out"],
        ),
        (
            "RMIA gamma out of range",
            base.clone() + "[attacks.rmia]\ngamma = 0.0\n",
            &["audit.toml: attacks.rmia.gamma = 0: expected a positive finite number"],
        ),
        (
            "trainer timeout 0",
            base.replace(
                &format!("[learner]\n{SMALL_MLP}"),
                "[trainer]\ncommand = [\"python3\", \"t.py\", \"{train}\", \"{model}\"]\ntimeout_s = 0",
            ),
            &["audit.toml: trainer.timeout_s = 0: expected a positive number of seconds"],
        ),
    ];
    for (what, text, needles) in cases {
        config_fails(tmp.path(), what, &text, needles);
    }
}

#[test]
fn member_column_target_trains_on_the_flagged_rows() {
    // The first 600 Location-30 rows with a member column: rows whose index is a multiple
    // of 3 are flagged as the target's training set.
    let tmp = tempfile::tempdir().unwrap();
    let rows = support::location_head(600);
    let member: Vec<bool> = (0..rows.len()).map(|i| i % 3 == 0).collect();
    let cfg = support::member_column_config(tmp.path(), "flagged", &rows, &member, 4);
    let out = tmp.path().join("out");
    let o = mia(&["audit", s(&cfg), "-q", "-o", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc = report(&out);
    let m = &doc["models"];
    assert_eq!(m["target_training"], "member_column");
    // All 200 flagged rows train the target and are scored as members; the 120 population
    // rows come from the 400 unflagged ones only.
    assert_eq!(m["target"]["train_rows"], 200);
    assert_eq!(doc["rows"]["members"], 200);
    assert_eq!(m["population_records"], 120);
    assert_eq!(doc["rows"]["non_members"], 280);
    // The member column is a role, not a feature: 446 features.
    assert_eq!(m["features"], 446);
}

/// `mia` with extra environment variables (and the scheduler index variables cleared first).
fn mia_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mia"));
    c.args(args).current_dir(root()).env_remove("JOB_COMPLETION_INDEX").env_remove("SLURM_ARRAY_TASK_ID");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn shards_trained_apart_merge_into_the_report_of_one_audit() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), "reference_models = 4", SMALL_MLP, "bootstrap = 100");
    let art = tmp.path().join("shared-models");
    let ok = |o: &std::process::Output| assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // The plan: target + 4 references, none stored yet, distinct keys.
    let plan_dir = tmp.path().join("plan");
    ok(&mia(&["plan", s(&cfg), "-q", "--artifacts", s(&art), "-o", s(&plan_dir)]));
    let plan: Value = serde_json::from_slice(&std::fs::read(plan_dir.join("plan.json")).unwrap()).unwrap();
    let models = plan["models"].as_array().unwrap();
    assert_eq!(models.len(), 5);
    assert_eq!(models[0]["role"], "target");
    assert!(models.iter().all(|m| m["stored"] == false && m["trained"] == false));
    let mut keys: Vec<&str> = models.iter().map(|m| m["key"].as_str().unwrap()).collect();
    keys.dedup();
    assert_eq!(keys.len(), 5);

    // Merging before the shards ran names what is missing, on one line, exit code 2.
    let early = mia(&["merge", s(&cfg), "-q", "--artifacts", s(&art), "-o", s(&tmp.path().join("early"))]);
    assert_eq!(early.status.code(), Some(2));
    let err = String::from_utf8_lossy(&early.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("5 of 5 models are not in") && err.contains("model 0, 1, 2, 3, 4"), "{err}");

    // Shard 0 of 2 by its index, shard 1 through the Kubernetes index variable.
    let s0 = mia_env(&["run", s(&cfg), "--shard", "0/2", "--artifacts", s(&art)], &[]);
    ok(&s0);
    assert!(String::from_utf8_lossy(&s0.stdout).contains("shard 0/2: models 0, 2, 4 — 3 trained"));
    assert_eq!(npy_files(&art).len(), 3);
    let partial = mia(&["merge", s(&cfg), "-q", "--artifacts", s(&art), "-o", s(&tmp.path().join("partial"))]);
    assert_eq!(partial.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&partial.stderr).contains("2 of 5 models are not in"));
    let s1 = mia_env(&["run", s(&cfg), "--shard", "env/2", "--artifacts", s(&art)], &[("JOB_COMPLETION_INDEX", "1")]);
    ok(&s1);
    assert!(String::from_utf8_lossy(&s1.stdout).contains("shard 1/2: models 1, 3 — 2 trained"));
    assert_eq!(npy_files(&art).len(), 5);
    // A rerun of a finished shard (a scheduler's retry) trains nothing.
    let retry = mia_env(&["run", s(&cfg), "--shard", "env/2", "--artifacts", s(&art)], &[("SLURM_ARRAY_TASK_ID", "0")]);
    ok(&retry);
    assert!(String::from_utf8_lossy(&retry.stdout).contains("shard 0/2: models 0, 2, 4 — 0 trained, 3 already stored"));

    // The merged report is the one a single `mia audit` writes.
    let merged = tmp.path().join("merged");
    ok(&mia(&["merge", s(&cfg), "-q", "--artifacts", s(&art), "-o", s(&merged)]));
    let whole = tmp.path().join("whole");
    ok(&mia(&["audit", s(&cfg), "-q", "-o", s(&whole)]));
    for f in ["report.json", "records.csv", "report.html", "plan.npz"] {
        assert!(std::fs::read(merged.join(f)).unwrap() == std::fs::read(whole.join(f)).unwrap(), "{f} differs");
    }
    ok(&mia(&["plan", s(&cfg), "-q", "--artifacts", s(&art), "-o", s(&plan_dir)]));
    let plan: Value = serde_json::from_slice(&std::fs::read(plan_dir.join("plan.json")).unwrap()).unwrap();
    assert!(plan["models"].as_array().unwrap().iter().all(|m| m["stored"] == true));

    // Bad shard specifications: one line, exit code 2.
    for (spec, env, want) in [
        ("2/2", vec![], "the index must be 0 to 1"),
        ("0/0", vec![], "--shard 0/0: the shard count N must be at least 1"),
        ("x/2", vec![], "expected I/N"),
        ("env/2", vec![], "neither JOB_COMPLETION_INDEX nor SLURM_ARRAY_TASK_ID is set"),
        ("env/2", vec![("JOB_COMPLETION_INDEX", "two")], "JOB_COMPLETION_INDEX=two is not a shard index"),
    ] {
        let o = mia_env(&["run", s(&cfg), "--shard", spec, "--artifacts", s(&art)], &env);
        assert_eq!(o.status.code(), Some(2), "{spec}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(want), "{spec}: {err}");
    }
}
