//! The shadow-generator attack on synthetic data: Stadler, Oprisanu & Troncoso, "Synthetic
//! Data – Anonymisation Groundhog Day" (USENIX Security 2022), in the generalised form of
//! TAPAS (Houssiau et al., "TAPAS: a Toolbox for Adversarial Privacy Auditing of Synthetic
//! Data", NeurIPS 2022 SyntheticData4ML workshop), with targets chosen as Meeus et al.,
//! "Achilles' Heels: Vulnerable Record Identification in Synthetic Data Publishing" (ESORICS
//! 2023) suggest.
//!
//! For each target record t:
//!
//! 1. `n_shadow` training sets of `train_size` records are drawn without replacement from a
//!    reference sample of real records — which must not contain the audited records; rows
//!    equal to t in every column are left out too. A seeded, balanced design puts t in
//!    exactly half of them (replacing the last drawn record, so every set has the same size).
//! 2. The generator runs on each, giving a synthetic table of the released table's size
//!    (or `synthetic_size`), which becomes a feature vector ([`FeatureMap`]).
//! 3. L2-regularised logistic regression on standardised features
//!    ([`mia_core::logistic::Logistic`]) learns t in / t out. Its held-out accuracy and AUC
//!    come from `folds`-fold cross-validation over the shadow sets (stratified), so a user sees
//!    whether the attack learned anything for t; the classifier refitted on all shadow sets
//!    scores the *released* table: t's score is its log-odds that t was trained on (higher =
//!    member, as everywhere in mia-audit).
//!
//! Targets, by default, are the most isolated records ([`most_isolated`]): the largest mean
//! Gower distance to their k nearest neighbours in the real data (Meeus et al.'s rule, with
//! Gower's mixed-type distance here for their cosine distance on one-hot data).
//!
//! Each shadow fit is an independent task seeded from (seed, target, shadow index); tasks run
//! on rayon and are collected in order, so results do not depend on the thread count.

pub mod features;

pub use features::{FeatureMap, FeatureSet, Gower};

use features::Flat;
use mia_core::bootstrap::{mix_seed, rng_for, uniform_below};
use mia_core::logistic::Logistic;
use mia_core::roc::{FprRule, RankedScores};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::generators::{Generator, GeneratorError, check_table};
use crate::mixed::{MixedSchema, MixedTable};

/// Settings of the shadow-generator attack (the `[shadow]` section of a synthetic audit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShadowConfig {
    /// Targets chosen by [`most_isolated`] (used by the audit layer).
    pub n_targets: usize,
    /// k of the isolation rule.
    pub isolation_k: usize,
    /// Shadow training sets per target (even; half contain the target).
    pub n_shadow: usize,
    /// Records in each shadow training set; it should match the real generator's training
    /// size. Absent: the released table's size (a generator usually releases as many rows as
    /// it saw), capped by the reference records available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_size: Option<usize>,
    /// Rows of each shadow synthetic table; absent = the released table's size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synthetic_size: Option<usize>,
    /// Gower radii of the targeted counting queries.
    pub radii: Vec<f64>,
    /// Quantile bins per numeric column in the marginal and targeted features.
    pub bins: usize,
    /// Feature groups the classifier sees.
    pub features: Vec<FeatureSet>,
    /// Cross-validation folds for the held-out accuracy and AUC.
    pub folds: usize,
    /// L2 penalty of the logistic classifier (on standardised features, mean loss). The
    /// default 1.0 is strong because shadow sets (~200) are few for ~200 features: on Adult
    /// (10 isolated targets, train 1000) it gave the best cross-validated accuracy of 0.01/0.1/1.
    pub l2: f64,
}

impl Default for ShadowConfig {
    fn default() -> Self {
        ShadowConfig {
            n_targets: 10,
            isolation_k: 5,
            n_shadow: 200,
            train_size: None,
            synthetic_size: None,
            radii: vec![0.0, 0.05, 0.1, 0.2],
            bins: 10,
            features: vec![FeatureSet::Marginals, FeatureSet::Correlations, FeatureSet::Targeted],
            folds: 5,
            l2: 1.0,
        }
    }
}

