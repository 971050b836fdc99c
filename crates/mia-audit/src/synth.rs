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

use crate::assemble::{Assembly, AuditOutput, assemble};
use crate::config::{EvalSection, ReportSection, parse_toml, read_config};
use crate::{AuditError, Progress};
use mia_core::attacks::AttackScores;
use mia_core::bootstrap::mix_seed;
use mia_data::external::{RunSpec, WorkDir, check_command, run_command, substitute};
use mia_data::splits::{random_subset, rows_where};
use mia_data::tabular::{ColumnSet, DataFormat, Table, TableOptions, TableSchema, load_table};
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
    pub eval: EvalSection,
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
        crate::score::check_eval(&self.eval.eval_config(self.seed), 2, |n| match n {
            "base_rate" => format!("{name}: eval.base_rates"),
            _ => format!("{name}: eval.{n}"),
        })?;
        Ok(())
    }
}

/// How a synthetic audit is carried out (none of it changes the report).
pub struct SynthOptions<'a> {
    /// Extra gate rules (from `--fail-if`).
    pub extra_gate: Vec<String>,
    pub progress: &'a (dyn Fn(Progress) + Sync),
    pub table: TableOptions,
    /// Keep a generator command's work files (its training rows, output and logs) instead
    /// of deleting them when it ends; for debugging the command.
    pub keep_work: bool,
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

/// Runs a synthetic-data audit.
pub fn run_synth_audit(cfg: &SynthConfig, base_dir: &Path, opts: &SynthOptions<'_>) -> Result<AuditOutput, AuditError> {
    crate::unless_interrupted(synth_audit(cfg, base_dir, opts))
}

