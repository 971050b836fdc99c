//! The language-model audit behind `mia llm`: texts with the target model's per-token
//! log-probabilities and known membership in ([`mia_data::texts`]), report out.
//!
//! Every score-only attack of [`mia_core::llm`] whose inputs the file gives (`loss` always;
//! `zlib` with `text`; `lowercase` with `lowercase_logprobs`; `min_k`; `min_k_plus_plus` with
//! `mean` and `std`; `reference` with `ref_logprobs`), the learned attack over their scores (a logistic regression, cross-fitted
//! as `mia score`'s), and, with the texts, the blind check ([`mia_core::blind`]): a classifier
//! that reads only the texts, never the model, whose AUC says how much of any attack's figure
//! the split itself explains.
//!
//! The zlib attack's compressed length is DEFLATE at level 6 (zlib's default, as CPython's
//! `zlib.compress`) of the text's UTF-8 bytes, by zlib itself (flate2's `zlib` backend), so
//! the lengths are those of the Python tools the attack comes from; the report names zlib's
//! version.

use crate::assemble::{Assembly, AuditOutput, assemble};
use crate::blind::BlindInput;
use crate::score::{ScoreAuditOptions, SettingNames, check_eval, check_folds, parse_gate};
use crate::{AuditError, Control};
use mia_core::attacks::{AttackConfig, AttackScores, Fitting, cross_fitted_logistic, stratified_folds};
use mia_core::evaluate::EvalConfig;
use mia_core::llm::{self, TokenLogprobs};
use mia_data::LoadOptions;
use mia_data::texts::{TextTable, load_texts};
use mia_report::report::LlmInfo;
use rayon::prelude::*;
use std::path::PathBuf;

/// Every `mia llm` attack, in report order.
pub const LLM_ATTACKS: &[&str] = &["loss", "zlib", "lowercase", "min_k", "min_k_plus_plus", "reference", "learned"];

/// Everything a language-model audit can be told.
#[derive(Debug, Clone)]
pub struct LlmAuditOptions {
    pub eval: EvalConfig,
    /// Folds and seed of the cross-fitted learned attack and blind check.
    pub attack: AttackConfig,
    /// Attacks to run (`None`: all that the file supports).
    pub attacks: Option<Vec<String>>,
    /// The share k of lowest-probability tokens Min-K% and Min-K%++ average, in (0, 1].
    pub min_k: f64,
    /// Run the blind check when the texts are given.
    pub blind: bool,
    pub gate: Vec<String>,
    /// Texts listed in the HTML's "most exposed" table.
    pub top_records: usize,
    /// A claimed (ε, δ) guarantee of the model (the report's `privacy` section).
    pub claimed: Option<(f64, f64)>,
    /// The member field is each text's fair coin of a one-run audit.
    pub one_run: bool,
    pub baseline: Option<crate::baseline::BaselineInput>,
    pub names: SettingNames,
}

/// Min-K%'s default share (Shi et al. 2024 report k = 20 % as a good default).
pub const DEFAULT_MIN_K: f64 = 0.2;

impl Default for LlmAuditOptions {
    fn default() -> Self {
        LlmAuditOptions::from_score(ScoreAuditOptions::default(), DEFAULT_MIN_K, true)
    }
}

impl LlmAuditOptions {
    /// The settings a language-model audit shares with a score audit (evaluation, folds,
    /// attacks, gate, claim, one-run, baseline), as [`crate::score::ScoreSettings::options`]
    /// makes them, with Min-K%'s k and whether to run the blind check.
    pub fn from_score(o: ScoreAuditOptions, min_k: f64, blind: bool) -> LlmAuditOptions {
        LlmAuditOptions {
            eval: o.eval,
            attack: o.attack,
            attacks: o.attacks,
            min_k,
            blind,
            gate: o.gate,
            top_records: o.top_records,
            claimed: o.claimed,
            one_run: o.one_run,
            baseline: o.baseline,
            names: o.names,
        }
    }
}

/// A language-model audit of a file of texts (JSON Lines or Parquet, [`mia_data::texts`]).
#[derive(Debug, Clone)]
pub struct LlmAudit {
    path: PathBuf,
    options: LlmAuditOptions,
    skip_invalid_rows: bool,
}

impl LlmAudit {
    pub fn new(path: impl Into<PathBuf>) -> LlmAudit {
        LlmAudit { path: path.into(), options: LlmAuditOptions::default(), skip_invalid_rows: false }
    }

    pub fn options(mut self, options: LlmAuditOptions) -> LlmAudit {
        self.options = options;
        self
    }

