//! The model audit behind `mia audit` and `mia demo`: a config becomes a plan, the plan's
//! models are trained (or found in the artifact store), and every attack — score-only and
//! reference-based — is evaluated side by side in one report.
//!
//! The plan, from the run seed:
//! 1. optionally a seeded subsample of the table (`plan.max_rows`);
//! 2. a held-out **population** (`plan.population_fraction` of the rows) that no model ever
//!    trains on: RMIA's z samples and Attack-P's reference distribution;
//! 3. the **audit records** (the rest), of which the target trains on a seeded random
//!    `plan.target_fraction` (or on the rows the data's member column flags);
//! 4. K **reference models**, each trained on the audit records its row of the K × N keep
//!    mask selects (every record IN for exactly K/2 models, as in Carlini et al. 2022).
//!
//! Model m (0 = target, 1..=K = references) is fitted with seed `mix_seed(seed, m)` and
//! its logits on every table row are stored under a content key (see [`crate::store`]).
//! Fits run in parallel on the rayon pool, each single-threaded, and results are placed by
//! model index, so the report does not depend on the thread count or on which models a
//! previous, interrupted run had already finished. The target's own stage (its signals, the
//! score-only attacks and their evaluation) runs beside the reference models' training.
//!
//! SIGINT / SIGTERM ([`mia_data::interrupt`]) stop a run between models: running training
//! commands are stopped, no further model starts, nothing partial is stored, and the run
//! ends with [`AuditError::Interrupted`]; a rerun resumes from the stored models. A training
//! command's files live in a private temporary folder, not beside the report.
//!
//! Across machines ([`plan_models`], [`train_shard`], [`merge_model_audit`]): model m belongs
//! to shard `m % N`; shards fill one artifact folder, and the merge, which trains nothing,
//! writes the report a single run writes.

use crate::AuditError;
use crate::assemble::{Assembly, AuditOutput, assemble_evaluated, evaluate_part};
use crate::config::{AuditConfig, TargetMode};
use crate::store::{ArtifactStore, sha256_hex};
use mia_core::attacks::{AttackConfig, AttackScores, score_only_attacks};
use mia_core::bootstrap::mix_seed;
use mia_core::evaluate::Estimate;
use mia_core::reference::{FullOutputs, Population, REFERENCE_ATTACKS, ReferenceInputs, reference_attacks};
use mia_core::signals::{ModelOutputs, Signals, compute_signals};
use mia_core::stats::clopper_pearson;
use mia_data::splits::{keep_mask, random_subset, rows_where, streams};
use mia_data::tabular::{Encoding, Table, TableOptions, load_table};
use mia_models::trainer::CommandTrainer;
use mia_models::{Learner, Model, TrainSet};
use mia_report::report::{ModelFit, ModelsInfo};
use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Stream offset of the model fit seeds (model m uses `mix_seed(seed, MODEL_STREAM + m)`).
const MODEL_STREAM: u64 = 0x4d4f_4445_4c00_0000;
/// Version of the stored outputs' layout; part of every key.
const ARTIFACT_FORMAT: u32 = 1;

/// What the runner reports while it works (for progress bars).
pub enum Progress {
    /// The plan is made: `to_train` of `total` models must be trained, the rest are stored.
    Planned { total: usize, to_train: usize },
    /// One more model finished (trained, or found in the store).
    ModelDone { index: usize, trained: bool },
    /// A named stage started (`attacks`, `evaluation`).
    Stage(&'static str),
    /// Users' programs work in this folder, which is kept after the run (`keep_work`).
    WorkKept(PathBuf),
}

/// How a run is carried out (none of it changes the report).
pub struct RunOptions<'a> {
    /// Where model outputs are stored and looked up.
    pub artifacts: PathBuf,
    /// Extra gate rules (from `--fail-if`).
    pub extra_gate: Vec<String>,
    pub progress: &'a (dyn Fn(Progress) + Sync),
    pub table: TableOptions,
    /// Keep a training command's work files (its training rows, outputs and logs) instead
    /// of deleting them when it ends; for debugging the command.
    pub keep_work: bool,
}

/// One shard of a plan's models: model m belongs to shard `m % count` (round-robin, so every
/// shard gets a share of the work whatever the model count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Whether model `m` (0 = the target) is this shard's to train.
    pub fn owns(&self, m: usize) -> bool {
        m % self.count == self.index
    }
}

/// One model of the plan, as `mia plan` lists it and `mia run --shard` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelTask {
    /// 0 = the target, 1..=K = reference models.
    pub index: usize,
    pub role: &'static str,
    /// The fit's seed (derived from the run seed and the index).
    pub seed: u64,
    pub training_rows: usize,
    /// The artifact key its outputs are stored under.
    pub key: String,
    /// Whether its outputs are in the artifact store (after this run).
    pub stored: bool,
    /// Whether this run trained it.
    pub trained: bool,
}

