//! The score-file audit behind `mia score`: precomputed model outputs with known
//! membership in, report out.
//!
//! With [`ScoreAuditOptions::reference`] the audit also reads reference-model outputs a
//! team computed itself (K × N signals, a K × N keep mask, optionally population
//! records; see [`mia_data::reference`]) and runs every reference attack of
//! [`mia_core::reference`] whose inputs exist (LiRA, RMIA, Attack P/R, difficulty
//! calibration, the Shokri shadow attack) next to the score-only attacks, configured by
//! [`ScoreAuditOptions::reference_config`] (recorded in the report's `settings.reference`).
//!
//! With [`ScoreAuditOptions::features`] (the records' own features) it also runs the blind check
//! and the quantile-regression attack ([`crate::quantile`]), cross-fitted on the non-members of
//! the other folds, at the target FPR [`ScoreAuditOptions::quantile`]`.alpha`.

use crate::assemble::{Assembly, AuditOutput, assemble};
use crate::quantile::{
    QUANTILE_ATTACK, QuantileConfig, QuantileRecords, cross_fitted_quantile_attack, operating_points,
};
use crate::{AuditError, Control};
use mia_core::attacks::{AttackConfig, AttackScores, SCORE_ONLY_ATTACKS, score_only_attacks};
use mia_core::evaluate::EvalConfig;
use mia_core::reference::{
    Center, FullOutputs, LiraStd, OfflineTest, Population, REFERENCE_ATTACKS, ReferenceConfig, ReferenceInputs,
    Variance, missing_input, reference_attacks,
};
use mia_core::signals::compute_signals;
use mia_data::reference::{Coverage, ReferenceData, ReferenceInput, ReferenceOptions};
use mia_data::{LoadOptions, ScoreSource, ScoreTable};
use mia_report::gate::{self, GateExpr};
use std::path::Path;

/// Everything a score audit can be told.
#[derive(Debug, Clone)]
pub struct ScoreAuditOptions {
    pub eval: EvalConfig,
    pub attack: AttackConfig,
    /// Attacks to run (`None`: all that the outputs support).
    pub attacks: Option<Vec<String>>,
    /// Attacks to slice by class (`None`: every attack without a per-class fit).
    pub slice_attacks: Option<Vec<String>>,
    pub gate: Vec<String>,
    /// Records listed in the HTML's "most exposed" table.
    pub top_records: usize,
    pub prob_tolerance: f64,
    /// Reference-model outputs to read and align to the score table (enables the
    /// reference attacks).
    pub reference: Option<ReferenceInput>,
    /// Settings of the reference attacks (used with `reference`).
    pub reference_config: ReferenceConfig,
    /// Settings the user gave explicitly, each with the attacks it applies to: naming one
    /// whose attacks do not run is an error, as the report would record it without effect.
    pub given_settings: Vec<GivenSetting>,
    /// The (ε, δ) differential-privacy guarantee claimed for the model that gave the scores
    /// (`--claimed-epsilon`, `--claimed-delta`): the report's `privacy` section.
    pub claimed: Option<(f64, f64)>,
    /// The member column is each record's fair coin of a one-run audit (`--one-run`): the
    /// report's `one_run` section bounds ε from it.
    pub one_run: bool,
    /// An earlier report to compare with (`--baseline`): the report's `baseline` section.
    pub baseline: Option<crate::baseline::BaselineInput>,
    /// How messages name the settings: as the command's flags or as keyword arguments.
    pub names: SettingNames,
    /// The audited records' features, one row per record in the score input's order
    /// (`--features`): the blind check and the quantile attack run on them.
    pub features: Option<FeatureInput>,
    /// Settings of the quantile-regression attack (run with `features`): its target FPR α
    /// (`--quantile-alpha`) and regressor.
    pub quantile: QuantileConfig,
}

/// Per-record features for a score audit's blind check and quantile attack.
#[derive(Debug, Clone)]
pub enum FeatureInput {
    /// A 2-D float `.npy` file ([`mia_data::load_features`]).
    File(std::path::PathBuf),
    /// An array in memory (records × features).
    Array(ndarray::Array2<f32>),
}

/// How a front end's user names a setting, for messages: `--fpr-rule` on the command line,
/// `fpr_rule` in Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SettingNames {
    #[default]
    Flags,
    Keywords,
}

