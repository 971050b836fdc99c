//! `mia-data`: reading mia-audit's inputs.
//!
//! This crate reads *per-record score files* — a model's precomputed outputs for records
//! whose membership is known — into a [`ScoreTable`] that `mia-core` can audit:
//!
//! * a table ([`ScoreSource::Table`]): CSV (`.csv`, or gzip-compressed `.csv.gz`) or
//!   Parquet (`.parquet`, `.pq`; cargo feature `parquet`, on by default) with columns
//!   `id` (optional), `member` (0/1 or true/false), `label` (class index) and the model
//!   outputs as logit columns `logit_0..logit_{C-1}`, probability columns
//!   `prob_0..prob_{C-1}`, or one `loss` column (all names configurable through
//!   [`ScoreColumns`]);
//! * parallel NumPy arrays ([`ScoreSource::Arrays`]): logits or probabilities (N × C,
//!   float32/float64), labels, member flags and optional integer ids.
//!
//! Every problem with a user's file is a [`DataError`] whose `Display` is one line naming
//! the file and, where it applies, the row (1-based, header not counted), the column,
//! what was expected and what was found. No input makes this crate panic.
//!
//! With [`LoadOptions::skip_invalid_rows`], rows holding a bad value are skipped instead
//! and counted by reason in [`ScoreTable::skipped`]; structural problems (a missing
//! column, a corrupt file) are errors either way. Every file read is fingerprinted
//! (SHA-256 and size) in [`ScoreTable::inputs`] so a report can say exactly what it audited.

mod csvio;
mod csvread;
pub mod error;
pub mod guard;
mod hash;
mod id;
mod layout;
pub mod lines;
mod npy;
#[cfg(feature = "parquet")]
mod pq;
#[cfg(feature = "parquet")]
pub mod pqwrite;
pub mod reference;
pub mod tabular;
pub mod texts;

use std::path::{Path, PathBuf};

use mia_core::signals::ModelOutputs;

pub use error::{CellLocation, DataError, RecordUnit};
pub use npy::{FloatView, IdsView, IntView, OutputsView, ScoreArrays, load_features, load_score_arrays};

/// Column names of a score table. `Default` gives `id`, `member`, `label`, `loss`,
/// `logit_`, `prob_`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreColumns {
    /// Record id column (any text or integer). Optional in the file: without it ids are
    /// the 1-based data row numbers.
    pub id: String,
    /// Membership column: 1/0 or true/false (any case); Parquet boolean or integer.
    pub member: String,
    /// True class index column (non-negative integer). Required with logits or
    /// probabilities, optional with a loss column.
    pub label: String,
    /// Per-record loss column (non-negative), used when there are no class columns.
    pub loss: String,
    /// Prefix of logit columns: `{logit_prefix}0 .. {logit_prefix}{C-1}`.
    pub logit_prefix: String,
    /// Prefix of probability columns: `{prob_prefix}0 .. {prob_prefix}{C-1}`.
    pub prob_prefix: String,
}

impl Default for ScoreColumns {
    fn default() -> Self {
        ScoreColumns {
            id: "id".into(),
            member: "member".into(),
            label: "label".into(),
            loss: "loss".into(),
            logit_prefix: "logit_".into(),
            prob_prefix: "prob_".into(),
        }
    }
}

/// Where per-record scores come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ScoreSource {
    /// One table: CSV (`.csv`, `.csv.gz`) or Parquet (`.parquet`, `.pq`), chosen by
    /// extension and checked against the file's leading bytes.
    Table { path: PathBuf, columns: ScoreColumns },
    /// Parallel `.npy` arrays, one entry per record: `logits` or `probs` (2-D, N × C,
    /// float32/float64; logits win when both are given), `labels` (1-D integer, required),
    /// `member` (1-D bool or 0/1 integer) and optional `ids` (1-D integer).
    Arrays {
        logits: Option<PathBuf>,
        probs: Option<PathBuf>,
        labels: Option<PathBuf>,
        member: PathBuf,
        ids: Option<PathBuf>,
    },
}

/// How strictly to read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadOptions {
    /// A probability row is valid when `|Σ_c p_c − 1| <= prob_tolerance`. Default 1e-3.
    pub prob_tolerance: f64,
    /// Skip rows holding a bad value (non-finite or non-numeric number, member not 0/1,
    /// bad or out-of-range label, negative loss, invalid probability row, missing id) and
    /// count them in [`ScoreTable::skipped`], instead of failing. Default false.
    pub skip_invalid_rows: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { prob_tolerance: 1e-3, skip_invalid_rows: false }
    }
}

