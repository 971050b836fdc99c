//! The full evaluation of one attack's scores against known membership: point estimates,
//! intervals, low-FPR operating points with their power caveat, PPV, the ε lower bound and
//! the histogram the report draws. Also the overfitting reading and per-class slices.

use crate::CoreError;
use crate::bootstrap::{BootstrapDraws, bootstrap_roc, percentile_interval};
use crate::distribution_free;
use crate::epsilon::{EpsBound, eps_lower_bound};
use crate::roc::{FprRule, RankedScores, RocMetrics};
use crate::stats::{clopper_pearson, holm_adjust, mann_whitney_p_greater, mean_interval};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Settings of an evaluation. Defaults: FPR targets 1e-5…1e-1, 1,000 resamples, 95 %
/// intervals, δ = 1e-5, base rates 0.5 and 0.01, figures supported from 30 records per class.
///
/// This type is the one owner of these settings: configs' `[eval]` tables deserialise into
/// it (as `fpr`, `fpr_rule`, `bootstrap`, `confidence`, `delta`, `base_rates`,
/// `min_class_size`, `bootstrap_min_class_size`; the seed is the config's own), reports
/// serialise it under its field names, and the command line's defaults are its defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalConfig {
    #[serde(rename(deserialize = "fpr"))]
    pub fpr_targets: Vec<f64>,
    pub fpr_rule: FprRule,
    #[serde(rename(deserialize = "bootstrap"))]
    pub bootstrap_resamples: usize,
    pub confidence: f64,
    pub delta: f64,
    pub base_rates: Vec<f64>,
    /// Set by the audit (a config's top-level `seed`), not in `[eval]`.
    #[serde(skip_deserializing)]
    pub seed: u64,
    /// A TPR@FPR target is supported when non-members ≥ this / FPR.
    #[serde(skip_deserializing)]
    pub min_negatives_per_fpr: f64,
    /// Below this many members or non-members, AUC, advantage and TPR@FPR are marked
    /// unsupported (the gate refuses rules over them); their intervals are distribution-free
    /// bounds ([`crate::distribution_free`]), as they are up to `bootstrap_min_class_size`.
    pub min_class_size: u64,
    /// Below this many members or non-members, the AUC's and the TPRs' intervals are
    /// distribution-free bounds instead of bootstrap percentiles, even where the figures are
    /// supported. Measured on pure noise with 400 records (`tests/small_sample_coverage.rs`,
    /// `coverage_by_class_size`): the 95 % percentile bootstrap covered the true TPR at FPR
    /// 0.1 and 0.5 in 81 % of runs with 30 members, 88 % with 50 and 95 % with 100.
    pub bootstrap_min_class_size: u64,
    /// Points kept for the plotted ROC (the curve is thinned on a log-FPR grid).
    #[serde(skip_deserializing)]
    pub roc_plot_points: usize,
    #[serde(skip_deserializing)]
    pub histogram_bins: usize,
}

impl EvalConfig {
    /// These settings with every random choice drawn from `seed`.
    pub fn with_seed(&self, seed: u64) -> EvalConfig {
        EvalConfig { seed, ..self.clone() }
    }
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            fpr_targets: vec![1e-5, 1e-4, 1e-3, 1e-2, 1e-1],
            fpr_rule: FprRule::AtMost,
            bootstrap_resamples: 1000,
            confidence: 0.95,
            delta: 1e-5,
            base_rates: vec![0.5, 0.01],
            seed: 0,
            min_negatives_per_fpr: 10.0,
            min_class_size: 30,
            bootstrap_min_class_size: 100,
            roc_plot_points: 400,
            histogram_bins: 40,
        }
    }
}

/// A point estimate with its interval, or the reason it has none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub value: f64,
    pub ci: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// `false` when the sample is too small to quote the figure (the note says why); the
    /// gate refuses rules over such figures. Written to the report only when `false`.
    #[serde(skip_serializing_if = "is_true")]
    pub supported: bool,
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Estimate {
    /// A supported estimate.
    pub fn new(value: f64, ci: Option<[f64; 2]>, note: Option<String>) -> Self {
        Estimate { value, ci, note, supported: true }
    }
}

