//! Release gate: `--fail-if` expressions over report metrics. Any rule that holds fails
//! the release (process exit code 1).
//!
//! Grammar (whitespace around the operator is optional):
//!
//! ```text
//! RULE   := LHS OP RHS | "claim_violated"
//! OP     := ">" | ">=" | "<" | "<=" | "==" | "!="
//! LHS    := [ "delta." ] ATTACK "." METRIC [ "." BOUND ] | "eps_lower_bound" [ "." BOUND ] | "claim_violated"
//! RHS    := NUMBER | ("claimed_epsilon" | "baseline") [ ("+" | "-") NUMBER ]
//! ATTACK := an attack name in the report (`loss`, `phi`, ...) | "max" | "blind"
//! METRIC := "auc" | "advantage" | "balanced_accuracy" | "eps_lower_bound" | "tpr@" NUMBER
//! BOUND  := "lo" | "hi"
//! NUMBER := [+-] digits [ "." digits ] [ (e|E) [+-] digits ]   (also ".5", "5.")
//! ```
//!
//! - `blind` is the report's blind check (its strongest classifier, which sees only the data):
//!   `blind.auc.lo > 0.5` fires when members and non-members are told apart without the model.
//! - `max` is the worst attack for that metric: the highest value, ties to the earlier
//!   attack in report order (as in the report's `max` block). With a bound, `max.auc.lo`
//!   is the highest lower bound over attacks. A bare `eps_lower_bound` means
//!   `max.eps_lower_bound`.
//! - `tpr@X` needs X to be one of the report's FPR targets (relative tolerance 1e-9), so
//!   `tpr@0.001` and `tpr@1e-3` are the same metric.
//! - `.lo` / `.hi` use the interval instead of the value; it is an error when the metric
//!   has no interval (the ε bound, or a run with the bootstrap disabled).
//! - `claimed_epsilon` is the report's `privacy.claimed_epsilon` (a DP-trained target or a
//!   claimed guarantee) and compares with the ε lower bound only, read from the `privacy`
//!   section, at the claimed δ: a named attack's bound at the report's confidence, `max` the
//!   highest bound at the Bonferroni-corrected confidence over all attacks (so
//!   `eps_lower_bound > claimed_epsilon` fires exactly when `claim_violated` does).
//! - `delta.ATTACK.METRIC` reads the report's `baseline` section (`--baseline OLD/report.json`):
//!   the difference new − old, with `.lo` / `.hi` the ends of its interval (paired bootstrap
//!   or independent intervals, as the section states). `baseline` on the right is the old
//!   report's value of the left side's metric, so `max.tpr@0.01 > baseline + 0.02` fires when
//!   the worst TPR rose by more than 0.02. Both need a baseline whose record set and schema
//!   match ([`GateError::NotComparable`] otherwise); `balanced_accuracy` is not compared.
//! - `claim_violated` alone fires when the `privacy` section says the claim is shown false
//!   (as a value it reads 1 or 0, so `claim_violated == 1` is the same rule).
//! - A rule over a figure the sample cannot support — a TPR at an FPR with fewer than
//!   10/FPR non-members, or any AUC / advantage / TPR with fewer than the evaluation's
//!   `min_class_size` members or non-members — is an error ([`GateError::Unsupported`]): the
//!   figure is noise, so the rule can neither pass nor fail on it.

use crate::baseline::Baseline;
use crate::report::{AttackReport, GateResult, GateRule, Report};
use std::fmt;

/// Comparison operator of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }

    /// Whether `lhs OP rhs` holds (IEEE comparison).
    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            Op::Gt => lhs > rhs,
            Op::Ge => lhs >= rhs,
            Op::Lt => lhs < rhs,
            Op::Le => lhs <= rhs,
            Op::Eq => lhs == rhs,
            Op::Ne => lhs != rhs,
        }
    }
}

/// Which attack a rule reads.
#[derive(Debug, Clone, PartialEq)]
pub enum AttackRef {
    /// The worst attack for the rule's metric (and bound).
    Max,
    Named(String),
}

/// Which metric a rule reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    Auc,
    Advantage,
    BalancedAccuracy,
    EpsLowerBound,
    /// TPR at this FPR target.
    TprAt(f64),
    /// The `privacy` section's verdict, 1 (shown false) or 0.
    ClaimViolated,
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Auc => f.write_str("auc"),
            Metric::Advantage => f.write_str("advantage"),
            Metric::BalancedAccuracy => f.write_str("balanced_accuracy"),
            Metric::EpsLowerBound => f.write_str("eps_lower_bound"),
            Metric::TprAt(x) => write!(f, "tpr@{x}"),
            Metric::ClaimViolated => f.write_str("claim_violated"),
        }
    }
}

/// The value of the metric, or one end of its interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Value,
    Lo,
    Hi,
}

/// A parsed rule. `text` is the expression as given (trimmed); it is what the report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct GateExpr {
    pub text: String,
    pub attack: AttackRef,
    pub metric: Metric,
    pub bound: Bound,
    pub op: Op,
    pub rhs: Rhs,
    /// `delta.` prefix: the rule reads the difference from the baseline report.
    pub delta: bool,
}

/// The right-hand side of a rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rhs {
    Number(f64),
    /// `claimed_epsilon + offset` (the report's `privacy.claimed_epsilon`).
    ClaimedEpsilon(f64),
    /// `baseline + offset`: the baseline report's value of the rule's metric.
    Baseline(f64),
}

