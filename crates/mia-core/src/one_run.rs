//! The one-run audit's ε lower bound (Steinke, Nasr & Jagielski, "Privacy Auditing with One (1)
//! Training Run", NeurIPS 2023).
//!
//! Setting: m canary records, each included in the single training run independently with
//! probability ½. The auditor guesses "in" or "out" for r of them (abstaining on the rest) and
//! is right v times. If training is (ε, δ)-DP, the number of right guesses is dominated by that
//! of ε-randomised response on r coins, Binomial(r, q) with q = e^ε / (1 + e^ε), up to a δ term:
//! the paper's theorem bounds
//!
//! P[v or more right] ≤ P[Binomial(r, q) ≥ v] + 2 m δ · max_{1 ≤ i ≤ v} P[v − i ≤ Binomial(r, q) < v] / i.
//!
//! That bound is the p-value of "training is (ε, δ)-DP" given v right guesses
//! ([`one_run_p_value`]); it grows with ε, and the lower bound reported at a confidence c is the
//! largest ε still rejected at level 1 − c ([`one_run_epsilon_lower_bound`]). The guesses (which
//! canaries, how many abstentions) must be fixed without looking at the coins, or the bound is
//! void; choosing among several abstention counts is paid for by the caller (a split or a
//! Bonferroni correction).
//!
//! The binomial terms are computed in log space from `ln Γ` (statrs), so r in the millions
//! neither overflows nor loses the far tail.

use statrs::function::gamma::ln_gamma;

/// Why a one-run bound cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OneRunError {
    /// The counts must satisfy 0 ≤ v ≤ r ≤ m and m ≥ 1.
    #[error(
        "one-run counts must satisfy 0 <= correct <= guesses <= canaries and canaries >= 1, got {canaries} canaries, {guesses} guesses, {correct} correct"
    )]
    Counts { canaries: u64, guesses: u64, correct: u64 },
    /// δ outside [0, 1), ε negative or not finite, or a confidence outside (0, 1).
    #[error("{name} = {value}: expected {expected}")]
    Setting { name: &'static str, value: f64, expected: &'static str },
}

fn check_counts(canaries: u64, guesses: u64, correct: u64) -> Result<(), OneRunError> {
    if canaries == 0 || guesses > canaries || correct > guesses {
        return Err(OneRunError::Counts { canaries, guesses, correct });
    }
    Ok(())
}

fn check_delta(delta: f64) -> Result<(), OneRunError> {
    if !(0.0..1.0).contains(&delta) {
        return Err(OneRunError::Setting { name: "delta", value: delta, expected: "a number in [0, 1)" });
    }
    Ok(())
}

/// ln P[Binomial(r, q) = k], with q given as (ln q, ln(1 − q)).
fn ln_pmf(r: u64, k: u64, ln_q: f64, ln_not_q: f64) -> f64 {
    let (r, kf) = (r as f64, k as f64);
    ln_gamma(r + 1.0) - ln_gamma(kf + 1.0) - ln_gamma(r - kf + 1.0) + kf * ln_q + (r - kf) * ln_not_q
}

/// The bound on P[v or more right guesses out of r] when training is (ε, δ)-DP with m canaries:
/// the p-value of that hypothesis (at most 1).
pub fn one_run_p_value(
    canaries: u64,
    guesses: u64,
    correct: u64,
    epsilon: f64,
    delta: f64,
) -> Result<f64, OneRunError> {
    check_counts(canaries, guesses, correct)?;
    check_delta(delta)?;
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(OneRunError::Setting { name: "epsilon", value: epsilon, expected: "a finite number >= 0" });
    }
    let (r, v) = (guesses, correct);
    // ln q and ln(1 − q) for q = 1 / (1 + e^−ε), without cancellation.
    let ln_q = -(-epsilon).exp().ln_1p();
    let ln_not_q = -epsilon.exp().ln_1p();
    let pmf = |k: u64| ln_pmf(r, k, ln_q, ln_not_q).exp();
    // P[Binomial(r, q) ≥ v], summed from the far end so small terms are not lost.
    let tail: f64 = (v..=r).rev().map(pmf).sum();
    // max over i of P[v − i ≤ Binomial < v] / i.
    let (mut window, mut worst) = (0.0f64, 0.0f64);
    for i in 1..=v {
        window += pmf(v - i);
        worst = worst.max(window / i as f64);
    }
    Ok((tail + worst * delta * 2.0 * canaries as f64).min(1.0))
}

/// Bisection steps of [`one_run_epsilon_lower_bound`] after bracketing: the bracket's width
/// halves each time, to below 1e-12 of its upper end.
const BISECTIONS: usize = 60;

