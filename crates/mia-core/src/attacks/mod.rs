//! Attacks that need no reference models: signals turned into one score per record,
//! oriented so that **higher = more likely member**.
//!
//! | attack | score | source |
//! |---|---|---|
//! | `loss` | −loss | Yeom et al., CSF 2018 |
//! | `confidence` | p_y (rank-equal to −loss except where p_y saturates at 1) | Salem et al., NDSS 2019 |
//! | `phi` | φ = ln p_y − ln(1 − p_y) | Carlini et al., S&P 2022 |
//! | `entropy` | −entropy | Salem et al., NDSS 2019 |
//! | `modified_entropy` | −modified entropy | Song & Mittal, USENIX Security 2021 |
//! | `correctness` | 1 if the prediction is right, else 0 (the gap attack) | Yeom et al., CSF 2018 |
//! | `<signal>_per_class` | signal − t_c, t_c a per-class threshold | Song & Mittal 2021 |
//! | `learned` | logit of a logistic-regression attack model | Shokri et al. 2017 / ML-Leaks |
//!
//! Song & Mittal fit one threshold per class. Here the threshold of class c is the one that
//! maximises TPR − FPR among the class's records **in the other folds** (k-fold
//! cross-fitting), and the record's score is its signal minus that threshold, so a single
//! global threshold sweep reproduces per-class thresholding and no record is scored with a
//! threshold fitted on itself.

use crate::bootstrap::{rng_for, uniform_below};
use crate::roc::{FprRule, RankedScores};
use crate::signals::Signals;
use serde::Serialize;

mod learned;
pub use learned::cross_fitted_logistic;

/// One attack's per-record scores.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackScores {
    pub name: String,
    pub description: String,
    pub scores: Vec<f64>,
    /// How fitted parameters were kept off the scored records (`None`: nothing fitted).
    pub fitting: Option<Fitting>,
}

/// The cross-fitting record of a fitted attack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fitting {
    pub method: String,
    pub folds: usize,
    pub seed: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Settings shared by fitted attacks.
#[derive(Debug, Clone)]
pub struct AttackConfig {
    pub folds: usize,
    pub seed: u64,
    /// At most this many training records per fold for the learned attack (seeded subsample).
    pub learned_max_train: usize,
}

impl Default for AttackConfig {
    fn default() -> Self {
        AttackConfig { folds: 5, seed: 0, learned_max_train: 200_000 }
    }
}

/// Every score-only attack name, in report order.
pub const SCORE_ONLY_ATTACKS: &[&str] = &[
    "loss",
    "confidence",
    "phi",
    "entropy",
    "modified_entropy",
    "correctness",
    "loss_per_class",
    "confidence_per_class",
    "entropy_per_class",
    "modified_entropy_per_class",
    "learned",
];

/// Seeded fold of each record, stratified by membership (so every fold holds both).
pub fn stratified_folds(member: &[bool], folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = rng_for(seed, u64::MAX - 2);
    let mut fold = vec![0usize; member.len()];
    let mut next = 0usize;
    for class in [true, false] {
        let mut idx: Vec<usize> = (0..member.len()).filter(|&i| member[i] == class).collect();
        for i in (1..idx.len()).rev() {
            let j = uniform_below(&mut rng, i as u64 + 1) as usize;
            idx.swap(i, j);
        }
        // Deal round-robin, continuing where the other class stopped, so fold sizes
        // differ by at most one overall.
        for &i in &idx {
            fold[i] = next % folds;
            next += 1;
        }
    }
    fold
}

/// Threshold maximising TPR − FPR for `scores` (members score ≥ threshold), or `None`
/// when one class is absent or no threshold beats chance.
fn best_threshold(scores: &[f64], member: &[bool]) -> Option<f64> {
    let r = RankedScores::new(scores, member);
    if r.n_pos == 0 || r.n_neg == 0 {
        return None;
    }
    let m = r.metrics(&[], FprRule::AtMost);
    m.advantage_group.map(|g| r.group_score[g])
}

/// Per-class thresholds cross-fitted over folds; see the module doc.
fn per_class_scores(
    signal: &[f64],
    labels: &[usize],
    member: &[bool],
    fold: &[usize],
    folds: usize,
) -> (Vec<f64>, Vec<String>) {
    let n_classes = labels.iter().copied().max().map_or(0, |m| m + 1);
    let mut out = vec![0.0; signal.len()];
    let mut fallbacks = 0usize;
    for f in 0..folds {
        let train: Vec<usize> = (0..signal.len()).filter(|&i| fold[i] != f).collect();
        let global = {
            let (s, m): (Vec<f64>, Vec<bool>) = train.iter().map(|&i| (signal[i], member[i])).unzip();
            best_threshold(&s, &m).unwrap_or(0.0)
        };
        let mut per_class = vec![global; n_classes];
        for (c, t) in per_class.iter_mut().enumerate() {
            let (s, m): (Vec<f64>, Vec<bool>) =
                train.iter().filter(|&&i| labels[i] == c).map(|&i| (signal[i], member[i])).unzip();
            match best_threshold(&s, &m) {
                Some(x) => *t = x,
                None => fallbacks += 1,
            }
        }
        for i in (0..signal.len()).filter(|&i| fold[i] == f) {
            out[i] = signal[i] - per_class[labels[i]];
        }
    }
    let mut notes = Vec::new();
    if fallbacks > 0 {
        notes.push(format!(
            "{fallbacks} (fold, class) pairs lacked members or non-members or any informative threshold in the training folds and used the global threshold"
        ));
    }
    (out, notes)
}

