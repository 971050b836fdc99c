//! Reference-model outputs computed elsewhere ("bring your own reference models"): the
//! per-record signals of K reference models, their K × N keep mask, and optionally
//! population records, read, validated and aligned to a loaded [`ScoreTable`] so that
//! `mia_core::reference` can run LiRA, RMIA and the other reference attacks on them.
//!
//! # Layouts
//!
//! * **`.npy`** — one array of reference signals: K × N φ (or loss, see [`RefSignal`]),
//!   float32/float64; or K × N × C logits or probabilities. The keep mask comes from its
//!   own `.npy` (K × N, bool, 0/1 integers or 0.0/1.0 floats).
//! * **`.npz`** (`np.savez` or `np.savez_compressed`) — named arrays: the signals as `phi`, `loss`
//!   (K × N), `logits` or `probs` (K × N × C); `keep` (K × N); optionally `ids` (N
//!   integer record ids), `population_target`, `population_reference` and
//!   `population_labels`. Separate files given on the command line take precedence over
//!   the bundle's arrays.
//! * **Table** (`.csv`, `.csv.gz`, `.parquet`, `.pq`) — one row per record: `id`
//!   (optional; integer or text), `phi_0 … phi_{K-1}` (or `loss_0 …`), and optionally
//!   `keep_0 … keep_{K-1}` (bool, 0/1 or true/false).
//!
//! Population arrays have the same kind as the reference signals: P φ (or losses) under
//! the target and K × P under the reference models, or P × C and K × P × C per-class
//! outputs with P labels.
//!
//! # Alignment
//!
//! Reference record n is the score table's record n (by position), unless reference ids
//! are given (`ids` array, `id` column, or a separate ids file): then every score-table
//! record is looked up by its id (integer ids compare in decimal), reference records the
//! table does not hold are ignored (and counted in a note), and a score-table record
//! without a reference column is an error naming it. Positional alignment needs the same
//! number of records and no skipped score-table rows.
//!
//! # Validation
//!
//! Every problem is a one-line [`DataError`] naming the file, and where it applies the
//! model index, the record (array index or table row and column, and the record id) and
//! the value: shapes that disagree (both shapes and both files named), non-finite or
//! negative values, keep entries that are not boolean, missing or duplicate ids, and
//! records that are IN (or OUT) for no reference model when the requested attacks need
//! both sides ([`Coverage`]).

mod align;
mod arrays;
mod signals;
#[cfg(test)]
mod tests;
mod wide;

use std::path::PathBuf;

use ndarray::Array2;

use mia_core::signals::ModelOutputs;

use crate::error::{quote, show_path};
use crate::{DataError, InputFile, ScoreTable, TableFormat};

pub use arrays::Nd;
use arrays::{block_from, ids_from, mask_from, read_npy_source, read_npz_source, side_file};
use wide::{read_csv_source, read_parquet_source};

/// What the reference arrays hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefSignal {
    /// φ = ln p_y − ln(1 − p_y), K × N.
    Phi,
    /// Cross-entropy of the true class in nats, K × N; converted to φ exactly as for the
    /// target (φ = −ℓ − ln(−expm1(−ℓ)), pinned at the number format's limit for ℓ = 0).
    Loss,
    /// Logits, K × N × C; φ is computed per model with the score table's labels.
    Logits,
    /// Probabilities, K × N × C (rows non-negative, summing to 1 within the tolerance).
    Probs,
}

mia_core::from_name!(RefSignal);

impl RefSignal {
    pub fn name(self) -> &'static str {
        match self {
            RefSignal::Phi => "phi",
            RefSignal::Loss => "loss",
            RefSignal::Logits => "logits",
            RefSignal::Probs => "probs",
        }
    }
    fn per_class(self) -> bool {
        matches!(self, RefSignal::Logits | RefSignal::Probs)
    }
    fn what(self) -> &'static str {
        match self {
            RefSignal::Phi => "φ",
            RefSignal::Loss => "loss",
            RefSignal::Logits => "logit",
            RefSignal::Probs => "probability",
        }
    }
}

/// The files holding a team's reference-model outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceSources {
    /// Reference signals: `.npy`, `.npz` bundle, or a table (see the module doc).
    pub reference: PathBuf,
    /// What the signals are; `None`: `phi` for a 2-D `.npy` and a table's `phi_` columns
    /// (`loss_` columns give `loss`); the one signal array in an `.npz`.
    pub signal: Option<RefSignal>,
    /// K × N keep mask (`.npy`); else the bundle's `keep` / the table's `keep_k` columns.
    pub keep: Option<PathBuf>,
    /// N record ids of the reference columns (`.npy`, integers); else the bundle's `ids` /
    /// the table's `id` column; else alignment by position.
    pub ids: Option<PathBuf>,
    /// P φ (or P × C outputs) of population records under the target (`.npy`).
    pub population_target: Option<PathBuf>,
    /// K × P φ (or K × P × C outputs) of the population records under each reference model (`.npy`).
    pub population_reference: Option<PathBuf>,
    /// P class labels of the population records (with per-class outputs; `.npy`).
    pub population_labels: Option<PathBuf>,
}

