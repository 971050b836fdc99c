//! SIGTERM to a process that installed the handlers is a stop request, not death; a
//! program running under the runner is then stopped with everything it started, and no
//! new program starts. Its own test binary: the stop request is process-wide.
#![cfg(target_os = "linux")]

use mia_models::external::{CommandError, RunSpec, WorkDir, run_command};
use mia_models::interrupt::{self, Interruption};
use std::time::{Duration, Instant};

fn alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

#[test]
fn sigterm_stops_the_running_program_and_its_children() {
    interrupt::install_handlers().unwrap();
    assert_eq!(interrupt::requested(), None);
    let work = WorkDir::new(false).unwrap();
    let job = work.job("job").unwrap();
    let pid_file = job.path().join("child.pid");
    let script = format!("sleep 1000 & echo $! > '{}'; wait", pid_file.display());
    let argv: Vec<String> = ["sh", "-c", &script].iter().map(|s| s.to_string()).collect();
    let me = std::process::id().to_string();
    let pid_wait = pid_file.clone();
    // Once the program's child is running, a SIGTERM to this process.
    let sender = std::thread::spawn(move || {
        while !pid_wait.exists() {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(std::process::Command::new("kill").args(["-TERM", &me]).status().unwrap().success());
    });
    let t = Instant::now();
    let spec = RunSpec { argv: &argv, cwd: None, job: &job, timeout: Duration::from_secs(600), outputs: &[] };
    let e = run_command(&spec).unwrap_err();
    sender.join().unwrap();
    assert_eq!(e, CommandError::Interrupted { program: "sh".into(), signal: Interruption::Terminate }, "{e}");
    assert!(t.elapsed() < Duration::from_secs(30));
    assert_eq!(interrupt::requested(), Some(Interruption::Terminate));
    assert_eq!(Interruption::Terminate.exit_code(), 143);
    assert_eq!(Interruption::Interrupt.exit_code(), 130);
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let t = Instant::now();
    while alive(&pid) {
        assert!(t.elapsed() < Duration::from_secs(5), "the program's child {pid} outlived it");
        std::thread::sleep(Duration::from_millis(10));
    }

    // After the request, nothing new starts.
    let marker = job.path().join("started");
    let touch: Vec<String> = ["touch", marker.to_str().unwrap()].iter().map(|s| s.to_string()).collect();
    let e = run_command(&RunSpec { argv: &touch, ..spec }).unwrap_err();
    assert!(matches!(e, CommandError::Interrupted { .. }), "{e}");
    assert!(!marker.exists());
}
