//! RMIA, the relative membership inference attack (Zarifzadeh, Liu, Shokri, "Low-Cost
//! High-Power Membership Inference Attacks", ICML 2024).
//!
//! With Pr(x | θ) = p_y(x), the target's probability of x's true class (= sigmoid(φ)),
//! and Pr(x) its average over reference models,
//!
//! * LR(x, z) = [Pr(x | θ_t) / Pr(x)] / [Pr(z | θ_t) / Pr(z)] for a population record z;
//! * score(x) = the fraction of population records z with LR(x, z) ≥ γ.
//!
//! **Online**: Pr(x) is the mean of p_y(x) over all K reference models, IN and OUT.
//! **Offline**: only OUT models are used, with the paper's linear approximation
//! Pr(x) = ½((1 + a)·Pr_OUT(x) + (1 − a)), Pr_OUT(x) the mean over x's OUT models (so
//! a = 1 uses the OUT mean as is). Population records are OUT for every reference
//! model, so Pr(z) is the mean over all K models, passed through the same approximation
//! in the offline attack (as the authors' `ml_privacy_meter` does); in the online attack
//! it is the plain mean.
//!
//! Computation: in log space, so probabilities that underflow (φ ≪ 0) stay exact:
//! ln p = −softplus(−φ), ln Pr(x) = logsumexp_k(ln p_k(x)) − ln K (offline:
//! ln ½ + logaddexp(ln(1 + a) + ln Pr_OUT(x), ln(1 − a))), and ℓ(x) = ln p_t(x) − ln Pr(x).
//! LR(x, z) ≥ γ is evaluated as ℓ(z) ≤ ℓ(x) − ln γ, which is the same test in exact
//! arithmetic. The ℓ(z) are sorted once and each record's count is a binary search, so
//! the attack costs O((N + P) log P) rather than O(N · P).
//!
//! Ties: with the default `comparison = "greater_equal"` (the paper's definition,
//! LR ≥ γ) a population record with ℓ(z) exactly equal to ℓ(x) − ln γ counts;
//! `comparison = "greater"` (strict, as the authors' code `ratios > gamma` does) leaves
//! it out. Records with equal ℓ get equal scores.
//!
//! Because the count is non-decreasing in ℓ(x), the score ranks records exactly as ℓ(x)
//! does, up to the coarseness of the population sample: γ and the population choose the
//! scale and resolution of the score, not the order.
//!
//! Defaults (see [`RmiaConfig`]) are the authors' settings for the paper's experiments,
//! from their released configurations (`privacytrustlab/ml_privacy_meter`,
//! `research/2023_rmia`): γ = 2 (`gamma: 2.0` in the released attack configurations; the
//! README: "default is 2.0"), a = 0.33 (their CIFAR-10 offline configurations; a is dataset
//! dependent — 0.6 for CIFAR-100 — and the authors tune it on reference models), and all
//! population records as z (`top_k: -1`). The authors' later library version defaults to
//! γ = 1 with a strict comparison and a = 0.3; both are reachable through the options.
//! The paper's code also offers a trimmed mean over models and temperature-scaled,
//! soft-margin signals; here Pr(x | θ) is p_y and the mean is plain.

use super::{InvalidSetting, Population, ReferenceInputs, gather, in_out_counts, log_p_from_phi, range_text, require};
use crate::CoreError;
use crate::bootstrap::{rng_for, uniform_below};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

/// Random stream of the population subsample.
const STREAM_POPULATION: u64 = 0x524D_4941; // "RMIA"

/// LR ≥ γ or LR > γ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// LR(x, z) ≥ γ: the paper's definition.
    #[default]
    GreaterEqual,
    /// LR(x, z) > γ: the authors' code.
    Greater,
}

/// RMIA options; defaults from the authors (module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RmiaConfig {
    /// Threshold on the pairwise likelihood ratio (> 0).
    pub gamma: f64,
    /// Offline approximation coefficient a ∈ [0, 1].
    pub offline_a: f64,
    pub comparison: Comparison,
    /// Number of population records used as z (a seeded subsample without replacement);
    /// `None` (the default): all of them.
    pub population_samples: Option<usize>,
}

