//! `mia-core`: the part of mia-audit every audit trusts.
//!
//! Pure functions from arrays to arrays: per-record membership signals computed from
//! model outputs ([`signals`]), attacks that turn signals into one score per record with
//! the convention *higher score = more likely member* ([`attacks`]), and the evaluation of
//! those scores against known membership ([`roc`], [`bootstrap`], [`stats`], [`epsilon`],
//! [`evaluate`]). No files, no models, no I/O.

pub mod attacks;
pub mod bootstrap;
pub mod distribution_free;
pub mod epsilon;
pub mod evaluate;
pub mod learned;
pub mod provenance;
pub mod reference;
pub mod roc;
pub mod signals;
pub mod stats;

pub use evaluate::{AttackEvaluation, Estimate, EvalConfig, TprAtFpr};
pub use signals::{ModelOutputs, Signals};

/// Errors from the core: inputs whose shapes or values make a computation meaningless.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CoreError {
    #[error("{what}: expected {expected} values, got {got}")]
    Length { what: &'static str, expected: usize, got: usize },
    #[error("need at least one member and one non-member (members: {members}, non-members: {non_members})")]
    OneClass { members: usize, non_members: usize },
    #[error("{0}")]
    Invalid(String),
}
