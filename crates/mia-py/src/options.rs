//! Options from the Python layer, as JSON (`json.dumps` of plain values): one struct per
//! call with the command's names and defaults, unknown keys refused.

use std::path::PathBuf;

use mia_audit::score::{ReferenceOverrides, ScoreAuditOptions};
use mia_audit::{BaselineInput, RunSettings};
use mia_core::attacks::AttackConfig;
use mia_core::evaluate::EvalConfig;
use mia_core::reference::{Center, LiraStd, OfflineTest, ReferenceConfig, Variance};
use mia_core::roc::FprRule;
use mia_data::reference::{RefSignal, ReferenceInput, ReferenceSources};
use mia_data::{ScoreColumns, ScoreSource};
use pyo3::PyResult;
use serde::Deserialize;

use crate::{InputError, to_py};

fn parse<'a, T: Deserialize<'a>>(json: &'a str, what: &str) -> PyResult<T> {
    serde_json::from_str(json).map_err(|e| InputError::new_err(format!("{what}: {e}")))
}

/// The options of `mia_audit.score`, named and defaulted as `mia score`'s flags.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreOptions {
    seed: u64,
    bootstrap: usize,
    confidence: f64,
    delta: f64,
    base_rates: Vec<f64>,
    fpr: Vec<f64>,
    fpr_rule: FprRule,
    min_class_size: u64,
    bootstrap_min_class_size: u64,
    folds: usize,
    attacks: Option<Vec<String>>,
    slices: Option<Vec<String>>,
    fail_if: Vec<String>,
    baseline: Option<PathBuf>,
    prob_tolerance: f64,
    pub skip_invalid_rows: bool,
    top: usize,
    claimed_epsilon: Option<f64>,
    claimed_delta: Option<f64>,
    one_run: bool,
    attack_config: Option<PathBuf>,
    lira_center: Option<Center>,
    lira_variance: Option<Variance>,
    lira_std: Option<LiraStd>,
    lira_offline: Option<OfflineTest>,
    rmia_gamma: Option<f64>,
    rmia_a: Option<f64>,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        let e = EvalConfig::default();
        let d = ScoreAuditOptions::default();
        ScoreOptions {
            seed: 0,
            bootstrap: e.bootstrap_resamples,
            confidence: e.confidence,
            delta: e.delta,
            base_rates: e.base_rates,
            fpr: e.fpr_targets,
            fpr_rule: e.fpr_rule,
            min_class_size: e.min_class_size,
            bootstrap_min_class_size: e.bootstrap_min_class_size,
            folds: AttackConfig::default().folds,
            attacks: None,
            slices: None,
            fail_if: Vec::new(),
            baseline: None,
            prob_tolerance: d.prob_tolerance,
            skip_invalid_rows: false,
            top: d.top_records,
            claimed_epsilon: None,
            claimed_delta: None,
            one_run: false,
            attack_config: None,
            lira_center: None,
            lira_variance: None,
            lira_std: None,
            lira_offline: None,
            rmia_gamma: None,
            rmia_a: None,
        }
    }
}

impl ScoreOptions {
    pub fn parse(json: &str) -> PyResult<ScoreOptions> {
        parse(json, "options")
    }

