//! Built-in synthetic-data generators, and the seam through which an audit runs any generator.
//!
//! A [`Generator`] fits on a training [`MixedTable`] and samples `n_rows` synthetic records in
//! the same [`MixedSchema`]. The shadow-generator attack ([`crate::shadow`]) runs one many
//! times, on training sets with and without a target record; an audit config names one with a
//! [`GeneratorSpec`] (its `[generator]` section). Three generators are built in:
//!
//! * [`Marginals`]: every column sampled independently from its empirical distribution;
//! * [`GaussianCopula`]: the Gaussian copula of Patki, Wedge & Veeramachaneni, "The Synthetic
//!   Data Vault" (DSAA 2016), as in SDV's `GaussianCopula` — it keeps pairwise dependence;
//! * [`CopyRows`]: emits training rows, i.e. memorises completely (for tests and to calibrate
//!   an audit: every attack should find its members).
//!
//! Every generator is seeded and deterministic (same inputs and seed give the same bits), and
//! single-threaded: audits run many fits side by side. Inputs are checked ([`check_table`]),
//! so no table makes a generator panic.

pub mod copula;
pub mod marginals;

pub use copula::{CategoryOrder, CopulaFit, GaussianCopula};
pub use marginals::{Marginals, auto_bin_edges};

use mia_core::bootstrap::uniform_below;
use ndarray::Array2;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::mixed::{MISSING, MixedSchema, MixedTable};

