//! Step 1 of a model audit: everything the models and attacks need, before any model is
//! trained — the table, the plan, the one encoding every model sees, the learner (or the
//! user's training command), a given ONNX target, and every model's seed and artifact key.

use super::ModelAudit;
use crate::config::{AuditConfig, TargetSource};
use crate::label_noise::{LABEL_ONLY_ATTACKS, NoisyCopies};
use crate::plan::{Plan, make_plan};
use crate::store::{ArtifactStore, sha256_hex};
use crate::{AuditError, Control};
use mia_core::bootstrap::mix_seed;
use mia_data::tabular::{Encoding, Table, load_table};
use mia_models::Learner;
use mia_models::trainer::CommandTrainer;
use mia_report::gate::GateExpr;
use ndarray::Array2;
use std::path::Path;

/// Stream offset of the model fit seeds (model m uses `mix_seed(seed, MODEL_STREAM + m)`).
const MODEL_STREAM: u64 = 0x4d4f_4445_4c00_0000;
/// Stream of the label-noise seed.
const NOISE_STREAM: u64 = 0x4e4f_4953_4500_0000;
/// Version of the stored outputs' layout; part of every key.
const ARTIFACT_FORMAT: u32 = 1;

/// A given target model: an ONNX file (with its fingerprint) or a deployed model.
pub(crate) enum TargetModel {
    Onnx { model: mia_models::onnx::OnnxModel, file: mia_data::InputFile },
    Http(Box<mia_models::http::HttpModel>),
}

impl TargetModel {
    pub fn model(&self) -> &dyn mia_models::Model {
        match self {
            TargetModel::Onnx { model, .. } => model,
            TargetModel::Http(model) => model.as_ref(),
        }
    }

    /// What the target's outputs depend on, for the artifact keys: the file's digest, or the
    /// endpoint and what it is asked (not the token or the client's limits).
    fn identity(&self) -> String {
        match self {
            TargetModel::Onnx { file, .. } => file.sha256.clone(),
            TargetModel::Http(m) => {
                let s = m.spec();
                let doc = serde_json::json!({
                    "http": s.url, "protocol": s.protocol, "output": s.output,
                    "input_name": s.input_name, "output_name": s.output_name,
                });
                sha256_hex(doc.to_string().as_bytes())
            }
        }
    }
}

/// One model of the plan: its training rows (table rows), fit seed and artifact key.
pub(crate) struct ModelSpec {
    pub rows: Vec<usize>,
    pub seed: u64,
    pub key: String,
}

/// A model audit ready to train and attack.
pub(crate) struct Prepared<'a> {
    pub cfg: &'a AuditConfig,
    pub rules: Vec<GateExpr>,
    pub table: Table,
    pub plan: Plan,
    pub encoding: Encoding,
    /// The encoded features of every table row.
    pub x: Array2<f32>,
    /// Trains every model but a given target (`None` only with a given target and no
    /// reference models).
    pub learner: Option<Box<dyn Learner>>,
    pub target: Option<TargetModel>,
    pub store: ArtifactStore,
    /// Model 0 (the target), then the reference models.
    pub models: Vec<ModelSpec>,
    /// Rows × classes of every model's stored logits.
    pub shape: (usize, usize),
    /// Labels of the audit records and of the population, in plan order.
    pub labels_audit: Vec<usize>,
    pub labels_population: Vec<usize>,
    /// An earlier report to compare with (the run settings' `baseline`).
    pub baseline: Option<&'a crate::baseline::BaselineInput>,
    /// A label-only target's noisy copies of the audited and population records, and the
    /// artifact key of the classes it predicts for them.
    pub noise: Option<(NoisyCopies, String)>,
}

impl Prepared<'_> {
    pub fn role(m: usize) -> &'static str {
        if m == 0 { "target" } else { "reference" }
    }
}