impl ShadowConfig {
    /// Checks ranges; the message names the setting.
    pub fn validate(&self) -> Result<(), ShadowError> {
        let bad = |name: &'static str, message: String| Err(ShadowError::Setting { name, message });
        if self.n_shadow < 4 || self.n_shadow > 1_000_000 || !self.n_shadow.is_multiple_of(2) {
            return bad("n_shadow", format!("must be even, 4 to 1000000, got {}", self.n_shadow));
        }
        if self.folds < 2 || self.folds > self.n_shadow / 2 {
            return bad("folds", format!("must be 2 to n_shadow / 2 = {}, got {}", self.n_shadow / 2, self.folds));
        }
        if self.n_targets == 0 {
            return bad("n_targets", "must be at least 1".into());
        }
        if self.synthetic_size == Some(0) {
            return bad("synthetic_size", "must be at least 1".into());
        }
        if self.train_size == Some(0) {
            return bad("train_size", "must be at least 1".into());
        }
        if self.isolation_k == 0 {
            return bad("isolation_k", "must be at least 1".into());
        }
        if self.bins == 0 || self.bins > 1000 {
            return bad("bins", format!("must be 1 to 1000, got {}", self.bins));
        }
        if let Some(r) = self.radii.iter().find(|r| !(r.is_finite() && **r >= 0.0)) {
            return bad("radii", format!("must be finite and non-negative, got {r}"));
        }
        if !(self.l2.is_finite() && self.l2 > 0.0) {
            return bad("l2", format!("must be positive, got {}", self.l2));
        }
        if self.features.is_empty() {
            return bad("features", "name at least one feature group".into());
        }
        Ok(())
    }
}

/// Why the attack could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShadowError {
    #[error("shadow setting {name}: {message}")]
    Setting { name: &'static str, message: String },
    #[error("{table} table: {source}")]
    Table { table: &'static str, source: GeneratorError },
    #[error(
        "target {target}: the reference sample has {available} records other than the target, need train_size = {needed}"
    )]
    ReferenceTooSmall { target: String, available: usize, needed: usize },
    #[error("target {target}, shadow set {shadow}: generator failed: {source}")]
    Generator { target: String, shadow: usize, source: GeneratorError },
    #[error("target {target}, shadow set {shadow}: the generator's output {source}")]
    Output { target: String, shadow: usize, source: GeneratorError },
    #[error("feature extraction: {0}")]
    Shape(String),
}

/// One target's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetResult {
    /// The target's record id.
    pub id: String,
    /// Its row in the `targets` table.
    pub row: usize,
    /// Log-odds that the target was in the released table's training set (higher = member).
    pub score: f64,
    /// Cross-validated accuracy of the in/out classifier on shadow sets (threshold log-odds 0).
    pub heldout_accuracy: f64,
    /// 95% Clopper–Pearson interval of that accuracy.
    pub heldout_accuracy_ci: [f64; 2],
    /// Cross-validated AUC of the in/out classifier on shadow sets.
    pub heldout_auc: f64,
    /// Shadow sets behind those held-out numbers (each held out once).
    pub n_heldout: usize,
    /// Reference records left out of this target's shadow training sets because they equal
    /// the target in every column.
    pub reference_excluded: usize,
}

/// The attack's outcome, one entry per target in input order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShadowResult {
    pub targets: Vec<TargetResult>,
    /// Length of each shadow feature vector.
    pub n_features: usize,
    pub n_shadow: usize,
    pub train_size: usize,
    pub synthetic_size: usize,
}