impl std::str::FromStr for GateExpr {
    type Err = GateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

/// A rule that cannot be parsed or evaluated against the report; one line, naming the rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GateError {
    #[error("bad gate rule `{expr}`: expected {expected}")]
    Syntax { expr: String, expected: String },
    #[error("gate rule `{expr}`: unknown attack `{attack}` (available: {available})")]
    UnknownAttack { expr: String, attack: String, available: String },
    #[error("gate rule `{expr}`: unknown metric `{metric}` (available: {METRICS})")]
    UnknownMetric { expr: String, metric: String },
    #[error("gate rule `{expr}`: FPR {fpr} is not among the report's FPR targets ({targets})")]
    FprNotTarget { expr: String, fpr: String, targets: String },
    #[error("gate rule `{expr}`: {metric} of attack `{attack}` has no interval, so `.{bound}` cannot be used ({why})")]
    MissingInterval { expr: String, attack: String, metric: String, bound: &'static str, why: String },
    #[error("gate rule `{expr}`: {metric} of attack `{attack}` is not a finite number")]
    NotFinite { expr: String, attack: String, metric: String },
    #[error("gate rule `{expr}`: the report has no attacks to evaluate")]
    NoAttacks { expr: String },
    #[error(
        "gate rule `{expr}`: {metric} of attack `{attack}` is not supported by the sample ({why}); the rule can neither pass nor fail on it"
    )]
    Unsupported { expr: String, attack: String, metric: String, why: String },
    #[error(
        "gate rule `{expr}`: the report has no claimed DP guarantee (train with [learner.dp], or set [target] claimed_epsilon and claimed_delta, or --claimed-epsilon and --claimed-delta)"
    )]
    NoClaim { expr: String },
    #[error(
        "gate rule `{expr}`: the report has no blind check (it runs when the audit has the data behind the scores: the texts of `mia llm`, the feature rows of `mia audit` and `mia synth`)"
    )]
    NoBlind { expr: String },
    #[error("gate rule `{expr}`: the report has no baseline to compare with (add --baseline OLD/report.json)")]
    NoBaseline { expr: String },
    #[error("gate rule `{expr}`: the baseline cannot be compared with this report ({why})")]
    NotComparable { expr: String, why: String },
    #[error(
        "gate rule `{expr}`: comparing two reports, a rule reads the difference (`delta.ATTACK.METRIC`) or the old value (`... OP baseline`)"
    )]
    NotAComparison { expr: String },
    #[error("gate rule `{expr}`: the baseline does not compare {metric} of attack `{attack}`{why}")]
    NotInBaseline { expr: String, attack: String, metric: String, why: String },
}

const METRICS: &str =
    "auc, advantage, balanced_accuracy, eps_lower_bound, tpr@FPR with FPR one of the report's targets";
const SHAPE: &str = "`ATTACK.METRIC[.lo|.hi] OP NUMBER` with OP one of > >= < <= == != (e.g. `max.auc > 0.6`, `loss.tpr@1e-3 >= 0.01`, `eps_lower_bound > 1`)";

/// Parses a decimal number: optional sign, digits with an optional fraction (".5" and "5."
/// allowed), optional exponent. Rejects `inf`, `nan`, hex and the empty string.
fn parse_number(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// `NUMBER`, or `claimed_epsilon` / `baseline` with an optional `(+|-) NUMBER`.
fn parse_rhs(s: &str) -> Option<Rhs> {
    let (rest, make): (&str, fn(f64) -> Rhs) = if let Some(rest) = s.strip_prefix("claimed_epsilon") {
        (rest, Rhs::ClaimedEpsilon)
    } else if let Some(rest) = s.strip_prefix("baseline") {
        (rest, Rhs::Baseline)
    } else {
        return parse_number(s).map(Rhs::Number);
    };
    let rest = rest.trim_start();
    if rest.is_empty() {
        return Some(make(0.0));
    }
    let (sign, num) = match rest.as_bytes()[0] {
        b'+' => (1.0, &rest[1..]),
        b'-' => (-1.0, &rest[1..]),
        _ => return None,
    };
    let num = num.trim_start();
    if num.starts_with(['+', '-']) {
        return None;
    }
    parse_number(num).map(|x| make(sign * x))
}

fn is_attack_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-'))
}