/// Reads, draws and keys everything, in the order a user's errors are best found: the gate
/// rules, the table, the plan and its sizes, then the models.
pub(crate) fn prepare<'a>(
    audit: &'a ModelAudit,
    artifacts: &Path,
    ctl: &Control<'_>,
) -> Result<Prepared<'a>, AuditError> {
    let cfg = &audit.config;
    let rules = audit.settings.gate(&cfg.report.fail_if)?;
    let table = load_table(&cfg.data, &audit.base_dir, &audit.settings.table)?;
    let plan = make_plan(cfg, &table)?;
    let min = cfg.attacks.quantile.min_fit_records();
    if cfg.attacks.run.iter().flatten().any(|n| n == crate::quantile::QUANTILE_ATTACK) && plan.population.len() < min {
        return Err(AuditError::Input(format!(
            "attacks.run: quantile fits on at least {min} population records (max(20, 1/alpha)); the plan holds out \
             {} (raise plan.population_fraction)",
            plan.population.len()
        )));
    }
    if let Some(spec) = &cfg.learner {
        // A DP budget the recipe cannot reach (or that needs no noise) fails now, before any
        // model is trained, not at the first fit.
        spec.dp_guarantee(plan.training_rows(0).len()).map_err(|e| AuditError::Input(format!("learner: {e}")))?;
    }
    crate::score::check_folds(cfg.attacks.folds, plan.audit.len(), "attacks.folds")?;
    // One encoding, fitted once on the rows the audit uses, shared by every model.
    let fit_rows: Vec<usize> = plan.audit.iter().chain(&plan.population).copied().collect();
    let encoding = Encoding::fit(&table, &cfg.data, &fit_rows)?;
    let x = encoding.transform(&table)?;
    let learner = learner(audit, &encoding, ctl)?;
    let store = ArtifactStore::open(artifacts)
        .map_err(|e| AuditError::Write { path: artifacts.display().to_string(), source: e })?;
    let given = match cfg.target.as_ref().map(|t| t.source()) {
        Some(Err(e)) => return Err(AuditError::Input(e)),
        Some(Ok(choice)) => choice.given,
        None => None,
    };
    let target = match given {
        None => None,
        Some(TargetSource::Onnx(path)) => Some(load_target(&audit.base_dir.join(path), x.ncols())?),
        Some(TargetSource::Http(spec)) => {
            let answers =
                store.answers().map_err(|e| AuditError::Write { path: artifacts.display().to_string(), source: e })?;
            let model = mia_models::http::HttpModel::new(spec, encoding.feature_names(), &table.classes)
                .map_err(|e| AuditError::Input(format!("[target] {e}")))?
                .with_cache(std::sync::Arc::new(answers));
            Some(TargetModel::Http(Box::new(model)))
        }
    };
    let base = base_key(cfg, &table, &encoding, target.as_ref().map(TargetModel::identity).as_deref())?;
    let models: Vec<ModelSpec> = (0..1 + plan.keep.nrows())
        .map(|m| {
            let rows = plan.training_rows(m);
            let seed = mix_seed(cfg.seed, MODEL_STREAM + m as u64);
            let key = model_key(&base, m, &rows, seed);
            ModelSpec { rows, seed, key }
        })
        .collect();
    let shape = (table.len(), table.classes.len().max(2));
    let noise = noisy_copies(cfg, &plan, &encoding, &x, &models)?;
    let labels_audit = plan.audit.iter().map(|&r| table.labels[r]).collect();
    let labels_population = plan.population.iter().map(|&r| table.labels[r]).collect();
    Ok(Prepared {
        cfg,
        rules,
        table,
        plan,
        encoding,
        x,
        learner,
        target,
        store,
        models,
        shape,
        labels_audit,
        labels_population,
        baseline: audit.settings.baseline.as_ref(),
        noise,
    })
}

/// The built-in learner, or the user's training command working in a private folder.
fn learner(audit: &ModelAudit, encoding: &Encoding, ctl: &Control<'_>) -> Result<Option<Box<dyn Learner>>, AuditError> {
    Ok(match (&audit.config.learner, &audit.config.trainer) {
        (Some(l), _) => Some(l.learner().map_err(|e| AuditError::Input(format!("learner: {e}")))?),
        (None, Some(t)) => Some(Box::new(
            CommandTrainer::new(t.clone(), ctl.work_dir(audit.settings.keep_work)?, encoding.feature_names())
                .map_err(|e| AuditError::Input(format!("trainer: {e}")))?
                .with_cwd(&audit.base_dir),
        )),
        (None, None) => None,
    })
}

