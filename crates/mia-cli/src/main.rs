//! The `mia` binary: its arguments, and a call into the library's API per command. The
//! terminal summary is in [`summary`], exit codes in [`exit`], progress bars in
//! [`progress`]; the work lives in the library crates.

use clap::{Args, Parser, Subcommand, ValueEnum};
use exit::{Failure, resumable};
use mia_audit::TableOptions;
use mia_audit::score::ScoreSettings;
use mia_audit::{Control, ModelAudit, ReferenceOverrides, RunSettings, ScoreAudit, ScoreAuditOptions, SynthAudit};
use mia_core::attacks::AttackConfig;
use mia_core::evaluate::EvalConfig;
use mia_core::reference::{Center, LiraStd, OfflineTest, ReferenceConfig, Variance};
use mia_core::roc::FprRule;
use mia_data::reference::RefSignal;
use mia_data::{ScoreColumns, ScoreSource};
use std::path::PathBuf;
use std::process::ExitCode;

mod exit;
mod progress;
mod summary;

#[derive(Parser)]
#[command(
    name = "mia",
    version,
    about = "Membership inference auditing: measure how much a model leaks who was in its training set."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Audit precomputed per-record model outputs (logits, probabilities or losses) with known membership.
    Score(Box<ScoreArgs>),
    /// Audit a language model from its per-token log-probabilities of texts with known membership
    /// (JSON Lines): loss, zlib, Min-K%, Min-K%++, reference and learned attacks, and the blind check.
    Llm(Box<LlmArgs>),
    /// Train a target and reference models from a config (audit.toml) and run every attack on them.
    Audit(AuditArgs),
    /// Audit synthetic data from a config (synth.toml): distance, DOMIAS and shadow-generator attacks.
    Synth(AuditArgs),
    /// Audit a model on bundled real data (Location-30 MLP with 16 reference models, or Adult).
    Demo(DemoArgs),
    /// List an audit's models (seed, training rows, artifact key, stored or not) and write OUT/plan.json.
    Plan(AuditArgs),
    /// Train one shard of an audit's models into the artifact store, for `mia merge` (no attacks).
    Run(ShardArgs),
    /// Attack and report from the models the shards stored; trains nothing (same report as `mia audit`).
    Merge(AuditArgs),
    /// Privacy accounting of DP-SGD training (Poisson-subsampled Gaussian, Rényi DP): epsilon from a
    /// noise multiplier, or the smallest noise multiplier that reaches an epsilon.
    Accountant(AccountantArgs),
    /// Compare two reports (the last release's and this one's): per attack and metric the old and new
    /// value and the difference with an interval; gate rules over the difference.
    Diff(DiffArgs),
}

#[derive(Args)]
struct DiffArgs {
    /// The earlier report (OLD/report.json or its folder).
    old: PathBuf,
    /// The newer report (NEW/report.json or its folder).
    new: PathBuf,
    /// Fail (exit 1) if the expression is true: 'delta.max.auc.lo > 0', 'max.tpr@0.01 > baseline + 0.02'.
    /// Repeatable.
    #[arg(long = "fail-if")]
    fail_if: Vec<String>,
    /// Confidence level of the differences' intervals (default: the new report's).
    #[arg(long)]
    confidence: Option<f64>,
    /// Print the comparison as one JSON object (the `baseline` section a report would hold).
    #[arg(long)]
    json: bool,
    /// Print nothing (the exit code says whether a rule fired).
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("given").required(true).args(["noise_multiplier", "epsilon"])))]
struct AccountantArgs {
    /// Poisson sampling rate q in (0, 1]: the expected batch size over the training rows.
    #[arg(long, value_name = "Q")]
    sample_rate: f64,
    /// Noise multiplier sigma (noise standard deviation over the clipping norm): prints epsilon.
    #[arg(long, value_name = "SIGMA", allow_negative_numbers = true)]
    noise_multiplier: Option<f64>,
    /// Target epsilon: prints the smallest noise multiplier that reaches it.
    #[arg(long, value_name = "E", allow_negative_numbers = true)]
    epsilon: Option<f64>,
    /// Training steps T (epochs x steps per epoch); 1e6 and 1000000 both work.
    #[arg(long, value_name = "T", value_parser = whole_number)]
    steps: u64,
    /// delta of the (epsilon, delta) guarantee, in (0, 1).
    #[arg(long, value_name = "D")]
    delta: f64,
    /// rdp (exact Renyi DP, dp_accounting's conversion), dp-accounting (Google dp_accounting 0.6 as
    /// shipped) or opacus (Opacus 1.6's conversion).
    #[arg(long, default_value = "rdp", value_parser = accountant_name)]
    accountant: mia_dp::Accountant,
    /// Print one JSON object (epsilon, delta, noise_multiplier, sample_rate, steps, accountant, order).
    #[arg(long)]
    json: bool,
}

