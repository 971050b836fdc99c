//! `mia-audit`: runs audits end to end.
//!
//! * [`score`]: precomputed per-record outputs (`mia score`): a loaded
//!   [`mia_data::ScoreTable`] becomes signals and every score-only attack's scores.
//! * [`model_audit`]: a config ([`config`]) becomes a plan, trained target and reference
//!   models (outputs kept in the [`store`]), and every reference and score-only attack
//!   (`mia audit`, `mia demo`).
//! * [`assemble`]: both end in the same evaluation, report and gate; [`write_outputs`]
//!   writes the report files atomically.

pub mod assemble;
pub mod config;
pub mod model_audit;
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
}
