//! The report's `blind` section: the blind classifiers ([`mia_core::blind`], and for tables
//! the learners of mia-models) evaluated as the attacks are, the verdict on whether the split
//! itself is distinguishable, and every attack set against the strongest classifier by a
//! paired bootstrap of the AUC difference on the same records
//! ([`mia_report::baseline::paired_with_rule`], the comparison `--baseline` uses).

use crate::AuditError;
use mia_core::attacks::AttackScores;
use mia_core::evaluate::{EvalConfig, evaluate_attacks};
use mia_report::baseline::{PairedRecords, paired_with_rule};
use mia_report::report::{AttackReport, Blind, BlindComparison};

/// Blind classifiers' cross-fitted scores, for [`crate::assemble`].
#[derive(Debug, Clone)]
pub(crate) struct BlindInput {
    /// `texts` or `features`.
    pub data: &'static str,
    pub classifiers: Vec<AttackScores>,
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
