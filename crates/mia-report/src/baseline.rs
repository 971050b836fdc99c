//! Comparison with an earlier report ("compare with the last release"): per attack and
//! headline metric, the old and the new value, the difference new − old and an interval
//! for it, plus the same for the reports' `max` blocks. The old report is read as JSON, so
//! a report written by an older tool version can be compared.
//!
//! Two methods for the difference's interval:
//! - `independent_intervals` treats the two audits as independent and adds the reports'
//!   interval half-widths in quadrature, each side separately;
//! - `paired_bootstrap` resamples the records both audits scored (members and non-members
//!   separately, the same resample for both audits) and takes the percentile interval of
//!   the per-resample differences (Efron & Tibshirani, "An Introduction to the Bootstrap",
//!   1993), for AUC and TPR at each FPR target.

use crate::report::Report;
use mia_core::bootstrap::{BootstrapDraws, bootstrap_roc, percentile_interval};
use mia_core::evaluate::same_fpr;
use mia_core::roc::{FprRule, RankedScores};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// [`Baseline::method`] when AUC and TPR intervals come from [`paired`].
pub const PAIRED_BOOTSTRAP: &str = "paired_bootstrap";
/// [`Baseline::method`] when every interval comes from the two reports' own intervals.
pub const INDEPENDENT_INTERVALS: &str = "independent_intervals";

/// Per attack and metric, old vs new with the difference and its interval.
#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    /// The old report's path, as given.
    pub source: String,
    /// The old report's schema version (empty when it states none).
    pub schema_version: String,
    /// [`PAIRED_BOOTSTRAP`] or [`INDEPENDENT_INTERVALS`].
    pub method: String,
    /// Records both audits scored, with the paired bootstrap.
    pub shared_records: Option<usize>,
    /// Attacks in both reports, in the new report's order, then `max`.
    pub attacks: Vec<BaselineAttack>,
    pub notes: Vec<String>,
    /// `false` when the reports cannot be compared meaningfully (a different schema major
    /// version, or different record counts); the notes say why.
    pub comparable: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaselineAttack {
    pub name: String,
    pub metrics: Vec<BaselineMetric>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaselineMetric {
    /// `auc`, `advantage`, `eps_lower_bound` or `tpr@FPR` (FPR formatted as the gate does).
    pub metric: String,
    pub old: f64,
    pub new: f64,
    /// `new − old`.
    pub delta: f64,
    /// Interval of `delta` at the comparison's confidence.
    pub ci: Option<[f64; 2]>,
    /// `false` when either report marks the figure unsupported by its sample: the difference
    /// is noise, and gate rules over it stop with an error.
    pub supported: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For `max` only: the worst attack in the old and in the new report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst: Option<[String; 2]>,
}

/// Errors of the paired comparison and of reading per-record files; one line each.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: line {line}{}: {message}", column_text(.column))]
    Csv { path: String, line: u64, column: Option<String>, message: String },
    #[error("{side} records: {what} has {got} values for {expected} ids")]
    Length { side: &'static str, what: String, expected: usize, got: usize },
    #[error("{side} records: id `{}` appears more than once", .id.escape_debug())]
    DuplicateId { side: &'static str, id: String },
    #[error("{side} records: attack `{}` appears more than once", .attack.escape_debug())]
    DuplicateAttack { side: &'static str, attack: String },
    #[error("record `{}` is {} in the old records and {} in the new ones", .id.escape_debug(), role(*.old), role(*.new))]
    MembershipDiffers { id: String, old: bool, new: bool },
    #[error("{side} records: the `{}` score of record `{}` is NaN", .attack.escape_debug(), .id.escape_debug())]
    NanScore { side: &'static str, attack: String, id: String },
    #[error(
        "the old and new records share {shared} ids ({members} members, {non_members} non-members); the paired bootstrap needs at least one of each"
    )]
    TooFewShared { shared: usize, members: usize, non_members: usize },
    #[error("{0}")]
    Invalid(String),
}

fn column_text(c: &Option<String>) -> String {
    c.as_ref().map(|c| format!(", column {c}")).unwrap_or_default()
}

fn role(member: bool) -> &'static str {
    if member { "a member" } else { "a non-member" }
}

/// One audit's per-record scores, as [`paired`] reads them.
#[derive(Debug, Clone, Copy)]
pub struct PairedRecords<'a> {
    /// Unique record ids.
    pub ids: &'a [String],
    pub member: &'a [bool],
    /// (attack name, one score per record).
    pub scores: &'a [(String, Vec<f64>)],
}

/// Per-record scores owned, as [`read_records_csv`] returns them.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedRecords {
    pub ids: Vec<String>,
    pub member: Vec<bool>,
    pub scores: Vec<(String, Vec<f64>)>,
}

impl OwnedRecords {
    pub fn as_paired(&self) -> PairedRecords<'_> {
        PairedRecords { ids: &self.ids, member: &self.member, scores: &self.scores }
    }
}

/// One figure of the paired comparison, on the shared records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedDiff {
    pub old: f64,
    pub new: f64,
    /// `new − old`.
    pub delta: f64,
    /// Percentile interval of the per-resample differences (`None` without resamples).
    pub ci: Option<[f64; 2]>,
}

/// One attack scored in both audits.
#[derive(Debug, Clone)]
pub struct PairedAttack {
    pub name: String,
    pub auc: PairedDiff,
    /// One per FPR target, in [`PairedDiffs::fpr_targets`] order.
    pub tpr_at_fpr: Vec<PairedDiff>,
    old_draws: BootstrapDraws,
    new_draws: BootstrapDraws,
}

/// The paired bootstrap of the differences between two audits of the same records.
#[derive(Debug, Clone)]
pub struct PairedDiffs {
    /// Records in both audits (the ones resampled).
    pub shared: usize,
    pub members: usize,
    pub non_members: usize,
    /// Records only in the old / only in the new audit, left out.
    pub old_only: usize,
    pub new_only: usize,
    pub fpr_targets: Vec<f64>,
    pub rule: FprRule,
    pub resamples: usize,
    pub confidence: f64,
    pub seed: u64,
    /// Attacks scored in both audits, in the new audit's order.
    pub attacks: Vec<PairedAttack>,
    /// Attacks scored in only one audit (not compared).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Auc,
    Advantage,
    Eps,
    Tpr(f64),
}

impl Kind {
    fn label(self) -> String {
        match self {
            Kind::Auc => "auc".into(),
            Kind::Advantage => "advantage".into(),
            Kind::Eps => "eps_lower_bound".into(),
            Kind::Tpr(f) => format!("tpr@{f}"),
        }
    }
}

impl PairedDiffs {
    /// New attack `new_attack` minus old attack `old_attack` (the same attack, or the two
    /// reports' worst ones), on the same resamples.
    fn diff(&self, old_attack: &str, new_attack: &str, kind: Kind) -> Option<PairedDiff> {
        let o = self.attacks.iter().find(|a| a.name == old_attack)?;
        let n = self.attacks.iter().find(|a| a.name == new_attack)?;
        let (ov, nv, od, nd) = match kind {
            Kind::Auc => (o.auc.old, n.auc.new, &o.old_draws.auc, &n.new_draws.auc),
            Kind::Tpr(f) => {
                let k = self.fpr_targets.iter().position(|&t| same_fpr(t, f))?;
                (o.tpr_at_fpr[k].old, n.tpr_at_fpr[k].new, &o.old_draws.tpr_at_fpr[k], &n.new_draws.tpr_at_fpr[k])
            }
            Kind::Advantage | Kind::Eps => return None,
        };
        Some(diff_from_draws(ov, nv, od, nd, self.confidence))
    }
}

