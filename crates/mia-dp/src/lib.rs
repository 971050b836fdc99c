//! Privacy accounting for DP-SGD-style training: the Rényi-DP (RDP) accountant of the
//! Poisson-subsampled Gaussian mechanism.
//!
//! This crate owns the arithmetic that turns a training configuration (sampling rate q, noise
//! multiplier σ, number of steps T) into an (ε, δ)-DP guarantee, and the inverse (the smallest σ
//! for a target ε). It is pure: numbers in, numbers out, no I/O.
//!
//! * RDP (Mironov 2017, "Rényi Differential Privacy") of one step of the sampled Gaussian
//!   mechanism at order α, computed as in Mironov, Talwar & Zhang 2019, "Rényi Differential
//!   Privacy of the Sampled Gaussian Mechanism": exact binomial expansion at integer orders, the
//!   two-series expansion at fractional orders (see [`FractionalSeries`] for where and why
//!   dp_accounting 0.6.0 differs, and the `sampled_gaussian` module for the formulas).
//! * T steps compose to T × the per-step RDP (Mironov 2017, Proposition 1).
//! * RDP to (ε, δ): the bound of Balle, Barthe, Gaboardi, Hsu & Sato 2020, "Hypothesis Testing
//!   Interpretations and Rényi Differential Privacy" (Theorem 21) and Canonne, Kamath & Steinke
//!   2020, "The Discrete Gaussian for Differential Privacy" (Proposition 12), minimised over a
//!   grid of orders; see [`Conversion`].
//!
//! Three [`Accountant`]s combine those choices: [`Accountant::Rdp`] (exact RDP, dp_accounting's
//! conversion; the default of [`epsilon`] and [`noise_multiplier_for`]) and two that reproduce
//! Google dp_accounting 0.6.0 and Opacus 1.6.0 to floating-point agreement, for comparing with
//! numbers those libraries report. The tests check all three against fixtures produced by
//! `scripts/dp_accountant_fixtures.py` from those libraries and from mpmath.
//!
//! The accountant is written here rather than depended on because no maintained Rust crate
//! offers it; the log-space helpers and the log normal CDF it needs are a few lines each
//! (`logspace`), so the crate depends only on serde and thiserror.
//!
//! ```
//! use mia_dp::{SampledGaussian, DP_ACCOUNTING_ORDERS, epsilon, noise_multiplier_for};
//! let mechanism = SampledGaussian::new(256.0 / 60_000.0, 1.1, 60 * 235)?;
//! let spent = epsilon(&mechanism, 1e-5, &DP_ACCOUNTING_ORDERS)?;
//! assert!(spent.epsilon > 1.0 && spent.epsilon < 3.0);
//! let sigma = noise_multiplier_for(spent.epsilon, mechanism.sample_rate, mechanism.steps, 1e-5, &DP_ACCOUNTING_ORDERS)?;
//! assert!((sigma / 1.1 - 1.0).abs() < 1e-3);
//! # Ok::<(), mia_dp::DpError>(())
//! ```

mod calibrate;
mod conversion;
mod error;
mod logspace;
mod orders;
mod sampled_gaussian;
mod validate;

use serde::Serialize;

pub use calibrate::{
    MAX_NOISE_MULTIPLIER, MIN_NOISE_MULTIPLIER, NOISE_MULTIPLIER_RELATIVE_TOLERANCE, noise_multiplier_for_with,
};
pub use conversion::{Conversion, epsilon_from_rdp};
pub use error::DpError;
pub use orders::{DP_ACCOUNTING_ORDER_COUNT, DP_ACCOUNTING_ORDERS, OPACUS_ORDER_COUNT, OPACUS_ORDERS};
pub use sampled_gaussian::{EXACT_SERIES_MAX_TERMS, FractionalSeries};

use validate::{check_delta, check_noise_multiplier, check_orders, check_sample_rate, check_steps};

/// Largest accepted Rényi order: the integer-order sum has `order` terms.
pub const MAX_ORDER: f64 = 1e6;

/// T steps of the Poisson-subsampled Gaussian mechanism: each step includes every record
/// independently with probability `sample_rate` and adds N(0, (noise_multiplier · C)²) noise to
/// a sum of per-record contributions clipped to L2 norm C (DP-SGD). Add/remove-one neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SampledGaussian {
    /// Poisson sampling probability q ∈ (0, 1] (batch size / dataset size); 1 = full batch.
    pub sample_rate: f64,
    /// σ: noise standard deviation over the clipping norm, finite and > 0.
    pub noise_multiplier: f64,
    /// Number of steps T ≥ 1 (epochs × steps per epoch).
    pub steps: u64,
}

