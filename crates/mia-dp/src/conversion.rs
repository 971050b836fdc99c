//! From an RDP curve (ε_α at each order α) to (ε, δ)-DP.
//!
//! Both conversions use the bound of Balle et al. 2020 (Theorem 21) / Canonne, Kamath & Steinke
//! 2020 (Proposition 12): an (α, r)-RDP mechanism is (ε, δ)-DP with
//! `ε = r + ln(1 − 1/α) − (ln δ + ln α)/(α − 1)`, and ε is the minimum over the orders. They
//! differ in the guards around it, which matter at the edges (ε near 0, orders near 1):
//!
//! * [`Conversion::DpAccounting`], as `dp_accounting.rdp.compute_epsilon` (0.6.0): an order whose
//!   RDP r satisfies δ² > 1 − e^{−r} gives ε = 0 there (r ≥ KL divergence and
//!   TV ≤ √(1 − e^{−KL}) (Bretagnolle–Huber), so the mechanism is (0, δ)-DP); orders ≤ 1.01 are
//!   skipped (the bound is unstable as α → 1 and useless there); the minimum is clipped at 0.
//! * [`Conversion::Opacus`], as `opacus.accountants.analysis.rdp.get_privacy_spent` (1.6.0): the
//!   bare formula at every order, no shortcut, no clipping (ε can come out slightly negative for
//!   δ close to 1 and large orders).
//!
//! When several orders give the same minimum the first wins, as with `numpy.argmin`. Inputs
//! dp_accounting accepts but that only arise from misuse are errors here: a negative RDP value
//! (dp_accounting logs a warning and uses ε = 0 at that order) and orders ≤ 1 (it raises for
//! α < 1; at α = 1 its RDP computation divides by zero).

use serde::Serialize;

use crate::error::DpError;
use crate::validate::{check_delta, check_orders};

/// Which (ε, δ) conversion of an RDP curve to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conversion {
    /// dp_accounting 0.6.0's `compute_epsilon`: KL shortcut, orders ≤ 1.01 skipped, clipped at 0.
    DpAccounting,
    /// Opacus 1.6.0's `get_privacy_spent`: the bare bound at every order.
    Opacus,
}

/// ε at one order under `conversion`; `rdp` is ≥ 0 or +∞.
fn epsilon_at_order(order: f64, rdp: f64, delta: f64, conversion: Conversion) -> f64 {
    match conversion {
        Conversion::DpAccounting => {
            if delta * delta + (-rdp).exp_m1() > 0.0 {
                0.0
            } else if order > 1.01 {
                rdp + (-1.0 / order).ln_1p() - (delta * order).ln() / (order - 1.0)
            } else {
                f64::INFINITY
            }
        }
        Conversion::Opacus => rdp - (delta.ln() + order.ln()) / (order - 1.0) + ((order - 1.0) / order).ln(),
    }
}

/// The smallest ε over the orders and the order that gives it, for already validated input.
pub(crate) fn best_epsilon(orders: &[f64], rdp: &[f64], delta: f64, conversion: Conversion) -> (f64, f64) {
    let mut best = (f64::INFINITY, orders[0]);
    for (&order, &r) in orders.iter().zip(rdp) {
        let epsilon = epsilon_at_order(order, r, delta, conversion);
        if epsilon < best.0 {
            best = (epsilon, order);
        }
    }
    if conversion == Conversion::DpAccounting {
        best.0 = best.0.max(0.0);
    }
    best
}

