//! Rényi DP of one step of the Poisson-subsampled Gaussian mechanism.
//!
//! Under add/remove-one neighbouring, the worst-case pair of output distributions of one step
//! (sampling rate q, noise multiplier σ, sensitivity 1) is μ₀ = N(0, σ²) and
//! μ = (1 − q)·N(0, σ²) + q·N(1, σ²) (Mironov, Talwar & Zhang 2019, §3). Its RDP at order
//! α is `ln A_α / (α − 1)` with `A_α = E_{z∼μ₀}[(1 − q + q·ℓ(z))^α]`, where
//! `ℓ(z) = e^{(2z − 1)/(2σ²)}` is the likelihood ratio N(1, σ²)/N(0, σ²). Two facts do all the
//! work: `E₀[ℓⁱ] = e^{(i² − i)/(2σ²)}`, and `ℓⁱ·μ₀` is `e^{(i² − i)/(2σ²)}·N(i, σ²)`, so partial
//! moments are normal CDFs.
//!
//! * Integer α: the binomial expansion is finite. Because its coefficients `C(α,i) qⁱ (1−q)^{α−i}`
//!   sum to 1, `A_α − 1 = Σ_{i≥2} C(α,i) qⁱ (1−q)^{α−i} (e^{(i²−i)/(2σ²)} − 1)`, a sum of positive
//!   terms. We sum that in log space and take `ln(1 + (A − 1))`, which keeps full relative
//!   precision even when A is 1 + 1e-12 (small q, large σ), where summing A itself (as TF
//!   Privacy, Opacus and dp_accounting do) leaves only a few correct digits of `ln A`.
//! * Fractional α: split the integral at z₀ = σ² ln((1 − q)/q) + ½, where q·ℓ = 1 − q, and expand
//!   `(1 − q + qℓ)^α` in the powers of the ratio that is below 1 on each side (§3.3 of the paper):
//!   `A = Σᵢ C(α,i) [qⁱ(1−q)^{α−i} e^{(i²−i)/(2σ²)} Φ((z₀−i)/σ) + q^{α−i}(1−q)ⁱ e^{(j²−j)/(2σ²)}
//!   Φ((j−z₀)/σ)]` with j = α − i. For i > α the generalised binomial coefficients alternate in
//!   sign, so the tail is an alternating series.
//!   - [`FractionalSeries::Exact`] sums the signed terms (what TF Privacy and Opacus do). The
//!     terms' magnitudes fall off only like i^{−α−2} once i is past z₀ (the q-part and the
//!     normal tail cancel), so at small orders the series can need hundreds of terms (Opacus
//!     runs ~700 for q = 0.01, σ = 1, α = 1.5). When it has not converged after
//!     [`EXACT_SERIES_MAX_TERMS`] terms, or its sum has too few correct digits (A − 1 below ~1e-3,
//!     where ln A is a small difference of O(1) sums), the same `A − 1` is computed
//!     instead by quadrature of `E₀[h(q(ℓ − 1))]`, `h(x) = (1+x)^α − 1 − αx`, which is exact
//!     because `E₀[ℓ] = 1` and has a non-negative integrand (h is convex with h(0) = h'(0) = 0),
//!     so nothing cancels. Both paths agree with 40-digit mpmath integration to ~1e-13 relative
//!     on the fixture grid.
//!   - [`FractionalSeries::DpAccounting`] reproduces Google dp_accounting 0.6.0, whose
//!     `_compute_log_a_frac` adds the *absolute values* of the terms (its `_log_comb` is
//!     `gammaln`-based, i.e. `ln |C(α,i)|`) and gives up after 1000 terms (the order then has
//!     RDP +∞ and drops out of the minimum). The absolute sum is an upper bound on A, so the
//!     result is valid but looser: up to ~1.9x the exact RDP at the smallest orders (q = 0.1,
//!     σ = 3, α = 1.1), and +∞ at many orders below 3 once q ≥ 0.1. On the fixture grid that
//!     makes dp_accounting's ε more than 1e-3 above the exact one at 144 of 448 points.

use std::f64::consts::PI;

use serde::Serialize;

