//! Loss-threshold attacks whose threshold is calibrated by a population or by reference
//! models:
//!
//! * `attack_p` and `attack_r` — Ye, Maddi, Murakonda, Bindschaedler, Shokri, "Enhanced
//!   Membership Inference Attacks against Machine Learning Models", ACM CCS 2022.
//!   Attack P sets one threshold for all records from the target's losses on population
//!   records; Attack R sets a threshold per record from the losses of reference models
//!   that did not train on it. Both fix the threshold as an α-percentile so that the
//!   attack's false-positive rate is α; the scores here are the corresponding
//!   significance levels, so that sweeping one global threshold over them reproduces
//!   sweeping α.
//! * `difficulty_calibration` — Watson, Guo, Cormode, Sablayrolles, "On the Importance of
//!   Difficulty Calibration in Membership Inference Attacks", ICLR 2022: the target's loss
//!   minus the loss a reference model that did not see x typically has on it.
//!
//! Losses are the cross-entropy of the true class, loss = softplus(−φ), computed in f64
//! without rounding to probabilities first.

use super::{InvalidSetting, ReferenceInputs, gather, in_out_counts, loss_from_phi, range_text, require};
use crate::CoreError;
use serde::{Deserialize, Serialize};

/// How Attack R turns the OUT reference losses of a record into a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    /// The smallest α whose linearly interpolated α-percentile flags x, the reference
    /// losses extended by the end points `loss_min` and `loss_max` (see [`attack_r`]).
    #[default]
    Linear,
    /// The plain fraction of OUT reference losses ≥ the target's loss.
    None,
}

/// Attack R options; defaults from the authors' code (see [`attack_r`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttackRConfig {
    pub interpolation: Interpolation,
    /// Lower end point added to every record's reference losses (`signal_min`).
    pub loss_min: f64,
    /// Upper end point added to every record's reference losses (`signal_max`).
    pub loss_max: f64,
}

impl Default for AttackRConfig {
    fn default() -> Self {
        AttackRConfig { interpolation: Interpolation::Linear, loss_min: 0.0, loss_max: 1000.0 }
    }
}

impl AttackRConfig {
    /// The first setting outside its range (the end points matter to linear interpolation).
    pub fn invalid(&self) -> Option<InvalidSetting> {
        if self.interpolation != Interpolation::Linear {
            return None;
        }
        if !self.loss_min.is_finite() {
            return Some(InvalidSetting::new("attack_r.loss_min", self.loss_min, "a finite number below loss_max"));
        }
        (!(self.loss_max.is_finite() && self.loss_min < self.loss_max))
            .then(|| InvalidSetting::new("attack_r.loss_max", self.loss_max, "a finite number above loss_min"))
    }
}

/// Attack P (Ye et al., CCS 2022): score(x) = the fraction of population records z
/// whose target loss is at least the target's loss on x, |{z : loss_t(z) ≥ loss_t(x)}| / P.
/// Attack P flags x at false-positive rate α when loss_t(x) is at or below the
/// α-quantile of the population losses, i.e. (up to ties) when this fraction is at
/// least 1 − α: a record with a low loss has most population losses above it and scores
/// near 1. Higher = member.
///
/// The comparison is made on φ, as |{z : φ_t(z) ≤ φ_t(x)}| / P: the loss
/// softplus(−φ) is strictly decreasing in φ, so this is the loss comparison in exact
/// arithmetic, without the ties that rounding the loss to f64 would create (every
/// φ > 745 has loss 0.0). Ties (equal φ) count as "≥". O((N + P) log P) by sorting.
/// Needs population records.
pub fn attack_p(inputs: &ReferenceInputs) -> Result<Vec<f64>, CoreError> {
    inputs.check()?;
    let pop = inputs.population_checked("attack_p")?;
    let mut z: Vec<f64> = pop.target_phi.to_vec();
    z.sort_by(f64::total_cmp);
    let m = z.len() as f64;
    Ok(inputs.target_phi.iter().map(|&x| z.partition_point(|&v| v <= x) as f64 / m).collect())
}