fn diff_from_draws(old: f64, new: f64, old_draws: &[f64], new_draws: &[f64], confidence: f64) -> PairedDiff {
    let d: Vec<f64> = new_draws.iter().zip(old_draws).map(|(n, o)| n - o).collect();
    PairedDiff { old, new, delta: new - old, ci: percentile_interval(&d, confidence) }
}

/// [`paired_with_rule`] with TPR at FPR ≤ target ([`FprRule::AtMost`], the evaluation's
/// default).
pub fn paired(
    old: PairedRecords,
    new: PairedRecords,
    fpr_targets: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Result<PairedDiffs, BaselineError> {
    paired_with_rule(old, new, fpr_targets, FprRule::AtMost, resamples, confidence, seed)
}

/// Checks one side's shapes and uniqueness; returns its id → row index.
fn index_side<'a>(r: &PairedRecords<'a>, side: &'static str) -> Result<HashMap<&'a str, usize>, BaselineError> {
    let n = r.ids.len();
    if r.member.len() != n {
        return Err(BaselineError::Length { side, what: "membership".into(), expected: n, got: r.member.len() });
    }
    let mut names = std::collections::HashSet::new();
    for (name, s) in r.scores {
        if s.len() != n {
            return Err(BaselineError::Length { side, what: format!("attack `{name}`"), expected: n, got: s.len() });
        }
        if !names.insert(name.as_str()) {
            return Err(BaselineError::DuplicateAttack { side, attack: name.clone() });
        }
    }
    let mut index = HashMap::with_capacity(n);
    for (i, id) in r.ids.iter().enumerate() {
        if index.insert(id.as_str(), i).is_some() {
            return Err(BaselineError::DuplicateId { side, id: id.clone() });
        }
    }
    Ok(index)
}

/// Matches the two audits' records by id and bootstraps the differences new − old of AUC
/// (Mann–Whitney, ties as one half) and of TPR at each FPR target (the largest TPR whose
/// FPR meets the target under `rule`, thresholds only between distinct scores), for every
/// attack scored in both, exactly as `mia_core::evaluate` computes them.
///
/// Ids must be unique on each side; a shared id whose membership differs is an error.
/// Records in only one audit are counted and left out. Each resample draws the shared
/// members and non-members with replacement, separately, and evaluates both audits'
/// attacks on it (`mia_core::bootstrap::bootstrap_roc`, resample b seeded by (seed, b)).
/// The shared records are ordered by id, so the result depends neither on the files' row
/// order nor on the thread count.
pub fn paired_with_rule(
    old: PairedRecords,
    new: PairedRecords,
    fpr_targets: &[f64],
    rule: FprRule,
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Result<PairedDiffs, BaselineError> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(BaselineError::Invalid(format!("confidence must lie in (0, 1), got {confidence}")));
    }
    if let Some(f) = fpr_targets.iter().find(|&&f| !(f > 0.0 && f <= 1.0)) {
        return Err(BaselineError::Invalid(format!("FPR targets must lie in (0, 1], got {f}")));
    }
    index_side(&old, "old")?;
    let new_index = index_side(&new, "new")?;
    let mut shared: Vec<(usize, usize)> = Vec::new();
    for (i, id) in old.ids.iter().enumerate() {
        if let Some(&j) = new_index.get(id.as_str()) {
            if old.member[i] != new.member[j] {
                return Err(BaselineError::MembershipDiffers {
                    id: id.clone(),
                    old: old.member[i],
                    new: new.member[j],
                });
            }
            shared.push((i, j));
        }
    }
    shared.sort_unstable_by(|a, b| old.ids[a.0].cmp(&old.ids[b.0]));
    let member: Vec<bool> = shared.iter().map(|&(i, _)| old.member[i]).collect();
    let members = member.iter().filter(|&&m| m).count();
    let non_members = member.len() - members;
    if members == 0 || non_members == 0 {
        return Err(BaselineError::TooFewShared { shared: shared.len(), members, non_members });
    }

    let mut notes = Vec::new();
    let only = |a: &PairedRecords, b: &PairedRecords| -> Vec<String> {
        a.scores.iter().filter(|(n, _)| !b.scores.iter().any(|(m, _)| m == n)).map(|(n, _)| format!("`{n}`")).collect()
    };
    for (side, names) in [("old", only(&old, &new)), ("new", only(&new, &old))] {
        if !names.is_empty() {
            notes.push(format!("attacks with scores only in the {side} records (not compared): {}", names.join(", ")));
        }
    }
    let pick = |r: &PairedRecords, side: &'static str, name: &str, s: &[f64]| -> Result<Vec<f64>, BaselineError> {
        shared
            .iter()
            .map(|&(i, j)| {
                let k = if side == "old" { i } else { j };
                if s[k].is_nan() {
                    Err(BaselineError::NanScore { side, attack: name.to_string(), id: r.ids[k].clone() })
                } else {
                    Ok(s[k])
                }
            })
            .collect()
    };
    let mut names = Vec::new();
    let mut ranked = Vec::new();
    for (name, new_scores) in new.scores {
        if let Some((_, old_scores)) = old.scores.iter().find(|(n, _)| n == name) {
            ranked.push(RankedScores::new(&pick(&old, "old", name, old_scores)?, &member));
            ranked.push(RankedScores::new(&pick(&new, "new", name, new_scores)?, &member));
            names.push(name.clone());
        }
    }
    let refs: Vec<&RankedScores> = ranked.iter().collect();
    let mut draws = bootstrap_roc(&refs, &member, fpr_targets, rule, resamples, seed).into_iter();
    let mut attacks = Vec::with_capacity(names.len());
    for (a, name) in names.into_iter().enumerate() {
        let (old_draws, new_draws) = (draws.next().expect("two per attack"), draws.next().expect("two per attack"));
        let om = ranked[2 * a].metrics(fpr_targets, rule);
        let nm = ranked[2 * a + 1].metrics(fpr_targets, rule);
        let auc = diff_from_draws(om.auc, nm.auc, &old_draws.auc, &new_draws.auc, confidence);
        let tpr_at_fpr = (0..fpr_targets.len())
            .map(|k| {
                let (o, n) = (om.tpr_at_fpr[k].0, nm.tpr_at_fpr[k].0);
                diff_from_draws(o, n, &old_draws.tpr_at_fpr[k], &new_draws.tpr_at_fpr[k], confidence)
            })
            .collect();
        attacks.push(PairedAttack { name, auc, tpr_at_fpr, old_draws, new_draws });
    }
    Ok(PairedDiffs {
        shared: shared.len(),
        members,
        non_members,
        old_only: old.ids.len() - shared.len(),
        new_only: new.ids.len() - shared.len(),
        fpr_targets: fpr_targets.to_vec(),
        rule,
        resamples,
        confidence,
        seed,
        attacks,
        notes,
    })
}

// ---------------------------------------------------------------------------------------
// Reading a report as JSON (the old one as given, the new one serialised the same way).

/// One figure as a report states it.
#[derive(Debug, Clone)]
struct Fig {
    value: f64,
    ci: Option<[f64; 2]>,
    note: Option<String>,
    supported: bool,
}