/// The largest ε at which (ε, δ)-DP is rejected at level 1 − `confidence` given v right guesses
/// out of r on m canaries (0 when even ε = 0 is not rejected). A one-sided lower bound: training
/// is not (ε', δ)-DP for any ε' below it, with confidence `confidence`.
pub fn one_run_epsilon_lower_bound(
    canaries: u64,
    guesses: u64,
    correct: u64,
    delta: f64,
    confidence: f64,
) -> Result<f64, OneRunError> {
    check_counts(canaries, guesses, correct)?;
    check_delta(delta)?;
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(OneRunError::Setting { name: "confidence", value: confidence, expected: "a number in (0, 1)" });
    }
    let level = 1.0 - confidence;
    let p = |eps: f64| one_run_p_value(canaries, guesses, correct, eps, delta);
    if p(0.0)? >= level {
        return Ok(0.0);
    }
    // Bracket p(low) < level ≤ p(high) by doubling: as ε grows q → 1 and P[Binomial(r, q) ≥ v]
    // → 1 for any v ≤ r, so an upper end exists (past ε = 1e6 the last ε rejected is reported).
    let (mut low, mut high) = (0.0f64, 1.0f64);
    while p(high)? < level {
        low = high;
        high *= 2.0;
        if high > 1e6 {
            return Ok(low);
        }
    }
    for _ in 0..BISECTIONS {
        let mid = 0.5 * (low + high);
        if p(mid)? < level {
            low = mid;
        } else {
            high = mid;
        }
    }
    Ok(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With δ = 0 the p-value is the randomised-response binomial tail; at ε = 0 it is the
    /// fair-coin tail (checked against the exact sum with binomial coefficients).
    #[test]
    fn delta_zero_is_the_binomial_tail() {
        // r = 10, v = 8, q = ½: (C(10,8) + C(10,9) + C(10,10)) / 2¹⁰ = 56 / 1024.
        let p = one_run_p_value(100, 10, 8, 0.0, 0.0).unwrap();
        assert!((p - 56.0 / 1024.0).abs() < 1e-14, "{p}");
        // q = e / (1 + e), v = r = 3: q³.
        let q = 1.0f64.exp() / (1.0 + 1.0f64.exp());
        let p = one_run_p_value(50, 3, 3, 1.0, 0.0).unwrap();
        assert!((p - q.powi(3)).abs() < 1e-14, "{p} vs {}", q.powi(3));
    }

    /// More right guesses give a larger bound; more δ a smaller one; chance-level guessing none.
    #[test]
    fn the_bound_moves_the_right_way() {
        let b = |v, delta| one_run_epsilon_lower_bound(1000, 200, v, delta, 0.95).unwrap();
        let by_v: Vec<f64> = [110, 130, 150, 170, 190, 200].iter().map(|&v| b(v, 1e-5)).collect();
        assert!(by_v.windows(2).all(|w| w[0] < w[1]), "{by_v:?}");
        assert!(b(180, 1e-3) < b(180, 1e-9), "{} vs {}", b(180, 1e-3), b(180, 1e-9));
        assert_eq!(b(100, 1e-5), 0.0);
        assert_eq!(b(0, 0.0), 0.0);
    }

    /// The bound is where the p-value crosses the level: just below it the hypothesis is
    /// rejected, just above it not.
    #[test]
    fn the_bound_is_the_rejection_boundary() {
        let (m, r, v, delta) = (1000, 300, 240, 1e-5);
        let eps = one_run_epsilon_lower_bound(m, r, v, delta, 0.95).unwrap();
        assert!(eps > 0.5, "{eps}");
        assert!(one_run_p_value(m, r, v, eps, delta).unwrap() < 0.05);
        assert!(one_run_p_value(m, r, v, eps * (1.0 + 1e-9) + 1e-12, delta).unwrap() >= 0.05 - 1e-12);
    }

    #[test]
    fn bad_counts_and_settings_are_errors() {
        assert!(matches!(one_run_p_value(0, 0, 0, 1.0, 0.0), Err(OneRunError::Counts { .. })));
        assert!(matches!(one_run_p_value(10, 11, 0, 1.0, 0.0), Err(OneRunError::Counts { .. })));
        assert!(matches!(one_run_p_value(10, 5, 6, 1.0, 0.0), Err(OneRunError::Counts { .. })));
        assert!(matches!(one_run_p_value(10, 5, 3, -1.0, 0.0), Err(OneRunError::Setting { name: "epsilon", .. })));
        assert!(matches!(one_run_p_value(10, 5, 3, 1.0, 1.0), Err(OneRunError::Setting { name: "delta", .. })));
        let e = one_run_epsilon_lower_bound(10, 5, 3, 0.0, 1.0).unwrap_err();
        assert!(e.to_string().starts_with("confidence = 1"), "{e}");
    }
}
