//! `mia synth`: a membership audit of synthetic data.
//!
//! The config (`synth.toml`) names the real records and either the released synthetic
//! tables or a generator for the tool to run:
//!
//! ```toml
//! seed = 7
//! [data]                       # the real records (mia_data::tabular::TableSchema)
//! path = "adult.csv"
//! label = "income"
//! member = "in_training"       # optional: which real rows the generator trained on
//!
//! [release]                    # audit released synthetic data ...
//! synthetic = ["synthetic.csv"]  # read with [data]'s columns
//! holdout = "holdout.csv"      # real non-members (or use [data].member)
//!
//! [generator]                  # ... or leave [release] out and let the tool run a generator
//! kind = "copula"              # marginals | copula | copy | command
//!
//! [split]
//! member_fraction = 0.5        # generated mode: share of real rows the generator trains on
//! reference_fraction = 0.5     # share of real non-members kept as the attacks' reference (never scored)
//!
//! [distance]   # mia_synth::distance::DistanceConfig
//! [domias]     # mia_synth::domias::DomiasConfig
//! [shadow]     # mia_synth::shadow::ShadowConfig (targets: the most isolated scored records)
//! [attacks]
//! run = ["dcr", "dcr_calibrated", "domias", "shadow"]
//! [eval]       # as in mia audit
//! [report]     # as in mia audit
//! ```
//!
//! Real non-members are split once, by the seed, into a *reference* sample (the density,
//! distance calibration and shadow generators learn from it; never scored) and the scored
//! *holdout*, so no attack parameter is fitted on the records it is evaluated on. Members and
//! holdout records are scored by every attack; the report is the one every command writes,
//! plus a `synth` section with the distance summaries.
//!
//! A generator command works in a private temporary folder (its training rows, output and
//! logs), removed when it ends; SIGINT / SIGTERM stop it and end the audit with
//! [`AuditError::Interrupted`], writing nothing.

use crate::RunSettings;
use crate::assemble::{Assembly, AuditOutput, assemble};
use crate::config::{ReportSection, parse_toml, read_config};
use crate::plan::splits::{random_subset, rows_where};
use crate::{AuditError, Control, Progress};
use mia_core::attacks::AttackScores;
use mia_core::bootstrap::mix_seed;
use mia_data::tabular::{ColumnSet, DataFormat, Table, TableOptions, TableSchema, load_table};
use mia_models::external::{RunSpec, WorkDir, check_command, run_command, substitute};
use mia_report::report::{SynthInfo, SynthTable};
use mia_synth::dcr::{DEFAULT_ZERO_GUARD, distance_attacks, summarize};
use mia_synth::distance::{Distance, DistanceConfig};
use mia_synth::domias::{DomiasConfig, domias};
use mia_synth::generators::{Generator, GeneratorError, GeneratorSpec};
use mia_synth::mixed::{MISSING, MixedSchema, MixedTable, mix, mix_into};
use mia_synth::shadow::{ShadowConfig, most_isolated, shadow_attack};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Folds of the blind check (a synthetic-data audit has no cross-fitted attacks of its own).
const BLIND_FOLDS: usize = 5;

/// Attacks `mia synth` runs (all by default; `shadow` needs a generator).
pub const SYNTH_ATTACKS: &[&str] = &["dcr", "dcr_calibrated", "domias", "shadow"];

/// Random streams of the synthetic audit's choices.
mod streams {
    pub const MAX_ROWS: u64 = 0x5359_4e5f_4d41_5852;
    pub const MEMBERS: u64 = 0x5359_4e5f_4d45_4d42;
    pub const REFERENCE: u64 = 0x5359_4e5f_5245_4652;
    pub const GENERATE: u64 = 0x5359_4e5f_4745_4e45;
    pub const CLOSENESS: u64 = 0x5359_4e5f_434c_4f53;
    pub const SHADOW: u64 = 0x5359_4e5f_5348_4144;
}

/// The synthetic-data audit config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthConfig {
    /// Seed of every random choice: splits, generator runs, subsamples, bootstrap.
    #[serde(default)]
    pub seed: u64,
    /// The real records.
    pub data: TableSchema,
    #[serde(default)]
    pub release: ReleaseSection,
    #[serde(default)]
    pub split: SplitSection,
    /// The generator: run by the tool when no synthetic table is given, and by the shadow
    /// attack.
    #[serde(default)]
    pub generator: Option<GeneratorConfig>,
    #[serde(default)]
    pub distance: DistanceConfig,
    #[serde(default)]
    pub domias: DomiasConfig,
    #[serde(default)]
    pub shadow: ShadowConfig,
    #[serde(default)]
    pub attacks: SynthAttacks,
    #[serde(default)]
    pub eval: mia_core::evaluate::EvalConfig,
    #[serde(default)]
    pub report: ReportSection,
}