use crate::logspace::{log_add, log_expm1, log_ndtr, log_sub, log_sum_exp, log1m_exp, log1p_exp};

/// How RDP at a fractional order is summed. Integer orders are the same for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FractionalSeries {
    /// The signed two-series expansion (its exact value), with a quadrature fallback where the
    /// series is slow or ill-conditioned; agrees with Opacus 1.6 / TF Privacy and with
    /// high-precision integration.
    Exact,
    /// Google dp_accounting 0.6.0's variant: absolute values of the terms, stopped when both new
    /// terms are decreasing and e^30 below the running total, +∞ after 1000 terms.
    DpAccounting,
}

/// Terms of the signed series tried before falling back to quadrature.
pub const EXACT_SERIES_MAX_TERMS: usize = 64;
/// dp_accounting 0.6.0's `_MAX_STEPS_LOG_A_FRAC`.
const DP_ACCOUNTING_MAX_TERMS: usize = 1000;
/// The signed series stops once a term is below e^-37 ≈ 8.5e-17 of the sum; in the alternating,
/// decreasing tail the truncation error is at most the first omitted term.
const SERIES_TAIL_LOG_RATIO: f64 = 37.0;
/// Largest accepted estimated relative error of `ln A` from the series (else quadrature).
const SERIES_MAX_RELATIVE_ERROR: f64 = 1e-11;
/// Beyond this many trapezoid nodes (σ very small) quadrature is not attempted.
const QUADRATURE_MAX_NODES: f64 = 200_000.0;

/// RDP of one step at `order` (> 1), for validated `0 < q ≤ 1`, `σ > 0`.
pub(crate) fn rdp_one_step(q: f64, sigma: f64, order: f64, series: FractionalSeries) -> f64 {
    let inv_two_var = 1.0 / (2.0 * sigma * sigma);
    if !inv_two_var.is_finite() {
        // σ so small that 1/σ² overflows: the mechanism is (numerically) not private.
        return f64::INFINITY;
    }
    let rdp = if q == 1.0 {
        // No subsampling: the Gaussian mechanism's RDP, exactly.
        order * inv_two_var
    } else if order.fract() == 0.0 {
        log_a_integer(q, inv_two_var, order as u64) / (order - 1.0)
    } else {
        let log_a = match series {
            FractionalSeries::Exact => log_a_fractional_exact(q, sigma, order),
            FractionalSeries::DpAccounting => log_a_fractional_absolute(q, sigma, order),
        };
        log_a / (order - 1.0)
    };
    // The true value is ≥ 0 (a divergence); a NaN can only come from inf − inf in a term, i.e.
    // an overflow, so +∞ (no guarantee at this order) is the safe reading.
    if rdp.is_nan() { f64::INFINITY } else { rdp.max(0.0) }
}

/// `ln A_n` for integer n ≥ 2 via `A − 1` (see the module doc).
fn log_a_integer(q: f64, inv_two_var: f64, n: u64) -> f64 {
    let ln_q = q.ln();
    let ln_1mq = (-q).ln_1p();
    let nf = n as f64;
    // ln C(n, i), advanced by the ratio C(n, i)/C(n, i−1) = (n − i + 1)/i.
    let mut ln_binom = nf.ln();
    let mut log_a_minus_1 = f64::NEG_INFINITY;
    for i in 2..=n {
        let fi = i as f64;
        ln_binom += (nf - fi + 1.0).ln() - fi.ln();
        let term = ln_binom + fi * ln_q + (nf - fi) * ln_1mq + log_expm1((fi * fi - fi) * inv_two_var);
        log_a_minus_1 = log_add(log_a_minus_1, term);
    }
    log1p_exp(log_a_minus_1)
}

/// The i-th pair of log terms of the fractional two-series expansion, with the size of the
/// largest intermediate (for the rounding-error estimate).
struct SeriesTerm {
    below_z0: f64,
    above_z0: f64,
    magnitude: f64,
}

/// Shared setup of both fractional series.
struct FractionalTerms {
    alpha: f64,
    sigma: f64,
    ln_q: f64,
    ln_1mq: f64,
    inv_two_var: f64,
    z0: f64,
}