impl Default for RmiaConfig {
    fn default() -> Self {
        RmiaConfig { gamma: 2.0, offline_a: 0.33, comparison: Comparison::GreaterEqual, population_samples: None }
    }
}

/// ln(e^u + e^v), with v = −∞ allowed.
fn log_add_exp(u: f64, v: f64) -> f64 {
    if v == f64::NEG_INFINITY {
        return u;
    }
    let m = u.max(v);
    m + (-(u - v).abs()).exp().ln_1p()
}

/// ln of the mean of e^{v_i} (v non-empty).
fn log_mean_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = v.iter().map(|x| (x - m).exp()).sum();
    m + s.ln() - (v.len() as f64).ln()
}

/// ln Pr(·) from the reference log-probabilities of one record.
pub(crate) fn log_pr(log_p: &[f64], offline_a: Option<f64>) -> f64 {
    let lm = log_mean_exp(log_p);
    match offline_a {
        None => lm,
        Some(a) => {
            let lo = if a < 1.0 { (1.0 - a).ln() } else { f64::NEG_INFINITY };
            -std::f64::consts::LN_2 + log_add_exp((1.0 + a).ln() + lm, lo)
        }
    }
}

impl RmiaConfig {
    /// The first setting outside its range.
    pub fn invalid(&self) -> Option<InvalidSetting> {
        if !(self.gamma > 0.0 && self.gamma.is_finite()) {
            return Some(InvalidSetting::new("rmia.gamma", self.gamma, "a positive finite number (γ > 0)"));
        }
        if !(0.0..=1.0).contains(&self.offline_a) {
            return Some(InvalidSetting::new("rmia.offline_a", self.offline_a, "a number in [0, 1]"));
        }
        if self.population_samples == Some(0) {
            return Some(InvalidSetting::new("rmia.population_samples", 0, "at least 1 (or absent for all)"));
        }
        None
    }
}

fn check_config(cfg: &RmiaConfig, population: usize) -> Result<(), CoreError> {
    if let Some(bad) = cfg.invalid() {
        return Err(CoreError::Invalid(bad.to_string()));
    }
    // More samples than records would silently mean "all of them".
    if let Some(m) = cfg.population_samples.filter(|&m| m > population) {
        return Err(CoreError::Invalid(format!(
            "rmia.population_samples = {m}: expected at most the {population} population records (or absent for all)"
        )));
    }
    Ok(())
}

/// Sorted ℓ(z) of the (possibly subsampled) population.
fn population_ell(pop: &Population, offline_a: Option<f64>, samples: Option<usize>, seed: u64) -> Vec<f64> {
    let np = pop.target_phi.len();
    let mut idx: Vec<usize> = (0..np).collect();
    if let Some(m) = samples.filter(|&m| m < np) {
        let mut rng = rng_for(seed, STREAM_POPULATION);
        for i in 0..m {
            let j = i + uniform_below(&mut rng, (np - i) as u64) as usize;
            idx.swap(i, j);
        }
        idx.truncate(m);
        idx.sort_unstable();
    }
    let mut buf = Vec::with_capacity(pop.reference_phi.nrows());
    let mut ell: Vec<f64> = idx
        .iter()
        .map(|&j| {
            buf.clear();
            buf.extend(pop.reference_phi.column(j).iter().map(|&v| log_p_from_phi(v)));
            log_p_from_phi(pop.target_phi[j]) - log_pr(&buf, offline_a)
        })
        .collect();
    ell.sort_by(f64::total_cmp);
    ell
}

/// Scores from each record's ℓ(x) against the sorted ℓ(z).
fn count_scores(ell_x: &[f64], ell_z: &[f64], cfg: &RmiaConfig) -> Vec<f64> {
    let ln_gamma = cfg.gamma.ln();
    let m = ell_z.len() as f64;
    ell_x
        .iter()
        .map(|&lx| {
            let t = lx - ln_gamma;
            let c = match cfg.comparison {
                Comparison::GreaterEqual => ell_z.partition_point(|&v| v <= t),
                Comparison::Greater => ell_z.partition_point(|&v| v < t),
            };
            c as f64 / m
        })
        .collect()
}

