//! The score-file audit behind `mia score`: precomputed model outputs with known
//! membership in, report out.

use crate::AuditError;
use crate::assemble::{Assembly, AuditOutput, assemble, report_inputs, report_skips};
use mia_core::attacks::{AttackConfig, AttackScores, score_only_attacks};
use mia_core::evaluate::EvalConfig;
use mia_core::signals::compute_signals;
use mia_data::ScoreTable;
use mia_report::gate::{self, GateExpr};

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
    let assembly = Assembly {
        command: "score",
        eval: opts.eval.clone(),
        folds: opts.attack.folds,
        prob_tolerance: opts.prob_tolerance,
        slice_attacks: opts.slice_attacks.clone(),
        rules,
        top_records: opts.top_records,
        inputs: report_inputs(&table.inputs),
        rows_read: table.rows_read,
        skipped: report_skips(&table.skipped),
        notes: table.notes,
        extra_caveats: Vec::new(),
        models: None,
        outputs_kind: table.outputs.kind(),
        n_classes: table.outputs.n_classes(),
    };
    assemble(assembly, attacks, &signals, table.ids, member, labels)
}

