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
pub const SCHEMA_VERSION: &str = "1.3.0";

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
    /// The texts and the language-model attacks' settings (`mia llm` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmInfo>,
    /// The blind check: how well a classifier that never saw the model tells members from
    /// non-members from the data alone (see [`Blind`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blind: Option<Blind>,
    pub slices: Vec<Slice>,
    /// A claimed differential-privacy guarantee next to what the attacks measured: present
    /// when the target was trained with DP by this tool or a guarantee was claimed for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy: Option<Privacy>,
    /// The one-run audit's ε lower bound (`[plan] target = "one_run"`, `mia score --one-run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_run: Option<OneRun>,
    /// The comparison with an earlier report (`--baseline OLD/report.json`, `mia diff`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::baseline::Baseline>,
    /// The privacy–utility comparison (`[compare] epsilons`): the same audit per DP setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
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

/// A language-model audit (`mia llm`): what the texts held and how the attacks were set.
#[derive(Debug, Clone, Serialize)]
pub struct LlmInfo {
    /// Tokens over all audited texts.
    pub tokens: usize,
    /// Fewest, median and most tokens of a text.
    pub tokens_per_text: [usize; 3],
    /// The optional fields the file gave (`text`, `mean`, `std`, `ref_logprobs`).
    pub fields: Vec<String>,
    /// The share k of lowest-probability tokens Min-K% and Min-K%++ average (⌊k·n⌋, at least 1).
    pub min_k: f64,
    /// The DEFLATE implementation and level behind the `zlib` attack's compressed lengths
    /// (`None` when the texts were not given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zlib: Option<String>,
}

/// The blind check (Das, Zhang & Tramèr 2024): a classifier that sees only the data (texts
/// or feature rows), never the model, cross-fitted to tell members from non-members. If it
/// can, the split itself is distinguishable and an attack's figure measures the split as
/// much as the model; each attack is set against it on the same records.
#[derive(Debug, Clone, Serialize)]
pub struct Blind {
    /// What the classifiers saw: `texts` or `features`.
    pub data: String,
    /// Every blind classifier, evaluated as the attacks are.
    pub classifiers: Vec<AttackReport>,
    /// The classifier with the highest AUC (ties: the first), whose figures follow.
    pub strongest: String,
    pub auc: Estimate,
    pub tpr_at_fpr: Vec<mia_core::TprAtFpr>,
    /// Whether the strongest classifier's AUC interval lies wholly above 0.5.
    pub distinguishable: bool,
    pub verdict: String,
    /// Each attack against the strongest blind classifier.
    pub attacks: Vec<BlindComparison>,
}

/// One attack's AUC against the blind classifier's on the same records: the paired
/// bootstrap interval of the difference (both evaluated on each resample).
#[derive(Debug, Clone, Serialize)]
pub struct BlindComparison {
    pub attack: String,
    pub auc: f64,
    pub blind_auc: f64,
    /// `auc − blind_auc`, and its interval (`None` without bootstrap resamples).
    pub difference: f64,
    pub ci: Option<[f64; 2]>,
    /// Whether the attack beats the blind classifier: the difference's interval lies above 0
    /// (without an interval, the difference is positive).
    pub beats_blind: bool,
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

/// A claimed (ε, δ) guarantee and the empirical lower bounds on ε at the same δ.
///
/// A lower bound whose confidence interval lies wholly above the claim (the bound, itself a
/// one-sided confidence bound, exceeds the claimed ε) shows the claim false: a broken DP
/// implementation or accounting. The decision is made over every attack at once, so each
/// attack's bound for it is taken at the Bonferroni-corrected confidence
/// `1 − (1 − confidence) / attacks` (`decision_confidence`).
#[derive(Debug, Clone, Serialize)]
pub struct Privacy {
    /// `learner`: the built-in learner trained with DP-SGD and this tool's accountant computed
    /// the guarantee; `claimed`: the user stated it (`[target] claimed_epsilon`,
    /// `--claimed-epsilon`) for a model trained elsewhere.
    pub source: String,
    pub claimed_epsilon: f64,
    pub claimed_delta: f64,
    /// The accountant and the recipe it was run on (source `learner` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accountant: Option<Accountant>,
    /// Confidence of each attack's `eps_lower_bound` (the report's confidence).
    pub confidence: f64,
    /// Confidence of each `eps_lower_bound_for_decision` (Bonferroni over the attacks).
    pub decision_confidence: f64,
    pub attacks: Vec<PrivacyAttack>,
    /// The highest `eps_lower_bound` and its attack.
    pub max_eps_lower_bound: Worst,
    /// Whether some attack's decision bound exceeds the claimed ε.
    pub claim_violated: bool,
}

/// The one-run audit (Steinke, Nasr & Jagielski, NeurIPS 2023): every audited record is a
/// canary included in the single training run by an independent fair coin; each attack that
/// never saw the coins guesses IN for its highest-scored canaries and OUT for its lowest,
/// abstaining on the rest, and the count of right guesses bounds ε. The guess counts come from
/// a grid fixed in advance and the attacks × grid tests are Bonferroni-corrected, so the
/// headline bound holds at `confidence` without any choice made after seeing the coins.
#[derive(Debug, Clone, Serialize)]
pub struct OneRun {
    /// The largest bound over attacks and grid points (holds at `confidence`).
    pub epsilon_lower_bound: f64,
    /// The attack and guess counts that gave it (`None`: every bound is 0).
    pub attack: Option<String>,
    pub canaries: usize,
    /// Canaries whose coin put them in the training run.
    pub included: usize,
    /// Guesses (k₊ + k₋), right guesses, k₊ and k₋ of that attack's best grid point.
    pub guesses: usize,
    pub correct: usize,
    pub k_plus: usize,
    pub k_minus: usize,
    pub delta: f64,
    pub confidence: f64,
    /// Tests in the Bonferroni family (attacks × grid points), and the confidence of each.
    pub tests: usize,
    pub per_test_confidence: f64,
    /// The guessing rule in words.
    pub rule: String,
    /// Every attack's audit over the grid.
    pub attacks: Vec<mia_core::one_run::OneRunAttackAudit>,
    /// Attacks left out because they were fitted on the records' membership (the coins).
    pub excluded_attacks: Vec<String>,
}

/// The same audit under several DP-SGD settings (`[compare] epsilons`): same data, plan and
/// seeds, each setting its own target and reference models. The rest of the report is the
/// first setting's audit.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub settings: Vec<ComparisonSetting>,
}

