//! Running a user's own program: a training command that fits a reference model, or a
//! generator command that writes a synthetic table.
//!
//! The command is an argument vector, run directly (never through a shell, so file names
//! with spaces or quotes cannot inject anything), with `{name}` placeholders replaced by
//! paths the audit chose. Its standard output and error go to log files beside its inputs
//! (not to pipes, which a chatty program could fill and block on); it is killed when it
//! runs past its timeout. A failure names the exit code and the last lines of standard
//! error, so the user sees their own program's message.
//!
//! It lives in `mia-data` because both the model side (`mia-models`' trainer) and the
//! synthetic-data side (`mia-synth`'s generator) use it and neither may depend on the other.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Lines of standard error quoted in a failure.
pub const STDERR_TAIL_LINES: usize = 12;

/// Why a user's command did not produce its output.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CommandError {
    /// The argument vector is empty or names a placeholder that is not offered.
    #[error("command {argv:?}: {message}")]
    BadCommand { argv: Vec<String>, message: String },
    /// The program could not be started (not found, not executable).
    #[error("cannot start `{program}`: {message}")]
    Spawn { program: String, message: String },
    /// The program exited with a non-zero status (or was killed by a signal).
    #[error("`{program}` exited with {status}; last lines of its standard error ({log}):\n{stderr_tail}")]
    Failed { program: String, status: String, log: String, stderr_tail: String },
    /// The program ran past its timeout and was killed.
    #[error(
        "`{program}` ran past its timeout of {seconds} s and was killed; last lines of its standard error ({log}):\n{stderr_tail}"
    )]
    Timeout { program: String, seconds: f64, log: String, stderr_tail: String },
    /// The program succeeded but did not write the file it was asked for.
    #[error("`{program}` exited with 0 but did not write {path}")]
    NoOutput { program: String, path: String },
    /// A log file could not be written.
    #[error("{path}: cannot write: {message}")]
    Io { path: String, message: String },
}

/// Checks an argument vector before anything runs: not empty, every `{name}` placeholder
/// among `offered`, and each of `required` used at least once.
pub fn check_command(argv: &[String], offered: &[&str], required: &[&str]) -> Result<(), CommandError> {
    let bad = |message: String| CommandError::BadCommand { argv: argv.to_vec(), message };
    if argv.is_empty() || argv[0].is_empty() {
        return Err(bad("expected a program and its arguments, found an empty list".into()));
    }
    let mut used = Vec::new();
    for arg in argv {
        let mut rest = arg.as_str();
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else { break };
            let name = &rest[open + 1..open + close];
            if !offered.contains(&name) {
                let list: Vec<String> = offered.iter().map(|o| format!("{{{o}}}")).collect();
                return Err(bad(format!("unknown placeholder {{{name}}}; offered: {}", list.join(", "))));
            }
            used.push(name.to_string());
            rest = &rest[open + close + 1..];
        }
    }
    for r in required {
        if !used.iter().any(|u| u == r) {
            return Err(bad(format!("expected the placeholder {{{r}}} in some argument")));
        }
    }
    Ok(())
}

/// Replaces every `{name}` in `argv` by its value in `values`.
pub fn substitute(argv: &[String], values: &[(&str, &Path)]) -> Vec<String> {
    argv.iter()
        .map(|a| {
            let mut s = a.clone();
            for (name, value) in values {
                s = s.replace(&format!("{{{name}}}"), &value.display().to_string());
            }
            s
        })
        .collect()
}

/// Where a run's logs go and how long it may take.
#[derive(Debug, Clone)]
pub struct RunSpec<'a> {
    /// The argument vector after substitution.
    pub argv: &'a [String],
    /// Working directory of the program (`None`: the caller's).
    pub cwd: Option<&'a Path>,
    /// `{log_stem}.stdout.log` and `{log_stem}.stderr.log` receive its output.
    pub log_stem: &'a Path,
    pub timeout: Duration,
    /// Files the program must have written on success.
    pub outputs: &'a [PathBuf],
}

