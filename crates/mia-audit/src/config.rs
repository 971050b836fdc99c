//! The audit config (`audit.toml`): what `mia audit` reads, validated before any work.
//!
//! ```toml
//! seed = 0
//!
//! [data]                      # the table and its schema (mia_data::tabular::TableSchema)
//! path = "../data/location/bangkok.csv.gz"
//! ...
//!
//! [plan]
//! target = "train"            # the tool trains the target on a random member half ...
//! # target = "member_column"  # ... or on the rows the data's member column flags
//! # target = "one_run"        # ... or on each record by a fair coin (one-run ε bound)
//! target_fraction = 0.5       # share of audit records the target trains on ("train")
//! population_fraction = 0.2   # rows held out for RMIA / Attack-P, never trained on
//! reference_models = 16       # K, even: every record is IN for exactly K/2 of them
//!
//! [learner]                   # mia_models::LearnerSpec
//! kind = "mlp"
//! hidden_layer_sizes = [256]
//! # [trainer]                 # ... or your own training program (mia_models::trainer)
//! # command = ["python", "train.py", "--train", "{train}", "--out", "{model}"]
//! # [target]                  # a given target model, trained on [data]'s member column
//! # onnx = "model.onnx"        # ... a file, or a deployed model (mia_models::http):
//! # http = "http://127.0.0.1:5000/invocations"
//! # protocol = "mlflow"       # or "open_inference" (KServe v2 / Triton)
//! # output = "probs"          # or "logits", or "label": seen through its labels (label_noise.rs)
//! # batch_size = 256, concurrency = 4, max_requests_per_s = 50, timeout_s = 30, retries = 3
//! # token_env = "MIA_TOKEN"   # a bearer token, read from this environment variable
//! # claimed_epsilon = 8.0     # its DP guarantee, if one is claimed (the report's `privacy`)
//! # claimed_delta = 1e-5
//!
//! [attacks]
//! run = ["lira_online", "rmia_offline", "loss"]   # default: every attack
//! folds = 5
//! [attacks.lira]              # per-attack parameters (mia_core::reference)
//! center = "median"
//!
//! [eval]
//! bootstrap = 1000
//! fpr = [1e-3, 1e-2, 1e-1]
//!
//! [report]
//! fail_if = ["max.tpr@0.001 > 0.05"]
//! top = 25
//!
//! # [compare]                 # the audit once per DP-SGD setting (logistic / mlp learner)
//! # epsilons = ["none", 8, 2, 0.5]
//! ```
//!
//! Unknown keys anywhere are errors (a misspelt key must never be silently ignored), and
//! errors are one line naming the file, line and column.

use crate::AuditError;
use mia_core::evaluate::EvalConfig;
use mia_core::reference::ReferenceConfig;
use mia_data::tabular::TableSchema;
use mia_models::LearnerSpec;
use mia_models::http::{HttpOutput, HttpSpec, Protocol};
use mia_models::trainer::TrainerSpec;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Most reference models a plan may have: each is a full training run, and the outputs of
/// all K + 1 models on every table row are held in memory together.
pub const MAX_REFERENCE_MODELS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Seed of every random choice: splits, keep mask, model fits, folds, bootstrap.
    #[serde(default)]
    pub seed: u64,
    pub data: TableSchema,
    #[serde(default)]
    pub plan: PlanConfig,
    /// A given target model (`[target] onnx = "model.onnx"`), trained on the rows of the
    /// data's member column. Without it the tool trains the target.
    #[serde(default)]
    pub target: Option<TargetSection>,
    /// The built-in learner that trains the target and reference models ...
    #[serde(default)]
    pub learner: Option<LearnerSpec>,
    /// ... or the user's own training command (mia_models::trainer).
    #[serde(default)]
    pub trainer: Option<TrainerSpec>,
    #[serde(default)]
    pub attacks: AttacksConfig,
    #[serde(default)]
    pub eval: EvalConfig,
    #[serde(default)]
    pub report: ReportSection,
    /// The same audit under several DP-SGD settings (`[compare] epsilons`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<CompareSection>,
}