/// Parses one rule. Attack names and FPR targets are checked against a report by
/// [`evaluate`]; everything else here.
pub fn parse(expr: &str) -> Result<GateExpr, GateError> {
    let text = expr.trim().to_string();
    let syntax = |expected: &str| GateError::Syntax { expr: text.clone(), expected: expected.to_string() };
    if text.is_empty() {
        return Err(syntax(SHAPE));
    }
    // A line break or other control character would split the one-line error (and the
    // report's rule list): refuse it, showing the rule escaped.
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(GateError::Syntax {
            expr: text.escape_debug().to_string(),
            expected: format!("printable characters, found the control character {:?}", c),
        });
    }
    if text == "claim_violated" {
        let (attack, metric, bound) = (AttackRef::Max, Metric::ClaimViolated, Bound::Value);
        return Ok(GateExpr { text, attack, metric, bound, op: Op::Ne, rhs: Rhs::Number(0.0), delta: false });
    }
    // The operator is the first run of comparison characters.
    let Some(op_start) = text.find(['<', '>', '=', '!']) else {
        return Err(syntax(&format!("a comparison operator; the rule shape is {SHAPE}")));
    };
    let op_len = text[op_start..].chars().take_while(|c| matches!(c, '<' | '>' | '=' | '!')).count();
    let op = match &text[op_start..op_start + op_len] {
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "<" => Op::Lt,
        "<=" => Op::Le,
        "==" => Op::Eq,
        "!=" => Op::Ne,
        other => {
            return Err(syntax(&format!("one of the operators > >= < <= == != instead of `{other}`")));
        }
    };
    let lhs = text[..op_start].trim();
    let rhs = text[op_start + op_len..].trim();
    if lhs.is_empty() {
        return Err(syntax(&format!("a metric before `{}`; the rule shape is {SHAPE}", op.as_str())));
    }
    if lhs.contains(char::is_whitespace) {
        return Err(syntax(&format!("no spaces inside the metric name `{lhs}`")));
    }
    let rhs = parse_rhs(rhs).ok_or_else(|| {
        if rhs.is_empty() {
            syntax(&format!("a number after `{}`", op.as_str()))
        } else {
            syntax(&format!(
                "a finite number, `claimed_epsilon [+|- NUMBER]` or `baseline [+|- NUMBER]` after `{}`, got `{rhs}`",
                op.as_str()
            ))
        }
    })?;
    if lhs == "claim_violated" {
        return match rhs {
            Rhs::Number(_) => Ok(GateExpr {
                text,
                attack: AttackRef::Max,
                metric: Metric::ClaimViolated,
                bound: Bound::Value,
                op,
                rhs,
                delta: false,
            }),
            _ => Err(syntax("a number (1 or 0) to compare `claim_violated` with")),
        };
    }
    let (lhs, delta) = match lhs.strip_prefix("delta.") {
        Some(rest) => (rest, true),
        None => (lhs, false),
    };

    // Optional bound suffix.
    let (path, bound) = if let Some(p) = lhs.strip_suffix(".lo") {
        (p, Bound::Lo)
    } else if let Some(p) = lhs.strip_suffix(".hi") {
        (p, Bound::Hi)
    } else {
        (lhs, Bound::Value)
    };
    // Split ATTACK.METRIC. `tpr@X` may itself contain dots, so look for it first.
    let (attack, metric_text) = if path == "eps_lower_bound" {
        ("max", path)
    } else if path.starts_with("tpr@") {
        return Err(syntax(&format!("an attack before the metric, e.g. `max.{path}` or `loss.{path}`")));
    } else if let Some(k) = path.rfind(".tpr@") {
        (&path[..k], &path[k + 1..])
    } else if let Some(k) = path.rfind('.') {
        (&path[..k], &path[k + 1..])
    } else {
        let hint = if matches!(path, "auc" | "advantage" | "balanced_accuracy") || path.starts_with("tpr@") {
            format!("an attack before the metric, e.g. `max.{path}` or `loss.{path}`")
        } else {
            format!("ATTACK.METRIC (e.g. `max.auc`) instead of `{path}`")
        };
        return Err(syntax(&hint));
    };
    if let Some(k) = attack.find('.')
        && matches!(&attack[k + 1..], "auc" | "advantage" | "balanced_accuracy" | "eps_lower_bound")
    {
        return Err(syntax(&format!("`.lo` or `.hi` after `{attack}`, got `.{metric_text}`")));
    }
    if !is_attack_name(attack) {
        return Err(syntax(&format!(
            "an attack name (letters, digits, `_`, `-`) or `max` before `.{metric_text}`, got `{attack}`"
        )));
    }
    let metric = match metric_text {
        "auc" => Metric::Auc,
        "advantage" => Metric::Advantage,
        "balanced_accuracy" => Metric::BalancedAccuracy,
        "eps_lower_bound" => Metric::EpsLowerBound,
        m => match m.strip_prefix("tpr@") {
            Some(x) => match parse_number(x) {
                Some(f) if f > 0.0 && f <= 1.0 => Metric::TprAt(f),
                _ => return Err(syntax(&format!("an FPR in (0, 1] after `tpr@`, got `{x}`"))),
            },
            None => return Err(GateError::UnknownMetric { expr: text.clone(), metric: m.to_string() }),
        },
    };
    if matches!(rhs, Rhs::ClaimedEpsilon(_)) && (metric != Metric::EpsLowerBound || bound != Bound::Value) {
        return Err(syntax(&format!(
            "the ε lower bound (`eps_lower_bound`, `ATTACK.eps_lower_bound`) before `claimed_epsilon`, got `{lhs}`"
        )));
    }
    if delta && !matches!(rhs, Rhs::Number(_)) {
        return Err(syntax(&format!(
            "a number after `{}`: a `delta.` rule compares the difference itself",
            op.as_str()
        )));
    }
    if (delta || matches!(rhs, Rhs::Baseline(_))) && metric == Metric::BalancedAccuracy {
        return Err(syntax(
            "auc, advantage, eps_lower_bound or tpr@FPR: the baseline does not compare balanced_accuracy",
        ));
    }
    if matches!(rhs, Rhs::Baseline(_)) && bound != Bound::Value {
        return Err(syntax(&format!(
            "a metric without `.lo`/`.hi` before `baseline` (for the difference's interval use `delta.{path}.{}`)",
            bound_name(bound)
        )));
    }
    let attack = if attack == "max" { AttackRef::Max } else { AttackRef::Named(attack.to_string()) };
    Ok(GateExpr { text, attack, metric, bound, op, rhs, delta })
}

fn fmt_list(v: impl IntoIterator<Item = String>) -> String {
    v.into_iter().collect::<Vec<_>>().join(", ")
}