impl SettingNames {
    /// A setting (`fpr_rule`) as the user writes it.
    pub fn of(self, setting: &str) -> String {
        match self {
            SettingNames::Flags => format!("--{}", setting.replace('_', "-")),
            SettingNames::Keywords => setting.to_string(),
        }
    }

    /// An input (`reference`) given as a file or an array.
    pub fn input(self, setting: &str) -> String {
        match self {
            SettingNames::Flags => format!("--{} FILE", setting.replace('_', "-")),
            SettingNames::Keywords => format!("{setting}="),
        }
    }
}

/// The settings of a score audit as a front end takes them (`mia score`'s flags, the Python
/// package's keyword arguments), with their names and defaults; [`ScoreSettings::options`]
/// turns them into [`ScoreAuditOptions`], the same way for every front end.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreSettings {
    pub seed: u64,
    pub bootstrap: usize,
    pub confidence: f64,
    pub delta: f64,
    pub base_rates: Vec<f64>,
    pub fpr: Vec<f64>,
    pub fpr_rule: mia_core::roc::FprRule,
    pub min_class_size: u64,
    pub bootstrap_min_class_size: u64,
    pub folds: usize,
    pub attacks: Option<Vec<String>>,
    /// Attacks to slice by class; `["none"]` for none.
    pub slices: Option<Vec<String>>,
    pub fail_if: Vec<String>,
    pub prob_tolerance: f64,
    pub top: usize,
    pub claimed_epsilon: Option<f64>,
    pub claimed_delta: Option<f64>,
    pub one_run: bool,
    /// The quantile attack's target false-positive rate α (`None`: its default, 0.01).
    pub quantile_alpha: Option<f64>,
}

impl Default for ScoreSettings {
    fn default() -> Self {
        let e = EvalConfig::default();
        let d = ScoreAuditOptions::default();
        ScoreSettings {
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
            prob_tolerance: d.prob_tolerance,
            top: d.top_records,
            claimed_epsilon: None,
            claimed_delta: None,
            one_run: false,
            quantile_alpha: None,
        }
    }
}

impl ScoreSettings {
    /// The audit's options: these settings, with reference outputs (if any), the reference
    /// attacks' config and the settings given explicitly ([`ReferenceOverrides::apply`]; an
    /// explicit `quantile_alpha` is added to them), and an earlier report to compare with.
    pub fn options(
        &self,
        reference: Option<ReferenceInput>,
        (reference_config, mut given_settings): (ReferenceConfig, Vec<GivenSetting>),
        baseline: Option<crate::baseline::BaselineInput>,
    ) -> Result<ScoreAuditOptions, AuditError> {
        let claimed = match (self.claimed_epsilon, self.claimed_delta) {
            (Some(e), Some(d)) => Some((e, d)),
            (None, None) => None,
            _ => return Err(AuditError::Input("a claimed epsilon and delta go together: give both".into())),
        };
        let mut quantile = QuantileConfig::default();
        if let Some(a) = self.quantile_alpha {
            quantile.alpha = a;
            given_settings.push(GivenSetting { setting: format!("--quantile-alpha {a}"), attacks: &[QUANTILE_ATTACK] });
        }
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
            baseline,
            names: SettingNames::Flags,
            features: None,
            quantile,
        })
    }
}

/// A setting given explicitly (`--rmia-gamma 3`) and the attacks it applies to.
#[derive(Debug, Clone)]
pub struct GivenSetting {
    /// As the user wrote it, for messages.
    pub setting: String,
    pub attacks: &'static [&'static str],
}

impl Default for ScoreAuditOptions {
    fn default() -> Self {
        ScoreAuditOptions {
            eval: EvalConfig::default(),
            attack: AttackConfig::default(),
            attacks: None,
            slice_attacks: None,
            gate: Vec::new(),
            top_records: 25,
            prob_tolerance: 1e-3,
            reference: None,
            reference_config: ReferenceConfig::default(),
            given_settings: Vec::new(),
            claimed: None,
            one_run: false,
            baseline: None,
            names: SettingNames::Flags,
            features: None,
            quantile: QuantileConfig::default(),
        }
    }
}

/// A score audit: per-record outputs with known membership, read from files (a score
/// table, or arrays), audited by every attack the outputs support. An in-memory
/// [`ScoreTable`] goes to [`run_score_audit`] directly.
#[derive(Debug, Clone)]
pub struct ScoreAudit {
    source: ScoreSource,
    options: ScoreAuditOptions,
    skip_invalid_rows: bool,
}