    /// Skip texts with invalid fields (counted in the report) instead of stopping.
    pub fn skip_invalid_rows(mut self, skip: bool) -> LlmAudit {
        self.skip_invalid_rows = skip;
        self
    }

    /// Reads the texts and runs the audit; options and gate rules are checked first.
    pub fn run(&self, ctl: &Control<'_>) -> Result<AuditOutput, AuditError> {
        check_options(&self.options)?;
        let load = LoadOptions { skip_invalid_rows: self.skip_invalid_rows, ..LoadOptions::default() };
        let table = load_texts(&self.path, &load)?;
        ctl.check()?;
        ctl.report(crate::Progress::Stage("attacks"));
        ctl.unless_stopped(run_llm_audit(table, &self.options))
    }
}

fn check_options(o: &LlmAuditOptions) -> Result<(), AuditError> {
    check_eval(&o.eval, o.attack.folds, |n| o.names.of(n))?;
    parse_gate(&o.gate)?;
    if !(o.min_k > 0.0 && o.min_k <= 1.0) {
        return Err(AuditError::Input(format!("{} must be in (0, 1], got {}", o.names.of("min_k"), o.min_k)));
    }
    if let Some((e, d)) = o.claimed {
        let key = format!("{}/{}", o.names.of("claimed_epsilon"), o.names.of("claimed_delta"));
        crate::privacy::check_claim(e, d, &key).map_err(AuditError::Input)?;
    }
    if let Some(n) = o.attacks.iter().flatten().find(|n| !LLM_ATTACKS.contains(&n.as_str())) {
        return Err(AuditError::Input(format!("unknown attack \"{n}\"; known attacks: {}", LLM_ATTACKS.join(", "))));
    }
    Ok(())
}

/// Compressed length in bytes of each text's UTF-8 bytes: zlib, level 6.
fn zlib_lengths(texts: &[String]) -> Vec<f64> {
    use flate2::{Compression, write::ZlibEncoder};
    use std::io::Write;
    texts
        .par_iter()
        .map(|t| {
            let mut e = ZlibEncoder::new(Vec::with_capacity(t.len() / 2 + 16), Compression::new(6));
            // Writing into a Vec cannot fail.
            e.write_all(t.as_bytes()).expect("in-memory zlib");
            e.finish().expect("in-memory zlib").len() as f64
        })
        .collect()
}

/// The zlib library behind [`zlib_lengths`], for the report.
fn zlib_name() -> String {
    // SAFETY: zlibVersion returns a pointer to a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(libz_sys::zlibVersion()) };
    format!("zlib {} (level 6, via flate2)", version.to_string_lossy())
}

/// Why an attack cannot run on this file (`None`: it can).
fn missing_field(name: &str, t: &TextTable) -> Option<&'static str> {
    match name {
        "zlib" if t.texts.is_none() => Some("the texts (`text`)"),
        "min_k_plus_plus" if t.mean.is_none() || t.std.is_none() => {
            Some("the vocabulary's mean and standard deviation of log p per token (`mean` and `std`)")
        }
        "reference" if t.ref_logprobs.is_none() => Some("a reference model's log-probabilities (`ref_logprobs`)"),
        "lowercase" if t.lowercase_logprobs.is_none() => {
            Some("the model's log-probabilities of the lowercased texts (`lowercase_logprobs`)")
        }
        _ => None,
    }
}

/// The score-only attacks' scores, in [`LLM_ATTACKS`] order (all that the file supports,
/// requested or not: the learned attack reads them all).
fn score_only(t: &TextTable, min_k: f64) -> Vec<(&'static str, String, Vec<f64>)> {
    let tokens = TokenLogprobs::new(&t.logprobs, &t.offsets).expect("the reader checks the offsets");
    let pct = min_k * 100.0;
    let mut out = vec![(
        "loss",
        "mean token log-probability (minus the mean token loss)".to_string(),
        llm::mean_logprob(&tokens),
    )];
    if let Some(texts) = &t.texts {
        let desc =
            "mean token log-probability over the zlib-compressed length of the text in bytes (Carlini et al. 2021)";
        out.push(("zlib", desc.to_string(), llm::zlib_ratio(&tokens, &zlib_lengths(texts))));
    }
    if let (Some(values), Some(offsets)) = (&t.lowercase_logprobs, &t.lowercase_offsets) {
        let lower = TokenLogprobs::new(values, offsets).expect("the reader checks the offsets");
        let desc = "minus the ratio of the text's mean token loss to the lowercased text's (Carlini et al. 2021)";
        out.push(("lowercase", desc.to_string(), llm::lowercase_ratio(&tokens, &lower)));
    }
    let desc = format!("mean of the lowest {pct} % token log-probabilities (Min-K%, Shi et al. 2024)");
    out.push(("min_k", desc, llm::min_k(&tokens, min_k)));
    if let (Some(mu), Some(sigma)) = (&t.mean, &t.std) {
        let desc = format!(
            "mean of the lowest {pct} % standardised token log-probabilities (log p − μ) / σ (Min-K%++, Zhang et al. 2024)"
        );
        out.push(("min_k_plus_plus", desc, llm::min_k_plus_plus(&tokens, mu, sigma, min_k)));
    }
    if let Some(r) = &t.ref_logprobs {
        let desc = "target's minus the reference model's mean token log-probability (Carlini et al. 2021)";
        out.push(("reference", desc.to_string(), llm::reference_difference(&tokens, r)));
    }
    out
}

