//! Small-sample statistics the metrics need: exact binomial (Clopper–Pearson) intervals,
//! the Mann–Whitney test, Holm's step-down correction, normal intervals for means.
//!
//! Clopper–Pearson bounds are quantiles of Beta distributions (Clopper & Pearson,
//! Biometrika 1934). They are found here by safeguarded Newton iteration on the regularised
//! incomplete beta function from `statrs`, because `statrs::distribution::Beta::inverse_cdf` is off by up
//! to 3.4e-4, which matters at the low false-positive rates audits care about.

use statrs::distribution::{ContinuousCDF, Normal};
use statrs::function::beta::beta_reg;
use statrs::function::gamma::ln_gamma;

/// Inverse of the regularised incomplete beta I_x(a, b) in x (a, b ≥ 1 here), to ~1e-15.
///
/// Safeguarded Newton: a bracket [lo, hi] with I_lo < p ≤ I_hi is kept, each step is
/// Newton's (the derivative of I_x is the Beta(a, b) density), and a step that leaves the
/// bracket is replaced by bisection. Converges in a handful of evaluations where plain
/// bisection needs ~50; an audit computes thousands of these intervals (ε bounds).
fn beta_quantile(a: f64, b: f64, p: f64) -> f64 {
    let ln_norm = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b);
    let density = |x: f64| (ln_norm + (a - 1.0) * x.ln() + (b - 1.0) * (-x).ln_1p()).exp();
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    // Start at the mean of Beta(a, b).
    let mut x = a / (a + b);
    for _ in 0..200 {
        let f = beta_reg(a, b, x) - p;
        if f < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let d = density(x);
        let newton = x - f / d;
        let next = if d > 0.0 && newton.is_finite() && newton > lo && newton < hi { newton } else { 0.5 * (lo + hi) };
        if (next - x).abs() <= 1e-15 * x.max(1e-300) || next <= lo || next >= hi {
            return if next > lo && next < hi { next } else { x };
        }
        x = next;
    }
    x
}

/// Two-sided Clopper–Pearson interval for k successes in n trials at `confidence`
/// (e.g. 0.95). `n == 0` gives the uninformative [0, 1].
pub fn clopper_pearson(k: u64, n: u64, confidence: f64) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    let alpha = 1.0 - confidence;
    let (kf, nf) = (k as f64, n as f64);
    let lo = if k == 0 { 0.0 } else { beta_quantile(kf, nf - kf + 1.0, alpha / 2.0) };
    let hi = if k == n { 1.0 } else { beta_quantile(kf + 1.0, nf - kf, 1.0 - alpha / 2.0) };
    [lo, hi]
}

/// Standard normal quantile.
pub fn normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// One-sided p-value of the Mann–Whitney test that members score higher than
/// non-members, by the normal approximation with tie correction and continuity
/// correction (the same as `scipy.stats.mannwhitneyu(..., alternative="greater",
/// method="asymptotic")`). `u` is the member statistic (AUC × n_pos × n_neg);
/// `tie_term` is Σ (t³ − t) over groups of tied scores. All-tied data give p = 1.
pub fn mann_whitney_p_greater(u: f64, n_pos: u64, n_neg: u64, tie_term: f64) -> f64 {
    let (n1, n2) = (n_pos as f64, n_neg as f64);
    let n = n1 + n2;
    if n1 == 0.0 || n2 == 0.0 || n < 2.0 {
        return 1.0;
    }
    let var = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if var <= 0.0 {
        return 1.0;
    }
    let z = (u - n1 * n2 / 2.0 - 0.5) / var.sqrt();
    Normal::standard().sf(z)
}

/// Holm's step-down adjusted p-values (Holm, Scand. J. Statist. 1979), in input order:
/// controls the family-wise error rate over all slices at once.
pub fn holm_adjust(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut idx: Vec<usize> = (0..m).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let mut out = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in idx.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

/// Mean with a normal-approximation interval (± z·s/√n); `None` interval below 2 values.
pub fn mean_interval(x: impl Iterator<Item = f64> + Clone, confidence: f64) -> (f64, Option<[f64; 2]>, f64, usize) {
    let (mut n, mut s) = (0usize, 0.0);
    for v in x.clone() {
        n += 1;
        s += v;
    }
    if n == 0 {
        return (f64::NAN, None, f64::NAN, 0);
    }
    let mean = s / n as f64;
    if n < 2 {
        return (mean, None, f64::NAN, n);
    }
    let var = x.map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n as f64 - 1.0);
    let se = (var / n as f64).sqrt();
    let z = normal_quantile(0.5 + confidence / 2.0);
    (mean, Some([mean - z * se, mean + z * se]), se, n)
}

/// Percentile of sorted values with linear interpolation between order statistics
/// (numpy's default `linear` method).
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain bisection to the last representable step: slow, obviously right.
    fn beta_quantile_bisect(a: f64, b: f64, p: f64) -> f64 {
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        loop {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                return mid;
            }
            if beta_reg(a, b, mid) < p { lo = mid } else { hi = mid }
        }
    }

    #[test]
    fn newton_quantile_equals_bisection() {
        for &(k, n) in &[
            (1u64, 1u64),
            (1, 10),
            (3, 7),
            (1, 2004),
            (2003, 2004),
            (50, 100),
            (1, 1_000_000),
            (999_999, 1_000_000),
            (7, 100_000),
        ] {
            for &p in &[0.025, 0.975, 0.0005, 0.9995] {
                let (a, b) = (k as f64, (n - k) as f64 + 1.0);
                let (x, y) = (beta_quantile(a, b, p), beta_quantile_bisect(a, b, p));
                assert!((x - y).abs() <= 1e-11 * y.max(1e-300), "k={k} n={n} p={p}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn clopper_pearson_edges() {
        assert_eq!(clopper_pearson(0, 0, 0.95), [0.0, 1.0]);
        let [lo, hi] = clopper_pearson(0, 10, 0.95);
        assert_eq!(lo, 0.0);
        // Closed form for k = 0: 1 − (α/2)^(1/n).
        assert!((hi - (1.0 - 0.025f64.powf(0.1))).abs() < 1e-12);
        let [lo, hi] = clopper_pearson(10, 10, 0.95);
        assert!((lo - 0.025f64.powf(0.1)).abs() < 1e-12);
        assert_eq!(hi, 1.0);
    }

    #[test]
    fn holm_matches_hand_computation() {
        // Sorted p = 0.01, 0.02, 0.04 with m = 3: 0.03, 0.04, 0.04.
        let got = holm_adjust(&[0.04, 0.01, 0.02]);
        let want = [0.04, 0.03, 0.04];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-15);
        }
    }

    #[test]
    fn percentile_is_numpy_linear() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile_sorted(&v, 0.5), 2.5);
        assert_eq!(percentile_sorted(&v, 0.0), 1.0);
        assert!((percentile_sorted(&v, 0.975) - 3.925).abs() < 1e-12);
    }
}