impl ScoreAudit {
    /// An audit of `source` with the default options.
    pub fn new(source: ScoreSource) -> ScoreAudit {
        ScoreAudit { source, options: ScoreAuditOptions::default(), skip_invalid_rows: false }
    }

    pub fn options(mut self, options: ScoreAuditOptions) -> ScoreAudit {
        self.options = options;
        self
    }

    /// Skip rows with invalid values (counted in the report) instead of stopping.
    pub fn skip_invalid_rows(mut self, skip: bool) -> ScoreAudit {
        self.skip_invalid_rows = skip;
        self
    }

    /// Reads the outputs and runs the audit. Gate rules are checked before a possibly large
    /// file is read.
    pub fn run(&self, ctl: &Control<'_>) -> Result<AuditOutput, AuditError> {
        parse_gate(&self.options.gate)?;
        let load =
            LoadOptions { prob_tolerance: self.options.prob_tolerance, skip_invalid_rows: self.skip_invalid_rows };
        let table = mia_data::load_scores(&self.source, &load)?;
        ctl.check()?;
        ctl.report(crate::Progress::Stage("attacks"));
        ctl.unless_stopped(run_score_audit(table, &self.options))
    }
}

/// Reference-attack settings given one by one (command-line flags) over a config's: each
/// one given replaces the config's value. RMIA's are kept as [`GivenSetting`]s: naming one
/// when none of its attacks runs is an error.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReferenceOverrides {
    pub lira_center: Option<Center>,
    pub lira_variance: Option<Variance>,
    pub lira_std: Option<LiraStd>,
    pub lira_offline: Option<OfflineTest>,
    pub rmia_gamma: Option<f64>,
    pub rmia_a: Option<f64>,
}

impl ReferenceOverrides {
    /// The first setting given, as its flag (for "needs --reference" messages).
    pub fn given(&self) -> Option<&'static str> {
        [
            ("--lira-center", self.lira_center.is_some()),
            ("--lira-variance", self.lira_variance.is_some()),
            ("--lira-std", self.lira_std.is_some()),
            ("--lira-offline", self.lira_offline.is_some()),
            ("--rmia-gamma", self.rmia_gamma.is_some()),
            ("--rmia-a", self.rmia_a.is_some()),
        ]
        .into_iter()
        .find_map(|(flag, set)| set.then_some(flag))
    }

    /// `config` with these settings applied, and the RMIA settings given.
    pub fn apply(&self, mut config: ReferenceConfig) -> (ReferenceConfig, Vec<GivenSetting>) {
        let lira = &mut config.lira;
        lira.center = self.lira_center.unwrap_or(lira.center);
        lira.variance = self.lira_variance.unwrap_or(lira.variance);
        lira.std = self.lira_std.unwrap_or(lira.std);
        lira.offline_test = self.lira_offline.unwrap_or(lira.offline_test);
        let mut given = Vec::new();
        if let Some(g) = self.rmia_gamma {
            config.rmia.gamma = g;
            given
                .push(GivenSetting { setting: format!("--rmia-gamma {g}"), attacks: &["rmia_online", "rmia_offline"] });
        }
        if let Some(a) = self.rmia_a {
            config.rmia.offline_a = a;
            given.push(GivenSetting { setting: format!("--rmia-a {a}"), attacks: &["rmia_offline"] });
        }
        (config, given)
    }
}

/// Parses gate rules up front, so a typo fails before any work is done.
pub fn parse_gate(rules: &[String]) -> Result<Vec<GateExpr>, AuditError> {
    rules.iter().map(|r| gate::parse(r).map_err(AuditError::from)).collect()
}

/// Most bootstrap resamples: past this the intervals' Monte Carlo error is far below what a
/// report shows, and run time and memory only grow.
pub const MAX_BOOTSTRAP: usize = 100_000;

