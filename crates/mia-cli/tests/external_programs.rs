//! What a user's training or generator command leaves behind: the report folder holds the
//! report files and the artifact store only (no copy of the training rows), the program's
//! work files live in a private temporary folder that is gone when it ends (kept only with
//! `--keep-work`), and SIGTERM / SIGINT stop `mia` with exit code 143 / 130 after killing
//! the programs' process groups, leaving a store that a rerun resumes from.
//!
//! The "trainer" is a shell script that predicts itself (`{query}` → `{predictions}`), so
//! these tests need no Python. Each `mia` runs with `TMPDIR` pointing into the test's own
//! folder, so the tests can see every temporary folder it makes.
#![cfg(target_os = "linux")]

mod support;
use support::{ADULT_COLUMNS, generated_config, root, s};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The files `mia audit` / `mia synth` may leave in a report folder (README, "Report files").
const REPORT_FILES: &[&str] =
    &["report.json", "records.csv", "records.parquet", "report.html", "plan.npz", "encoding.json"];

/// A training "program": logits from the first encoded feature of each `{query}` row.
/// When the file `hang` exists beside it, every run after the first two starts a child,
/// records both pids (`child<i>`, then `leader<i>`) and waits forever.
const TRAINER: &str = r#"#!/bin/sh
here=$(dirname "$0")
if [ -e "$here/hang" ]; then
  i=0
  while ! mkdir "$here/claim$i" 2>/dev/null; do i=$((i+1)); done
  if [ "$i" -ge 2 ]; then
    sleep 1000 &
    echo $! > "$here/child$i"
    echo $$ > "$here/leader$i"
    wait
  fi
fi
awk -F, 'NR == 1 { print "logit_0,logit_1"; next } { print "0," $1 }' "$2" > "$3"
"#;