/// Positive predictive value at a member base rate π:
/// π·TPR / (π·TPR + (1 − π)·FPR); `None` when nothing is called a member.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ppv {
    pub base_rate: f64,
    pub value: Option<f64>,
}

fn ppv(tpr: f64, fpr: f64, base_rates: &[f64]) -> Vec<Ppv> {
    base_rates
        .iter()
        .map(|&pi| {
            let den = pi * tpr + (1.0 - pi) * fpr;
            Ppv { base_rate: pi, value: (den > 0.0).then(|| pi * tpr / den) }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TprAtFpr {
    /// Target FPR.
    pub fpr: f64,
    /// Largest TPR over thresholds with FPR ≤ target.
    pub tpr: f64,
    /// Bootstrap percentile interval of that TPR.
    pub ci: Option<[f64; 2]>,
    /// FPR actually reached by the chosen threshold.
    pub achieved_fpr: f64,
    /// Records scoring ≥ threshold are called members (`None`: no threshold qualifies).
    pub threshold: Option<f64>,
    /// Whether the sample has ≥ 10/FPR non-members, enough to measure this FPR at all, and
    /// at least `min_class_size` records of each class.
    pub supported: bool,
    pub ppv: Vec<Ppv>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RocPlot {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    /// Bin edges (bins + 1 values); scores outside the 0.5–99.5 % range land in the end bins.
    pub edges: Vec<f64>,
    pub members: Vec<u64>,
    pub non_members: Vec<u64>,
}

/// Whether `x` names the FPR target `target`: equal within a relative 1e-9, so that `1e-3`,
/// `0.001` and a target printed and read back all match, and no other target does. The one
/// rule by which the gate and the summaries find a target.
pub fn same_fpr(target: f64, x: f64) -> bool {
    (target - x).abs() <= 1e-9 * target.abs().max(x.abs())
}

/// Everything measured about one attack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttackEvaluation {
    pub n_members: u64,
    pub n_non_members: u64,
    pub distinct_scores: usize,
    pub auc: Estimate,
    pub advantage: Estimate,
    pub balanced_accuracy: Estimate,
    /// At the max-advantage threshold, with Clopper–Pearson intervals.
    pub best_threshold: Option<OperatingPoint>,
    pub tpr_at_fpr: Vec<TprAtFpr>,
    pub eps_lower_bound: EpsBound,
    /// One-sided Mann–Whitney p-value of "members score higher".
    pub p_value: f64,
    pub roc: RocPlot,
    pub histogram: Histogram,
}

/// Rates at one fixed threshold with exact binomial intervals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatingPoint {
    pub threshold: f64,
    pub tpr: Estimate,
    pub fpr: Estimate,
    pub ppv: Vec<Ppv>,
}

/// Validates scores and membership; returns the member and non-member counts.
pub fn check_inputs(scores: &[f64], member: &[bool]) -> Result<(u64, u64), CoreError> {
    if scores.len() != member.len() {
        return Err(CoreError::Length { what: "scores", expected: member.len(), got: scores.len() });
    }
    if let Some(i) = scores.iter().position(|s| s.is_nan()) {
        return Err(CoreError::Invalid(format!("score of record {i} is NaN")));
    }
    let p = member.iter().filter(|&&m| m).count() as u64;
    let n = member.len() as u64 - p;
    if p == 0 || n == 0 {
        return Err(CoreError::OneClass { members: p as usize, non_members: n as usize });
    }
    Ok((p, n))
}

fn tie_term(r: &RankedScores) -> f64 {
    r.group_pos.iter().zip(&r.group_neg).map(|(&p, &n)| ((p + n) as f64).powi(3) - (p + n) as f64).sum()
}

fn thin_roc(r: &RankedScores, max_points: usize) -> RocPlot {
    let (f, t) = r.curve();
    if f.len() <= max_points {
        return RocPlot { fpr: f, tpr: t };
    }
    // Keep the last point at or below each level of a log-FPR grid (the curve's upper
    // envelope there), plus the ends.
    let floor = (1.0 / r.n_neg as f64).max(1e-7);
    // Three fixed points plus up to two per grid level stay within max_points.
    let steps = (max_points / 2).saturating_sub(3).max(1);
    // The ends, and the top of the zero-FPR segment (members caught with no false alarm).
    let mut keep = vec![0usize, f.len() - 1, f.partition_point(|&x| x <= 0.0) - 1];
    for i in 0..=steps {
        let level = floor * (1.0 / floor).powf(i as f64 / steps as f64);
        let k = f.partition_point(|&x| x <= level);
        if k > 0 {
            keep.push(k - 1);
        }
        if k < f.len() {
            keep.push(k);
        }
    }
    keep.sort_unstable();
    keep.dedup();
    RocPlot { fpr: keep.iter().map(|&k| f[k]).collect(), tpr: keep.iter().map(|&k| t[k]).collect() }
}

/// Histogram of scores on bins spanning the 0.5–99.5 % range of all scores.
pub fn histogram(scores: &[f64], member: &[bool], bins: usize) -> Histogram {
    let mut v: Vec<f64> = scores.iter().copied().filter(|s| s.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let (lo, hi) = if v.is_empty() {
        (0.0, 1.0)
    } else {
        (crate::stats::percentile_sorted(&v, 0.005), crate::stats::percentile_sorted(&v, 0.995))
    };
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, lo + 0.5) };
    let edges: Vec<f64> = (0..=bins).map(|i| lo + (hi - lo) * i as f64 / bins as f64).collect();
    let mut h = Histogram { edges, members: vec![0; bins], non_members: vec![0; bins] };
    for (&s, &m) in scores.iter().zip(member) {
        let b = (((s - lo) / (hi - lo)) * bins as f64).floor();
        let b = if b.is_nan() { 0 } else { (b.max(0.0) as usize).min(bins - 1) };
        if m { h.members[b] += 1 } else { h.non_members[b] += 1 }
    }
    h
}

/// Evaluates one attack's scores; see [`evaluate_attacks`].
pub fn evaluate_attack(scores: &[f64], member: &[bool], cfg: &EvalConfig) -> Result<AttackEvaluation, CoreError> {
    Ok(evaluate_attacks(&[scores], member, cfg)?.remove(0))
}

/// Evaluates several attacks' scores on the same records. Every attack is measured on
/// the same bootstrap resamples and the same ε-bound split (all drawn from `cfg.seed`),
/// so attacks are compared on paired samples and rank-equivalent attacks get identical
/// figures.
pub fn evaluate_attacks(
    scores: &[&[f64]],
    member: &[bool],
    cfg: &EvalConfig,
) -> Result<Vec<AttackEvaluation>, CoreError> {
    let (ranked, draws) = rank_and_resample(scores, member, cfg)?;
    ranked
        .par_iter()
        .zip(draws)
        .zip(scores.par_iter())
        .map(|((r, d), s)| Ok(summarise(r, &d, s, member, cfg)))
        .collect()
}

/// Checks, ranks and bootstraps several attacks' scores on the same records.
fn rank_and_resample(
    scores: &[&[f64]],
    member: &[bool],
    cfg: &EvalConfig,
) -> Result<(Vec<RankedScores>, Vec<BootstrapDraws>), CoreError> {
    for s in scores {
        check_inputs(s, member)?;
    }
    let ranked: Vec<RankedScores> = scores.par_iter().map(|s| RankedScores::new(s, member)).collect();
    let refs: Vec<&RankedScores> = ranked.iter().collect();
    let draws = bootstrap_roc(&refs, member, &cfg.fpr_targets, cfg.fpr_rule, cfg.bootstrap_resamples, cfg.seed);
    Ok((ranked, draws))
}

/// Which interval method a sample with `n_pos` members and `n_neg` non-members gets, with
/// the note that says why when it is not the bootstrap.
enum IntervalMethod {
    Bootstrap,
    /// Too few for a bootstrap interval; the figures are still supported.
    DistributionFree(String),
    /// Below `min_class_size`: distribution-free intervals, figures unsupported.
    Unsupported(String),
}

impl IntervalMethod {
    fn of(n_pos: u64, n_neg: u64, cfg: &EvalConfig) -> Self {
        let k = n_pos.min(n_neg);
        let why = |limit: u64, what: &str| {
            format!(
                "{n_pos} members and {n_neg} non-members: fewer than {limit} in a class, {what}; the interval is a \
                 distribution-free bound (Hoeffding / DKW), valid but wide"
            )
        };
        if k < cfg.min_class_size {
            IntervalMethod::Unsupported(why(cfg.min_class_size, "too few to quote the figure"))
        } else if k < cfg.bootstrap_min_class_size {
            IntervalMethod::DistributionFree(why(cfg.bootstrap_min_class_size, "too few for a bootstrap interval"))
        } else {
            IntervalMethod::Bootstrap
        }
    }

    fn note(&self) -> Option<&str> {
        match self {
            IntervalMethod::Bootstrap => None,
            IntervalMethod::DistributionFree(n) | IntervalMethod::Unsupported(n) => Some(n),
        }
    }

    fn supported(&self) -> bool {
        !matches!(self, IntervalMethod::Unsupported(_))
    }
}

/// The figures a class slice reports (AUC, advantage, TPR at each FPR target, with their
/// intervals, and the one-sided rank test) from the ROC metrics `m` of `r`; a full
/// evaluation ([`summarise`]) reports the same figures and adds the rest.
///
/// The advantage's interval is always the DKW bound: it is a maximum over thresholds, and
/// on noise (true advantage 0) every resample's maximum lies above 0, so a percentile
/// bootstrap interval covered the truth in only 2–5 % of runs at every sample size from 2 to
/// 100 members (`coverage_by_class_size` at commit f3a0b00, before this rule). The
/// AUC's and TPRs' intervals are bootstrap percentiles from `bootstrap_min_class_size`
/// records per class and distribution-free bounds below it; below `min_class_size` the
/// figures are also marked unsupported.
fn slice_figures(r: &RankedScores, m: &RocMetrics, draws: &BootstrapDraws, cfg: &EvalConfig) -> SliceEvaluation {
    let (np, nn) = (r.n_pos, r.n_neg);
    let method = IntervalMethod::of(np, nn, cfg);
    let note = method.note().map(str::to_string);
    let auc_ci = match method {
        IntervalMethod::Bootstrap => percentile_interval(&draws.auc, cfg.confidence),
        _ => Some(distribution_free::auc_interval(m.auc, np, nn, cfg.confidence)),
    };
    let auc_note = match (&method, auc_ci) {
        (IntervalMethod::Bootstrap, None) => Some("no interval: bootstrap disabled".to_string()),
        _ => note.clone(),
    };
    let auc = Estimate { value: m.auc, ci: auc_ci, note: auc_note, supported: method.supported() };
    let advantage = Estimate {
        value: m.advantage,
        ci: Some(distribution_free::advantage_interval(m.advantage, np, nn, cfg.confidence)),
        note: (!method.supported()).then(|| note.clone()).flatten(),
        supported: method.supported(),
    };
    SliceEvaluation {
        n_members: np,
        n_non_members: nn,
        auc,
        advantage,
        tpr_at_fpr: tpr_at_fpr_entries(r, m, draws, cfg, &method),
        p_value: mann_whitney_p_greater(m.auc * np as f64 * nn as f64, np, nn, tie_term(r)),
        p_holm: f64::NAN,
        leaks: false,
    }
}

/// TPR at each FPR target with its interval, achieved FPR, threshold, support and PPV.
fn tpr_at_fpr_entries(
    r: &RankedScores,
    m: &RocMetrics,
    draws: &BootstrapDraws,
    cfg: &EvalConfig,
    method: &IntervalMethod,
) -> Vec<TprAtFpr> {
    let bands = (!matches!(method, IntervalMethod::Bootstrap))
        .then(|| distribution_free::tpr_at_fpr_intervals(r, &cfg.fpr_targets, cfg.fpr_rule, cfg.confidence));
    cfg.fpr_targets
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            let (tpr, fpr, g) = m.tpr_at_fpr[k];
            TprAtFpr {
                fpr: t,
                tpr,
                ci: match &bands {
                    Some(b) => Some(b[k]),
                    None => percentile_interval(&draws.tpr_at_fpr[k], cfg.confidence),
                },
                achieved_fpr: fpr,
                threshold: g.map(|g| r.group_score[g]),
                supported: method.supported() && r.n_neg as f64 >= cfg.min_negatives_per_fpr / t,
                ppv: ppv(tpr, fpr, &cfg.base_rates),
            }
        })
        .collect()
}

