//! The model audit behind `mia audit`, `mia demo`, `mia plan`, `mia run` and `mia merge`: a
//! config becomes a plan ([`crate::plan`]), the plan's models are trained (or found in the
//! artifact store), and every attack — score-only and reference-based — is evaluated side by
//! side in one report.
//!
//! [`ModelAudit`] is the entry point; its methods are compositions of four steps, each in its
//! own module:
//! 1. [`prepare`]: read the table, draw the plan, fit the one encoding every model sees,
//!    build the learner (or training command) and load a given target, key every model;
//! 2. [`train`]: any selection of the plan's models (all, one shard, none) from the store or
//!    fitted now, in parallel, each stored as it finishes;
//! 3. [`attack`]: the target's signals and score-only attacks, then the reference attacks
//!    over every model's outputs, each part evaluated;
//! 4. [`report`]: the models' fits, notes and caveats, and the report.
//!
//! Model m (0 = target, 1..=K = references) is fitted with seed `mix_seed(seed, m)` and
//! its logits on every table row are stored under a content key (see [`crate::store`]).
//! Fits run in parallel on the rayon pool, each single-threaded, and results are placed by
//! model index, so the report does not depend on the thread count or on which models a
//! previous, interrupted run had already finished. The target's own stage (its signals, the
//! score-only attacks and their evaluation) runs beside the reference models' training.
//!
//! A stop request ([`Control`]: SIGINT / SIGTERM, or the caller's cancellation) stops a run
//! between models: running training commands are stopped, no further model starts, nothing
//! partial is stored, and the run ends with [`AuditError::Interrupted`]; a rerun resumes from
//! the stored models. A training command's files live in a private temporary folder, not
//! beside the report.
//!
//! Across machines ([`ModelAudit::plan`], [`ModelAudit::train`], [`ModelAudit::merge`]):
//! model m belongs to shard `m % N`; shards fill one artifact folder, and the merge, which
//! trains nothing, gives the report a single run gives.

mod attack;
mod compare;
mod prepare;
mod report;
mod train;

use crate::assemble::AuditOutput;
use crate::config::AuditConfig;
use crate::{AuditError, Control, RunSettings};
use std::path::{Path, PathBuf};

/// One shard of a plan's models: model m belongs to shard `m % count` (round-robin, so every
/// shard gets a share of the work whatever the model count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parses `I/N`, or `env/N` with I read through `env` from the scheduler's array index
    /// (`JOB_COMPLETION_INDEX` of a Kubernetes Indexed Job, else `SLURM_ARRAY_TASK_ID`).
    /// Errors are one line quoting `spec` as `--shard`.
    pub fn parse(spec: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, AuditError> {
        let fail = |m: String| AuditError::Input(format!("--shard {spec}: {m}"));
        let bad = || fail("expected I/N (0 <= I < N) or env/N".into());
        let (i, n) = spec.split_once('/').ok_or_else(bad)?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        let index: usize = if i.trim() == "env" {
            let (var, value) = ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"]
                .iter()
                .find_map(|v| env(v).map(|x| (*v, x)))
                .ok_or_else(|| fail("neither JOB_COMPLETION_INDEX nor SLURM_ARRAY_TASK_ID is set".into()))?;
            value.trim().parse().map_err(|_| fail(format!("{var}={value} is not a shard index")))?
        } else {
            i.trim().parse().map_err(|_| bad())?
        };
        if count == 0 {
            return Err(fail("the shard count N must be at least 1".into()));
        }
        if index >= count {
            return Err(fail(format!("shard {index} of {count}; the index must be 0 to {}", count - 1)));
        }
        Ok(Shard { index, count })
    }

    /// Whether model `m` (0 = the target) is this shard's to train.
    pub fn owns(&self, m: usize) -> bool {
        m % self.count == self.index
    }

    fn check(&self) -> Result<(), AuditError> {
        if self.count == 0 {
            return Err(AuditError::Input("shard count 0: expected at least 1 shard".into()));
        }
        if self.index >= self.count {
            return Err(AuditError::Input(format!(
                "shard {}/{}: the index must be below the shard count (0 to {})",
                self.index,
                self.count,
                self.count.saturating_sub(1)
            )));
        }
        Ok(())
    }
}