impl SampledGaussian {
    /// A validated mechanism.
    pub fn new(sample_rate: f64, noise_multiplier: f64, steps: u64) -> Result<Self, DpError> {
        let mechanism = Self { sample_rate, noise_multiplier, steps };
        mechanism.validate()?;
        Ok(mechanism)
    }

    /// Checks each field's range (the fields are public, so every function re-checks).
    pub fn validate(&self) -> Result<(), DpError> {
        check_sample_rate(self.sample_rate)?;
        check_noise_multiplier(self.noise_multiplier)?;
        check_steps(self.steps)
    }
}

/// Which RDP computation and (ε, δ) conversion to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Accountant {
    /// Exact RDP ([`FractionalSeries::Exact`]) with dp_accounting's conversion
    /// ([`Conversion::DpAccounting`]). Reported as `"rdp"`.
    Rdp,
    /// Google dp_accounting 0.6.0 `RdpAccountant` as shipped: its looser fractional-order series
    /// ([`FractionalSeries::DpAccounting`]) and its conversion. Reported as
    /// `"rdp-dp-accounting-0.6"`.
    DpAccountingCompatible,
    /// Opacus 1.6.0 `RDPAccountant`: exact RDP with Opacus's conversion
    /// ([`Conversion::Opacus`]). Reported as `"rdp-opacus-1.6"`.
    OpacusCompatible,
}

impl Accountant {
    /// The name recorded in [`EpsilonResult::accountant`].
    pub const fn name(self) -> &'static str {
        match self {
            Accountant::Rdp => "rdp",
            Accountant::DpAccountingCompatible => "rdp-dp-accounting-0.6",
            Accountant::OpacusCompatible => "rdp-opacus-1.6",
        }
    }

    /// How this accountant sums fractional orders.
    pub const fn fractional_series(self) -> FractionalSeries {
        match self {
            Accountant::DpAccountingCompatible => FractionalSeries::DpAccounting,
            Accountant::Rdp | Accountant::OpacusCompatible => FractionalSeries::Exact,
        }
    }

    /// How this accountant converts RDP to (ε, δ).
    pub const fn conversion(self) -> Conversion {
        match self {
            Accountant::OpacusCompatible => Conversion::Opacus,
            Accountant::Rdp | Accountant::DpAccountingCompatible => Conversion::DpAccounting,
        }
    }
}

impl Accountant {
    /// The order grid this accountant's reference library uses: Opacus's alphas for
    /// [`Accountant::OpacusCompatible`], dp_accounting's default orders otherwise.
    pub fn default_orders(self) -> &'static [f64] {
        match self {
            Accountant::OpacusCompatible => &OPACUS_ORDERS,
            Accountant::Rdp | Accountant::DpAccountingCompatible => &DP_ACCOUNTING_ORDERS,
        }
    }

    /// Parses [`Accountant::name`] (also `dp-accounting` and `opacus` for the compatible ones).
    pub fn from_name(name: &str) -> Option<Accountant> {
        match name.trim() {
            "rdp" => Some(Accountant::Rdp),
            "rdp-dp-accounting-0.6" | "dp-accounting" => Some(Accountant::DpAccountingCompatible),
            "rdp-opacus-1.6" | "opacus" => Some(Accountant::OpacusCompatible),
            _ => None,
        }
    }
}

/// A training recipe's whole accounting: the mechanism, the guarantee it gives and how it was
/// obtained (what `mia accountant --json` prints and a report records).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Accounting {
    pub epsilon: f64,
    pub delta: f64,
    pub noise_multiplier: f64,
    pub sample_rate: f64,
    pub steps: u64,
    /// [`Accountant::name`].
    pub accountant: &'static str,
    /// The Rényi order that gave ε (see [`EpsilonResult::order`]).
    pub order: f64,
}

impl Accounting {
    /// ε at `delta` of `mechanism` under `accountant`, over its [default orders](Accountant::default_orders).
    pub fn of(mechanism: &SampledGaussian, delta: f64, accountant: Accountant) -> Result<Accounting, DpError> {
        let spent = epsilon_with(mechanism, delta, accountant.default_orders(), accountant)?;
        Ok(Accounting {
            epsilon: spent.epsilon,
            delta,
            noise_multiplier: mechanism.noise_multiplier,
            sample_rate: mechanism.sample_rate,
            steps: mechanism.steps,
            accountant: spent.accountant,
            order: spent.order,
        })
    }