/// A count written as an integer or in scientific notation (`1e6`).
fn whole_number(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
    }
    match t.parse::<f64>() {
        Ok(v) if v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(63) => Ok(v as u64),
        _ => Err("expected a whole number of steps (e.g. 1000 or 1e6)".into()),
    }
}

fn accountant_name(text: &str) -> Result<mia_dp::Accountant, String> {
    mia_dp::Accountant::from_name(text)
        .ok_or_else(|| format!("unknown accountant \"{text}\"; choose rdp, dp-accounting or opacus"))
}

#[derive(Args)]
struct ShardArgs {
    /// The audit config (TOML), the same for every shard and for `mia merge`.
    config: PathBuf,
    /// This worker's shard, I/N with 0 <= I < N (model m belongs to shard m % N); env/N reads I from
    /// JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID (Slurm job array).
    #[arg(long)]
    shard: String,
    /// Folder for trained models' outputs, shared by every shard and by `mia merge`.
    #[arg(long)]
    artifacts: PathBuf,
    /// The DP settings of a comparison (as `mia audit --compare`), the same for every shard and the merge.
    #[arg(long, value_delimiter = ',', value_name = "SETTINGS")]
    compare: Option<Vec<String>>,
    #[command(flatten)]
    exec: ExecArgs,
}

