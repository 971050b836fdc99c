//! The learned (attack-model) attack, cross-fitted.
//!
//! As in Shokri et al. (S&P 2017) and Salem et al.'s ML-Leaks (NDSS 2019), and the
//! attack classifiers of ART and TF Privacy, an attack model learns membership from a
//! record's output features: here the top-3 sorted probabilities, loss, φ, entropy,
//! modified entropy and the one-hot label (for up to 30 classes). Each record is scored by a model
//! fitted on the other folds only.
//!
//! The model is [`crate::logistic::Logistic`]: L2-regularised logistic regression on
//! standardised features.

use super::AttackConfig;
use crate::bootstrap::{rng_for, uniform_below};
use crate::logistic::Logistic;
use crate::signals::Signals;

/// Largest label count one-hot encoded into the features.
const MAX_ONE_HOT: usize = 30;
/// Signals are clipped here so a few saturated records do not dominate the fit.
const CLIP: f64 = 50.0;

fn features(s: &Signals, labels: Option<&[usize]>) -> (Vec<f64>, usize) {
    let n = s.loss.len();
    let n_classes = labels.and_then(|l| l.iter().copied().max()).map_or(0, |m| m + 1);
    let one_hot = if n_classes <= MAX_ONE_HOT { n_classes } else { 0 };
    let k_top = s.top_log_probs.as_ref().map_or(0, |t| t.ncols());
    let mut cols = 2 + k_top + one_hot;
    if s.entropy.is_some() {
        cols += 2;
    }
    let mut x = Vec::with_capacity(n * cols);
    for i in 0..n {
        x.push(s.loss[i].min(CLIP));
        x.push(s.phi[i].clamp(-CLIP, CLIP));
        if let Some(t) = &s.top_log_probs {
            x.extend(t.row(i).iter().map(|l| l.exp()));
        }
        if let (Some(e), Some(m)) = (&s.entropy, &s.modified_entropy) {
            x.push(e[i]);
            x.push(m[i].min(CLIP));
        }
        if let Some(l) = labels {
            for c in 0..one_hot {
                x.push(if l[i] == c { 1.0 } else { 0.0 });
            }
        }
    }
    (x, cols)
}

/// Cross-fitted learned-attack scores and notes for the report.
pub(crate) fn learned_attack(
    s: &Signals,
    labels: Option<&[usize]>,
    member: &[bool],
    fold: &[usize],
    cfg: &AttackConfig,
) -> (Vec<f64>, Vec<String>) {
    let (x, d) = features(s, labels);
    cross_fitted_logistic(&x, d, member, fold, cfg)
}

/// Scores every record by an L2 logistic regression (log-odds of membership) over the
/// row-major features `x` (`d` columns), fitted on the other folds only (`fold[i]` is record
/// i's fold, `cfg.folds` of them; at most `cfg.learned_max_train` seeded training records per
/// fold). Returns the scores and notes for the report.
pub fn cross_fitted_logistic(
    x: &[f64],
    d: usize,
    member: &[bool],
    fold: &[usize],
    cfg: &AttackConfig,
) -> (Vec<f64>, Vec<String>) {
    let n = member.len();
    let mut out = vec![0.0; n];
    let mut notes = Vec::new();
    let fold_scores: Vec<Vec<(usize, f64)>> = {
        use rayon::prelude::*;
        (0..cfg.folds)
            .into_par_iter()
            .map(|f| {
                let mut train: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
                if train.len() > cfg.learned_max_train {
                    let mut rng = rng_for(cfg.seed, 1_000 + f as u64);
                    for i in 0..cfg.learned_max_train {
                        let j = i + uniform_below(&mut rng, (train.len() - i) as u64) as usize;
                        train.swap(i, j);
                    }
                    train.truncate(cfg.learned_max_train);
                    train.sort_unstable();
                }
                let model = Logistic::fit(x, d, &train, member, 1e-4);
                (0..n).filter(|&i| fold[i] == f).map(|i| (i, model.decision(x, d, i))).collect()
            })
            .collect()
    };
    for fs in fold_scores {
        for (i, v) in fs {
            out[i] = v;
        }
    }
    if n - n / cfg.folds > cfg.learned_max_train {
        notes.push(format!(
            "each fold's attack model was fitted on a seeded subsample of {} training records",
            cfg.learned_max_train
        ));
    }
    (out, notes)
}