    /// The smallest noise multiplier reaching `target_epsilon` ([`noise_multiplier_for_with`])
    /// and the ε it gives (at most the target).
    pub fn calibrated(
        target_epsilon: f64,
        sample_rate: f64,
        steps: u64,
        delta: f64,
        accountant: Accountant,
    ) -> Result<Accounting, DpError> {
        let orders = accountant.default_orders();
        let sigma = noise_multiplier_for_with(target_epsilon, sample_rate, steps, delta, orders, accountant)?;
        Accounting::of(&SampledGaussian::new(sample_rate, sigma, steps)?, delta, accountant)
    }
}

/// An (ε, δ) guarantee and how it was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EpsilonResult {
    /// ε (+∞ if no order gives a finite bound).
    pub epsilon: f64,
    /// The δ it holds at.
    pub delta: f64,
    /// The Rényi order at which the minimum over orders was reached. If it is the first or last
    /// order of the grid, a wider grid might give a smaller ε.
    pub order: f64,
    /// [`Accountant::name`] of the accountant used.
    pub accountant: &'static str,
}

/// RDP at `order` of the whole mechanism (all `steps` steps), exact ([`FractionalSeries::Exact`]).
pub fn rdp(mechanism: &SampledGaussian, order: f64) -> Result<f64, DpError> {
    Ok(rdp_curve(mechanism, &[order], FractionalSeries::Exact)?[0])
}

/// RDP of the whole mechanism at each of `orders` (+∞ where there is no guarantee).
pub fn rdp_curve(mechanism: &SampledGaussian, orders: &[f64], series: FractionalSeries) -> Result<Vec<f64>, DpError> {
    mechanism.validate()?;
    check_orders(orders)?;
    Ok(rdp_curve_unchecked(mechanism, orders, series))
}

fn rdp_curve_unchecked(mechanism: &SampledGaussian, orders: &[f64], series: FractionalSeries) -> Vec<f64> {
    let steps = mechanism.steps as f64;
    orders
        .iter()
        .map(|&order| {
            let per_step =
                sampled_gaussian::rdp_one_step(mechanism.sample_rate, mechanism.noise_multiplier, order, series);
            // 0 × anything is 0 here (steps ≥ 1, per_step finite or +∞).
            per_step * steps
        })
        .collect()
}

/// ε at `delta` of `mechanism` under [`Accountant::Rdp`], minimised over `orders` (typically
/// [`DP_ACCOUNTING_ORDERS`]).
pub fn epsilon(mechanism: &SampledGaussian, delta: f64, orders: &[f64]) -> Result<EpsilonResult, DpError> {
    epsilon_with(mechanism, delta, orders, Accountant::Rdp)
}

/// ε at `delta` of `mechanism` under `accountant`, minimised over `orders`.
pub fn epsilon_with(
    mechanism: &SampledGaussian,
    delta: f64,
    orders: &[f64],
    accountant: Accountant,
) -> Result<EpsilonResult, DpError> {
    mechanism.validate()?;
    check_delta(delta)?;
    check_orders(orders)?;
    Ok(epsilon_unchecked(mechanism, delta, orders, accountant))
}

pub(crate) fn epsilon_unchecked(
    mechanism: &SampledGaussian,
    delta: f64,
    orders: &[f64],
    accountant: Accountant,
) -> EpsilonResult {
    let curve = rdp_curve_unchecked(mechanism, orders, accountant.fractional_series());
    let (epsilon, order) = conversion::best_epsilon(orders, &curve, delta, accountant.conversion());
    EpsilonResult { epsilon, delta, order, accountant: accountant.name() }
}

/// The smallest noise multiplier meeting (`target_epsilon`, `delta`) under [`Accountant::Rdp`];
/// see [`noise_multiplier_for_with`].
pub fn noise_multiplier_for(
    target_epsilon: f64,
    sample_rate: f64,
    steps: u64,
    delta: f64,
    orders: &[f64],
) -> Result<f64, DpError> {
    noise_multiplier_for_with(target_epsilon, sample_rate, steps, delta, orders, Accountant::Rdp)
}