#[derive(Debug, Default)]
struct SideAttack {
    auc: Option<Fig>,
    advantage: Option<Fig>,
    eps: Option<f64>,
    tpr: Vec<(f64, Fig)>,
}

impl SideAttack {
    fn fig(&self, kind: Kind) -> Option<Fig> {
        match kind {
            Kind::Auc => self.auc.clone(),
            Kind::Advantage => self.advantage.clone(),
            Kind::Eps => self.eps.map(|value| Fig { value, ci: None, note: None, supported: true }),
            Kind::Tpr(f) => self.tpr.iter().find(|(t, _)| same_fpr(*t, f)).map(|(_, x)| x.clone()),
        }
    }
}

/// A report's `max` block: per metric, (worst attack, value); TPRs with their target and
/// supported flag.
#[derive(Debug, Default)]
struct SideMax {
    auc: Option<(String, f64)>,
    advantage: Option<(String, f64)>,
    eps: Option<(String, f64)>,
    tpr: Vec<(f64, String, f64, bool)>,
}

#[derive(Debug, Default)]
struct Side {
    schema_version: Option<String>,
    /// kept, members, non-members.
    rows: Option<[u64; 3]>,
    confidence: Option<f64>,
    fpr_rule: Option<String>,
    bootstrap_min_class_size: Option<u64>,
    attacks: Vec<(String, SideAttack)>,
    max: SideMax,
}

fn num(v: Option<&Value>) -> Option<f64> {
    v?.as_f64().filter(|x| x.is_finite())
}

fn interval(v: Option<&Value>) -> Option<[f64; 2]> {
    match v?.as_array()?.as_slice() {
        [a, b] => Some([num(Some(a))?, num(Some(b))?]),
        _ => None,
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    v?.as_str().map(str::to_string)
}

/// An `Estimate` (`{value, ci, note, supported}`, `supported` written only when false).
fn estimate(v: Option<&Value>) -> Option<Fig> {
    let v = v?;
    Some(Fig {
        value: num(v.get("value"))?,
        ci: interval(v.get("ci")),
        note: text(v.get("note")),
        supported: v.get("supported").and_then(Value::as_bool).unwrap_or(true),
    })
}

fn worst(v: Option<&Value>) -> Option<(String, f64)> {
    let v = v?;
    Some((text(v.get("attack"))?, num(v.get("value"))?))
}

fn read_side(r: &Value) -> Side {
    let attacks = r.get("attacks").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let attacks = attacks
        .iter()
        .filter_map(|a| {
            let name = text(a.get("name"))?;
            let tpr = a.get("tpr_at_fpr").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            let tpr = tpr
                .iter()
                .filter_map(|t| {
                    let fig = Fig {
                        value: num(t.get("tpr"))?,
                        ci: interval(t.get("ci")),
                        note: None,
                        supported: t.get("supported").and_then(Value::as_bool).unwrap_or(true),
                    };
                    Some((num(t.get("fpr"))?, fig))
                })
                .collect();
            let side = SideAttack {
                auc: estimate(a.get("auc")),
                advantage: estimate(a.get("advantage")),
                eps: num(a.get("eps_lower_bound").and_then(|e| e.get("value"))),
                tpr,
            };
            Some((name, side))
        })
        .collect();
    let m = r.get("max");
    let max_tpr = m.and_then(|m| m.get("tpr_at_fpr")).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let max = SideMax {
        auc: worst(m.and_then(|m| m.get("auc"))),
        advantage: worst(m.and_then(|m| m.get("advantage"))),
        eps: worst(m.and_then(|m| m.get("eps_lower_bound"))),
        tpr: max_tpr
            .iter()
            .filter_map(|t| {
                let supported = t.get("supported").and_then(Value::as_bool).unwrap_or(true);
                Some((num(t.get("fpr"))?, text(t.get("attack"))?, num(t.get("tpr"))?, supported))
            })
            .collect(),
    };
    let rows = r.get("rows").and_then(|w| {
        let n = |k: &str| w.get(k).and_then(Value::as_u64);
        Some([n("kept")?, n("members")?, n("non_members")?])
    });
    let settings = r.get("settings");
    Side {
        schema_version: text(r.get("schema_version")),
        rows,
        confidence: num(settings.and_then(|s| s.get("confidence"))),
        fpr_rule: text(settings.and_then(|s| s.get("fpr_rule"))),
        bootstrap_min_class_size: settings.and_then(|s| s.get("bootstrap_min_class_size")).and_then(Value::as_u64),
        attacks,
        max,
    }
}

fn major(version: &str) -> &str {
    version.split('.').next().unwrap_or(version)
}

fn z(confidence: f64) -> f64 {
    mia_core::stats::normal_quantile(0.5 + confidence / 2.0)
}

/// The independent-audits interval of `new − old`: centred on the difference, with
/// half-widths √(hw⁺_old² + hw⁻_new²) below and √(hw⁻_old² + hw⁺_new²) above, hw⁻ / hw⁺
/// each interval's half-width below / above its value (negative half-widths, a value
/// outside its interval, count as 0), scaled by `k_old` / `k_new`.
fn independent(old: f64, old_ci: [f64; 2], k_old: f64, new: f64, new_ci: [f64; 2], k_new: f64) -> [f64; 2] {
    let hw = |v: f64, [lo, hi]: [f64; 2], k: f64| ((v - lo).max(0.0) * k, (hi - v).max(0.0) * k);
    let ((ol, oh), (nl, nh)) = (hw(old, old_ci, k_old), hw(new, new_ci, k_new));
    let d = new - old;
    [d - oh.hypot(nl), d + ol.hypot(nh)]
}

/// What every comparison of one pair of reports shares.
struct Ctx<'a> {
    /// Factors rescaling each report's half-widths to the comparison's confidence.
    k_old: f64,
    k_new: f64,
    paired: Option<&'a PairedDiffs>,
    /// Below this many shared records per class a percentile interval under-covers.
    bootstrap_min_class_size: u64,
}

impl Ctx<'_> {
    /// Compares one figure; `attacks` names the old and the new attack it belongs to.
    fn metric(&self, kind: Kind, old: &Fig, new: &Fig, attacks: (&str, &str)) -> BaselineMetric {
        let mut notes: Vec<String> = Vec::new();
        for (fig, side) in [(old, "old"), (new, "new")] {
            if !fig.supported {
                let why = fig.note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default();
                notes.push(format!("not supported by the sample in the {side} report{why}: the difference is noise"));
            }
        }
        let delta = new.value - old.value;
        let paired = self.paired.and_then(|p| p.diff(attacks.0, attacks.1, kind).map(|d| (p, d)));
        let ci = match (kind, paired) {
            (_, Some((p, d))) => {
                if (d.delta - delta).abs() > 1e-12 {
                    notes.push(format!(
                        "the interval is for the difference on the {} shared records, {}; the reports' figures cover all their records",
                        p.shared, d.delta
                    ));
                }
                if (p.members.min(p.non_members) as u64) < self.bootstrap_min_class_size {
                    notes.push(format!(
                        "{} shared members and {} non-members: fewer than {} in a class, where percentile intervals under-cover",
                        p.members, p.non_members, self.bootstrap_min_class_size
                    ));
                }
                if d.ci.is_none() {
                    notes.push("no interval: the paired bootstrap ran no resamples".into());
                }
                d.ci
            }
            (Kind::Eps, None) => {
                notes.push("no interval: the ε bound is itself a one-sided confidence bound".into());
                None
            }
            (_, None) => {
                if let Some(p) = self.paired {
                    let what = match kind {
                        Kind::Advantage => {
                            "the advantage, a maximum over thresholds, is not bootstrapped (its percentile interval is biased)"
                                .to_string()
                        }
                        Kind::Tpr(f) if !p.fpr_targets.iter().any(|&t| same_fpr(t, f)) => {
                            format!("FPR {f} is not among the paired bootstrap's targets")
                        }
                        _ => "the attack has no per-record scores in both record files".to_string(),
                    };
                    notes.push(format!("interval from the reports' intervals treated as independent: {what}"));
                }
                match (old.ci, new.ci) {
                    (Some(o), Some(n)) => Some(independent(old.value, o, self.k_old, new.value, n, self.k_new)),
                    _ => {
                        for (fig, side) in [(old, "old"), (new, "new")] {
                            if fig.ci.is_none() {
                                let why = fig.note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default();
                                notes.push(format!("no interval: the {side} report gives none{why}"));
                            }
                        }
                        None
                    }
                }
            }
        };
        BaselineMetric {
            metric: kind.label(),
            old: old.value,
            new: new.value,
            delta,
            ci,
            supported: old.supported && new.supported,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            worst: None,
        }
    }
}

