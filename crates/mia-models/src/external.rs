//! Running a user's own program: a training command that fits a reference model, or a
//! generator command that writes a synthetic table.
//!
//! The command is an argument vector, run directly (never through a shell, so file names
//! with spaces or quotes cannot inject anything), with `{name}` placeholders replaced by
//! paths the audit chose. A failure names the exit code and the last lines of standard
//! error, so the user sees their own program's message.
//!
//! **Work files.** A program's inputs (training rows), outputs and logs (standard output
//! and error go to files, not to pipes a chatty program could fill and block on) live in a
//! [`JobDir`] inside a [`WorkDir`]: a private folder (mode 0700) in the system's temporary
//! folder (`$TMPDIR`), removed when the program ends, whatever the outcome, so no copy of
//! the data is left beside the report. `keep` keeps them for debugging.
//!
//! **Processes.** On Unix the program runs in its own process group. When it runs past its
//! timeout, or the run is interrupted ([`crate::interrupt`]), the whole group gets SIGTERM
//! and, after a short grace, SIGKILL; whatever the program left running when it exited is
//! killed too. The group is signalled before the program is reaped, so its id cannot have
//! been reused by then.
//!
//! It lives beside its users: the trainer command ([`crate::trainer`]) and the generator
//! command of synthetic-data audits (mia-audit).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::interrupt::{Cancel, Interruption};

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
    #[error("`{program}` exited with {status}; last lines of its standard error{}:\n{stderr_tail}", kept_at(.log))]
    Failed { program: String, status: String, log: Option<String>, stderr_tail: String },
    /// The program ran past its timeout and was killed.
    #[error(
        "`{program}` ran past its timeout of {seconds} s and was killed; last lines of its standard error{}:\n{stderr_tail}",
        kept_at(.log)
    )]
    Timeout { program: String, seconds: f64, log: Option<String>, stderr_tail: String },
    /// The run was interrupted (SIGINT / SIGTERM): the program was stopped, or not started.
    #[error("`{program}` was stopped: the run was interrupted by {signal}")]
    Interrupted { program: String, signal: Interruption },
    /// The program succeeded but did not write the file it was asked for.
    #[error("`{program}` exited with 0 but did not write {path}")]
    NoOutput { program: String, path: String },
    /// A work folder or log file could not be written.
    #[error("{path}: cannot write: {message}")]
    Io { path: String, message: String },
}

/// Where a failure message says the full log is: only a log that is kept (`--keep-work`);
/// otherwise it is deleted with the work folder and the message quotes its end instead.
fn kept_at(log: &Option<String>) -> String {
    log.as_ref().map_or(String::new(), |l| format!(" (kept in {l})"))
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> CommandError {
    CommandError::Io { path: path.display().to_string(), message: e.to_string() }
}

/// A private temporary folder for one audit's programs: `mia-work-*` in the system's
/// temporary folder, mode 0700 on Unix, removed with everything in it when dropped unless
/// created with `keep`.
#[derive(Debug)]
pub struct WorkDir {
    dir: tempfile::TempDir,
    keep: bool,
    cancel: Cancel,
}

impl WorkDir {
    /// Creates the folder (`keep`: leave it in place when dropped, for debugging).
    pub fn new(keep: bool) -> Result<WorkDir, CommandError> {
        // Absolute, because the programs run in another folder (the config's).
        let base = std::env::temp_dir();
        let base = std::path::absolute(&base).map_err(|e| io_error(&base, e))?;
        let dir = tempfile::Builder::new()
            .prefix("mia-work-")
            .disable_cleanup(keep)
            .tempdir_in(&base)
            .map_err(|e| io_error(&base, e))?;
        // Set explicitly (tempfile's default depends on its version and the umask): only
        // this user may read the rows written here.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
                .map_err(|e| io_error(dir.path(), e))?;
        }
        Ok(WorkDir { dir, keep, cancel: Cancel::default() })
    }

    /// Programs run in this folder stop when `cancel` asks (by default: on SIGINT/SIGTERM only).
    pub fn with_cancel(mut self, cancel: Cancel) -> WorkDir {
        self.cancel = cancel;
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A new, empty folder for one program run, named `{name}-*`.
    pub fn job(&self, name: &str) -> Result<JobDir, CommandError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .disable_cleanup(self.keep)
            .tempdir_in(self.path())
            .map_err(|e| io_error(self.path(), e))?;
        Ok(JobDir { dir, keep: self.keep, cancel: self.cancel.clone() })
    }
}