/// One setting of a [`Comparison`]: what it cost in accuracy and what the attacks still see.
#[derive(Debug, Clone, Serialize)]
pub struct ComparisonSetting {
    /// `none` (no DP) or the target ε as configured.
    pub setting: String,
    /// The ε the accountant gives the target's recipe (at most the setting's), and its δ and
    /// noise multiplier; `None` without DP.
    pub claimed_epsilon: Option<f64>,
    pub claimed_delta: Option<f64>,
    pub noise_multiplier: Option<f64>,
    /// The target's accuracy on its training rows and on held-out rows (Clopper–Pearson).
    pub train_accuracy: Estimate,
    pub held_out_accuracy: Estimate,
    /// Training minus held-out accuracy.
    pub generalization_gap: f64,
    /// Every attack's AUC and TPRs at the FPR targets, with intervals, and ε lower bound.
    pub attacks: Vec<ComparisonAttack>,
    /// The worst attack per metric, as the setting's own report's `max` block.
    pub max: MaxSummary,
    /// The one-run audit's bound, when the plan is `one_run`.
    pub one_run_epsilon_lower_bound: Option<f64>,
    /// Whether the setting's accounted guarantee is contradicted by an attack.
    pub claim_violated: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComparisonAttack {
    pub name: String,
    pub auc: Estimate,
    pub tpr_at_fpr: Vec<ComparisonTpr>,
    pub eps_lower_bound: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComparisonTpr {
    pub fpr: f64,
    pub tpr: f64,
    pub ci: Option<[f64; 2]>,
    pub supported: bool,
}

impl ComparisonSetting {
    /// The summary of one setting's finished model-audit report (`None` without `models`).
    pub fn of(setting: &str, r: &Report) -> Option<ComparisonSetting> {
        let m = r.models.as_ref()?;
        let attacks = r
            .attacks
            .iter()
            .map(|a| ComparisonAttack {
                name: a.name.clone(),
                auc: a.evaluation.auc.clone(),
                tpr_at_fpr: a
                    .evaluation
                    .tpr_at_fpr
                    .iter()
                    .map(|t| ComparisonTpr { fpr: t.fpr, tpr: t.tpr, ci: t.ci, supported: t.supported })
                    .collect(),
                eps_lower_bound: a.evaluation.eps_lower_bound.value,
            })
            .collect();
        Some(ComparisonSetting {
            setting: setting.to_string(),
            claimed_epsilon: r.privacy.as_ref().map(|p| p.claimed_epsilon),
            claimed_delta: r.privacy.as_ref().map(|p| p.claimed_delta),
            noise_multiplier: r.privacy.as_ref().and_then(|p| p.accountant.as_ref()).map(|a| a.noise_multiplier),
            train_accuracy: m.target.train_accuracy.clone(),
            held_out_accuracy: m.target.held_out_accuracy.clone(),
            generalization_gap: m.target.train_accuracy.value - m.target.held_out_accuracy.value,
            attacks,
            max: r.max.clone(),
            one_run_epsilon_lower_bound: r.one_run.as_ref().map(|o| o.epsilon_lower_bound),
            claim_violated: r.privacy.as_ref().map(|p| p.claim_violated),
        })
    }
}

/// How this tool's accountant computed a DP-SGD guarantee.
#[derive(Debug, Clone, Serialize)]
pub struct Accountant {
    /// `rdp` (Rényi DP of the Poisson-subsampled Gaussian, dp_accounting's orders).
    pub name: String,
    pub noise_multiplier: f64,
    pub sample_rate: f64,
    pub steps: u64,
    pub max_grad_norm: f64,
    /// The Rényi order at which ε was reached.
    pub order: f64,
    /// The target's training rows (the N of the sampling rate).
    pub training_rows: usize,
}

/// One attack's empirical lower bounds on ε at the claimed δ.
#[derive(Debug, Clone, Serialize)]
pub struct PrivacyAttack {
    pub attack: String,
    /// At the report's confidence.
    pub eps_lower_bound: f64,
    /// At `decision_confidence`.
    pub eps_lower_bound_for_decision: f64,
    /// `eps_lower_bound_for_decision > claimed_epsilon`.
    pub exceeds_claim: bool,
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

/// Hand-made attacks for the gate's and the baseline's unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use mia_core::Estimate;
    use mia_core::epsilon::EpsBound;
    use mia_core::evaluate::{AttackEvaluation, EvalConfig, Histogram, RocPlot, TprAtFpr};

    /// An attack on 1,000 members and 1,000 non-members with the given AUC, advantage (and
    /// the balanced accuracy it implies), ε bound and TPRs `(fpr, tpr, interval)`; a TPR is
    /// supported where 1,000 ≥ 10 / FPR.
    pub fn attack(
        name: &str,
        auc: Estimate,
        adv: Estimate,
        eps: f64,
        tpr: &[(f64, f64, Option<[f64; 2]>)],
    ) -> AttackReport {
        let evaluation = AttackEvaluation {
            n_members: 1000,
            n_non_members: 1000,
            distinct_scores: 2000,
            balanced_accuracy: Estimate {
                value: 0.5 + adv.value / 2.0,
                ci: adv.ci.map(|[a, b]| [0.5 + a / 2.0, 0.5 + b / 2.0]),
                note: adv.note.clone(),
                supported: adv.supported,
            },
            auc,
            advantage: adv,
            best_threshold: None,
            tpr_at_fpr: tpr
                .iter()
                .map(|&(fpr, tpr, ci)| TprAtFpr {
                    fpr,
                    tpr,
                    ci,
                    achieved_fpr: fpr,
                    threshold: Some(1.0),
                    supported: 1000.0 >= 10.0 / fpr,
                    ppv: vec![],
                })
                .collect(),
            eps_lower_bound: EpsBound {
                value: eps,
                delta: 1e-5,
                confidence: 0.95,
                threshold: None,
                tp: 0,
                fn_: 0,
                tn: 0,
                fp: 0,
                method: "test",
            },
            p_value: 0.01,
            roc: RocPlot { fpr: vec![0.0, 1.0], tpr: vec![0.0, 1.0] },
            histogram: Histogram { edges: vec![0.0, 1.0], members: vec![1000], non_members: vec![1000] },
        };
        AttackReport { name: name.into(), description: format!("{name} test attack"), fitting: None, evaluation }
    }

    /// A score report of `attacks` on `members` + `non_members` records, with no optional
    /// section and no gate.
    pub fn report(attacks: Vec<AttackReport>, members: usize, non_members: usize, eval: EvalConfig) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool { name: "mia-audit", version: "0.0.0" },
            command: "score".into(),
            seed: 0,
            settings: Settings {
                eval,
                cross_fit_folds: 5,
                prob_tolerance: 1e-6,
                slices_attacks: vec![],
                reference: None,
            },
            inputs: vec![],
            rows: Rows {
                read: members + non_members,
                kept: members + non_members,
                skipped: vec![],
                members,
                non_members,
            },
            outputs: None,
            models: None,
            max: MaxSummary::from_attacks(&attacks),
            attacks,
            overfitting: None,
            synth: None,
            llm: None,
            blind: None,
            slices: vec![],
            privacy: None,
            one_run: None,
            baseline: None,
            comparison: None,
            gate: GateResult { verdict: "none".into(), rules: vec![] },
            caveats: vec![],
            notes: vec![],
        }
    }
}