fn synth_audit(cfg: &SynthConfig, base_dir: &Path, opts: &SynthOptions<'_>) -> Result<AuditOutput, AuditError> {
    let seed = cfg.seed;
    let mut rules_text = cfg.report.fail_if.clone();
    rules_text.extend(opts.extra_gate.iter().cloned());
    let rules = crate::score::parse_gate(&rules_text)?;
    let mut notes = Vec::new();

    // Read every table.
    let real = load_table(&cfg.data, base_dir, &opts.table)?;
    let holdout_file = match &cfg.release.holdout {
        Some(p) => Some(load_table(&schema_for(&cfg.data, p), base_dir, &opts.table)?),
        None => None,
    };
    let one_class = TableOptions { allow_one_class: true, ..opts.table };
    let mut released = Vec::new();
    for p in &cfg.release.synthetic {
        released.push(load_table(&schema_for(&cfg.data, p), base_dir, &one_class)?);
    }
    let mut tables: Vec<&Table> = vec![&real];
    tables.extend(holdout_file.iter());
    tables.extend(released.iter());
    let (schema, mut mixed) = mix(&tables, &cfg.data.label).map_err(|e| AuditError::Input(format!("{e}")))?;
    let real_m = mixed.remove(0);
    let (all_real, n_data) = match &holdout_file {
        Some(_) => (real_m.concat(&mixed.remove(0)), real.len()),
        None => (real_m, real.len()),
    };
    let released_m = mixed;

    // Split the real records.
    let split = split_real(cfg, &real, n_data, all_real.len(), &mut notes)?;
    let members_t = all_real.select(&split.members);
    let holdout_t = all_real.select(&split.holdout);
    let reference_t = all_real.select(&split.reference);
    let mut scored_idx: Vec<usize> = split.members.iter().chain(&split.holdout).copied().collect();
    scored_idx.sort_unstable();
    let is_member = {
        let mut m = vec![false; all_real.len()];
        split.members.iter().for_each(|&r| m[r] = true);
        m
    };
    let scored_t = all_real.select(&scored_idx);
    let member: Vec<bool> = scored_idx.iter().map(|&r| is_member[r]).collect();
    let label_col = schema.categorical.len() - 1;
    let labels: Vec<usize> = scored_idx.iter().map(|&r| all_real.categorical[[r, label_col]] as usize).collect();
    check_counts(cfg, scored_t.len(), all_real.len())?;

    // The synthetic tables: released files, or the configured generator's output.
    let generator = build_generator(cfg, &schema, base_dir, opts)?;
    let mut synthetic: Vec<(SynthTable, MixedTable)> = Vec::new();
    if cfg.generated() {
        let g = generator.as_ref().expect("validated: generated mode has a generator");
        (opts.progress)(Progress::Stage("generating synthetic data"));
        let n_syn = cfg.split.synthetic_rows.unwrap_or(members_t.len());
        let t = g
            .generate(&schema, &members_t, n_syn, mix_seed(seed, streams::GENERATE))
            .map_err(|e| AuditError::Input(format!("generator {}: {e}", g.name())))?;
        synthetic.push((
            SynthTable { name: "synthetic".into(), source: format!("generated by {}", g.name()), rows: t.len() },
            t,
        ));
    } else {
        for ((t, m), p) in released.iter().zip(released_m).zip(&cfg.release.synthetic) {
            let name = p.file_stem().map_or_else(|| t.file.clone(), |s| s.to_string_lossy().into_owned());
            let name = name.strip_suffix(".csv").unwrap_or(&name).to_string();
            synthetic.push((SynthTable { name, source: t.file.clone(), rows: m.len() }, m));
        }
    }

    // Attacks.
    (opts.progress)(Progress::Stage("attacks"));
    let run = cfg.attacks();
    let dist = Distance::fit(&cfg.distance, &reference_t).map_err(|e| AuditError::Input(format!("distance: {e}")))?;
    let several = synthetic.len() > 1;
    let named = |attack: &str, table: &str| if several { format!("{attack}:{table}") } else { attack.to_string() };
    let mut attacks: Vec<AttackScores> = Vec::new();
    let mut distances = Vec::new();
    let confidence = cfg.eval.confidence;
    for (info, syn) in &synthetic {
        let err = |what: &str, e: &dyn std::fmt::Display| AuditError::Input(format!("{what} on {}: {e}", info.source));
        if run.iter().any(|a| a == "dcr" || a == "dcr_calibrated") {
            let d = distance_attacks(&dist, &scored_t, syn, &reference_t, cfg.attacks.zero_guard)
                .map_err(|e| err("distance attacks", &e))?;
            if run.iter().any(|a| a == "dcr") {
                attacks.push(AttackScores {
                    name: named("dcr", &info.name),
                    description: "Minus the record's distance to its closest synthetic row (DCR).".into(),
                    scores: d.dcr,
                    fitting: None,
                });
            }
            if run.iter().any(|a| a == "dcr_calibrated") {
                attacks.push(AttackScores {
                    name: named("dcr_calibrated", &info.name),
                    description: "ln(DCR to the reference sample + δ) − ln(DCR to the synthetic rows + δ): closeness \
                                  to the synthetic data beyond what the record's neighbourhood explains."
                        .into(),
                    scores: d.dcr_calibrated,
                    fitting: None,
                });
            }
        }
        if run.iter().any(|a| a == "domias") {
            let d = domias(&schema, syn, &reference_t, &scored_t, &cfg.domias).map_err(|e| err("DOMIAS", &e))?;
            attacks.push(AttackScores {
                name: named("domias", &info.name),
                description: "DOMIAS: ln p_synthetic(x) − ln p_reference(x), kernel density estimates (van Breugel \
                              et al. 2023)."
                    .into(),
                scores: d.scores,
                fitting: None,
            });
        }
        let summary = summarize(&dist, &members_t, &holdout_t, syn, mix_seed(seed, streams::CLOSENESS), confidence)
            .map_err(|e| err("distance summary", &e))?;
        let mut v = serde_json::to_value(&summary).map_err(|e| AuditError::Input(e.to_string()))?;
        if let serde_json::Value::Object(o) = &mut v {
            o.insert("synthetic".into(), serde_json::Value::String(info.name.clone()));
        }
        distances.push(v);
    }

    // The shadow-generator attack on the most isolated scored records.
    let shadow = if run.iter().any(|a| a == "shadow") {
        (opts.progress)(Progress::Stage("shadow generators"));
        let g = generator.as_ref().expect("validated: shadow needs a generator");
        let picked = most_isolated(&schema, &scored_t, cfg.shadow.isolation_k, cfg.shadow.n_targets);
        let targets = scored_t.select(&picked);
        let target_member: Vec<bool> = picked.iter().map(|&r| member[r]).collect();
        let mut per_table = Vec::new();
        for (info, syn) in &synthetic {
            let r = shadow_attack(
                &schema,
                &targets,
                &reference_t,
                syn,
                g.as_ref(),
                &cfg.shadow,
                mix_seed(seed, streams::SHADOW),
            )
            .map_err(|e| AuditError::Input(format!("shadow attack on {}: {e}", info.source)))?;
            let scores: Vec<f64> = r.targets.iter().map(|t| t.score).collect();
            let evaluation =
                match mia_core::evaluate::evaluate_attack(&scores, &target_member, &cfg.eval.eval_config(seed)) {
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
        Some(serde_json::json!({ "settings": json(&cfg.shadow), "results": per_table }))
    } else {
        None
    };

    (opts.progress)(Progress::Stage("evaluation"));
    let mut inputs = real.inputs.clone();
    let mut rows_read = real.rows_read;
    let mut skipped = real.skipped.clone();
    for t in holdout_file.iter().chain(&released) {
        inputs.extend(t.inputs.iter().cloned());
        rows_read += t.rows_read;
        skipped.extend(t.skipped.iter().cloned());
    }
    notes.extend(real.notes.iter().cloned());
    let assembly = Assembly {
        command: "synth",
        eval: cfg.eval.eval_config(seed),
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
    };
    let ids = unique_ids(&real, holdout_file.as_ref(), &scored_idx, n_data);
    let mut out = assemble(assembly, attacks, None, ids, member, Some(labels))?;
    out.report.synth = Some(SynthInfo {
        generator: cfg.generator.as_ref().map(json),
        members: split.members.len(),
        holdout: split.holdout.len(),
        reference: split.reference.len(),
        synthetic: synthetic.iter().map(|(i, _)| i.clone()).collect(),
        distance: json(&cfg.distance),
        distances,
        domias: run.iter().any(|a| a == "domias").then(|| json(&cfg.domias)),
        shadow,
    });
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
    opts: &SynthOptions<'_>,
) -> Result<Option<Box<dyn Generator>>, AuditError> {
    Ok(match &cfg.generator {
        None => None,
        Some(GeneratorConfig::BuiltIn(spec)) => {
            Some(spec.generator().map_err(|e| AuditError::Input(format!("generator: {e}")))?)
        }
        Some(GeneratorConfig::Command(c)) => Some(Box::new(CommandGenerator {
            argv: c.command.clone(),
            timeout: Duration::from_secs_f64(c.timeout_s),
            work: crate::work_dir(opts.keep_work, opts.progress)?,
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