/// One program run's files inside a [`WorkDir`]; removed when dropped, unless the work
/// folder keeps its files.
#[derive(Debug)]
pub struct JobDir {
    dir: tempfile::TempDir,
    keep: bool,
    cancel: Cancel,
}

impl JobDir {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Appended to a message that names one of this run's files: whether the user can
    /// still look at it.
    pub fn file_note(&self) -> &'static str {
        if self.keep { "" } else { " (a work file, deleted when the run ends; --keep-work keeps it)" }
    }
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

/// What to run, where its files go and how long it may take.
#[derive(Debug, Clone)]
pub struct RunSpec<'a> {
    /// The argument vector after substitution.
    pub argv: &'a [String],
    /// Working directory of the program (`None`: the caller's).
    pub cwd: Option<&'a Path>,
    /// The run's folder: `stdout.log` and `stderr.log` receive its output.
    pub job: &'a JobDir,
    pub timeout: Duration,
    /// Files the program must have written on success.
    pub outputs: &'a [PathBuf],
}

/// How long a stopped program's group has between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// Why a program was stopped before it exited.
enum Stop {
    Timeout,
    Interrupted(Interruption),
}

/// Runs a program to completion (or its timeout, or an interruption) with no standard
/// input. Nothing is started once the run has been interrupted.
pub fn run_command(spec: &RunSpec<'_>) -> Result<(), CommandError> {
    let program = spec.argv.first().cloned().unwrap_or_default();
    if let Some(signal) = spec.job.cancel.requested() {
        return Err(CommandError::Interrupted { program, signal });
    }
    let (out_path, err_path) = (spec.job.path().join("stdout.log"), spec.job.path().join("stderr.log"));
    let open = |p: &Path| std::fs::File::create(p).map_err(|e| io_error(p, e));
    let (stdout, stderr) = (open(&out_path)?, open(&err_path)?);
    let mut cmd = Command::new(&program);
    cmd.args(&spec.argv[1..]).stdin(Stdio::null()).stdout(stdout).stderr(stderr);
    if let Some(dir) = spec.cwd {
        cmd.current_dir(dir);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own group: it and everything it starts can be signalled together, and a
        // Ctrl-C at the terminal reaches `mia` alone, which then stops the group itself.
        cmd.process_group(0);
    }
    let mut child =
        cmd.spawn().map_err(|e| CommandError::Spawn { program: program.clone(), message: e.to_string() })?;
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    let stop = loop {
        match group::exited(&mut child) {
            Ok(true) => break None,
            Ok(false) => {}
            Err(e) => {
                let _ = group::stop(&mut child);
                return Err(CommandError::Spawn { program, message: e.to_string() });
            }
        }
        if let Some(signal) = spec.job.cancel.requested() {
            break Some(Stop::Interrupted(signal));
        }
        if start.elapsed() >= spec.timeout {
            break Some(Stop::Timeout);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    };
    let status = match stop {
        Some(_) => group::stop(&mut child),
        None => group::reap(&mut child),
    }
    .map_err(|e| CommandError::Spawn { program: program.clone(), message: e.to_string() })?;
    let log = spec.job.keep.then(|| err_path.display().to_string());
    match stop {
        Some(Stop::Interrupted(signal)) => return Err(CommandError::Interrupted { program, signal }),
        Some(Stop::Timeout) => {
            return Err(CommandError::Timeout {
                program,
                seconds: spec.timeout.as_secs_f64(),
                log,
                stderr_tail: tail(&err_path),
            });
        }
        None => {}
    }
    if !status.success() {
        let status = match status.code() {
            Some(c) => format!("exit code {c}"),
            None => format!("{status}"),
        };
        return Err(CommandError::Failed { program, status, log, stderr_tail: tail(&err_path) });
    }
    if let Some(p) = spec.outputs.iter().find(|p| !p.is_file()) {
        return Err(CommandError::NoOutput { program, path: p.display().to_string() });
    }
    Ok(())
}

/// The program's process group (Unix): looked at without reaping its leader, signalled,
/// then reaped.
#[cfg(unix)]
mod group {
    use super::{Child, ExitStatus, STOP_GRACE};
    use std::time::{Duration, Instant};

    /// Whether the program (the group's leader) has exited. It is not reaped (WNOWAIT),
    /// so its pid, which is the group's id, stays reserved until [`reap`] or [`stop`].
    pub fn exited(child: &mut Child) -> std::io::Result<bool> {
        // SAFETY: a zeroed siginfo_t is a valid out-parameter, and waitid only writes to it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        // SAFETY: plain system call on our own child's pid with a valid pointer.
        if unsafe { libc::waitid(libc::P_PID, child.id() as libc::id_t, &mut info, flags) } != 0 {
            let e = std::io::Error::last_os_error();
            return if e.kind() == std::io::ErrorKind::Interrupted { Ok(false) } else { Err(e) };
        }
        // SAFETY: waitid filled `info` (si_pid stays 0 when the child has not exited).
        Ok(unsafe { info.si_pid() } != 0)
    }

    fn signal(child: &Child, sig: libc::c_int) {
        // SAFETY: plain system call. The leader is not reaped yet, so the group id is
        // still ours; a group already empty gives ESRCH, which is fine.
        unsafe { libc::killpg(child.id() as libc::pid_t, sig) };
    }

    /// After the program exited: kills whatever it left running in its group, then reaps it.
    pub fn reap(child: &mut Child) -> std::io::Result<ExitStatus> {
        signal(child, libc::SIGKILL);
        child.wait()
    }

    /// Stops the program and everything in its group: SIGTERM, up to [`STOP_GRACE`] for the
    /// program to exit, SIGKILL, then reaps it.
    pub fn stop(child: &mut Child) -> std::io::Result<ExitStatus> {
        signal(child, libc::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < STOP_GRACE && !exited(child).unwrap_or(true) {
            std::thread::sleep(Duration::from_millis(10));
        }
        reap(child)
    }
}

/// Without process groups: the program alone.
#[cfg(not(unix))]
mod group {
    use super::{Child, ExitStatus};

    pub fn exited(child: &mut Child) -> std::io::Result<bool> {
        Ok(child.try_wait()?.is_some())
    }

    pub fn reap(child: &mut Child) -> std::io::Result<ExitStatus> {
        child.wait()
    }

    pub fn stop(child: &mut Child) -> std::io::Result<ExitStatus> {
        let _ = child.kill();
        child.wait()
    }
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
        let work = WorkDir::new(false).unwrap();
        let job = work.job("job").unwrap();
        let out = job.path().join("out.txt");
        let ok = argv(&["sh", "-c", &format!("echo hi > '{}'", out.display())]);
        let spec = RunSpec {
            argv: &ok,
            cwd: None,
            job: &job,
            timeout: Duration::from_secs(20),
            outputs: std::slice::from_ref(&out),
        };
        run_command(&spec).unwrap();

        let fail = argv(&["sh", "-c", "for i in $(seq 1 30); do echo line$i >&2; done; exit 3"]);
        let e = run_command(&RunSpec { argv: &fail, outputs: &[], ..spec.clone() }).unwrap_err().to_string();
        assert!(e.contains("exit code 3") && e.contains("line30") && e.contains("line19"), "{e}");
        assert!(!e.contains("line18"), "only the last {STDERR_TAIL_LINES} lines: {e}");
        // The log is deleted with the work folder, so the message does not send the user to it.
        assert!(!e.contains("stderr.log"), "{e}");

        let slow = argv(&["sleep", "30"]);
        let t = Instant::now();
        let e =
            run_command(&RunSpec { argv: &slow, timeout: Duration::from_millis(300), outputs: &[], ..spec.clone() })
                .unwrap_err();
        assert!(matches!(e, CommandError::Timeout { .. }), "{e}");
        assert!(t.elapsed() < Duration::from_secs(10));

        let missing = job.path().join("never.txt");
        let quiet = argv(&["true"]);
        let e = run_command(&RunSpec { argv: &quiet, outputs: std::slice::from_ref(&missing), ..spec.clone() })
            .unwrap_err();
        assert!(matches!(e, CommandError::NoOutput { .. }), "{e}");

        let e = run_command(&RunSpec { argv: &argv(&["/no/such/program"]), outputs: &[], ..spec }).unwrap_err();
        assert!(matches!(e, CommandError::Spawn { .. }), "{e}");
    }

    /// A run's own cancellation stops its running program (and starts no other), without
    /// touching the process-wide signal flag that other runs read.
    #[cfg(unix)]
    #[test]
    fn a_cancelled_run_stops_its_program() {
        let cancel = Cancel::new();
        let work = WorkDir::new(false).unwrap().with_cancel(cancel.clone());
        let job = work.job("job").unwrap();
        let slow = argv(&["sleep", "30"]);
        let spec = RunSpec { argv: &slow, cwd: None, job: &job, timeout: Duration::from_secs(60), outputs: &[] };
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            cancel.cancel();
        });
        let t = Instant::now();
        let e = run_command(&spec).unwrap_err();
        canceller.join().unwrap();
        assert_eq!(e, CommandError::Interrupted { program: "sleep".into(), signal: Interruption::Cancelled }, "{e}");
        assert!(t.elapsed() < Duration::from_secs(10));
        assert_eq!(crate::interrupt::requested(), None, "the process-wide flag is untouched");
        let e = run_command(&RunSpec { argv: &argv(&["true"]), ..spec.clone() }).unwrap_err();
        assert!(matches!(e, CommandError::Interrupted { .. }), "nothing starts once cancelled: {e}");
        let other = WorkDir::new(false).unwrap();
        let job2 = other.job("job").unwrap();
        run_command(&RunSpec { argv: &argv(&["true"]), job: &job2, ..spec }).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn work_folders_are_private_and_removed_unless_kept() {
        use std::os::unix::fs::PermissionsExt;
        let work = WorkDir::new(false).unwrap();
        let root = work.path().to_path_buf();
        assert_eq!(std::fs::metadata(&root).unwrap().permissions().mode() & 0o777, 0o700);
        assert!(root.is_absolute() && root.file_name().unwrap().to_string_lossy().starts_with("mia-work-"));
        let job = work.job("model-1").unwrap();
        let file = job.path().join("train.csv");
        std::fs::write(&file, "a,label\n1,0\n").unwrap();
        let (a, b) = (work.job("model-1").unwrap(), work.job("model-1").unwrap());
        assert_ne!(a.path(), b.path(), "each run gets a fresh folder");
        drop(job);
        assert!(!file.exists(), "a run's files go when the run ends");
        drop((a, b));
        drop(work);
        assert!(!root.exists(), "the work folder goes with the audit");

        // Kept: both stay, and a failure names the kept log.
        let work = WorkDir::new(true).unwrap();
        let root = work.path().to_path_buf();
        let job = work.job("gen").unwrap();
        let jpath = job.path().to_path_buf();
        let fail = argv(&["sh", "-c", "echo boom >&2; exit 2"]);
        let spec = RunSpec { argv: &fail, cwd: None, job: &job, timeout: Duration::from_secs(20), outputs: &[] };
        let e = run_command(&spec).unwrap_err().to_string();
        let log = jpath.join("stderr.log");
        assert!(e.contains(&format!("(kept in {})", log.display())) && e.contains("boom"), "{e}");
        drop(job);
        drop(work);
        assert!(log.is_file() && root.is_dir());
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// Whether process `pid` is alive (exists and is not a zombie).
    #[cfg(target_os = "linux")]
    fn alive(pid: &str) -> bool {
        match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
            Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
            Err(_) => false,
        }
    }

    /// The programs a command starts go with it: on a timeout, and when the command exits
    /// leaving them running.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_programs_children_do_not_outlive_it() {
        let work = WorkDir::new(false).unwrap();
        let job = work.job("job").unwrap();
        let pid_file = job.path().join("child.pid");
        for (script, timeout) in [
            // Waits on a child that would sleep for a quarter of an hour; runs past its timeout.
            (format!("sleep 1000 & echo $! > '{}'; wait", pid_file.display()), Duration::from_millis(500)),
            // Exits at once, leaving the child running.
            (format!("sleep 1000 & echo $! > '{}'", pid_file.display()), Duration::from_secs(20)),
        ] {
            let _ = std::fs::remove_file(&pid_file);
            let cmd = argv(&["sh", "-c", &script]);
            let r = run_command(&RunSpec { argv: &cmd, cwd: None, job: &job, timeout, outputs: &[] });
            assert_eq!(r.is_err(), timeout < Duration::from_secs(1), "{r:?}");
            let pid = std::fs::read_to_string(&pid_file).unwrap();
            let t = Instant::now();
            while alive(&pid) {
                assert!(t.elapsed() < Duration::from_secs(5), "{script}: child {pid} outlived the command");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}
