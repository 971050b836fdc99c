//! Options from the Python layer, as JSON (`json.dumps` of plain values): one struct per
//! call with the command's names and defaults, unknown keys refused.

use std::path::PathBuf;

use mia_audit::score::{ReferenceOverrides, ScoreAuditOptions, ScoreSettings};
use mia_audit::{BaselineInput, RunSettings};
use mia_core::reference::ReferenceConfig;
use mia_data::reference::{RefSignal, ReferenceInput, ReferenceSources};
use mia_data::{ScoreColumns, ScoreSource};
use pyo3::PyResult;
use serde::Deserialize;

use crate::{InputError, to_py};

fn parse<'a, T: Deserialize<'a>>(json: &'a str, what: &str) -> PyResult<T> {
    parse_text(json, what).map_err(InputError::new_err)
}

fn parse_text<'a, T: Deserialize<'a>>(json: &'a str, what: &str) -> Result<T, String> {
    serde_json::from_str(json).map_err(|e| format!("{what}: {}", json_message(&e)))
}

/// A JSON error's message without serde_json's "at line 1 column 50": the JSON is built by
/// the Python layer, so a position in it means nothing to the caller.
pub fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&position) {
        Some(message) if e.line() > 0 => message.to_string(),
        _ => text,
    }
}

/// The options of `mia_audit.score`: [`ScoreSettings`] (named and defaulted as `mia
/// score`'s flags), the reference attacks' settings ([`ReferenceOverrides`]), and what a
/// front end reads itself (`baseline`, `attack_config`, `skip_invalid_rows`).
pub struct ScoreOptions {
    settings: ScoreSettings,
    overrides: ReferenceOverrides,
    baseline: Option<PathBuf>,
    attack_config: Option<PathBuf>,
    pub skip_invalid_rows: bool,
}

/// The keys of [`ReferenceOverrides`].
const OVERRIDES: [&str; 6] = ["lira_center", "lira_variance", "lira_std", "lira_offline", "rmia_gamma", "rmia_a"];

impl ScoreOptions {
    pub fn parse(json: &str) -> PyResult<ScoreOptions> {
        let mut all: serde_json::Map<String, serde_json::Value> = parse(json, "options")?;
        let mut take = |keys: &[&str]| -> serde_json::Map<String, serde_json::Value> {
            keys.iter().filter_map(|k| all.remove(*k).map(|v| (k.to_string(), v))).collect()
        };
        let overrides = take(&OVERRIDES);
        let own = take(&["baseline", "attack_config", "skip_invalid_rows"]);
        let value = |m: serde_json::Map<String, serde_json::Value>| serde_json::Value::Object(m).to_string();
        let path = |k: &str| own.get(k).and_then(|v| v.as_str()).map(PathBuf::from);
        let settings = parse_text(&value(all), "options").map_err(|msg| {
            // serde lists the fields of ScoreSettings only: name the others too.
            if msg.contains("unknown field") {
                let others: Vec<String> = OVERRIDES
                    .iter()
                    .chain(&["baseline", "attack_config", "skip_invalid_rows"])
                    .map(|k| format!("`{k}`"))
                    .collect();
                InputError::new_err(format!("{msg}, {}", others.join(", ")))
            } else {
                InputError::new_err(msg)
            }
        })?;
        Ok(ScoreOptions {
            settings,
            overrides: parse(&value(overrides), "options")?,
            baseline: path("baseline"),
            attack_config: path("attack_config"),
            skip_invalid_rows: own.get("skip_invalid_rows").and_then(|v| v.as_bool()).unwrap_or(false),
        })
    }

    /// The library's options, as `mia score` builds them from the same flags.
    pub fn audit_options(&self, reference: Option<ReferenceInput>) -> PyResult<ScoreAuditOptions> {
        if reference.is_none() {
            let flag = self.overrides.given().map(|f| f.trim_start_matches("--").replace('-', "_"));
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
        let baseline = self.baseline.as_deref().map(BaselineInput::load).transpose().map_err(to_py)?;
        let mut options = self.settings.options(reference, self.overrides.apply(config), baseline).map_err(to_py)?;
        options.names = mia_audit::score::SettingNames::Keywords;
        Ok(options)
    }
}

/// The options of `mia_audit.llm`: `mia score`'s evaluation settings ([`ScoreOptions`]) and
/// Min-K%'s `min_k` and `blind`; the score-table and reference settings are refused.
pub struct LlmOptions;

impl LlmOptions {
    pub fn parse(json: &str) -> PyResult<(ScoreOptions, f64, bool)> {
        let mut all: serde_json::Map<String, serde_json::Value> = parse(json, "options")?;
        let not_here = ["slices", "prob_tolerance", "attack_config", "quantile_alpha"];
        if let Some(k) = all.keys().find(|k| not_here.contains(&k.as_str()) || OVERRIDES.contains(&k.as_str())) {
            return Err(InputError::new_err(format!("options: `{k}` does not apply to a language-model audit")));
        }
        let min_k = match all.remove("min_k") {
            None => mia_audit::llm::DEFAULT_MIN_K,
            Some(v) => v.as_f64().ok_or_else(|| InputError::new_err(format!("min_k: expected a number, got {v}")))?,
        };
        let blind = match all.remove("blind") {
            None => true,
            Some(v) => {
                v.as_bool().ok_or_else(|| InputError::new_err(format!("blind: expected True or False, got {v}")))?
            }
        };
        Ok((ScoreOptions::parse(&serde_json::Value::Object(all).to_string())?, min_k, blind))
    }
}

/// The files of the path form of `mia_audit.score`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sources {
    file: Option<PathBuf>,
    #[serde(default)]
    columns: ScoreColumns,
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
    features: Option<PathBuf>,
}

/// The score input and reference files of the path form.
pub fn score_sources(json: &str) -> PyResult<(ScoreSource, Option<ReferenceInput>, Option<PathBuf>)> {
    let s: Sources = parse(json, "inputs")?;
    let source = match (s.file, s.member) {
        (Some(path), _) => ScoreSource::Table { path, columns: s.columns },
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
    Ok((source, reference, s.features))
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
