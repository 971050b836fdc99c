//! Attacks that use reference (shadow) models: one score per audit record, oriented so
//! that **higher = more likely member**, like every attack in [`crate::attacks`].
//!
//! The setting: N audit records; a target model; K reference models, each trained on the
//! audit records marked in row k of a K × N keep mask (`keep[[k, n]]` = record n was in
//! model k's training set); optionally P population records that no model, target or
//! reference, trained on. The per-record signal is φ = ln p_y − ln(1 − p_y) (see
//! [`crate::signals`]); where an attack needs the true-class probability or the loss they
//! are derived from φ in f64 without rounding: p_y = sigmoid(φ), ln p_y = −softplus(−φ),
//! loss = softplus(−φ).
//!
//! | attack | score (higher = member) | source |
//! |---|---|---|
//! | `lira_online` | log N(φ_t; μ_in, σ_in²) − log N(φ_t; μ_out, σ_out²) | Carlini et al., S&P 2022 |
//! | `lira_offline` | log Φ((φ_t − μ_out)/σ_out), or −log N(φ_t; μ_out, σ_out²) two-sided | Carlini et al., S&P 2022 |
//! | `rmia_online` | fraction of population z with LR(x, z) ≥ γ, Pr(x) from all K models | Zarifzadeh et al., ICML 2024 |
//! | `rmia_offline` | the same with Pr(x) = ½((1+a)·Pr_OUT(x) + (1−a)) | Zarifzadeh et al., ICML 2024 |
//! | `attack_p` | fraction of population losses ≥ the target's loss on x | Ye et al., CCS 2022 |
//! | `attack_r` | 1 − smallest α whose interpolated α-percentile of x's OUT losses (plus end points 0, 1000) flags x | Ye et al., CCS 2022 |
//! | `difficulty_calibration` | mean OUT reference loss on x − target loss on x | Watson et al., ICLR 2022 |
//! | `shokri_shadow` | log-odds of a per-class attack model trained on reference outputs | Shokri et al., S&P 2017 |
//!
//! The formulas, options and conventions are spelled out on each function: [`lira`],
//! [`rmia`], [`calibrated`], [`shokri`]. [`reference_attacks`] runs any subset with one
//! [`ReferenceConfig`], whose defaults are the papers' and which deserialises from an
//! audit's `[attacks]` tables.
//!
//! No attack here fits anything on the target's membership labels: reference models'
//! memberships come from the keep mask, which the auditor chose. So no cross-fitting is
//! needed, and every score of a record depends only on the observations, not on which
//! other records are members of the target.
//!
//! Inputs are validated: shapes must agree (K × N mask and reference φ, N target φ, K × P
//! population φ), every φ must be finite with |φ| ≤ [`PHI_BOUND`] (which keeps every
//! intermediate, squares included, finite), and an attack that needs IN or OUT
//! observations of a record the mask does not provide fails with [`CoreError::Invalid`]
//! naming the record and the counts. Every score is then finite.

pub mod calibrated;
pub mod lira;
pub mod rmia;
pub mod shokri;

pub use calibrated::{AttackRConfig, Interpolation, attack_p, attack_r, difficulty_calibration};
pub use lira::{Center, LiraConfig, LiraStd, OfflineTest, Variance, lira_offline, lira_online, log_normal_cdf};
pub use rmia::{Comparison, RmiaConfig, rmia_offline, rmia_online};
pub use shokri::{ShokriConfig, shokri_shadow};

use crate::CoreError;
use crate::attacks::AttackScores;
use crate::signals::ModelOutputs;
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

/// Largest |φ| accepted. A logit-scaled confidence of 1e100 is already far beyond what
/// any f64 model output can mean (f64 probabilities saturate at |φ| ≈ 745); the bound
/// keeps squared standardised deviations finite even with the authors' σ + 1e-30.
pub const PHI_BOUND: f64 = 1e100;

/// Every reference-model attack name, in report order.
pub const REFERENCE_ATTACKS: &[&str] = &[
    "lira_online",
    "lira_offline",
    "rmia_online",
    "rmia_offline",
    "attack_p",
    "attack_r",
    "difficulty_calibration",
    "shokri_shadow",
];

/// The reference-model attacks that need population records.
pub const POPULATION_ATTACKS: &[&str] = &["rmia_online", "rmia_offline", "attack_p"];

