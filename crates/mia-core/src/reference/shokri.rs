//! The shadow-model attack of Shokri, Stronati, Song, Shmatikov, "Membership Inference
//! Attacks Against Machine Learning Models", IEEE S&P 2017.
//!
//! The reference models play the shadow models. For every class c one attack classifier
//! is trained on the reference models' outputs on the audit records of class c, each
//! output labelled IN or OUT by the keep mask (`keep[[k, n]]`): K · N_c training rows.
//! The class's classifier is then applied to the target model's outputs on the same
//! records, and its log-odds of "IN" is the score (higher = member).
//!
//! * Features of an output (one row): the top-k probabilities sorted in decreasing order
//!   (k = min(C, 3)), the true-class loss (capped at 50) and φ (clipped to ±50), all
//!   computed in f64 from logits or probabilities by [`crate::signals::compute_signals`].
//!   Shokri et al. feed the whole probability vector; sorting makes the features
//!   comparable across classes and the top 3 carry almost all of its mass, while the loss
//!   and φ carry the true-class information a per-class model would otherwise read from
//!   the vector's position.
//! * Classifier: [`crate::logistic::Logistic`], L2-regularised logistic regression on
//!   standardised features fitted exactly by Newton's method (Shokri et al. used a neural
//!   network; a linear model on these monotone features is a stable, deterministic
//!   stand-in).
//! * A class whose reference rows are all IN or all OUT cannot be learned alone; its
//!   records are scored by one model trained on every class (noted in the `Fitting`).
//! * Each model's training set is capped at `max_train` rows by a seeded subsample
//!   without replacement, so large K × N stays fast; the cap and the seed are recorded.
//!
//! The attack model never sees the target's membership labels — only reference outputs
//! labelled by the keep mask the auditor chose — so, unlike `learned` in
//! [`crate::attacks`], no cross-fitting is needed and the `Fitting` says so (`folds: 0`).
//! Deterministic: the per-class fits run in parallel but each is sequential and they are
//! collected in class order.

use super::{FullOutputs, InvalidSetting, ReferenceInputs};
use crate::CoreError;
use crate::attacks::Fitting;
use crate::bootstrap::{rng_for, uniform_below};
use crate::logistic::Logistic;
use crate::signals::{ModelOutputs, Signals, compute_signals};
use ndarray::Axis;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Features are clipped here so a few saturated outputs do not dominate the fit.
const CLIP: f64 = 50.0;
/// Random streams of the training subsamples: class c uses STREAM + c, the all-class
/// model STREAM + u32::MAX.
const STREAM: u64 = 0x5348_4F4B_0000_0000; // "SHOK"

/// Shokri attack options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShokriConfig {
    /// Most training rows per attack model (seeded subsample beyond it).
    pub max_train: usize,
    /// L2 penalty on the standardised weights (the mean log-loss plus l2/2 · |w|²).
    pub l2: f64,
}

impl Default for ShokriConfig {
    fn default() -> Self {
        ShokriConfig { max_train: 200_000, l2: 1e-4 }
    }
}

impl ShokriConfig {
    /// The first setting outside its range.
    pub fn invalid(&self) -> Option<InvalidSetting> {
        if self.max_train == 0 {
            return Some(InvalidSetting::new("shokri.max_train", 0, "at least 1"));
        }
        (!(self.l2 > 0.0 && self.l2.is_finite()))
            .then(|| InvalidSetting::new("shokri.l2", self.l2, "a positive finite number"))
    }
}

fn check_outputs(o: &FullOutputs, n: usize, k: usize) -> Result<usize, CoreError> {
    if o.references.len() != k {
        return Err(CoreError::Invalid(format!(
            "shokri_shadow: {} reference model outputs but the keep mask has K = {k} models",
            o.references.len()
        )));
    }
    if o.labels.len() != n {
        return Err(CoreError::Length { what: "shokri_shadow labels", expected: n, got: o.labels.len() });
    }
    let c = o.target.n_classes().ok_or_else(|| {
        CoreError::Invalid("shokri_shadow needs logits or probabilities of the target, not losses".into())
    })?;
    if c < 2 {
        return Err(CoreError::Invalid(format!("shokri_shadow needs at least 2 classes, got {c}")));
    }
    for (which, out) in
        std::iter::once((None, o.target)).chain(o.references.iter().enumerate().map(|(i, r)| (Some(i), r)))
    {
        let name = which.map_or("the target".to_string(), |i| format!("reference model {i}"));
        let a = match out {
            ModelOutputs::Logits(a) | ModelOutputs::Probabilities(a) => a,
            ModelOutputs::Loss(_) => {
                return Err(CoreError::Invalid(format!(
                    "shokri_shadow needs logits or probabilities of {name}, not losses"
                )));
            }
        };
        if a.dim() != (n, c) {
            let (r, cc) = a.dim();
            return Err(CoreError::Invalid(format!(
                "shokri_shadow: outputs of {name} are {r} × {cc}, expected {n} × {c} (records × classes)"
            )));
        }
        let probs = matches!(out, ModelOutputs::Probabilities(_));
        if let Some((idx, v)) = a.indexed_iter().find(|(_, v)| !v.is_finite() || (probs && **v < 0.0)) {
            return Err(CoreError::Invalid(format!(
                "shokri_shadow: {} of {name} at record {}, class {} is {v}",
                if probs { "probability" } else { "logit" },
                idx.0,
                idx.1
            )));
        }
    }
    if let Some((i, &y)) = o.labels.iter().enumerate().find(|(_, y)| **y >= c) {
        return Err(CoreError::Invalid(format!("shokri_shadow: label of record {i} is {y}, expected < {c}")));
    }
    Ok(c)
}