/// What a rule reads from one attack: the value, the interval if any, and why the sample
/// cannot support the figure, if it cannot.
struct Reading {
    value: f64,
    ci: Option<[f64; 2]>,
    /// Why there is no interval, when there is none.
    no_ci: String,
    unsupported: Option<String>,
}

fn read(a: &AttackReport, metric: Metric, k_target: Option<usize>, min_negatives_per_fpr: f64) -> Reading {
    let e = &a.evaluation;
    let counts = format!("{} members, {} non-members", e.n_members, e.n_non_members);
    let est = |x: &mia_core::Estimate| Reading {
        value: x.value,
        ci: x.ci,
        no_ci: x.note.clone().unwrap_or_else(|| "no bootstrap interval in the report".into()),
        unsupported: (!x.supported).then(|| x.note.clone().unwrap_or_else(|| counts.clone())),
    };
    match metric {
        Metric::Auc => est(&e.auc),
        Metric::Advantage => est(&e.advantage),
        Metric::BalancedAccuracy => est(&e.balanced_accuracy),
        Metric::EpsLowerBound => Reading {
            value: e.eps_lower_bound.value,
            ci: None,
            no_ci: "the ε bound is itself a one-sided confidence bound".into(),
            unsupported: None,
        },
        Metric::ClaimViolated => unreachable!("claim_violated reads the privacy section (evaluate_claim)"),
        Metric::TprAt(_) => {
            let t = &e.tpr_at_fpr[k_target.expect("target index resolved")];
            let unsupported = (!t.supported).then(|| {
                if !e.auc.supported {
                    e.auc.note.clone().unwrap_or_else(|| counts.clone())
                } else {
                    format!(
                        "{counts}; measuring TPR at FPR {} needs at least {min_negatives_per_fpr}/FPR = {} non-members",
                        t.fpr,
                        (min_negatives_per_fpr / t.fpr).ceil()
                    )
                }
            });
            Reading { value: t.tpr, ci: t.ci, no_ci: "no bootstrap interval in the report".into(), unsupported }
        }
    }
}

fn bound_name(b: Bound) -> &'static str {
    match b {
        Bound::Lo => "lo",
        Bound::Hi => "hi",
        Bound::Value => "value",
    }
}

/// Evaluates one rule: (value, attack it resolved to, supported flag).
fn evaluate_one(rule: &GateExpr, report: &Report) -> Result<GateRule, GateError> {
    let expr = rule.text.clone();
    if report.attacks.is_empty() {
        return Err(GateError::NoAttacks { expr });
    }
    let targets = &report.settings.eval.fpr_targets;
    let k_target = match rule.metric {
        Metric::TprAt(x) => {
            let k = report.attacks[0].evaluation.tpr_at_fpr.iter().position(|t| mia_core::evaluate::same_fpr(t.fpr, x));
            match k {
                Some(k) => Some(k),
                None => {
                    let listed: Vec<f64> = if targets.is_empty() {
                        report.attacks[0].evaluation.tpr_at_fpr.iter().map(|t| t.fpr).collect()
                    } else {
                        targets.clone()
                    };
                    return Err(GateError::FprNotTarget {
                        expr,
                        fpr: format!("{x}"),
                        targets: if listed.is_empty() {
                            "none".into()
                        } else {
                            fmt_list(listed.iter().map(|t| format!("{t}")))
                        },
                    });
                }
            }
        }
        _ => None,
    };
    if rule.metric == Metric::ClaimViolated || matches!(rule.rhs, Rhs::ClaimedEpsilon(_)) {
        return evaluate_claim(rule, report);
    }
    if rule.delta || matches!(rule.rhs, Rhs::Baseline(_)) {
        return evaluate_baseline(rule, report.baseline.as_ref());
    }
    let Rhs::Number(threshold) = rule.rhs else {
        unreachable!("claimed_epsilon and baseline rules are evaluated above")
    };
    let candidates: Vec<&AttackReport> = match &rule.attack {
        AttackRef::Max => report.attacks.iter().collect(),
        AttackRef::Named(n) => match report.attacks.iter().find(|a| &a.name == n) {
            Some(a) => vec![a],
            // `blind.METRIC`: the blind check's strongest classifier.
            None if n == "blind" => match &report.blind {
                Some(b) => b.classifiers.iter().filter(|c| c.name == b.strongest).take(1).collect(),
                None => return Err(GateError::NoBlind { expr }),
            },
            None => {
                return Err(GateError::UnknownAttack {
                    expr,
                    attack: n.clone(),
                    available: fmt_list(
                        std::iter::once("max".to_string()).chain(report.attacks.iter().map(|a| a.name.clone())),
                    ),
                });
            }
        },
    };
    let mut best: Option<f64> = None;
    for a in candidates {
        let r = read(a, rule.metric, k_target, report.settings.eval.min_negatives_per_fpr);
        if let Some(why) = r.unsupported {
            return Err(GateError::Unsupported { expr, attack: a.name.clone(), metric: rule.metric.to_string(), why });
        }
        let v = match (rule.bound, r.ci) {
            (Bound::Value, _) => r.value,
            (Bound::Lo, Some([lo, _])) => lo,
            (Bound::Hi, Some([_, hi])) => hi,
            (b, None) => {
                return Err(GateError::MissingInterval {
                    expr,
                    attack: a.name.clone(),
                    metric: rule.metric.to_string(),
                    bound: bound_name(b),
                    why: r.no_ci,
                });
            }
        };
        if !v.is_finite() {
            return Err(GateError::NotFinite { expr, attack: a.name.clone(), metric: rule.metric.to_string() });
        }
        if best.is_none_or(|b| v > b) {
            best = Some(v);
        }
    }
    let value = best.expect("at least one attack");
    Ok(GateRule { expr, value, fired: rule.op.holds(value, threshold) })
}