/// Released synthetic data to audit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReleaseSection {
    /// Synthetic tables, read with `[data]`'s columns (no id or member column).
    pub synthetic: Vec<PathBuf>,
    /// Real records from the same population that the generator did not train on.
    pub holdout: Option<PathBuf>,
}

/// How the real records are split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitSection {
    /// Generated mode: the share of real records the generator trains on (members).
    pub member_fraction: f64,
    /// The share of real non-members kept as the attacks' reference sample (never scored).
    pub reference_fraction: f64,
    /// Generated mode: synthetic rows to generate (default: as many as members).
    pub synthetic_rows: Option<usize>,
    /// Use a seeded subsample of at most this many real records.
    pub max_rows: Option<usize>,
}

impl Default for SplitSection {
    fn default() -> Self {
        SplitSection { member_fraction: 0.5, reference_fraction: 0.5, synthetic_rows: None, max_rows: None }
    }
}

/// The `[generator]` section: a built-in generator, or the user's own program.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GeneratorConfig {
    /// `kind = "command"`: the user's generator, run as an argument vector (never through a
    /// shell) with `{train}` (a CSV of training rows, `[data]`'s feature columns and label),
    /// `{rows}` (how many rows to write) and `{out}` (where to write the synthetic CSV, same
    /// columns, header row).
    Command(CommandGeneratorConfig),
    BuiltIn(GeneratorSpec),
}

impl<'de> Deserialize<'de> for GeneratorConfig {
    /// By `kind`, so a mistake in either form gets that form's own message (an untagged
    /// enum would only say that nothing matched).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = toml::Value::deserialize(d)?;
        if v.get("kind").and_then(toml::Value::as_str) == Some("command") {
            CommandGeneratorConfig::deserialize(v).map(GeneratorConfig::Command).map_err(D::Error::custom)
        } else {
            GeneratorSpec::deserialize(v).map(GeneratorConfig::BuiltIn).map_err(D::Error::custom)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandGeneratorConfig {
    pub kind: CommandKind,
    pub command: Vec<String>,
    /// Seconds one run may take before it is killed. Default 600.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    Command,
}

fn default_timeout() -> f64 {
    600.0
}

/// Which attacks run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SynthAttacks {
    /// Default: every attack in [`SYNTH_ATTACKS`] (`shadow` only with a `[generator]`).
    pub run: Option<Vec<String>>,
    /// δ of `dcr_calibrated`: `ln(d_ref + δ) − ln(d_syn + δ)`.
    pub zero_guard: f64,
}

impl Default for SynthAttacks {
    fn default() -> Self {
        SynthAttacks { run: None, zero_guard: DEFAULT_ZERO_GUARD }
    }
}

impl SynthConfig {
    /// Parses and checks a config; `name` labels errors.
    pub fn parse(text: &str, name: &str) -> Result<SynthConfig, AuditError> {
        let cfg: SynthConfig = parse_toml(text, name)?;
        cfg.validate(name)?;
        Ok(cfg)
    }

    /// Reads `path`; returns the config and the folder its relative paths resolve against.
    pub fn load(path: &Path) -> Result<(SynthConfig, PathBuf), AuditError> {
        let (text, name, base) = read_config(path)?;
        Ok((SynthConfig::parse(&text, &name)?, base))
    }

    fn generated(&self) -> bool {
        self.release.synthetic.is_empty()
    }

    fn attacks(&self) -> Vec<String> {
        match &self.attacks.run {
            Some(r) => r.clone(),
            None => SYNTH_ATTACKS
                .iter()
                .filter(|a| **a != "shadow" || self.generator.is_some())
                .map(|s| s.to_string())
                .collect(),
        }
    }