/// `[compare] epsilons = ["none", 8, 2, 0.5]`: the audit run once per setting, no DP (`none`)
/// or DP-SGD calibrated to that ε (the rest of `[learner.dp]`, if given, applies to each: δ,
/// clipping norm, ...). Same data, plan and seeds; each setting trains its own target and
/// reference models (LiRA must mimic the target's training).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareSection {
    pub epsilons: Vec<EpsilonSetting>,
}

/// One setting of `[compare] epsilons`: `"none"` or a target ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EpsilonSetting {
    Epsilon(f64),
    Text(String),
}

impl EpsilonSetting {
    /// Parses `none` or a number (the command line's `--compare none,8,2`).
    pub fn parse(s: &str) -> EpsilonSetting {
        match s.trim().parse::<f64>() {
            Ok(e) => EpsilonSetting::Epsilon(e),
            Err(_) => EpsilonSetting::Text(s.trim().to_string()),
        }
    }

    /// The target ε, `None` for no DP; an error for anything but `none` or a finite ε > 0.
    pub fn epsilon(&self) -> Result<Option<f64>, String> {
        match self {
            EpsilonSetting::Epsilon(e) if e.is_finite() && *e > 0.0 => Ok(Some(*e)),
            EpsilonSetting::Text(t) if t == "none" => Ok(None),
            EpsilonSetting::Epsilon(e) => Err(format!("ε must be a finite number > 0, got {e}")),
            EpsilonSetting::Text(t) => Err(format!("expected \"none\" or a number ε > 0, got {t:?}")),
        }
    }

    /// `learner` with its DP settings replaced for this setting: none, or `[learner.dp]`'s
    /// other settings (δ, clipping norm, ...) with this ε.
    pub fn apply(&self, learner: &LearnerSpec) -> Result<LearnerSpec, String> {
        let epsilon = self.epsilon().map_err(|e| format!("[compare] epsilons: {e}"))?;
        let base = learner.dp().cloned().unwrap_or_default();
        let mut l = learner.clone();
        l.set_dp(epsilon.map(|e| mia_models::DpSgd { epsilon: Some(e), noise_multiplier: None, ..base }))
            .map_err(|e| format!("[compare] epsilons: {e}"))?;
        Ok(l)
    }

    /// `none`, or ε as written (`8`, `0.5`).
    pub fn label(&self) -> String {
        match self {
            EpsilonSetting::Epsilon(e) => format!("{e}"),
            EpsilonSetting::Text(t) => t.clone(),
        }
    }
}

impl CompareSection {
    /// Checks the settings against the config they vary.
    pub fn check(&self, learner: Option<&LearnerSpec>) -> Result<(), String> {
        if self.epsilons.is_empty() {
            return Err("[compare] epsilons: list at least one setting, e.g. [\"none\", 8, 2, 0.5]".into());
        }
        let mut seen = Vec::new();
        for e in &self.epsilons {
            e.epsilon().map_err(|m| format!("[compare] epsilons: {m}"))?;
            if seen.contains(&e.label()) {
                return Err(format!("[compare] epsilons: {} is listed twice", e.label()));
            }
            seen.push(e.label());
        }
        match learner {
            Some(LearnerSpec::Logistic(_) | LearnerSpec::Mlp(_)) => Ok(()),
            _ => {
                Err("[compare] epsilons: needs [learner] kind = \"logistic\" or \"mlp\" (the tool trains each setting \
                      with DP-SGD; a given ONNX target, a [trainer] command and gbt cannot be retrained with DP)"
                    .into())
            }
        }
    }
}

/// A given target model: a file, or a deployed model behind an HTTP endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSection {
    /// An ONNX model taking the audit's encoded features (see encoding.json) and giving
    /// probabilities or logits. A relative path resolves against the config's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onnx: Option<PathBuf>,
    /// The URL of a deployed model taking the encoded features ([`mia_models::http`]); with
    /// `protocol` and `output`, and optionally the client's limits below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<HttpOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_per_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_s: Option<f64>,
    /// The environment variable holding the endpoint's bearer token (never the token itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// Open Inference Protocol tensor names (default: `input-0`, and the first output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_name: Option<String>,
    /// The (ε, δ) differential-privacy guarantee claimed for the model (trained with Opacus,
    /// TF Privacy, ...): the report's `privacy` section sets every attack's ε lower bound at
    /// this δ against it. Both or neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_epsilon: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_delta: Option<f64>,
}