/// Why a generator could not produce a table.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeneratorError {
    /// The training table has no rows.
    #[error("the generator's training table has no rows")]
    EmptyTraining,
    /// A table does not have the schema's columns.
    #[error("training table has {got} {what} columns, the schema has {expected}")]
    Columns { what: &'static str, expected: usize, got: usize },
    /// Ids and data disagree in length.
    #[error("training table has {ids} ids but {rows} rows of {what} data")]
    Rows { ids: usize, rows: usize, what: &'static str },
    /// A categorical code is not in the schema's dictionary.
    #[error("training record {row}, column {column}: category code {code} is not one of its {levels} levels")]
    Code { row: usize, column: String, code: u32, levels: usize },
    /// A numeric value is infinite (NaN means missing; infinities have no distribution).
    #[error("training record {row}, column {column}: infinite value")]
    Infinite { row: usize, column: String },
    /// A generator setting is out of range.
    #[error("generator setting {name}: {message}")]
    Setting { name: &'static str, message: String },
}

/// Fits on `train` and samples `n_rows` synthetic records.
pub trait Generator: Send + Sync {
    /// A short name for reports (e.g. `"copula"`).
    fn name(&self) -> &str;

    /// Synthetic records with ids `syn-1 ..= syn-n_rows`. The same inputs and `seed` give the
    /// same table bit for bit. Errors only for invalid inputs ([`check_table`]).
    fn generate(
        &self,
        schema: &MixedSchema,
        train: &MixedTable,
        n_rows: usize,
        seed: u64,
    ) -> Result<MixedTable, GeneratorError>;
}

/// The `[generator]` section of a synthetic-data audit config: which generator the shadow
/// attack runs. `kind` picks the variant; unknown keys are errors.
///
/// The audit layer adds a `command` variant (the user's own generator, run as an external
/// command); it is not part of this crate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GeneratorSpec {
    /// Independent marginals ([`Marginals`]).
    Marginals {
        /// Histogram bins per numeric column; absent = numpy's `"auto"` rule.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bins: Option<usize>,
    },
    /// Gaussian copula ([`GaussianCopula`]).
    Copula {
        /// Initial shrinkage λ of the correlation matrix toward the identity.
        #[serde(default = "default_shrinkage")]
        shrinkage: f64,
        /// How categorical values are laid out: `"numeric_mean"` (default) or `"frequency"` (SDV).
        #[serde(default)]
        category_order: CategoryOrder,
    },
    /// Emits training rows ([`CopyRows`]).
    Copy {},
}

fn default_shrinkage() -> f64 {
    copula::DEFAULT_SHRINKAGE
}

impl GeneratorSpec {
    /// The generator this spec names, with its settings checked.
    pub fn generator(&self) -> Result<Box<dyn Generator>, GeneratorError> {
        Ok(match *self {
            GeneratorSpec::Marginals { bins } => Box::new(Marginals::new(bins)?),
            GeneratorSpec::Copula { shrinkage, category_order } => {
                Box::new(GaussianCopula::new(shrinkage, category_order)?)
            }
            GeneratorSpec::Copy {} => Box::new(CopyRows),
        })
    }
}

/// Checks that `train` fits `schema` and can be learned from: at least one row, the schema's
/// column counts, categorical codes in the dictionary or [`MISSING`], no infinite numbers.
pub fn check_table(schema: &MixedSchema, train: &MixedTable) -> Result<(), GeneratorError> {
    let (p, q) = (schema.numeric.len(), schema.categorical.len());
    if train.numeric.ncols() != p {
        return Err(GeneratorError::Columns { what: "numeric", expected: p, got: train.numeric.ncols() });
    }
    if train.categorical.ncols() != q {
        return Err(GeneratorError::Columns { what: "categorical", expected: q, got: train.categorical.ncols() });
    }
    if schema.levels.len() != q {
        return Err(GeneratorError::Columns { what: "dictionary", expected: q, got: schema.levels.len() });
    }
    let n = train.ids.len();
    for (what, rows) in [("numeric", train.numeric.nrows()), ("categorical", train.categorical.nrows())] {
        if rows != n {
            return Err(GeneratorError::Rows { ids: n, rows, what });
        }
    }
    if n == 0 {
        return Err(GeneratorError::EmptyTraining);
    }
    for (j, col) in train.numeric.columns().into_iter().enumerate() {
        if let Some(row) = col.iter().position(|v| v.is_infinite()) {
            return Err(GeneratorError::Infinite { row, column: schema.numeric[j].clone() });
        }
    }
    for (j, col) in train.categorical.columns().into_iter().enumerate() {
        let levels = schema.n_levels(j);
        if let Some(row) = col.iter().position(|&c| c != MISSING && c as usize >= levels) {
            return Err(GeneratorError::Code { row, column: schema.categorical[j].clone(), code: col[row], levels });
        }
    }
    Ok(())
}

/// Emits training rows: all of them in order when `n_rows` equals the training size, else
/// `n_rows` rows drawn uniformly with replacement. A generator that memorises completely.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyRows;

impl Generator for CopyRows {
    fn name(&self) -> &str {
        "copy"
    }

    fn generate(
        &self,
        schema: &MixedSchema,
        train: &MixedTable,
        n_rows: usize,
        seed: u64,
    ) -> Result<MixedTable, GeneratorError> {
        check_table(schema, train)?;
        let rows: Vec<usize> = if n_rows == train.len() {
            (0..n_rows).collect()
        } else {
            let mut rng = mia_core::bootstrap::rng_for(seed, 0);
            (0..n_rows).map(|_| uniform_below(&mut rng, train.len() as u64) as usize).collect()
        };
        let mut out = train.select(&rows);
        out.ids = synthetic_ids(n_rows);
        Ok(out)
    }
}

/// Ids of synthetic records: `syn-1 ..= syn-n`.
pub(crate) fn synthetic_ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("syn-{i}")).collect()
}

/// An empty-shaped output table of `n` rows for `schema`.
pub(crate) fn blank_table(schema: &MixedSchema, n: usize) -> MixedTable {
    MixedTable {
        ids: synthetic_ids(n),
        numeric: Array2::zeros((n, schema.numeric.len())),
        categorical: Array2::zeros((n, schema.categorical.len())),
    }
}

/// Uniform on [0, 1) with 53 random bits.
#[inline]
pub(crate) fn uniform01(rng: &mut impl Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Whether every value is an integer small enough to be exact in f64 (then generators emit
/// integers too, so that an integer column such as age stays integer).
pub(crate) fn all_integer(values: &[f64]) -> bool {
    values.iter().all(|v| v.fract() == 0.0 && v.abs() < 4.5e15)
}