fn run(inputs: &ReferenceInputs, cfg: &RmiaConfig, seed: u64, online: bool) -> Result<Vec<f64>, CoreError> {
    let attack = if online { "rmia_online" } else { "rmia_offline" };
    let (n, k) = inputs.check()?;
    let pop = inputs.population_checked(attack)?;
    check_config(cfg, pop.target_phi.len())?;
    let offline_a = (!online).then_some(cfg.offline_a);
    if !online {
        let (_, n_out) = in_out_counts(inputs.keep);
        require(&n_out, 1, "OUT", attack, k)?;
    }
    let log_ref: ArrayView2<f64> = inputs.reference_phi;
    let mut buf = Vec::with_capacity(k);
    let mut ell_x = Vec::with_capacity(n);
    for i in 0..n {
        if online {
            buf.clear();
            buf.extend(log_ref.column(i).iter().map(|&v| log_p_from_phi(v)));
        } else {
            gather(log_ref, inputs.keep, i, false, &mut buf);
            buf.iter_mut().for_each(|v| *v = log_p_from_phi(*v));
        }
        ell_x.push(log_p_from_phi(inputs.target_phi[i]) - log_pr(&buf, offline_a));
    }
    let ell_z = population_ell(&pop, offline_a, cfg.population_samples, seed);
    Ok(count_scores(&ell_x, &ell_z, cfg))
}

/// Online RMIA: the fraction of population records z with LR(x, z) ≥ γ, Pr(x) the mean
/// of p_y(x) over all K reference models (module doc). Needs population records.
pub fn rmia_online(inputs: &ReferenceInputs, cfg: &RmiaConfig, seed: u64) -> Result<Vec<f64>, CoreError> {
    run(inputs, cfg, seed, true)
}

/// Offline RMIA: as [`rmia_online`] with Pr(x) = ½((1 + a)·Pr_OUT(x) + (1 − a)) from x's
/// OUT models only (module doc). Needs population records and ≥ 1 OUT model per record.
pub fn rmia_offline(inputs: &ReferenceInputs, cfg: &RmiaConfig, seed: u64) -> Result<Vec<f64>, CoreError> {
    run(inputs, cfg, seed, false)
}

/// The exact variant, for the report.
pub(crate) fn describe(inputs: &ReferenceInputs, cfg: &RmiaConfig, online: bool) -> String {
    let np = inputs.population.map_or(0, |p| p.target_phi.len());
    let used = cfg.population_samples.map_or(np, |m| m.min(np));
    let cmp = match cfg.comparison {
        Comparison::GreaterEqual => "≥",
        Comparison::Greater => ">",
    };
    let (_, n_out) = in_out_counts(inputs.keep);
    let pr = if online {
        format!("Pr(x) = mean p_y over all {} reference models", inputs.n_models())
    } else {
        format!(
            "Pr(x) = ½((1+a)·Pr_OUT(x) + (1−a)), a = {}, Pr_OUT over {} OUT models per record",
            cfg.offline_a,
            range_text(&n_out)
        )
    };
    let z = if used < np {
        format!("{used} of {np} population records (seeded subsample)")
    } else {
        format!("all {np} population records")
    };
    format!(
        "RMIA {} (Zarifzadeh et al., ICML 2024): fraction of z with LR(x, z) {cmp} γ = {}, LR = [p_t(x)/Pr(x)] / [p_t(z)/Pr(z)], \
         p = sigmoid(φ); {pr}; Pr(z) over all models{}; z = {z}; ties: ℓ(z) equal to ℓ(x) − ln γ {}",
        if online { "online" } else { "offline" },
        cfg.gamma,
        if online { "" } else { " with the same approximation" },
        if cfg.comparison == Comparison::GreaterEqual { "count" } else { "do not count" },
    )
}