    fn validate(&self, name: &str) -> Result<(), AuditError> {
        let bad = |m: String| Err(AuditError::Input(format!("{name}: {m}")));
        let s = &self.split;
        if !(s.member_fraction > 0.0 && s.member_fraction < 1.0) {
            return bad(format!("split.member_fraction must be between 0 and 1, got {}", s.member_fraction));
        }
        if !(s.reference_fraction > 0.0 && s.reference_fraction < 1.0) {
            return bad(format!("split.reference_fraction must be between 0 and 1, got {}", s.reference_fraction));
        }
        if s.max_rows == Some(0) || s.synthetic_rows == Some(0) {
            return bad("split.max_rows and split.synthetic_rows must be at least 1".into());
        }
        if self.generated() {
            if self.generator.is_none() {
                return bad(
                    "nothing to audit: name synthetic tables in [release] synthetic = [...], or a [generator] for \
                     the tool to run"
                        .into(),
                );
            }
            if self.data.member.is_some() || self.release.holdout.is_some() {
                return bad("[data] member and [release] holdout describe released data; with a generator and no \
                     [release] synthetic tables the tool draws the members itself"
                    .into());
            }
        } else if self.data.member.is_none() && self.release.holdout.is_none() {
            return bad(
                "which real records are non-members? Name a holdout file ([release] holdout = \"...\") or a member \
                 column ([data] member = \"...\")"
                    .into(),
            );
        }
        match &self.generator {
            Some(GeneratorConfig::BuiltIn(g)) => {
                g.generator().map_err(|e| AuditError::Input(format!("{name}: generator: {e}")))?;
            }
            Some(GeneratorConfig::Command(c)) => {
                check_command(&c.command, &["train", "rows", "out"], &["train", "out"])
                    .map_err(|e| AuditError::Input(format!("{name}: generator.{e}")))?;
                if !(c.timeout_s.is_finite() && c.timeout_s > 0.0) {
                    return bad(format!(
                        "generator.timeout_s = {}: expected a positive number of seconds",
                        c.timeout_s
                    ));
                }
            }
            None => {}
        }
        let run = self.attacks();
        if run.is_empty() {
            return bad("attacks.run is empty; name at least one attack or leave it out".into());
        }
        if let Some(n) = run.iter().find(|n| !SYNTH_ATTACKS.contains(&n.as_str())) {
            return bad(format!("attacks.run: unknown attack \"{n}\"; known attacks: {}", SYNTH_ATTACKS.join(", ")));
        }
        if run.iter().any(|a| a == "shadow") && self.generator.is_none() {
            return bad("attacks.run: \"shadow\" trains shadow generators: name the [generator]".into());
        }
        self.shadow.validate().map_err(|e| AuditError::Input(format!("{name}: shadow: {e}")))?;
        if let Some(list) = &self.report.slices {
            crate::score::check_slices(list, SYNTH_ATTACKS, "report.slices", "[]")
                .map_err(|e| AuditError::Input(format!("{name}: {e}")))?;
        }
        if !(self.attacks.zero_guard.is_finite() && self.attacks.zero_guard > 0.0) {
            return bad(format!("attacks.zero_guard must be a positive number, got {}", self.attacks.zero_guard));
        }
        self.domias.validate().map_err(|e| AuditError::Input(format!("{name}: domias: {e}")))?;
        crate::score::check_eval(&self.eval.with_seed(self.seed), 2, |n| match n {
            "base_rate" => format!("{name}: eval.base_rates"),
            _ => format!("{name}: eval.{n}"),
        })?;
        Ok(())
    }
}

/// A table's schema for another file with the same columns: no id or member column.
fn schema_for(data: &TableSchema, path: &Path) -> TableSchema {
    let mut s = data.clone();
    s.path = path.to_path_buf();
    s.format = None;
    s.id = None;
    s.member = None;
    s
}

/// Most synthetic rows a generator is asked for, per real record: a release many times the
/// size of the real data is no realistic release, and the rows are held in memory.
pub const MAX_SYNTHETIC_PER_REAL: usize = 10;

/// Counts the config sets against what the data allow, before any generator runs: shadow
/// targets among the `scored` real records, generated rows against the `real` records.
fn check_counts(cfg: &SynthConfig, scored: usize, real: usize) -> Result<(), AuditError> {
    let bad = |m: String| Err(AuditError::Input(m));
    if cfg.attacks().iter().any(|a| a == "shadow") && cfg.shadow.n_targets > scored {
        return bad(format!(
            "shadow.n_targets = {}: expected 1 to {scored} (the scored real records the targets are chosen from)",
            cfg.shadow.n_targets
        ));
    }
    let most = real.saturating_mul(MAX_SYNTHETIC_PER_REAL);
    for (key, rows) in
        [("split.synthetic_rows", cfg.split.synthetic_rows), ("shadow.synthetic_size", cfg.shadow.synthetic_size)]
    {
        if let Some(r) = rows.filter(|&r| r > most) {
            return bad(format!(
                "{key} = {r}: expected 1 to {most} ({MAX_SYNTHETIC_PER_REAL} × the {real} real records)"
            ));
        }
    }
    Ok(())
}

/// The real records split for the audit, as indices into the combined real table.
struct RealSplit {
    members: Vec<usize>,
    holdout: Vec<usize>,
    reference: Vec<usize>,
}

/// A synthetic-data audit: a config ([`SynthConfig`]) and how to run it. Nothing here
/// changes the report but the config and the gate rules added with [`SynthAudit::fail_if`].
#[derive(Debug, Clone)]
pub struct SynthAudit {
    config: SynthConfig,
    base_dir: PathBuf,
    settings: RunSettings,
}

impl SynthAudit {
    /// An audit under `config`, whose relative paths are read from `base_dir`.
    pub fn new(config: SynthConfig, base_dir: impl Into<PathBuf>) -> SynthAudit {
        SynthAudit { config, base_dir: base_dir.into(), settings: RunSettings::default() }
    }

