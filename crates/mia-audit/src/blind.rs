//! The report's `blind` section: the blind classifiers ([`mia_core::blind`], and for tables
//! the learners of mia-models) evaluated as the attacks are, the verdict on whether the split
//! itself is distinguishable, and every attack set against the strongest classifier by a
//! paired bootstrap of the AUC difference on the same records
//! ([`mia_report::baseline::paired_with_rule`], the comparison `--baseline` uses).

use crate::AuditError;
use mia_core::attacks::{AttackScores, Fitting, stratified_folds};
use mia_core::blind::{FeatureRows, cross_fitted_blind_logistic};
use mia_core::bootstrap::mix_seed;
use mia_core::evaluate::{EvalConfig, evaluate_attacks};
use mia_core::signals::ModelOutputs;
use mia_models::gbt::{GbtLearner, GbtParams};
use mia_models::{Learner, TrainSet};
use mia_report::baseline::{PairedRecords, paired_with_rule};
use mia_report::report::{AttackReport, Blind, BlindComparison};
use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

/// Blind classifiers' cross-fitted scores, for [`crate::assemble`].
#[derive(Debug, Clone)]
pub(crate) struct BlindInput {
    /// `texts` or `features`.
    pub data: &'static str,
    pub classifiers: Vec<AttackScores>,
}

/// Seed stream of the blind gradient-boosted trees (fold f: `mix_seed(seed, GBT_STREAM + f)`).
const GBT_STREAM: u64 = 0x424c_494e_4400_0000;

/// The blind trees: smaller than the learner's defaults (50 rounds of 15 leaves), enough to
/// find a shift in a few columns or their interactions, and quick on every audit.
fn blind_gbt() -> GbtParams {
    GbtParams { max_iter: 50, max_leaf_nodes: Some(15), ..GbtParams::default() }
}

/// The blind check over feature rows (`x`: the audited records' features, one row each):
/// logistic regression and gradient-boosted trees, each cross-fitted over `folds` folds.
pub(crate) fn blind_features(
    x: ArrayView2<'_, f32>,
    member: &[bool],
    folds: usize,
    seed: u64,
) -> Result<BlindInput, AuditError> {
    let (n, d) = x.dim();
    let fold = stratified_folds(member, folds, seed);
    let rows = FeatureRows::dense(x.iter().map(|&v| f64::from(v)).collect(), d);
    let (logistic, unconverged) = cross_fitted_blind_logistic(&rows, member, &fold, folds);
    let y: Vec<usize> = member.iter().map(|&m| usize::from(m)).collect();
    let learner = GbtLearner::new(blind_gbt()).map_err(|e| AuditError::Input(format!("blind check: {e}")))?;
    let parts: Vec<Result<Vec<(usize, f64)>, AuditError>> = (0..folds)
        .into_par_iter()
        .map(|f| {
            let train: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
            let test: Vec<usize> = (0..n).filter(|&i| fold[i] == f).collect();
            let set = TrainSet { x, y: &y, n_classes: 2, rows: &train };
            let err = |e: mia_models::ModelError| AuditError::Input(format!("blind check: {e}"));
            let model = learner.fit(&set, mix_seed(seed, GBT_STREAM + f as u64)).map_err(err)?;
            let margin = match model.outputs(x.select(Axis(0), &test).view()).map_err(err)? {
                ModelOutputs::Logits(z) => {
                    z.column(1).iter().zip(z.column(0)).map(|(a, b)| a - b).collect::<Vec<f64>>()
                }
                other => unreachable!("gradient-boosted trees give logits, got {}", other.kind()),
            };
            Ok(test.into_iter().zip(margin).collect())
        })
        .collect();
    let mut trees = vec![0.0; n];
    for part in parts {
        for (i, v) in part? {
            trees[i] = v;
        }
    }
    let fitting = |method: &str, notes: Vec<String>| Some(Fitting { method: method.into(), folds, seed, notes });
    let mut notes = Vec::new();
    if unconverged > 0 {
        notes.push(format!("{unconverged} of {folds} fits stopped at the iteration limit"));
    }
    let p = blind_gbt();
    Ok(BlindInput {
        data: "features",
        classifiers: vec![
            AttackScores {
                name: "features_logistic".into(),
                description: format!("logistic regression (C = 1) on the {d} encoded features of each record alone"),
                scores: logistic,
                fitting: fitting("L2 logistic regression by L-BFGS, k-fold cross-fitting", notes),
            },
            AttackScores {
                name: "features_gbt".into(),
                description: format!(
                    "gradient-boosted trees ({} rounds, at most {} leaves) on the {d} encoded features of each record alone",
                    p.max_iter,
                    p.max_leaf_nodes.unwrap_or(0)
                ),
                scores: trees,
                fitting: fitting("gradient-boosted trees, k-fold cross-fitting", Vec::new()),
            },
        ],
    })
}

