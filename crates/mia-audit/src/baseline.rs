//! The report's `baseline` section: this audit next to an earlier one ("did leakage grow since
//! the last release?"), per attack and metric, with the difference's interval
//! ([`mia_report::baseline`]). The earlier report is read before any work, so a wrong path
//! stops the run at once; its `records.csv`, when it lies beside it, makes the interval a
//! paired bootstrap over the records both audits scored.

use crate::AuditError;
use mia_core::evaluate::EvalConfig;
use mia_report::baseline::{self, Baseline, OwnedRecords, PairedDiffs, PairedRecords};
use mia_report::records::spreadsheet_text;
use mia_report::report::Report;
use std::path::{Path, PathBuf};

/// An earlier report, read and checked, with its per-record scores when they are at hand.
#[derive(Debug, Clone)]
pub struct BaselineInput {
    /// The report's path, as given (what the section's `source` says).
    pub source: String,
    report: serde_json::Value,
    records: Option<OwnedRecords>,
}

impl BaselineInput {
    /// Reads `path`: a `report.json`, or the folder holding one. A `records.csv` beside it is
    /// read too (the tool's own per-record file); a malformed one is an error, not skipped.
    pub fn load(path: &Path) -> Result<BaselineInput, AuditError> {
        BaselineInput::load_as(path, "--baseline")
    }

    /// [`load`](BaselineInput::load), its errors starting with `what` (`mia diff`'s `old report`).
    pub fn load_as(path: &Path, what: &str) -> Result<BaselineInput, AuditError> {
        let file: PathBuf = if path.is_dir() { path.join("report.json") } else { path.to_path_buf() };
        let shown = file.display().to_string();
        let bad = |m: String| AuditError::Input(format!("{what} {shown}: {m}"));
        let text = std::fs::read_to_string(&file).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let report: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| bad(format!("not JSON at line {}, column {}: {e}", e.line(), e.column())))?;
        if !report.get("attacks").is_some_and(serde_json::Value::is_array) {
            return Err(bad("not a report of this tool (no `attacks` list)".into()));
        }
        let csv = file.with_file_name("records.csv");
        let records = if csv.is_file() {
            Some(baseline::read_records_csv(&csv).map_err(|e| AuditError::Input(format!("{what}: {e}")))?)
        } else {
            None
        };
        Ok(BaselineInput { source: path.display().to_string(), report, records })
    }

    /// The comparison of `new` (assembled, without a baseline yet) with this report. The new
    /// audit's per-record scores (`ids`, `member`, `scores`) pair with the old `records.csv`;
    /// ids are matched as that file writes them ([`spreadsheet_text`]). When the records
    /// cannot be paired (too few shared, a record whose membership changed) the intervals
    /// come from the two reports' own, and a note says why.
    pub(crate) fn compare(
        &self,
        new: &Report,
        ids: &[String],
        member: &[bool],
        scores: &[(String, Vec<f64>)],
        eval: &EvalConfig,
    ) -> Baseline {
        let written: Vec<String> = ids.iter().map(|id| spreadsheet_text(id).into_owned()).collect();
        let new_side = PairedRecords { ids: &written, member, scores };
        let old_side = self.records.as_ref().map(OwnedRecords::as_paired);
        let (paired, note) = pair((old_side, "baseline"), (Some(new_side), "new"), eval);
        let mut b = baseline::from_reports(&self.report, &self.source, new, eval.confidence, paired.as_ref());
        b.notes.extend(note);
        b
    }
}

/// The evaluation settings a report states (`settings`, `seed`), where it states them; the
/// defaults elsewhere.
fn stated_eval(report: &serde_json::Value) -> EvalConfig {
    let mut eval = EvalConfig::default();
    let s = &report["settings"];
    if let Some(f) = s["fpr_targets"].as_array() {
        eval.fpr_targets = f.iter().filter_map(serde_json::Value::as_f64).collect();
    }
    if let Some(rule) = s["fpr_rule"].as_str().and_then(|r| r.parse().ok()) {
        eval.fpr_rule = rule;
    }
    if let Some(b) = s["bootstrap_resamples"].as_u64() {
        eval.bootstrap_resamples = b as usize;
    }
    if let Some(c) = s["confidence"].as_f64() {
        eval.confidence = c;
    }
    if let Some(seed) = report["seed"].as_u64() {
        eval.seed = seed;
    }
    eval
}

/// `mia diff OLD NEW`: two finished reports compared, as `--baseline OLD` would have compared
/// NEW when it was made. The paired bootstrap needs both reports' `records.csv`, and runs with
/// the new report's FPR targets, FPR rule, resamples, confidence and seed; `confidence`
/// overrides the new report's.
pub fn diff_reports(old: &BaselineInput, new: &BaselineInput, confidence: Option<f64>) -> Result<Baseline, AuditError> {
    let mut eval = stated_eval(&new.report);
    if let Some(c) = confidence {
        if !(c > 0.0 && c < 1.0) {
            return Err(AuditError::Input(format!("--confidence must lie in (0, 1), got {c}")));
        }
        eval.confidence = c;
    }
    let (o, n) = (old.records.as_ref().map(OwnedRecords::as_paired), new.records.as_ref().map(OwnedRecords::as_paired));
    let (paired, note) = pair((o, "old"), (n, "new"), &eval);
    let mut b = baseline::from_values(&old.report, &old.source, &new.report, eval.confidence, paired.as_ref());
    b.notes.extend(note);
    Ok(b)
}

/// The paired bootstrap of two audits' per-record scores under `eval`'s settings, or, when a
/// side has none (named by its label) or they cannot be paired, `None` with the note saying
/// why the intervals treat the audits as independent.
fn pair(
    (old, old_label): (Option<PairedRecords>, &str),
    (new, new_label): (Option<PairedRecords>, &str),
    eval: &EvalConfig,
) -> (Option<PairedDiffs>, Option<String>) {
    match (old, new) {
        (Some(o), Some(n)) => match baseline::paired_with_rule(
            o,
            n,
            &eval.fpr_targets,
            eval.fpr_rule,
            eval.bootstrap_resamples,
            eval.confidence,
            eval.seed,
        ) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(format!("the records could not be paired ({e})"))),
        },
        (o, n) => {
            let missing: Vec<&str> = [(o.is_none(), old_label), (n.is_none(), new_label)]
                .iter()
                .filter(|(m, _)| *m)
                .map(|(_, l)| *l)
                .collect();
            let note = format!(
                "no records.csv beside the {} report, so the intervals treat the two audits as independent",
                missing.join(" and the ")
            );
            (None, Some(note))
        }
    }
}
