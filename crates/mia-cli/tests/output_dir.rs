//! Output folders end to end. An unusable `-o` (a file, a link to nothing, a path under a
//! file, a folder where a report file goes) or `--artifacts` stops a command before any work
//! — before `mia audit` trains a model — with exit code 2 and one line naming the folder
//! and the reason (it was exit 3, "internal error", after training every model). A run
//! that fails leaves neither an earlier run's report in its folder, which a CI job would
//! upload as this run's, nor a temporary file.

mod support;
use support::{error_line, mia, root, s};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const REPORT_FILES: [&str; 4] = ["report.json", "records.csv", "records.parquet", "report.html"];

fn scores(dir: &Path) -> PathBuf {
    let mut t = String::from("id,member,label,logit_0,logit_1\n");
    for i in 0..12 {
        t.push_str(&format!("r{i},{},{},{},{}\n", i % 2, i % 3 % 2, i as f64 * 0.3, 1.0 - i as f64 * 0.1));
    }
    let path = dir.join("scores.csv");
    std::fs::write(&path, t).unwrap();
    path
}

/// Entries of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn unusable_output_folders_stop_with_exit_2_naming_folder_and_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let input = scores(dir);
    let file = dir.join("a-file");
    std::fs::write(&file, "keep me").unwrap();
    let dangling = dir.join("dangling");
    std::os::unix::fs::symlink(dir.join("nowhere"), &dangling).unwrap();
    let under = file.join("sub");
    let cases: [(&Path, String); 3] = [
        (&file, "it is a file, not a folder".into()),
        (&dangling, format!("it is a link to {}, which does not exist", dir.join("nowhere").display())),
        (&under, format!("cannot create it: {} is a file, not a folder", file.display())),
    ];
    for (out, reason) in &cases {
        let e = error_line(&mia(&["score", s(&input), "-q", "-o", s(out)]));
        assert_eq!(e, format!("error: output folder {}: {reason}", out.display()));
    }
    // Nothing was changed or created.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    assert!(!dir.join("nowhere").exists());
    assert_eq!(entries(dir), ["a-file", "dangling", "scores.csv"]);

    // The config commands check theirs the same way: -o for audit, synth, plan, merge;
    // --artifacts for a shard.
    let cfg = root().join("examples/location_mlp.toml");
    for args in [
        vec!["audit", s(&cfg), "-q", "-o", s(&file)],
        vec!["synth", s(&cfg), "-q", "-o", s(&file)],
        vec!["plan", s(&cfg), "-q", "-o", s(&file)],
        vec!["merge", s(&cfg), "-q", "-o", s(&dangling)],
        vec!["run", s(&cfg), "-q", "--shard", "0/2", "--artifacts", s(&under)],
    ] {
        let e = error_line(&mia(&args));
        assert!(e.starts_with("error: output folder "), "{args:?}: {e}");
    }
}

#[test]
fn audit_checks_its_folders_before_training_any_model() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let artifacts = dir.join("models");
    let cfg = root().join("examples/location_mlp.toml");
    let start = Instant::now();
    // Before: every model was trained into --artifacts, then writing the report failed (exit 3).
    let o = mia(&["audit", s(&cfg), "-q", "--artifacts", s(&artifacts), "-o", s(&file.join("report"))]);
    let e = error_line(&o);
    assert!(e.contains(&format!("output folder {}", file.join("report").display())), "{e}");
    assert!(!artifacts.exists(), "models were trained before the output folder was checked");
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
    // An unusable artifact folder is found as early.
    let o = mia(&["audit", s(&cfg), "-q", "--artifacts", s(&file), "-o", s(&dir.join("out"))]);
    let e = error_line(&o);
    assert!(e.contains(&format!("output folder {}: it is a file", file.display())), "{e}");
}

#[test]
fn a_failed_run_leaves_no_earlier_report_and_no_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let input = scores(dir);
    let out = dir.join("out");
    let o = mia(&["score", s(&input), "-q", "--bootstrap", "0", "-o", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(entries(&out), ["records.csv", "records.parquet", "report.html", "report.json"]);
    std::fs::write(out.join("notes.txt"), "mine").unwrap();

    // The same folder, an input that fails: the earlier report is gone, other files stay.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "id,member,label,logit_0,logit_1\na,1,0,1,x\n").unwrap();
    error_line(&mia(&["score", s(&bad), "-q", "-o", s(&out)]));
    assert_eq!(entries(&out), ["notes.txt"]);

    // A folder where report.html goes: before, report.json and records.csv were written, a
    // .tmp file stayed, and the exit code was 3. Now nothing is written and nothing stays.
    std::fs::create_dir(out.join("report.html")).unwrap();
    let e = error_line(&mia(&["score", s(&input), "-q", "--bootstrap", "0", "-o", s(&out)]));
    assert!(e.contains(&format!("{} is a folder", out.join("report.html").display())), "{e}");
    assert_eq!(entries(&out), ["notes.txt", "report.html"]);
    assert!(entries(&out.join("report.html")).is_empty());

    // Cleared, the folder takes a full report again; a rerun replaces it whole.
    std::fs::remove_dir(out.join("report.html")).unwrap();
    for _ in 0..2 {
        let o = mia(&["score", s(&input), "-q", "--bootstrap", "0", "-o", s(&out)]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut want: Vec<&str> = REPORT_FILES.to_vec();
        want.push("notes.txt");
        want.sort();
        assert_eq!(entries(&out), want);
    }
}
