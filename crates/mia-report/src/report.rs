//! The report document (`report.json`): its types, versioned by [`SCHEMA_VERSION`] and
//! described by `schema/report.schema.json` at the repository root.
//!
//! The document holds no timestamps or paths that vary between identical runs, so the
//! same inputs and seed give byte-identical JSON.

use mia_core::attacks::Fitting;
use mia_core::evaluate::{AttackEvaluation, Estimate, EvalConfig, Overfitting, Slice};
pub use mia_core::provenance::{InputFile, SkipCount};
use mia_core::reference::ReferenceConfig;
use serde::Serialize;

/// Bumped on any change to the document's shape.
pub const SCHEMA_VERSION: &str = "1.0.0";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: &'static str,
    pub tool: Tool,
    /// The subcommand that produced the report (`score`, ...).
    pub command: String,
    pub seed: u64,
    pub settings: Settings,
    pub inputs: Vec<InputFile>,
    pub rows: Rows,
    /// What the model gave (model audits); absent for synthetic-data audits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<OutputsInfo>,
    /// How the target and reference models were trained (model audits only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models: Option<ModelsInfo>,
    pub attacks: Vec<AttackReport>,
    /// The worst (most leaking) attack per headline metric.
    pub max: MaxSummary,
    /// The target's train/test gap (model audits); absent for synthetic-data audits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overfitting: Option<Overfitting>,
    /// The synthetic data, generator and distance summaries (`mia synth` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synth: Option<SynthInfo>,
    pub slices: Vec<Slice>,
    pub gate: GateResult,
    pub caveats: Vec<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    #[serde(flatten)]
    pub eval: EvalConfig,
    pub cross_fit_folds: usize,
    pub prob_tolerance: f64,
    pub slices_attacks: Vec<String>,
    /// Settings of the reference-model attacks (LiRA, RMIA, Attack R, Shokri), when any
    /// could run: the exact variant every `lira_*`/`rmia_*` score was computed with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceConfig>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rows {
    pub read: usize,
    pub kept: usize,
    pub skipped: Vec<SkipCount>,
    pub members: usize,
    pub non_members: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputsInfo {
    /// `logits`, `probabilities` or `loss`.
    pub kind: String,
    pub n_classes: Option<usize>,
    /// Records whose probabilities reached the number format's limit: their loss and φ tie.
    pub saturated_records: usize,
}

/// A synthetic-data audit (`mia synth`): how the real records were split, what was
/// released, the generator when the tool ran it, and the settings and summaries of the
/// distance, DOMIAS and shadow-generator attacks (their shapes are owned by `mia-synth`
/// and documented in the JSON schema).
#[derive(Debug, Clone, Serialize)]
pub struct SynthInfo {
    /// The generator and its parameters as configured; absent when the synthetic data
    /// were given as files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator: Option<serde_json::Value>,
    /// Real records the generator was trained on (all scored as members).
    pub members: usize,
    /// Real records from the same population not trained on, scored as non-members.
    pub holdout: usize,
    /// Real non-member records used only as the attacks' reference sample (never scored).
    pub reference: usize,
    /// Every synthetic table audited.
    pub synthetic: Vec<SynthTable>,
    /// The mixed-type distance's settings.
    pub distance: serde_json::Value,
    /// Per synthetic table: DCR quantiles, exact copies, closer-to-members share.
    pub distances: Vec<serde_json::Value>,
    /// DOMIAS settings, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domias: Option<serde_json::Value>,
    /// Shadow-generator attack settings and per-target diagnostics, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<serde_json::Value>,
}

/// One synthetic table of a `mia synth` audit.
#[derive(Debug, Clone, Serialize)]
pub struct SynthTable {
    /// The name its attacks carry (`dcr:NAME`, ...) when several tables are audited.
    pub name: String,
    /// The file, or `generated` when the tool's generator made it.
    pub source: String,
    pub rows: usize,
}

/// The models of a model audit (`mia audit`): the learner, the plan, and how well each
/// model fits its own training rows and rows it never saw.
#[derive(Debug, Clone, Serialize)]
pub struct ModelsInfo {
    /// The learner and its parameters, as configured.
    pub learner: serde_json::Value,
    /// `train` (the tool drew the target's members) or `member_column` (the data flags them).
    pub target_training: String,
    /// Encoded feature columns.
    pub features: usize,
    pub classes: usize,
    /// Records the attacks score (target members and non-members).
    pub audit_records: usize,
    /// Held-out records no model trained on (RMIA's z samples, Attack-P's population).
    pub population_records: usize,
    pub reference_models: usize,
    pub target: ModelFit,
    /// One entry per reference model, in plan order.
    pub references: Vec<ModelFit>,
}

/// Accuracy of one model on its training rows and on audit/population rows it did not see,
/// each with a Clopper–Pearson interval (the report's confidence level).
#[derive(Debug, Clone, Serialize)]
pub struct ModelFit {
    pub train_rows: usize,
    pub train_accuracy: Estimate,
    pub held_out_rows: usize,
    pub held_out_accuracy: Estimate,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttackReport {
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fitting: Option<Fitting>,
    #[serde(flatten)]
    pub evaluation: AttackEvaluation,
}

#[derive(Debug, Clone, Serialize)]
pub struct MaxSummary {
    pub auc: Worst,
    pub advantage: Worst,
    pub eps_lower_bound: Worst,
    /// Per FPR target, the attack with the highest TPR (supported flag carried along).
    pub tpr_at_fpr: Vec<WorstTpr>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Worst {
    pub attack: String,
    pub value: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorstTpr {
    pub fpr: f64,
    pub attack: String,
    pub tpr: f64,
    pub supported: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct GateResult {
    /// `pass`, `fail`, or `none` when no rule was given.
    pub verdict: String,
    pub rules: Vec<GateRule>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GateRule {
    pub expr: String,
    /// The value the left-hand side resolved to.
    pub value: f64,
    pub fired: bool,
}

impl MaxSummary {
    /// Picks the worst attack per metric; ties go to the earlier attack in report order.
    pub fn from_attacks(attacks: &[AttackReport]) -> MaxSummary {
        let worst = |f: &dyn Fn(&AttackReport) -> f64| {
            let mut best = Worst { attack: String::new(), value: f64::NEG_INFINITY };
            for a in attacks {
                let v = f(a);
                if v > best.value {
                    best = Worst { attack: a.name.clone(), value: v };
                }
            }
            best
        };
        let n_targets = attacks.first().map_or(0, |a| a.evaluation.tpr_at_fpr.len());
        MaxSummary {
            auc: worst(&|a| a.evaluation.auc.value),
            advantage: worst(&|a| a.evaluation.advantage.value),
            eps_lower_bound: worst(&|a| a.evaluation.eps_lower_bound.value),
            tpr_at_fpr: (0..n_targets)
                .map(|k| {
                    let w = worst(&|a| a.evaluation.tpr_at_fpr[k].tpr);
                    let t = &attacks[0].evaluation.tpr_at_fpr[k];
                    WorstTpr { fpr: t.fpr, attack: w.attack, tpr: w.value, supported: t.supported }
                })
                .collect(),
        }
    }
}