impl ReferenceSources {
    /// Sources with just the reference file; everything else from it or absent.
    pub fn new(reference: impl Into<PathBuf>) -> Self {
        ReferenceSources {
            reference: reference.into(),
            signal: None,
            keep: None,
            ids: None,
            population_target: None,
            population_reference: None,
            population_labels: None,
        }
    }
}

/// Which sides of the keep mask every record must have, for the attacks requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Coverage {
    /// At least one IN model per record (online LiRA and RMIA).
    pub need_in: bool,
    /// At least one OUT model per record (every LiRA/RMIA variant, Attack R, difficulty calibration).
    pub need_out: bool,
}

/// How to read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReferenceOptions {
    /// Largest allowed |Σ p − 1| of a probability row.
    pub prob_tolerance: f64,
    pub coverage: Coverage,
}

impl Default for ReferenceOptions {
    fn default() -> Self {
        ReferenceOptions { prob_tolerance: 1e-3, coverage: Coverage { need_in: true, need_out: true } }
    }
}

/// Population records: φ under the target and under each reference model.
#[derive(Debug, Clone)]
pub struct PopulationData {
    pub target_phi: Vec<f64>,
    /// K × P.
    pub reference_phi: Array2<f64>,
}

/// Reference-model observations aligned to a score table's records.
#[derive(Debug, Clone)]
pub struct ReferenceData {
    pub signal: RefSignal,
    /// K × N φ, column n = the score table's record n.
    pub phi: Array2<f64>,
    /// K × N: `keep[[k, n]]` = record n was in reference model k's training set.
    pub keep: Array2<bool>,
    /// Per reference model, its N × C outputs (with logits or probabilities).
    pub outputs: Option<Vec<ModelOutputs>>,
    pub population: Option<PopulationData>,
    /// Whether records were matched by id (else by position).
    pub aligned_by_id: bool,
    /// Reference values whose probability (or its complement) reached the number format's
    /// limit, so their φ is pinned (audit and population records, all models).
    pub saturated: usize,
    /// Every file read, in the order read.
    pub inputs: Vec<InputFile>,
    /// Things a report should mention.
    pub notes: Vec<String>,
}

impl ReferenceData {
    pub fn n_models(&self) -> usize {
        self.phi.nrows()
    }
}

// ------------------------------------------------------------------------------------- intermediate form
// What the readers (arrays.rs, wide.rs) produce and alignment (align.rs, signals.rs) consumes.

/// How positions in a file are named in messages.
#[derive(Debug, Clone)]
enum Loc {
    /// A numpy array: `[k, j]` (0-based).
    Array,
    /// A wide table: data row j + 1, column `{prefix}{k}`.
    Table { prefix: String },
}

impl Loc {
    fn at(&self, k: usize, j: usize, c: Option<usize>) -> String {
        match (self, c) {
            (Loc::Array, None) => format!("index [{k}, {j}] (model {k}, record {j})"),
            (Loc::Array, Some(c)) => format!("index [{k}, {j}, {c}] (model {k}, record {j}, class {c})"),
            (Loc::Table { prefix }, _) => format!("row {}, column \"{prefix}{k}\" (model {k})", j + 1),
        }
    }
}

/// K × M (× C) reference signals as read.
struct Block {
    values: Vec<f64>,
    k: usize,
    m: usize,
    c: Option<usize>,
    file: String,
    loc: Loc,
}

impl Block {
    fn shape(&self) -> Vec<usize> {
        let mut s = vec![self.k, self.m];
        s.extend(self.c);
        s
    }
}

/// K × M keep mask as read.
struct Mask {
    flags: Vec<bool>,
    k: usize,
    m: usize,
    file: String,
}

struct Ids {
    ids: Vec<String>,
    file: String,
    /// Names position j in messages.
    loc: Loc,
}

fn pos_name(loc: &Loc, j: usize) -> String {
    match loc {
        Loc::Array => format!("position {j}"),
        Loc::Table { .. } => format!("row {}", j + 1),
    }
}

/// Population arrays as read, each with its file as messages name it.
#[derive(Default)]
struct PopulationArrays {
    target: Option<(Nd, String)>,
    reference: Option<(Nd, String)>,
    labels: Option<(Nd, String)>,
}

/// Everything read from the reference file and the separate files, before alignment.
struct Raw {
    block: Block,
    signal: RefSignal,
    keep: Option<Mask>,
    ids: Option<Ids>,
    population: PopulationArrays,
}