impl FractionalTerms {
    fn new(q: f64, sigma: f64, alpha: f64) -> Self {
        let ln_q = q.ln();
        let ln_1mq = (-q).ln_1p();
        let z0 = sigma * sigma * (ln_1mq - ln_q) + 0.5;
        Self { alpha, sigma, ln_q, ln_1mq, inv_two_var: 1.0 / (2.0 * sigma * sigma), z0 }
    }

    /// Terms i of both series given `ln |C(α, i)|`.
    fn term(&self, i: usize, ln_abs_binom: f64) -> SeriesTerm {
        let fi = i as f64;
        let j = self.alpha - fi;
        let below =
            [fi * self.ln_q, j * self.ln_1mq, (fi * fi - fi) * self.inv_two_var, log_ndtr((self.z0 - fi) / self.sigma)];
        let above =
            [j * self.ln_q, fi * self.ln_1mq, (j * j - j) * self.inv_two_var, log_ndtr((j - self.z0) / self.sigma)];
        let size = |parts: &[f64; 4]| ln_abs_binom.abs() + parts.iter().map(|p| p.abs()).sum::<f64>();
        SeriesTerm {
            below_z0: ln_abs_binom + below.iter().sum::<f64>(),
            above_z0: ln_abs_binom + above.iter().sum::<f64>(),
            magnitude: size(&below).max(size(&above)),
        }
    }
}

/// Iterates `(i, ln |C(α, i)|, C(α, i) < 0)` for i = 0, 1, 2, …
fn binomial_coefficients(alpha: f64) -> impl Iterator<Item = (usize, f64, bool)> {
    let mut ln_abs = 0.0;
    let mut negative = false;
    (0..).map(move |i: usize| {
        if i > 0 {
            // C(α, i) = C(α, i − 1)·(α − i + 1)/i.
            let factor = alpha - (i - 1) as f64;
            ln_abs += factor.abs().ln() - (i as f64).ln();
            negative ^= factor < 0.0;
        }
        (i, ln_abs, negative)
    })
}

/// `ln A_α` for fractional α by the signed series, falling back to quadrature.
fn log_a_fractional_exact(q: f64, sigma: f64, alpha: f64) -> f64 {
    let series = signed_series(q, sigma, alpha);
    if let Some((log_a, error)) = series
        && log_a > 0.0
        && error <= SERIES_MAX_RELATIVE_ERROR * log_a
    {
        return log_a;
    }
    if let Some(log_a) = quadrature(q, sigma, alpha) {
        return log_a;
    }
    match series {
        // Ill-conditioned but converged (σ far too small for quadrature and A ≈ 1): the series
        // value is still right to ~1e-15 in absolute terms.
        Some((log_a, _)) => log_a.max(0.0),
        None => f64::INFINITY,
    }
}

/// The signed series; `Some((ln A, estimated absolute error of ln A))` if it converged within
/// [`EXACT_SERIES_MAX_TERMS`].
fn signed_series(q: f64, sigma: f64, alpha: f64) -> Option<(f64, f64)> {
    let terms = FractionalTerms::new(q, sigma, alpha);
    // From i = ⌈α⌉ on, C(α, i) alternates in sign.
    let alternating_from = alpha.ceil() as usize;
    let (mut log_positive, mut log_negative) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let mut log_max_term = f64::NEG_INFINITY;
    let mut max_magnitude: f64 = 0.0;
    let mut previous = f64::INFINITY;
    for (i, ln_abs_binom, negative) in binomial_coefficients(alpha).take(EXACT_SERIES_MAX_TERMS) {
        let term = terms.term(i, ln_abs_binom);
        let log_term = log_add(term.below_z0, term.above_z0);
        if log_term.is_nan() {
            return None;
        }
        if log_term > log_max_term - 40.0 {
            max_magnitude = max_magnitude.max(term.magnitude);
        }
        log_max_term = log_max_term.max(log_term);
        if negative {
            log_negative = log_add(log_negative, log_term);
        } else {
            log_positive = log_add(log_positive, log_term);
        }
        if i > alternating_from && log_term < previous && log_negative < log_positive {
            let log_a = log_sub(log_positive, log_negative);
            if log_term < log_a - SERIES_TAIL_LOG_RATIO {
                // Each term carries a relative rounding error of about ε·(size of its largest
                // intermediate), each addition ε; the final difference of the two sums ε·P/A.
                let eps = f64::EPSILON;
                let error = eps * (4.0 * (i + 1) as f64 + max_magnitude) * (log_max_term - log_a).exp()
                    + 2.0 * eps * (log_positive - log_a).exp();
                return Some((log_a, error));
            }
        }
        previous = log_term;
    }
    None
}

