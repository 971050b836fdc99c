//! Step 4 of a model audit: the report — how well every model fits its training rows and
//! the rows it never saw, the notes and caveats that say how to read the attacks, and the
//! files beside the report (`plan.npz`, `encoding.json`).

use super::prepare::{Prepared, TargetModel};
use super::train::Trained;
use crate::AuditError;
use crate::assemble::{Assembly, AuditOutput, Evaluated, assemble_evaluated};
use crate::config::TargetMode;
use crate::privacy::Claim;
use mia_core::evaluate::Estimate;
use mia_core::stats::clopper_pearson;
use mia_report::report::{ModelFit, ModelsInfo};
use ndarray::{Array2, ArrayView2};

/// Share of `rows` whose arg-max logit is the true label, with its Clopper–Pearson
/// interval at `confidence`.
fn accuracy(logits: ArrayView2<'_, f64>, labels: &[usize], rows: &[usize], confidence: f64) -> Estimate {
    if rows.is_empty() {
        return Estimate::new(f64::NAN, None, Some("no rows".into()));
    }
    let correct = rows
        .iter()
        .filter(|&&r| {
            let row = logits.row(r);
            let y = labels[r];
            // Ties count against the model (the true class must be strictly largest).
            row.iter().enumerate().all(|(j, &v)| j == y || v < row[y])
        })
        .count();
    Estimate::new(
        correct as f64 / rows.len() as f64,
        Some(clopper_pearson(correct as u64, rows.len() as u64, confidence)),
        None,
    )
}

/// Model `m`'s accuracy on its training rows and on the plan's rows it never saw.
fn model_fit(prep: &Prepared<'_>, outputs: &[Array2<f64>], m: usize) -> ModelFit {
    let (table, plan, confidence) = (&prep.table, &prep.plan, prep.cfg.eval.confidence);
    let train = &prep.models[m].rows;
    let mut trained = vec![false; table.len()];
    for &r in train {
        trained[r] = true;
    }
    let held: Vec<usize> = plan.audit.iter().chain(&plan.population).copied().filter(|&r| !trained[r]).collect();
    ModelFit {
        train_rows: train.len(),
        train_accuracy: accuracy(outputs[m].view(), &table.labels, train, confidence),
        held_out_rows: held.len(),
        held_out_accuracy: accuracy(outputs[m].view(), &table.labels, &held, confidence),
    }
}

fn models_info(prep: &Prepared<'_>, outputs: &[Array2<f64>]) -> Result<ModelsInfo, AuditError> {
    let cfg = prep.cfg;
    Ok(ModelsInfo {
        learner: match (&cfg.learner, &cfg.trainer) {
            (Some(l), _) => serde_json::to_value(l),
            (None, Some(t)) => serde_json::to_value(serde_json::json!({ "kind": "command", "command": &t.command })),
            (None, None) => Ok(serde_json::json!({ "kind": "none" })),
        }
        .map_err(|e| AuditError::Input(e.to_string()))?,
        target_training: match cfg.target_mode() {
            TargetMode::Train => "train".into(),
            TargetMode::MemberColumn => "member_column".into(),
            TargetMode::NullCheck => "null_check".into(),
            TargetMode::OneRun => "one_run".into(),
        },
        features: prep.x.ncols(),
        classes: prep.table.classes.len(),
        audit_records: prep.plan.audit.len(),
        population_records: prep.plan.population.len(),
        reference_models: prep.plan.keep.nrows(),
        target: model_fit(prep, outputs, 0),
        references: (1..outputs.len()).map(|m| model_fit(prep, outputs, m)).collect(),
    })
}