    /// The library's options, as `mia score` builds them from the same flags.
    pub fn audit_options(&self, reference: Option<ReferenceInput>) -> PyResult<ScoreAuditOptions> {
        let overrides = ReferenceOverrides {
            lira_center: self.lira_center,
            lira_variance: self.lira_variance,
            lira_std: self.lira_std,
            lira_offline: self.lira_offline,
            rmia_gamma: self.rmia_gamma,
            rmia_a: self.rmia_a,
        };
        if reference.is_none() {
            let flag = overrides.given().map(|f| f.trim_start_matches("--").replace('-', "_"));
            if let Some(f) = flag.or(self.attack_config.as_ref().map(|_| "attack_config".to_string())) {
                return Err(InputError::new_err(format!(
                    "{f} needs reference= (the reference models' outputs on the audited records)"
                )));
            }
        }
        let config = match &self.attack_config {
            Some(path) => mia_audit::score::load_reference_config(path).map_err(to_py)?,
            None => ReferenceConfig::default(),
        };
        let (reference_config, given_settings) = overrides.apply(config);
        let claimed = match (self.claimed_epsilon, self.claimed_delta) {
            (Some(e), Some(d)) => Some((e, d)),
            (None, None) => None,
            _ => return Err(InputError::new_err("claimed_epsilon and claimed_delta go together: give both")),
        };
        Ok(ScoreAuditOptions {
            eval: EvalConfig {
                fpr_targets: self.fpr.clone(),
                fpr_rule: self.fpr_rule,
                bootstrap_resamples: self.bootstrap,
                confidence: self.confidence,
                delta: self.delta,
                base_rates: self.base_rates.clone(),
                seed: self.seed,
                min_class_size: self.min_class_size,
                bootstrap_min_class_size: self.bootstrap_min_class_size,
                ..EvalConfig::default()
            },
            attack: AttackConfig { folds: self.folds, seed: self.seed, ..AttackConfig::default() },
            attacks: self.attacks.clone(),
            slice_attacks: self.slices.clone().map(|s| if s == ["none"] { Vec::new() } else { s }),
            gate: self.fail_if.clone(),
            top_records: self.top,
            prob_tolerance: self.prob_tolerance,
            reference,
            reference_config,
            given_settings,
            claimed,
            one_run: self.one_run,
            baseline: self.baseline.as_deref().map(BaselineInput::load).transpose().map_err(to_py)?,
        })
    }
}

/// The files of the path form of `mia_audit.score`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sources {
    file: Option<PathBuf>,
    #[serde(default)]
    columns: Columns,
    logits: Option<PathBuf>,
    probs: Option<PathBuf>,
    labels: Option<PathBuf>,
    member: Option<PathBuf>,
    ids: Option<PathBuf>,
    reference: Option<PathBuf>,
    reference_signal: Option<RefSignal>,
    keep: Option<PathBuf>,
    reference_ids: Option<PathBuf>,
    population_target: Option<PathBuf>,
    population_reference: Option<PathBuf>,
    population_labels: Option<PathBuf>,
}

/// Column names of a score table (`mia score --id-col ...`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Columns {
    id: String,
    member: String,
    label: String,
    loss: String,
    logit_prefix: String,
    prob_prefix: String,
}

impl Default for Columns {
    fn default() -> Self {
        let c = ScoreColumns::default();
        Columns {
            id: c.id,
            member: c.member,
            label: c.label,
            loss: c.loss,
            logit_prefix: c.logit_prefix,
            prob_prefix: c.prob_prefix,
        }
    }
}

/// The score input and reference files of the path form.
pub fn score_sources(json: &str) -> PyResult<(ScoreSource, Option<ReferenceInput>)> {
    let s: Sources = parse(json, "inputs")?;
    let source = match (s.file, s.member) {
        (Some(path), _) => {
            let c = s.columns;
            let columns = ScoreColumns {
                id: c.id,
                member: c.member,
                label: c.label,
                loss: c.loss,
                logit_prefix: c.logit_prefix,
                prob_prefix: c.prob_prefix,
            };
            ScoreSource::Table { path, columns }
        }
        (None, Some(member)) => {
            ScoreSource::Arrays { logits: s.logits, probs: s.probs, labels: s.labels, member, ids: s.ids }
        }
        (None, None) => {
            return Err(InputError::new_err("give a score file, or member= with logits=/probs= and labels="));
        }
    };
    let reference = s.reference.map(|reference| {
        ReferenceInput::Files(ReferenceSources {
            reference,
            signal: s.reference_signal,
            keep: s.keep,
            ids: s.reference_ids,
            population_target: s.population_target,
            population_reference: s.population_reference,
            population_labels: s.population_labels,
        })
    });
    Ok((source, reference))
}

/// How `mia_audit.audit` and `mia_audit.synth` run besides their config.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Settings {
    fail_if: Vec<String>,
    skip_invalid_rows: bool,
    keep_work: bool,
    baseline: Option<PathBuf>,
}

pub fn run_settings(json: &str) -> PyResult<RunSettings> {
    let s: Settings = parse(json, "settings")?;
    Ok(RunSettings {
        fail_if: s.fail_if,
        table: mia_data::tabular::TableOptions { skip_invalid_rows: s.skip_invalid_rows, ..Default::default() },
        keep_work: s.keep_work,
        baseline: s.baseline.as_deref().map(BaselineInput::load).transpose().map_err(to_py)?,
    })
}