/// What a `[target]` section names.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetSource {
    Onnx(PathBuf),
    Http(HttpSpec),
}

/// A `[target]` section, read: the given model (`None`: the tool trains the target) and
/// whether the audit sees only its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetChoice {
    pub given: Option<TargetSource>,
    pub label_only: bool,
}

impl TargetSection {
    /// The model the section names, checked: at most one of `onnx` and `http`, the endpoint's
    /// keys only with `http`, `protocol` and `output` with it. `output = "label"` alone (the
    /// tool trains the target) or with `onnx` audits the model from its predicted labels only.
    pub fn source(&self) -> Result<TargetChoice, String> {
        let label_only = self.output == Some(HttpOutput::Label);
        let http_keys = [
            ("protocol", self.protocol.is_some()),
            ("batch_size", self.batch_size.is_some()),
            ("concurrency", self.concurrency.is_some()),
            ("max_requests_per_s", self.max_requests_per_s.is_some()),
            ("timeout_s", self.timeout_s.is_some()),
            ("retries", self.retries.is_some()),
            ("backoff_s", self.backoff_s.is_some()),
            ("token_env", self.token_env.is_some()),
            ("input_name", self.input_name.is_some()),
            ("output_name", self.output_name.is_some()),
        ];
        let local = |given: Option<TargetSource>| {
            if let Some((key, _)) = http_keys.iter().find(|k| k.1) {
                return Err(format!("[target] {key}: only for a model behind an endpoint (http = \"...\")"));
            }
            if self.output.is_some() && !label_only {
                return Err("[target] output: only \"label\" here (the audit reads a model file's or a trained \
                     model's outputs itself); \"probs\" and \"logits\" describe an endpoint's answers"
                    .into());
            }
            Ok(TargetChoice { given, label_only })
        };
        match (&self.onnx, &self.http) {
            (Some(_), Some(_)) => Err("[target]: name one of onnx (a model file) and http (an endpoint)".into()),
            (None, None) if !label_only => Err("[target]: name the model: onnx = \"model.onnx\" or http = \
                 \"http://...\" (or output = \"label\" alone: the trained target, seen through its labels)"
                .into()),
            (None, None) => local(None),
            (Some(path), None) => local(Some(TargetSource::Onnx(path.clone()))),
            (None, Some(url)) => {
                let protocol = self
                    .protocol
                    .ok_or("[target] protocol: say how to talk to the endpoint: \"mlflow\" or \"open_inference\"")?;
                let output = self
                    .output
                    .ok_or("[target] output: say what the endpoint answers with: \"probs\", \"logits\" or \"label\"")?;
                let mut spec = HttpSpec::new(url.clone(), protocol, output);
                spec.batch_size = self.batch_size.unwrap_or(spec.batch_size);
                spec.concurrency = self.concurrency.unwrap_or(spec.concurrency);
                spec.max_requests_per_s = self.max_requests_per_s;
                spec.timeout_s = self.timeout_s.unwrap_or(spec.timeout_s);
                spec.retries = self.retries.unwrap_or(spec.retries);
                spec.backoff_s = self.backoff_s.unwrap_or(spec.backoff_s);
                spec.token_env.clone_from(&self.token_env);
                spec.input_name = self.input_name.clone().unwrap_or(spec.input_name);
                spec.output_name.clone_from(&self.output_name);
                spec.check().map_err(|e| format!("[target] {e}"))?;
                Ok(TargetChoice { given: Some(TargetSource::Http(spec)), label_only })
            }
        }
    }

    /// The claimed guarantee, checked: `None` when none is claimed.
    pub fn claim(&self) -> Result<Option<(f64, f64)>, String> {
        match (self.claimed_epsilon, self.claimed_delta) {
            (None, None) => Ok(None),
            (Some(e), Some(d)) => crate::privacy::check_claim(e, d, "[target]").map(|_| Some((e, d))),
            (Some(_), None) => {
                Err("[target] claimed_epsilon needs claimed_delta (the δ the guarantee holds at)".into())
            }
            (None, Some(_)) => Err("[target] claimed_delta needs claimed_epsilon".into()),
        }
    }
}