/// What the reader needs to know about where the figures come from.
fn notes(prep: &Prepared<'_>) -> Vec<String> {
    let (cfg, p, n) = (prep.cfg, prep.plan.population.len(), prep.plan.audit.len());
    let mut notes = Vec::new();
    match &prep.target {
        Some(TargetModel::Onnx { model, file }) => notes.push(format!(
            "Target: the ONNX model {} (sha256 {}), read for {}; its training rows are those of the data's member \
             column.",
            file.path,
            &file.sha256[..16],
            match model.output_kind() {
                mia_models::onnx::OnnxOutputKind::Logits => "logits (the input of its final softmax/sigmoid)",
                mia_models::onnx::OnnxOutputKind::Probabilities => "probabilities (it exposes no logits)",
            }
        )),
        Some(TargetModel::Http(model)) => {
            let s = model.spec();
            notes.push(format!(
                "Target: the model behind {} ({} protocol), asked for {} of the {} table rows' encoded features in \
                 batches of at most {} rows; its training rows are those of the data's member column. Its answers \
                 are kept in the artifacts folder: a rerun sends no request already answered (use another folder \
                 after redeploying the model).",
                s.url,
                match s.protocol {
                    mia_models::http::Protocol::Mlflow => "MLflow scoring",
                    mia_models::http::Protocol::OpenInference => "Open Inference",
                },
                match s.output {
                    mia_models::http::HttpOutput::Probs => "class probabilities",
                    mia_models::http::HttpOutput::Logits => "logits",
                    mia_models::http::HttpOutput::Label => "the predicted class",
                },
                prep.table.len(),
                s.batch_size
            ));
        }
        None => {}
    }
    if cfg.target_mode() == TargetMode::NullCheck {
        notes.push(
            "Null check: the membership scored here was drawn independently of the target's training set, so every \
             attack should be at chance (AUC intervals covering 0.5). A clear departure points to a flaw in the pipeline."
                .into(),
        );
    }
    if p > 0 {
        let users = if cfg.plan.reference_models > 0 {
            "RMIA and Attack-P"
        } else if cfg.label_only() {
            "choosing label_noise's noise level"
        } else {
            "the quantile attack"
        };
        notes.push(format!(
            "Population: {p} rows (plan.population_fraction = {}) were held out for {users}; no model trained on \
             them and they are not among the {n} audited records.",
            cfg.plan.population_fraction
        ));
    }
    let min = cfg.attacks.quantile.min_fit_records();
    if p > 0 && !cfg.label_only() && !super::attack::runs_quantile(prep) && cfg.attacks.run.is_none() {
        notes.push(format!(
            "Quantile attack not run: it fits on at least {min} population records (max(20, 1/alpha)); the plan \
             holds out {p}."
        ));
    }
    if let (Some(dp), Some(target)) = (cfg.learner.as_ref().and_then(|l| l.dp()), prep.models.first()) {
        notes.extend(dp_notes(dp, target.rows.len()));
    }
    if let Some(m) = cfg.plan.max_rows.filter(|&m| m < prep.table.len()) {
        notes.push(format!(
            "plan.max_rows: a seeded subsample of {m} of the table's {} rows was audited",
            prep.table.len()
        ));
    }
    notes
}

/// What DP-SGD training means for the figures, and a δ too large to mean anything.
fn dp_notes(dp: &mia_models::DpSgd, target_rows: usize) -> Vec<String> {
    let budget = match (dp.epsilon, dp.noise_multiplier) {
        (Some(e), _) => format!("ε = {e} at δ = {:e}", dp.delta),
        (None, Some(s)) => format!("noise multiplier {s}, δ = {:e}", dp.delta),
        (None, None) => format!("δ = {:e}", dp.delta),
    };
    let mut notes = vec![format!(
        "DP-SGD: the target and every reference model were trained with differential privacy ([learner.dp]: {budget}, \
         clipping norm {}); an attack's ε lower bound above the guarantee at the same δ would mean a broken DP \
         implementation.",
        dp.max_grad_norm
    )];
    if dp.delta * target_rows as f64 >= 1.0 {
        notes.push(format!(
            "Warning: learner.dp.delta = {:e} is not below 1/N for the target's N = {target_rows} training rows; a \
             mechanism that publishes one random record whole meets such a δ, so the guarantee says little. Use δ well \
             below 1/N (e.g. 1/(10 N)).",
            dp.delta
        ));
    }
    notes
}