/// A mixed-type table's records as feature rows: numeric columns as they are (missing as 0,
/// with a missing-indicator column where any value is missing), categorical columns one-hot
/// (missing as no level).
pub(crate) fn mixed_features(t: &mia_synth::mixed::MixedTable, schema: &mia_synth::mixed::MixedSchema) -> Array2<f32> {
    let n = t.len();
    let mut cols: Vec<Vec<f32>> = Vec::new();
    for c in t.numeric.columns() {
        cols.push(c.iter().map(|&v| if v.is_nan() { 0.0 } else { v as f32 }).collect());
        if c.iter().any(|v| v.is_nan()) {
            cols.push(c.iter().map(|v| if v.is_nan() { 1.0 } else { 0.0 }).collect());
        }
    }
    for (j, c) in t.categorical.columns().into_iter().enumerate() {
        for level in 0..schema.n_levels(j) as u32 {
            cols.push(c.iter().map(|&v| if v == level { 1.0 } else { 0.0 }).collect());
        }
    }
    Array2::from_shape_fn((n, cols.len()), |(i, j)| cols[j][i])
}

/// Evaluates the blind classifiers and compares every attack (`scores`) with the strongest.
pub(crate) fn blind_section(
    input: BlindInput,
    ids: &[String],
    member: &[bool],
    scores: &[(String, Vec<f64>)],
    eval: &EvalConfig,
) -> Result<Blind, AuditError> {
    let refs: Vec<&[f64]> = input.classifiers.iter().map(|c| c.scores.as_slice()).collect();
    let evaluations = evaluate_attacks(&refs, member, eval).map_err(|e| AuditError::Input(e.to_string()))?;
    let classifiers: Vec<AttackReport> = input
        .classifiers
        .iter()
        .zip(evaluations)
        .map(|(c, e)| AttackReport {
            name: c.name.clone(),
            description: c.description.clone(),
            fitting: c.fitting.clone(),
            evaluation: e,
        })
        .collect();
    let mut best = 0;
    for (k, c) in classifiers.iter().enumerate() {
        if c.evaluation.auc.value > classifiers[best].evaluation.auc.value {
            best = k;
        }
    }
    let strongest = &classifiers[best];
    let e = &strongest.evaluation;
    let distinguishable = match e.auc.ci {
        Some([lo, _]) => lo > 0.5,
        None => e.p_value < 1.0 - eval.confidence,
    };
    let attacks = compare(&input.classifiers[best].scores, ids, member, scores, eval)?;
    let verdict = verdict(strongest, distinguishable, &attacks, eval.confidence);
    Ok(Blind {
        data: input.data.to_string(),
        strongest: strongest.name.clone(),
        auc: e.auc.clone(),
        tpr_at_fpr: e.tpr_at_fpr.clone(),
        distinguishable,
        verdict,
        attacks,
        classifiers,
    })
}

/// Each attack's AUC minus the blind classifier's, with the paired bootstrap interval.
fn compare(
    blind: &[f64],
    ids: &[String],
    member: &[bool],
    scores: &[(String, Vec<f64>)],
    eval: &EvalConfig,
) -> Result<Vec<BlindComparison>, AuditError> {
    if scores.is_empty() {
        return Ok(Vec::new());
    }
    // The blind scores under every attack's name, so each attack is paired with them.
    let old: Vec<(String, Vec<f64>)> = scores.iter().map(|(n, _)| (n.clone(), blind.to_vec())).collect();
    let diffs = paired_with_rule(
        PairedRecords { ids, member, scores: &old },
        PairedRecords { ids, member, scores },
        &[],
        eval.fpr_rule,
        eval.bootstrap_resamples,
        eval.confidence,
        eval.seed,
    )
    .map_err(|e| AuditError::Input(format!("blind check: {e}")))?;
    Ok(diffs
        .attacks
        .iter()
        .map(|a| BlindComparison {
            attack: a.name.clone(),
            auc: a.auc.new,
            blind_auc: a.auc.old,
            difference: a.auc.delta,
            ci: a.auc.ci,
            beats_blind: match a.auc.ci {
                Some([lo, _]) => lo > 0.0,
                None => a.auc.delta > 0.0,
            },
        })
        .collect())
}

fn verdict(strongest: &AttackReport, distinguishable: bool, attacks: &[BlindComparison], confidence: f64) -> String {
    let auc = &strongest.evaluation.auc;
    let shown = match auc.ci {
        Some([lo, hi]) => format!("AUC {:.3} ({:.0} % interval {lo:.3}–{hi:.3})", auc.value, confidence * 100.0),
        None => format!("AUC {:.3}", auc.value),
    };
    if !distinguishable {
        return format!(
            "At chance: a classifier that never saw the model ({}) does not tell members from non-members \
             ({shown}), so the attacks' figures are not explained by a difference between the two samples.",
            strongest.name
        );
    }
    let beaten: Vec<&str> = attacks.iter().filter(|a| !a.beats_blind).map(|a| a.attack.as_str()).collect();
    let tail = if beaten.is_empty() {
        "Every attack beats it on the same records; read each attack's figure against it.".to_string()
    } else {
        format!(
            "{} of {} attacks do not beat it on the same records ({}): their figures may measure the split, not \
             the model.",
            beaten.len(),
            attacks.len(),
            beaten.join(", ")
        )
    };
    format!(
        "The split itself is distinguishable: a classifier that never saw the model ({}) tells members from \
         non-members with {shown}. Members and non-members differ in distribution (period, topic, source, \
         length), so an attack's AUC is an upper bound on what the model leaks only beyond this. {tail}",
        strongest.name
    )
}
