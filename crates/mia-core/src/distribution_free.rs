//! Intervals that hold at every sample size, for classes too small for the bootstrap and
//! for the advantage.
//!
//! A percentile bootstrap resamples the records it has: with one member it redraws that
//! member every time, so the AUC's interval collapses around whatever rank the member
//! happened to get (a pure-noise audit with 1 member of 200 reported AUC 0.93 [0.89, 0.96]).
//! Below [`crate::EvalConfig::bootstrap_min_class_size`] members or non-members the
//! evaluation uses these bounds instead, and for the advantage at every size (a bootstrap of
//! a maximum over thresholds sits above a true advantage of 0). They assume only that members are drawn independently from one
//! score distribution and non-members from another, so their coverage is at least the
//! stated confidence whatever the sample size; the price is width.
//!
//! - AUC: the Mann–Whitney AUC is a two-sample U-statistic with a kernel in [0, 1], so
//!   P(|AUC − E AUC| ≥ t) ≤ 2·exp(−2·k·t²) with k = min(members, non-members) (Hoeffding,
//!   "Probability inequalities for sums of bounded random variables", JASA 1963, §5).
//! - Curves: with probability ≥ 1 − α/2 each, the empirical survival functions of members
//!   and non-members lie within ε = sqrt(ln(4/α) / 2n) of the true ones at every threshold
//!   (Dvoretzky–Kiefer–Wolfowitz, Ann. Math. Stat. 1956, with Massart's constant, Ann.
//!   Probab. 1990). Both bands hold together with probability ≥ 1 − α, and then
//!   - the advantage max(TPR − FPR) is within ε₀ + ε₁ of the true one;
//!   - the true TPR at FPR ≤ t lies between the empirical TPR at FPR ≤ t − ε₀ less ε₁ (that
//!     threshold's true FPR is at most t) and the empirical TPR at FPR ≤ t + ε₀ plus ε₁ (every
//!     threshold whose true FPR is at most t has empirical FPR at most t + ε₀).

use crate::roc::{FprRule, RankedScores};

/// Half-width of a two-sided band of level `alpha` on an empirical distribution function of
/// `n` independent draws: P(sup |F̂ − F| > ε) ≤ 2·exp(−2nε²) = alpha.
pub fn dkw_epsilon(n: u64, alpha: f64) -> f64 {
    ((2.0 / alpha).ln() / (2.0 * n as f64)).sqrt()
}

fn clamp01(lo: f64, hi: f64) -> [f64; 2] {
    [lo.clamp(0.0, 1.0), hi.clamp(0.0, 1.0)]
}

/// Hoeffding interval for the AUC at `confidence`.
pub fn auc_interval(auc: f64, n_pos: u64, n_neg: u64, confidence: f64) -> [f64; 2] {
    let alpha = 1.0 - confidence;
    let k = n_pos.min(n_neg) as f64;
    let t = ((2.0 / alpha).ln() / (2.0 * k)).sqrt();
    clamp01(auc - t, auc + t)
}

/// The two bands' half-widths (non-members, members) at `confidence`, α split evenly.
fn bands(n_pos: u64, n_neg: u64, confidence: f64) -> (f64, f64) {
    let half_alpha = (1.0 - confidence) / 2.0;
    (dkw_epsilon(n_neg, half_alpha), dkw_epsilon(n_pos, half_alpha))
}

/// Interval for the advantage max(TPR − FPR) from the two DKW bands.
pub fn advantage_interval(advantage: f64, n_pos: u64, n_neg: u64, confidence: f64) -> [f64; 2] {
    let (e0, e1) = bands(n_pos, n_neg, confidence);
    clamp01(advantage - e0 - e1, advantage + e0 + e1)
}

/// Intervals for the TPR at each FPR target (under `rule`) from the two DKW bands.
pub fn tpr_at_fpr_intervals(r: &RankedScores, targets: &[f64], rule: FprRule, confidence: f64) -> Vec<[f64; 2]> {
    let (e0, e1) = bands(r.n_pos, r.n_neg, confidence);
    let below: Vec<f64> = targets.iter().map(|&t| t - e0).collect();
    let above: Vec<f64> = targets.iter().map(|&t| t + e0).collect();
    let lo = r.metrics(&below, rule).tpr_at_fpr;
    let hi = r.metrics(&above, rule).tpr_at_fpr;
    lo.iter()
        .zip(&hi)
        .zip(&below)
        .map(|(((l, _, _), (h, _, _)), &b)| {
            // A negative budget admits no threshold at all: the lower end is 0.
            let l = if b < 0.0 { 0.0 } else { *l };
            clamp01(l - e1, h + e1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_member_leaves_the_auc_unknown() {
        assert_eq!(auc_interval(0.93, 1, 199, 0.95), [0.0, 1.0]);
        assert_eq!(advantage_interval(0.9, 1, 199, 0.95), [0.0, 1.0]);
    }

    /// The Hoeffding half-width for k = 20 at 95 %: sqrt(ln(40) / 40) = 0.30368...
    #[test]
    fn hoeffding_half_width_matches_the_formula() {
        let [lo, hi] = auc_interval(0.5, 20, 180, 0.95);
        assert!((hi - 0.5 - (40f64.ln() / 40.0).sqrt()).abs() < 1e-15);
        assert!((0.5 - lo - (40f64.ln() / 40.0).sqrt()).abs() < 1e-15);
    }

    /// Massart's DKW band: 2·exp(−2nε²) equals α.
    #[test]
    fn dkw_band_inverts_its_tail_bound() {
        for (n, a) in [(1u64, 0.05), (37, 0.025), (10_000, 0.001)] {
            let e = dkw_epsilon(n, a);
            assert!((2.0 * (-2.0 * n as f64 * e * e).exp() - a).abs() < 1e-12);
        }
    }

    #[test]
    fn tpr_band_brackets_the_estimate() {
        // 10 members above 30 non-members, then 10 members mixed in below.
        let mut s = Vec::new();
        let mut m = Vec::new();
        for i in 0..50 {
            s.push(100.0 - i as f64);
            m.push(!(10..40).contains(&i));
        }
        let r = RankedScores::new(&s, &m);
        let targets = [0.01, 0.1, 0.5];
        let est = r.metrics(&targets, FprRule::AtMost).tpr_at_fpr;
        let ci = tpr_at_fpr_intervals(&r, &targets, FprRule::AtMost, 0.95);
        for (e, [lo, hi]) in est.iter().zip(&ci) {
            assert!(*lo <= e.0 && e.0 <= *hi, "{lo} {} {hi}", e.0);
        }
        // At 1 % FPR the band reaches below FPR 0 (ε₀ ≈ 0.27 with 30 non-members): lower end 0.
        assert_eq!(ci[0][0], 0.0);
    }
}