/// Appends the feature rows (d columns, row-major) of every record in `s` to `x`.
fn push_features(s: &Signals, x: &mut Vec<f64>) {
    let top = s.top_log_probs.as_ref().expect("full outputs give top log-probabilities");
    for i in 0..s.loss.len() {
        x.extend(top.row(i).iter().map(|l| l.exp()));
        x.push(s.loss[i].min(CLIP));
        x.push(s.phi[i].clamp(-CLIP, CLIP));
    }
}

/// `min(m, total)` distinct integers of 0..total in increasing order: all of them when
/// `total ≤ m`, else a seeded uniform subset (Floyd's algorithm, so memory is O(m)
/// however large `total` is).
fn choose(total: usize, m: usize, seed: u64, stream: u64) -> Vec<usize> {
    if total <= m {
        return (0..total).collect();
    }
    let mut rng = rng_for(seed, stream);
    let mut set = std::collections::HashSet::with_capacity(m);
    for j in total - m..total {
        let t = uniform_below(&mut rng, j as u64 + 1) as usize;
        if !set.insert(t) {
            set.insert(j);
        }
    }
    let mut v: Vec<usize> = set.into_iter().collect();
    v.sort_unstable();
    v
}

/// One attack model's training rows: (reference model k, record n) pairs.
struct Training {
    rows: Vec<(usize, usize)>,
    capped: bool,
}

