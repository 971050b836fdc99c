//! The inverse problem: the smallest noise multiplier that meets an ε target.
//!
//! ε is non-increasing in σ (RDP at every order is, and both conversions are monotone in RDP),
//! so a bracketing root search on ln σ finds the boundary. The search keeps the invariant
//! ε(low) > target ≥ ε(high) and returns `high`, so the answer always meets the target; it
//! stops when high/low − 1 ≤ [`NOISE_MULTIPLIER_RELATIVE_TOLERANCE`]. Steps are regula falsi
//! with the Illinois modification (a bracketing secant: ε is smooth in ln σ, so this takes about
//! a third of the evaluations of bisection), falling back to bisection where ε is infinite, and
//! never closer than a quarter of the tolerance to either end, so that once the secant lands on
//! the root the next step closes the bracket from the other side. (With
//! [`crate::Accountant::DpAccountingCompatible`], orders that dp_accounting's series gives up on
//! switch on and off with σ, so its ε is only piecewise monotone; the answer still meets the
//! target.)

use crate::error::DpError;
use crate::validate::{check_delta, check_orders, check_sample_rate, check_steps};
use crate::{Accountant, SampledGaussian, epsilon_unchecked};

/// Smallest noise multiplier searched.
pub const MIN_NOISE_MULTIPLIER: f64 = 1e-3;
/// Largest noise multiplier searched; a target not met here is reported as unreachable.
pub const MAX_NOISE_MULTIPLIER: f64 = 1e6;
/// Bisection stops when the bracket [low, high] has high/low − 1 at most this.
pub const NOISE_MULTIPLIER_RELATIVE_TOLERANCE: f64 = 1e-6;

/// The smallest noise multiplier σ (within [`NOISE_MULTIPLIER_RELATIVE_TOLERANCE`], rounded
/// up) for which `steps` steps at `sample_rate` are (`target_epsilon`, `delta`)-DP under
/// `accountant` over `orders`.
///
/// Errors if an argument is invalid, if the target is not met even at
/// [`MAX_NOISE_MULTIPLIER`] (the order grid and δ put a floor under ε), or if it is met already
/// at [`MIN_NOISE_MULTIPLIER`].
pub fn noise_multiplier_for_with(
    target_epsilon: f64,
    sample_rate: f64,
    steps: u64,
    delta: f64,
    orders: &[f64],
    accountant: Accountant,
) -> Result<f64, DpError> {
    if !(target_epsilon.is_finite() && target_epsilon > 0.0) {
        return Err(DpError::TargetEpsilon(target_epsilon));
    }
    check_sample_rate(sample_rate)?;
    check_steps(steps)?;
    check_delta(delta)?;
    check_orders(orders)?;
    let epsilon_at = |noise_multiplier: f64| {
        let mechanism = SampledGaussian { sample_rate, noise_multiplier, steps };
        epsilon_unchecked(&mechanism, delta, orders, accountant).epsilon
    };

    // Bracket by doubling (or halving) from σ = 1; `gap` is ε − target.
    let gap_at = |noise_multiplier: f64| epsilon_at(noise_multiplier) - target_epsilon;
    let (mut low, mut high) = (1.0, 1.0);
    let mut gap_low = gap_at(1.0);
    let mut gap_high = gap_low;
    if gap_low > 0.0 {
        loop {
            if high >= MAX_NOISE_MULTIPLIER {
                return Err(DpError::UnreachableEpsilon {
                    target: target_epsilon,
                    epsilon_at_max: gap_low + target_epsilon,
                    max_noise_multiplier: MAX_NOISE_MULTIPLIER,
                });
            }
            high = (2.0 * high).min(MAX_NOISE_MULTIPLIER);
            gap_high = gap_at(high);
            if gap_high <= 0.0 {
                break;
            }
            (low, gap_low) = (high, gap_high);
        }
    } else {
        loop {
            if low <= MIN_NOISE_MULTIPLIER {
                return Err(DpError::TargetMetBelowSearchRange {
                    target: target_epsilon,
                    epsilon_at_min: gap_high + target_epsilon,
                    min_noise_multiplier: MIN_NOISE_MULTIPLIER,
                });
            }
            low = (0.5 * low).max(MIN_NOISE_MULTIPLIER);
            gap_low = gap_at(low);
            if gap_low > 0.0 {
                break;
            }
            (high, gap_high) = (low, gap_low);
        }
    }

    let (mut log_low, mut log_high) = (low.ln(), high.ln());
    let mut last_moved: Option<bool> = None; // Some(true): `high` moved last.
    let min_step = 0.25 * NOISE_MULTIPLIER_RELATIVE_TOLERANCE;
    while high / low - 1.0 > NOISE_MULTIPLIER_RELATIVE_TOLERANCE {
        let width = log_high - log_low;
        let secant = log_low + width * gap_low / (gap_low - gap_high);
        let mut log_next = if secant > log_low && secant < log_high { secant } else { log_low + 0.5 * width };
        let margin = min_step.min(0.5 * width);
        log_next = log_next.clamp(log_low + margin, log_high - margin);
        let next = log_next.exp();
        let gap = gap_at(next);
        if gap <= 0.0 {
            (high, log_high, gap_high) = (next, log_next, gap);
            if last_moved == Some(true) {
                gap_low *= 0.5; // Illinois: stop the stale end from pinning the secant.
            }
            last_moved = Some(true);
        } else {
            (low, log_low, gap_low) = (next, log_next, gap);
            if last_moved == Some(false) {
                gap_high *= 0.5;
            }
            last_moved = Some(false);
        }
    }
    Ok(high)
}
