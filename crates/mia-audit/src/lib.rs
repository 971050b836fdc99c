//! `mia-audit`: the library every front end (the `mia` command, the Python package) runs
//! audits through.
//!
//! Four audits, each built from typed settings or from a config file and run with a
//! [`Control`] (a progress callback and a cancellation token), each returning an
//! [`AuditOutput`]: the [`Report`](mia_report::report::Report) value and the per-record
//! scores behind it, written as report files only when asked ([`AuditOutput::write_report`]).
//!
//! * [`ScoreAudit`]: per-record outputs a team already has (a score table, or arrays), with
//!   reference models' outputs if it has those too ([`score`]); an in-memory
//!   [`mia_data::ScoreTable`] goes to [`run_score_audit`].
//! * [`ModelAudit`]: a config ([`AuditConfig`]) becomes a plan ([`plan`]), trained target and
//!   reference models (outputs kept in the artifact [`store`]) and every attack
//!   ([`model_audit`]); across machines as [`ModelAudit::plan`], [`ModelAudit::train`] of a
//!   [`Shard`], and [`ModelAudit::merge`].
//! * [`SynthAudit`]: released or generated synthetic data against the real records
//!   ([`synth`]).
//! * [`LlmAudit`]: a language model's per-token log-probabilities of texts with known
//!   membership ([`llm`]).
//!
//! All end in the same evaluation, report and gate ([`assemble`]), with the blind check
//! (members against non-members from the data alone, no model) wherever the audit has the
//! data: texts, or the audited records' features; report folders are
//! checked before any work and replaced whole ([`outdir`]).
//!
//! ```
//! use mia_audit::{Control, ScoreAudit, ScoreAuditOptions};
//! use mia_data::{ScoreColumns, ScoreSource};
//!
//! // Logits of a scikit-learn logistic regression on the digits data, with membership.
//! let scores = ScoreSource::Table {
//!     path: "../../fixtures/scores/digits_logreg.csv".into(),
//!     columns: ScoreColumns::default(),
//! };
//! let options = ScoreAuditOptions { gate: vec!["max.auc.lo > 0.9".into()], ..Default::default() };
//! let progress = |p: mia_audit::Progress| eprintln!("{p:?}");
//! let out = ScoreAudit::new(scores).options(options).run(&Control::new(&progress))?;
//!
//! let loss = out.report.attacks.iter().find(|a| a.name == "loss").expect("the loss attack runs");
//! let (lo, hi) = loss.evaluation.auc.ci.map(|[l, h]| (l, h)).expect("an interval");
//! assert!(lo <= loss.evaluation.auc.value && loss.evaluation.auc.value <= hi);
//! assert!(!out.gate_failed(), "no attack's AUC is surely above 0.9");
//!
//! let dir = tempfile::tempdir()?;
//! out.write_report(dir.path())?;
//! assert!(dir.path().join("report.json").is_file() && dir.path().join("report.html").is_file());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A model audit from a config, stopped from another thread after a minute (a stopped run
//! keeps the models it finished in the artifact folder; a rerun resumes from them):
//!
//! ```no_run
//! use mia_audit::{Cancel, Control, ModelAudit};
//!
//! let audit = ModelAudit::from_file("examples/location_mlp.toml".as_ref())?.artifacts("models/");
//! let cancel = Cancel::new();
//! let stopper = cancel.clone();
//! std::thread::spawn(move || {
//!     std::thread::sleep(std::time::Duration::from_secs(60));
//!     stopper.cancel();
//! });
//! let out = audit.run(&Control::default().with_cancel(cancel))?;
//! println!("{}: {}", out.report.gate.verdict, out.report.attacks.len());
//! # Ok::<(), mia_audit::AuditError>(())
//! ```

pub mod assemble;
pub mod baseline;
mod blind;
pub mod config;
pub mod label_noise;
pub mod llm;
pub mod model_audit;
mod one_run;
pub mod outdir;
pub mod plan;
mod privacy;
pub mod quantile;
pub mod score;
pub mod store;
pub mod synth;
pub mod threads;

pub use assemble::AuditOutput;
pub use baseline::BaselineInput;
pub use config::AuditConfig;
pub use llm::{LlmAudit, LlmAuditOptions, run_llm_audit};
pub use mia_data::tabular::TableOptions;
pub use mia_models::interrupt::{self, Cancel};
pub use model_audit::{ModelAudit, ModelTask, Selection, Shard};
pub use score::{ReferenceOverrides, ScoreAudit, ScoreAuditOptions, run_score_audit};
pub use synth::{SynthAudit, SynthConfig};