/// Writes `plan.json` into `dir` (created if needed): the artifact folder and every model of
/// the plan with its seed, training-set size, artifact key and whether it is stored.
pub fn write_plan_json(tasks: &[ModelTask], artifacts: &Path, dir: &Path) -> Result<PathBuf, AuditError> {
    let doc = serde_json::json!({ "artifacts": artifacts.display().to_string(), "models": tasks });
    let path = dir.join("plan.json");
    let werr = |e: std::io::Error| AuditError::Write { path: path.display().to_string(), source: e };
    let mut bytes = serde_json::to_vec_pretty(&doc).map_err(|e| werr(e.into()))?;
    bytes.push(b'\n');
    std::fs::create_dir_all(dir).map_err(werr)?;
    crate::store::write_atomic(&path, &bytes).map_err(werr)?;
    Ok(path)
}

/// What a run does with the plan's models.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Attack and report; train what is missing, or (`require_stored`) fail if anything is.
    Report { require_stored: bool },
    /// List the models of a shard (or all), training the missing ones if `train`.
    Tasks { shard: Option<Shard>, train: bool },
}

enum Ran {
    Report(Box<AuditOutput>),
    Tasks(Vec<ModelTask>),
}

/// The drawn plan, in table-row indices.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Rows whose membership the attacks guess (N).
    pub audit: Vec<usize>,
    /// Rows no model trains on (P).
    pub population: Vec<usize>,
    /// Per audit record: the membership the attacks are scored against.
    pub target_member: Vec<bool>,
    /// Per audit record: does the target train on it (equal to `target_member` except in
    /// a null check).
    pub target_trained: Vec<bool>,
    /// K × N: does reference model k train on audit record n.
    pub keep: Array2<bool>,
}

impl Plan {
    /// Table rows model `m` trains on (0 = target).
    pub fn training_rows(&self, m: usize) -> Vec<usize> {
        let flags: Vec<bool> =
            if m == 0 { self.target_trained.clone() } else { self.keep.row(m - 1).iter().copied().collect() };
        rows_where(flags).into_iter().map(|i| self.audit[i]).collect()
    }
}

impl Plan {
    /// The plan as a NumPy `.npz` (0-based table rows `audit_rows`, `population_rows`;
    /// `target_member` per audit record; `keep`, K × N), so the same experiment can be
    /// rebuilt by other tools (the benchmark's scikit-learn pipeline reads it).
    pub fn to_npz(&self) -> Result<Vec<u8>, AuditError> {
        let err = |e: ndarray_npy::WriteNpzError| AuditError::Input(format!("cannot write plan.npz: {e}"));
        let mut npz = ndarray_npy::NpzWriter::new(std::io::Cursor::new(Vec::new()));
        let rows = |r: &[usize]| ndarray::Array1::from_iter(r.iter().map(|&i| i as u64));
        npz.add_array("audit_rows", &rows(&self.audit)).map_err(err)?;
        npz.add_array("population_rows", &rows(&self.population)).map_err(err)?;
        npz.add_array("target_member", &ndarray::Array1::from_vec(self.target_member.clone())).map_err(err)?;
        npz.add_array("target_trained", &ndarray::Array1::from_vec(self.target_trained.clone())).map_err(err)?;
        npz.add_array("keep", &self.keep).map_err(err)?;
        Ok(npz.finish().map_err(err)?.into_inner())
    }
}

/// Most memory the models' outputs may take together: (K + 1) models × table rows × classes
/// × 8 bytes, all held at once for the attacks.
pub const MAX_OUTPUT_BYTES: u64 = 64 << 30;

/// Audit records beyond log2 K that a plan with K reference models needs: a model trains on
/// each record with probability 1/2, so some model draws none of N records with probability
/// at most K · 2^−N, here at most 2^−10.
const SPARE_AUDIT_RECORDS: usize = 10;

/// The fewest rows a plan under `p` can use: a held-out population of at least one row (when
/// `population_fraction`, [`AuditConfig::population_fraction`], is > 0), a target with members and non-members among the audit
/// records, and with K reference models at least ⌈log2 K⌉ + 10 audit records, so that every
/// reference model draws training rows (see [`SPARE_AUDIT_RECORDS`]).
pub fn min_plan_rows(p: &crate::config::PlanConfig, population_fraction: f64, mode: TargetMode) -> usize {
    let k = p.reference_models;
    let need_audit =
        if k == 0 { 2 } else { (usize::BITS - k.saturating_sub(1).leading_zeros()) as usize + SPARE_AUDIT_RECORDS };
    let fits = |m: usize| {
        let n_pop = ((m as f64 * population_fraction).round() as usize).min(m);
        let n = m - n_pop;
        let n_target = (n as f64 * p.target_fraction).round() as usize;
        let target_ok = mode == TargetMode::MemberColumn || (n_target >= 1 && n_target < n);
        n >= need_audit && target_ok && (population_fraction == 0.0 || n_pop >= 1)
    };
    // Fractions are validated to lie in (0, 1) and [0, 1), so some count fits.
    (2..=usize::MAX / 2).find(|&m| fits(m)).unwrap_or(usize::MAX)
}

/// "plan.max_rows = M" when the plan uses a subsample, else the data file and its size: what
/// to raise when a plan has too few rows.
fn rows_source(cfg: &AuditConfig, n_rows: usize) -> String {
    match cfg.plan.max_rows.filter(|&m| m < n_rows) {
        Some(m) => format!("plan.max_rows = {m}"),
        None => format!("{} ({n_rows} rows)", cfg.data.path.display()),
    }
}