#[derive(Args)]
struct AuditArgs {
    /// The audit config (TOML): data and schema, plan, learner, attacks, evaluation, gate.
    config: PathBuf,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum DemoDataset {
    /// Location-30 (Foursquare check-ins, 30 classes): an overfitting MLP, 16 reference models.
    Location,
    /// UCI Adult (census income, binary): gradient-boosted trees, 16 reference models.
    Adult,
}

#[derive(Args)]
struct DemoArgs {
    /// Which bundled audit to run.
    #[arg(long, value_enum, default_value = "location")]
    dataset: DemoDataset,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
struct RunArgs {
    /// Report directory (report.json, records.csv, report.html).
    #[arg(short = 'o', long = "out", default_value = "mia-report")]
    out: PathBuf,
    /// Folder for trained models' outputs (default: OUT/models). A rerun reuses what is there.
    #[arg(long)]
    artifacts: Option<PathBuf>,
    /// Release gate, added to the config's report.fail_if. Repeatable.
    #[arg(long = "fail-if")]
    fail_if: Vec<String>,
    /// An earlier report (OLD/report.json or its folder) to compare with: the report's `baseline`
    /// section, and gate rules such as 'max.tpr@0.01 > baseline + 0.02' or 'delta.max.auc.lo > 0'.
    #[arg(long, value_name = "OLD_REPORT")]
    baseline: Option<PathBuf>,
    /// Privacy–utility comparison: run the audit once per DP setting, `none` or a target epsilon
    /// (e.g. none,8,2,0.5; as the config's [compare] epsilons, which it replaces).
    #[arg(long, value_delimiter = ',', value_name = "SETTINGS")]
    compare: Option<Vec<String>>,
    #[command(flatten)]
    exec: ExecArgs,
}

impl RunArgs {
    /// The run settings of a command that writes a report: the gate rules and the baseline,
    /// read now (before the output folder is touched, which may be the baseline's own).
    fn settings(&self) -> Result<RunSettings, Failure> {
        let baseline = self.baseline.as_deref().map(mia_audit::BaselineInput::load).transpose()?;
        Ok(RunSettings { baseline, ..self.exec.settings(&self.fail_if) })
    }
}

/// How a config-driven command runs (shared by `audit`, `synth`, `demo`, `plan`, `run`, `merge`).
#[derive(Args)]
struct ExecArgs {
    /// Skip table rows with invalid values (counted in the report) instead of stopping; shards and
    /// their merge must make the same choice.
    #[arg(long)]
    skip_invalid_rows: bool,
    /// Worker threads (default or 0: all cores; at most 4 × the cores, more are capped). Results do not
    /// depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Print nothing on success (no progress bars, no summary).
    #[arg(short, long)]
    quiet: bool,
    /// Keep training and generator commands' work files (the rows they read, their outputs and
    /// logs) in a private temporary folder, named on stderr, instead of deleting them; for debugging.
    #[arg(long)]
    keep_work: bool,
}

impl ExecArgs {
    /// How a config-driven audit runs under these options, with the gate rules `fail_if`.
    fn settings(&self, fail_if: &[String]) -> RunSettings {
        RunSettings {
            fail_if: fail_if.to_vec(),
            table: TableOptions { skip_invalid_rows: self.skip_invalid_rows, ..Default::default() },
            keep_work: self.keep_work,
            baseline: None,
        }
    }
}

#[derive(Args)]
struct ScoreArgs {
    /// Score file: CSV, CSV.gz or Parquet, one row per record. Omit when using --logits/--probs arrays.
    file: Option<PathBuf>,
    /// Report directory (report.json, records.csv, report.html).
    #[arg(short = 'o', long = "out", default_value = "mia-report")]
    out: PathBuf,
    #[arg(long, default_value = "id")]
    id_col: String,
    #[arg(long, default_value = "member")]
    member_col: String,
    #[arg(long, default_value = "label")]
    label_col: String,
    #[arg(long, default_value = "loss")]
    loss_col: String,
    #[arg(long, default_value = "logit_")]
    logit_prefix: String,
    #[arg(long, default_value = "prob_")]
    prob_prefix: String,
    /// N x C float .npy of logits (instead of a score file).
    #[arg(long, conflicts_with_all = ["file", "probs"])]
    logits: Option<PathBuf>,
    /// N x C float .npy of probabilities (instead of a score file).
    #[arg(long, conflicts_with = "file")]
    probs: Option<PathBuf>,
    /// 1-D integer .npy of class labels (with --logits/--probs).
    #[arg(long, conflicts_with = "file")]
    labels: Option<PathBuf>,
    /// 1-D bool or 0/1 .npy of membership (with --logits/--probs).
    #[arg(long, conflicts_with = "file")]
    member: Option<PathBuf>,
    /// 1-D integer .npy of record ids (optional, with --logits/--probs).
    #[arg(long, conflicts_with = "file")]
    ids: Option<PathBuf>,
    /// The audited records' features: an N x d float .npy, one row per record in the score input's
    /// order. Runs the blind check (logistic regression and gradient-boosted trees that see only
    /// these features, never the model): is the split itself distinguishable? And the quantile
    /// attack: each record's phi against a quantile regression of non-members' phi on the features.
    #[arg(long, value_name = "FILE")]
    features: Option<PathBuf>,
    /// The quantile attack's target false-positive rate alpha, in (0, 0.5] (default 0.01): its
    /// regressor predicts the (1 - alpha) quantile of non-members' phi. Needs --features.
    #[arg(long, value_name = "ALPHA")]
    quantile_alpha: Option<f64>,
    #[command(flatten)]
    eval: EvalArgs,
    /// Attacks to run, comma-separated (default: all the input supports).
    #[arg(long, value_delimiter = ',')]
    attacks: Option<Vec<String>>,
    /// Attacks to slice by class, comma-separated, or `none` (default: every attack without a per-class fit).
    #[arg(long, value_delimiter = ',')]
    slices: Option<Vec<String>>,
    /// Largest allowed |sum of probabilities - 1| per row.
    #[arg(long, default_value_t = 1e-3)]
    prob_tolerance: f64,
    /// Skip rows with invalid values (counted in the report) instead of stopping.
    #[arg(long)]
    skip_invalid_rows: bool,
    /// Reference models computed elsewhere (LiRA, RMIA, ...); boxed, so they add one pointer to `ScoreArgs`.
    #[command(flatten)]
    reference: Box<ReferenceArgs>,
    /// A claimed DP guarantee to check; boxed like `reference`.
    #[command(flatten)]
    privacy: Box<ClaimArgs>,
}

#[derive(Args)]
struct LlmArgs {
    /// Texts with the model's per-token log-probabilities: JSON Lines (.jsonl, .jsonl.gz, .ndjson), one
    /// object per text, or Parquet (.parquet) with list columns: id, member (0/1), logprobs, and
    /// optionally text, mean, std, ref_logprobs, lowercase_logprobs.
    file: PathBuf,
    /// Report directory (report.json, records.csv, report.html).
    #[arg(short = 'o', long = "out", default_value = "mia-report")]
    out: PathBuf,
    #[command(flatten)]
    eval: EvalArgs,
    /// Attacks to run, comma-separated (default: all the file supports): loss, zlib, lowercase, min_k,
    /// min_k_plus_plus, reference, learned.
    #[arg(long, value_delimiter = ',')]
    attacks: Option<Vec<String>>,
    /// Share k of each text's lowest-probability tokens that Min-K% and Min-K%++ average (floor(k n)
    /// tokens, at least one).
    #[arg(long, default_value_t = mia_audit::llm::DEFAULT_MIN_K)]
    min_k: f64,
    /// Skip the blind check (a classifier reading only the texts, never the model).
    #[arg(long)]
    no_blind: bool,
    /// Skip texts with invalid fields (counted in the report) instead of stopping.
    #[arg(long)]
    skip_invalid_rows: bool,
    #[command(flatten)]
    privacy: ClaimArgs,
}

/// The evaluation settings `mia score` and `mia llm` share.
#[derive(Args)]
struct EvalArgs {
    /// Seed of every random choice (bootstrap, folds, split); recorded in the report.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Bootstrap resamples for intervals (0 disables intervals).
    #[arg(long, default_value_t = EvalConfig::default().bootstrap_resamples)]
    bootstrap: usize,
    /// Confidence level of every interval.
    #[arg(long, default_value_t = EvalConfig::default().confidence)]
    confidence: f64,
    /// delta of the (epsilon, delta) lower bound.
    #[arg(long, default_value_t = EvalConfig::default().delta)]
    delta: f64,
    /// Member base rate(s) at which PPV is reported (repeatable).
    #[arg(long = "base-rate", default_values_t = EvalConfig::default().base_rates)]
    base_rates: Vec<f64>,
    /// FPR targets for TPR@FPR (repeatable).
    #[arg(long = "fpr", default_values_t = EvalConfig::default().fpr_targets)]
    fpr: Vec<f64>,
    /// How a threshold's FPR is compared with a target: at-most (FPR <= target) or strict (FPR < target).
    #[arg(long, default_value_t = EvalConfig::default().fpr_rule)]
    fpr_rule: FprRule,
    /// Members and non-members each needed to quote a figure; below it AUC, advantage and
    /// TPR@FPR get distribution-free intervals, are marked unsupported, and gate rules over them
    /// stop with exit code 2.
    #[arg(long, default_value_t = EvalConfig::default().min_class_size)]
    min_class_size: u64,
    /// Members and non-members each needed for bootstrap intervals; below it (and from
    /// --min-class-size) AUC and TPR@FPR get distribution-free intervals, still supported.
    #[arg(long, default_value_t = EvalConfig::default().bootstrap_min_class_size)]
    bootstrap_min_class_size: u64,
    /// Folds for cross-fitted attacks (per-class thresholds, learned attack).
    #[arg(long, default_value_t = AttackConfig::default().folds)]
    folds: usize,
    /// Release gate: fail (exit 1) if the expression is true, e.g. 'max.tpr@0.001 > 0.02'. Repeatable.
    #[arg(long = "fail-if")]
    fail_if: Vec<String>,
    /// An earlier report (OLD/report.json or its folder) to compare with: the report's `baseline`
    /// section, and gate rules such as 'max.tpr@0.01 > baseline + 0.02' or 'delta.max.auc.lo > 0'.
    #[arg(long, value_name = "OLD_REPORT")]
    baseline: Option<PathBuf>,
    /// Worker threads (default or 0: all cores; at most 4 × the cores, more are capped). Results do not
    /// depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Records listed as most exposed in report.html.
    #[arg(long, default_value_t = 25)]
    top: usize,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

/// `mia score`'s differential-privacy options.
#[derive(Args)]
struct ClaimArgs {
    /// The ε the model's DP guarantee claims (trained with Opacus, TF Privacy, ...): the report's `privacy`
    /// section sets every attack's ε lower bound at --claimed-delta against it. Needs --claimed-delta.
    #[arg(
        long,
        value_name = "EPSILON",
        help_heading = "Differential privacy",
        requires = "claimed_delta",
        allow_negative_numbers = true
    )]
    claimed_epsilon: Option<f64>,
    /// The δ of the claimed guarantee.
    #[arg(long, value_name = "DELTA", help_heading = "Differential privacy", requires = "claimed_epsilon")]
    claimed_delta: Option<f64>,
    /// One-run audit (Steinke, Nasr & Jagielski 2023): the member column is each record's fair coin (the
    /// model trained on each record independently with probability 1/2); the report's `one_run` section
    /// bounds ε at --delta from the attacks that never saw the coins. Needs at least 100 records.
    #[arg(long, help_heading = "Differential privacy")]
    one_run: bool,
}

/// `mia score`'s reference-model options.
#[derive(Args)]
struct ReferenceArgs {
    /// Reference models' outputs on the score file's records (enables LiRA, RMIA, ...): K x N phi or loss
    /// (.npy), K x N x C logits or probabilities (.npy), an uncompressed .npz bundle (phi|loss|logits|probs,
    /// keep, ids, population_target, population_reference, population_labels), or a table (CSV or Parquet:
    /// id, phi_0..phi_{K-1} or loss_0.., keep_0..keep_{K-1}).
    #[arg(long, value_name = "FILE", help_heading = "Reference models")]
    reference: Option<PathBuf>,
    /// What --reference holds: phi (K x N), loss (K x N, converted to phi exactly), logits or probs
    /// (K x N x C). Default: phi for 2-D arrays and phi_ columns; the one signal array of an .npz.
    #[arg(long, value_name = "KIND", help_heading = "Reference models")]
    reference_signal: Option<RefSignal>,
    /// K x N keep mask (.npy; bool, 0/1 or 0.0/1.0): true = record n was in reference model k's training set.
    #[arg(long, value_name = "FILE", help_heading = "Reference models")]
    keep: Option<PathBuf>,
    /// Record ids of the reference columns (.npy, integers), matched to the score file's ids (default: by position).
    #[arg(long, value_name = "FILE", help_heading = "Reference models")]
    reference_ids: Option<PathBuf>,
    /// Population records (no model trained on them) under the target: P phi (or P x C outputs), .npy.
    /// Enables RMIA and Attack P.
    #[arg(long, value_name = "FILE", help_heading = "Reference models")]
    population_target: Option<PathBuf>,
    /// The population records under each reference model: K x P phi (or K x P x C outputs) .npy.
    #[arg(long, value_name = "FILE", help_heading = "Reference models")]
    population_reference: Option<PathBuf>,
    /// Class labels of the population records (.npy; with per-class population outputs).
    #[arg(long, value_name = "FILE", help_heading = "Reference models")]
    population_labels: Option<PathBuf>,
    /// Reference attack settings: a TOML file with [lira], [rmia], [attack_r], [shokri] tables; the flags
    /// below override it.
    #[arg(long, value_name = "FILE.toml", help_heading = "Reference models")]
    attack_config: Option<PathBuf>,
    /// LiRA Gaussian centre: mean (the paper) or median (the authors' code).
    #[arg(long, help_heading = "Reference models")]
    lira_center: Option<Center>,
    /// LiRA variance: per-example (the paper's Algorithm 1) or global (pooled; for few reference models).
    #[arg(long, help_heading = "Reference models")]
    lira_variance: Option<Variance>,
    /// LiRA std: population (ddof 0), sample (ddof 1), or reference-code (the authors' code exactly).
    #[arg(long, help_heading = "Reference models")]
    lira_std: Option<LiraStd>,
    /// Offline LiRA test: one-sided (the paper) or two-sided (the authors' code).
    #[arg(long, help_heading = "Reference models")]
    lira_offline: Option<OfflineTest>,
    /// RMIA likelihood-ratio threshold gamma (> 0; default 2). An error when no RMIA attack runs.
    #[arg(long, value_name = "GAMMA", help_heading = "Reference models", value_parser = rmia_gamma)]
    rmia_gamma: Option<f64>,
    /// Offline RMIA coefficient a in [0, 1] (default 0.33). An error when rmia_offline does not run.
    #[arg(long, value_name = "A", help_heading = "Reference models", value_parser = rmia_a)]
    rmia_a: Option<f64>,
}

/// Parses an RMIA setting's value and checks it as the RMIA settings are checked.
fn rmia_setting(text: &str, set: impl Fn(&mut mia_core::reference::RmiaConfig, f64)) -> Result<f64, String> {
    let v: f64 = text.trim().parse().map_err(|_| "expected a number".to_string())?;
    let mut cfg = mia_core::reference::RmiaConfig::default();
    set(&mut cfg, v);
    cfg.invalid().map_or(Ok(v), |bad| Err(bad.to_string()))
}

fn rmia_gamma(text: &str) -> Result<f64, String> {
    rmia_setting(text, |c, v| c.gamma = v)
}

fn rmia_a(text: &str) -> Result<f64, String> {
    rmia_setting(text, |c, v| c.offline_a = v)
}

impl ScoreArgs {
    /// The score file, or the arrays that stand for one.
    fn source(&self) -> Result<ScoreSource, Failure> {
        match (&self.file, &self.logits, &self.probs) {
            (Some(path), None, None) => Ok(ScoreSource::Table {
                path: path.clone(),
                columns: ScoreColumns {
                    id: self.id_col.clone(),
                    member: self.member_col.clone(),
                    label: self.label_col.clone(),
                    loss: self.loss_col.clone(),
                    logit_prefix: self.logit_prefix.clone(),
                    prob_prefix: self.prob_prefix.clone(),
                },
            }),
            (None, logits, probs) if logits.is_some() || probs.is_some() => {
                let needed = |flag: &str| Failure::Usage(format!("{flag} FILE.npy is required with --logits/--probs"));
                let member = self.member.clone().ok_or_else(|| needed("--member"))?;
                self.labels.as_ref().ok_or_else(|| needed("--labels"))?;
                Ok(ScoreSource::Arrays {
                    logits: logits.clone(),
                    probs: probs.clone(),
                    labels: self.labels.clone(),
                    member,
                    ids: self.ids.clone(),
                })
            }
            _ => Err(Failure::Usage("give a score file, or --logits/--probs with --labels and --member arrays".into())),
        }
    }

