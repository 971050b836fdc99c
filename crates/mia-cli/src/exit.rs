//! Exit codes: 0 pass, 1 gate failed, 2 bad input or usage, 3 internal error, 130 / 143
//! stopped by SIGINT / SIGTERM (after stopping its users' programs); and the one line on
//! stderr that says why.

use mia_audit::AuditError;
use mia_audit::interrupt::Interruption;
use std::path::Path;
use std::process::ExitCode;

/// Errors with their exit code.
pub enum Failure {
    Usage(String),
    Internal(String),
    /// SIGINT / SIGTERM: the one-line message, exit code 128 + the signal's number.
    Interrupted(Interruption, String),
}

impl From<AuditError> for Failure {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Write { .. } | AuditError::Internal(_) => Failure::Internal(e.to_string()),
            AuditError::Interrupted { signal } => {
                Failure::Interrupted(signal, format!("interrupted by {signal}; no report was written"))
            }
            _ => Failure::Usage(e.to_string()),
        }
    }
}

/// A failure of a run that stores models: an interruption says where they are.
pub fn resumable(e: AuditError, artifacts: &Path) -> Failure {
    match e {
        AuditError::Interrupted { signal } => Failure::Interrupted(
            signal,
            format!("interrupted by {signal}; finished models are stored in {}, rerun to resume", artifacts.display()),
        ),
        e => e.into(),
    }
}

/// An accountant's refusal as a usage error naming the command-line flag (`--sample-rate`,
/// `--epsilon`, …) where the library names the parameter (`sample_rate`, `target_epsilon`, …).
pub fn dp_usage(e: mia_dp::DpError) -> Failure {
    use mia_dp::DpError as E;
    // The library names its parameters; the command line's flags are what the user typed.
    let (name, flag) = match &e {
        E::SampleRate(_) => ("sample_rate", "--sample-rate"),
        E::NoiseMultiplier(_) => ("noise_multiplier", "--noise-multiplier"),
        E::Steps => ("steps", "--steps"),
        E::Delta(_) => ("delta", "--delta"),
        E::TargetEpsilon(_) | E::UnreachableEpsilon { .. } | E::TargetMetBelowSearchRange { .. } => {
            ("target_epsilon", "--epsilon")
        }
        _ => return Failure::Usage(e.to_string()),
    };
    let text = e.to_string();
    Failure::Usage(text.strip_prefix(name).map_or(text.clone(), |rest| format!("{flag}{rest}")))
}

/// A command's outcome (`Ok(passed)`, a failure, or a panic caught) as its exit code, with
/// the message printed.
pub fn exit_code(result: std::thread::Result<Result<bool, Failure>>) -> ExitCode {
    match result {
        Ok(Ok(true)) => ExitCode::SUCCESS,
        Ok(Ok(false)) => ExitCode::from(1),
        Ok(Err(Failure::Usage(m))) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Ok(Err(Failure::Internal(m))) => {
            eprintln!("internal error: {m}");
            ExitCode::from(3)
        }
        Ok(Err(Failure::Interrupted(signal, m))) => {
            eprintln!("{m}");
            ExitCode::from(signal.exit_code())
        }
        Err(_) => {
            eprintln!(
                "internal error: the audit stopped unexpectedly (a bug; please report it with the input's shape)"
            );
            ExitCode::from(3)
        }
    }
}

/// A command-line parsing error (exit 2, one line) or `--help` / `--version` (exit 0).
pub fn usage(e: clap::Error) -> ExitCode {
    if e.use_stderr() {
        eprintln!("error: {} (see 'mia --help')", clap_one_line(&e.to_string()));
        ExitCode::from(2)
    } else {
        let _ = e.print();
        ExitCode::SUCCESS
    }
}

/// A clap error as one line: its first line, which names the problem, with the list that
/// follows a first line ending in ':' ("cannot be used with:" and the conflicting arguments).
fn clap_one_line(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("invalid arguments").trim_start_matches("error: ").to_string();
    if !first.ends_with(':') {
        return first;
    }
    let items: Vec<&str> = lines.map(str::trim).take_while(|l| !l.is_empty()).collect();
    format!("{first} {}", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_become_one_line_with_their_list() {
        let text = "error: the argument '--logits <LOGITS>' cannot be used with:\n  --probs <PROBS>\n  [FILE]\n\nUsage: mia score";
        assert_eq!(
            clap_one_line(text),
            "the argument '--logits <LOGITS>' cannot be used with: --probs <PROBS>, [FILE]"
        );
        assert_eq!(
            clap_one_line("error: unexpected argument '--x' found\n\nUsage: ..."),
            "unexpected argument '--x' found"
        );
    }
}