/// dp_accounting 0.6.0's absolute-value series (see [`FractionalSeries::DpAccounting`]).
fn log_a_fractional_absolute(q: f64, sigma: f64, alpha: f64) -> f64 {
    let terms = FractionalTerms::new(q, sigma, alpha);
    let (mut log_below, mut log_above) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let (mut previous_below, mut previous_above) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for (i, ln_abs_binom, _) in binomial_coefficients(alpha).take(DP_ACCOUNTING_MAX_TERMS) {
        let term = terms.term(i, ln_abs_binom);
        log_below = log_add(log_below, term.below_z0);
        log_above = log_add(log_above, term.above_z0);
        let total = log_add(log_below, log_above);
        if term.below_z0 < previous_below
            && term.above_z0 < previous_above
            && term.below_z0.max(term.above_z0) < total - 30.0
        {
            return total;
        }
        previous_below = term.below_z0;
        previous_above = term.above_z0;
    }
    f64::INFINITY
}

/// `ln h(x)` for `h(x) = (1 + x)^α − 1 − αx`, x > −1 given as its sign and `ln |x|`.
fn log_h(alpha: f64, x_positive: bool, ln_abs_x: f64) -> f64 {
    if ln_abs_x == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    let abs_x = ln_abs_x.exp();
    let x = if x_positive { abs_x } else { -abs_x };
    if alpha * abs_x <= 0.5 {
        // h = x²·Σ_{k≥2} C(α,k) x^{k−2}: consecutive terms shrink by |α − k|·|x|/(k + 1) ≤ 1/6,
        // so the first (positive) term dominates and nothing cancels.
        let mut coefficient = alpha * (alpha - 1.0) / 2.0;
        let mut sum = coefficient;
        let mut power = 1.0;
        let mut k = 2.0;
        loop {
            coefficient *= (alpha - k) / (k + 1.0);
            power *= x;
            let next = coefficient * power;
            sum += next;
            if next.abs() <= 1e-17 * sum.abs() {
                break;
            }
            k += 1.0;
        }
        return 2.0 * ln_abs_x + sum.ln();
    }
    if !x_positive {
        // x ∈ (−q, −1/(2α)]: both parts are O(1) and h is not small against them.
        return ((alpha * x.ln_1p()).exp_m1() - alpha * x).ln();
    }
    let ln_1px = log1p_exp(ln_abs_x);
    let ln_power = alpha * ln_1px;
    if ln_power < 30.0 {
        (ln_power.exp_m1() - alpha * abs_x).ln()
    } else {
        ln_power + log1m_exp(log1p_exp(alpha.ln() + ln_abs_x) - ln_power)
    }
}

