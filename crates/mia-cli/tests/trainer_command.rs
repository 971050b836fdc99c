//! `mia audit` with the user's own training program: examples/trainer/train_sklearn.py
//! (scikit-learn MLPClassifier, exported with skl2onnx) trains the target and every
//! reference model on the rows the plan gives it; the audit loads the ONNX files. Needs
//! python3 with scikit-learn and skl2onnx (`.ci/run` installs them).

mod support;
use support::{mia, root, s};

use serde_json::Value;
use std::path::{Path, PathBuf};

/// examples/adult_trainer.toml, made smaller, with absolute paths, written to `dir`.
fn config(dir: &Path, command: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("examples/adult_trainer.toml")).unwrap();
    let examples = root().join("examples");
    let text = text
        .replace("\"../data/", &format!("\"{}/../data/", examples.display()))
        .replace("max_rows = 3000", "max_rows = 1200")
        .replace("reference_models = 8", "reference_models = 4")
        .lines()
        .map(|l| if l.starts_with("command = ") { command.to_string() } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n[eval]\nbootstrap = 200\n";
    let path = dir.join("audit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn reference_models_from_a_python_training_command() {
    let tmp = tempfile::tempdir().unwrap();
    let script = root().join("examples/trainer/train_sklearn.py");
    let cmd = format!(
        "command = [\"python3\", \"{}\", \"--train\", \"{{train}}\", \"--out\", \"{{model}}\", \"--seed\", \"{{seed}}\"]",
        script.display()
    );
    let cfg = config(tmp.path(), &cmd);
    let out = tmp.path().join("r");
    let o = mia(&["audit", s(&cfg), "-o", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let m = &doc["models"];
    assert_eq!(m["learner"]["kind"], "command");
    assert_eq!(m["reference_models"], 4);
    // Every model is a real fit: better than the majority class (76 % of Adult) on the rows
    // it trained on.
    for f in m["references"].as_array().unwrap().iter().chain([&m["target"]]) {
        let acc = f["train_accuracy"]["value"].as_f64().unwrap();
        assert!(acc > 0.78, "train accuracy {acc}");
    }
    let names: Vec<&str> = doc["attacks"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"lira_online") && names.contains(&"rmia_offline"), "{names:?}");
    // The store holds the five models' outputs and nothing else: the rows the program read
    // were in a temporary folder, gone with it (crates/mia-cli/tests/external_programs.rs).
    let stored: Vec<PathBuf> = std::fs::read_dir(out.join("models")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(stored.len(), 5, "{stored:?}");
    assert!(stored.iter().all(|p| p.extension().is_some_and(|e| e == "npy")), "{stored:?}");

    // A rerun finds every model in the artifact store and runs the program no more.
    let o2 = mia(&["audit", s(&cfg), "-o", s(&out)]);
    assert!(o2.status.success());
    let err = String::from_utf8_lossy(&o2.stderr);
    assert!(err.contains("0 trained, 5 reused"), "{err}");
}

#[test]
fn a_failing_training_command_names_the_model_status_and_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let cmd = "command = [\"python3\", \"-c\", \"import sys; print('CUDA not available', file=sys.stderr); sys.exit(3)\", \"{train}\", \"{model}\"]";
    let cfg = config(tmp.path(), cmd);
    let o = mia(&["audit", s(&cfg), "-q", "--threads", "1", "-o", s(&tmp.path().join("r"))]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("model ") && err.contains("exit code 3") && err.contains("CUDA not available"), "{err}");
}

#[test]
fn a_bad_row_of_predictions_names_the_predictions_file_row_and_columns() {
    let tmp = tempfile::tempdir().unwrap();
    // One prediction row per query row; row 3's probabilities sum to 1.4.
    let program = "import sys; n = sum(1 for _ in open(sys.argv[1])) - 1; f = open(sys.argv[2], 'w'); \
                   f.write('prob_0,prob_1\\\\n'); [f.write('0.7,0.7\\\\n' if i == 2 else '0.5,0.5\\\\n') for i in range(n)]";
    let cmd =
        format!("command = [\"python3\", \"-c\", \"{program}\", \"{{query}}\", \"{{predictions}}\", \"{{train}}\"]");
    let cfg = config(tmp.path(), &cmd);
    let o = mia(&["audit", s(&cfg), "-q", "--threads", "1", "-o", s(&tmp.path().join("r"))]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("predictions.csv: row 3, columns prob_0..prob_1: expected probabilities summing to 1")
            && err.contains("found sum 1.4"),
        "{err}"
    );
}