pub use mia_core::provenance::{InputFile, SkipCount};

/// Per-record model outputs with membership, ready for `mia-core`.
#[derive(Debug, Clone)]
pub struct ScoreTable {
    /// Record ids, one per kept row, unique. Integer ids are shown in decimal; without an
    /// id column these are the 1-based data row numbers in the file.
    pub ids: Vec<String>,
    /// True for members (records in the target model's training set).
    pub member: Vec<bool>,
    /// True class index per record; always present with logits or probabilities, and
    /// with losses when the table has a label column.
    pub labels: Option<Vec<usize>>,
    /// The model's outputs for the kept rows.
    pub outputs: ModelOutputs,
    /// Every file read, in the order read.
    pub inputs: Vec<InputFile>,
    /// Data rows seen (kept + skipped).
    pub rows_read: usize,
    /// Rows skipped by reason (only with `skip_invalid_rows`), sorted by reason.
    pub skipped: Vec<SkipCount>,
    /// Things a report should mention (e.g. "no id column: ids are row numbers").
    pub notes: Vec<String>,
}

impl ScoreTable {
    /// Number of records kept.
    pub fn len(&self) -> usize {
        self.member.len()
    }
    pub fn is_empty(&self) -> bool {
        self.member.is_empty()
    }
    /// Total rows skipped.
    pub fn n_skipped(&self) -> usize {
        self.skipped.iter().map(|s| s.count).sum()
    }
}

/// The file extensions a score table may have.
pub const TABLE_EXTENSIONS: &str = ".csv, .csv.gz, .parquet, .pq";

/// The kind of a table file, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Csv,
    CsvGz,
    Parquet,
}

impl TableFormat {
    /// The format a file name asks for, or an error listing the accepted extensions.
    pub fn from_path(path: &Path) -> Result<TableFormat, DataError> {
        let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        if name.ends_with(".csv.gz") {
            Ok(TableFormat::CsvGz)
        } else if name.ends_with(".csv") {
            Ok(TableFormat::Csv)
        } else if name.ends_with(".parquet") || name.ends_with(".pq") {
            Ok(TableFormat::Parquet)
        } else {
            let found = match name.rfind('.') {
                Some(i) if i > 0 => format!("extension {}", error::quote(&name[i..])),
                _ => "no extension".to_string(),
            };
            let hint = if name.ends_with(".npy") || name.ends_with(".npz") {
                " (NumPy arrays are read as separate logits/probs, labels, member and ids arrays, not as one table)"
            } else {
                ""
            };
            Err(DataError::UnknownFormat {
                file: error::show_path(path),
                found,
                accepted: format!("{TABLE_EXTENSIONS}{hint}"),
            })
        }
    }
}

/// A probability row's tolerance must be a finite number ≥ 0.
pub(crate) fn check_tolerance(tolerance: f64) -> Result<(), DataError> {
    if !(tolerance.is_finite() && tolerance >= 0.0) {
        return Err(DataError::Usage {
            message: format!("probability tolerance must be a finite number >= 0, got {tolerance}"),
        });
    }
    Ok(())
}

/// Reads per-record scores from `src`.
///
/// Errors are one line each (see [`DataError`]); nothing here panics on any input.
pub fn load_scores(src: &ScoreSource, opts: &LoadOptions) -> Result<ScoreTable, DataError> {
    check_tolerance(opts.prob_tolerance)?;
    match src {
        ScoreSource::Table { path, columns } => match TableFormat::from_path(path)? {
            TableFormat::Csv => csvread::load_csv(path, columns, opts, false),
            TableFormat::CsvGz => csvread::load_csv(path, columns, opts, true),
            TableFormat::Parquet => load_parquet(path, columns, opts),
        },
        ScoreSource::Arrays { logits, probs, labels, member, ids } => {
            npy::load_arrays(logits.as_deref(), probs.as_deref(), labels.as_deref(), member, ids.as_deref(), opts)
        }
    }
}

#[cfg(feature = "parquet")]
fn load_parquet(path: &Path, columns: &ScoreColumns, opts: &LoadOptions) -> Result<ScoreTable, DataError> {
    pq::load_parquet(path, columns, opts)
}

#[cfg(not(feature = "parquet"))]
fn load_parquet(path: &Path, _columns: &ScoreColumns, _opts: &LoadOptions) -> Result<ScoreTable, DataError> {
    Err(DataError::BadFile {
        file: error::show_path(path),
        message: "Parquet support is not compiled into this build (cargo feature \"parquet\"); convert to CSV"
            .to_string(),
    })
}