/// φ of the population records (records no model trained on).
#[derive(Debug, Clone, Copy)]
pub struct Population<'a> {
    /// Under the target model, P values.
    pub target_phi: &'a [f64],
    /// Under each reference model, K × P.
    pub reference_phi: ArrayView2<'a, f64>,
}

/// Full outputs of the target and reference models on the audit records (for
/// `shokri_shadow`): logits or probabilities, N × C each, and the N labels.
#[derive(Debug, Clone, Copy)]
pub struct FullOutputs<'a> {
    pub target: &'a ModelOutputs,
    /// One per reference model, in the keep mask's row order.
    pub references: &'a [ModelOutputs],
    pub labels: &'a [usize],
}

/// Everything the reference-model attacks read.
#[derive(Debug, Clone, Copy)]
pub struct ReferenceInputs<'a> {
    /// φ of the N audit records under the target model.
    pub target_phi: &'a [f64],
    /// φ of the audit records under each reference model, K × N.
    pub reference_phi: ArrayView2<'a, f64>,
    /// K × N: `keep[[k, n]]` when record n was in reference model k's training set.
    pub keep: ArrayView2<'a, bool>,
    /// Needed by `rmia_*` and `attack_p`.
    pub population: Option<Population<'a>>,
    /// Needed by `shokri_shadow`.
    pub outputs: Option<FullOutputs<'a>>,
}

impl<'a> ReferenceInputs<'a> {
    /// Inputs without population records or full outputs.
    pub fn new(target_phi: &'a [f64], reference_phi: ArrayView2<'a, f64>, keep: ArrayView2<'a, bool>) -> Self {
        ReferenceInputs { target_phi, reference_phi, keep, population: None, outputs: None }
    }

    pub fn with_population(mut self, population: Population<'a>) -> Self {
        self.population = Some(population);
        self
    }

    pub fn with_outputs(mut self, outputs: FullOutputs<'a>) -> Self {
        self.outputs = Some(outputs);
        self
    }

    /// Number of audit records N.
    pub fn n_records(&self) -> usize {
        self.target_phi.len()
    }

    /// Number of reference models K.
    pub fn n_models(&self) -> usize {
        self.reference_phi.nrows()
    }

    /// Checks shapes and values of the target φ, reference φ and keep mask (not the
    /// optional parts). Returns (N, K).
    pub fn check(&self) -> Result<(usize, usize), CoreError> {
        let n = self.target_phi.len();
        let (k, rn) = self.reference_phi.dim();
        if n == 0 {
            return Err(CoreError::Invalid("no audit records (target φ is empty)".into()));
        }
        if k == 0 {
            return Err(CoreError::Invalid("no reference models (reference φ has 0 rows)".into()));
        }
        if rn != n {
            return Err(CoreError::Invalid(format!(
                "reference φ is {k} × {rn} (models × records) but the target φ has {n} records"
            )));
        }
        if self.keep.dim() != (k, n) {
            let (a, b) = self.keep.dim();
            return Err(CoreError::Invalid(format!(
                "keep mask is {a} × {b} but reference φ is {k} × {n} (models × records)"
            )));
        }
        check_phi(self.target_phi.iter().copied(), |i| format!("target φ of record {i}"))?;
        check_phi(self.reference_phi.iter().copied(), |i| format!("reference φ of model {}, record {}", i / n, i % n))?;
        Ok((n, k))
    }

    /// The population, checked against K; errors (naming `attack`) when absent.
    pub fn population_checked(&self, attack: &str) -> Result<Population<'a>, CoreError> {
        let Some(p) = self.population else {
            return Err(CoreError::Invalid(format!(
                "{attack} needs population records (φ under the target and every reference model); none were given"
            )));
        };
        let np = p.target_phi.len();
        if np == 0 {
            return Err(CoreError::Invalid(format!("{attack}: the population is empty")));
        }
        let k = self.n_models();
        if p.reference_phi.dim() != (k, np) {
            let (a, b) = p.reference_phi.dim();
            return Err(CoreError::Invalid(format!(
                "population reference φ is {a} × {b} but expected {k} × {np} (reference models × population records)"
            )));
        }
        check_phi(p.target_phi.iter().copied(), |i| format!("population φ of record {i} under the target"))?;
        check_phi(p.reference_phi.iter().copied(), |i| {
            format!("population φ of record {} under reference model {}", i % np, i / np)
        })?;
        Ok(p)
    }
}