/// Runs a program to completion (or its timeout) with no standard input.
pub fn run_command(spec: &RunSpec<'_>) -> Result<(), CommandError> {
    let program = spec.argv.first().cloned().unwrap_or_default();
    let log = |ext: &str| PathBuf::from(format!("{}.{ext}.log", spec.log_stem.display()));
    let (out_path, err_path) = (log("stdout"), log("stderr"));
    let open = |p: &Path| {
        std::fs::File::create(p).map_err(|e| CommandError::Io { path: p.display().to_string(), message: e.to_string() })
    };
    let (stdout, stderr) = (open(&out_path)?, open(&err_path)?);
    let mut cmd = Command::new(&program);
    cmd.args(&spec.argv[1..]).stdin(Stdio::null()).stdout(stdout).stderr(stderr);
    if let Some(dir) = spec.cwd {
        cmd.current_dir(dir);
    }
    let mut child =
        cmd.spawn().map_err(|e| CommandError::Spawn { program: program.clone(), message: e.to_string() })?;
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() >= spec.timeout => {
                // Kill, then reap so no zombie is left behind.
                let _ = child.kill();
                let _ = child.wait();
                return Err(CommandError::Timeout {
                    program,
                    seconds: spec.timeout.as_secs_f64(),
                    log: err_path.display().to_string(),
                    stderr_tail: tail(&err_path),
                });
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(e) => return Err(CommandError::Spawn { program, message: e.to_string() }),
        }
    };
    if !status.success() {
        let status = match status.code() {
            Some(c) => format!("exit code {c}"),
            None => format!("{status}"),
        };
        return Err(CommandError::Failed {
            program,
            status,
            log: err_path.display().to_string(),
            stderr_tail: tail(&err_path),
        });
    }
    if let Some(p) = spec.outputs.iter().find(|p| !p.is_file()) {
        return Err(CommandError::NoOutput { program, path: p.display().to_string() });
    }
    Ok(())
}

/// The last [`STDERR_TAIL_LINES`] lines of a log, indented.
fn tail(path: &Path) -> String {
    let text = std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(STDERR_TAIL_LINES);
    if lines.is_empty() {
        return "  (empty)".into();
    }
    lines[from..].iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn placeholders_are_checked() {
        let offered = ["train", "model"];
        assert!(check_command(&argv(&["python", "t.py", "{train}", "--out={model}"]), &offered, &["model"]).is_ok());
        let e = check_command(&argv(&["python", "{trian}"]), &offered, &[]).unwrap_err().to_string();
        assert!(e.contains("unknown placeholder {trian}") && e.contains("{train}, {model}"), "{e}");
        let e = check_command(&argv(&["python", "{train}"]), &offered, &["model"]).unwrap_err().to_string();
        assert!(e.contains("expected the placeholder {model}"), "{e}");
        assert!(check_command(&[], &offered, &[]).is_err());
    }

    #[test]
    fn substitution_replaces_every_occurrence() {
        let p = PathBuf::from("/tmp/a b/x.csv");
        let out = substitute(&argv(&["prog", "--in={train}", "{train}"]), &[("train", &p)]);
        assert_eq!(out, argv(&["prog", "--in=/tmp/a b/x.csv", "/tmp/a b/x.csv"]));
    }

    #[cfg(unix)]
    #[test]
    fn failures_name_status_and_stderr_and_timeouts_kill() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("job");
        let out = dir.path().join("out.txt");
        let ok = argv(&["sh", "-c", &format!("echo hi > '{}'", out.display())]);
        let spec = RunSpec {
            argv: &ok,
            cwd: None,
            log_stem: &stem,
            timeout: Duration::from_secs(20),
            outputs: std::slice::from_ref(&out),
        };
        run_command(&spec).unwrap();

        let fail = argv(&["sh", "-c", "for i in $(seq 1 30); do echo line$i >&2; done; exit 3"]);
        let e = run_command(&RunSpec { argv: &fail, outputs: &[], ..spec.clone() }).unwrap_err().to_string();
        assert!(e.contains("exit code 3") && e.contains("line30") && e.contains("line19"), "{e}");
        assert!(!e.contains("line18"), "only the last {STDERR_TAIL_LINES} lines: {e}");

        let slow = argv(&["sleep", "30"]);
        let t = Instant::now();
        let e =
            run_command(&RunSpec { argv: &slow, timeout: Duration::from_millis(300), outputs: &[], ..spec.clone() })
                .unwrap_err();
        assert!(matches!(e, CommandError::Timeout { .. }), "{e}");
        assert!(t.elapsed() < Duration::from_secs(10));

        let missing = dir.path().join("never.txt");
        let quiet = argv(&["true"]);
        let e = run_command(&RunSpec { argv: &quiet, outputs: std::slice::from_ref(&missing), ..spec.clone() })
            .unwrap_err();
        assert!(matches!(e, CommandError::NoOutput { .. }), "{e}");

        let e = run_command(&RunSpec { argv: &argv(&["/no/such/program"]), outputs: &[], ..spec }).unwrap_err();
        assert!(matches!(e, CommandError::Spawn { .. }), "{e}");
    }
}