/// Checks the evaluation settings a user can get wrong; `name` turns a setting's name
/// (`confidence`, `delta`, `fpr`, `base_rate`, `folds`, `bootstrap`) into the way the user
/// wrote it (`--confidence`, `eval.confidence`, ...).
pub(crate) fn check_eval(e: &EvalConfig, folds: usize, name: impl Fn(&str) -> String) -> Result<(), AuditError> {
    let bad = |m: String| Err(AuditError::Input(m));
    if e.bootstrap_resamples > MAX_BOOTSTRAP {
        return bad(format!(
            "{} = {}: expected 0 (no intervals) to {MAX_BOOTSTRAP} resamples",
            name("bootstrap"),
            e.bootstrap_resamples
        ));
    }
    if !(e.confidence > 0.0 && e.confidence < 1.0) {
        return bad(format!("{} must be between 0 and 1, got {}", name("confidence"), e.confidence));
    }
    if !(e.delta >= 0.0 && e.delta < 1.0) {
        return bad(format!("{} must be in [0, 1), got {}", name("delta"), e.delta));
    }
    if let Some(f) = e.fpr_targets.iter().find(|f| !(**f > 0.0 && **f < 1.0)) {
        return bad(format!("{} targets must be between 0 and 1, got {f}", name("fpr")));
    }
    if let Some(b) = e.base_rates.iter().find(|b| !(**b > 0.0 && **b < 1.0)) {
        return bad(format!("{} must be between 0 and 1, got {b}", name("base_rate")));
    }
    if folds < 2 {
        return bad(format!("{} must be at least 2, got {folds}", name("folds")));
    }
    Ok(())
}

/// Cross-fitting splits the audited records into `folds` parts, and a part needs a record:
/// more folds than `records` is an error naming `key` (`--folds`, `attacks.folds`).
pub(crate) fn check_folds(folds: usize, records: usize, key: &str) -> Result<(), AuditError> {
    if folds > records {
        return Err(AuditError::Input(format!(
            "{key} = {folds}: expected 2 to {records} (each fold of the cross-fitted attacks needs at least one of \
             the {records} audited records)"
        )));
    }
    Ok(())
}