fn check_phi(values: impl Iterator<Item = f64>, what: impl Fn(usize) -> String) -> Result<(), CoreError> {
    for (i, v) in values.enumerate() {
        if !v.is_finite() || v.abs() > PHI_BOUND {
            return Err(CoreError::Invalid(format!(
                "{} is {v:e}; expected a finite value with |φ| ≤ {PHI_BOUND:e}",
                what(i)
            )));
        }
    }
    Ok(())
}

/// ln(1 + e^x) without overflow or loss of precision.
#[inline]
pub(crate) fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Cross-entropy loss of the true class from φ: −ln p_y = softplus(−φ).
#[inline]
pub(crate) fn loss_from_phi(phi: f64) -> f64 {
    softplus(-phi)
}

/// ln p_y from φ: −softplus(−φ).
#[inline]
pub(crate) fn log_p_from_phi(phi: f64) -> f64 {
    -softplus(-phi)
}

/// Number of IN and OUT reference models of every record.
pub(crate) fn in_out_counts(keep: ArrayView2<bool>) -> (Vec<usize>, Vec<usize>) {
    let (k, n) = keep.dim();
    let mut n_in = vec![0usize; n];
    for row in keep.rows() {
        for (c, &b) in n_in.iter_mut().zip(row) {
            *c += b as usize;
        }
    }
    let n_out = n_in.iter().map(|&c| k - c).collect();
    (n_in, n_out)
}

/// Errors unless every record has at least `min` observations in `counts` (IN or OUT,
/// as `side` says), naming the first record short of them.
pub(crate) fn require(counts: &[usize], min: usize, side: &str, attack: &str, k: usize) -> Result<(), CoreError> {
    let short: Vec<usize> = (0..counts.len()).filter(|&i| counts[i] < min).collect();
    if let Some(&first) = short.first() {
        return Err(CoreError::Invalid(format!(
            "{attack} needs at least {min} {side} reference model(s) per record: record {first} has {} {side} of K = {k} \
             ({} of {} records have fewer than {min})",
            counts[first],
            short.len(),
            counts.len()
        )));
    }
    Ok(())
}

/// Fills `buf` with record n's reference φ from the models where `keep[[k, n]] == want`,
/// in model order.
pub(crate) fn gather(phi: ArrayView2<f64>, keep: ArrayView2<bool>, n: usize, want: bool, buf: &mut Vec<f64>) {
    buf.clear();
    buf.extend(phi.column(n).iter().zip(keep.column(n)).filter(|&(_, &b)| b == want).map(|(&v, _)| v));
}

/// `(min, max)` of counts, for descriptions.
pub(crate) fn range(counts: &[usize]) -> (usize, usize) {
    (counts.iter().copied().min().unwrap_or(0), counts.iter().copied().max().unwrap_or(0))
}

pub(crate) fn range_text(counts: &[usize]) -> String {
    match range(counts) {
        (a, b) if a == b => format!("{a}"),
        (a, b) => format!("{a}–{b}"),
    }
}

/// Settings of every reference-model attack. `Default` gives each paper's defaults (see
/// the sub-structs). Deserialises from an audit's attack tables, e.g.
///
/// ```toml
/// [attacks.lira]
/// center = "median"            # "mean" (default) | "median"
/// variance = "global"          # "per_example" (default) | "global"
/// std = "reference_code"       # "population" (ddof 0, default) | "sample" (ddof 1) | "reference_code"
/// std_floor = 1e-6
/// offline_test = "two_sided"   # "one_sided" (default) | "two_sided"
///
/// [attacks.rmia]
/// gamma = 2.0
/// offline_a = 0.33
/// comparison = "greater_equal" # | "greater"
/// population_samples = 5000    # omit for all population records
///
/// [attacks.attack_r]
/// interpolation = "linear"     # | "none"
/// loss_min = 0.0               # end points added to the reference losses ("linear")
/// loss_max = 1000.0
///
/// [attacks.shokri]
/// max_train = 200000
/// l2 = 1e-4
/// ```
///
/// Unknown keys are errors (`deny_unknown_fields`), so a misspelt option never silently
/// falls back to a default.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReferenceConfig {
    pub lira: LiraConfig,
    pub rmia: RmiaConfig,
    pub attack_r: AttackRConfig,
    pub shokri: ShokriConfig,
}

