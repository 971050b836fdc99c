//! Input checks shared by the public functions.

use crate::MAX_ORDER;
use crate::error::DpError;

pub(crate) fn check_sample_rate(sample_rate: f64) -> Result<(), DpError> {
    if sample_rate > 0.0 && sample_rate <= 1.0 { Ok(()) } else { Err(DpError::SampleRate(sample_rate)) }
}

pub(crate) fn check_noise_multiplier(noise_multiplier: f64) -> Result<(), DpError> {
    if noise_multiplier.is_finite() && noise_multiplier > 0.0 {
        Ok(())
    } else {
        Err(DpError::NoiseMultiplier(noise_multiplier))
    }
}

pub(crate) fn check_steps(steps: u64) -> Result<(), DpError> {
    if steps >= 1 { Ok(()) } else { Err(DpError::Steps) }
}

pub(crate) fn check_delta(delta: f64) -> Result<(), DpError> {
    if delta > 0.0 && delta < 1.0 { Ok(()) } else { Err(DpError::Delta(delta)) }
}

pub(crate) fn check_orders(orders: &[f64]) -> Result<(), DpError> {
    if orders.is_empty() {
        return Err(DpError::EmptyOrders);
    }
    match orders.iter().find(|&&order| !(order > 1.0 && order <= MAX_ORDER)) {
        Some(&bad) => Err(DpError::Order(bad)),
        None => Ok(()),
    }
}
