//! The score-file audit behind `mia score`: precomputed model outputs with known
//! membership in, report out.

use crate::AuditError;
use mia_core::attacks::{AttackConfig, AttackScores, score_only_attacks};
use mia_core::evaluate::{EvalConfig, class_slices, evaluate_attacks, overfitting};
use mia_core::signals::compute_signals;
use mia_data::ScoreTable;
use mia_report::gate::{self, GateExpr};
use mia_report::report::{
    AttackReport, GateResult, InputFile, MaxSummary, OutputsInfo, Report, Rows, Settings, SkipCount, Tool,
};
use mia_report::{RecordScores, SCHEMA_VERSION};
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
        }
    }
}

/// A finished audit: the report and the per-record data behind it.
#[derive(Debug, Clone)]
pub struct AuditOutput {
    pub report: Report,
    pub ids: Vec<String>,
    pub member: Vec<bool>,
    pub labels: Option<Vec<usize>>,
    pub scores: Vec<(String, Vec<f64>)>,
    pub top_records: usize,
}

impl AuditOutput {
    pub fn records(&self) -> RecordScores<'_> {
        RecordScores { ids: &self.ids, member: &self.member, labels: self.labels.as_deref(), attacks: &self.scores }
    }
    /// Whether the gate failed (exit code 1).
    pub fn gate_failed(&self) -> bool {
        self.report.gate.verdict == "fail"
    }
}

/// Parses gate rules up front, so a typo fails before any work is done.
pub fn parse_gate(rules: &[String]) -> Result<Vec<GateExpr>, AuditError> {
    rules.iter().map(|r| gate::parse(r).map_err(AuditError::from)).collect()
}

/// Checks option values a user can get wrong.
fn check_options(o: &ScoreAuditOptions) -> Result<(), AuditError> {
    let bad = |m: String| Err(AuditError::Input(m));
    let e = &o.eval;
    if !(e.confidence > 0.0 && e.confidence < 1.0) {
        return bad(format!("--confidence must be between 0 and 1, got {}", e.confidence));
    }
    if !(e.delta >= 0.0 && e.delta < 1.0) {
        return bad(format!("--delta must be in [0, 1), got {}", e.delta));
    }
    if let Some(f) = e.fpr_targets.iter().find(|f| !(**f > 0.0 && **f < 1.0)) {
        return bad(format!("--fpr targets must be between 0 and 1, got {f}"));
    }
    if let Some(b) = e.base_rates.iter().find(|b| !(**b > 0.0 && **b < 1.0)) {
        return bad(format!("--base-rate must be between 0 and 1, got {b}"));
    }
    if o.attack.folds < 2 {
        return bad(format!("--folds must be at least 2, got {}", o.attack.folds));
    }
    if let Some(names) = &o.attacks {
        let known = mia_core::attacks::SCORE_ONLY_ATTACKS;
        if let Some(n) = names.iter().find(|n| !known.contains(&n.as_str())) {
            return bad(format!("unknown attack \"{n}\"; known attacks: {}", known.join(", ")));
        }
    }
    Ok(())
}