/// Everything but the bootstrap, for one attack.
fn summarise(
    r: &RankedScores,
    draws: &BootstrapDraws,
    scores: &[f64],
    member: &[bool],
    cfg: &EvalConfig,
) -> AttackEvaluation {
    let (np, nn) = (r.n_pos, r.n_neg);
    let m = r.metrics(&cfg.fpr_targets, cfg.fpr_rule);
    let core = slice_figures(r, &m, draws, cfg);
    let best_threshold = m.advantage_group.map(|g| {
        let tp: u64 = r.group_pos[..=g].iter().map(|&c| c as u64).sum();
        let fp: u64 = r.group_neg[..=g].iter().map(|&c| c as u64).sum();
        let (tpr, fpr) = (tp as f64 / np as f64, fp as f64 / nn as f64);
        OperatingPoint {
            threshold: r.group_score[g],
            tpr: Estimate::new(tpr, Some(clopper_pearson(tp, np, cfg.confidence)), None),
            fpr: Estimate::new(fpr, Some(clopper_pearson(fp, nn, cfg.confidence)), None),
            ppv: ppv(tpr, fpr, &cfg.base_rates),
        }
    });
    AttackEvaluation {
        n_members: np,
        n_non_members: nn,
        distinct_scores: r.n_groups(),
        balanced_accuracy: Estimate {
            value: 0.5 + m.advantage / 2.0,
            ci: core.advantage.ci.map(|[a, b]| [0.5 + a / 2.0, 0.5 + b / 2.0]),
            note: core.advantage.note.clone(),
            supported: core.advantage.supported,
        },
        auc: core.auc,
        advantage: core.advantage,
        best_threshold,
        tpr_at_fpr: core.tpr_at_fpr,
        eps_lower_bound: eps_lower_bound(scores, member, cfg.delta, cfg.confidence, cfg.seed),
        p_value: core.p_value,
        roc: thin_roc(r, cfg.roc_plot_points),
        histogram: histogram(scores, member, cfg.histogram_bins),
    }
}

