//! Turning attack scores into a finished audit: evaluation of every attack side by side,
//! class slices, the overfitting reading, caveats, the gate verdict ([`assemble`]); and
//! writing the report files ([`AuditOutput::write_report`]). Shared by every command (`score`,
//! `audit`), so all reports have one shape.

use crate::AuditError;
use mia_core::attacks::AttackScores;
use mia_core::evaluate::{AttackEvaluation, EvalConfig, Slice, class_slices, evaluate_attacks, overfitting};
use mia_core::signals::Signals;
use mia_report::gate::{self, GateExpr};
use mia_report::report::{
    AttackReport, GateResult, InputFile, MaxSummary, ModelsInfo, OutputsInfo, Report, Rows, Settings, SkipCount, Tool,
};
use mia_report::{RecordScores, SCHEMA_VERSION};
use std::path::Path;

/// A finished audit: the report and the per-record data behind it.
#[derive(Debug, Clone)]
pub struct AuditOutput {
    pub report: Report,
    pub ids: Vec<String>,
    pub member: Vec<bool>,
    pub labels: Option<Vec<usize>>,
    pub scores: Vec<(String, Vec<f64>)>,
    pub top_records: usize,
    /// Further files for the report folder (name, bytes), e.g. a model audit's `plan.npz`.
    pub extra_files: Vec<(String, Vec<u8>)>,
    /// The most exposed texts' per-token log-probabilities (`mia llm`), for `report.html`.
    pub token_exposure: Vec<mia_report::html::TokenExposure>,
}

impl AuditOutput {
    pub fn records(&self) -> RecordScores<'_> {
        RecordScores { ids: &self.ids, member: &self.member, labels: self.labels.as_deref(), attacks: &self.scores }
    }
    /// The self-contained `report.html`.
    pub fn html(&self) -> String {
        mia_report::html::render_html_with_tokens(&self.report, &self.records(), self.top_records, &self.token_exposure)
    }
    /// Whether the gate failed (exit code 1).
    pub fn gate_failed(&self) -> bool {
        self.report.gate.verdict == "fail"
    }
}

/// What a command knows besides the attack scores, to assemble its report.
pub(crate) struct Assembly {
    pub command: &'static str,
    pub eval: EvalConfig,
    pub folds: usize,
    pub prob_tolerance: f64,
    /// Attacks to slice by class (`None`: every attack without a fitted step).
    pub slice_attacks: Option<Vec<String>>,
    pub rules: Vec<GateExpr>,
    pub top_records: usize,
    pub inputs: Vec<InputFile>,
    pub rows_read: usize,
    pub skipped: Vec<SkipCount>,
    pub notes: Vec<String>,
    pub extra_caveats: Vec<String>,
    pub models: Option<ModelsInfo>,
    pub outputs_kind: &'static str,
    pub n_classes: Option<usize>,
    /// A DP guarantee to set the attacks' ε lower bounds against (the `privacy` section).
    pub claim: Option<crate::privacy::Claim>,
    /// Whether the membership is a fair coin per record, for the one-run audit (`one_run`).
    pub one_run: bool,
    /// An earlier report to compare with (the `baseline` section).
    pub baseline: Option<crate::baseline::BaselineInput>,
    /// Blind classifiers' scores (the `blind` section), when the audit has the data.
    pub blind: Option<crate::blind::BlindInput>,
    /// The texts of a language-model audit (the `llm` section).
    pub llm: Option<mia_report::report::LlmInfo>,
}

/// Attacks evaluated and sliced by class ahead of assembly, so that evaluation can overlap
/// other work (a model audit evaluates the score-only attacks while reference models train).
/// Evaluating attacks in parts gives exactly what evaluating them together gives: the
/// bootstrap resamples depend only on the seed and the membership, and every figure,
/// including the Holm adjustment over one attack's class slices, is per attack.
pub(crate) struct Evaluated {
    attacks: Vec<AttackScores>,
    evaluations: Vec<AttackEvaluation>,
    slices: Vec<Slice>,
}

/// Whether `attack` is sliced by class: named in the config's list, or, without a list,
/// every attack without a fitted step.
fn sliced(attack: &AttackScores, listed: Option<&[String]>) -> bool {
    match listed {
        Some(l) => l.contains(&attack.name),
        None => attack.fitting.is_none(),
    }
}