fn load_target(path: &Path, width: usize) -> Result<TargetModel, AuditError> {
    let bytes = std::fs::read(path).map_err(|e| AuditError::Input(format!("{}: cannot read: {e}", path.display())))?;
    let file =
        mia_data::InputFile { path: path.display().to_string(), sha256: sha256_hex(&bytes), bytes: bytes.len() as u64 };
    let model = mia_models::onnx::OnnxModel::from_bytes(&bytes, &file.path)
        .and_then(|m| m.check_width(width).map(|()| m))
        .map_err(|e| AuditError::Input(format!("[target] onnx: {e}")))?;
    Ok(TargetModel::Onnx { model, file })
}

/// A label-only target's noisy copies (when `label_noise` runs) and their answers' key: the
/// target's own key, the copied rows, the settings and the seed.
fn noisy_copies(
    cfg: &AuditConfig,
    plan: &Plan,
    encoding: &Encoding,
    x: &Array2<f32>,
    models: &[ModelSpec],
) -> Result<Option<(NoisyCopies, String)>, AuditError> {
    if !cfg.label_only() || !cfg.attacks.wanted(LABEL_ONLY_ATTACKS).contains(&"label_noise") {
        return Ok(None);
    }
    let seed = mix_seed(cfg.seed, NOISE_STREAM);
    let noise = NoisyCopies::new(x.view(), encoding, &plan.audit, &plan.population, &cfg.attacks.label_noise, seed)?;
    let doc = serde_json::json!({"target": models[0].key, "rows": noise.rows, "noise": cfg.attacks.label_noise, "seed": seed});
    let key = sha256_hex(doc.to_string().as_bytes());
    Ok(Some((noise, key)))
}

/// Everything the models' outputs depend on but the training rows and seed: hashed into
/// every artifact key.
fn base_key(
    cfg: &AuditConfig,
    table: &Table,
    encoding: &Encoding,
    target_sha: Option<&str>,
) -> Result<String, AuditError> {
    let doc = serde_json::json!({
        "format": ARTIFACT_FORMAT,
        "inputs": table.inputs.iter().map(|f| &f.sha256).collect::<Vec<_>>(),
        "schema": &cfg.data,
        "encoding": encoding,
        "learner": &cfg.learner,
        "trainer": &cfg.trainer,
        "target": target_sha,
    });
    let bytes = serde_json::to_vec(&doc).map_err(|e| AuditError::Input(format!("cannot hash the config: {e}")))?;
    Ok(sha256_hex(&bytes))
}

fn model_key(base: &str, m: usize, rows: &[usize], seed: u64) -> String {
    let mut bytes = Vec::with_capacity(base.len() + 24 + rows.len() * 4);
    bytes.extend_from_slice(base.as_bytes());
    bytes.extend_from_slice(&(m as u64).to_le_bytes());
    bytes.extend_from_slice(&seed.to_le_bytes());
    for &r in rows {
        bytes.extend_from_slice(&(r as u32).to_le_bytes());
    }
    sha256_hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model's key changes with anything its outputs depend on, and only with that.
    #[test]
    fn model_keys_follow_base_index_seed_and_rows() {
        let k = model_key("base", 1, &[0, 2, 5], 7);
        assert_eq!(k, model_key("base", 1, &[0, 2, 5], 7));
        assert_eq!(k.len(), 64);
        for other in [
            model_key("bass", 1, &[0, 2, 5], 7),
            model_key("base", 2, &[0, 2, 5], 7),
            model_key("base", 1, &[0, 2, 5], 8),
            model_key("base", 1, &[0, 2, 6], 7),
            model_key("base", 1, &[0, 2], 7),
        ] {
            assert_ne!(k, other);
        }
    }
}