/// Checks a list of attacks to slice by class: every name a known attack. `key` names the
/// list as the user wrote it; `none_is` says how to ask for no slices.
pub(crate) fn check_slices(list: &[String], known: &[&str], key: &str, none_is: &str) -> Result<(), AuditError> {
    match list.iter().find(|n| !known.contains(&n.as_str())) {
        Some(n) => Err(AuditError::Input(format!(
            "{key}: unknown attack \"{n}\"; expected attack names ({}), or {none_is} for no slices",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

fn check_options(o: &ScoreAuditOptions) -> Result<(), AuditError> {
    let bad = |m: String| Err(AuditError::Input(m));
    let named = o.names;
    check_eval(&o.eval, o.attack.folds, |n| named.of(n))?;
    let known: Vec<&str> =
        SCORE_ONLY_ATTACKS.iter().chain(&[QUANTILE_ATTACK]).chain(REFERENCE_ATTACKS).copied().collect();
    if let Some(list) = &o.slice_attacks {
        check_slices(list, &known, &named.of("slices"), "`none` alone")?;
    }
    if let Some(bad_setting) = o.reference_config.invalid_setting() {
        return bad(bad_setting.to_string());
    }
    if let Some((e, d)) = o.claimed {
        let key = format!("{}/{}", named.of("claimed_epsilon"), named.of("claimed_delta"));
        crate::privacy::check_claim(e, d, &key).map_err(AuditError::Input)?;
    }
    if let Some(names) = &o.attacks {
        if let Some(n) = names.iter().find(|n| !known.contains(&n.as_str())) {
            return bad(format!("unknown attack \"{n}\"; known attacks: {}", known.join(", ")));
        }
        if o.reference.is_none()
            && let Some(n) = names.iter().find(|n| REFERENCE_ATTACKS.contains(&n.as_str()))
        {
            return bad(format!(
                "attack \"{n}\" needs reference models: give their outputs with {} and the keep mask with {}",
                named.input("reference"),
                named.input("keep")
            ));
        }
    }
    check_quantile(o)
}

/// The quantile attack's settings: α in (0, 0.5], and the attack (or its α) asked for only with
/// the records' features, which it reads.
fn check_quantile(o: &ScoreAuditOptions) -> Result<(), AuditError> {
    let named = o.names;
    let alpha = o.quantile.alpha;
    if !(alpha > 0.0 && alpha <= 0.5) {
        return Err(AuditError::Input(format!(
            "{} must be in (0, 0.5] (the quantile attack's target false-positive rate), got {alpha}",
            named.of("quantile_alpha")
        )));
    }
    o.quantile.check()?;
    if o.features.is_some() {
        return Ok(());
    }
    let why = "it fits a quantile regression from each record's features to its signal";
    if o.attacks.as_ref().is_some_and(|a| a.iter().any(|n| n == QUANTILE_ATTACK)) {
        return Err(AuditError::Input(format!(
            "attack \"{QUANTILE_ATTACK}\" needs the records' features: give them with {} (one row per record, in the \
             score input's order); {why}",
            named.input("features")
        )));
    }
    if let Some(g) = o.given_settings.iter().find(|g| g.attacks == [QUANTILE_ATTACK]) {
        return Err(AuditError::Input(format!(
            "{} applies to the quantile attack, which needs the records' features ({}); leave the setting out or \
             give the features",
            g.setting,
            named.input("features")
        )));
    }
    Ok(())
}

/// Which sides of the keep mask the requested reference attacks need per record (all
/// attacks: both).
pub fn coverage_for(attacks: Option<&[String]>) -> Coverage {
    let any = |set: &[&str]| attacks.is_none_or(|a| a.iter().any(|n| set.contains(&n.as_str())));
    Coverage {
        need_in: any(&["lira_online", "rmia_online"]),
        need_out: any(&[
            "lira_online",
            "lira_offline",
            "rmia_online",
            "rmia_offline",
            "attack_r",
            "difficulty_calibration",
        ]),
    }
}

/// Reads a reference-attack config: a TOML file with `[lira]`, `[rmia]`, `[attack_r]`
/// and `[shokri]` tables (every key optional; unknown keys are errors), deserialised
/// into [`ReferenceConfig`].
pub fn load_reference_config(path: &Path) -> Result<ReferenceConfig, AuditError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| AuditError::Input(format!("{name}: cannot read: {e}")))?;
    parse_reference_config(&text, &name)
}

/// Parses a reference-attack config from TOML text; `name` labels errors (one line,
/// with the line and column of the problem).
pub fn parse_reference_config(text: &str, name: &str) -> Result<ReferenceConfig, AuditError> {
    let cfg: ReferenceConfig = toml::from_str(text).map_err(|e| {
        let msg = e.message().replace('\n', " ");
        match e.span() {
            Some(s) => {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                AuditError::Input(format!("{name}: line {line}, column {col}: {msg}"))
            }
            None => AuditError::Input(format!("{name}: {msg}")),
        }
    })?;
    match cfg.invalid_setting() {
        Some(bad) => Err(AuditError::Input(format!("{name}: {bad}"))),
        None => Ok(cfg),
    }
}

/// Runs every requested attack on the table — score-only, and with reference outputs
/// (`opts.reference`) every reference attack whose inputs exist — and evaluates them.
pub fn run_score_audit(table: ScoreTable, opts: &ScoreAuditOptions) -> Result<AuditOutput, AuditError> {
    check_options(opts)?;
    let rules = parse_gate(&opts.gate)?;
    let n_members = table.member.iter().filter(|&&m| m).count();
    let n_non = table.member.len() - n_members;
    if n_members == 0 || n_non == 0 {
        return Err(AuditError::Input(format!(
            "need both members and non-members to audit, found {n_members} members and {n_non} non-members"
        )));
    }
    check_folds(opts.attack.folds, table.member.len(), &opts.names.of("folds"))?;
    let reference = match &opts.reference {
        Some(src) => {
            let ropts = ReferenceOptions {
                prob_tolerance: opts.prob_tolerance,
                coverage: coverage_for(opts.attacks.as_deref()),
            };
            Some(src.load(&table, &ropts)?)
        }
        None => None,
    };
    let member = table.member;
    let labels = table.labels;
    let signals = compute_signals(&table.outputs, labels.as_deref());
    if reference.is_some()
        && let Some(i) = signals.phi.iter().position(|v| !v.is_finite() || v.abs() > mia_core::reference::PHI_BOUND)
    {
        // Named here, with the score file and the record, rather than inside the attacks.
        return Err(AuditError::Input(format!(
            "{}: record {}: the target's outputs give φ = {}, outside ±{:e}, the range the reference attacks accept",
            table.inputs.first().map_or("the score input", |f| f.path.as_str()),
            table.ids[i],
            signals.phi[i],
            mia_core::reference::PHI_BOUND
        )));
    }
    let requested = opts.attacks.as_deref();
    let score_only_names: Option<Vec<String>> =
        requested.map(|r| r.iter().filter(|n| SCORE_ONLY_ATTACKS.contains(&n.as_str())).cloned().collect());
    let ref_names: Option<Vec<String>> =
        requested.map(|r| r.iter().filter(|n| REFERENCE_ATTACKS.contains(&n.as_str())).cloned().collect());

    let mut attacks: Vec<AttackScores> = Vec::new();
    let mut notes = table.notes;
    let mut extra_caveats = Vec::new();
    let mut inputs = table.inputs.clone();
    if let Some(r) = &reference {
        if ref_names.as_ref().is_none_or(|names| !names.is_empty()) {
            let ran = reference_scores(r, &table.outputs, labels.as_deref(), &signals.phi, ref_names.as_deref(), opts)?;
            attacks.extend(ran.attacks);
            notes.extend(ran.notes);
        }
        notes.push(reference_summary(r));
        notes.extend(r.notes.iter().cloned());
        extra_caveats.extend(reference_caveats(r));
        for f in &r.inputs {
            if !inputs.iter().any(|g| g.path == f.path && g.sha256 == f.sha256) {
                inputs.push(f.clone());
            }
        }
    }
    if score_only_names.as_ref().is_none_or(|s| !s.is_empty()) {
        let names = score_only_names.as_deref();
        attacks.extend(score_only_step(&signals, labels.as_deref(), &member, names, opts, table.outputs.kind())?);
    }
    let features = match &opts.features {
        Some(f) => Some(feature_rows(f, &member, table.rows_read, opts, &mut inputs)?),
        None => None,
    };
    let mut quantile_skipped = None;
    if let Some(x) = &features {
        let n_classes = table.outputs.n_classes();
        match quantile_step(x.view(), &signals.phi, labels.as_deref(), n_classes, &member, &table.ids, opts)? {
            Some(Ok(a)) => attacks.push(a),
            Some(Err(why)) => {
                notes.push(format!("The quantile attack did not run: {why}."));
                quantile_skipped = Some(why);
            }
            None => {}
        }
    }
    let ran = Ran { attacks: &attacks, requested: ref_names.as_deref(), reference: reference.is_some() };
    check_given_settings(&opts.given_settings, &ran, quantile_skipped.as_deref(), opts.names)?;
    let blind = match &features {
        Some(x) => Some(crate::blind::blind_features(x.view(), &member, opts.attack.folds, opts.eval.seed)?),
        None => None,
    };
    let assembly = Assembly {
        command: "score",
        eval: opts.eval.clone(),
        folds: opts.attack.folds,
        prob_tolerance: opts.prob_tolerance,
        slice_attacks: opts.slice_attacks.clone(),
        rules,
        top_records: opts.top_records,
        inputs,
        rows_read: table.rows_read,
        skipped: table.skipped.clone(),
        notes,
        extra_caveats,
        models: None,
        outputs_kind: table.outputs.kind(),
        n_classes: table.outputs.n_classes(),
        claim: opts.claimed.map(|(e, d)| crate::privacy::Claim::stated(e, d)),
        one_run: opts.one_run,
        baseline: opts.baseline.clone(),
        blind,
        llm: None,
    };
    let mut out = assemble(assembly, attacks, Some(&signals), table.ids, member, labels)?;
    if reference.is_some() {
        out.report.settings.reference = Some(opts.reference_config.clone());
    }
    Ok(out)
}

/// The records' features (for the blind check and the quantile attack), given one row per record
/// in the score input's order (so every row must have been kept); a file is added to `inputs`.
fn feature_rows<'a>(
    f: &'a FeatureInput,
    member: &[bool],
    rows_read: usize,
    opts: &ScoreAuditOptions,
    inputs: &mut Vec<mia_report::report::InputFile>,
) -> Result<std::borrow::Cow<'a, ndarray::Array2<f32>>, AuditError> {
    let (x, name) = match f {
        FeatureInput::File(path) => {
            let (x, input) = mia_data::load_features(path)?;
            let name = input.path.clone();
            inputs.push(input);
            (std::borrow::Cow::Owned(x), name)
        }
        FeatureInput::Array(x) => {
            if let Some(((r, c), v)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
                return Err(AuditError::Input(format!(
                    "array \"features\": row {}, column {c}: expected a finite number (a feature value), found {v}",
                    r + 1
                )));
            }
            (std::borrow::Cow::Borrowed(x), "array \"features\"".to_string())
        }
    };
    let flag = opts.names.input("features");
    if rows_read != member.len() {
        return Err(AuditError::Input(format!(
            "{flag}: {} of the score input's {rows_read} rows were skipped, so the features (one row per record, in \
             the score input's order) cannot be aligned; fix the rows or leave the features out",
            rows_read - member.len()
        )));
    }
    if x.nrows() != member.len() {
        return Err(AuditError::Input(format!(
            "{name}: {} rows of features, but the score input has {} records: expected one row per record, in the \
             score input's order",
            x.nrows(),
            member.len()
        )));
    }
    Ok(x)
}

/// The score-only attacks named in `names` (all the outputs support when `None`); one asked for
/// by name that the input (`kind`) cannot support is an error.
fn score_only_step(
    signals: &mia_core::signals::Signals,
    labels: Option<&[usize]>,
    member: &[bool],
    names: Option<&[String]>,
    opts: &ScoreAuditOptions,
    kind: &str,
) -> Result<Vec<AttackScores>, AuditError> {
    let attack_cfg = AttackConfig { seed: opts.eval.seed, ..opts.attack.clone() };
    let ran = score_only_attacks(signals, labels, member, names, &attack_cfg);
    if let Some(n) = names.iter().copied().flatten().find(|n| !ran.iter().any(|a| &a.name == *n)) {
        return Err(AuditError::Input(format!(
            "attack \"{n}\" needs {} which the input ({kind}) does not provide",
            if n.ends_with("_per_class") { "labels" } else { "full logits or probabilities" },
        )));
    }
    Ok(ran)
}

/// The quantile attack on the records' features `x` ([`cross_fitted_quantile_attack`], the folds
/// and seed of the other cross-fitted attacks), unless `--attacks` leaves it out (`None`). It reads
/// φ from the outputs as every score-only attack does — from a loss-only input too, where φ is the
/// loss's exact transform and the regressor gets no class columns unless the input has labels.
/// When it cannot run (too few non-members, a φ that is not finite) that is an error if it was
/// asked for by name, and otherwise the reason (`Some(Err(why))`), for a note.
fn quantile_step(
    x: ndarray::ArrayView2<'_, f32>,
    phi: &[f64],
    labels: Option<&[usize]>,
    n_classes: Option<usize>,
    member: &[bool],
    ids: &[String],
    opts: &ScoreAuditOptions,
) -> Result<Option<Result<AttackScores, String>>, AuditError> {
    let named = opts.attacks.as_ref().is_some_and(|a| a.iter().any(|n| n == QUANTILE_ATTACK));
    if opts.attacks.is_some() && !named {
        return Ok(None);
    }
    let n_classes = n_classes.or_else(|| labels.and_then(|l| l.iter().max()).map(|m| m + 1)).unwrap_or(0);
    let result = match phi.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(AuditError::Input(format!(
            "quantile attack: record {}: the target's outputs give φ = {}, which a regression cannot fit",
            ids[i], phi[i]
        ))),
        None => {
            let records = QuantileRecords { x, labels, phi };
            let (folds, seed) = (opts.attack.folds, opts.eval.seed);
            let run = |cfg: &QuantileConfig| cross_fitted_quantile_attack(records, member, n_classes, folds, seed, cfg);
            run(&opts.quantile).and_then(|mut a| {
                // The fewest non-members a fold's fit gets: all but the largest fold's.
                let fold = mia_core::attacks::stratified_folds(member, folds, seed);
                let fewest = (0..folds)
                    .map(|f| (0..member.len()).filter(|&i| fold[i] != f && !member[i]).count())
                    .min()
                    .unwrap_or(0);
                let grid = &opts.eval.fpr_targets;
                let points = operating_points(grid, &opts.quantile, opts.eval.confidence, fewest, member, |c| {
                    run(c).map(|a| a.scores)
                })?;
                if let Some(f) = a.fitting.as_mut() {
                    f.notes.extend(points);
                }
                Ok(a)
            })
        }
    };
    match result {
        Ok(a) => Ok(Some(Ok(a))),
        Err(e) if named => Err(e),
        Err(e) => Ok(Some(Err(e.to_string().trim_start_matches("quantile attack: ").to_string()))),
    }
}

