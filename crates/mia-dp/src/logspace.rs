//! Log-space arithmetic and the log of the standard normal CDF.
//!
//! The RDP terms range over hundreds of orders of magnitude (e^{i²/2σ²} for σ = 0.3 and i = 60
//! is e^{20000}), so every sum is kept as a logarithm. These few helpers are written here rather
//! than taken from a crate because they are short and their edge cases (−∞ for zero, +∞
//! propagation, the accuracy of `ln(eˣ − 1)` near 0) matter to the accountant. `ln Φ` is here
//! for the same reason: the fractional-order series needs it far into the tail (x ≈ −1000).

use std::f64::consts::{LN_2, PI};

/// `ln(eᵃ + eᵇ)`; −∞ stands for zero.
pub(crate) fn log_add(a: f64, b: f64) -> f64 {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    if low == f64::NEG_INFINITY || high == f64::INFINITY {
        return high;
    }
    high + (low - high).exp().ln_1p()
}

/// `ln(eᵃ − eᵇ)` for `a ≥ b`; −∞ when they are equal (or `b > a`, which callers rule out).
pub(crate) fn log_sub(a: f64, b: f64) -> f64 {
    if b == f64::NEG_INFINITY {
        return a;
    }
    if b >= a {
        return f64::NEG_INFINITY;
    }
    a + log1m_exp(b - a)
}

/// `ln(1 − eˣ)` for `x < 0`, switching formulas at −ln 2 so neither loses digits.
pub(crate) fn log1m_exp(x: f64) -> f64 {
    if x > -LN_2 { (-x.exp_m1()).ln() } else { (-x.exp()).ln_1p() }
}

/// `ln(1 + eˣ)`.
pub(crate) fn log1p_exp(x: f64) -> f64 {
    if x > 0.0 { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() }
}

/// `ln(eˣ − 1)` for `x ≥ 0` (−∞ at 0, +∞ at +∞).
pub(crate) fn log_expm1(x: f64) -> f64 {
    if x > 1.0 { x + (-(-x).exp()).ln_1p() } else { x.exp_m1().ln() }
}

/// `ln Σ eˣ` over a slice, shifting by the maximum first.
pub(crate) fn log_sum_exp(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + values.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// `ln Φ(x)`, Φ the standard normal CDF, to ~1e-14 relative over the whole real line (what
/// `scipy.special.log_ndtr` computes).
///
/// Written out rather than built on an `erfc`: statrs 0.19's `erfc` is off by ~1e-10 relative
/// near 1, which is more than the RDP fixtures allow. Two expansions (checked against mpmath
/// in the tests, worst relative error ~5e-15 in `ln Φ`):
///
/// * |x| ≤ 2: `Φ(x) = ½ + φ(x)·Σₙ x^{2n+1}/(2n+1)!!` (terms of one sign; the sum loses at most a
///   factor 22 = ½/Φ(−2)).
/// * x < −2: Laplace's continued fraction for the Mills ratio,
///   `Φ(−u)/φ(u) = 1/(u + 1/(u + 2/(u + 3/(u + …))))`, evaluated backwards from depth
///   20 + 400/u² (enough for f64 at u = 2, and shallower as it converges faster), and combined
///   with φ in log space so nothing underflows however far out x is.
///
/// For x > 2, `ln Φ(x) = ln(1 − Φ(−x))` keeps the digits of a value near 0.
pub(crate) fn log_ndtr(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x.abs() <= 2.0 {
        // Φ(x) = ½ + φ(x)·S(x) with S odd: no cancellation for x ≥ 0, at most a factor
        // ½/Φ(−2) ≈ 22 for x ≥ −2.
        return (0.5 + (log_density(x).exp() * odd_series(x))).ln();
    }
    if x > 0.0 {
        return (-lower_tail(-x).exp()).ln_1p();
    }
    lower_tail(x)
}

/// `ln φ(x)`.
fn log_density(x: f64) -> f64 {
    -0.5 * x * x - 0.5 * (2.0 * PI).ln()
}

/// `S(x) = Σₙ x^{2n+1}/(2n+1)!! = (Φ(x) − ½)/φ(x)`, for |x| ≤ 2 (all terms of one sign).
fn odd_series(x: f64) -> f64 {
    let mut term = x;
    let mut sum = x;
    let mut n = 1.0;
    while term.abs() > 1e-17 * sum.abs() {
        term *= x * x / (2.0 * n + 1.0);
        sum += term;
        n += 1.0;
    }
    sum
}

/// `ln Φ(x)` for `x < −2` by the continued fraction.
fn lower_tail(x: f64) -> f64 {
    let u = -x;
    if u == f64::INFINITY {
        return f64::NEG_INFINITY;
    }
    let depth = (20.0 + 400.0 / (u * u)) as u32;
    let mut denominator = u;
    for k in (1..=depth).rev() {
        denominator = u + f64::from(k) / denominator;
    }
    log_density(u) - denominator.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(f64::MIN_POSITIVE)
    }

    #[test]
    fn log_add_and_sub_handle_zero_and_infinity() {
        assert_eq!(log_add(f64::NEG_INFINITY, 1.5), 1.5);
        assert_eq!(log_add(f64::INFINITY, 1.5), f64::INFINITY);
        assert!(close(log_add(0.0, 0.0), LN_2, 1e-15));
        assert_eq!(log_sub(1.0, 1.0), f64::NEG_INFINITY);
        assert!(close(log_sub(3.0_f64.ln(), 1.0_f64.ln()), 2.0_f64.ln(), 1e-15));
    }

    #[test]
    fn log_expm1_and_log1p_exp_are_accurate_at_both_ends() {
        assert!(close(log_expm1(1e-10), (1e-10_f64 + 5e-21).ln(), 1e-15));
        assert!(close(log_expm1(800.0), 800.0, 1e-15));
        assert!(close(log1p_exp(-800.0), (-800.0_f64).exp(), 1e-12) || log1p_exp(-800.0) == 0.0);
        assert!(close(log1p_exp(800.0), 800.0, 1e-15));
        assert!(close(log1p_exp(-30.0), (-30.0_f64).exp(), 1e-13));
    }

    #[test]
    fn log_ndtr_matches_mpmath_fixture() {
        // ln Φ(x) from mpmath (scripts/dp_accountant_fixtures.py), x in [−1000, 40].
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../tests/fixtures/accountant.json")).expect("fixture JSON");
        let points = fixture["log_ndtr"].as_array().expect("log_ndtr points");
        assert!(points.len() > 50);
        assert_eq!(log_ndtr(f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert_eq!(log_ndtr(f64::INFINITY), 0.0);
        assert!(log_ndtr(f64::NAN).is_nan());
        for point in points {
            let x = point[0].as_f64().unwrap();
            let expected = point[1].as_f64().unwrap();
            let got = log_ndtr(x);
            assert!(close(got, expected, 1e-14), "log_ndtr({x}) = {got}, expected {expected}");
        }
    }
}