/// Which of the plan's models a step covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The target and every reference model.
    All,
    /// The models of one shard.
    Shard(Shard),
}

impl Selection {
    pub fn contains(&self, m: usize) -> bool {
        match self {
            Selection::All => true,
            Selection::Shard(s) => s.owns(m),
        }
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
    /// The `[compare] epsilons` setting it belongs to (`none`, `8`, ...), in a comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
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

/// A model audit: a config ([`AuditConfig`]) and how to run it. Nothing here changes the
/// report but the config and the gate rules added by its [`RunSettings`].
#[derive(Debug, Clone)]
pub struct ModelAudit {
    config: AuditConfig,
    base_dir: PathBuf,
    artifacts: Option<PathBuf>,
    settings: RunSettings,
}

impl ModelAudit {
    /// An audit under `config`, whose relative paths (data, ONNX target, training command's
    /// folder) are read from `base_dir`.
    pub fn new(config: AuditConfig, base_dir: impl Into<PathBuf>) -> ModelAudit {
        ModelAudit { config, base_dir: base_dir.into(), artifacts: None, settings: RunSettings::default() }
    }

    /// The audit a config file describes (paths relative to the file's folder).
    pub fn from_file(path: &Path) -> Result<ModelAudit, AuditError> {
        let (config, base) = AuditConfig::load(path)?;
        Ok(ModelAudit::new(config, base))
    }

    pub fn config(&self) -> &AuditConfig {
        &self.config
    }

    /// Where models' outputs are stored and looked up (a rerun reuses them; shards share
    /// it). Without one, [`run`](ModelAudit::run) keeps them in a temporary folder
    /// removed when it returns.
    pub fn artifacts(mut self, dir: impl Into<PathBuf>) -> ModelAudit {
        self.artifacts = Some(dir.into());
        self
    }

    /// Gate rules, table reading and work files ([`RunSettings`]).
    pub fn settings(mut self, settings: RunSettings) -> ModelAudit {
        self.settings = settings;
        self
    }

    /// The artifact folder, or why a step needs one.
    fn artifact_dir(&self, step: &str) -> Result<&Path, AuditError> {
        self.artifacts.as_deref().ok_or_else(|| {
            AuditError::Input(format!("{step} needs an artifact folder, shared by every shard and the merge"))
        })
    }

    /// Runs the whole audit: trains what the artifact store lacks, then attacks and reports.
    pub fn run(&self, ctl: &Control<'_>) -> Result<AuditOutput, AuditError> {
        let scratch;
        let dir = match &self.artifacts {
            Some(d) => d.as_path(),
            None => {
                scratch =
                    tempfile::tempdir().map_err(|e| AuditError::Input(format!("temporary artifact folder: {e}")))?;
                scratch.path()
            }
        };
        ctl.unless_stopped(self.report(dir, false, ctl))
    }

    /// The report of a plan whose models were all trained by shards (`mia merge`): trains
    /// nothing, and fails naming the missing models if the store lacks any. The report is
    /// the one [`run`](ModelAudit::run) gives.
    pub fn merge(&self, ctl: &Control<'_>) -> Result<AuditOutput, AuditError> {
        let dir = self.artifact_dir("merging shards")?;
        ctl.unless_stopped(self.report(dir, true, ctl))
    }

    /// The plan's models and which are stored (`mia plan`); trains nothing.
    pub fn plan(&self, ctl: &Control<'_>) -> Result<Vec<ModelTask>, AuditError> {
        let dir = self.artifact_dir("listing the plan's models")?;
        if let Some(audits) = self.setting_audits()? {
            return compare::each(&audits, |a| a.plan(ctl));
        }
        ctl.unless_stopped(prepare::prepare(self, dir, ctl).and_then(|p| train::train(&p, Selection::All, false, ctl)))
    }

    /// Trains the selected models the store lacks (`mia run --shard I/N`); runs no attack.
    /// Returns the selection's models.
    pub fn train(&self, selection: Selection, ctl: &Control<'_>) -> Result<Vec<ModelTask>, AuditError> {
        if let Selection::Shard(s) = selection {
            s.check()?;
        }
        let dir = self.artifact_dir("training a shard")?;
        if let Some(audits) = self.setting_audits()? {
            return compare::each(&audits, |a| a.train(selection, ctl));
        }
        ctl.unless_stopped(prepare::prepare(self, dir, ctl).and_then(|p| train::train(&p, selection, true, ctl)))
    }

    /// Runs the audit once per `[compare] epsilons` setting instead (`settings`: `[compare]
    /// epsilons` as the command line gives them, checked like the config's).
    pub fn compare(mut self, settings: Vec<crate::config::EpsilonSetting>) -> Result<ModelAudit, AuditError> {
        let section = crate::config::CompareSection { epsilons: settings };
        section.check(self.config.learner.as_ref()).map_err(|e| AuditError::Input(format!("--compare: {e}")))?;
        self.config.compare = Some(section);
        Ok(self)
    }

    /// One audit per `[compare]` setting (`None` without `[compare]`): the config with the
    /// learner's DP settings replaced, everything else equal. The first setting's carries the
    /// gate and the baseline: its audit is the report's body.
    fn setting_audits(&self) -> Result<Option<Vec<(String, ModelAudit)>>, AuditError> {
        let Some(compare) = &self.config.compare else { return Ok(None) };
        let mut audits = Vec::new();
        for (i, setting) in compare.epsilons.iter().enumerate() {
            let mut config = self.config.clone();
            config.compare = None;
            let learner =
                config.learner.as_ref().ok_or_else(|| AuditError::Input("[compare] needs a [learner]".into()))?;
            config.learner = Some(setting.apply(learner).map_err(AuditError::Input)?);
            let mut settings = self.settings.clone();
            if i > 0 {
                config.report.fail_if.clear();
                settings.fail_if.clear();
                settings.baseline = None;
            }
            let audit =
                ModelAudit { config, base_dir: self.base_dir.clone(), artifacts: self.artifacts.clone(), settings };
            audits.push((setting.label(), audit));
        }
        Ok(Some(audits))
    }

    fn report(&self, artifacts: &Path, require_stored: bool, ctl: &Control<'_>) -> Result<AuditOutput, AuditError> {
        if let Some(audits) = self.setting_audits()? {
            return compare::report(audits, artifacts, require_stored, ctl);
        }
        let prepared = prepare::prepare(self, artifacts, ctl)?;
        let trained = train::all_models(&prepared, require_stored, ctl)?;
        let reference_part = attack::reference_attacks(&prepared, &trained, ctl)?;
        report::report(&prepared, trained, reference_part)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// `I/N` and `env/N` parse; the Kubernetes index wins over Slurm's; every malformed or
    /// out-of-range spec is an input error that quotes it.
    #[test]
    fn shard_specs_parse_from_text_and_scheduler_variables() {
        let none = |_: &str| None;
        assert_eq!(Shard::parse("2/5", none).unwrap(), Shard { index: 2, count: 5 });
        assert_eq!(Shard::parse(" 0 / 1 ", none).unwrap(), Shard { index: 0, count: 1 });
        let both = |v: &str| Some(if v == "JOB_COMPLETION_INDEX" { "3" } else { "1" }.to_string());
        assert_eq!(Shard::parse("env/4", both).unwrap(), Shard { index: 3, count: 4 });
        let slurm = |v: &str| (v == "SLURM_ARRAY_TASK_ID").then(|| "1".to_string());
        assert_eq!(Shard::parse("env/2", slurm).unwrap(), Shard { index: 1, count: 2 });
        for (spec, env_value, says) in [
            ("3", None, "expected I/N"),
            ("a/3", None, "expected I/N"),
            ("1/x", None, "expected I/N"),
            ("0/0", None, "at least 1"),
            ("3/3", None, "shard 3 of 3; the index must be 0 to 2"),
            ("env/3", None, "neither JOB_COMPLETION_INDEX nor SLURM_ARRAY_TASK_ID"),
            ("env/3", Some("x"), "JOB_COMPLETION_INDEX=x is not a shard index"),
            ("env/3", Some("7"), "shard 7 of 3"),
        ] {
            let env = |_: &str| env_value.map(str::to_string);
            let e = Shard::parse(spec, env).unwrap_err().to_string();
            assert!(e.contains(&format!("--shard {spec}: ")) && e.contains(says), "{spec}: {e}");
        }
    }
}