    /// The audit a config file describes (paths relative to the file's folder).
    pub fn from_file(path: &Path) -> Result<SynthAudit, AuditError> {
        let (config, base) = SynthConfig::load(path)?;
        Ok(SynthAudit::new(config, base))
    }

    pub fn config(&self) -> &SynthConfig {
        &self.config
    }

    /// Gate rules, table reading and work files ([`RunSettings`]).
    pub fn settings(mut self, settings: RunSettings) -> SynthAudit {
        self.settings = settings;
        self
    }

    /// Runs the audit: reads the tables, splits the real records, generates (or reads) the
    /// synthetic tables, runs every configured attack and assembles the report.
    pub fn run(&self, ctl: &Control<'_>) -> Result<AuditOutput, AuditError> {
        ctl.unless_stopped(self.audit(ctl))
    }

    fn audit(&self, ctl: &Control<'_>) -> Result<AuditOutput, AuditError> {
        let cfg = &self.config;
        let rules = self.settings.gate(&cfg.report.fail_if)?;
        let tables = Tables::read(cfg, &self.base_dir, &self.settings.table)?;
        let mut notes = Vec::new();
        let real = Real::split(cfg, tables, &mut notes)?;
        let generator = build_generator(cfg, &real.schema, &self.base_dir, self.settings.keep_work, ctl)?;
        let synthetic = synthetic_tables(cfg, &real, generator.as_deref(), ctl)?;
        ctl.report(Progress::Stage("attacks"));
        let (attacks, distances) = distance_attacks_on(cfg, &real, &synthetic)?;
        let shadow = match generator.as_deref() {
            Some(g) if cfg.attacks().iter().any(|a| a == "shadow") => {
                ctl.report(Progress::Stage("shadow generators"));
                Some(shadow_section(cfg, &real, &synthetic, g)?)
            }
            _ => None,
        };
        ctl.report(Progress::Stage("evaluation"));
        let run = cfg.attacks();
        let synth = SynthInfo {
            generator: cfg.generator.as_ref().map(json),
            members: real.split.members.len(),
            holdout: real.split.holdout.len(),
            reference: real.split.reference.len(),
            synthetic: synthetic.iter().map(|(i, _)| i.clone()).collect(),
            distance: json(&cfg.distance),
            distances,
            domias: run.iter().any(|a| a == "domias").then(|| json(&cfg.domias)),
            shadow,
        };
        assemble_synth(cfg, real, (rules, self.settings.baseline.clone()), notes, attacks, synth)
    }
}

/// Every table the audit reads: the real records, an optional holdout file and the released
/// synthetic files, mixed into one numeric/categorical schema.
struct Tables {
    real: Table,
    holdout_file: Option<Table>,
    released: Vec<Table>,
    schema: MixedSchema,
    /// The data file's rows, then the holdout file's.
    all_real: MixedTable,
    released_mixed: Vec<MixedTable>,
}

impl Tables {
    fn read(cfg: &SynthConfig, base_dir: &Path, opts: &TableOptions) -> Result<Tables, AuditError> {
        let real = load_table(&cfg.data, base_dir, opts)?;
        let holdout_file = match &cfg.release.holdout {
            Some(p) => Some(load_table(&schema_for(&cfg.data, p), base_dir, opts)?),
            None => None,
        };
        let one_class = TableOptions { allow_one_class: true, ..*opts };
        let mut released = Vec::new();
        for p in &cfg.release.synthetic {
            released.push(load_table(&schema_for(&cfg.data, p), base_dir, &one_class)?);
        }
        let mut tables: Vec<&Table> = vec![&real];
        tables.extend(holdout_file.iter());
        tables.extend(released.iter());
        let (schema, mut mixed) = mix(&tables, &cfg.data.label).map_err(|e| AuditError::Input(format!("{e}")))?;
        let real_m = mixed.remove(0);
        let all_real = match &holdout_file {
            Some(_) => real_m.concat(&mixed.remove(0)),
            None => real_m,
        };
        Ok(Tables { real, holdout_file, released, schema, all_real, released_mixed: mixed })
    }
}

/// The real records split into members, scored holdout and reference, as tables.
struct Real {
    tables: Tables,
    schema: MixedSchema,
    split: RealSplit,
    members: MixedTable,
    holdout: MixedTable,
    reference: MixedTable,
    /// Members and holdout records, in real-table order: the records every attack scores.
    scored_idx: Vec<usize>,
    scored: MixedTable,
    member: Vec<bool>,
    labels: Vec<usize>,
}

impl Real {
    fn split(cfg: &SynthConfig, tables: Tables, notes: &mut Vec<String>) -> Result<Real, AuditError> {
        let all = &tables.all_real;
        let split = split_real(cfg, &tables.real, tables.real.len(), all.len(), notes)?;
        let mut scored_idx: Vec<usize> = split.members.iter().chain(&split.holdout).copied().collect();
        scored_idx.sort_unstable();
        let mut is_member = vec![false; all.len()];
        split.members.iter().for_each(|&r| is_member[r] = true);
        let member: Vec<bool> = scored_idx.iter().map(|&r| is_member[r]).collect();
        let label_col = tables.schema.categorical.len() - 1;
        let labels: Vec<usize> = scored_idx.iter().map(|&r| all.categorical[[r, label_col]] as usize).collect();
        let scored = all.select(&scored_idx);
        check_counts(cfg, scored.len(), all.len())?;
        Ok(Real {
            schema: tables.schema.clone(),
            members: all.select(&split.members),
            holdout: all.select(&split.holdout),
            reference: all.select(&split.reference),
            tables,
            split,
            scored_idx,
            scored,
            member,
            labels,
        })
    }
}

/// The synthetic tables: the configured generator's output, or the released files.
fn synthetic_tables(
    cfg: &SynthConfig,
    real: &Real,
    generator: Option<&dyn Generator>,
    ctl: &Control<'_>,
) -> Result<Vec<(SynthTable, MixedTable)>, AuditError> {
    if cfg.generated() {
        let g = generator.expect("validated: generated mode has a generator");
        ctl.report(Progress::Stage("generating synthetic data"));
        let n_syn = cfg.split.synthetic_rows.unwrap_or(real.members.len());
        let t = g
            .generate(&real.schema, &real.members, n_syn, mix_seed(cfg.seed, streams::GENERATE))
            .map_err(|e| AuditError::Input(format!("generator {}: {e}", g.name())))?;
        let info = SynthTable { name: "synthetic".into(), source: format!("generated by {}", g.name()), rows: t.len() };
        return Ok(vec![(info, t)]);
    }
    let released = real.tables.released.iter().zip(&real.tables.released_mixed).zip(&cfg.release.synthetic);
    Ok(released
        .map(|((t, m), p)| {
            let name = p.file_stem().map_or_else(|| t.file.clone(), |s| s.to_string_lossy().into_owned());
            let name = name.strip_suffix(".csv").unwrap_or(&name).to_string();
            (SynthTable { name, source: t.file.clone(), rows: m.len() }, m.clone())
        })
        .collect())
}

/// DCR, calibrated DCR and DOMIAS scores against every synthetic table, and each table's
/// distance summary (exact copies, closeness share).
fn distance_attacks_on(
    cfg: &SynthConfig,
    real: &Real,
    synthetic: &[(SynthTable, MixedTable)],
) -> Result<(Vec<AttackScores>, Vec<serde_json::Value>), AuditError> {
    let run = cfg.attacks();
    let wants = |a: &str| run.iter().any(|r| r == a);
    let dist =
        Distance::fit(&cfg.distance, &real.reference).map_err(|e| AuditError::Input(format!("distance: {e}")))?;
    let named =
        |attack: &str, table: &str| if synthetic.len() > 1 { format!("{attack}:{table}") } else { attack.into() };
    let score = |name: String, description: &str, scores: Vec<f64>| AttackScores {
        name,
        description: description.into(),
        scores,
        fitting: None,
    };
    let (mut attacks, mut distances) = (Vec::new(), Vec::new());
    for (info, syn) in synthetic {
        let err = |what: &str, e: &dyn std::fmt::Display| AuditError::Input(format!("{what} on {}: {e}", info.source));
        if wants("dcr") || wants("dcr_calibrated") {
            let d = distance_attacks(&dist, &real.scored, syn, &real.reference, cfg.attacks.zero_guard)
                .map_err(|e| err("distance attacks", &e))?;
            if wants("dcr") {
                attacks.push(score(named("dcr", &info.name), DCR, d.dcr));
            }
            if wants("dcr_calibrated") {
                attacks.push(score(named("dcr_calibrated", &info.name), DCR_CALIBRATED, d.dcr_calibrated));
            }
        }
        if wants("domias") {
            let d =
                domias(&real.schema, syn, &real.reference, &real.scored, &cfg.domias).map_err(|e| err("DOMIAS", &e))?;
            attacks.push(score(named("domias", &info.name), DOMIAS, d.scores));
        }
        let closeness = mix_seed(cfg.seed, streams::CLOSENESS);
        let summary = summarize(&dist, &real.members, &real.holdout, syn, closeness, cfg.eval.confidence)
            .map_err(|e| err("distance summary", &e))?;
        let mut v = serde_json::to_value(&summary).map_err(|e| AuditError::Input(e.to_string()))?;
        if let serde_json::Value::Object(o) = &mut v {
            o.insert("synthetic".into(), serde_json::Value::String(info.name.clone()));
        }
        distances.push(v);
    }
    Ok((attacks, distances))
}

const DCR: &str = "Minus the record's distance to its closest synthetic row (DCR).";
const DCR_CALIBRATED: &str = "ln(DCR to the reference sample + δ) − ln(DCR to the synthetic rows + δ): closeness to \
                              the synthetic data beyond what the record's neighbourhood explains.";
const DOMIAS: &str =
    "DOMIAS: ln p_synthetic(x) − ln p_reference(x), kernel density estimates (van Breugel et al. 2023).";

/// The shadow-generator attack on the most isolated scored records, per synthetic table.
fn shadow_section(
    cfg: &SynthConfig,
    real: &Real,
    synthetic: &[(SynthTable, MixedTable)],
    g: &dyn Generator,
) -> Result<serde_json::Value, AuditError> {
    let picked = most_isolated(&real.schema, &real.scored, cfg.shadow.isolation_k, cfg.shadow.n_targets);
    let targets = real.scored.select(&picked);
    let target_member: Vec<bool> = picked.iter().map(|&r| real.member[r]).collect();
    let mut per_table = Vec::new();
    for (info, syn) in synthetic {
        let seed = mix_seed(cfg.seed, streams::SHADOW);
        let r = shadow_attack(&real.schema, &targets, &real.reference, syn, g, &cfg.shadow, seed)
            .map_err(|e| AuditError::Input(format!("shadow attack on {}: {e}", info.source)))?;
        let scores: Vec<f64> = r.targets.iter().map(|t| t.score).collect();
        let evaluation =
            match mia_core::evaluate::evaluate_attack(&scores, &target_member, &cfg.eval.with_seed(cfg.seed)) {
                Ok(e) => json(&e),
                Err(e) => serde_json::Value::String(format!("not evaluated: {e}")),
            };
        let mut v = json(&r);
        if let serde_json::Value::Object(o) = &mut v {
            o.insert("synthetic".into(), info.name.clone().into());
            o.insert("member".into(), json(&target_member));
            o.insert("evaluation".into(), evaluation);
        }
        per_table.push(v);
    }
    Ok(serde_json::json!({ "settings": json(&cfg.shadow), "results": per_table }))
}

/// The report: every attack evaluated side by side, with the `synth` section.
fn assemble_synth(
    cfg: &SynthConfig,
    real: Real,
    (rules, baseline): (Vec<mia_report::gate::GateExpr>, Option<crate::baseline::BaselineInput>),
    mut notes: Vec<String>,
    attacks: Vec<AttackScores>,
    synth: SynthInfo,
) -> Result<AuditOutput, AuditError> {
    let t = &real.tables;
    let mut inputs = t.real.inputs.clone();
    let mut rows_read = t.real.rows_read;
    let mut skipped = t.real.skipped.clone();
    for f in t.holdout_file.iter().chain(&t.released) {
        inputs.extend(f.inputs.iter().cloned());
        rows_read += f.rows_read;
        skipped.extend(f.skipped.iter().cloned());
    }
    notes.extend(t.real.notes.iter().cloned());
    let assembly = Assembly {
        command: "synth",
        eval: cfg.eval.with_seed(cfg.seed),
        folds: 0,
        prob_tolerance: 0.0,
        slice_attacks: cfg.report.slices.clone(),
        rules,
        top_records: cfg.report.top,
        inputs,
        rows_read,
        skipped,
        notes,
        extra_caveats: vec![
            "Distance-based checks (DCR, closeness share) are a fast first look: data sets that pass them can still \
             be attacked successfully; read them with the DOMIAS and shadow-generator results."
                .into(),
        ],
        models: None,
        outputs_kind: "synthetic",
        n_classes: None,
        claim: None,
        one_run: false,
        baseline,
        blind: Some(crate::blind::blind_features(
            crate::blind::mixed_features(&real.scored, &real.schema).view(),
            &real.member,
            BLIND_FOLDS,
            cfg.seed,
        )?),
        llm: None,
    };
    let ids = unique_ids(&t.real, t.holdout_file.as_ref(), &real.scored_idx, t.real.len());
    let mut out = assemble(assembly, attacks, None, ids, real.member, Some(real.labels))?;
    out.report.synth = Some(synth);
    Ok(out)
}

/// A config section as JSON for the report.
fn json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// Splits the real records (`n_data` from the data file, then the holdout file's) into
/// members, scored holdout and reference.
fn split_real(
    cfg: &SynthConfig,
    real: &Table,
    n_data: usize,
    n_all: usize,
    notes: &mut Vec<String>,
) -> Result<RealSplit, AuditError> {
    let seed = cfg.seed;
    let used: Vec<usize> = match cfg.split.max_rows {
        Some(m) if m < n_all => {
            notes.push(format!("split.max_rows: a seeded subsample of {m} of the {n_all} real records was audited"));
            rows_where(random_subset(n_all, m, seed, streams::MAX_ROWS))
        }
        _ => (0..n_all).collect(),
    };
    let (members, non): (Vec<usize>, Vec<usize>) = if cfg.generated() {
        let n_members = (used.len() as f64 * cfg.split.member_fraction).round() as usize;
        let flags = random_subset(used.len(), n_members, seed, streams::MEMBERS);
        let m = used.iter().zip(&flags).filter(|(_, f)| **f).map(|(r, _)| *r).collect();
        let n = used.iter().zip(&flags).filter(|(_, f)| !**f).map(|(r, _)| *r).collect();
        (m, n)
    } else {
        let in_training = |r: usize| r < n_data && real.member.as_ref().is_none_or(|m| m[r]);
        (
            used.iter().copied().filter(|&r| in_training(r)).collect(),
            used.iter().copied().filter(|&r| !in_training(r)).collect(),
        )
    };
    let n_ref = (non.len() as f64 * cfg.split.reference_fraction).round() as usize;
    let ref_flags = random_subset(non.len(), n_ref, seed, streams::REFERENCE);
    let reference: Vec<usize> = non.iter().zip(&ref_flags).filter(|(_, f)| **f).map(|(r, _)| *r).collect();
    let holdout: Vec<usize> = non.iter().zip(&ref_flags).filter(|(_, f)| !**f).map(|(r, _)| *r).collect();
    if members.is_empty() || holdout.is_empty() || reference.is_empty() {
        return Err(AuditError::Input(format!(
            "{}: the real records give {} members, {} scored non-members and {} reference records; each needs at \
             least one (check [data] member, [release] holdout and [split])",
            real.file,
            members.len(),
            holdout.len(),
            reference.len()
        )));
    }
    Ok(RealSplit { members, holdout, reference })
}

/// Record ids of the scored records; when the data and holdout files share an id, both are
/// prefixed by their role so every id stays unique.
fn unique_ids(real: &Table, holdout: Option<&Table>, scored: &[usize], n_data: usize) -> Vec<String> {
    let raw = |r: usize| -> &str {
        if r < n_data {
            &real.ids[r]
        } else {
            &holdout.expect("rows past the data file are holdout rows").ids[r - n_data]
        }
    };
    let clash = holdout.is_some_and(|h| {
        let set: std::collections::HashSet<&str> = real.ids.iter().map(String::as_str).collect();
        h.ids.iter().any(|i| set.contains(i.as_str()))
    });
    scored
        .iter()
        .map(|&r| match (clash, r < n_data) {
            (false, _) => raw(r).to_string(),
            (true, true) => format!("data:{}", raw(r)),
            (true, false) => format!("holdout:{}", raw(r)),
        })
        .collect()
}

/// The configured generator, if any.
fn build_generator(
    cfg: &SynthConfig,
    schema: &MixedSchema,
    base_dir: &Path,
    keep_work: bool,
    ctl: &Control<'_>,
) -> Result<Option<Box<dyn Generator>>, AuditError> {
    Ok(match &cfg.generator {
        None => None,
        Some(GeneratorConfig::BuiltIn(spec)) => {
            Some(spec.generator().map_err(|e| AuditError::Input(format!("generator: {e}")))?)
        }
        Some(GeneratorConfig::Command(c)) => Some(Box::new(CommandGenerator {
            argv: c.command.clone(),
            timeout: Duration::from_secs_f64(c.timeout_s),
            work: ctl.work_dir(keep_work)?,
            cwd: base_dir.to_path_buf(),
            data: cfg.data.clone(),
            schema: schema.clone(),
        })),
    })
}

/// The user's own generator, run as a command on CSV files.
struct CommandGenerator {
    argv: Vec<String>,
    timeout: Duration,
    /// Each run's files go in a folder of it, removed when the run ends.
    work: WorkDir,
    /// The config's folder: relative paths in the command resolve against it.
    cwd: PathBuf,
    data: TableSchema,
    schema: MixedSchema,
}

impl CommandGenerator {
    /// Writes `t` as CSV: numeric columns, then categorical ones, the label last, with the
    /// real values (a missing category as the first missing-value token).
    fn write_rows(&self, t: &MixedTable, path: &Path) -> std::io::Result<()> {
        let s = &self.schema;
        let mut w = csv::Writer::from_path(path)?;
        w.write_record(s.numeric.iter().chain(&s.categorical))?;
        let missing = self.data.missing.first().cloned().unwrap_or_default();
        let mut rec: Vec<String> = Vec::new();
        for i in 0..t.len() {
            rec.clear();
            rec.extend(t.numeric.row(i).iter().map(|v| if v.is_nan() { missing.clone() } else { format!("{v}") }));
            rec.extend(
                t.categorical
                    .row(i)
                    .iter()
                    .enumerate()
                    .map(|(j, &c)| if c == MISSING { missing.clone() } else { s.levels[j][c as usize].clone() }),
            );
            w.write_record(&rec)?;
        }
        w.flush()
    }