/// Attack R (Ye et al., CCS 2022), per record x with m ≥ 1 OUT reference models.
///
/// Attack R flags x at level α when the target's loss t on x is at most Q(α), an
/// α-percentile of the losses of the reference models that did not train on x; the
/// score is 1 − α*, α* the smallest α that flags x, so that a global threshold on the
/// score sweeps α.
///
/// With `interpolation = "linear"` (default), Q is the authors' smoothed percentile, the
/// `linear_itp_threshold_func` of their `ml_privacy_meter` (2022 versions): numpy's
/// linear percentile of the OUT losses extended by the two end points `loss_min` = 0 and
/// `loss_max` = 1000 (their `signal_min`, `signal_max`). So, with a_(0) ≤ … ≤ a_(M−1)
/// those M = m + 2 values sorted, Q(α) interpolates linearly between a_(⌊h⌋) and
/// a_(⌊h⌋+1) at h = α(M − 1), and
///
/// * t ≤ a_(0): α* = 0, score 1;
/// * t > a_(M−1): no α ≤ 1 flags x, score 0;
/// * otherwise, with j the largest index with a_(j) < t:
///   α* = (j + (t − a_(j)) / (a_(j+1) − a_(j))) / (M − 1).
///
/// The end points make the score continuous and strictly decreasing in t between them,
/// even with one OUT model, rather than a step function of m + 1 levels. With
/// `interpolation = "none"` the score is the plain fraction |{k OUT : l_k ≥ t}| / m
/// (ties count). Needs ≥ 1 OUT reference model per record.
pub fn attack_r(inputs: &ReferenceInputs, cfg: &AttackRConfig) -> Result<Vec<f64>, CoreError> {
    let (n, k) = inputs.check()?;
    if let Some(bad) = cfg.invalid() {
        return Err(CoreError::Invalid(bad.to_string()));
    }
    let (_, n_out) = in_out_counts(inputs.keep);
    require(&n_out, 1, "OUT", "attack_r", k)?;
    let mut l = Vec::with_capacity(k + 2);
    Ok((0..n)
        .map(|i| {
            gather(inputs.reference_phi, inputs.keep, i, false, &mut l);
            l.iter_mut().for_each(|v| *v = loss_from_phi(*v));
            let t = loss_from_phi(inputs.target_phi[i]);
            match cfg.interpolation {
                Interpolation::None => l.iter().filter(|&&v| v >= t).count() as f64 / l.len() as f64,
                Interpolation::Linear => {
                    l.push(cfg.loss_min);
                    l.push(cfg.loss_max);
                    l.sort_by(f64::total_cmp);
                    let last = l.len() - 1;
                    if t <= l[0] {
                        1.0
                    } else if t > l[last] {
                        0.0
                    } else {
                        // l[0] < t ≤ l[last], so 0 ≤ j < last and l[j] < t ≤ l[j+1].
                        let j = l.partition_point(|&v| v < t) - 1;
                        let alpha = (j as f64 + (t - l[j]) / (l[j + 1] - l[j])) / last as f64;
                        1.0 - alpha
                    }
                }
            }
        })
        .collect())
}

/// Difficulty calibration (Watson et al., ICLR 2022): score(x) = −(loss_t(x) −
/// mean over x's OUT reference models of loss_k(x)), the calibrated loss negated so that
/// higher = member: a record the target fits better than models that never saw it
/// scores high. Needs ≥ 1 OUT reference model per record.
pub fn difficulty_calibration(inputs: &ReferenceInputs) -> Result<Vec<f64>, CoreError> {
    let (n, k) = inputs.check()?;
    let (_, n_out) = in_out_counts(inputs.keep);
    require(&n_out, 1, "OUT", "difficulty_calibration", k)?;
    let mut l = Vec::with_capacity(k);
    Ok((0..n)
        .map(|i| {
            gather(inputs.reference_phi, inputs.keep, i, false, &mut l);
            let mean_out = l.iter().map(|&v| loss_from_phi(v)).sum::<f64>() / l.len() as f64;
            mean_out - loss_from_phi(inputs.target_phi[i])
        })
        .collect())
}

pub(crate) fn describe_p(inputs: &ReferenceInputs) -> String {
    let np = inputs.population.map_or(0, |p| p.target_phi.len());
    format!(
        "Attack P (Ye et al., CCS 2022): fraction of the {np} population records whose target loss is ≥ the target's loss on x \
         (compared on φ, exact; ties count)"
    )
}

pub(crate) fn describe_r(inputs: &ReferenceInputs, cfg: &AttackRConfig) -> String {
    let (_, n_out) = in_out_counts(inputs.keep);
    let how = match cfg.interpolation {
        Interpolation::Linear => format!(
            "1 − the smallest α at which the target's loss on x is ≤ the linearly interpolated (numpy 'linear') \
             α-percentile of x's OUT reference losses extended by the end points {} and {} (the authors' \
             linear_itp_threshold_func)",
            cfg.loss_min, cfg.loss_max
        ),
        Interpolation::None => "fraction of x's OUT reference losses ≥ the target's loss on x (ties count)".to_string(),
    };
    format!("Attack R (Ye et al., CCS 2022): {how}; OUT models per record {}", range_text(&n_out))
}

pub(crate) fn describe_difficulty(inputs: &ReferenceInputs) -> String {
    let (_, n_out) = in_out_counts(inputs.keep);
    format!(
        "difficulty calibration (Watson et al., ICLR 2022): mean OUT reference loss on x − target loss on x; \
         OUT models per record {}",
        range_text(&n_out)
    )
}