/// How a config-driven audit ([`ModelAudit`], [`SynthAudit`]) runs besides its config. Only
/// `fail_if` and `baseline` can change the report (its gate and its `baseline` section).
#[derive(Debug, Clone, Default)]
pub struct RunSettings {
    /// Gate rules added to the config's `report.fail_if`.
    pub fail_if: Vec<String>,
    /// How tables are read (e.g. skipping invalid rows, counted in the report).
    pub table: mia_data::tabular::TableOptions,
    /// Keep users' programs' work files (the rows they read, their outputs and logs) in a
    /// private temporary folder, reported through [`Progress::WorkKept`], for debugging.
    pub keep_work: bool,
    /// An earlier report to compare with ([`BaselineInput::load`]): the `baseline` section.
    pub baseline: Option<BaselineInput>,
}

impl RunSettings {
    /// The gate: the config's rules, then these.
    fn gate(&self, config_rules: &[String]) -> Result<Vec<mia_report::gate::GateExpr>, AuditError> {
        let text: Vec<String> = config_rules.iter().chain(&self.fail_if).cloned().collect();
        score::parse_gate(&text)
    }
}

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
    /// SIGINT or SIGTERM asked the run to stop ([`mia_models::interrupt`]), or its [`Control`]'s
    /// token was cancelled: running programs were stopped, and what had finished (stored
    /// models) stays for a rerun.
    #[error("interrupted by {signal}")]
    Interrupted { signal: mia_models::interrupt::Interruption },
    /// The machine refused a resource the run needs (threads, signal handlers; exit code 3).
    #[error("{0}")]
    Internal(String),
}

/// What a run reports while it works (for progress bars).
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The plan is made: `to_train` of `total` models must be trained, the rest are stored.
    Planned { total: usize, to_train: usize },
    /// One more model finished (trained, or found in the store).
    ModelDone { index: usize, trained: bool },
    /// A named stage started (`attacks`, `evaluation`, `generating synthetic data`, …).
    Stage(&'static str),
    /// Users' programs work in this folder, which is kept after the run (`keep_work`).
    WorkKept(std::path::PathBuf),
    /// A target behind an endpoint was queried: what it took so far (timings vary between
    /// runs, so they are shown, never written to the report).
    Queried { endpoint: String, stats: mia_models::http::HttpStats },
}

fn no_progress(_: Progress) {}

/// How the caller follows and stops a run: a progress callback (called from worker
/// threads) and a cancellation token. Neither changes the report.
///
/// A cancelled run (or one whose process got SIGINT/SIGTERM) starts no more models or
/// programs, stops the running ones, keeps the models that finished in the artifact
/// folder, and ends with [`AuditError::Interrupted`].
#[derive(Clone)]
pub struct Control<'a> {
    progress: &'a (dyn Fn(Progress) + Sync),
    cancel: Cancel,
}

impl Default for Control<'static> {
    fn default() -> Self {
        Control { progress: &no_progress, cancel: Cancel::default() }
    }
}

impl<'a> Control<'a> {
    /// Reports progress to `progress`; stops on SIGINT/SIGTERM only (see [`Control::with_cancel`]).
    pub fn new(progress: &'a (dyn Fn(Progress) + Sync)) -> Control<'a> {
        Control { progress, cancel: Cancel::default() }
    }

    /// Also stops when `cancel` (or a clone of it, from any thread) is cancelled.
    pub fn with_cancel(mut self, cancel: Cancel) -> Control<'a> {
        self.cancel = cancel;
        self
    }

    pub(crate) fn report(&self, p: Progress) {
        (self.progress)(p)
    }

    /// Stops here if the run was asked to stop (between models, between steps).
    pub(crate) fn check(&self) -> Result<(), AuditError> {
        match self.cancel.requested() {
            Some(signal) => Err(AuditError::Interrupted { signal }),
            None => Ok(()),
        }
    }

    /// A run's result, unless it was asked to stop: then whatever failed did so because its
    /// program was stopped (a stopped trainer is a failed fit to the code above), and a result
    /// computed after the request is not written, so the interruption is what is reported.
    pub(crate) fn unless_stopped<T>(&self, result: Result<T, AuditError>) -> Result<T, AuditError> {
        self.check()?;
        result
    }

    /// The private folder users' programs work in ([`mia_models::external::WorkDir`]); they stop
    /// when this run is asked to. A kept one outlives the run, so progress is told where it is.
    pub(crate) fn work_dir(&self, keep: bool) -> Result<mia_models::external::WorkDir, AuditError> {
        let work =
            mia_models::external::WorkDir::new(keep).map_err(|e| AuditError::Input(format!("work folder: {e}")))?;
        if keep {
            self.report(Progress::WorkKept(work.path().to_path_buf()));
        }
        Ok(work.with_cancel(self.cancel.clone()))
    }
}