    fn readback(&self, path: &Path) -> Result<MixedTable, String> {
        let s = &self.schema;
        let label = &self.data.label;
        let mut schema = TableSchema::new(path, label.clone());
        schema.format = Some(DataFormat::Csv);
        schema.numeric = ColumnSet::List(s.numeric.clone());
        schema.categorical = ColumnSet::List(s.categorical.iter().filter(|c| *c != label).cloned().collect());
        schema.missing = self.data.missing.clone();
        schema.trim = self.data.trim;
        schema.classes = Some(s.levels[s.categorical.len() - 1].clone());
        let opts = TableOptions { allow_one_class: true, ..TableOptions::default() };
        let table = load_table(&schema, Path::new("."), &opts).map_err(|e| e.to_string())?;
        mix_into(s, &table, label).map_err(|e| e.to_string())
    }
}

impl Generator for CommandGenerator {
    fn name(&self) -> &str {
        "command"
    }

    fn generate(
        &self,
        _schema: &MixedSchema,
        train: &MixedTable,
        n_rows: usize,
        seed: u64,
    ) -> Result<MixedTable, GeneratorError> {
        let fail = |message: String| GeneratorError::Setting { name: "command", message };
        let job = self.work.job(&format!("generator-{seed:016x}")).map_err(|e| fail(e.to_string()))?;
        let dir = job.path();
        let train_path = dir.join("train.csv");
        let out_path = dir.join("synthetic.csv");
        let rows_path = PathBuf::from(n_rows.to_string());
        self.write_rows(train, &train_path).map_err(|e| fail(format!("{}: {e}", train_path.display())))?;
        let argv = substitute(&self.argv, &[("train", &train_path), ("out", &out_path), ("rows", &rows_path)]);
        let spec = RunSpec {
            argv: &argv,
            cwd: Some(&self.cwd),
            job: &job,
            timeout: self.timeout,
            outputs: std::slice::from_ref(&out_path),
        };
        run_command(&spec).map_err(|e| fail(e.to_string()))?;
        let mut t = self.readback(&out_path).map_err(|m| fail(format!("{m}{}", job.file_note())))?;
        t.ids = (1..=t.len()).map(|i| format!("syn-{i}")).collect();
        Ok(t)
    }
}