/// Accuracy and loss of members vs non-members: the overfitting that attacks exploit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overfitting {
    /// Clopper–Pearson intervals; `None` without full outputs (loss-only input).
    pub accuracy_members: Option<Estimate>,
    pub accuracy_non_members: Option<Estimate>,
    /// Members minus non-members, Newcombe's hybrid-score interval.
    pub accuracy_gap: Option<Estimate>,
    pub mean_loss_members: Estimate,
    pub mean_loss_non_members: Estimate,
    /// Non-members minus members (positive = members fit better), Welch normal interval.
    pub loss_gap: Estimate,
}

/// Wilson score interval (used inside Newcombe's interval for a difference).
fn wilson(k: u64, n: u64, z: f64) -> [f64; 2] {
    let (p, n) = (k as f64 / n as f64, n as f64);
    let c = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let h = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    [(c - h).max(0.0), (c + h).min(1.0)]
}

/// Overfitting reading from per-record loss and correctness.
pub fn overfitting(loss: &[f64], correct: Option<&[bool]>, member: &[bool], confidence: f64) -> Overfitting {
    let z = crate::stats::normal_quantile(0.5 + confidence / 2.0);
    let sel = |want: bool| loss.iter().zip(member).filter(move |(_, m)| **m == want).map(|(l, _)| *l);
    let (m1, c1, se1, _) = mean_interval(sel(true), confidence);
    let (m0, c0, se0, _) = mean_interval(sel(false), confidence);
    let gap = m0 - m1;
    let h = z * (se1 * se1 + se0 * se0).sqrt();
    let mut o = Overfitting {
        accuracy_members: None,
        accuracy_non_members: None,
        accuracy_gap: None,
        mean_loss_members: Estimate::new(m1, c1, None),
        mean_loss_non_members: Estimate::new(m0, c0, None),
        loss_gap: Estimate::new(gap, h.is_finite().then_some([gap - h, gap + h]), None),
    };
    if let Some(c) = correct {
        let count = |want: bool| {
            let n = member.iter().filter(|&&m| m == want).count() as u64;
            let k = c.iter().zip(member).filter(|(c, m)| **c && **m == want).count() as u64;
            (k, n)
        };
        let ((k1, n1), (k0, n0)) = (count(true), count(false));
        if n1 > 0 && n0 > 0 {
            let (p1, p0) = (k1 as f64 / n1 as f64, k0 as f64 / n0 as f64);
            // Newcombe (Statist. Med. 1998), method 10.
            let ([l1, u1], [l0, u0]) = (wilson(k1, n1, z), wilson(k0, n0, z));
            let d = p1 - p0;
            let lo = d - ((p1 - l1).powi(2) + (u0 - p0).powi(2)).sqrt();
            let hi = d + ((u1 - p1).powi(2) + (p0 - l0).powi(2)).sqrt();
            o.accuracy_members = Some(Estimate::new(p1, Some(clopper_pearson(k1, n1, confidence)), None));
            o.accuracy_non_members = Some(Estimate::new(p0, Some(clopper_pearson(k0, n0, confidence)), None));
            o.accuracy_gap = Some(Estimate::new(d, Some([lo, hi]), None));
        }
    }
    o
}