/// The DP guarantee the report sets the attacks against: claimed for a given model
/// (`[target] claimed_epsilon`), else accounted by this tool for a target it trained with
/// DP-SGD (on the target's training rows).
fn claim(prep: &Prepared<'_>) -> Result<Option<Claim>, AuditError> {
    let cfg = prep.cfg;
    if let Some(t) = &cfg.target {
        if let Some((e, d)) = t.claim().map_err(AuditError::Input)? {
            return Ok(Some(Claim::stated(e, d)));
        }
        if cfg.given_target() {
            return Ok(None);
        }
    }
    let (Some(learner), Some(target)) = (&cfg.learner, prep.models.first()) else {
        return Ok(None);
    };
    let n = target.rows.len();
    let g = learner.dp_guarantee(n).map_err(|e| AuditError::Input(format!("learner: {e}")))?;
    Ok(g.map(|g| Claim::from_learner(&g, n)))
}

/// How far the reference attacks' assumptions hold here.
fn caveats(k: usize) -> Vec<String> {
    let mut caveats = vec![format!(
        "Reference attacks assume the reference models are trained like the target (same learner, data \
         distribution and training-set size); here all {k} were trained by this tool with the target's learner."
    )];
    if k > 0 && k < 16 {
        caveats.push(format!(
            "Only {k} reference models: per-example variance estimates are noisy; LiRA's authors use 64 or more \
             (global variance is more robust with few models)."
        ));
    }
    caveats
}

/// The finished audit: every attack side by side, the models' fits, the gate, and the
/// plan and encoding the models saw (so the run's inputs can be rebuilt exactly).
pub(crate) fn report(
    prep: &Prepared<'_>,
    trained: Trained,
    reference_part: Evaluated,
) -> Result<AuditOutput, AuditError> {
    let (cfg, plan, table) = (prep.cfg, &prep.plan, &prep.table);
    let k = plan.keep.nrows();
    let mut inputs = table.inputs.clone();
    if let Some(TargetModel::Onnx { file, .. }) = &prep.target {
        inputs.push(file.clone());
    }
    let assembly = Assembly {
        command: "audit",
        eval: cfg.eval.with_seed(cfg.seed),
        folds: cfg.attacks.folds,
        prob_tolerance: 0.0,
        slice_attacks: cfg.report.slices.clone(),
        rules: prep.rules.clone(),
        top_records: cfg.report.top,
        inputs,
        rows_read: table.rows_read,
        skipped: table.skipped.clone(),
        notes: notes(prep),
        extra_caveats: caveats(k),
        models: Some(models_info(prep, &trained.outputs)?),
        outputs_kind: if cfg.label_only() { "labels" } else { "logits" },
        n_classes: Some(table.classes.len()),
        claim: claim(prep)?,
        one_run: cfg.target_mode() == TargetMode::OneRun,
        baseline: prep.baseline.cloned(),
        blind: Some(crate::blind::blind_features(
            prep.x.select(ndarray::Axis(0), &plan.audit).view(),
            &plan.target_member,
            cfg.attacks.folds,
            cfg.seed,
        )?),
        llm: None,
    };
    let ids: Vec<String> = plan.audit.iter().map(|&r| table.ids[r].clone()).collect();
    let target = trained.target;
    let mut out = assemble_evaluated(
        assembly,
        vec![reference_part, target.score_only],
        Some(&target.signals),
        ids,
        plan.target_member.clone(),
        Some(prep.labels_audit.clone()),
    )?;
    if k > 0 {
        out.report.settings.reference = Some(cfg.attacks.reference());
    }
    out.extra_files.push(("plan.npz".into(), plan.to_npz()?));
    let mut enc = serde_json::to_vec_pretty(&prep.encoding).map_err(|e| AuditError::Input(e.to_string()))?;
    enc.push(b'\n');
    out.extra_files.push(("encoding.json".into(), enc));
    Ok(out)
}