/// A reference-attack setting outside its allowed range. `Display`:
/// `rmia.gamma = 0: expected a positive finite number`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key} = {value}: expected {allowed}")]
pub struct InvalidSetting {
    /// The setting as written in a config (`rmia.gamma`, `[rmia] gamma` in TOML).
    pub key: &'static str,
    pub value: String,
    pub allowed: &'static str,
}

impl InvalidSetting {
    pub(crate) fn new(key: &'static str, value: impl ToString, allowed: &'static str) -> InvalidSetting {
        InvalidSetting { key, value: value.to_string(), allowed }
    }
}

impl ReferenceConfig {
    /// The first setting outside its range, whichever attacks run: a setting is checked
    /// before any work, not only when its attack is reached.
    pub fn invalid_setting(&self) -> Option<InvalidSetting> {
        self.lira
            .invalid()
            .or_else(|| self.rmia.invalid())
            .or_else(|| self.attack_r.invalid())
            .or_else(|| self.shokri.invalid())
    }
}

/// Why `name` cannot run on `inputs` (a missing optional input), or `None` when it can
/// try. Unknown names give `None` (they belong to other dispatchers).
pub fn missing_input(name: &str, inputs: &ReferenceInputs) -> Option<&'static str> {
    match name {
        n if POPULATION_ATTACKS.contains(&n) && inputs.population.is_none() => {
            Some("needs population records (φ under the target and every reference model)")
        }
        "shokri_shadow" if inputs.outputs.is_none() => {
            Some("needs full outputs (logits or probabilities) of the target and reference models, and labels")
        }
        _ => None,
    }
}

/// Runs the reference-model attacks named in `names` (every one of [`REFERENCE_ATTACKS`]
/// whose inputs are present when `names` is `None`; names that are not reference attacks
/// are ignored, as they belong to other dispatchers). Results come in
/// [`REFERENCE_ATTACKS`] order.
///
/// An attack is skipped when `names` is `None` and its optional input (population, full
/// outputs) is absent — [`missing_input`] says why, for the report. Asking for it by name
/// without its input is an error, and so is any invalid input (shapes, non-finite φ, a
/// record lacking the IN or OUT models a variant needs): nothing is dropped silently.
///
/// `seed` drives the only random choices (RMIA's population subsample when configured,
/// the Shokri attack models' training subsample when capped); results are bit-identical
/// for the same inputs, configuration and seed, whatever the thread count.
pub fn reference_attacks(
    inputs: &ReferenceInputs,
    names: Option<&[String]>,
    cfg: &ReferenceConfig,
    seed: u64,
) -> Result<Vec<AttackScores>, CoreError> {
    inputs.check()?;
    let explicit = |n: &str| names.is_some_and(|ns| ns.iter().any(|x| x == n));
    let mut out = Vec::new();
    for &name in REFERENCE_ATTACKS {
        let wanted = names.is_none() || explicit(name);
        if !wanted {
            continue;
        }
        if let Some(why) = missing_input(name, inputs) {
            if explicit(name) {
                return Err(CoreError::Invalid(format!("attack {name} was requested but {why}")));
            }
            continue;
        }
        let (scores, description, fitting) = match name {
            "lira_online" => (lira_online(inputs, &cfg.lira)?, lira::describe(inputs, &cfg.lira, true), None),
            "lira_offline" => (lira_offline(inputs, &cfg.lira)?, lira::describe(inputs, &cfg.lira, false), None),
            "rmia_online" => (rmia_online(inputs, &cfg.rmia, seed)?, rmia::describe(inputs, &cfg.rmia, true), None),
            "rmia_offline" => (rmia_offline(inputs, &cfg.rmia, seed)?, rmia::describe(inputs, &cfg.rmia, false), None),
            "attack_p" => (attack_p(inputs)?, calibrated::describe_p(inputs), None),
            "attack_r" => (attack_r(inputs, &cfg.attack_r)?, calibrated::describe_r(inputs, &cfg.attack_r), None),
            "difficulty_calibration" => {
                (difficulty_calibration(inputs)?, calibrated::describe_difficulty(inputs), None)
            }
            "shokri_shadow" => {
                let (scores, fitting) = shokri_shadow(inputs, &cfg.shokri, seed)?;
                (scores, shokri::describe(inputs, &cfg.shokri), Some(fitting))
            }
            _ => unreachable!("every name of REFERENCE_ATTACKS is handled"),
        };
        out.push(AttackScores { name: name.to_string(), description, scores, fitting });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
