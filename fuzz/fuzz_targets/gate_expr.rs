//! `--fail-if EXPR`: parsing a gate rule (mia-report gate.rs) and evaluating it against a
//! real report (the score audit of fixtures/scores/breast_cancer_probs.csv, with intervals).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mia_audit::{ScoreAuditOptions, run_score_audit};
use mia_data::{LoadOptions, ScoreColumns, ScoreSource, load_scores};
use mia_fuzz::{check, fixtures};
use mia_report::Report;
use mia_report::gate;

fn report() -> &'static Report {
    static R: OnceLock<Report> = OnceLock::new();
    R.get_or_init(|| {
        let path = fixtures().join("scores/breast_cancer_probs.csv");
        let src = ScoreSource::Table { path, columns: ScoreColumns::default() };
        let table = load_scores(&src, &LoadOptions::default()).expect("fixture loads");
        let mut opts = ScoreAuditOptions::default();
        opts.eval.bootstrap_resamples = 50;
        run_score_audit(table, &opts).expect("fixture audits").report
    })
}

fuzz_target!(|data: &[u8]| {
    // Command-line arguments reach the gate as UTF-8 text.
    if let Ok(text) = std::str::from_utf8(data) {
        let rule = gate::parse(text);
        // Every error is one line, rules with line breaks included (finding F2, fixed).
        check(&rule);
        if let Ok(rule) = rule {
            check(&gate::evaluate(&[rule], report()));
        }
    }
});