/// `ln A_α` from `A − 1 = E_{z∼N(0,σ²)}[h(q(ℓ(z) − 1))]` by the trapezoid rule in t = z/σ.
///
/// The integrand is analytic in the strip |Im t| < πσ (its only singularities are where
/// `1 + q(ℓ − 1) = 0`) and decays like a Gaussian, so the trapezoid rule converges
/// geometrically, with error about `e^{−2π d/step}` times the integrand's size in the strip over
/// its integral (≲ 1/q²). The step is chosen for `e^{−72}/q²` with d = 0.8πσ. The nodes cover
/// [−14, α/σ + 14]: the integrand is φ(t) times at most `e^{α t/σ}`, whose peak is at α/σ.
fn quadrature(q: f64, sigma: f64, alpha: f64) -> Option<f64> {
    let ln_q = q.ln();
    let strip = 0.8 * PI * sigma;
    let step = (2.0 * PI * strip / (72.0 + 2.0 * ln_q.abs())).min(0.25);
    let (start, end) = (-14.0, alpha / sigma + 14.0);
    let nodes = ((end - start) / step).ceil();
    if nodes.is_nan() || nodes > QUADRATURE_MAX_NODES {
        return None;
    }
    let half_inv_var = 0.5 / (sigma * sigma);
    let log_integrand: Vec<f64> = (0..=nodes as usize)
        .map(|k| {
            let t = start + k as f64 * step;
            // ln ℓ at z = σt.
            let log_ratio = t / sigma - half_inv_var;
            let x_positive = log_ratio > 0.0;
            let ln_abs_expm1 = if x_positive { log_expm1(log_ratio) } else { log1m_exp(log_ratio) };
            -0.5 * t * t + log_h(alpha, x_positive, ln_q + ln_abs_expm1)
        })
        .collect();
    let log_a_minus_1 = log_sum_exp(&log_integrand) + step.ln() - 0.5 * (2.0 * PI).ln();
    let log_a = log1p_exp(log_a_minus_1);
    log_a.is_finite().then_some(log_a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn no_subsampling_is_the_gaussian_mechanism() {
        for order in [1.5, 2.0, 32.0] {
            assert_eq!(rdp_one_step(1.0, 2.0, order, FractionalSeries::Exact), order / 8.0);
        }
    }

    #[test]
    fn integer_order_two_has_a_closed_form() {
        // A₂ = 1 + q²(e^{1/σ²} − 1).
        for (q, sigma) in [(1e-4, 20.0_f64), (0.01, 1.0), (0.5, 0.3)] {
            let expected = (q * q * (1.0 / (sigma * sigma)).exp_m1()).ln_1p();
            let got = rdp_one_step(q, sigma, 2.0, FractionalSeries::Exact);
            assert!(rel(got, expected) < 1e-13, "q={q} σ={sigma}: {got} vs {expected}");
        }
    }

    #[test]
    fn series_and_quadrature_agree_where_both_are_well_conditioned() {
        for (q, sigma, alpha) in
            [(1e-3, 0.3, 6.5), (0.01, 0.3, 4.5), (0.01, 0.5, 10.9), (0.1, 0.3, 3.5), (0.05, 0.5, 5.5)]
        {
            let (log_a, error) = signed_series(q, sigma, alpha).expect("series converges");
            assert!(error < 1e-11 * log_a, "q={q} σ={sigma} α={alpha}: ln A = {log_a}, error {error}");
            let by_quadrature = quadrature(q, sigma, alpha).expect("quadrature feasible");
            assert!(rel(by_quadrature, log_a) < 1e-11, "q={q} σ={sigma} α={alpha}: {by_quadrature} vs {log_a}");
        }
    }

    #[test]
    fn fractional_order_lies_between_neighbouring_integer_orders() {
        // RDP is non-decreasing in the order.
        for (q, sigma) in [(1e-4, 20.0), (0.1, 1.0), (0.5, 0.5), (0.9, 3.0)] {
            let at = |order| rdp_one_step(q, sigma, order, FractionalSeries::Exact);
            for order in [2.5_f64, 3.7, 9.9] {
                assert!(at(order.floor()) <= at(order) && at(order) <= at(order.ceil()), "q={q} σ={sigma} α={order}");
            }
        }
    }

    #[test]
    fn extreme_noise_gives_finite_or_infinite_but_never_nan() {
        for series in [FractionalSeries::Exact, FractionalSeries::DpAccounting] {
            for sigma in [1e-200, 1e-3, 1e6, 1e200] {
                for order in [1.5, 2.0, 1024.0] {
                    let rdp = rdp_one_step(0.01, sigma, order, series);
                    assert!(rdp >= 0.0, "σ={sigma} α={order}: {rdp}");
                }
            }
        }
        assert_eq!(rdp_one_step(0.01, 1e-200, 2.0, FractionalSeries::Exact), f64::INFINITY);
        assert!(rdp_one_step(0.01, 1e6, 2.5, FractionalSeries::Exact) < 1e-15);
    }
}