/// Runs every requested score-only attack on the table and evaluates it.
pub fn run_score_audit(table: ScoreTable, opts: &ScoreAuditOptions) -> Result<AuditOutput, AuditError> {
    check_options(opts)?;
    let rules = parse_gate(&opts.gate)?;
    let member = table.member;
    let n_members = member.iter().filter(|&&m| m).count();
    let n_non = member.len() - n_members;
    if n_members == 0 || n_non == 0 {
        return Err(AuditError::Input(format!(
            "need both members and non-members to audit, found {n_members} members and {n_non} non-members"
        )));
    }
    let labels = table.labels;
    let signals = compute_signals(&table.outputs, labels.as_deref());
    let attack_cfg = AttackConfig { seed: opts.eval.seed, ..opts.attack.clone() };
    let attacks: Vec<AttackScores> =
        score_only_attacks(&signals, labels.as_deref(), &member, opts.attacks.as_deref(), &attack_cfg);
    if let Some(n) = opts.attacks.iter().flatten().find(|n| !attacks.iter().any(|a| &a.name == *n)) {
        return Err(AuditError::Input(format!(
            "attack \"{n}\" needs {} which the input ({}) does not provide",
            if n.ends_with("_per_class") { "labels" } else { "full logits or probabilities" },
            table.outputs.kind()
        )));
    }
    let score_refs: Vec<&[f64]> = attacks.iter().map(|a| a.scores.as_slice()).collect();
    let evaluations =
        evaluate_attacks(&score_refs, &member, &opts.eval).map_err(|e| AuditError::Input(e.to_string()))?;
    let reports: Vec<AttackReport> = attacks
        .iter()
        .zip(evaluations)
        .map(|(a, e)| AttackReport {
            name: a.name.clone(),
            description: a.description.clone(),
            fitting: a.fitting.clone(),
            evaluation: e,
        })
        .collect();
    let slice_attacks: Vec<String> = match &opts.slice_attacks {
        Some(s) => s.iter().filter(|n| attacks.iter().any(|a| &&a.name == n)).cloned().collect(),
        None => attacks.iter().filter(|a| a.fitting.is_none()).map(|a| a.name.clone()).collect(),
    };
    let slices = match &labels {
        Some(l) => {
            let names: Vec<&str> = slice_attacks.iter().map(String::as_str).collect();
            let picked: Vec<&[f64]> = names
                .iter()
                .filter_map(|n| attacks.iter().find(|a| a.name == *n))
                .map(|a| a.scores.as_slice())
                .collect();
            class_slices(&names, &picked, &member, l, &opts.eval)
        }
        None => Vec::new(),
    };
    let overfit = overfitting(&signals.loss, signals.correct.as_deref(), &member, opts.eval.confidence);
    let max = MaxSummary::from_attacks(&reports);
    let caveats = caveats(&reports, &opts.eval, signals.saturated, table.outputs.kind(), n_non);
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool { name: "mia-audit", version: env!("CARGO_PKG_VERSION") },
        command: "score".into(),
        seed: opts.eval.seed,
        settings: Settings {
            eval: opts.eval.clone(),
            cross_fit_folds: opts.attack.folds,
            prob_tolerance: opts.prob_tolerance,
            slices_attacks: if labels.is_some() { slice_attacks } else { Vec::new() },
        },
        inputs: table
            .inputs
            .iter()
            .map(|f| InputFile { path: f.path.clone(), sha256: f.sha256.clone(), bytes: f.bytes })
            .collect(),
        rows: Rows {
            read: table.rows_read,
            kept: member.len(),
            skipped: table.skipped.iter().map(|s| SkipCount { reason: s.reason.clone(), count: s.count }).collect(),
            members: n_members,
            non_members: n_non,
        },
        outputs: OutputsInfo {
            kind: table.outputs.kind().into(),
            n_classes: table.outputs.n_classes(),
            saturated_records: signals.saturated,
        },
        attacks: reports,
        max,
        overfitting: overfit,
        slices,
        gate: GateResult { verdict: "none".into(), rules: Vec::new() },
        caveats,
        notes: table.notes,
    };
    report.gate = gate::evaluate(&rules, &report)?;
    Ok(AuditOutput {
        report,
        ids: table.ids,
        member,
        labels,
        scores: attacks.into_iter().map(|a| (a.name, a.scores)).collect(),
        top_records: opts.top_records,
    })
}

/// The limits of what this report can say, in plain words.
fn caveats(attacks: &[AttackReport], eval: &EvalConfig, saturated: usize, kind: &str, n_non: usize) -> Vec<String> {
    let mut c = vec![
        "These figures measure what the listed attacks achieve on these records. A low score does not prove \
         the model is private: stronger attacks (e.g. with reference models) may do better."
            .to_string(),
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

/// Writes `report.json`, `records.csv` and `report.html` into `dir` (created if needed).
/// Each file is written to a temporary name and renamed, so a reader never sees half a file.
pub fn write_outputs(out: &AuditOutput, dir: &Path) -> Result<(), AuditError> {
    let werr = |p: &Path, e: std::io::Error| AuditError::Write { path: p.display().to_string(), source: e };
    std::fs::create_dir_all(dir).map_err(|e| werr(dir, e))?;
    let write = |name: &str, bytes: &[u8]| -> Result<(), AuditError> {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes).map_err(|e| werr(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| werr(&path, e))
    };
    let mut json = serde_json::to_vec_pretty(&out.report).map_err(|e| werr(dir, e.into()))?;
    json.push(b'\n');
    write("report.json", &json)?;
    let mut csv = Vec::new();
    mia_report::records::write_records_csv(&mut csv, &out.records()).map_err(|e| werr(dir, e))?;
    write("records.csv", &csv)?;
    let html = mia_report::html::render_html(&out.report, &out.records(), out.top_records);
    write("report.html", html.as_bytes())
}