/// Shokri et al.'s shadow-model attack (module doc): per-class logistic attack models
/// trained on the reference models' outputs labelled by the keep mask, applied to the
/// target's outputs. Returns the scores (log-odds of membership) and the fitting record.
/// Needs full outputs ([`FullOutputs`]) and both IN and OUT observations somewhere in
/// the mask.
///
/// Only the outputs of the chosen training rows are turned into features, so memory
/// and time follow `max_train` × classes, not K × N.
pub fn shokri_shadow(
    inputs: &ReferenceInputs,
    cfg: &ShokriConfig,
    seed: u64,
) -> Result<(Vec<f64>, Fitting), CoreError> {
    let (n, k) = inputs.check()?;
    let o = inputs.outputs.ok_or_else(|| {
        CoreError::Invalid(
            "shokri_shadow needs full outputs (logits or probabilities) of the target and reference models, and labels"
                .into(),
        )
    })?;
    let n_classes = check_outputs(&o, n, k)?;
    if let Some(bad) = cfg.invalid() {
        return Err(CoreError::Invalid(bad.to_string()));
    }
    let labels = o.labels;
    let keep = inputs.keep;
    let (n_in, _) = super::in_out_counts(keep);
    let total_in: usize = n_in.iter().sum();
    if total_in == 0 || total_in == k * n {
        return Err(CoreError::Invalid(format!(
            "shokri_shadow needs both IN and OUT reference observations; the keep mask is all {}",
            if total_in == 0 { "OUT" } else { "IN" }
        )));
    }
    // Records of each class; a class's candidate rows are K × its records, k-major.
    let mut records: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &y) in labels.iter().enumerate() {
        records[y].push(i);
    }
    let mut plans: Vec<Option<Training>> = Vec::with_capacity(n_classes);
    for (c, recs) in records.iter().enumerate() {
        let ins: usize = recs.iter().map(|&i| n_in[i]).sum();
        let total = k * recs.len();
        if recs.is_empty() || ins == 0 || ins == total {
            plans.push(None);
            continue;
        }
        let chosen = choose(total, cfg.max_train, seed, STREAM + c as u64);
        let rows: Vec<(usize, usize)> = chosen.iter().map(|&j| (j / recs.len(), recs[j % recs.len()])).collect();
        // A subsample holding one side only cannot be learned either.
        let has = |want: bool| rows.iter().any(|&(m, i)| keep[[m, i]] == want);
        plans.push((has(true) && has(false)).then_some(Training { rows, capped: total > cfg.max_train }));
    }
    let fallback: Vec<usize> = (0..n_classes).filter(|&c| !records[c].is_empty() && plans[c].is_none()).collect();
    let global = (!fallback.is_empty()).then(|| {
        let chosen = choose(k * n, cfg.max_train, seed, STREAM + u32::MAX as u64);
        Training { rows: chosen.iter().map(|&j| (j / n, j % n)).collect(), capped: k * n > cfg.max_train }
    });
    // Features of the needed (model, record) outputs only, model by model.
    let mut needed: Vec<Vec<usize>> = vec![Vec::new(); k];
    for t in plans.iter().flatten().chain(global.iter()) {
        for &(m, i) in &t.rows {
            needed[m].push(i);
        }
    }
    let feats: Vec<(Vec<usize>, Vec<f64>)> = needed
        .into_par_iter()
        .zip(o.references.par_iter())
        .map(|(mut recs, out)| {
            recs.sort_unstable();
            recs.dedup();
            let sub = match out {
                ModelOutputs::Logits(a) => ModelOutputs::Logits(a.select(Axis(0), &recs)),
                ModelOutputs::Probabilities(a) => ModelOutputs::Probabilities(a.select(Axis(0), &recs)),
                ModelOutputs::Loss(_) => unreachable!("checked: full outputs"),
            };
            let sub_labels: Vec<usize> = recs.iter().map(|&i| labels[i]).collect();
            let mut x = Vec::new();
            push_features(&compute_signals(&sub, Some(&sub_labels)), &mut x);
            (recs, x)
        })
        .collect();
    let target = compute_signals(o.target, Some(labels));
    let d = target.top_log_probs.as_ref().map_or(0, |t| t.ncols()) + 2;
    let mut xt = Vec::with_capacity(n * d);
    push_features(&target, &mut xt);
    let fit = |t: &Training| -> Logistic {
        let mut x = Vec::with_capacity(t.rows.len() * d);
        let mut y = Vec::with_capacity(t.rows.len());
        for &(m, i) in &t.rows {
            let (recs, f) = &feats[m];
            let p = recs.binary_search(&i).expect("features computed for every training row");
            x.extend_from_slice(&f[p * d..(p + 1) * d]);
            y.push(keep[[m, i]]);
        }
        let rows: Vec<usize> = (0..t.rows.len()).collect();
        Logistic::fit(&x, d, &rows, &y, cfg.l2)
    };
    let models: Vec<Option<Logistic>> = plans.par_iter().map(|p| p.as_ref().map(fit)).collect();
    let global_model = global.as_ref().map(fit);
    let scores = (0..n)
        .map(|i| {
            let model = models[labels[i]].as_ref().or(global_model.as_ref()).expect("a model for every class present");
            model.decision(&xt, d, i)
        })
        .collect();
    let mut notes = vec![
        "attack models are trained on reference-model outputs labelled by the keep mask, never on the target's \
         membership labels, so no cross-fitting is needed"
            .to_string(),
    ];
    if !fallback.is_empty() {
        notes.push(format!(
            "classes {fallback:?} had only IN or only OUT reference observations and were scored by one model trained \
             on all classes"
        ));
    }
    if plans.iter().flatten().chain(global.iter()).any(|t| t.capped) {
        notes.push(format!("attack-model training sets were capped at {} rows by a seeded subsample", cfg.max_train));
    }
    let fitting = Fitting {
        method: "per-class L2 logistic attack models on reference (shadow) model outputs; no cross-fitting".into(),
        folds: 0,
        seed,
        notes,
    };
    Ok((scores, fitting))
}

pub(crate) fn describe(inputs: &ReferenceInputs, cfg: &ShokriConfig) -> String {
    let k = inputs.n_models();
    let top = inputs.outputs.and_then(|o| o.target.n_classes()).map_or(3, |c| c.min(3));
    format!(
        "shadow-model attack (Shokri et al., S&P 2017): per-class L2 logistic regression (l2 = {:e}, standardised \
         features, Newton) trained on the {k} reference models' outputs on the audit records labelled IN/OUT by the keep \
         mask (at most {} rows per model, seeded subsample), applied to the target's outputs; features: top-{top} sorted \
         probabilities, loss (capped at 50), φ (clipped to ±50); score = attack model log-odds",
        cfg.l2, cfg.max_train
    )
}