/// The attacks that ran, for [`check_given_settings`]: the reference attacks requested by name
/// (`None`: all) and whether reference outputs were given.
struct Ran<'a> {
    attacks: &'a [AttackScores],
    requested: Option<&'a [String]>,
    reference: bool,
}

/// An explicitly given setting whose attacks all did not run is an error: the report would
/// record it as if it had shaped a result.
fn check_given_settings(
    given: &[GivenSetting],
    ran: &Ran<'_>,
    quantile_skipped: Option<&str>,
    names: SettingNames,
) -> Result<(), AuditError> {
    let (requested, have_reference) = (ran.requested, ran.reference);
    for g in given {
        if ran.attacks.iter().any(|a| g.attacks.contains(&a.name.as_str())) {
            continue;
        }
        let why = if g.attacks == [QUANTILE_ATTACK] {
            match quantile_skipped {
                Some(why) => why.to_string(),
                None => format!("{} leaves it out", names.of("attacks")),
            }
        } else if !have_reference {
            format!("they need reference models ({})", names.of("reference"))
        } else if requested.is_some_and(|r| !r.iter().any(|n| g.attacks.contains(&n.as_str()))) {
            format!("{} leaves them out", names.of("attacks"))
        } else {
            format!(
                "they need population records ({} and {}, or an .npz holding them)",
                names.of("population_target"),
                names.of("population_reference")
            )
        };
        return Err(AuditError::Input(format!(
            "{} applies to {}, and {} ({why}); leave the setting out or run the attack",
            g.setting,
            g.attacks.join(" and "),
            if g.attacks.len() == 1 { "it did not run" } else { "none of them ran" }
        )));
    }
    Ok(())
}