/// An audit of 400 Adult rows whose target and 4 reference models come from [`TRAINER`].
fn trainer_config(dir: &Path) -> PathBuf {
    let script = dir.join("train.sh");
    std::fs::write(&script, TRAINER).unwrap();
    let text = format!(
        r#"seed = 5

[data]
path = "{}"
format = "csv"
header = false
{ADULT_COLUMNS}

[plan]
max_rows = 400
reference_models = 4

[trainer]
command = ["sh", "{}", "{{train}}", "{{query}}", "{{predictions}}"]
timeout_s = 600

[eval]
bootstrap = 50
fpr = [0.01, 0.1]
"#,
        root().join("data/adult/adult.data.gz").display(),
        script.display()
    );
    let path = dir.join("audit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `mia` with `args`, its temporary folder set to `tmpdir`.
fn mia_cmd(args: &[&str], tmpdir: &Path) -> Command {
    std::fs::create_dir_all(tmpdir).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_mia"));
    c.args(args).current_dir(root()).env("TMPDIR", tmpdir);
    c
}

fn run(args: &[&str], tmpdir: &Path) -> Output {
    mia_cmd(args, tmpdir).output().unwrap()
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(r) => r.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// Asserts that `out` holds report files only, plus (`models`) an artifact store of `.npy`
/// outputs, and that no file anywhere under it holds a row of the data.
fn assert_report_folder_only(out: &Path, models: bool, data_row: &str) {
    for p in entries(out) {
        if p.is_dir() {
            assert!(models && name(&p) == "models", "unexpected folder {} in the report folder", p.display());
            for f in entries(&p) {
                let n = name(&f);
                assert!(f.is_file() && n.len() == 68 && n.ends_with(".npy"), "unexpected {} in the store", f.display());
            }
        } else {
            assert!(REPORT_FILES.contains(&name(&p).as_str()), "unexpected file {} in the report folder", p.display());
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            assert!(!text.contains(data_row), "{} holds a training row", p.display());
        }
    }
}

/// A row of `[a, b, ...]` encoded features as the trainer's CSV writes it (its first line
/// after the header), read back from a kept work folder.
fn first_rows_line(csv: &Path) -> String {
    std::fs::read_to_string(csv).unwrap().lines().nth(1).unwrap().to_string()
}

/// The folder named in "work files kept in DIR".
fn kept_dir(stderr: &str) -> PathBuf {
    let line = stderr.lines().find(|l| l.contains("work files kept in ")).unwrap_or_else(|| panic!("{stderr}"));
    let rest = &line[line.find("work files kept in ").unwrap() + "work files kept in ".len()..];
    PathBuf::from(rest.split(" (").next().unwrap().trim())
}

#[test]
fn an_audit_with_a_training_command_leaves_no_data_behind() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let cfg = trainer_config(tmp.path());
    let tmpdir = tmp.path().join("tmpdir");
    let out = tmp.path().join("r");
    let o = run(&["audit", s(&cfg), "-o", s(&out)], &tmpdir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(entries(&tmpdir), Vec::<PathBuf>::new(), "temporary folders left behind");

    // With --keep-work the work folder stays, private, named on stderr, with the rows the
    // program read; the report folder is the same.
    let kept_out = tmp.path().join("kept");
    let o = run(&["audit", s(&cfg), "--keep-work", "-o", s(&kept_out)], &tmpdir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = kept_dir(&String::from_utf8_lossy(&o.stderr));
    assert!(dir.starts_with(&tmpdir), "{}", dir.display());
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    let jobs = entries(&dir);
    assert_eq!(jobs.len(), 5, "{jobs:?}");
    let train = jobs[0].join("train.csv");
    assert!(train.is_file() && jobs[0].join("query.csv").is_file() && jobs[0].join("stderr.log").is_file());
    let row = first_rows_line(&train);
    assert!(row.contains(','), "{row}");

    // No report folder holds that row, or any work file.
    assert_report_folder_only(&out, true, &row);
    assert_report_folder_only(&kept_out, true, &row);
    assert!(std::fs::read(out.join("report.json")).unwrap() == std::fs::read(kept_out.join("report.json")).unwrap());
}

#[test]
fn a_synth_audit_with_a_generator_command_leaves_no_data_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let generator = "kind = \"command\"\ncommand = [\"cp\", \"{train}\", \"{out}\"]";
    let cfg = generated_config(tmp.path(), generator, 600, "", "[attacks]\nrun = [\"dcr\", \"domias\"]");
    let tmpdir = tmp.path().join("tmpdir");
    let out = tmp.path().join("r");
    let o = run(&["synth", s(&cfg), "-o", s(&out)], &tmpdir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(entries(&tmpdir), Vec::<PathBuf>::new(), "temporary folders left behind");

    let kept_out = tmp.path().join("kept");
    let o = run(&["synth", s(&cfg), "--keep-work", "-o", s(&kept_out)], &tmpdir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = kept_dir(&String::from_utf8_lossy(&o.stderr));
    let jobs = entries(&dir);
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let row = first_rows_line(&jobs[0].join("train.csv"));
    assert_report_folder_only(&out, false, &row);
    assert_report_folder_only(&kept_out, false, &row);

    // `--artifacts` has no meaning for a synthetic audit (it stores no models): an error,
    // not a silently ignored flag.
    let o = run(&["synth", s(&cfg), "--artifacts", s(&tmp.path().join("a")), "-o", s(&out)], &tmpdir);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--artifacts"));
}

/// Whether process `pid` is alive (exists and is not a zombie).
fn alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        // The state follows the parenthesised command name.
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

fn files_starting(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    entries(dir).into_iter().filter(|p| name(p).starts_with(prefix)).collect()
}

fn wait_for(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("mia did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts an audit whose later fits hang, sends `signal` once two fits hang, and checks the
/// exit code, the message, the processes, the temporary folder and the store; then a rerun
/// resumes and gives a clean run's report.
fn interrupted_audit(signal: &str, code: i32) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = trainer_config(tmp.path());
    let tmpdir = tmp.path().join("tmpdir");
    let out = tmp.path().join("r");
    let models = out.join("models");
    std::fs::write(tmp.path().join("hang"), "").unwrap();
    let mut child = mia_cmd(&["audit", s(&cfg), "--threads", "2", "-o", s(&out)], &tmpdir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    // Two threads, two hanging fits: both finished models are stored by then.
    while files_starting(tmp.path(), "leader").len() < 2 {
        assert!(child.try_wait().unwrap().is_none(), "mia ended early");
        assert!(start.elapsed() < Duration::from_secs(120), "the fits did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pids: Vec<String> = files_starting(tmp.path(), "leader")
        .into_iter()
        .chain(files_starting(tmp.path(), "child"))
        .map(|p| std::fs::read_to_string(p).unwrap().trim().to_string())
        .collect();
    assert!(pids.iter().all(|p| alive(p)), "the trainers should be running");
    let stored = entries(&models);
    assert_eq!(stored.len(), 2, "{stored:?}");

    assert!(Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap().success());
    let status = wait_for(&mut child, Duration::from_secs(30));
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(status.code(), Some(code), "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(last.contains(&format!("interrupted by SIG{signal}")) && last.contains(s(&models)), "{err}");
    assert!(!err.contains("timeout") && !err.contains("exited with"), "reported as a failure: {err}");
    // Every process of the trainers' groups is gone (they may take a moment to be reaped).
    let gone = Instant::now();
    while pids.iter().any(|p| alive(p)) {
        assert!(gone.elapsed() < Duration::from_secs(5), "trainer processes outlived mia: {pids:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(entries(&tmpdir), Vec::<PathBuf>::new(), "temporary folders left behind");
    assert!(!out.join("report.json").exists());
    assert_eq!(entries(&models), stored, "the store changed after the interruption");

    // The rerun trains the three missing models and writes a clean run's report.
    std::fs::remove_file(tmp.path().join("hang")).unwrap();
    let o = run(&["audit", s(&cfg), "--threads", "2", "-o", s(&out)], &tmpdir);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("models: 3 trained, 2 reused"), "{err}");
    let clean = tmp.path().join("clean");
    assert!(run(&["audit", s(&cfg), "-q", "-o", s(&clean)], &tmpdir).status.success());
    assert!(std::fs::read(out.join("report.json")).unwrap() == std::fs::read(clean.join("report.json")).unwrap());
    assert_eq!(entries(&tmpdir), Vec::<PathBuf>::new());
}

#[test]
fn sigterm_stops_the_trainers_and_exits_143_resumably() {
    interrupted_audit("TERM", 143);
}

#[test]
fn sigint_stops_the_trainers_and_exits_130_resumably() {
    interrupted_audit("INT", 130);
}