/// Who trains the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetMode {
    /// The tool trains the target on a seeded random share of the audit records.
    Train,
    /// The tool trains the target on the rows flagged by the data's `member` column.
    MemberColumn,
    /// A self-test of the whole pipeline: the target is trained as with `train`, but the
    /// membership the attacks are scored against is a second, independent random draw, so
    /// no attack can beat chance and every AUC interval should cover 0.5.
    NullCheck,
    /// The one-run audit (Steinke, Nasr & Jagielski, NeurIPS 2023): the target trains on each
    /// audit record independently with probability ½ (a fair coin per record, so
    /// `target_fraction` does not apply), and the report's `one_run` section bounds ε from
    /// how well the attacks guess the coins. Needs at least 100 audit records.
    OneRun,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlanConfig {
    /// Default `train`, or `member_column` with a `[target]` model.
    pub target: Option<TargetMode>,
    pub target_fraction: f64,
    pub population_fraction: f64,
    pub reference_models: usize,
    /// Use at most this many rows of the table (a seeded subsample), for quick looks at
    /// large tables.
    pub max_rows: Option<usize>,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            target: None,
            target_fraction: 0.5,
            population_fraction: 0.2,
            reference_models: 16,
            max_rows: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttacksConfig {
    /// Attacks to run (default: every attack the plan supports).
    pub run: Option<Vec<String>>,
    /// Folds for cross-fitted score-only attacks.
    pub folds: usize,
    pub lira: mia_core::reference::LiraConfig,
    pub rmia: mia_core::reference::RmiaConfig,
    pub attack_r: mia_core::reference::AttackRConfig,
    pub shokri: mia_core::reference::ShokriConfig,
    /// The noise-robustness attack of a label-only target.
    #[serde(skip_serializing_if = "crate::label_noise::LabelNoiseConfig::is_default")]
    pub label_noise: crate::label_noise::LabelNoiseConfig,
    /// The quantile-regression attack (fitted on the population records).
    #[serde(skip_serializing_if = "is_default_quantile")]
    pub quantile: crate::quantile::QuantileConfig,
}

fn is_default_quantile(q: &crate::quantile::QuantileConfig) -> bool {
    *q == crate::quantile::QuantileConfig::default()
}

impl Default for AttacksConfig {
    fn default() -> Self {
        let r = ReferenceConfig::default();
        AttacksConfig {
            run: None,
            folds: 5,
            lira: r.lira,
            rmia: r.rmia,
            attack_r: r.attack_r,
            shokri: r.shokri,
            label_noise: Default::default(),
            quantile: Default::default(),
        }
    }
}

impl AttacksConfig {
    /// The attacks to run among `known` (`None`: all of them).
    pub fn wanted<'a>(&self, known: &[&'a str]) -> Vec<&'a str> {
        known.iter().copied().filter(|k| self.run.as_ref().is_none_or(|r| r.iter().any(|n| n == k))).collect()
    }

    pub fn reference(&self) -> ReferenceConfig {
        ReferenceConfig {
            lira: self.lira.clone(),
            rmia: self.rmia.clone(),
            attack_r: self.attack_r.clone(),
            shokri: self.shokri.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSection {
    /// Gate rules (as `--fail-if`); command-line rules are added to these.
    pub fail_if: Vec<String>,
    /// Records listed as most exposed in report.html.
    pub top: usize,
    /// Attacks sliced by class (default: every attack without a fitted per-class step).
    pub slices: Option<Vec<String>>,
}

impl Default for ReportSection {
    fn default() -> Self {
        ReportSection { fail_if: Vec::new(), top: 25, slices: None }
    }
}

impl AuditConfig {
    /// Parses a config from TOML text; `name` labels errors.
    pub fn parse(text: &str, name: &str) -> Result<AuditConfig, AuditError> {
        let cfg: AuditConfig = parse_toml(text, name)?;
        cfg.validate(name)?;
        Ok(cfg)
    }

    /// Reads and parses `path`; returns the config and the folder relative paths in it
    /// resolve against.
    pub fn load(path: &Path) -> Result<(AuditConfig, PathBuf), AuditError> {
        let (text, name, base) = read_config(path)?;
        Ok((AuditConfig::parse(&text, &name)?, base))
    }

    /// Who trains the target: as configured, else `member_column` for a given model and
    /// `train` otherwise.
    pub fn target_mode(&self) -> TargetMode {
        self.plan.target.unwrap_or(if self.given_target() { TargetMode::MemberColumn } else { TargetMode::Train })
    }

    /// Whether `[target]` names a model (a file or an endpoint) rather than the tool training it.
    pub fn given_target(&self) -> bool {
        self.target.as_ref().is_some_and(|t| t.onnx.is_some() || t.http.is_some())
    }

    /// Whether the audit sees only the target's predicted labels (`[target] output = "label"`).
    pub fn label_only(&self) -> bool {
        self.target.as_ref().is_some_and(|t| t.output == Some(HttpOutput::Label))
    }

    /// The share of rows held out as a population: `plan.population_fraction` when an attack
    /// that uses a population can run (RMIA or Attack-P, which need reference models; a
    /// label-only target's `label_noise`; `quantile` when `attacks.run` names it), else 0, so
    /// that no rows leave the audit for nothing. (`quantile` also runs, unnamed, whenever a
    /// population is held out for the others.)
    pub fn population_fraction(&self) -> f64 {
        let wanted = |n: &String| mia_core::reference::POPULATION_ATTACKS.contains(&n.as_str());
        let runs = |name: &str| self.attacks.run.as_ref().is_none_or(|r| r.iter().any(|n| n == name));
        let used = (self.plan.reference_models > 0 && self.attacks.run.as_ref().is_none_or(|r| r.iter().any(wanted)))
            || (self.label_only() && runs("label_noise"))
            || self.attacks.run.as_ref().is_some_and(|r| r.iter().any(|n| n == crate::quantile::QUANTILE_ATTACK));
        if used { self.plan.population_fraction } else { 0.0 }
    }

    fn validate(&self, name: &str) -> Result<(), AuditError> {
        let bad = |m: String| Err(AuditError::Input(format!("{name}: {m}")));
        let p = &self.plan;
        if let Some(t) = &self.target {
            t.claim().map_err(|e| AuditError::Input(format!("{name}: {e}")))?;
            t.source().map_err(|e| AuditError::Input(format!("{name}: {e}")))?;
        }
        if self.given_target() {
            if self.target_mode() != TargetMode::MemberColumn {
                return bad("[target]: a given model was trained on the rows of the data's member column; set \
                     plan.target = \"member_column\" or leave it out"
                    .into());
            }
            if self.data.member.is_none() {
                return bad("[target]: name the member column in [data] (member = \"...\"): the rows the model was \
                     trained on"
                    .into());
            }
        }
        match (&self.learner, &self.trainer) {
            (Some(_), Some(_)) => {
                return bad("name one of [learner] and [trainer]: both train the reference models".into());
            }
            (None, None) if !(self.given_target() && p.reference_models == 0) => {
                return bad(
                    "name a [learner] (a built-in learner) or a [trainer] (your training command) to train the \
                     reference models"
                        .into(),
                );
            }
            _ => {}
        }
        if let Some(t) = &self.trainer {
            t.check().map_err(|e| AuditError::Input(format!("{name}: {e}")))?;
        }
        if !(p.target_fraction > 0.0 && p.target_fraction < 1.0) {
            return bad(format!("plan.target_fraction must be between 0 and 1, got {}", p.target_fraction));
        }
        if !(p.population_fraction >= 0.0 && p.population_fraction < 1.0) {
            return bad(format!("plan.population_fraction must be in [0, 1), got {}", p.population_fraction));
        }
        if !p.reference_models.is_multiple_of(2) {
            return bad(format!(
                "plan.reference_models must be even (each record is IN for exactly half of them), got {}",
                p.reference_models
            ));
        }
        if p.reference_models > MAX_REFERENCE_MODELS {
            return bad(format!(
                "plan.reference_models = {}: expected an even number from 0 to {MAX_REFERENCE_MODELS} (each is a \
                 full training run, and every model's outputs are held in memory)",
                p.reference_models
            ));
        }
        if let Some(m) = p.max_rows {
            let min = crate::plan::min_plan_rows(p, self.population_fraction(), self.target_mode());
            if m < min {
                return bad(format!(
                    "plan.max_rows = {m}: expected at least {min} rows for this plan (a population share, target \
                     members and non-members, and training rows for each of the {} reference models)",
                    p.reference_models
                ));
            }
        }
        let known: Vec<&str> = mia_core::attacks::SCORE_ONLY_ATTACKS
            .iter()
            .chain(mia_core::reference::REFERENCE_ATTACKS)
            .chain(&["label_noise", crate::quantile::QUANTILE_ATTACK])
            .copied()
            .collect();
        self.attacks.quantile.check().map_err(|e| AuditError::Input(format!("{name}: [attacks.quantile] {e}")))?;
        self.check_label_only(name)?;
        if let Some(list) = &self.report.slices {
            crate::score::check_slices(list, &known, "report.slices", "[]")
                .map_err(|e| AuditError::Input(format!("{name}: {e}")))?;
        }
        if let Some(b) = self.attacks.reference().invalid_setting() {
            return bad(format!("attacks.{b}"));
        }
        if self.attacks.rmia != mia_core::reference::RmiaConfig::default() {
            let why = if p.reference_models == 0 {
                Some("plan.reference_models = 0")
            } else if p.population_fraction == 0.0 {
                Some("plan.population_fraction = 0 leaves no population records")
            } else if self.attacks.run.as_ref().is_some_and(|r| !r.iter().any(|n| n.starts_with("rmia_"))) {
                Some("attacks.run leaves rmia_online and rmia_offline out")
            } else {
                None
            };
            if let Some(why) = why {
                return bad(format!(
                    "[attacks.rmia] sets RMIA options, but no RMIA attack can run ({why}); remove the section or \
                     run RMIA"
                ));
            }
        }
        if let Some(run) = &self.attacks.run {
            if let Some(n) = run.iter().find(|n| !known.contains(&n.as_str())) {
                return bad(format!("attacks.run: unknown attack \"{n}\"; known attacks: {}", known.join(", ")));
            }
            if run.is_empty() {
                return bad("attacks.run is empty; name at least one attack or leave it out".into());
            }
        }
        crate::score::check_eval(&self.eval.with_seed(self.seed), self.attacks.folds, |n| match n {
            "folds" => format!("{name}: attacks.folds"),
            "base_rate" => format!("{name}: eval.base_rates"),
            _ => format!("{name}: eval.{n}"),
        })?;
        self.check_learners(name)?;
        Ok(())
    }

    /// The learner as each run trains it: the config's, or each `[compare]` setting's.
    /// A label-only target runs only the attacks that need nothing but labels.
    fn check_label_only(&self, name: &str) -> Result<(), AuditError> {
        let bad = |m: String| Err(AuditError::Input(format!("{name}: {m}")));
        let labels = crate::label_noise::LABEL_ONLY_ATTACKS;
        if !self.label_only() {
            if let Some(n) = self.attacks.run.iter().flatten().find(|n| n.as_str() == "label_noise") {
                return bad(format!(
                    "attacks.run: \"{n}\" queries a label-only target; set [target] output = \"label\" to audit the \
                     model from its labels"
                ));
            }
            if !self.attacks.label_noise.is_default() {
                return bad("[attacks.label_noise] is for a label-only target ([target] output = \"label\")".into());
            }
            return Ok(());
        }
        if self.plan.reference_models > 0 {
            return bad(format!(
                "[target] output = \"label\": plan.reference_models = {}, but the reference attacks need the target's \
                 confidences; a label-only target runs {} (set plan.reference_models = 0)",
                self.plan.reference_models,
                labels.join(" and ")
            ));
        }
        if let Some(n) = self.attacks.run.iter().flatten().find(|n| !labels.contains(&n.as_str())) {
            return bad(format!(
                "attacks.run: \"{n}\" needs the target's confidences; a label-only target ([target] output = \
                 \"label\") runs {}",
                labels.join(", ")
            ));
        }
        if let Some(n) = self.report.slices.iter().flatten().find(|n| !labels.contains(&n.as_str())) {
            return bad(format!("report.slices: \"{n}\" does not run on a label-only target"));
        }
        self.attacks.label_noise.check().map_err(|e| AuditError::Input(format!("{name}: [attacks.label_noise] {e}")))
    }

    fn check_learners(&self, name: &str) -> Result<(), AuditError> {
        if let Some(c) = &self.compare {
            c.check(self.learner.as_ref()).map_err(|e| AuditError::Input(format!("{name}: {e}")))?;
        }
        match (&self.learner, &self.compare) {
            // Each setting's learner is what trains; the base may lack an ε (`[compare]` sets it).
            (Some(l), Some(c)) => {
                for setting in &c.epsilons {
                    let learner = setting.apply(l).map_err(|e| AuditError::Input(format!("{name}: {e}")))?;
                    learner.learner().map_err(|e| {
                        AuditError::Input(format!("{name}: learner (compare setting {}): {e}", setting.label()))
                    })?;
                }
            }
            (Some(l), None) => {
                l.learner().map_err(|e| AuditError::Input(format!("{name}: learner: {e}")))?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Deserialises a TOML config; errors are one line naming `name`, the line and the column.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, name: &str) -> Result<T, AuditError> {
    toml::from_str(text).map_err(|e| {
        let (line, col) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        let msg = e.message().replace('\n', " ");
        if line > 0 {
            AuditError::Input(format!("{name}: line {line}, column {col}: {msg}"))
        } else {
            AuditError::Input(format!("{name}: {msg}"))
        }
    })
}

/// A config file's text, its name for messages, and the folder its relative paths resolve
/// against.
pub(crate) fn read_config(path: &Path) -> Result<(String, String, PathBuf), AuditError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| AuditError::Input(format!("{name}: cannot read: {e}")))?;
    let base = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    Ok((text, name, if base.as_os_str().is_empty() { PathBuf::from(".") } else { base }))
}

/// 1-based line and column of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows are held out as a population only for the attacks that read one (found auditing a
    /// given ONNX model with reference_models = 0: 20 % of the records were left unaudited).
    #[test]
    fn a_population_is_held_out_only_when_an_attack_uses_it() {
        let cfg = |plan: &str, attacks: &str| {
            let text = format!(
                "[data]\npath = \"d.csv\"\nlabel = \"y\"\n[learner]\nkind = \"logistic\"\n[plan]\n{plan}\n[attacks]\n{attacks}\n"
            );
            AuditConfig::parse(&text, "t.toml").unwrap()
        };
        assert_eq!(cfg("reference_models = 16", "").population_fraction(), 0.2);
        assert_eq!(cfg("reference_models = 16", "run = [\"lira_online\", \"attack_p\"]").population_fraction(), 0.2);
        assert_eq!(cfg("reference_models = 16", "run = [\"lira_online\", \"loss\"]").population_fraction(), 0.0);
        assert_eq!(cfg("reference_models = 0", "").population_fraction(), 0.0);
        assert_eq!(cfg("reference_models = 0\npopulation_fraction = 0.3", "").population_fraction(), 0.0);
    }

    /// `[eval]` reads straight into `EvalConfig` under the config's names (`fpr`, `bootstrap`);
    /// the report's names, the seed and the drawing settings are not config keys.
    #[test]
    fn the_eval_table_is_an_eval_config_under_the_config_names() {
        let parse = |eval: &str| {
            let text = format!(
                "seed = 7\n[data]\npath = \"d.csv\"\nlabel = \"y\"\n[learner]\nkind = \"logistic\"\n[eval]\n{eval}\n"
            );
            AuditConfig::parse(&text, "t.toml")
        };
        let cfg = parse("fpr = [0.01]\nbootstrap = 50\nfpr_rule = \"strict\"\nmin_class_size = 40").unwrap();
        let eval = cfg.eval.with_seed(cfg.seed);
        let want = EvalConfig {
            fpr_targets: vec![0.01],
            bootstrap_resamples: 50,
            fpr_rule: mia_core::roc::FprRule::Strict,
            min_class_size: 40,
            seed: 7,
            ..EvalConfig::default()
        };
        assert_eq!(eval, want);
        assert_eq!(parse("").unwrap().eval, EvalConfig::default());
        for key in ["fpr_targets = [0.1]", "bootstrap_resamples = 5", "seed = 1", "histogram_bins = 3"] {
            let e = parse(key).unwrap_err().to_string();
            assert!(e.contains("unknown field") && e.contains(key.split(' ').next().unwrap()), "{key}: {e}");
        }
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("a\nbc\n", 0), (1, 1));
        assert_eq!(line_col("a\nbc\n", 3), (2, 2));
    }
}