/// Evaluates `attacks` on the same records (shared bootstrap resamples and ε split) and
/// slices the selected ones by class (`labels`).
pub(crate) fn evaluate_part(
    attacks: Vec<AttackScores>,
    member: &[bool],
    labels: Option<&[usize]>,
    eval: &EvalConfig,
    slice_attacks: Option<&[String]>,
) -> Result<Evaluated, AuditError> {
    if attacks.is_empty() {
        return Ok(Evaluated { attacks, evaluations: Vec::new(), slices: Vec::new() });
    }
    let score_refs: Vec<&[f64]> = attacks.iter().map(|a| a.scores.as_slice()).collect();
    let evaluations = evaluate_attacks(&score_refs, member, eval).map_err(|e| AuditError::Input(e.to_string()))?;
    let slices = match labels {
        Some(l) => {
            let picked: Vec<&AttackScores> = attacks.iter().filter(|at| sliced(at, slice_attacks)).collect();
            let names: Vec<&str> = picked.iter().map(|at| at.name.as_str()).collect();
            let scores: Vec<&[f64]> = picked.iter().map(|at| at.scores.as_slice()).collect();
            class_slices(&names, &scores, member, l, eval)
        }
        None => Vec::new(),
    };
    Ok(Evaluated { attacks, evaluations, slices })
}

/// Evaluates every attack on the same records (shared bootstrap resamples and ε split),
/// slices by class, reads overfitting from the target's `signals` (model audits; `None` for
/// a synthetic-data audit, which has no model), and applies the gate.
pub(crate) fn assemble(
    a: Assembly,
    attacks: Vec<AttackScores>,
    signals: Option<&Signals>,
    ids: Vec<String>,
    member: Vec<bool>,
    labels: Option<Vec<usize>>,
) -> Result<AuditOutput, AuditError> {
    let part = evaluate_part(attacks, &member, labels.as_deref(), &a.eval, a.slice_attacks.as_deref())?;
    assemble_evaluated(a, vec![part], signals, ids, member, labels)
}