    fn options(&self) -> Result<ScoreAuditOptions, Failure> {
        let r = &*self.reference;
        let overrides = ReferenceOverrides {
            lira_center: r.lira_center,
            lira_variance: r.lira_variance,
            lira_std: r.lira_std,
            lira_offline: r.lira_offline,
            rmia_gamma: r.rmia_gamma,
            rmia_a: r.rmia_a,
        };
        if r.reference.is_none() {
            let files = [
                ("--reference-signal", r.reference_signal.is_some()),
                ("--keep", r.keep.is_some()),
                ("--reference-ids", r.reference_ids.is_some()),
                ("--population-target", r.population_target.is_some()),
                ("--population-reference", r.population_reference.is_some()),
                ("--population-labels", r.population_labels.is_some()),
                ("--attack-config", r.attack_config.is_some()),
            ];
            if let Some(flag) = files.iter().find_map(|(f, set)| set.then_some(*f)).or(overrides.given()) {
                return Err(Failure::Usage(format!(
                    "{flag} needs --reference FILE (the reference models' outputs on the score file's records)"
                )));
            }
        }
        let config = match &r.attack_config {
            Some(path) => mia_audit::score::load_reference_config(path)?,
            None => ReferenceConfig::default(),
        };
        let settings = ScoreSettings {
            seed: self.eval.seed,
            bootstrap: self.eval.bootstrap,
            confidence: self.eval.confidence,
            delta: self.eval.delta,
            base_rates: self.eval.base_rates.clone(),
            fpr: self.eval.fpr.clone(),
            fpr_rule: self.eval.fpr_rule,
            min_class_size: self.eval.min_class_size,
            bootstrap_min_class_size: self.eval.bootstrap_min_class_size,
            folds: self.eval.folds,
            attacks: self.attacks.clone(),
            slices: self.slices.clone(),
            fail_if: self.eval.fail_if.clone(),
            prob_tolerance: self.prob_tolerance,
            top: self.eval.top,
            claimed_epsilon: self.privacy.claimed_epsilon,
            claimed_delta: self.privacy.claimed_delta,
            one_run: self.privacy.one_run,
            quantile_alpha: self.quantile_alpha,
        };
        let reference = r.reference.as_ref().map(|path| {
            mia_data::reference::ReferenceInput::Files(mia_data::reference::ReferenceSources {
                reference: path.clone(),
                signal: r.reference_signal,
                keep: r.keep.clone(),
                ids: r.reference_ids.clone(),
                population_target: r.population_target.clone(),
                population_reference: r.population_reference.clone(),
                population_labels: r.population_labels.clone(),
            })
        });
        let baseline = self.eval.baseline.as_deref().map(mia_audit::BaselineInput::load).transpose()?;
        let mut options = settings.options(reference, overrides.apply(config), baseline)?;
        options.features = self.features.clone().map(mia_audit::score::FeatureInput::File);
        Ok(options)
    }
}

fn score(a: ScoreArgs) -> Result<bool, Failure> {
    // Options first: they read the baseline, which may lie in the output folder.
    let options = a.options()?;
    mia_audit::outdir::prepare_output_dir(&a.out, mia_audit::outdir::REPORT_FILES)?;
    let audit = ScoreAudit::new(a.source()?).options(options).skip_invalid_rows(a.skip_invalid_rows);
    let out = audit.run(&Control::default())?;
    out.write_report(&a.out)?;
    if !a.eval.quiet {
        summary::report(&out, &a.out);
    }
    Ok(!out.gate_failed())
}

fn llm(a: LlmArgs) -> Result<bool, Failure> {
    let e = &a.eval;
    let settings = ScoreSettings {
        seed: e.seed,
        bootstrap: e.bootstrap,
        confidence: e.confidence,
        delta: e.delta,
        base_rates: e.base_rates.clone(),
        fpr: e.fpr.clone(),
        fpr_rule: e.fpr_rule,
        min_class_size: e.min_class_size,
        bootstrap_min_class_size: e.bootstrap_min_class_size,
        folds: e.folds,
        attacks: a.attacks.clone(),
        fail_if: e.fail_if.clone(),
        top: e.top,
        claimed_epsilon: a.privacy.claimed_epsilon,
        claimed_delta: a.privacy.claimed_delta,
        one_run: a.privacy.one_run,
        ..ScoreSettings::default()
    };
    let baseline = e.baseline.as_deref().map(mia_audit::BaselineInput::load).transpose()?;
    let options = settings.options(None, (ReferenceConfig::default(), Vec::new()), baseline)?;
    let options = mia_audit::LlmAuditOptions::from_score(options, a.min_k, !a.no_blind);
    mia_audit::outdir::prepare_output_dir(&a.out, mia_audit::outdir::REPORT_FILES)?;
    let out = mia_audit::LlmAudit::new(&a.file)
        .options(options)
        .skip_invalid_rows(a.skip_invalid_rows)
        .run(&Control::default())?;
    out.write_report(&a.out)?;
    if !e.quiet {
        summary::report(&out, &a.out);
    }
    Ok(!out.gate_failed())
}

/// Folder of the bundled example configs: `examples/` under the working directory when
/// run from a checkout, else the one this binary was built from.
fn examples_dir() -> PathBuf {
    let here = PathBuf::from("examples");
    if here.join("location_mlp.toml").is_file() {
        return here;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples"))
}

fn demo(a: DemoArgs) -> Result<bool, Failure> {
    let name = match a.dataset {
        DemoDataset::Location => "location_mlp.toml",
        DemoDataset::Adult => "adult_gbt.toml",
    };
    let path = examples_dir().join(name);
    if !path.is_file() {
        return Err(Failure::Usage(format!(
            "the demo config {} is missing: run `mia demo` from a checkout of mia-audit",
            path.display()
        )));
    }
    if !a.run.exec.quiet {
        eprintln!("mia demo: auditing with {} (a config you can copy and edit)", path.display());
    }
    audit(AuditArgs { config: path, run: a.run }, false)
}

/// The model audit of `config` under `settings`, its models stored in `artifacts`, once per
/// `compare` setting if given.
fn model_audit(
    config: &std::path::Path,
    settings: RunSettings,
    artifacts: &std::path::Path,
    compare: Option<&[String]>,
) -> Result<ModelAudit, Failure> {
    let audit = ModelAudit::from_file(config)?.artifacts(artifacts).settings(settings);
    Ok(match compare {
        Some(c) => audit.compare(c.iter().map(|s| mia_audit::config::EpsilonSetting::parse(s)).collect())?,
        None => audit,
    })
}

/// `mia audit` (`merge` = false) and `mia merge` (every model must already be stored).
fn audit(a: AuditArgs, merge: bool) -> Result<bool, Failure> {
    let settings = a.run.settings()?;
    mia_audit::outdir::prepare_output_dir(&a.run.out, mia_audit::outdir::REPORT_FILES)?;
    let artifacts = a.run.artifacts.clone().unwrap_or_else(|| a.run.out.join("models"));
    let audit = model_audit(&a.config, settings, &artifacts, a.run.compare.as_deref())?;
    mia_audit::score::parse_gate(&a.run.fail_if)?;
    if !merge {
        mia_audit::outdir::check_output_dir(&artifacts)?;
    }
    let bars = progress::Bars::new(a.run.exec.quiet);
    let report_progress = |p: mia_audit::Progress| bars.update(p);
    let ctl = Control::new(&report_progress);
    let out = if merge { audit.merge(&ctl) } else { audit.run(&ctl) }.map_err(|e| resumable(e, &artifacts))?;
    bars.finish();
    out.write_report(&a.run.out)?;
    if !a.run.exec.quiet {
        bars.say_models(&artifacts);
        summary::target_model(&out);
        summary::report(&out, &a.run.out);
    }
    Ok(!out.gate_failed())
}

fn plan(a: AuditArgs) -> Result<bool, Failure> {
    mia_audit::outdir::prepare_output_dir(&a.run.out, &["plan.json"])?;
    let artifacts = a.run.artifacts.clone().unwrap_or_else(|| a.run.out.join("models"));
    let tasks = model_audit(&a.config, a.run.exec.settings(&[]), &artifacts, a.run.compare.as_deref())?
        .plan(&Control::default())?;
    let path = mia_audit::model_audit::write_plan_json(&tasks, &artifacts, &a.run.out)?;
    if !a.run.exec.quiet {
        summary::plan(&tasks, &a.config, &artifacts, &path);
    }
    Ok(true)
}

fn run_shard(a: ShardArgs) -> Result<bool, Failure> {
    let shard = mia_audit::Shard::parse(&a.shard, |v| std::env::var(v).ok())?;
    mia_audit::outdir::check_output_dir(&a.artifacts)?;
    let audit = model_audit(&a.config, a.exec.settings(&[]), &a.artifacts, a.compare.as_deref())?;
    let bars = progress::Bars::new(a.exec.quiet);
    let report_progress = |p: mia_audit::Progress| bars.update(p);
    let tasks = audit
        .train(mia_audit::Selection::Shard(shard), &Control::new(&report_progress))
        .map_err(|e| resumable(e, &a.artifacts))?;
    bars.finish();
    if !a.exec.quiet {
        summary::shard(shard, &tasks, &a.artifacts);
    }
    Ok(true)
}

fn synth(a: AuditArgs) -> Result<bool, Failure> {
    if a.run.compare.is_some() {
        return Err(Failure::Usage(
            "--compare: mia synth trains no model with DP; compare DP settings with mia audit".into(),
        ));
    }
    if let Some(dir) = &a.run.artifacts {
        return Err(Failure::Usage(format!(
            "--artifacts {}: mia synth stores no models (a generator's work files go to a temporary folder; \
             --keep-work keeps them)",
            dir.display()
        )));
    }
    let settings = a.run.settings()?;
    mia_audit::outdir::prepare_output_dir(&a.run.out, mia_audit::outdir::REPORT_FILES)?;
    let audit = SynthAudit::from_file(&a.config)?.settings(settings);
    mia_audit::score::parse_gate(&a.run.fail_if)?;
    let bars = progress::Bars::new(a.run.exec.quiet);
    let report_progress = |p: mia_audit::Progress| bars.update(p);
    let out = audit.run(&Control::new(&report_progress))?;
    bars.finish();
    out.write_report(&a.run.out)?;
    if !a.run.exec.quiet {
        summary::synthetic(&out);
        summary::report(&out, &a.run.out);
    }
    Ok(!out.gate_failed())
}

fn accountant(a: AccountantArgs) -> Result<bool, Failure> {
    let spent = match (a.noise_multiplier, a.epsilon) {
        (Some(sigma), _) => mia_dp::SampledGaussian::new(a.sample_rate, sigma, a.steps)
            .and_then(|m| mia_dp::Accounting::of(&m, a.delta, a.accountant)),
        (None, Some(target)) => mia_dp::Accounting::calibrated(target, a.sample_rate, a.steps, a.delta, a.accountant),
        (None, None) => return Err(Failure::Usage("give --noise-multiplier or --epsilon".into())),
    }
    .map_err(exit::dp_usage)?;
    summary::accounting(&spent, a.epsilon.is_some(), a.json);
    Ok(true)
}

fn diff(a: DiffArgs) -> Result<bool, Failure> {
    let rules = mia_audit::score::parse_gate(&a.fail_if)?;
    let old = mia_audit::BaselineInput::load_as(&a.old, "old report")?;
    let new = mia_audit::BaselineInput::load_as(&a.new, "new report")?;
    let comparison = mia_audit::baseline::diff_reports(&old, &new, a.confidence)?;
    let gate = mia_report::gate::evaluate_baseline_rules(&rules, &comparison).map_err(mia_audit::AuditError::from)?;
    if !a.quiet {
        summary::diff(&comparison, &gate, a.json);
    }
    Ok(gate.verdict != "fail")
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return exit::usage(e),
    };
    let (threads, quiet) = match &cli.command {
        Command::Score(a) => (a.eval.threads, a.eval.quiet),
        Command::Llm(a) => (a.eval.threads, a.eval.quiet),
        Command::Audit(a) | Command::Synth(a) | Command::Plan(a) | Command::Merge(a) => {
            (a.run.exec.threads, a.run.exec.quiet)
        }
        Command::Demo(a) => (a.run.exec.threads, a.run.exec.quiet),
        Command::Run(a) => (a.exec.threads, a.exec.quiet),
        Command::Accountant(_) | Command::Diff(_) => (None, true),
    };
    exit::exit_code(std::panic::catch_unwind(|| {
        if let Some(t) = threads
            && let Some(note) = mia_audit::threads::start_thread_pool(t)?
            && !quiet
        {
            eprintln!("mia: {note}");
        }
        // Commands that train models or run users' programs stop cleanly on SIGINT / SIGTERM.
        if matches!(cli.command, Command::Audit(_) | Command::Synth(_) | Command::Demo(_) | Command::Run(_))
            && let Err(e) = mia_audit::interrupt::install_handlers()
        {
            return Err(Failure::Internal(format!("cannot install signal handlers: {e}")));
        }
        match cli.command {
            Command::Score(a) => score(*a),
            Command::Llm(a) => llm(*a),
            Command::Audit(a) => audit(a, false),
            Command::Synth(a) => synth(a),
            Command::Demo(a) => demo(a),
            Command::Plan(a) => plan(a),
            Command::Run(a) => run_shard(a),
            Command::Merge(a) => audit(a, true),
            Command::Accountant(a) => accountant(a),
            Command::Diff(a) => diff(a),
        }
    }))
}