/// The learned attack: a logistic regression over the score-only attacks' scores and the
/// text's token count, cross-fitted.
fn learned(
    features: &[(&'static str, String, Vec<f64>)],
    t: &TextTable,
    fold: &[usize],
    cfg: &AttackConfig,
) -> AttackScores {
    let d = features.len() + 1;
    let n = t.len();
    let mut x = Vec::with_capacity(n * d);
    for i in 0..n {
        x.extend(features.iter().map(|f| f.2[i]));
        x.push(((t.offsets[i + 1] - t.offsets[i]) as f64).ln());
    }
    let (scores, notes) = cross_fitted_logistic(&x, d, &t.member, fold, cfg);
    let names: Vec<&str> = features.iter().map(|f| f.0).collect();
    AttackScores {
        name: "learned".into(),
        description: format!(
            "logistic-regression attack model on the {} scores and the log token count",
            names.join(", ")
        ),
        scores,
        fitting: Some(Fitting {
            method: "L2 logistic regression, k-fold cross-fitting".into(),
            folds: cfg.folds,
            seed: cfg.seed,
            notes,
        }),
    }
}

/// The blind check over the texts.
fn blind_texts(texts: &[String], member: &[bool], fold: &[usize], cfg: &AttackConfig) -> BlindInput {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let x = mia_core::blind::text_features(&refs);
    let (scores, unconverged) = mia_core::blind::cross_fitted_blind_logistic(&x, member, fold, cfg.folds);
    let mut notes = Vec::new();
    if unconverged > 0 {
        notes.push(format!("{unconverged} of {} fits stopped at the iteration limit", cfg.folds));
    }
    BlindInput {
        data: "texts",
        classifiers: vec![AttackScores {
            name: "text_logistic".into(),
            description: format!(
                "logistic regression (C = 1) on the text alone: hashed word 1–2-grams, {}",
                mia_core::blind::TEXT_DENSE_FEATURES.join(", ")
            ),
            scores,
            fitting: Some(Fitting {
                method: "L2 logistic regression by L-BFGS, k-fold cross-fitting".into(),
                folds: cfg.folds,
                seed: cfg.seed,
                notes,
            }),
        }],
    }
}

fn llm_info(t: &TextTable, min_k: f64) -> LlmInfo {
    let mut lengths: Vec<usize> = t.offsets.windows(2).map(|w| w[1] - w[0]).collect();
    lengths.sort_unstable();
    let fields = [
        ("text", t.texts.is_some()),
        ("mean", t.mean.is_some()),
        ("std", t.std.is_some()),
        ("ref_logprobs", t.ref_logprobs.is_some()),
        ("lowercase_logprobs", t.lowercase_logprobs.is_some()),
    ];
    LlmInfo {
        tokens: t.logprobs.len(),
        tokens_per_text: [
            lengths.first().copied().unwrap_or(0),
            lengths.get(lengths.len() / 2).copied().unwrap_or(0),
            lengths.last().copied().unwrap_or(0),
        ],
        fields: fields.iter().filter(|f| f.1).map(|f| f.0.to_string()).collect(),
        min_k,
        zlib: t.texts.as_ref().map(|_| zlib_name()),
    }
}

/// Runs every requested attack the texts support, the blind check, and evaluates them.
pub fn run_llm_audit(mut table: TextTable, opts: &LlmAuditOptions) -> Result<AuditOutput, AuditError> {
    check_options(opts)?;
    let rules = parse_gate(&opts.gate)?;
    let n_members = table.member.iter().filter(|&&m| m).count();
    let n_non = table.len() - n_members;
    if n_members == 0 || n_non == 0 {
        return Err(AuditError::Input(format!(
            "need both members and non-members to audit, found {n_members} members and {n_non} non-members"
        )));
    }
    check_folds(opts.attack.folds, table.len(), &opts.names.of("folds"))?;
    let wanted = |n: &str| opts.attacks.as_ref().is_none_or(|a| a.iter().any(|x| x == n));
    let input = table.inputs.first().map_or("the texts".to_string(), |f| f.path.clone());
    if let Some((n, why)) =
        opts.attacks.iter().flatten().find_map(|n| missing_field(n, &table).map(|why| (n.clone(), why)))
    {
        return Err(AuditError::Input(format!("attack \"{n}\" needs {why}, which {input} does not give")));
    }
    let mut notes = table.notes.clone();
    if opts.attacks.is_none() {
        let skipped: Vec<String> = LLM_ATTACKS
            .iter()
            .filter_map(|&n| missing_field(n, &table).map(|why| format!("{n} (needs {why})")))
            .collect();
        if !skipped.is_empty() {
            notes.push(format!("Attacks not run for lack of inputs: {}.", skipped.join("; ")));
        }
    }
    let cfg = AttackConfig { seed: opts.eval.seed, ..opts.attack.clone() };
    let fold = stratified_folds(&table.member, cfg.folds, cfg.seed);
    let features = score_only(&table, opts.min_k);
    let mut attacks: Vec<AttackScores> = features
        .iter()
        .filter(|f| wanted(f.0))
        .map(|(name, description, scores)| AttackScores {
            name: name.to_string(),
            description: description.clone(),
            scores: scores.clone(),
            fitting: None,
        })
        .collect();
    if wanted("learned") {
        attacks.push(learned(&features, &table, &fold, &cfg));
    }
    let blind = match (&table.texts, opts.blind) {
        (Some(texts), true) => Some(blind_texts(texts, &table.member, &fold, &cfg)),
        (None, true) => {
            notes.push("Blind check not run: the file gives no `text` for the classifier to read.".into());
            None
        }
        (_, false) => None,
    };
    let assembly = Assembly {
        command: "llm",
        eval: opts.eval.clone(),
        folds: cfg.folds,
        prob_tolerance: 0.0,
        slice_attacks: None,
        rules,
        top_records: opts.top_records,
        inputs: table.inputs.clone(),
        rows_read: table.rows_read,
        skipped: table.skipped.clone(),
        notes,
        extra_caveats: vec![
            "The log-probabilities are taken as the audited model's, token for token; a tokenizer, prompt \
             template or truncation other than the one used in training changes every score."
                .into(),
        ],
        models: None,
        outputs_kind: "token_logprobs",
        n_classes: None,
        claim: opts.claimed.map(|(e, d)| crate::privacy::Claim::stated(e, d)),
        one_run: opts.one_run,
        baseline: opts.baseline.clone(),
        blind,
        llm: Some(llm_info(&table, opts.min_k)),
    };
    let (ids, member) = (std::mem::take(&mut table.ids), std::mem::take(&mut table.member));
    let mut out = assemble(assembly, attacks, None, ids, member, None)?;
    out.token_exposure = token_exposure(&table, &out, opts.min_k);
    Ok(out)
}

/// Texts shown with their tokens in the HTML: at most this many of the most exposed.
const TOKEN_TEXTS: usize = 10;

/// The most exposed texts by the attack with the highest AUC (the ranking of the page's
/// most-exposed table), with their tokens (`t`'s ids and membership have moved to `out`).
fn token_exposure(t: &TextTable, out: &AuditOutput, k: f64) -> Vec<mia_report::html::TokenExposure> {
    let name = &out.report.max.auc.attack;
    let Some((_, scores)) = out.scores.iter().find(|(n, _)| n == name) else { return Vec::new() };
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order.truncate(out.top_records.min(TOKEN_TEXTS));
    order
        .into_iter()
        .map(|i| {
            let range = t.offsets[i]..t.offsets[i + 1];
            let logprobs = t.logprobs[range.clone()].to_vec();
            let mut lowest: Vec<usize> = (0..logprobs.len()).collect();
            lowest.sort_by(|&a, &b| logprobs[a].total_cmp(&logprobs[b]).then(a.cmp(&b)));
            lowest.truncate(llm::lowest_count(k, logprobs.len()));
            let reference_gap =
                t.ref_logprobs.as_ref().map(|r| logprobs.iter().zip(&r[range.clone()]).map(|(a, b)| a - b).collect());
            mia_report::html::TokenExposure {
                id: out.ids[i].clone(),
                member: out.member[i],
                score: scores[i],
                logprobs,
                lowest,
                reference_gap,
            }
        })
        .collect()
}