/// A rule over the `privacy` section: `claim_violated`, or an ε lower bound at the claimed δ
/// against `claimed_epsilon`.
fn evaluate_claim(rule: &GateExpr, report: &Report) -> Result<GateRule, GateError> {
    let expr = rule.text.clone();
    let Some(p) = &report.privacy else {
        return Err(GateError::NoClaim { expr });
    };
    let (value, threshold) = match (rule.metric, rule.rhs) {
        (Metric::ClaimViolated, Rhs::Number(t)) => (f64::from(u8::from(p.claim_violated)), t),
        (_, Rhs::ClaimedEpsilon(offset)) => {
            let value = match &rule.attack {
                AttackRef::Max => p.attacks.iter().map(|a| a.eps_lower_bound_for_decision).fold(0.0, f64::max),
                AttackRef::Named(n) => match p.attacks.iter().find(|a| &a.attack == n) {
                    Some(a) => a.eps_lower_bound,
                    None => {
                        return Err(GateError::UnknownAttack {
                            expr,
                            attack: n.clone(),
                            available: fmt_list(
                                std::iter::once("max".to_string()).chain(p.attacks.iter().map(|a| a.attack.clone())),
                            ),
                        });
                    }
                },
            };
            (value, p.claimed_epsilon + offset)
        }
        (m, _) => unreachable!("{m} with a number or baseline is evaluated elsewhere"),
    };
    Ok(GateRule { expr, value, fired: rule.op.holds(value, threshold) })
}

/// A rule over the `baseline` section: `delta.ATTACK.METRIC[.lo|.hi] OP NUMBER`, or
/// `ATTACK.METRIC OP baseline [± NUMBER]` (the new value against the old one).
fn evaluate_baseline(rule: &GateExpr, baseline: Option<&Baseline>) -> Result<GateRule, GateError> {
    let expr = rule.text.clone();
    let Some(b) = baseline else {
        return Err(GateError::NoBaseline { expr });
    };
    if !b.comparable {
        let why: Vec<&str> = b.notes.iter().filter(|n| n.starts_with("not comparable")).map(String::as_str).collect();
        return Err(GateError::NotComparable { expr, why: why.join("; ") });
    }
    let attack = match &rule.attack {
        AttackRef::Max => "max",
        AttackRef::Named(n) => n.as_str(),
    };
    let metric = rule.metric.to_string();
    // `tpr@1e-3` names the compared `tpr@0.001`.
    let same_metric = |label: &str| match (rule.metric, label.strip_prefix("tpr@")) {
        (Metric::TprAt(x), Some(f)) => f.parse::<f64>().is_ok_and(|f| mia_core::evaluate::same_fpr(f, x)),
        _ => label == metric,
    };
    let missing = |why: String| GateError::NotInBaseline {
        expr: expr.clone(),
        attack: attack.to_string(),
        metric: metric.clone(),
        why,
    };
    let Some(a) = b.attacks.iter().find(|a| a.name == attack) else {
        let names = fmt_list(b.attacks.iter().map(|a| a.name.clone()));
        return Err(missing(format!(" (it compares: {names}; the attack is missing in one report)")));
    };
    let Some(m) = a.metrics.iter().find(|m| same_metric(&m.metric)) else {
        return Err(missing(" (missing in one report; see the baseline's notes)".into()));
    };
    if !m.supported {
        let why = m.note.clone().unwrap_or_else(|| "a figure the sample cannot support".into());
        return Err(GateError::Unsupported { expr, attack: attack.to_string(), metric, why });
    }
    let (value, threshold) = match (rule.rhs, rule.bound) {
        (Rhs::Baseline(offset), _) => (m.new, m.old + offset),
        (Rhs::Number(t), Bound::Value) => (m.delta, t),
        (Rhs::Number(t), bound) => match m.ci {
            Some([lo, hi]) => (if bound == Bound::Lo { lo } else { hi }, t),
            None => {
                return Err(GateError::MissingInterval {
                    expr,
                    attack: attack.to_string(),
                    metric: format!("the difference in {metric}"),
                    bound: bound_name(bound),
                    why: m.note.clone().unwrap_or_else(|| "the baseline gives none".into()),
                });
            }
        },
        (Rhs::ClaimedEpsilon(_), _) => unreachable!("claimed_epsilon rules are evaluated by evaluate_claim"),
    };
    if !(value.is_finite() && threshold.is_finite()) {
        return Err(GateError::NotFinite { expr, attack: attack.to_string(), metric });
    }
    Ok(GateRule { expr, value, fired: rule.op.holds(value, threshold) })
}