/// Rows of `real` sorted by isolation — the mean Gower distance to their `k` nearest other
/// rows (ranges from `real`) — most isolated first, ties by row; the first `n_targets`.
/// With fewer than two rows every row is equally (not) isolated. (The schema is not needed:
/// Gower's distance treats every column by its kind in `real`.)
pub fn most_isolated(_schema: &MixedSchema, real: &MixedTable, k: usize, n_targets: usize) -> Vec<usize> {
    let n = real.len();
    let k = k.clamp(1, n.saturating_sub(1).max(1));
    let gower = Gower::fit(real);
    let flat = Flat::new(real);
    let isolation: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| {
            // The k smallest distances, kept sorted (k is small).
            let mut best: Vec<f64> = Vec::with_capacity(k + 1);
            for j in (0..n).filter(|&j| j != i) {
                let d = gower.distance(flat.num_row(i), flat.cat_row(i), flat.num_row(j), flat.cat_row(j));
                if best.len() < k || d < best[best.len() - 1] {
                    let at = best.partition_point(|&b| b <= d);
                    best.insert(at, d);
                    best.truncate(k);
                }
            }
            if best.is_empty() { 0.0 } else { best.iter().sum::<f64>() / best.len() as f64 }
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| isolation[b].total_cmp(&isolation[a]).then(a.cmp(&b)));
    order.truncate(n_targets);
    order
}

/// Whether two records agree in every column (missing equals missing).
fn same_record(a_num: &[f64], a_cat: &[u32], b_num: &[f64], b_cat: &[u32]) -> bool {
    a_num.iter().zip(b_num).all(|(x, y)| x == y || (x.is_nan() && y.is_nan())) && a_cat == b_cat
}

/// Stream of target i's shadow set b (b = u32::MAX: its in/out design).
fn stream(target: usize, shadow: u32) -> u64 {
    ((target as u64) << 32) | shadow as u64
}