/// Reference attacks' scores and what the report should say about the ones not run.
struct ReferenceRun {
    attacks: Vec<AttackScores>,
    notes: Vec<String>,
}

fn reference_scores(
    r: &ReferenceData,
    target: &mia_core::signals::ModelOutputs,
    labels: Option<&[usize]>,
    target_phi: &[f64],
    names: Option<&[String]>,
    opts: &ScoreAuditOptions,
) -> Result<ReferenceRun, AuditError> {
    let mut inputs = ReferenceInputs::new(target_phi, r.phi.view(), r.keep.view());
    if let Some(p) = &r.population {
        inputs =
            inputs.with_population(Population { target_phi: &p.target_phi, reference_phi: p.reference_phi.view() });
    }
    if let (Some(refs), Some(labels), Some(_)) = (&r.outputs, labels, target.n_classes()) {
        inputs = inputs.with_outputs(FullOutputs { target, references: refs, labels });
    }
    let attacks = reference_attacks(&inputs, names, &opts.reference_config, opts.eval.seed)
        .map_err(|e| AuditError::Input(format!("reference attacks: {e}")))?;
    let mut notes = Vec::new();
    if names.is_none() {
        let skipped: Vec<String> = REFERENCE_ATTACKS
            .iter()
            .filter_map(|&n| missing_input(n, &inputs).map(|why| format!("{n} ({why})")))
            .collect();
        if !skipped.is_empty() {
            notes.push(format!("Reference attacks not run for lack of inputs: {}", skipped.join("; ")));
        }
    }
    Ok(ReferenceRun { attacks, notes })
}