/// One class's evaluation of one attack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slice {
    pub attack: String,
    pub class: usize,
    /// `None` when the class lacks members or non-members (reason in `note`).
    pub evaluation: Option<SliceEvaluation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliceEvaluation {
    pub n_members: u64,
    pub n_non_members: u64,
    pub auc: Estimate,
    pub advantage: Estimate,
    pub tpr_at_fpr: Vec<TprAtFpr>,
    /// One-sided Mann–Whitney p-value of "members score higher" within the class.
    pub p_value: f64,
    /// Holm-adjusted over all classes of this attack.
    pub p_holm: f64,
    /// Whether the Holm-adjusted p-value is below 1 − confidence.
    pub leaks: bool,
}

/// Per-class slices of several attacks (`attacks[a]` names `scores[a]`), with Holm's
/// correction across the classes of each attack. Slices are ordered by attack, then class.
pub fn class_slices(
    attacks: &[&str],
    scores: &[&[f64]],
    member: &[bool],
    labels: &[usize],
    cfg: &EvalConfig,
) -> Vec<Slice> {
    let n_classes = labels.iter().copied().max().map_or(0, |m| m + 1);
    // per_class[c][a]; a slice needs no ε bound, ROC curve or histogram.
    let per_class: Vec<Result<Vec<SliceEvaluation>, CoreError>> = (0..n_classes)
        .into_par_iter()
        .map(|c| {
            let rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
            let m: Vec<bool> = rows.iter().map(|&i| member[i]).collect();
            let sub: Vec<Vec<f64>> = scores.iter().map(|s| rows.iter().map(|&i| s[i]).collect()).collect();
            let refs: Vec<&[f64]> = sub.iter().map(|v| v.as_slice()).collect();
            let (ranked, draws) = rank_and_resample(&refs, &m, cfg)?;
            Ok(ranked
                .iter()
                .zip(&draws)
                .map(|(r, d)| slice_figures(r, &r.metrics(&cfg.fpr_targets, cfg.fpr_rule), d, cfg))
                .collect())
        })
        .collect();
    let mut out = Vec::new();
    for (a, name) in attacks.iter().enumerate() {
        let mut slices: Vec<Slice> = per_class
            .iter()
            .enumerate()
            .map(|(c, res)| match res {
                Ok(evals) => {
                    Slice { attack: name.to_string(), class: c, evaluation: Some(evals[a].clone()), note: None }
                }
                Err(err) => Slice { attack: name.to_string(), class: c, evaluation: None, note: Some(err.to_string()) },
            })
            .collect();
        let ps: Vec<f64> = slices.iter().filter_map(|s| s.evaluation.as_ref().map(|e| e.p_value)).collect();
        let adj = holm_adjust(&ps);
        for (e, p) in slices.iter_mut().filter_map(|s| s.evaluation.as_mut()).zip(adj) {
            e.p_holm = p;
            e.leaks = p < 1.0 - cfg.confidence;
        }
        out.extend(slices);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_class_is_an_error() {
        let e = evaluate_attack(&[1.0, 2.0], &[true, true], &EvalConfig::default());
        assert_eq!(e.unwrap_err(), CoreError::OneClass { members: 2, non_members: 0 });
    }

    #[test]
    fn support_follows_the_ten_over_fpr_rule() {
        let n = 2000;
        let s: Vec<f64> = (0..n).map(|i| (i % 97) as f64).collect();
        let m: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        let cfg = EvalConfig { bootstrap_resamples: 50, ..Default::default() };
        let e = evaluate_attack(&s, &m, &cfg).unwrap();
        let sup: Vec<bool> = e.tpr_at_fpr.iter().map(|t| t.supported).collect();
        // 1,000 non-members support FPR ≥ 1e-2 only.
        assert_eq!(sup, vec![false, false, false, true, true]);
        let [lo, hi] = e.auc.ci.unwrap();
        assert!(lo <= e.auc.value && e.auc.value <= hi);
    }

    /// Thinning keeps the top of the zero-FPR segment, which a log-log plot starts from.
    #[test]
    fn thinned_roc_keeps_members_caught_at_zero_fpr() {
        let n = 5000;
        let s: Vec<f64> = (0..n).map(|i| i as f64).collect();
        // The 300 highest scores are members; the rest alternate.
        let m: Vec<bool> = (0..n).map(|i| i >= n - 300 || i % 2 == 0).collect();
        let r = RankedScores::new(&s, &m);
        let plot = thin_roc(&r, 50);
        assert!(plot.fpr.len() <= 50, "{}", plot.fpr.len());
        let top_at_zero =
            plot.fpr.iter().zip(&plot.tpr).filter(|(f, _)| **f == 0.0).map(|(_, t)| *t).fold(0.0, f64::max);
        assert_eq!(top_at_zero, 300.0 / r.n_pos as f64);
    }

    #[test]
    fn newcombe_interval_contains_the_gap() {
        let loss = vec![0.1; 10];
        let correct = vec![true, true, true, true, false, true, false, false, true, false];
        let member = vec![true, true, true, true, true, false, false, false, false, false];
        let o = overfitting(&loss, Some(&correct), &member, 0.95);
        let g = o.accuracy_gap.unwrap();
        assert!((g.value - 0.4).abs() < 1e-12);
        let [lo, hi] = g.ci.unwrap();
        assert!(lo < 0.4 && hi > 0.4 && lo > -1.0 && hi < 1.0);
        assert_eq!(o.loss_gap.value, 0.0);
    }
}