/// Runs the attack for every record of `targets` against the `released` synthetic table (see
/// the [module docs](self)). `reference` must be real records from the same population that
/// are not among those audited.
pub fn shadow_attack(
    schema: &MixedSchema,
    targets: &MixedTable,
    reference: &MixedTable,
    released: &MixedTable,
    generator: &dyn Generator,
    cfg: &ShadowConfig,
    seed: u64,
) -> Result<ShadowResult, ShadowError> {
    cfg.validate()?;
    check_table(schema, reference).map_err(|source| ShadowError::Table { table: "reference", source })?;
    if !targets.is_empty() {
        check_table(schema, targets).map_err(|source| ShadowError::Table { table: "targets", source })?;
    }
    if !released.is_empty() {
        check_table(schema, released).map_err(|source| ShadowError::Table { table: "released", source })?;
    }
    let synthetic_size = cfg.synthetic_size.unwrap_or(released.len());
    let map = FeatureMap::new(schema, reference, &cfg.features, cfg.bins, &cfg.radii);
    let (ref_flat, tgt_flat, rel_flat) = (Flat::new(reference), Flat::new(targets), Flat::new(released));
    let n_shadow = cfg.n_shadow;

    // Per target: eligible reference rows and the balanced in/out design.
    let eligibles: Vec<Vec<usize>> = (0..targets.len())
        .map(|t| {
            let (t_num, t_cat) = (tgt_flat.num_row(t), tgt_flat.cat_row(t));
            (0..reference.len())
                .filter(|&r| !same_record(ref_flat.num_row(r), ref_flat.cat_row(r), t_num, t_cat))
                .collect()
        })
        .collect();
    let train_size =
        cfg.train_size.unwrap_or_else(|| eligibles.iter().map(Vec::len).min().unwrap_or(0).min(released.len()).max(1));
    let mut plans = Vec::with_capacity(targets.len());
    for (t, eligible) in eligibles.into_iter().enumerate() {
        if eligible.len() < train_size {
            return Err(ShadowError::ReferenceTooSmall {
                target: targets.ids[t].clone(),
                available: eligible.len(),
                needed: train_size,
            });
        }
        let mut design: Vec<bool> = (0..n_shadow).map(|b| b < n_shadow / 2).collect();
        let mut rng = rng_for(seed, stream(t, u32::MAX));
        for i in (1..n_shadow).rev() {
            design.swap(i, uniform_below(&mut rng, i as u64 + 1) as usize);
        }
        plans.push((eligible, design));
    }

    // Every shadow fit, in parallel, collected in (target, shadow) order.
    let tasks: Vec<(usize, usize)> = (0..targets.len()).flat_map(|t| (0..n_shadow).map(move |b| (t, b))).collect();
    let shadow_features: Vec<Result<Vec<f64>, ShadowError>> = tasks
        .par_iter()
        .map(|&(t, b)| {
            let (eligible, design) = &plans[t];
            let task_seed = mix_seed(seed, stream(t, b as u32));
            let mut rng = rng_for(task_seed, 0);
            // Partial Fisher–Yates: the first train_size entries become the sample.
            let mut pool = eligible.clone();
            for i in 0..train_size {
                let j = i + uniform_below(&mut rng, (pool.len() - i) as u64) as usize;
                pool.swap(i, j);
            }
            pool.truncate(train_size);
            let mut train = reference.select(&pool);
            if design[b] {
                let last = train_size - 1;
                train.numeric.row_mut(last).assign(&targets.numeric.row(t));
                train.categorical.row_mut(last).assign(&targets.categorical.row(t));
                train.ids[last] = targets.ids[t].clone();
            }
            let synthetic = generator
                .generate(schema, &train, synthetic_size, mix_seed(task_seed, 1))
                .map_err(|source| ShadowError::Generator { target: targets.ids[t].clone(), shadow: b, source })?;
            // The generator may be the user's own program: check what it returned.
            if synthetic.len() != synthetic_size {
                let source = GeneratorError::Setting {
                    name: "n_rows",
                    message: format!("has {} rows, asked for {synthetic_size}", synthetic.len()),
                };
                return Err(ShadowError::Output { target: targets.ids[t].clone(), shadow: b, source });
            }
            if !synthetic.is_empty() {
                check_table(schema, &synthetic).map_err(|source| ShadowError::Output {
                    target: targets.ids[t].clone(),
                    shadow: b,
                    source,
                })?;
            }
            Ok(map.extract_flat(&Flat::new(&synthetic), tgt_flat.num_row(t), tgt_flat.cat_row(t)))
        })
        .collect();
    let mut features = Vec::with_capacity(shadow_features.len());
    for f in shadow_features {
        features.push(f?);
    }

    let d = map.len();
    let results: Vec<TargetResult> = (0..targets.len())
        .into_par_iter()
        .map(|t| {
            let (eligible, design) = &plans[t];
            let x: Vec<f64> = features[t * n_shadow..(t + 1) * n_shadow].iter().flatten().copied().collect();
            let fold = mia_core::attacks::stratified_folds(design, cfg.folds, mix_seed(seed, stream(t, u32::MAX - 1)));
            let mut heldout = vec![0.0; n_shadow];
            for f in 0..cfg.folds {
                let fit_rows: Vec<usize> = (0..n_shadow).filter(|&r| fold[r] != f).collect();
                let model = Logistic::fit(&x, d, &fit_rows, design, cfg.l2);
                (0..n_shadow).filter(|&r| fold[r] == f).for_each(|r| heldout[r] = model.decision(&x, d, r));
            }
            let correct = heldout.iter().zip(design).filter(|(s, m)| (**s > 0.0) == **m).count();
            let auc = RankedScores::new(&heldout, design).metrics(&[], FprRule::AtMost).auc;
            let all: Vec<usize> = (0..n_shadow).collect();
            let model = Logistic::fit(&x, d, &all, design, cfg.l2);
            let released_features = map.extract_flat(&rel_flat, tgt_flat.num_row(t), tgt_flat.cat_row(t));
            TargetResult {
                id: targets.ids[t].clone(),
                row: t,
                score: model.decision(&released_features, d, 0),
                heldout_accuracy: correct as f64 / n_shadow as f64,
                heldout_accuracy_ci: mia_core::stats::clopper_pearson(correct as u64, n_shadow as u64, 0.95),
                heldout_auc: auc,
                n_heldout: n_shadow,
                reference_excluded: reference.len() - eligible.len(),
            }
        })
        .collect();
    Ok(ShadowResult { targets: results, n_features: d, n_shadow, train_size, synthetic_size })
}