/// Reads the reference file, by its extension.
fn read_source(src: &ReferenceSources) -> Result<(Raw, InputFile), DataError> {
    let path = &src.reference;
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if name.ends_with(".npy") {
        read_npy_source(path, src.signal)
    } else if name.ends_with(".npz") {
        read_npz_source(path, src.signal)
    } else {
        match TableFormat::from_path(path) {
            Ok(TableFormat::Csv) => read_csv_source(path, false, src.signal),
            Ok(TableFormat::CsvGz) => read_csv_source(path, true, src.signal),
            Ok(TableFormat::Parquet) => read_parquet_source(path, src.signal),
            Err(_) => Err(DataError::UnknownFormat {
                file: show_path(path),
                found: match name.rfind('.') {
                    Some(i) if i > 0 => format!("extension {}", quote(&name[i..])),
                    _ => "no extension".to_string(),
                },
                accepted: ".npy, .npz, .csv, .csv.gz, .parquet, .pq".into(),
            }),
        }
    }
}

/// Reads the reference outputs in `src`, validates them and aligns them to `table`'s
/// records. See the module doc for layouts, alignment and what is checked.
pub fn load_reference(
    src: &ReferenceSources,
    table: &ScoreTable,
    opts: &ReferenceOptions,
) -> Result<ReferenceData, DataError> {
    crate::check_tolerance(opts.prob_tolerance)?;
    let (mut raw, input) = read_source(src)?;
    let mut inputs = vec![input];
    if let Some(p) = &src.keep {
        let (nd, file) = side_file(p, &mut inputs)?;
        raw.keep = Some(mask_from(nd, &file)?);
    }
    if let Some(p) = &src.ids {
        let (nd, file) = side_file(p, &mut inputs)?;
        raw.ids = Some(ids_from(nd, &file)?);
    }
    for (flag, slot) in [
        (&src.population_target, &mut raw.population.target),
        (&src.population_reference, &mut raw.population.reference),
        (&src.population_labels, &mut raw.population.labels),
    ] {
        if let Some(p) = flag {
            *slot = Some(side_file(p, &mut inputs)?);
        }
    }
    align::assemble(raw, inputs, table, opts)
}

/// Reference-model outputs held in memory (the Python package's `reference=`, `keep=`,
/// ...): the arrays of the `.npy` layout, named in messages `array "reference"`,
/// `array "keep"`, ....
#[derive(Debug, Clone)]
pub struct ReferenceArrays {
    /// K × N φ or losses, or K × N × C logits or probabilities.
    pub reference: Nd,
    /// What `reference` holds; `None`: φ for a 2-D array (a 3-D one must say).
    pub signal: Option<RefSignal>,
    /// K × N keep mask.
    pub keep: Option<Nd>,
    /// N integer record ids of the reference columns (else alignment by position).
    pub ids: Option<Nd>,
    pub population_target: Option<Nd>,
    pub population_reference: Option<Nd>,
    pub population_labels: Option<Nd>,
}

/// [`load_reference`] for arrays held in memory: the same checks and alignment, no input
/// fingerprints.
pub fn load_reference_arrays(
    arrays: ReferenceArrays,
    table: &ScoreTable,
    opts: &ReferenceOptions,
) -> Result<ReferenceData, DataError> {
    crate::check_tolerance(opts.prob_tolerance)?;
    let name = |n: &str| format!("array {}", quote(n));
    let signal = match (arrays.signal, arrays.reference.shape().len()) {
        (Some(s), _) => s,
        (None, 3) => {
            return Err(DataError::Usage {
                message: format!(
                    "{}: a 3-D reference array holds per-class outputs: say whether they are logits or probabilities \
                     (reference_signal=\"logits\" or \"probs\")",
                    name("reference")
                ),
            });
        }
        (None, _) => RefSignal::Phi,
    };
    let block = block_from(arrays.reference, &name("reference"), signal)?;
    let keep = arrays.keep.map(|k| mask_from(k, &name("keep"))).transpose()?;
    let ids = arrays.ids.map(|i| ids_from(i, &name("ids"))).transpose()?;
    let population = PopulationArrays {
        target: arrays.population_target.map(|a| (a, name("population_target"))),
        reference: arrays.population_reference.map(|a| (a, name("population_reference"))),
        labels: arrays.population_labels.map(|a| (a, name("population_labels"))),
    };
    align::assemble(Raw { block, signal, keep, ids, population }, Vec::new(), table, opts)
}

/// Reference-model outputs from files or from memory.
#[derive(Debug, Clone)]
pub enum ReferenceInput {
    Files(ReferenceSources),
    Arrays(Box<ReferenceArrays>),
}

impl From<ReferenceSources> for ReferenceInput {
    fn from(s: ReferenceSources) -> Self {
        ReferenceInput::Files(s)
    }
}

impl From<ReferenceArrays> for ReferenceInput {
    fn from(a: ReferenceArrays) -> Self {
        ReferenceInput::Arrays(Box::new(a))
    }
}

impl ReferenceInput {
    /// Reads (or takes) the reference outputs and aligns them to `table`.
    pub fn load(&self, table: &ScoreTable, opts: &ReferenceOptions) -> Result<ReferenceData, DataError> {
        match self {
            ReferenceInput::Files(src) => load_reference(src, table, opts),
            ReferenceInput::Arrays(a) => load_reference_arrays((**a).clone(), table, opts),
        }
    }
}