/// Draws the plan for `table` under `cfg`.
pub fn make_plan(cfg: &AuditConfig, table: &Table) -> Result<Plan, AuditError> {
    let n_rows = table.len();
    let seed = cfg.seed;
    let p = &cfg.plan;
    let population_fraction = cfg.population_fraction();
    // The outputs of every model on every table row are held together: check before any work.
    let classes = table.classes.len().max(2);
    let bytes = (p.reference_models as u64 + 1)
        .checked_mul(n_rows as u64)
        .and_then(|b| b.checked_mul(classes as u64 * 8))
        .unwrap_or(u64::MAX);
    if bytes > MAX_OUTPUT_BYTES {
        return Err(AuditError::Input(format!(
            "plan.reference_models = {}: the outputs of {} models on the table's {n_rows} rows × {classes} classes \
             need {:.1} GiB of memory, more than the {} GiB allowed; use fewer reference models",
            p.reference_models,
            p.reference_models + 1,
            bytes as f64 / (1u64 << 30) as f64,
            MAX_OUTPUT_BYTES >> 30
        )));
    }
    let used: Vec<usize> = match p.max_rows {
        Some(m) if m < n_rows => rows_where(random_subset(n_rows, m, seed, streams::POPULATION ^ 1)),
        _ => (0..n_rows).collect(),
    };
    let (audit, population, target_member) = match cfg.target_mode() {
        TargetMode::Train | TargetMode::NullCheck => {
            let n_pop = (used.len() as f64 * population_fraction).round() as usize;
            let pop_flags = random_subset(used.len(), n_pop, seed, streams::POPULATION);
            let audit: Vec<usize> = used.iter().zip(&pop_flags).filter(|(_, f)| !**f).map(|(r, _)| *r).collect();
            let population: Vec<usize> = used.iter().zip(&pop_flags).filter(|(_, f)| **f).map(|(r, _)| *r).collect();
            let n_target = (audit.len() as f64 * p.target_fraction).round() as usize;
            let target_member = random_subset(audit.len(), n_target, seed, streams::TARGET);
            (audit, population, target_member)
        }
        TargetMode::MemberColumn => {
            let member = table.member.as_ref().ok_or_else(|| {
                AuditError::Input(
                    "plan.target = \"member_column\" needs a member column: set `member` in [data]".into(),
                )
            })?;
            // The population comes from rows the target never trained on.
            let non: Vec<usize> = used.iter().copied().filter(|&r| !member[r]).collect();
            let n_pop = (used.len() as f64 * population_fraction).round() as usize;
            if n_pop >= non.len() && n_pop > 0 {
                return Err(AuditError::Input(format!(
                    "plan.population_fraction = {} asks for {n_pop} population rows but only {} rows are non-members",
                    population_fraction,
                    non.len()
                )));
            }
            let pop_flags = random_subset(non.len(), n_pop, seed, streams::POPULATION);
            let mut is_pop = vec![false; n_rows];
            for (r, f) in non.iter().zip(pop_flags) {
                is_pop[*r] = f;
            }
            let audit: Vec<usize> = used.iter().copied().filter(|&r| !is_pop[r]).collect();
            let population: Vec<usize> = used.iter().copied().filter(|&r| is_pop[r]).collect();
            let target_member = audit.iter().map(|&r| member[r]).collect();
            (audit, population, target_member)
        }
    };
    let n_mem = target_member.iter().filter(|&&m| m).count();
    // More rows than now, whatever the draw: the minimum holds with high probability only.
    let min_rows = || min_plan_rows(p, population_fraction, cfg.target_mode()).max(used.len() + 1);
    if n_mem == 0 || n_mem == audit.len() {
        return Err(AuditError::Input(format!(
            "{}: too few rows for this plan: the target needs members and non-members among the audit records, got \
             {n_mem} members of {} (the plan needs at least {} rows)",
            rows_source(cfg, n_rows),
            audit.len(),
            min_rows()
        )));
    }
    let target_trained = target_member.clone();
    let target_member = if cfg.target_mode() == TargetMode::NullCheck {
        random_subset(audit.len(), n_mem, seed, streams::TARGET ^ 0x4e55_4c4c)
    } else {
        target_member
    };
    let keep = if p.reference_models == 0 {
        Array2::from_elem((0, audit.len()), false)
    } else {
        keep_mask(p.reference_models, audit.len(), seed).map_err(AuditError::Input)?
    };
    if let Some(k) = keep.rows().into_iter().position(|r| !r.iter().any(|&f| f)) {
        return Err(AuditError::Input(format!(
            "{}: too few rows for this plan: reference model {} of {} draws none of the {} audit records for \
             training (each record trains half of the models, drawn at random); the plan needs at least {} rows",
            rows_source(cfg, n_rows),
            k + 1,
            keep.nrows(),
            audit.len(),
            min_rows()
        )));
    }
    Ok(Plan { audit, population, target_member, target_trained, keep })
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

/// A target model given as an ONNX file, and the file's fingerprint.
struct TargetModel {
    model: mia_models::onnx::OnnxModel,
    file: mia_data::InputFile,
}

fn load_target(path: &Path, width: usize) -> Result<TargetModel, AuditError> {
    let bytes = std::fs::read(path).map_err(|e| AuditError::Input(format!("{}: cannot read: {e}", path.display())))?;
    let file =
        mia_data::InputFile { path: path.display().to_string(), sha256: sha256_hex(&bytes), bytes: bytes.len() as u64 };
    let model = mia_models::onnx::OnnxModel::from_bytes(&bytes, &file.path)
        .and_then(|m| m.check_width(width).map(|()| m))
        .map_err(|e| AuditError::Input(format!("[target] onnx: {e}")))?;
    Ok(TargetModel { model, file })
}

/// A model's outputs as the N × C logits the store keeps: logits as they are; probabilities
/// (checked: finite, non-negative, rows summing to 1 within 1e-4) as their logarithms, a
/// zero probability as the logarithm of the smallest positive f64 (softmax of the result
/// gives the probabilities back).
fn as_logits(outputs: ModelOutputs, shape: (usize, usize)) -> Result<Array2<f64>, String> {
    let (a, probs) = match outputs {
        ModelOutputs::Logits(a) => (a, false),
        ModelOutputs::Probabilities(p) => (p, true),
        ModelOutputs::Loss(_) => return Err("the model gave losses, not class outputs".into()),
    };
    if a.dim() != shape {
        return Err(format!("outputs of shape {:?}, expected {shape:?} (rows, classes)", a.dim()));
    }
    if let Some(((i, j), v)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(format!("row {}, class {j}: non-finite output {v}; try a smaller learning rate", i + 1));
    }
    if !probs {
        return Ok(a);
    }
    for (i, row) in a.rows().into_iter().enumerate() {
        let sum: f64 = row.sum();
        if row.iter().any(|&p| p < 0.0) || (sum - 1.0).abs() > 1e-4 {
            return Err(format!("row {}: probabilities summing to {sum} (expected 1 within 1e-4)", i + 1));
        }
    }
    Ok(a.mapv(|p| p.max(f64::MIN_POSITIVE).ln()))
}

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

/// Runs the whole model audit: trains what the artifact store lacks, then attacks and reports.
pub fn run_model_audit(cfg: &AuditConfig, base_dir: &Path, opts: &RunOptions<'_>) -> Result<AuditOutput, AuditError> {
    match run(cfg, base_dir, opts, Phase::Report { require_stored: false })? {
        Ran::Report(out) => Ok(*out),
        Ran::Tasks(_) => unreachable!("a report phase reports"),
    }
}

/// The report of a plan whose models were all trained by shards (`mia merge`): trains
/// nothing, and fails naming the missing models if the store lacks any. The report is the
/// one [`run_model_audit`] gives.
pub fn merge_model_audit(cfg: &AuditConfig, base_dir: &Path, opts: &RunOptions<'_>) -> Result<AuditOutput, AuditError> {
    match run(cfg, base_dir, opts, Phase::Report { require_stored: true })? {
        Ran::Report(out) => Ok(*out),
        Ran::Tasks(_) => unreachable!("a report phase reports"),
    }
}

/// The plan's models and which are stored (`mia plan`); trains nothing.
pub fn plan_models(cfg: &AuditConfig, base_dir: &Path, opts: &RunOptions<'_>) -> Result<Vec<ModelTask>, AuditError> {
    match run(cfg, base_dir, opts, Phase::Tasks { shard: None, train: false })? {
        Ran::Tasks(t) => Ok(t),
        Ran::Report(_) => unreachable!("a task phase lists tasks"),
    }
}

/// Trains the missing models of one shard into the artifact store (`mia run --shard I/N`);
/// runs no attack. Returns the shard's models.
pub fn train_shard(
    cfg: &AuditConfig,
    base_dir: &Path,
    opts: &RunOptions<'_>,
    shard: Shard,
) -> Result<Vec<ModelTask>, AuditError> {
    if shard.count == 0 {
        return Err(AuditError::Input("shard count 0: expected at least 1 shard".into()));
    }
    if shard.index >= shard.count {
        return Err(AuditError::Input(format!(
            "shard {}/{}: the index must be below the shard count (0 to {})",
            shard.index,
            shard.count,
            shard.count.saturating_sub(1)
        )));
    }
    match run(cfg, base_dir, opts, Phase::Tasks { shard: Some(shard), train: true })? {
        Ran::Tasks(t) => Ok(t),
        Ran::Report(_) => unreachable!("a task phase lists tasks"),
    }
}

fn run(cfg: &AuditConfig, base_dir: &Path, opts: &RunOptions<'_>, phase: Phase) -> Result<Ran, AuditError> {
    crate::unless_interrupted(run_phase(cfg, base_dir, opts, phase))
}

fn run_phase(cfg: &AuditConfig, base_dir: &Path, opts: &RunOptions<'_>, phase: Phase) -> Result<Ran, AuditError> {
    let mut rules_text = cfg.report.fail_if.clone();
    rules_text.extend(opts.extra_gate.iter().cloned());
    let rules = crate::score::parse_gate(&rules_text)?;
    let table = load_table(&cfg.data, base_dir, &opts.table)?;
    let plan = make_plan(cfg, &table)?;
    crate::score::check_folds(cfg.attacks.folds, plan.audit.len(), "attacks.folds")?;
    let n_classes = table.classes.len();
    // One encoding, fitted once on the rows the audit uses, shared by every model.
    let fit_rows: Vec<usize> = plan.audit.iter().chain(&plan.population).copied().collect();
    let encoding = Encoding::fit(&table, &cfg.data, &fit_rows)?;
    let x = encoding.transform(&table)?;
    let learner: Option<Box<dyn Learner>> = match (&cfg.learner, &cfg.trainer) {
        (Some(l), _) => Some(l.learner().map_err(|e| AuditError::Input(format!("learner: {e}")))?),
        (None, Some(t)) => Some(Box::new(
            CommandTrainer::new(t.clone(), crate::work_dir(opts.keep_work, opts.progress)?, encoding.feature_names())
                .map_err(|e| AuditError::Input(format!("trainer: {e}")))?
                .with_cwd(base_dir),
        )),
        (None, None) => None,
    };
    let target_model = match &cfg.target {
        Some(t) => Some(load_target(&base_dir.join(&t.onnx), x.ncols())?),
        None => None,
    };
    let store = ArtifactStore::open(&opts.artifacts)
        .map_err(|e| AuditError::Write { path: opts.artifacts.display().to_string(), source: e })?;
    let base = base_key(cfg, &table, &encoding, target_model.as_ref().map(|t| t.file.sha256.as_str()))?;
    let n_models = 1 + plan.keep.nrows();
    let shape = (table.len(), n_classes.max(2));
    let tasks: Vec<(Vec<usize>, u64, String)> = (0..n_models)
        .map(|m| {
            let rows = plan.training_rows(m);
            let seed = mix_seed(cfg.seed, MODEL_STREAM + m as u64);
            let key = model_key(&base, m, &rows, seed);
            (rows, seed, key)
        })
        .collect();
    let in_selection = |m: usize| match phase {
        Phase::Tasks { shard: Some(sh), .. } => sh.owns(m),
        _ => true,
    };
    let selected: Vec<usize> = (0..n_models).filter(|&m| in_selection(m)).collect();
    // Only the selected models are read: a shard has no use for the other shards' outputs.
    let stored: Vec<Option<Array2<f64>>> = tasks
        .iter()
        .enumerate()
        .map(|(m, (_, _, key))| if in_selection(m) { store.load(key, shape) } else { None })
        .collect();
    if let Phase::Report { require_stored: true } = phase {
        let missing: Vec<String> = (0..n_models).filter(|&m| stored[m].is_none()).map(|m| m.to_string()).collect();
        if !missing.is_empty() {
            return Err(AuditError::Input(format!(
                "merge: {} of {n_models} models are not in {}: model {} (train them with `mia run CONFIG --shard I/N \
                 --artifacts {}`; model m belongs to shard m % N)",
                missing.len(),
                opts.artifacts.display(),
                missing.join(", "),
                opts.artifacts.display()
            )));
        }
    }
    // A given target is only run, once: its outputs on every row. A shard without model 0 (or
    // with it already stored) and a plan listing do not need them.
    let target_needed = match phase {
        Phase::Report { .. } => true,
        Phase::Tasks { train, .. } => train && in_selection(0) && stored[0].is_none(),
    };
    let target_raw: Option<ModelOutputs> = match &target_model {
        Some(t) if target_needed => {
            Some(t.model.outputs(x.view()).map_err(|e| AuditError::Input(format!("model 0 (target): {e}")))?)
        }
        _ => None,
    };
    let will_train = matches!(phase, Phase::Report { .. } | Phase::Tasks { train: true, .. });
    let to_train = if will_train { selected.iter().filter(|&&m| stored[m].is_none()).count() } else { 0 };
    (opts.progress)(Progress::Planned { total: selected.len(), to_train });
    for &m in &selected {
        if stored[m].is_some() {
            (opts.progress)(Progress::ModelDone { index: m, trained: false });
        }
    }
    let train_one = |m: usize, s: Option<Array2<f64>>| -> Result<Array2<f64>, AuditError> {
        if let Some(a) = s {
            return Ok(a);
        }
        // An interrupted run starts no more models; those that finished are stored.
        crate::check_interrupt()?;
        let (rows, seed, key) = &tasks[m];
        let role = if m == 0 { "target" } else { "reference" };
        let outputs = match (&target_model, &learner) {
            (Some(_), _) if m == 0 => Ok(target_raw.clone().expect("a given target's outputs")),
            (_, Some(l)) => {
                let data = TrainSet { x: x.view(), y: &table.labels, n_classes: shape.1, rows };
                l.fit(&data, *seed).and_then(|model| model.outputs(x.view()))
            }
            _ => unreachable!("validated: a learner or trainer trains every model but a given target"),
        }
        .map_err(|e| AuditError::Input(format!("model {m} ({role}): {e}")))?;
        let logits = as_logits(outputs, shape).map_err(|e| AuditError::Input(format!("model {m} ({role}): {e}")))?;
        store
            .save(key, &logits)
            .map_err(|e| AuditError::Write { path: store.dir().display().to_string(), source: e })?;
        (opts.progress)(Progress::ModelDone { index: m, trained: true });
        Ok(logits)
    };

    if let Phase::Tasks { train, .. } = phase {
        let trained: Vec<Result<bool, AuditError>> = selected
            .par_iter()
            .map(|&m| match (&stored[m], train) {
                (None, true) => train_one(m, None).map(|_| true),
                _ => Ok(false),
            })
            .collect();
        let mut out = Vec::with_capacity(selected.len());
        for (&m, t) in selected.iter().zip(trained) {
            let trained = t?;
            let (rows, seed, key) = &tasks[m];
            out.push(ModelTask {
                index: m,
                role: if m == 0 { "target" } else { "reference" },
                seed: *seed,
                training_rows: rows.len(),
                key: key.clone(),
                stored: trained || stored[m].is_some(),
                trained,
            });
        }
        return Ok(Ran::Tasks(out));
    }

    let labels_audit: Vec<usize> = plan.audit.iter().map(|&r| table.labels[r]).collect();
    let labels_pop: Vec<usize> = plan.population.iter().map(|&r| table.labels[r]).collect();
    let pick = |a: &Array2<f64>, rows: &[usize]| a.select(Axis(0), rows);
    let requested = cfg.attacks.run.as_deref();
    let score_only_names: Option<Vec<String>> = requested
        .map(|r| r.iter().filter(|n| mia_core::attacks::SCORE_ONLY_ATTACKS.contains(&n.as_str())).cloned().collect());
    let ref_names: Option<Vec<String>> =
        requested.map(|r| r.iter().filter(|n| REFERENCE_ATTACKS.contains(&n.as_str())).cloned().collect());
    let member = plan.target_member.clone();
    let attack_cfg = AttackConfig { folds: cfg.attacks.folds, seed: cfg.seed, ..AttackConfig::default() };
    let eval_cfg = cfg.eval.eval_config(cfg.seed);
    let slice_cfg = cfg.report.slices.as_deref();
    // The target's own stage (its model, signals, the score-only attacks and their evaluation)
    // needs no reference model, so it runs beside the reference models' training and fills
    // the cores their last fits leave idle. Every task is deterministic on its own, so the
    // result does not depend on how they interleave.
    let mut stored = stored;
    let target_stored = stored.remove(0);
    let (references, target_stage) = rayon::join(
        || -> Vec<Result<Array2<f64>, AuditError>> {
            stored.into_par_iter().enumerate().map(|(i, s)| train_one(i + 1, s)).collect()
        },
        || -> Result<_, AuditError> {
            let target = train_one(0, target_stored)?;
            crate::check_interrupt()?;
            // A given target's own outputs, so saturated probabilities are reported as such.
            let target_outputs = match &target_raw {
                Some(ModelOutputs::Probabilities(p)) => ModelOutputs::Probabilities(pick(p, &plan.audit)),
                _ => ModelOutputs::Logits(pick(&target, &plan.audit)),
            };
            let signals: Signals = compute_signals(&target_outputs, Some(&labels_audit));
            let score_only = if score_only_names.as_ref().is_none_or(|s| !s.is_empty()) {
                score_only_attacks(&signals, Some(&labels_audit), &member, score_only_names.as_deref(), &attack_cfg)
            } else {
                Vec::new()
            };
            let evaluated = evaluate_part(score_only, &member, Some(&labels_audit), &eval_cfg, slice_cfg)?;
            Ok((target, target_outputs, signals, evaluated))
        },
    );
    let (target, target_outputs, signals, score_only_part) = target_stage?;
    let mut outputs: Vec<Array2<f64>> = vec![target];
    for r in references {
        outputs.push(r?);
    }

    crate::check_interrupt()?;
    (opts.progress)(Progress::Stage("attacks"));
    let phi_of = |a: &Array2<f64>, rows: &[usize], labels: &[usize]| -> Vec<f64> {
        compute_signals(&ModelOutputs::Logits(pick(a, rows)), Some(labels)).phi
    };
    let k = plan.keep.nrows();
    let n = plan.audit.len();
    let p = plan.population.len();
    let ref_phi = Array2::from_shape_vec(
        (k, n),
        outputs[1..].par_iter().flat_map_iter(|o| phi_of(o, &plan.audit, &labels_audit)).collect(),
    )
    .map_err(|e| AuditError::Input(e.to_string()))?;
    let pop_target_phi = phi_of(&outputs[0], &plan.population, &labels_pop);
    let pop_ref_phi = Array2::from_shape_vec(
        (k, p),
        outputs[1..].par_iter().flat_map_iter(|o| phi_of(o, &plan.population, &labels_pop)).collect(),
    )
    .map_err(|e| AuditError::Input(e.to_string()))?;
    let ref_audit_outputs: Vec<ModelOutputs> =
        outputs[1..].iter().map(|o| ModelOutputs::Logits(pick(o, &plan.audit))).collect();

    let mut attacks: Vec<AttackScores> = Vec::new();
    if k > 0 {
        let mut inputs =
            ReferenceInputs::new(&signals.phi, ref_phi.view(), plan.keep.view()).with_outputs(FullOutputs {
                target: &target_outputs,
                references: &ref_audit_outputs,
                labels: &labels_audit,
            });
        if p > 0 {
            inputs =
                inputs.with_population(Population { target_phi: &pop_target_phi, reference_phi: pop_ref_phi.view() });
        }
        attacks.extend(
            reference_attacks(&inputs, ref_names.as_deref(), &cfg.attacks.reference(), cfg.seed)
                .map_err(|e| AuditError::Input(e.to_string()))?,
        );
    } else if ref_names.as_ref().is_some_and(|r| !r.is_empty()) {
        return Err(AuditError::Input(
            "reference attacks were requested but plan.reference_models = 0; train at least 2".into(),
        ));
    }

    (opts.progress)(Progress::Stage("evaluation"));
    let reference_part = evaluate_part(attacks, &member, Some(&labels_audit), &eval_cfg, slice_cfg)?;
    let fit = |m: usize| -> ModelFit {
        let train = plan.training_rows(m);
        let mut trained = vec![false; table.len()];
        for &r in &train {
            trained[r] = true;
        }
        let held: Vec<usize> = plan.audit.iter().chain(&plan.population).copied().filter(|&r| !trained[r]).collect();
        ModelFit {
            train_rows: train.len(),
            train_accuracy: accuracy(outputs[m].view(), &table.labels, &train, cfg.eval.confidence),
            held_out_rows: held.len(),
            held_out_accuracy: accuracy(outputs[m].view(), &table.labels, &held, cfg.eval.confidence),
        }
    };
    let models = ModelsInfo {
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
        },
        features: x.ncols(),
        classes: n_classes,
        audit_records: n,
        population_records: p,
        reference_models: k,
        target: fit(0),
        references: (1..n_models).map(fit).collect(),
    };
    let mut notes = Vec::new();
    if let Some(t) = &target_model {
        notes.push(format!(
            "Target: the ONNX model {} (sha256 {}), read for {}; its training rows are those of the data's member \
             column.",
            t.file.path,
            &t.file.sha256[..16],
            match t.model.output_kind() {
                mia_models::onnx::OnnxOutputKind::Logits => "logits (the input of its final softmax/sigmoid)",
                mia_models::onnx::OnnxOutputKind::Probabilities => "probabilities (it exposes no logits)",
            }
        ));
    }
    if cfg.target_mode() == TargetMode::NullCheck {
        notes.push(
            "Null check: the membership scored here was drawn independently of the target's training set, so every \
             attack should be at chance (AUC intervals covering 0.5). A clear departure points to a flaw in the pipeline."
                .into(),
        );
    }
    if p > 0 {
        notes.push(format!(
            "Population: {p} rows (plan.population_fraction = {}) were held out for RMIA and Attack-P; no model \
             trained on them and they are not among the {n} audited records.",
            cfg.plan.population_fraction
        ));
    }
    if let Some(m) = cfg.plan.max_rows.filter(|&m| m < table.len()) {
        notes.push(format!("plan.max_rows: a seeded subsample of {m} of the table's {} rows was audited", table.len()));
    }
    let mut extra_caveats = vec![format!(
        "Reference attacks assume the reference models are trained like the target (same learner, data \
         distribution and training-set size); here all {k} were trained by this tool with the target's learner."
    )];
    if k > 0 && k < 16 {
        extra_caveats.push(format!(
            "Only {k} reference models: per-example variance estimates are noisy; LiRA's authors use 64 or more \
             (global variance is more robust with few models)."
        ));
    }
    let assembly = Assembly {
        command: "audit",
        eval: eval_cfg,
        folds: cfg.attacks.folds,
        prob_tolerance: 0.0,
        slice_attacks: cfg.report.slices.clone(),
        rules,
        top_records: cfg.report.top,
        inputs: {
            let mut files = table.inputs.clone();
            files.extend(target_model.as_ref().map(|t| t.file.clone()));
            files
        },
        rows_read: table.rows_read,
        skipped: table.skipped.clone(),
        notes,
        extra_caveats,
        models: Some(models),
        outputs_kind: "logits",
        n_classes: Some(n_classes),
    };
    let ids: Vec<String> = plan.audit.iter().map(|&r| table.ids[r].clone()).collect();
    let mut out = assemble_evaluated(
        assembly,
        vec![reference_part, score_only_part],
        Some(&signals),
        ids,
        member,
        Some(labels_audit),
    )?;
    if k > 0 {
        out.report.settings.reference = Some(cfg.attacks.reference());
    }
    out.extra_files.push(("plan.npz".into(), plan.to_npz()?));
    // The encoding every model saw, so the run's inputs can be rebuilt exactly.
    let mut enc = serde_json::to_vec_pretty(&encoding).map_err(|e| AuditError::Input(e.to_string()))?;
    enc.push(b'\n');
    out.extra_files.push(("encoding.json".into(), enc));
    Ok(Ran::Report(Box::new(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PlanConfig;

    /// A plan on a real table (Adult's first 300 rows): population, audit records and the
    /// target's members are drawn as configured, disjoint, the same for the same seed and
    /// different for another; every audit record trains half of the reference models.
    #[test]
    fn plans_are_seeded_disjoint_and_balanced() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cfg = |seed: u64| {
            let text = format!(
                "seed = {seed}\n[data]\npath = \"{}\"\nformat = \"csv\"\nheader = false\nlabel = \"14\"\ncategorical = \"rest\"\n\
                 [learner]\nkind = \"logistic\"\n[plan]\nreference_models = 4\nmax_rows = 300\n",
                root.join("data/adult/adult.data.gz").display()
            );
            AuditConfig::parse(&text, "t.toml").unwrap()
        };
        let table = load_table(&cfg(0).data, &root, &TableOptions::default()).unwrap();
        let plan = make_plan(&cfg(0), &table).unwrap();
        assert_eq!(plan.population.len(), 60, "20 % of 300 rows");
        assert_eq!(plan.audit.len(), 240);
        let mut all: Vec<usize> = plan.audit.iter().chain(&plan.population).copied().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 300, "population and audit records overlap");
        assert_eq!(plan.target_member.iter().filter(|&&m| m).count(), 120, "half the audit records");
        assert_eq!(plan.target_member, plan.target_trained);
        assert_eq!(plan.keep.dim(), (4, 240));
        for column in plan.keep.columns() {
            assert_eq!(column.iter().filter(|&&k| k).count(), 2);
        }
        let again = make_plan(&cfg(0), &table).unwrap();
        assert_eq!((&again.audit, &again.target_member, &again.keep), (&plan.audit, &plan.target_member, &plan.keep));
        let other = make_plan(&cfg(1), &table).unwrap();
        assert_ne!(other.audit, plan.audit);
    }

    /// Every model belongs to exactly one shard, and the shards share the work evenly.
    #[test]
    fn shards_partition_the_models_round_robin() {
        for count in 1..=5 {
            let shards: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
            let mut sizes = vec![0; count];
            for m in 0..=17 {
                let owners: Vec<usize> = shards.iter().filter(|s| s.owns(m)).map(|s| s.index).collect();
                assert_eq!(owners.len(), 1, "model {m}, {count} shards: {owners:?}");
                sizes[owners[0]] += 1;
            }
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
        }
    }

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

    /// Model 0 trains on the target's rows, model k on keep row k − 1, as table rows.
    #[test]
    fn training_rows_map_audit_records_to_table_rows() {
        let plan = Plan {
            audit: vec![10, 11, 12, 13],
            population: vec![14],
            target_member: vec![true, false, false, true],
            target_trained: vec![true, true, false, false],
            keep: ndarray::array![[true, false, true, false], [false, true, false, true]],
        };
        assert_eq!(plan.training_rows(0), [10, 11]);
        assert_eq!(plan.training_rows(1), [10, 12]);
        assert_eq!(plan.training_rows(2), [11, 13]);
    }

    /// Logits pass through; probabilities become their logarithms (softmax gives them back,
    /// a zero becomes the smallest positive f64's logarithm); anything else is an error
    /// naming the row.
    #[test]
    fn outputs_become_the_stored_logits() {
        let logits = ndarray::array![[1.0, -2.0], [0.5, 0.25]];
        assert_eq!(as_logits(ModelOutputs::Logits(logits.clone()), (2, 2)).unwrap(), logits);
        let probs = ndarray::array![[0.25, 0.75], [1.0, 0.0]];
        let l = as_logits(ModelOutputs::Probabilities(probs.clone()), (2, 2)).unwrap();
        for (row, p) in l.rows().into_iter().zip(probs.rows()) {
            let z: f64 = row.iter().map(|x| x.exp()).sum();
            for (x, q) in row.iter().zip(p) {
                assert!((x.exp() / z - q).abs() < 1e-15, "{x} {q}");
            }
        }
        assert_eq!(l[[1, 1]], f64::MIN_POSITIVE.ln());
        let err = |o: ModelOutputs| as_logits(o, (2, 2)).unwrap_err();
        assert!(err(ModelOutputs::Logits(ndarray::array![[1.0, 2.0]])).contains("expected (2, 2)"));
        assert!(err(ModelOutputs::Logits(ndarray::array![[1.0, 2.0], [f64::NAN, 0.0]])).contains("row 2, class 0"));
        let e = err(ModelOutputs::Probabilities(ndarray::array![[0.5, 0.5], [0.7, 0.7]]));
        assert!(e.contains("row 2") && e.contains("1.4"), "{e}");
        assert!(err(ModelOutputs::Loss(vec![0.1, 0.2])).contains("losses"));
    }

    #[test]
    fn the_minimum_rows_give_a_population_a_split_target_and_log2_k_plus_10_audit_records() {
        let p = |k: usize| PlanConfig { reference_models: k, ..PlanConfig::default() };
        // K = 16: ⌈log2 16⌉ + 10 = 14 audit records; with 20 % held out, 17 rows (round(3.4) = 3).
        assert_eq!(min_plan_rows(&p(16), 0.2, TargetMode::Train), 17);
        // A target member and non-member, and a population row when one is held out.
        assert_eq!(min_plan_rows(&p(2), 0.0, TargetMode::Train), 11);
        assert_eq!(min_plan_rows(&p(0), 0.2, TargetMode::Train), 3);
        assert_eq!(min_plan_rows(&p(0), 0.0, TargetMode::Train), 2);
        // K = 1024: 20 audit records.
        assert_eq!(min_plan_rows(&p(1024), 0.0, TargetMode::Train), 20);
        // At the minimum, a drawn keep mask gives every model rows (with probability ≥ 1 − 2^−10).
        let k = 16;
        let n = 14;
        for seed in 0..20 {
            let keep = keep_mask(k, n, seed).unwrap();
            assert!(keep.rows().into_iter().all(|r| r.iter().any(|&f| f)), "seed {seed}");
        }
    }
}