/// Runs the score-only attacks named in `names` (all of [`SCORE_ONLY_ATTACKS`] that the
/// signals support when `names` is `None`). Attacks that need the full output vector
/// or labels are skipped when those are absent; the returned list says what ran.
pub fn score_only_attacks(
    signals: &Signals,
    labels: Option<&[usize]>,
    member: &[bool],
    names: Option<&[String]>,
    cfg: &AttackConfig,
) -> Vec<AttackScores> {
    let neg = |v: &[f64]| v.iter().map(|x| -x).collect::<Vec<f64>>();
    let wanted = |n: &str| names.is_none_or(|ns| ns.iter().any(|x| x == n));
    let fold = stratified_folds(member, cfg.folds, cfg.seed);
    let fitting = |notes: Vec<String>, method: &str| Fitting {
        method: method.to_string(),
        folds: cfg.folds,
        seed: cfg.seed,
        notes,
    };
    let mut out = Vec::new();
    let mut push = |name: &str, description: &str, scores: Vec<f64>, fit: Option<Fitting>| {
        out.push(AttackScores { name: name.into(), description: description.into(), scores, fitting: fit })
    };
    // (name, oriented signal) for the plain and per-class variants.
    let mut plain: Vec<(&str, &str, Vec<f64>)> = vec![
        ("loss", "negative cross-entropy loss of the true class", neg(&signals.loss)),
        ("confidence", "probability of the true class", signals.confidence.clone()),
        ("phi", "logit-scaled confidence ln(p_y / (1 - p_y))", signals.phi.clone()),
    ];
    if let Some(e) = &signals.entropy {
        plain.push(("entropy", "negative entropy of the predicted distribution", neg(e)));
    }
    if let Some(e) = &signals.modified_entropy {
        plain.push(("modified_entropy", "negative modified entropy (Song & Mittal 2021)", neg(e)));
    }
    if let Some(c) = &signals.correct {
        let s = c.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect();
        plain.push(("correctness", "1 when the model's prediction is right (gap attack)", s));
    }
    for (name, desc, s) in &plain {
        if wanted(name) {
            push(name, desc, s.clone(), None);
        }
    }
    if let Some(labels) = labels {
        for (name, _, s) in &plain {
            let pc = format!("{name}_per_class");
            if *name == "phi" || *name == "correctness" || !wanted(&pc) {
                continue;
            }
            let (scores, notes) = per_class_scores(s, labels, member, &fold, cfg.folds);
            let desc = format!("{name} score minus a per-class threshold cross-fitted on the other folds");
            push(&pc, &desc, scores, Some(fitting(notes, "per-class max-advantage threshold, k-fold cross-fitting")));
        }
    }
    if wanted("learned") {
        let (scores, notes) = learned::learned_attack(signals, labels, member, &fold, cfg);
        push(
            "learned",
            "logistic-regression attack model on sorted top-3 probabilities, loss, phi, entropies and label",
            scores,
            Some(fitting(notes, "L2 logistic regression, k-fold cross-fitting")),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::{ModelOutputs, compute_signals};
    use ndarray::Array2;

    #[test]
    fn folds_are_stratified_and_balanced() {
        let m: Vec<bool> = (0..103).map(|i| i % 5 < 2).collect();
        let f = stratified_folds(&m, 5, 9);
        for k in 0..5 {
            let members = (0..103).filter(|&i| f[i] == k && m[i]).count();
            let size = (0..103).filter(|&i| f[i] == k).count();
            assert!((8..=9).contains(&members), "fold {k}: {members}");
            assert!((20..=21).contains(&size));
        }
    }

    /// A class whose members and non-members are separable only after a per-class shift:
    /// the per-class attack must beat the global one.
    #[test]
    fn per_class_thresholds_help_when_classes_differ() {
        let n = 2000;
        let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let member: Vec<bool> = (0..n).map(|i| (i / 2) % 2 == 0).collect();
        let mut z = Array2::zeros((n, 2));
        for i in 0..n {
            // Class 1 records are all less confident; members +1 logit within each class.
            let base = if labels[i] == 0 { 3.0 } else { 0.5 };
            let bump = if member[i] { 1.0 } else { 0.0 };
            let jitter = ((i * 7919) % 97) as f64 / 97.0;
            z[[i, labels[i]]] = base + bump + jitter;
        }
        let s = compute_signals(&ModelOutputs::Logits(z), Some(&labels));
        let names = vec!["loss".to_string(), "loss_per_class".to_string()];
        let out = score_only_attacks(&s, Some(&labels), &member, Some(&names), &AttackConfig::default());
        let adv = |a: &AttackScores| RankedScores::new(&a.scores, &member).metrics(&[], FprRule::AtMost).advantage;
        assert_eq!(out.len(), 2);
        assert!(adv(&out[1]) > adv(&out[0]) + 0.1, "{} vs {}", adv(&out[1]), adv(&out[0]));
    }
}