/// Converts an RDP curve to (ε, δ)-DP: returns `(ε, order achieving it)`.
///
/// `rdp[k]` is the RDP at `orders[k]` of the whole (composed) mechanism; RDP composes by
/// addition, so curves of different mechanisms over the same orders can be summed first.
/// ε is +∞ if every order has RDP +∞ (or, for [`Conversion::DpAccounting`], if every order is
/// ≤ 1.01 and no KL shortcut applies); the order is then the first one.
pub fn epsilon_from_rdp(
    orders: &[f64],
    rdp: &[f64],
    delta: f64,
    conversion: Conversion,
) -> Result<(f64, f64), DpError> {
    check_orders(orders)?;
    check_delta(delta)?;
    if orders.len() != rdp.len() {
        return Err(DpError::RdpLength { orders: orders.len(), rdp: rdp.len() });
    }
    if let Some(&bad) = rdp.iter().find(|r| r.is_nan() || **r < 0.0) {
        return Err(DpError::RdpValue(bad));
    }
    Ok(best_epsilon(orders, rdp, delta, conversion))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_mechanism_matches_the_closed_form_minimum() {
        // Gaussian mechanism, σ = 1, one release: r(α) = α/2. On a fine grid the minimum of
        // α/2 + ln(1 − 1/α) − (ln δ + ln α)/(α − 1) is close to the continuous optimum; check
        // the returned ε is that grid's minimum and the order is where it is reached.
        let orders: Vec<f64> = (11..2000).map(|k| k as f64 / 10.0).collect();
        let rdp: Vec<f64> = orders.iter().map(|a| a / 2.0).collect();
        let delta = 1e-5;
        let (epsilon, order) = epsilon_from_rdp(&orders, &rdp, delta, Conversion::DpAccounting).unwrap();
        let brute = orders
            .iter()
            .map(|&a| a / 2.0 + (1.0 - 1.0 / a).ln() - (delta.ln() + a.ln()) / (a - 1.0))
            .fold(f64::INFINITY, f64::min);
        assert!((epsilon - brute).abs() < 1e-12);
        assert!(
            (order / 2.0 + (1.0 - 1.0 / order).ln() - (delta.ln() + order.ln()) / (order - 1.0) - brute).abs() < 1e-12
        );
        // Known value for (σ = 1, δ = 1e-5): about 4.4 under this bound.
        assert!(epsilon > 4.0 && epsilon < 5.0, "{epsilon}");
    }

    #[test]
    fn kl_shortcut_gives_zero_and_opacus_does_not() {
        let orders = [2.0, 4.0];
        let rdp = [1e-12, 2e-12];
        let (dp, _) = epsilon_from_rdp(&orders, &rdp, 1e-3, Conversion::DpAccounting).unwrap();
        assert_eq!(dp, 0.0);
        let (op, order) = epsilon_from_rdp(&orders, &rdp, 1e-3, Conversion::Opacus).unwrap();
        assert!(op > 1.0 && order == 4.0, "{op} at {order}");
    }

    #[test]
    fn orders_up_to_1_01_are_skipped_by_dp_accounting_only() {
        let orders = [1.005, 1.01];
        let rdp = [0.5, 0.5];
        assert_eq!(epsilon_from_rdp(&orders, &rdp, 1e-5, Conversion::DpAccounting).unwrap().0, f64::INFINITY);
        assert!(epsilon_from_rdp(&orders, &rdp, 1e-5, Conversion::Opacus).unwrap().0.is_finite());
    }

    #[test]
    fn infinite_rdp_everywhere_is_infinite_epsilon_at_the_first_order() {
        let (epsilon, order) =
            epsilon_from_rdp(&[2.0, 3.0], &[f64::INFINITY, f64::INFINITY], 1e-5, Conversion::DpAccounting).unwrap();
        assert_eq!((epsilon, order), (f64::INFINITY, 2.0));
    }

    #[test]
    fn malformed_curves_are_rejected_naming_the_parameter() {
        let err = epsilon_from_rdp(&[2.0], &[0.1, 0.2], 1e-5, Conversion::Opacus).unwrap_err();
        assert!(err.to_string().starts_with("rdp must have one value per order"), "{err}");
        let err = epsilon_from_rdp(&[2.0], &[-0.1], 1e-5, Conversion::Opacus).unwrap_err();
        assert!(err.to_string().starts_with("rdp values must be >= 0"), "{err}");
        let err = epsilon_from_rdp(&[2.0], &[f64::NAN], 1e-5, Conversion::Opacus).unwrap_err();
        assert!(err.to_string().contains("rdp"), "{err}");
    }
}