/// [`assemble`] from attacks already evaluated in parts ([`evaluate_part`], with the same
/// membership, labels and settings); the report lists the parts' attacks in order.
pub(crate) fn assemble_evaluated(
    a: Assembly,
    parts: Vec<Evaluated>,
    signals: Option<&Signals>,
    ids: Vec<String>,
    member: Vec<bool>,
    labels: Option<Vec<usize>>,
) -> Result<AuditOutput, AuditError> {
    let n_members = member.iter().filter(|&&m| m).count();
    let n_non = member.len() - n_members;
    let (mut attacks, mut reports, mut all_slices) = (Vec::new(), Vec::new(), Vec::new());
    for part in parts {
        for (at, e) in part.attacks.iter().zip(part.evaluations) {
            reports.push(AttackReport {
                name: at.name.clone(),
                description: at.description.clone(),
                fitting: at.fitting.clone(),
                evaluation: e,
            });
        }
        attacks.extend(part.attacks);
        all_slices.extend(part.slices);
    }
    if let Some(listed) = a.slice_attacks.as_deref().filter(|l| !l.is_empty()) {
        // A listed attack that did not run (or no labels to slice by) must not quietly
        // turn slicing off.
        let key = if a.command == "score" { "--slices" } else { "report.slices" };
        if labels.is_none() {
            return Err(AuditError::Input(format!(
                "{key}: slicing by class needs class labels, and this input has none; leave {key} out"
            )));
        }
        if let Some(n) = listed.iter().find(|n| !attacks.iter().any(|at| &at.name == *n)) {
            let ran: Vec<&str> = attacks.iter().map(|at| at.name.as_str()).collect();
            return Err(AuditError::Input(format!(
                "{key}: attack \"{n}\" did not run, so it cannot be sliced; attacks that ran: {}",
                ran.join(", ")
            )));
        }
    }
    let slice_attacks: Vec<String> = match &a.slice_attacks {
        Some(s) => s.iter().filter(|n| attacks.iter().any(|at| &&at.name == n)).cloned().collect(),
        None => attacks.iter().filter(|at| sliced(at, None)).map(|at| at.name.clone()).collect(),
    };
    // Slices in the order of `slice_attacks` (the config's order when it lists them), each
    // attack's classes in order, as one call over all attacks would give.
    let position = |name: &str| slice_attacks.iter().position(|n| n == name).unwrap_or(usize::MAX);
    all_slices.sort_by_key(|sl| (position(&sl.attack), sl.class));
    let overfit = signals.map(|s| overfitting(&s.loss, s.correct.as_deref(), &member, a.eval.confidence));
    let max = MaxSummary::from_attacks(&reports);
    let saturated = signals.map_or(0, |s| s.saturated);
    let mut caveats = caveats(a.command, &reports, &a.eval, saturated, a.outputs_kind, n_non);
    caveats.extend(a.extra_caveats);
    let attack_refs: Vec<&AttackScores> = attacks.iter().collect();
    let one_run = if a.one_run { Some(crate::one_run::one_run(&attack_refs, &member, &a.eval)?) } else { None };
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool { name: "mia-audit", version: env!("CARGO_PKG_VERSION") },
        command: a.command.into(),
        seed: a.eval.seed,
        settings: Settings {
            eval: a.eval.clone(),
            cross_fit_folds: a.folds,
            prob_tolerance: a.prob_tolerance,
            slices_attacks: if labels.is_some() { slice_attacks } else { Vec::new() },
            reference: None,
        },
        inputs: a.inputs,
        rows: Rows {
            read: a.rows_read,
            kept: member.len(),
            skipped: a.skipped,
            members: n_members,
            non_members: n_non,
        },
        outputs: signals.map(|s| OutputsInfo {
            kind: a.outputs_kind.into(),
            n_classes: a.n_classes,
            saturated_records: s.saturated,
        }),
        models: a.models,
        attacks: reports,
        max,
        overfitting: overfit,
        synth: None,
        llm: a.llm,
        blind: None,
        slices: all_slices,
        privacy: a.claim.as_ref().map(|c| crate::privacy::privacy(c, &attack_refs, &member, &a.eval)),
        one_run,
        baseline: None,
        comparison: None,
        gate: GateResult { verdict: "none".into(), rules: Vec::new() },
        caveats,
        notes: a.notes,
    };
    let scores: Vec<(String, Vec<f64>)> = attacks.into_iter().map(|at| (at.name, at.scores)).collect();
    if let Some(b) = &a.baseline {
        report.baseline = Some(b.compare(&report, &ids, &member, &scores, &a.eval));
    }
    if let Some(input) = a.blind {
        let blind = crate::blind::blind_section(input, &ids, &member, &scores, &a.eval)?;
        if blind.distinguishable {
            report.caveats.push(blind.verdict.clone());
        }
        report.blind = Some(blind);
    }
    report.gate = gate::evaluate(&a.rules, &report)?;
    Ok(AuditOutput {
        report,
        ids,
        member,
        labels,
        scores,
        top_records: a.top_records,
        extra_files: Vec::new(),
        token_exposure: Vec::new(),
    })
}

/// The limits of what this report can say, in plain words.
fn caveats(
    command: &str,
    attacks: &[AttackReport],
    eval: &EvalConfig,
    saturated: usize,
    kind: &str,
    n_non: usize,
) -> Vec<String> {
    let first = if command == "synth" {
        "These figures measure what the listed attacks achieve on these records. A low score does not prove \
         the synthetic data private: distance checks are a first look, and stronger attacks (shadow generators \
         with more runs, attacks aimed at other records) may do better."
    } else {
        "These figures measure what the listed attacks achieve on these records. A low score does not prove \
         the model is private: stronger attacks (e.g. with reference models) may do better."
    };
    let mut c = vec![
        first.to_string(),
        format!(
            "The epsilon lower bound (delta = {}) holds for this audit game at {:.0} % confidence; it is evidence of \
             leakage, not a privacy guarantee, and a small value does not show differential privacy.",
            eval.delta,
            eval.confidence * 100.0
        ),
        "Advantage and balanced accuracy use the best threshold on these same records, so they are optimistic; \
         the epsilon bound chooses its threshold on one half and measures on the other."
            .to_string(),
    ];
    let unsupported: Vec<String> = eval
        .fpr_targets
        .iter()
        .filter(|&&t| (n_non as f64) < eval.min_negatives_per_fpr / t)
        .map(|t| format!("{t}"))
        .collect();
    if !unsupported.is_empty() {
        c.push(format!(
            "TPR at FPR {} is not supported by the sample: {} non-members, fewer than {}/FPR. Such entries are marked \
             \"supported\": false and should not be quoted.",
            unsupported.join(", "),
            n_non,
            eval.min_negatives_per_fpr
        ));
    }
    if let Some(e) = attacks.first().map(|a| &a.evaluation)
        && e.n_members.min(e.n_non_members) < eval.min_class_size
    {
        c.push(format!(
            "Only {} members and {} non-members were audited, fewer than {} in a class: a bootstrap cannot represent \
             the uncertainty of a class this small, so AUC, advantage and TPR@FPR carry distribution-free intervals \
             (Hoeffding for the AUC, Dvoretzky-Kiefer-Wolfowitz bands for the curve), which hold at any sample size \
             but are wide. These figures are marked \"supported\": false; gate rules over them stop with exit code 2.",
            e.n_members, e.n_non_members, eval.min_class_size
        ));
    } else if let Some(e) = attacks.first().map(|a| &a.evaluation)
        && e.n_members.min(e.n_non_members) < eval.bootstrap_min_class_size
    {
        c.push(format!(
            "{} members and {} non-members were audited, fewer than {} in a class: a percentile bootstrap undercovers \
             at this size, so the AUC and TPR@FPR intervals are distribution-free bounds (Hoeffding for the AUC, \
             Dvoretzky-Kiefer-Wolfowitz bands for the curve), valid but wide.",
            e.n_members, e.n_non_members, eval.bootstrap_min_class_size
        ));
    }
    if saturated > 0 {
        c.push(format!(
            "{saturated} records have a true-class probability (or its complement) at the limit of the number format, \
             so their loss and phi are pinned and tie with each other; supply logits for exact signals."
        ));
    }
    if kind == "loss" {
        c.push(
            "Only losses were given: entropy, modified entropy, correctness and the accuracy gap need full outputs."
                .into(),
        );
    }
    if attacks.iter().any(|a| a.evaluation.distinct_scores < 3) {
        c.push("Some attacks produce fewer than 3 distinct scores; their ROC has few operating points.".into());
    }
    c
}