fn push_once(notes: &mut Vec<String>, note: String) {
    if !notes.contains(&note) {
        notes.push(note);
    }
}

/// The FPR targets of both lists (new order), noting those in only one.
fn common_targets(old: &[f64], new: &[f64], notes: &mut Vec<String>) -> Vec<f64> {
    for (side, a, b) in [("old", old, new), ("new", new, old)] {
        for &t in a.iter().filter(|&&t| !b.iter().any(|&u| same_fpr(t, u))) {
            push_once(notes, format!("FPR target {t} is only in the {side} report (not compared)"));
        }
    }
    new.iter().copied().filter(|&t| old.iter().any(|&u| same_fpr(t, u))).collect()
}

fn list(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// Compares the new report with an old one read as JSON (`old_source` is its path, as
/// given). Reads `schema_version`, `rows`, `settings.confidence`, `settings.fpr_rule`,
/// each attack's `auc`, `advantage` (`{value, ci}`), `eps_lower_bound.value` and
/// `tpr_at_fpr[].{fpr, tpr, ci, supported}`, and the `max` block; what an older report
/// lacks is left out with a note.
///
/// Attacks in only one report are named in a note and not compared. A different schema
/// major version, or different record counts (`rows.kept`, `members`, `non_members`), set
/// `comparable` to false with a note; everything that can be listed still is.
///
/// Intervals are at `confidence`: each report's intervals are rescaled from the report's
/// own confidence under a normal approximation when it differs. With `paired` (from
/// [`paired_with_rule`] on both audits' per-record scores) the AUC and TPR intervals are
/// its percentile intervals (method `paired_bootstrap`); otherwise, and for the advantage,
/// they combine the reports' intervals as independent (method `independent_intervals`).
/// `max` compares the two `max` blocks: the old worst attack's value with the new worst
/// attack's, its interval from those two attacks' intervals (or their paired draws).
pub fn from_reports(
    old: &Value,
    old_source: &str,
    new: &Report,
    confidence: f64,
    paired: Option<&PairedDiffs>,
) -> Baseline {
    match serde_json::to_value(new) {
        Ok(new_json) => from_values(old, old_source, &new_json, confidence, paired),
        Err(e) => {
            let mut b = from_values(old, old_source, &Value::Null, confidence, paired);
            b.notes.push(format!("the new report could not be read as JSON: {e}"));
            b
        }
    }
}

/// [`from_reports`] with the new report read as JSON too (`mia diff` of two report files).
pub fn from_values(
    old: &Value,
    old_source: &str,
    new_json: &Value,
    confidence: f64,
    paired: Option<&PairedDiffs>,
) -> Baseline {
    let mut notes = Vec::new();
    let (o, n) = (read_side(old), read_side(new_json));
    let mut comparable = true;

    match &o.schema_version {
        None => {
            comparable = false;
            notes.push("not comparable: the old report states no schema_version".into());
        }
        Some(v) if major(v) != major(crate::SCHEMA_VERSION) => {
            comparable = false;
            notes.push(format!(
                "not comparable: the old report's schema {v} has major version {}, this tool writes {} (major {}); fields may differ in meaning",
                major(v),
                crate::SCHEMA_VERSION,
                major(crate::SCHEMA_VERSION)
            ));
        }
        Some(_) => {}
    }
    match (o.rows, n.rows) {
        (Some(a), Some(b)) if a != b => {
            comparable = false;
            notes.push(format!(
                "not comparable: the record sets differ (kept, members, non-members: old {}/{}/{}, new {}/{}/{})",
                a[0], a[1], a[2], b[0], b[1], b[2]
            ));
        }
        (Some(_), Some(_)) => {}
        _ => {
            comparable = false;
            notes.push("not comparable: a report states no row counts, so the record sets cannot be checked".into());
        }
    }
    if let (Some(a), Some(b)) = (&o.fpr_rule, &n.fpr_rule)
        && a != b
    {
        notes.push(format!("the FPR rule differs (old {a}, new {b}): TPRs at FPR are measured differently"));
    }

    let valid = confidence > 0.0 && confidence < 1.0;
    let mut scale = |report: Option<f64>, side: &str| match report {
        Some(c) if valid && c > 0.0 && c < 1.0 && c != confidence => {
            notes.push(format!(
                "the {side} report's intervals are at confidence {c}; their half-widths are rescaled to {confidence} by the normal quantile ratio"
            ));
            z(confidence) / z(c)
        }
        Some(_) => 1.0,
        None => {
            notes.push(format!("the {side} report states no confidence; its intervals are taken as at {confidence}"));
            1.0
        }
    };
    let (k_old, k_new) = (scale(o.confidence, "old"), scale(n.confidence, "new"));

    let method = if paired.is_some() { PAIRED_BOOTSTRAP } else { INDEPENDENT_INTERVALS };
    match paired {
        Some(p) => {
            notes.push(format!(
                "paired_bootstrap: AUC and TPR intervals are percentile intervals of new − old over {} stratified resamples of the {} records both audits scored (the same resample for both; {} only in the old records and {} only in the new left out); advantage intervals combine the reports' intervals as independent",
                p.resamples, p.shared, p.old_only, p.new_only
            ));
            if p.confidence != confidence {
                notes.push(format!("the paired intervals are at confidence {}, not {confidence}", p.confidence));
            }
            if let Some(report_rule) = &n.fpr_rule
                && report_rule.parse::<FprRule>() != Ok(p.rule)
            {
                notes.push(format!(
                    "the paired TPRs use the FPR rule {}, the new report {report_rule}: their intervals do not match its TPRs",
                    p.rule
                ));
            }
            notes.extend(p.notes.iter().cloned());
        }
        None => notes.push(
            "independent_intervals: each difference's interval treats the two audits as independent: \
             [Δ − √(hw⁺_old² + hw⁻_new²), Δ + √(hw⁻_old² + hw⁺_new²)], hw⁻ / hw⁺ the half-widths of each report's interval below / above its value; \
             audits of the same records are positively correlated, so this is conservative"
                .into(),
        ),
    }
    let bootstrap_min_class_size =
        n.bootstrap_min_class_size.unwrap_or(mia_core::evaluate::EvalConfig::default().bootstrap_min_class_size);
    let ctx = Ctx { k_old, k_new, paired, bootstrap_min_class_size };

    let old_only: Vec<&str> =
        o.attacks.iter().map(|(a, _)| a.as_str()).filter(|a| !n.attacks.iter().any(|(b, _)| b == a)).collect();
    let new_only: Vec<&str> =
        n.attacks.iter().map(|(a, _)| a.as_str()).filter(|a| !o.attacks.iter().any(|(b, _)| b == a)).collect();
    if !old_only.is_empty() {
        notes.push(format!("attacks only in the old report (not compared): {}", list(&old_only)));
    }
    if !new_only.is_empty() {
        notes.push(format!("attacks only in the new report (not compared): {}", list(&new_only)));
    }

    let mut attacks = Vec::new();
    for (name, na) in &n.attacks {
        let Some((_, oa)) = o.attacks.iter().find(|(b, _)| b == name) else { continue };
        let old_t: Vec<f64> = oa.tpr.iter().map(|t| t.0).collect();
        let new_t: Vec<f64> = na.tpr.iter().map(|t| t.0).collect();
        let kinds = [Kind::Auc, Kind::Advantage, Kind::Eps]
            .into_iter()
            .chain(common_targets(&old_t, &new_t, &mut notes).into_iter().map(Kind::Tpr));
        let mut metrics = Vec::new();
        for kind in kinds {
            match (oa.fig(kind), na.fig(kind)) {
                (Some(of), Some(nf)) => metrics.push(ctx.metric(kind, &of, &nf, (name, name))),
                (of, _) => {
                    let side = if of.is_none() { "old" } else { "new" };
                    notes.push(format!(
                        "attack `{name}`: {} is missing in the {side} report (not compared)",
                        kind.label()
                    ));
                }
            }
        }
        attacks.push(BaselineAttack { name: name.clone(), metrics });
    }
    attacks.push(BaselineAttack { name: "max".into(), metrics: max_metrics(&ctx, &o, &n, &mut notes) });
    if !old_only.is_empty() || !new_only.is_empty() {
        notes.push("`max` ranges over different attack sets in the two reports".into());
    }

    Baseline {
        source: old_source.to_string(),
        schema_version: o.schema_version.clone().unwrap_or_default(),
        method: method.into(),
        shared_records: paired.map(|p| p.shared),
        attacks,
        notes,
        comparable,
    }
}

/// The `max` pseudo-attack: per metric, the old report's worst value against the new one's,
/// with the interval from the two worst attacks' intervals.
fn max_metrics(ctx: &Ctx, o: &Side, n: &Side, notes: &mut Vec<String>) -> Vec<BaselineMetric> {
    // The worst attack's figure, carrying the max block's value.
    let fig = |side: &Side, attack: &str, value: f64, kind: Kind| -> Fig {
        let found = side.attacks.iter().find(|(a, _)| a == attack).and_then(|(_, a)| a.fig(kind));
        match found {
            Some(f) => Fig { value, ..f },
            None => {
                Fig { value, ci: None, note: Some(format!("attack `{attack}` is not in the report")), supported: true }
            }
        }
    };
    let mut out = Vec::new();
    let mut one = |kind: Kind, old: Option<(String, f64, Option<bool>)>, new: Option<(String, f64, Option<bool>)>| {
        let (Some((oa, ov, os)), Some((na, nv, ns))) = (old, new) else {
            notes.push(format!("max: {} is missing in a report's `max` block (not compared)", kind.label()));
            return;
        };
        let (mut of, mut nf) = (fig(o, &oa, ov, kind), fig(n, &na, nv, kind));
        of.supported &= os.unwrap_or(true);
        nf.supported &= ns.unwrap_or(true);
        let mut m = ctx.metric(kind, &of, &nf, (&oa, &na));
        m.worst = Some([oa, na]);
        out.push(m);
    };
    let w = |x: &Option<(String, f64)>| x.clone().map(|(a, v)| (a, v, None));
    one(Kind::Auc, w(&o.max.auc), w(&n.max.auc));
    one(Kind::Advantage, w(&o.max.advantage), w(&n.max.advantage));
    one(Kind::Eps, w(&o.max.eps), w(&n.max.eps));
    for (f, na, nv, ns) in &n.max.tpr {
        if let Some((_, oa, ov, os)) = o.max.tpr.iter().find(|t| same_fpr(t.0, *f)) {
            one(Kind::Tpr(*f), Some((oa.clone(), *ov, Some(*os))), Some((na.clone(), *nv, Some(*ns))));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// records.csv

/// Reads the tool's own per-record file (`records.csv`, [`crate::records`]): columns `id`,
/// `member` (0/1), optionally `label`, then `{attack}_score` and `{attack}_rank` per
/// attack. Labels and ranks are not read back.
///
/// Ids are read as written: `records.csv` neutralises formula-like ids for spreadsheets
/// (a leading `'`, [`crate::records::spreadsheet_text`]), so such an id differs from the
/// report's exact id. Two files written by the tool neutralise the same ids the same way,
/// so matching ids across them is consistent. Errors are one line naming the file, line
/// and column.
pub fn read_records_csv(path: &Path) -> Result<OwnedRecords, BaselineError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| BaselineError::Io { path: shown.clone(), source })?;
    let mut rdr =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(std::io::BufReader::new(file));
    let at = |line: u64, column: Option<(usize, &str)>, message: String| BaselineError::Csv {
        path: shown.clone(),
        line,
        column: column.map(|(k, name)| format!("{} (`{}`)", k + 1, name.escape_debug())),
        message,
    };
    let csv_err = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        let (column, message) = match e.kind() {
            csv::ErrorKind::Utf8 { err, .. } => (Some(format!("{}", err.field() + 1)), "not UTF-8 text".to_string()),
            _ => (None, e.to_string()),
        };
        match e.into_kind() {
            csv::ErrorKind::Io(source) => BaselineError::Io { path: shown.clone(), source },
            _ => BaselineError::Csv { path: shown.clone(), line, column, message },
        }
    };
    let mut rec = csv::StringRecord::new();
    if !rdr.read_record(&mut rec).map_err(csv_err)? {
        return Err(at(1, None, "empty file: expected a header `id,member,...`".into()));
    }
    let header: Vec<String> = rec.iter().map(str::to_string).collect();
    let col = |k: usize| (k, header[k].as_str());
    for (k, want) in [(0, "id"), (1, "member")] {
        if header.get(k).map(String::as_str) != Some(want) {
            let column = header.get(k).map(|_| col(k));
            return Err(at(1, column, format!("expected the column `{want}` (a records.csv written by this tool)")));
        }
    }
    let first = if header.get(2).map(String::as_str) == Some("label") { 3 } else { 2 };
    if !(header.len() - first).is_multiple_of(2) {
        let k = header.len() - 1;
        return Err(at(1, Some(col(k)), "expected `{attack}_score`, `{attack}_rank` column pairs".into()));
    }
    let mut names: Vec<String> = Vec::new();
    for k in (first..header.len()).step_by(2) {
        let Some(name) = header[k].strip_suffix("_score").filter(|n| !n.is_empty()) else {
            return Err(at(1, Some(col(k)), "expected a column `{attack}_score`".into()));
        };
        if header[k + 1] != format!("{name}_rank") {
            return Err(at(1, Some(col(k + 1)), format!("expected the column `{name}_rank`")));
        }
        if names.iter().any(|n| n == name) {
            return Err(at(1, Some(col(k)), format!("attack `{name}` appears twice")));
        }
        names.push(name.to_string());
    }
    let mut out = OwnedRecords {
        ids: Vec::new(),
        member: Vec::new(),
        scores: names.into_iter().map(|n| (n, Vec::new())).collect(),
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    while rdr.read_record(&mut rec).map_err(csv_err)? {
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() != header.len() {
            return Err(at(line, None, format!("expected {} fields, found {}", header.len(), rec.len())));
        }
        let id = &rec[0];
        if let Some(first) = seen.insert(id.to_string(), line) {
            return Err(at(line, Some(col(0)), format!("id `{}` already on line {first}", id.escape_debug())));
        }
        out.ids.push(id.to_string());
        out.member.push(match &rec[1] {
            "1" => true,
            "0" => false,
            v => return Err(at(line, Some(col(1)), format!("expected 0 or 1, found `{}`", v.escape_debug()))),
        });
        for (a, (_, scores)) in out.scores.iter_mut().enumerate() {
            let k = first + 2 * a;
            match rec[k].parse::<f64>() {
                Ok(x) if !x.is_nan() => scores.push(x),
                _ => {
                    let v = rec[k].escape_debug();
                    return Err(at(line, Some(col(k)), format!("expected a number, found `{v}`")));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RecordScores;
    use crate::records::write_records_csv;
    use crate::report::testing::report;
    use crate::report::*;
    use mia_core::Estimate;
    use mia_core::evaluate::{EvalConfig, evaluate_attacks};

    type Ci = Option<[f64; 2]>;

    fn est(value: f64, ci: Ci) -> Estimate {
        Estimate::new(value, ci, ci.is_none().then(|| "no interval: bootstrap disabled".to_string()))
    }

    /// A hand-made attack: AUC and advantage with intervals, an ε bound, and TPRs at
    /// (FPR, TPR, interval).
    fn attack(name: &str, auc: (f64, Ci), adv: (f64, Ci), eps: f64, tpr: &[(f64, f64, Ci)]) -> AttackReport {
        crate::report::testing::attack(name, est(auc.0, auc.1), est(adv.0, adv.1), eps, tpr)
    }

    fn targets() -> EvalConfig {
        EvalConfig { fpr_targets: vec![0.01, 0.1], ..Default::default() }
    }

    /// Old: `loss` and `gone`; new: `loss` (stronger) and `fresh`.
    fn pair() -> (Value, Report) {
        let old = report(
            vec![
                attack(
                    "loss",
                    (0.6, Some([0.55, 0.66])),
                    (0.2, Some([0.1, 0.3])),
                    0.5,
                    &[(0.01, 0.02, Some([0.01, 0.04])), (0.1, 0.2, Some([0.15, 0.25]))],
                ),
                attack(
                    "gone",
                    (0.55, Some([0.5, 0.6])),
                    (0.1, Some([0.0, 0.2])),
                    0.1,
                    &[(0.01, 0.01, None), (0.1, 0.1, None)],
                ),
            ],
            1000,
            1000,
            targets(),
        );
        let new = report(
            vec![
                attack(
                    "loss",
                    (0.7, Some([0.62, 0.75])),
                    (0.3, None),
                    0.9,
                    &[(0.01, 0.05, Some([0.03, 0.08])), (0.1, 0.35, Some([0.3, 0.4]))],
                ),
                attack(
                    "fresh",
                    (0.65, Some([0.6, 0.7])),
                    (0.25, Some([0.2, 0.3])),
                    1.2,
                    &[(0.01, 0.03, None), (0.1, 0.3, None)],
                ),
            ],
            1000,
            1000,
            targets(),
        );
        (serde_json::to_value(&old).unwrap(), new)
    }

    fn find<'a>(b: &'a Baseline, attack: &str, metric: &str) -> &'a BaselineMetric {
        let a = b.attacks.iter().find(|a| a.name == attack).unwrap_or_else(|| panic!("no attack {attack}"));
        a.metrics.iter().find(|m| m.metric == metric).unwrap_or_else(|| panic!("no {attack}.{metric}"))
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn deltas_and_the_independent_interval_by_hand() {
        let (old, mut new) = pair();
        new.attacks[0].evaluation.tpr_at_fpr[0].supported = false;
        let b = from_reports(&old, "old/report.json", &new, 0.95, None);
        assert!(b.comparable, "{:?}", b.notes);
        assert_eq!((b.source.as_str(), b.schema_version.as_str()), ("old/report.json", SCHEMA_VERSION));
        assert_eq!(b.method, INDEPENDENT_INTERVALS);
        assert!(b.notes.iter().any(|n| n.starts_with("independent_intervals:")), "{:?}", b.notes);
        let auc = find(&b, "loss", "auc");
        assert_eq!((auc.old, auc.new), (0.6, 0.7));
        assert!(close(auc.delta, 0.1));
        // Old half-widths: 0.05 below, 0.06 above; new: 0.08 below, 0.05 above.
        // Below: √(0.06² + 0.08²) = 0.1; above: √(0.05² + 0.05²) = 0.0707106781186548.
        let [lo, hi] = auc.ci.unwrap();
        assert!(close(lo, 0.0), "{lo}");
        assert!(close(hi, 0.1 + 0.05 * 2f64.sqrt()), "{hi}");
        // TPR at 0.1: old 0.2 [0.15, 0.25], new 0.35 [0.3, 0.4]: ±√(0.05² + 0.05²).
        let t = find(&b, "loss", "tpr@0.1");
        assert!(close(t.delta, 0.15));
        let [lo, hi] = t.ci.unwrap();
        assert!(close(lo, 0.15 - 0.05 * 2f64.sqrt()) && close(hi, 0.15 + 0.05 * 2f64.sqrt()), "{lo} {hi}");
        // The ε bound never gets an interval; a side without one gives none, with why.
        let e = find(&b, "loss", "eps_lower_bound");
        assert!(close(e.delta, 0.4) && e.ci.is_none());
        assert!(e.note.as_deref().unwrap().contains("one-sided"));
        let a = find(&b, "loss", "advantage");
        assert!(
            a.ci.is_none()
                && a.note.as_deref().unwrap().contains("new report gives none (no interval: bootstrap disabled)")
        );
        // A figure the new sample cannot support is noted; a supported one is not.
        assert!(
            find(&b, "loss", "tpr@0.01").note.as_deref().unwrap().contains("not supported by the sample in the new")
        );
        assert_eq!(find(&b, "loss", "tpr@0.1").note, None);
        // Order: auc, advantage, eps, TPR targets.
        let names: Vec<&str> = b.attacks[0].metrics.iter().map(|m| m.metric.as_str()).collect();
        assert_eq!(names, ["auc", "advantage", "eps_lower_bound", "tpr@0.01", "tpr@0.1"]);
    }

    #[test]
    fn attacks_in_one_report_only_are_noted_not_compared() {
        let (old, new) = pair();
        let b = from_reports(&old, "old.json", &new, 0.95, None);
        let names: Vec<&str> = b.attacks.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["loss", "max"]);
        assert!(b.notes.iter().any(|n| n == "attacks only in the old report (not compared): `gone`"), "{:?}", b.notes);
        assert!(b.notes.iter().any(|n| n == "attacks only in the new report (not compared): `fresh`"), "{:?}", b.notes);
        assert!(b.comparable);
    }

    #[test]
    fn max_compares_the_worst_attacks_with_their_intervals() {
        let (old, new) = pair();
        let b = from_reports(&old, "old.json", &new, 0.95, None);
        // Advantage: old worst `loss` 0.2 [0.1, 0.3], new worst `loss` 0.3 (no interval).
        let adv = find(&b, "max", "advantage");
        assert_eq!(adv.worst.as_ref().unwrap(), &["loss".to_string(), "loss".to_string()]);
        assert!(adv.ci.is_none());
        // TPR at 0.1: old worst `loss` 0.2 [0.15, 0.25]; new worst `loss` 0.35 [0.3, 0.4].
        let t = find(&b, "max", "tpr@0.1");
        assert!(close(t.delta, 0.15) && t.ci.is_some());
        // Make the new worst AUC another attack: `fresh` at 0.8 with [0.7, 0.85].
        let (old, mut new) = pair();
        new.attacks[1].evaluation.auc = est(0.8, Some([0.7, 0.85]));
        new.max = MaxSummary::from_attacks(&new.attacks);
        let b = from_reports(&old, "old.json", &new, 0.95, None);
        let m = find(&b, "max", "auc");
        assert_eq!(m.worst.as_ref().unwrap(), &["loss".to_string(), "fresh".to_string()]);
        assert!(close(m.delta, 0.2));
        // Below: √(0.06² + 0.1²); above: √(0.05² + 0.05²).
        let [lo, hi] = m.ci.unwrap();
        assert!(close(lo, 0.2 - (0.0036f64 + 0.01).sqrt()) && close(hi, 0.2 + 0.05 * 2f64.sqrt()), "{lo} {hi}");
        assert!(b.notes.iter().any(|n| n.contains("different attack sets")));
    }

    #[test]
    fn another_schema_major_or_other_records_are_not_comparable() {
        let (mut old, new) = pair();
        old["schema_version"] = "0.9.0".into();
        let b = from_reports(&old, "old.json", &new, 0.95, None);
        assert!(!b.comparable);
        assert_eq!(b.schema_version, "0.9.0");
        assert!(b.notes.iter().any(|n| n.contains("major version 0")), "{:?}", b.notes);
        // Still lists what it can.
        assert!(close(find(&b, "loss", "auc").delta, 0.1));
        // Same major, other minor: comparable.
        old["schema_version"] = "1.7.2".into();
        assert!(from_reports(&old, "old.json", &new, 0.95, None).comparable);
        // Other record counts.
        old["rows"]["members"] = 999.into();
        let b = from_reports(&old, "old.json", &new, 0.95, None);
        assert!(!b.comparable && b.notes.iter().any(|n| n.contains("record sets differ")), "{:?}", b.notes);
    }

    #[test]
    fn intervals_at_another_confidence_are_rescaled() {
        let (mut old, new) = pair();
        old["settings"]["confidence"] = 0.9.into();
        let b = from_reports(&old, "old.json", &new, 0.95, None);
        let k = z(0.95) / z(0.9);
        assert!(k > 1.1);
        let [lo, hi] = find(&b, "loss", "auc").ci.unwrap();
        assert!(close(lo, 0.1 - (0.06 * k).hypot(0.08)), "{lo}");
        assert!(close(hi, 0.1 + (0.05 * k).hypot(0.05)), "{hi}");
        assert!(b.notes.iter().any(|n| n.contains("rescaled")));
    }

    /// Deterministic pseudo-random numbers in [0, 1).
    fn u(i: u64) -> f64 {
        (mia_core::bootstrap::mix_seed(99, i) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// 150 members and 150 non-members; `weak` barely separates, `strong` nearly fully.
    fn records(n: usize) -> OwnedRecords {
        let member: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        let weak = (0..n).map(|i| u(i as u64) + if member[i] { 0.1 } else { 0.0 }).collect();
        let strong = (0..n).map(|i| u(i as u64) + if member[i] { 0.8 } else { 0.0 }).collect();
        OwnedRecords {
            ids: (0..n).map(|i| format!("r{i}")).collect(),
            member,
            scores: vec![("weak".into(), weak), ("strong".into(), strong)],
        }
    }

    const FPR: [f64; 2] = [0.01, 0.1];

    #[test]
    fn identical_scores_give_zero_with_a_zero_interval() {
        let r = records(300);
        let p = paired(r.as_paired(), r.as_paired(), &FPR, 200, 0.95, 1).unwrap();
        assert_eq!((p.shared, p.members, p.non_members, p.old_only, p.new_only), (300, 150, 150, 0, 0));
        assert_eq!(p.attacks.len(), 2);
        for a in &p.attacks {
            assert!(a.auc.old > 0.5, "{}", a.auc.old);
            assert_eq!((a.auc.delta, a.auc.ci), (0.0, Some([0.0, 0.0])));
            for t in &a.tpr_at_fpr {
                assert_eq!((t.delta, t.ci), (0.0, Some([0.0, 0.0])));
            }
        }
    }

    #[test]
    fn a_strictly_better_attack_has_an_interval_above_zero() {
        let r = records(300);
        // The new audit's `weak` scores are the old `strong` ones.
        let mut better = r.clone();
        better.scores[0].1 = r.scores[1].1.clone();
        let p = paired(r.as_paired(), better.as_paired(), &FPR, 200, 0.95, 1).unwrap();
        let w = &p.attacks[0];
        assert_eq!(w.name, "weak");
        let [lo, hi] = w.auc.ci.unwrap();
        assert!(lo > 0.0 && lo <= w.auc.delta && w.auc.delta <= hi, "{lo} {} {hi}", w.auc.delta);
        assert!(w.tpr_at_fpr[1].ci.unwrap()[0] > 0.0, "{:?}", w.tpr_at_fpr[1]);
    }

    #[test]
    fn same_seed_same_result_and_row_order_does_not_matter() {
        let r = records(300);
        let mut better = r.clone();
        better.scores[0].1 = r.scores[1].1.clone();
        let run = |seed, old: &OwnedRecords, new: &OwnedRecords| {
            let p = paired(old.as_paired(), new.as_paired(), &FPR, 100, 0.9, seed).unwrap();
            p.attacks.iter().map(|a| (a.auc, a.tpr_at_fpr.clone())).collect::<Vec<_>>()
        };
        let first = run(5, &r, &better);
        assert_eq!(first, run(5, &r, &better));
        assert_ne!(first, run(6, &r, &better));
        // Either file's rows reversed: same records, same result.
        let reversed = |o: &OwnedRecords| {
            let mut x = o.clone();
            x.ids.reverse();
            x.member.reverse();
            for (_, s) in &mut x.scores {
                s.reverse();
            }
            x
        };
        assert_eq!(first, run(5, &r, &reversed(&better)));
        assert_eq!(first, run(5, &reversed(&r), &better));
    }

    #[test]
    fn full_sample_auc_and_tpr_match_a_hand_count_with_ties() {
        // Members 3, 2, 2; non-members 2, 1. Pairs: 3>2, 3>1, 2=2 (½), 2>1, 2=2 (½), 2>1:
        // U = 5 of 6. TPR at FPR ≤ 0.5: the tie at 2 is one block (FP 1 of 2) → 3/3;
        // at FPR ≤ 0.4 only the threshold at 3 qualifies → 1/3.
        let ids: Vec<String> = ["a", "b", "c", "d", "e"].iter().map(|s| s.to_string()).collect();
        let member = [true, true, true, false, false];
        let scores = vec![("s".to_string(), vec![3.0, 2.0, 2.0, 2.0, 1.0])];
        let r = PairedRecords { ids: &ids, member: &member, scores: &scores };
        let p = paired(r, r, &[0.5, 0.4], 10, 0.95, 0).unwrap();
        let a = &p.attacks[0];
        assert!(close(a.auc.old, 5.0 / 6.0) && close(a.auc.new, 5.0 / 6.0), "{}", a.auc.old);
        assert_eq!(a.tpr_at_fpr[0].old, 1.0);
        assert!(close(a.tpr_at_fpr[1].old, 1.0 / 3.0));
    }

    #[test]
    fn records_are_matched_by_id() {
        let r = records(40);
        // New: drop r0..r3, add two records of its own, rows in another order.
        let mut new = OwnedRecords { ids: vec![], member: vec![], scores: vec![("weak".into(), vec![])] };
        for i in (4..40).rev().chain([100, 101]) {
            new.ids.push(format!("r{i}"));
            new.member.push(i % 2 == 0);
            new.scores[0].1.push(if i < 40 { r.scores[0].1[i] } else { 0.5 });
        }
        let p = paired(r.as_paired(), new.as_paired(), &FPR, 50, 0.95, 3).unwrap();
        assert_eq!((p.shared, p.old_only, p.new_only), (36, 4, 2));
        assert_eq!(p.attacks.len(), 1);
        assert_eq!((p.attacks[0].auc.delta, p.attacks[0].auc.ci), (0.0, Some([0.0, 0.0])));
        assert!(
            p.notes.iter().any(|n| n.contains("only in the old records") && n.contains("`strong`")),
            "{:?}",
            p.notes
        );
        // A record whose membership changed is an error naming it.
        new.member[0] = !new.member[0];
        let e = paired(r.as_paired(), new.as_paired(), &FPR, 50, 0.95, 3).unwrap_err();
        assert!(matches!(e, BaselineError::MembershipDiffers { .. }));
        assert!(e.to_string().contains("record `r39` is a non-member in the old records and a member"), "{e}");
        // Duplicate ids are an error.
        new.member[0] = !new.member[0];
        new.ids[1] = "r39".into();
        let e = paired(r.as_paired(), new.as_paired(), &FPR, 50, 0.95, 3).unwrap_err();
        assert_eq!(e.to_string(), "new records: id `r39` appears more than once");
    }

    /// Two real evaluations of the same records: the paired intervals replace the AUC and
    /// TPR intervals; the advantage keeps the independent one.
    #[test]
    fn from_reports_with_paired_intervals() {
        let r = records(300);
        let cfg = EvalConfig { fpr_targets: FPR.to_vec(), bootstrap_resamples: 100, ..Default::default() };
        let eval = |o: &OwnedRecords| {
            let s: Vec<&[f64]> = o.scores.iter().map(|(_, s)| s.as_slice()).collect();
            let e = evaluate_attacks(&s, &o.member, &cfg).unwrap();
            let attacks = o
                .scores
                .iter()
                .zip(e)
                .map(|((n, _), evaluation)| AttackReport {
                    name: n.clone(),
                    description: n.clone(),
                    fitting: None,
                    evaluation,
                })
                .collect();
            report(attacks, 150, 150, cfg.clone())
        };
        let mut better = r.clone();
        better.scores[0].1 = r.scores[1].1.clone();
        let (old, new) = (serde_json::to_value(eval(&r)).unwrap(), eval(&better));
        let p = paired(r.as_paired(), better.as_paired(), &FPR, 200, 0.95, 1).unwrap();
        let b = from_reports(&old, "old.json", &new, 0.95, Some(&p));
        assert_eq!((b.method.as_str(), b.shared_records), (PAIRED_BOOTSTRAP, Some(300)));
        assert!(b.comparable, "{:?}", b.notes);
        let auc = find(&b, "weak", "auc");
        assert_eq!(auc.ci, p.attacks[0].auc.ci);
        // The reports and the paired bootstrap measure the same figures.
        assert_eq!((auc.old, auc.new), (p.attacks[0].auc.old, p.attacks[0].auc.new));
        assert_eq!(find(&b, "weak", "tpr@0.1").ci, p.attacks[0].tpr_at_fpr[1].ci);
        let adv = find(&b, "weak", "advantage");
        assert!(adv.ci.is_some() && adv.note.as_deref().unwrap().contains("treated as independent"));
        // Unpaired, the AUC's interval is the wider independent one.
        let ind = from_reports(&old, "old.json", &new, 0.95, None);
        let w = |c: [f64; 2]| c[1] - c[0];
        assert!(w(find(&ind, "weak", "auc").ci.unwrap()) > w(auc.ci.unwrap()));
        // `max`: old worst `strong`, new worst `weak` (tied with `strong`, `weak` is first).
        let m = find(&b, "max", "auc");
        assert_eq!(m.worst.as_ref().unwrap(), &["strong".to_string(), "weak".to_string()]);
        assert_eq!(m.ci, Some([0.0, 0.0]));
        // Serialises.
        let j = serde_json::to_value(&b).unwrap();
        assert_eq!(j["attacks"][0]["metrics"][0]["metric"], "auc");
    }

    #[test]
    fn records_csv_round_trips_and_errors_name_file_line_and_column() {
        let ids: Vec<String> = ["=cmd", "a,b", "c"].iter().map(|s| s.to_string()).collect();
        let attacks = vec![("loss".to_string(), vec![0.5, -1.25, 2.0]), ("phi".to_string(), vec![1e-300, 0.0, -0.0])];
        let member = [true, false, true];
        let rs = RecordScores { ids: &ids, member: &member, labels: Some(&[0, 1, 0]), attacks: &attacks };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.csv");
        let mut buf = Vec::new();
        write_records_csv(&mut buf, &rs).unwrap();
        std::fs::write(&path, &buf).unwrap();
        let got = read_records_csv(&path).unwrap();
        assert_eq!(got.ids, ["'=cmd", "a,b", "c"]);
        assert_eq!(got.member, member);
        assert_eq!(got.scores, attacks);

        let bad = |text: &str| {
            std::fs::write(&path, text).unwrap();
            read_records_csv(&path).unwrap_err().to_string()
        };
        let p = path.display().to_string();
        assert_eq!(
            bad("id,member,loss_score,loss_rank\nx,1,0.5,1\ny,2,0.1,2\n"),
            format!("{p}: line 3, column 2 (`member`): expected 0 or 1, found `2`")
        );
        assert_eq!(
            bad("id,member,loss_score,loss_rank\nx,1,abc,1\n"),
            format!("{p}: line 2, column 3 (`loss_score`): expected a number, found `abc`")
        );
        assert_eq!(
            bad("id,member,loss_score,phi_rank\n"),
            format!("{p}: line 1, column 4 (`phi_rank`): expected the column `loss_rank`")
        );
        assert!(bad("id,member,loss_score,loss_rank\nx,1,0.5\n").contains("line 2: expected 4 fields, found 3"));
        assert!(bad("id,member,loss_score,loss_rank\nx,1,0.5,1\nx,0,0.1,2\n").contains("id `x` already on line 2"));
        assert!(bad("").contains("line 1: empty file"));
        let missing = dir.path().join("missing.csv");
        assert!(read_records_csv(&missing).unwrap_err().to_string().starts_with(&missing.display().to_string()));
    }
}
