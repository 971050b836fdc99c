//! `mia-audit`: runs audits end to end.
//!
//! * [`score`]: precomputed per-record outputs (`mia score`): a loaded
//!   [`mia_data::ScoreTable`] becomes signals and every score-only attack's scores.
//! * [`model_audit`]: a config ([`config`]) becomes a plan, trained target and reference
//!   models (outputs kept in the [`store`]), and every reference and score-only attack
//!   (`mia audit`, `mia demo`).
//! * [`assemble`]: both end in the same evaluation, report and gate; [`write_outputs`]
//!   writes the report files as one set ([`outdir`]: output folders checked before any
//!   work, the previous run's report removed, the new one moved into place together).

pub mod assemble;
pub mod config;
pub mod model_audit;
pub mod outdir;
pub mod score;
pub mod store;
pub mod synth;

pub use assemble::{AuditOutput, write_outputs};
pub use config::AuditConfig;
pub use model_audit::{
    ModelTask, Progress, RunOptions, Shard, merge_model_audit, plan_models, run_model_audit, train_shard,
};
pub use score::{ScoreAuditOptions, run_score_audit};
pub use synth::{SynthConfig, SynthOptions, run_synth_audit};

/// Errors of a run, split by whose fault they are (the CLI maps them to exit codes).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The input or the options are unusable (exit code 2).
    #[error(transparent)]
    Data(#[from] mia_data::DataError),
    #[error(transparent)]
    Gate(#[from] mia_report::gate::GateError),
    #[error("{0}")]
    Input(String),
    /// Writing the report or an artifact failed.
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    /// An output folder that cannot be used (a file, a link to nothing, not writable),
    /// found before any work ([`outdir`]; exit code 2).
    #[error("output folder {path}: {reason}")]
    OutputDir { path: String, reason: String },
    /// SIGINT or SIGTERM asked the run to stop ([`mia_data::interrupt`]): running programs
    /// were stopped, and what had finished (stored models) stays for a rerun.
    #[error("interrupted by {signal}")]
    Interrupted { signal: mia_data::interrupt::Interruption },
}

/// Stops here if the run was asked to stop (between models, between steps).
pub(crate) fn check_interrupt() -> Result<(), AuditError> {
    match mia_data::interrupt::requested() {
        Some(signal) => Err(AuditError::Interrupted { signal }),
        None => Ok(()),
    }
}

/// A run's result, unless it was asked to stop: then whatever failed did so because its
/// program was stopped (a stopped trainer is a failed fit to the code above), and a result
/// computed after the request is not written, so the interruption is what is reported.
pub(crate) fn unless_interrupted<T>(result: Result<T, AuditError>) -> Result<T, AuditError> {
    check_interrupt()?;
    result
}

/// The private folder users' programs work in ([`mia_data::external::WorkDir`]). A kept
/// one outlives the run, so `progress` is told where it is.
pub(crate) fn work_dir(
    keep: bool,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<mia_data::external::WorkDir, AuditError> {
    let work = mia_data::external::WorkDir::new(keep).map_err(|e| AuditError::Input(format!("work folder: {e}")))?;
    if keep {
        progress(Progress::WorkKept(work.path().to_path_buf()));
    }
    Ok(work)
}