impl AuditOutput {
    /// Writes `report.json`, `records.csv`, `records.parquet` (cargo feature `parquet`),
    /// `report.html` and the command's extra files into `dir` (created if needed) as one set
    /// ([`crate::outdir::install_files`]): the previous run's report files are replaced whole,
    /// and a failure leaves none of this set and no temporary file.
    pub fn write_report(&self, dir: &Path) -> Result<(), AuditError> {
        write_report(self, dir)
    }
}

fn write_report(out: &AuditOutput, dir: &Path) -> Result<(), AuditError> {
    let werr = |e: std::io::Error| AuditError::Write { path: dir.display().to_string(), source: e };
    let mut json = serde_json::to_vec_pretty(&out.report).map_err(|e| werr(e.into()))?;
    json.push(b'\n');
    let mut csv = Vec::new();
    mia_report::records::write_records_csv(&mut csv, &out.records()).map_err(werr)?;
    let html = out.html();
    let mut files = vec![("report.json".to_string(), json), ("records.csv".to_string(), csv)];
    #[cfg(feature = "parquet")]
    files.push(("records.parquet".to_string(), records_parquet(out).map_err(|e| werr(std::io::Error::other(e)))?));
    files.push(("report.html".to_string(), html.into_bytes()));
    files.extend(out.extra_files.iter().cloned());
    crate::outdir::install_files(dir, &files)
}

/// `records.parquet`: the columns of `records.csv` ([`mia_report::records::record_columns`])
/// for tools: ids as exact UTF-8 strings, membership as booleans, labels and ranks as int64,
/// scores as float64 (the same bits as the report's).
#[cfg(feature = "parquet")]
fn records_parquet(out: &AuditOutput) -> Result<Vec<u8>, String> {
    use mia_data::pqwrite::{ColumnData, write_parquet};
    use mia_report::records::{RecordValues, record_columns};
    let records = out.records();
    let cols = record_columns(&records);
    let int = |v: &[usize]| ColumnData::Int64(v.iter().map(|&x| x as i64).collect::<Vec<i64>>().into());
    let data: Vec<(&str, ColumnData)> = cols
        .iter()
        .map(|c| {
            let d = match &c.values {
                RecordValues::Id(v) => ColumnData::Text(v),
                RecordValues::Member(v) => ColumnData::Bool(v),
                RecordValues::Label(v) => int(v),
                RecordValues::Score(v) => ColumnData::Float64((*v).into()),
                RecordValues::Rank(v) => int(v),
            };
            (c.name.as_str(), d)
        })
        .collect();
    let mut bytes = Vec::new();
    write_parquet(&data, &mut bytes)?;
    Ok(bytes)
}
