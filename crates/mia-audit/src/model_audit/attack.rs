//! Step 3 of a model audit: the attacks. The target's stage (its signals on the audit
//! records, the score-only attacks and their evaluation) needs no reference model and runs
//! while they train; the reference attacks (LiRA, RMIA, Attack-P/R, Shokri, …) run once
//! every model's outputs are in.

use super::prepare::Prepared;
use super::train::Trained;
use crate::assemble::{Evaluated, evaluate_part};
use crate::label_noise::{NoisyCopies, choose_level, keep_rates, population_keep_rates};
use crate::quantile::{Calibration, QUANTILE_ATTACK, QuantileRecords, operating_points, quantile_attack};
use crate::{AuditError, Control, Progress};
use mia_core::attacks::{AttackConfig, AttackScores, Fitting, SCORE_ONLY_ATTACKS, score_only_attacks};
use mia_core::reference::{FullOutputs, Population, REFERENCE_ATTACKS, ReferenceInputs};
use mia_core::signals::{ModelOutputs, Signals, compute_signals};
use ndarray::{Array2, Axis};
use rayon::prelude::*;

/// The target's outputs, signals and score-only attacks.
pub(crate) struct TargetStage {
    /// Its logits on every table row (moved into [`Trained::outputs`] once the stage is done).
    pub logits: Array2<f64>,
    /// Its outputs on the audit records, as the model gave them: a given target's
    /// probabilities stay probabilities, so saturated ones are reported as such.
    pub outputs: ModelOutputs,
    pub signals: Signals,
    pub score_only: Evaluated,
}

/// The requested attacks among `known` (`None`: all of them).
fn requested(prep: &Prepared<'_>, known: &[&str]) -> Option<Vec<String>> {
    prep.cfg.attacks.run.as_ref().map(|r| r.iter().filter(|n| known.contains(&n.as_str())).cloned().collect())
}

/// The target's signals and its score-only attacks (a label-only target's: `correctness`
/// and, from the classes it predicts for the noisy copies, `label_noise`), evaluated.
pub(crate) fn target_stage(
    prep: &Prepared<'_>,
    logits: Array2<f64>,
    target_raw: Option<&ModelOutputs>,
    noise_labels: Option<&Array2<f64>>,
) -> Result<TargetStage, AuditError> {
    let cfg = prep.cfg;
    let (audit, labels, member) = (&prep.plan.audit, &prep.labels_audit, &prep.plan.target_member);
    let outputs = match target_raw {
        Some(ModelOutputs::Probabilities(p)) => ModelOutputs::Probabilities(p.select(Axis(0), audit)),
        _ => ModelOutputs::Logits(logits.select(Axis(0), audit)),
    };
    let signals = compute_signals(&outputs, Some(labels));
    let names = if cfg.label_only() {
        // Only what a label gives: correctness (from the predicted class alone).
        Some(cfg.attacks.wanted(&["correctness"]).into_iter().map(String::from).collect())
    } else {
        requested(prep, SCORE_ONLY_ATTACKS)
    };
    let attack_cfg = AttackConfig { folds: cfg.attacks.folds, seed: cfg.seed, ..AttackConfig::default() };
    let mut scores = if names.as_ref().is_none_or(|s: &Vec<String>| !s.is_empty()) {
        score_only_attacks(&signals, Some(labels), member, names.as_deref(), &attack_cfg)
    } else {
        Vec::new()
    };
    if let (Some((noise, _)), Some(predicted)) = (&prep.noise, noise_labels) {
        scores.push(label_noise_attack(prep, noise, predicted));
    }
    if runs_quantile(prep) {
        scores.push(population_quantile(prep, &logits, &signals.phi)?);
    }
    let eval = cfg.eval.with_seed(cfg.seed);
    let score_only = evaluate_part(scores, member, Some(labels), &eval, cfg.report.slices.as_deref())?;
    Ok(TargetStage { logits, outputs, signals, score_only })
}

/// Whether the quantile-regression attack runs: on a target seen in full, when it is
/// requested (or nothing is) and the population has enough records to fit on.
pub(crate) fn runs_quantile(prep: &Prepared<'_>) -> bool {
    let cfg = prep.cfg;
    !cfg.label_only()
        && !cfg.attacks.wanted(&[QUANTILE_ATTACK]).is_empty()
        && prep.plan.population.len() >= cfg.attacks.quantile.min_fit_records()
}

/// `quantile`: the target's φ on each audited record minus the (1 − α) quantile of φ that a
/// gradient-boosted regressor, fitted on the population records (features and class → φ),
/// predicts for it ([`crate::quantile`]). No reference model is used.
fn population_quantile(
    prep: &Prepared<'_>,
    logits: &Array2<f64>,
    audit_phi: &[f64],
) -> Result<AttackScores, AuditError> {
    let (cfg, plan) = (prep.cfg, &prep.plan);
    let q = &cfg.attacks.quantile;
    let pop_outputs = ModelOutputs::Logits(logits.select(Axis(0), &plan.population));
    let pop_phi = compute_signals(&pop_outputs, Some(&prep.labels_population)).phi;
    let (x_pop, x_audit) = (prep.x.select(Axis(0), &plan.population), prep.x.select(Axis(0), &plan.audit));
    let fit = QuantileRecords { x: x_pop.view(), labels: Some(&prep.labels_population), phi: &pop_phi };
    let eval = QuantileRecords { x: x_audit.view(), labels: Some(&prep.labels_audit), phi: audit_phi };
    let (scores, mut notes) = quantile_attack(fit, eval, prep.shape.1, q)?;
    notes.push(Calibration::of(&scores, &plan.target_member).note(q.alpha));
    let eval_cfg = &cfg.eval;
    notes.extend(operating_points(
        &eval_cfg.fpr_targets,
        q,
        eval_cfg.confidence,
        plan.population.len(),
        &plan.target_member,
        |at| quantile_attack(fit, eval, prep.shape.1, at).map(|(s, _)| s),
    )?);
    Ok(AttackScores {
        name: QUANTILE_ATTACK.into(),
        description: crate::quantile::description(q),
        scores,
        fitting: Some(Fitting {
            method: format!(
                "gradient-boosted quantile regression (pinball loss, level {}) fitted on the {} population records, \
                 which no model trained on and which are not audited",
                q.level(),
                plan.population.len()
            ),
            folds: 0,
            seed: cfg.seed,
            notes,
        }),
    })
}