/// Evaluates rules over a comparison alone (`mia diff OLD NEW`): each must read the
/// baseline (`delta.` on the left or `baseline` on the right). Verdict as [`evaluate`].
pub fn evaluate_baseline_rules(rules: &[GateExpr], baseline: &Baseline) -> Result<GateResult, GateError> {
    let rules: Vec<GateRule> = rules
        .iter()
        .map(|r| {
            if r.delta || matches!(r.rhs, Rhs::Baseline(_)) {
                evaluate_baseline(r, Some(baseline))
            } else {
                Err(GateError::NotAComparison { expr: r.text.clone() })
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(verdict(rules))
}

fn verdict(rules: Vec<GateRule>) -> GateResult {
    let verdict = if rules.is_empty() {
        "none"
    } else if rules.iter().any(|r| r.fired) {
        "fail"
    } else {
        "pass"
    };
    GateResult { verdict: verdict.to_string(), rules }
}

/// Evaluates every rule against the report (whose `gate` field is ignored). Verdict:
/// `none` without rules, `fail` when any rule holds, else `pass`.
pub fn evaluate(rules: &[GateExpr], report: &Report) -> Result<GateResult, GateError> {
    let rules: Vec<GateRule> = rules.iter().map(|r| evaluate_one(r, report)).collect::<Result<_, _>>()?;
    Ok(verdict(rules))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::*;
    use mia_core::Estimate;
    use mia_core::evaluate::{EvalConfig, Overfitting};

    fn est(value: f64, ci: Option<[f64; 2]>) -> Estimate {
        let note = ci.is_none().then(|| "no interval: bootstrap disabled".to_string());
        Estimate::new(value, ci, note)
    }

    /// Two hand-made attacks, `weak` then `strong`, with targets 1e-4, 1e-3, 0.1 and
    /// 1,000 non-members (so only 0.1 is supported).
    fn attack(name: &str, auc: Estimate, adv: Estimate, eps: f64, tpr: [(f64, Option<[f64; 2]>); 3]) -> AttackReport {
        let targets = [1e-4, 1e-3, 0.1];
        let tpr: Vec<(f64, f64, Option<[f64; 2]>)> = targets.iter().zip(tpr).map(|(&f, (t, ci))| (f, t, ci)).collect();
        crate::report::testing::attack(name, auc, adv, eps, &tpr)
    }

    mod testdata {
        use super::*;
        pub fn report() -> Report {
            let attacks = vec![
                attack(
                    "weak",
                    est(0.6, Some([0.50, 0.95])),
                    est(0.2, Some([0.1, 0.3])),
                    0.25,
                    [(0.0, Some([0.0, 0.01])), (0.002, Some([0.0, 0.01])), (0.15, Some([0.1, 0.2]))],
                ),
                attack(
                    "strong",
                    est(0.8, Some([0.64, 0.90])),
                    est(0.5, None),
                    1.5,
                    [(0.06, Some([0.0, 0.1])), (0.1, Some([0.05, 0.15])), (0.7, Some([0.6, 0.8]))],
                ),
            ];
            let eval = EvalConfig { fpr_targets: vec![1e-4, 1e-3, 0.1], ..Default::default() };
            let loss = est(0.5, Some([0.4, 0.6]));
            let mut r = crate::report::testing::report(attacks, 1000, 1000, eval);
            r.outputs = Some(OutputsInfo { kind: "loss".into(), n_classes: None, saturated_records: 0 });
            r.overfitting = Some(Overfitting {
                accuracy_members: None,
                accuracy_non_members: None,
                accuracy_gap: None,
                mean_loss_members: loss.clone(),
                mean_loss_non_members: loss.clone(),
                loss_gap: loss,
            });
            r
        }
    }

    fn p(s: &str) -> GateExpr {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_operators_numbers_and_whitespace() {
        let cases: &[(&str, Op, f64)] = &[
            ("max.auc>0.6", Op::Gt, 0.6),
            ("max.auc >= .5", Op::Ge, 0.5),
            ("  loss.advantage<  -0.25 ", Op::Lt, -0.25),
            ("loss.advantage <= 5.", Op::Le, 5.0),
            ("loss.auc==1e-3", Op::Eq, 1e-3),
            ("loss.auc != +2E+1", Op::Ne, 20.0),
            ("loss.auc > -1e-3", Op::Gt, -1e-3),
        ];
        for &(s, op, t) in cases {
            let g = p(s);
            assert_eq!((g.op, g.rhs), (op, Rhs::Number(t)), "{s}");
            assert_eq!(g.text, s.trim());
        }
    }

    #[test]
    fn parses_attacks_metrics_and_bounds() {
        let g = p("max.auc.lo > 0.55");
        assert_eq!((g.attack, g.metric, g.bound), (AttackRef::Max, Metric::Auc, Bound::Lo));
        let g = p("modified_entropy_per_class.balanced_accuracy.hi>0.5");
        assert_eq!(g.attack, AttackRef::Named("modified_entropy_per_class".into()));
        assert_eq!((g.metric, g.bound), (Metric::BalancedAccuracy, Bound::Hi));
        let g = p("eps_lower_bound > 1");
        assert_eq!((g.attack, g.metric, g.bound), (AttackRef::Max, Metric::EpsLowerBound, Bound::Value));
        let g = p("phi.eps_lower_bound>=0.5");
        assert_eq!((g.attack, g.metric), (AttackRef::Named("phi".into()), Metric::EpsLowerBound));
        assert_eq!(p("loss.tpr@0.001 > 0.01").metric, Metric::TprAt(0.001));
        assert_eq!(p("loss.tpr@1e-3 > 0.01").metric, Metric::TprAt(1e-3));
        assert_eq!(p("loss.tpr@.1 > 0.01").metric, Metric::TprAt(0.1));
        let g = p("max.tpr@0.01.lo > 0.02");
        assert_eq!((g.metric, g.bound), (Metric::TprAt(0.01), Bound::Lo));
        assert_eq!(p("lira-offline.auc > 0.5").attack, AttackRef::Named("lira-offline".into()));
    }

    fn syntax_err(s: &str) -> String {
        match parse(s) {
            Err(e @ GateError::Syntax { .. }) => e.to_string(),
            other => panic!("{s}: expected a syntax error, got {other:?}"),
        }
    }

    /// Found by fuzzing (FUZZING.md, F2): a rule holding a line break gave a two-line error.
    #[test]
    fn control_characters_give_a_one_line_error() {
        for s in ["max.t\rpr@0.5 > ma0.1", "max.auc\n> 0.6", "max.auc > 0.6\u{0}"] {
            let e = syntax_err(s);
            assert_eq!(e.lines().count(), 1, "{e:?}");
            assert!(e.contains("control character"), "{e}");
        }
    }

    #[test]
    fn rejects_bad_syntax_with_the_expression_and_what_was_expected() {
        let e = syntax_err("max.auc 0.6");
        assert!(e.contains("`max.auc 0.6`") && e.contains("expected a comparison operator"), "{e}");
        assert!(syntax_err("max.auc => 0.6").contains("instead of `=>`"));
        assert!(syntax_err("max.auc = 0.6").contains("instead of `=`"));
        assert!(syntax_err("max.auc > ").contains("a number after `>`"));
        assert!(syntax_err("max.auc > abc").contains("got `abc`"));
        assert!(syntax_err("max.auc > inf").contains("got `inf`"));
        assert!(syntax_err("max.auc > NaN").contains("finite number"));
        assert!(syntax_err("max.auc > 1e").contains("got `1e`"));
        assert!(syntax_err("max.auc > .").contains("got `.`"));
        assert!(syntax_err("max.auc > 0x10").contains("got `0x10`"));
        assert!(syntax_err("> 0.5").contains("a metric before `>`"));
        assert!(syntax_err("auc > 0.5").contains("`max.auc`"));
        assert!(syntax_err("tpr@0.1 > 0.5").contains("`max.tpr@0.1`"));
        assert!(syntax_err("foo > 0.5").contains("ATTACK.METRIC"));
        assert!(syntax_err("max . auc > 0.5").contains("no spaces"));
        assert!(syntax_err(".auc > 0.5").contains("attack name"));
        assert!(syntax_err("max.tpr@ > 0.5").contains("after `tpr@`"));
        assert!(syntax_err("max.tpr@0 > 0.5").contains("(0, 1]"));
        assert!(syntax_err("max.tpr@2 > 0.5").contains("(0, 1]"));
        assert!(syntax_err("max.tpr@-1e-3 > 0.5").contains("(0, 1]"));
        assert!(syntax_err("").contains("ATTACK.METRIC"));
        // One line.
        assert!(!syntax_err("max.auc 0.6").contains('\n'));
    }

    #[test]
    fn rejects_unknown_metrics_listing_the_known_ones() {
        let e = parse("max.aucc > 0.5").unwrap_err();
        assert!(matches!(e, GateError::UnknownMetric { ref metric, .. } if metric == "aucc"));
        let s = e.to_string();
        assert!(
            s.contains("unknown metric `aucc`")
                && s.contains("auc, advantage, balanced_accuracy, eps_lower_bound, tpr@"),
            "{s}"
        );
        assert!(syntax_err("max.auc.mid > 0.5").contains("`.lo` or `.hi` after `max.auc`, got `.mid`"));
        assert!(matches!(parse("max.tpr > 0.5"), Err(GateError::UnknownMetric { .. })));
    }

    fn eval1(s: &str) -> Result<GateRule, GateError> {
        let r = testdata::report();
        evaluate(&[p(s)], &r).map(|g| g.rules.into_iter().next().unwrap())
    }

    #[test]
    fn resolves_named_attacks_and_max() {
        let r = testdata::report();
        let (a, b) = (&r.attacks[0].evaluation, &r.attacks[1].evaluation);
        assert!(b.auc.value > a.auc.value, "test data: second attack is the stronger one");
        assert_eq!(eval1("weak.auc > 0").unwrap().value, a.auc.value);
        assert_eq!(eval1("max.auc > 0").unwrap().value, b.auc.value);
        assert_eq!(eval1("max.advantage > 0").unwrap().value, a.advantage.value.max(b.advantage.value));
        assert_eq!(eval1("strong.balanced_accuracy > 0").unwrap().value, b.balanced_accuracy.value);
        // Max of a bound is the max over attacks of that bound (here from different attacks).
        assert_eq!(eval1("max.auc.lo > 0").unwrap().value, 0.64);
        assert_eq!(eval1("max.auc.hi > 0").unwrap().value, 0.95);
        assert_eq!(eval1("strong.auc.hi > 0").unwrap().value, 0.90);
        assert_eq!(eval1("eps_lower_bound > 0").unwrap().value, 1.5);
        assert_eq!(eval1("max.eps_lower_bound > 0").unwrap().value, 1.5);
        assert_eq!(eval1("weak.eps_lower_bound > 0").unwrap().value, 0.25);
    }

    #[test]
    fn tpr_targets_match_within_relative_tolerance() {
        let mut r = testdata::report();
        // Mark the 1e-3 target measurable so the rules below evaluate instead of erring.
        for a in &mut r.attacks {
            a.evaluation.tpr_at_fpr[1].supported = true;
        }
        let t1 = r.attacks[1].evaluation.tpr_at_fpr[1].tpr;
        for s in ["strong.tpr@0.001 > 0", "strong.tpr@1e-3 > 0", "strong.tpr@1.0000000001e-3 > 0", "max.tpr@1E-3 > 0"] {
            let g = evaluate(&[p(s)], &r).map(|g| g.rules.into_iter().next().unwrap());
            assert_eq!(g.unwrap().value, t1, "{s}");
        }
        assert_eq!(eval1("strong.tpr@0.1.lo > 0").unwrap().value, r.attacks[1].evaluation.tpr_at_fpr[2].ci.unwrap()[0]);
        let e = eval1("strong.tpr@0.002 > 0").unwrap_err();
        assert!(matches!(e, GateError::FprNotTarget { .. }));
        let s = e.to_string();
        assert!(s.contains("FPR 0.002 is not among") && s.contains("0.0001, 0.001, 0.1"), "{s}");
        assert!(matches!(eval1("strong.tpr@1.00001e-3 > 0"), Err(GateError::FprNotTarget { .. })));
    }

    /// A rule over a TPR the sample cannot measure neither passes nor fails: it is an error
    /// that names the rule and the counts (it used to evaluate with a warning).
    #[test]
    fn unsupported_targets_are_errors_naming_the_counts() {
        for rule in ["max.tpr@1e-4 > 0.05", "weak.tpr@1e-4.lo > 0.5", "max.tpr@1e-4 < 2"] {
            let e = eval1(rule).unwrap_err();
            assert!(matches!(e, GateError::Unsupported { .. }), "{e}");
            let s = e.to_string();
            assert!(s.contains(rule) && s.contains("1000 non-members") && s.contains("100000 non-members"), "{s}");
        }
        assert!(eval1("max.tpr@0.1 > 0.05").is_ok());
        assert!(eval1("max.auc > 0.05").is_ok());
    }

    /// An AUC marked unsupported (too few members) makes every rule over it an error.
    #[test]
    fn small_class_figures_are_errors() {
        let mut r = testdata::report();
        for a in &mut r.attacks {
            a.evaluation.auc.supported = false;
            a.evaluation.auc.note = Some("1 members and 1999 non-members: fewer than 30 in a class".into());
        }
        let rules = [parse("max.auc.lo > 0.6").unwrap()];
        let e = evaluate(&rules, &r).unwrap_err();
        let s = e.to_string();
        assert!(matches!(e, GateError::Unsupported { .. }) && s.contains("max.auc.lo > 0.6"), "{s}");
        assert!(s.contains("1 members and 1999 non-members"), "{s}");
        // Other figures of the same report still evaluate.
        assert!(evaluate(&[parse("max.eps_lower_bound > 100").unwrap()], &r).is_ok());
    }

    #[test]
    fn unknown_attack_lists_the_available_ones() {
        let e = eval1("lira.auc > 0.5").unwrap_err();
        let s = e.to_string();
        assert!(matches!(e, GateError::UnknownAttack { .. }));
        assert!(s.contains("unknown attack `lira`") && s.contains("available: max, weak, strong"), "{s}");
    }

    #[test]
    fn missing_intervals_are_errors() {
        let e = eval1("max.eps_lower_bound.lo > 0").unwrap_err();
        assert!(matches!(e, GateError::MissingInterval { bound: "lo", .. }), "{e}");
        assert!(e.to_string().contains("one-sided"));
        // The strong attack has no advantage interval in the test data (bootstrap note).
        let e = eval1("strong.advantage.hi > 0").unwrap_err();
        assert!(e.to_string().contains("has no interval") && e.to_string().contains("bootstrap disabled"), "{e}");
        // With `max`, any attack lacking the bound is an error rather than a partial max.
        assert!(matches!(eval1("max.advantage.lo > 0"), Err(GateError::MissingInterval { .. })));
        assert!(eval1("weak.advantage.lo > 0").is_ok());
    }

    #[test]
    fn verdicts() {
        let r = testdata::report();
        assert_eq!(evaluate(&[], &r).unwrap().verdict, "none");
        let g = evaluate(&[p("max.auc > 0.99"), p("weak.auc < 0.1")], &r).unwrap();
        assert_eq!(g.verdict, "pass");
        assert!(g.rules.iter().all(|r| !r.fired));
        let g = evaluate(&[p("max.auc > 0.99"), p("max.auc >= 0.5")], &r).unwrap();
        assert_eq!(g.verdict, "fail");
        assert_eq!(g.rules.iter().map(|r| r.fired).collect::<Vec<_>>(), vec![false, true]);
        assert_eq!(g.rules[1].expr, "max.auc >= 0.5");
        // Every operator, at equality.
        let v = r.attacks[0].evaluation.auc.value;
        for (op, want) in [(">", false), (">=", true), ("<", false), ("<=", true), ("==", true), ("!=", false)] {
            let g = evaluate(&[p(&format!("weak.auc {op} {v:?}"))], &r).unwrap();
            assert_eq!(g.rules[0].fired, want, "{op}");
        }
        // Negative thresholds.
        assert!(evaluate(&[p("weak.advantage > -1")], &r).unwrap().rules[0].fired);
        // An error in any rule is an error of the whole gate.
        assert!(evaluate(&[p("max.auc > 0.5"), p("nope.auc > 0.5")], &r).is_err());
    }

    #[test]
    fn a_report_without_attacks_is_an_error() {
        let mut r = testdata::report();
        r.attacks.clear();
        assert!(matches!(evaluate(&[p("max.auc > 0.5")], &r), Err(GateError::NoAttacks { .. })));
        assert_eq!(evaluate(&[], &r).unwrap().verdict, "none");
    }

    #[test]
    fn from_str_is_parse() {
        let g: GateExpr = "max.auc > 0.5".parse().unwrap();
        assert_eq!(g, p("max.auc > 0.5"));
    }
}