/// What a reader must know about user-supplied reference models.
fn reference_caveats(r: &ReferenceData) -> Vec<String> {
    let k = r.n_models();
    let mut c = vec![format!(
        "Reference attacks assume the {k} reference models were trained like the target (same architecture and \
         training recipe, same data distribution, similar training-set size) and that the keep mask is exactly what \
         each trained on; they were supplied with the inputs, so this audit cannot check either."
    )];
    if k < 16 {
        c.push(format!(
            "Only {k} reference models: per-example variance estimates are noisy; LiRA's authors use 64 or more \
             (global variance is more robust with few models)."
        ));
    }
    c
}

/// One line on the reference inputs, for the report's notes.
fn reference_summary(r: &ReferenceData) -> String {
    let k = r.n_models();
    let n = r.keep.ncols();
    let n_in: Vec<usize> = r.keep.columns().into_iter().map(|col| col.iter().filter(|&&b| b).count()).collect();
    let (lo, hi) = (n_in.iter().min().copied().unwrap_or(0), n_in.iter().max().copied().unwrap_or(0));
    format!(
        "Reference models: K = {k} ({} signals), {n} audit records aligned by {}, IN models per record {}, OUT {}{}.",
        r.signal.name(),
        if r.aligned_by_id { "record id" } else { "position" },
        if lo == hi { lo.to_string() } else { format!("{lo}–{hi}") },
        if lo == hi { (k - lo).to_string() } else { format!("{}–{}", k - hi, k - lo) },
        match &r.population {
            Some(p) => format!(", {} population records", p.target_phi.len()),
            None => String::new(),
        }
    )
}