/// `label_noise`: each audited record's share of noisy copies that kept its true class, at the
/// noise level chosen on the population records ([`crate::label_noise`]).
fn label_noise_attack(prep: &Prepared<'_>, noise: &NoisyCopies, predicted: &Array2<f64>) -> AttackScores {
    let labels: Vec<usize> = noise.rows.iter().map(|&r| prep.table.labels[r]).collect();
    let rates = keep_rates(predicted, &labels, noise.config.copies);
    let means = population_keep_rates(&rates, noise.audited);
    let level = choose_level(&means);
    let (l, pop_rate) = (noise.config.levels[level], means[level]);
    let per_level: Vec<String> = noise.config.levels.iter().zip(&means).map(|(l, m)| format!("{l}: {m:.3}")).collect();
    AttackScores {
        name: "label_noise".into(),
        description: format!(
            "share of {} noisy copies (Gaussian noise of {l} standard deviations on numeric columns, flips with \
             probability {} on binary and categorical ones) for which the target keeps the true class \
             (Choquette-Choo et al. 2021)",
            noise.config.copies,
            l / 2.0
        ),
        scores: rates.row(level).iter().take(noise.audited).copied().collect(),
        fitting: Some(Fitting {
            method: "noise level chosen on the population records (their mean keep rate nearest 1/2); no audited \
                     record's answers enter the choice"
                .into(),
            folds: 0,
            seed: prep.cfg.seed,
            notes: vec![
                format!("population mean keep rate by level: {}; chosen {l} ({pop_rate:.3})", per_level.join(", ")),
                format!(
                    "{} queries to the target: {} levels × {} records (audited and population) × {} copies",
                    noise.queries(),
                    noise.config.levels.len(),
                    noise.rows.len(),
                    noise.config.copies
                ),
            ],
        }),
    }
}

/// φ of every model in `outputs` on `rows`, as a models × rows array.
fn phi(outputs: &[Array2<f64>], rows: &[usize], labels: &[usize]) -> Result<Array2<f64>, AuditError> {
    let one = |a: &Array2<f64>| compute_signals(&ModelOutputs::Logits(a.select(Axis(0), rows)), Some(labels)).phi;
    Array2::from_shape_vec((outputs.len(), rows.len()), outputs.par_iter().flat_map_iter(one).collect())
        .map_err(|e| AuditError::Input(e.to_string()))
}

/// The reference attacks over every model's outputs, evaluated.
pub(crate) fn reference_attacks(
    prep: &Prepared<'_>,
    trained: &Trained,
    ctl: &Control<'_>,
) -> Result<Evaluated, AuditError> {
    ctl.check()?;
    ctl.report(Progress::Stage("attacks"));
    let (cfg, plan) = (prep.cfg, &prep.plan);
    let names = requested(prep, REFERENCE_ATTACKS);
    let mut attacks: Vec<AttackScores> = Vec::new();
    let references = &trained.outputs[1..];
    if !references.is_empty() {
        let ref_phi = phi(references, &plan.audit, &prep.labels_audit)?;
        let pop_target_phi = phi(&trained.outputs[..1], &plan.population, &prep.labels_population)?;
        let pop_ref_phi = phi(references, &plan.population, &prep.labels_population)?;
        let ref_audit_outputs: Vec<ModelOutputs> =
            references.iter().map(|o| ModelOutputs::Logits(o.select(Axis(0), &plan.audit))).collect();
        let mut inputs = ReferenceInputs::new(&trained.target.signals.phi, ref_phi.view(), plan.keep.view())
            .with_outputs(FullOutputs {
                target: &trained.target.outputs,
                references: &ref_audit_outputs,
                labels: &prep.labels_audit,
            });
        let pop_target_phi = pop_target_phi.row(0).to_vec();
        if !plan.population.is_empty() {
            inputs =
                inputs.with_population(Population { target_phi: &pop_target_phi, reference_phi: pop_ref_phi.view() });
        }
        attacks.extend(
            mia_core::reference::reference_attacks(&inputs, names.as_deref(), &cfg.attacks.reference(), cfg.seed)
                .map_err(|e| AuditError::Input(e.to_string()))?,
        );
    } else if names.as_ref().is_some_and(|r| !r.is_empty()) {
        return Err(AuditError::Input(
            "reference attacks were requested but plan.reference_models = 0; train at least 2".into(),
        ));
    }
    ctl.report(Progress::Stage("evaluation"));
    let member = &plan.target_member;
    let eval = cfg.eval.with_seed(cfg.seed);
    evaluate_part(attacks, member, Some(&prep.labels_audit), &eval, cfg.report.slices.as_deref())
}
