//! `mia-audit`: runs audits end to end. For score files ([`score`]): a loaded
//! [`mia_data::ScoreTable`] becomes signals, every score-only attack's scores, their
//! evaluation, the report document and the gate verdict; [`write_outputs`] writes the
//! report files atomically.

pub mod score;

pub use score::{AuditOutput, ScoreAuditOptions, run_score_audit, write_outputs};

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
    /// Writing the report failed.
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
}
