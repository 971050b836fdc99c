//! The likelihood-ratio attack, LiRA (Carlini, Chien, Nasr, Song, Terzis, Tramèr,
//! "Membership Inference Attacks From First Principles", IEEE S&P 2022).
//!
//! For each audit record the φ's of the reference models that trained on it (IN) and
//! that did not (OUT) are each summarised by a Gaussian N(μ, σ²); the target's φ is then
//! tested against them.
//!
//! * **Online** (both Gaussians): score = log N(φ_t; μ_in, σ_in²) − log N(φ_t; μ_out, σ_out²),
//!   the log likelihood ratio of "member" against "non-member" (Algorithm 1 of the paper).
//! * **Offline, one-sided** (the paper's offline attack): score = log Φ((φ_t − μ_out)/σ_out), the log
//!   of the probability that a non-member's φ falls at or below the target's: large when
//!   the target is more confident on x than OUT models are. Computed by
//!   [`log_normal_cdf`], accurate far into the lower tail where Φ underflows.
//! * **Offline, two-sided** (the authors' released code, `generate_ours_offline` in
//!   `research/mi_lira_2021/plot.py` of tensorflow/privacy): score = −log N(φ_t; μ_out, σ_out²),
//!   large when φ_t is far from the OUT Gaussian on either side.
//!
//! Options ([`LiraConfig`]):
//!
//! * `center`: μ is the mean of the observations (the paper's Algorithm 1, default) or
//!   their median (the authors' code; numpy's median, the mean of the two middle values
//!   for an even count). σ is computed around the mean in both cases, as `np.std` does.
//! * `variance`: `per_example` (Algorithm 1, default) fits σ per record and side;
//!   `global` uses one σ per side for all records (the paper's "fixed variance" variant,
//!   which it recommends when there are few reference models). Here the global σ² pools the
//!   within-record squared deviations: Σ_records Σ (φ − mean_record)² / (Σ n_record − ddof · R)
//!   over the R records.
//! * `std`: `population` (ddof 0, default) or `sample` (ddof 1; a per-example fit then
//!   needs two observations per record), each floored at `std_floor` (default 1e-6) so a
//!   record whose reference φ are all equal still gets a finite score; or
//!   `reference_code`, which reproduces the authors' code exactly: σ = `np.std` (ddof 0)
//!   plus 1e-30 and no floor; every record's IN (OUT) observations are first cut to the
//!   first m (in model order), m the smallest IN (OUT) count over all records, as the
//!   code does before fitting; and `global` means `np.std` of all the cut observations
//!   around their grand mean, the IN one serving both sides in the online attack (the
//!   code's `std_out = np.std(dat_in)`). For the authors' code in full, also set
//!   `center = "median"` and, offline, `offline_test = "two_sided"`.
//!
//! The online attack needs at least one IN and one OUT observation per record, the
//! offline attack one OUT observation; per-example `sample` std needs two. A record short
//! of them is an error naming it.

use super::{InvalidSetting, ReferenceInputs, gather, in_out_counts, range_text, require};
use crate::CoreError;
use serde::{Deserialize, Serialize};

/// ½ ln(2π).
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;
/// The authors' code adds this to σ.
const REFERENCE_CODE_EPS: f64 = 1e-30;

crate::from_name!(Center, Variance, LiraStd, OfflineTest);

/// Location of the IN/OUT Gaussians.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Center {
    /// The paper's Algorithm 1.
    #[default]
    Mean,
    /// The authors' released code.
    Median,
}

/// Per-record or pooled σ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variance {
    /// One σ per record and side (the paper's Algorithm 1).
    #[default]
    PerExample,
    /// One σ per side for all records (the paper's choice for few reference models).
    Global,
}

/// How σ is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiraStd {
    /// ddof 0 (`np.std`), floored at `std_floor`.
    #[default]
    Population,
    /// ddof 1, floored at `std_floor`.
    Sample,
    /// The authors' code exactly: ddof 0 + 1e-30, no floor, observations cut to equal
    /// counts, their global-σ definition (see the module doc).
    ReferenceCode,
}

/// The offline test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfflineTest {
    /// log Φ((φ − μ_out)/σ_out): the paper.
    #[default]
    OneSided,
    /// −log N(φ; μ_out, σ_out²): the authors' code.
    TwoSided,
}

/// LiRA options; defaults are the paper's Algorithm 1 (mean, per-example σ, ddof 0
/// floored at 1e-6, one-sided offline test).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiraConfig {
    pub center: Center,
    pub variance: Variance,
    pub std: LiraStd,
    /// Smallest σ used by the `population` and `sample` estimators.
    pub std_floor: f64,
    pub offline_test: OfflineTest,
}

impl Default for LiraConfig {
    fn default() -> Self {
        LiraConfig {
            center: Center::Mean,
            variance: Variance::PerExample,
            std: LiraStd::Population,
            std_floor: 1e-6,
            offline_test: OfflineTest::OneSided,
        }
    }
}

/// erf(x) for 0 ≤ x < 1 by the everywhere-positive series
/// erf(x) = (2/√π) e^{−x²} Σ_n 2^n x^{2n+1} / (1·3·…·(2n+1)) (Abramowitz & Stegun 7.1.6),
/// which has no cancellation.
fn erf_series(x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let x2 = x * x;
    let (mut term, mut sum) = (x, x);
    for n in 1..200 {
        term *= 2.0 * x2 / (2 * n + 1) as f64;
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    std::f64::consts::FRAC_2_SQRT_PI * (-x2).exp() * sum
}

/// The scaled complementary error function e^{x²} erfc(x) for x ≥ 1, by Laplace's
/// continued fraction √π e^{x²} erfc(x) = 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
/// (A&S 7.1.14), evaluated with the modified Lentz method. Its truncations are the
/// convergent form of the asymptotic expansion 1 − 1/(2x²) + 3/(4x⁴) − …; at x = 1 it
/// takes about 190 steps, at x = 5 about 20, far out 2.
fn erfcx_cf(x: f64) -> f64 {
    let (mut f, mut c, mut d) = (x, x, 0.0f64);
    for n in 1..1000 {
        let a = n as f64 / 2.0;
        d = 1.0 / (x + a * d);
        c = x + a / c;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() <= f64::EPSILON {
            break;
        }
    }
    0.5 * std::f64::consts::FRAC_2_SQRT_PI / f
}

/// ln Φ(z), the log of the standard normal CDF, for every z without underflow: with
/// x = |z|/√2,
///
/// * x < 1: Φ(z) = ½(1 ± erf(x)) from the positive series of erf (no cancellation, and
///   ½(1 − erf(x)) ≥ 0.079 here);
/// * x ≥ 1, z < 0: ln Φ(z) = −ln 2 − z²/2 + ln(e^{x²} erfc(x)), the scaled erfc from its
///   continued fraction — in log space, so Φ(−40) ≈ 3.7e-350, which is 0 in f64, still
///   has its exact log ≈ −804.608;
/// * x ≥ 1, z > 0: ln Φ(z) = ln(1 − ½ e^{−z²/2} · e^{x²} erfc(x)) via `ln_1p`.
///
/// Accurate to about 1e-15 relative against 40-digit mpmath over z ∈ [−40, 10] (and the
/// continued fraction only improves further out). statrs's `erfc` is not used: it is
/// off by about 5e-11 relative over most of its range. Finite for every finite z with z²
/// finite; −∞ at −∞; 0 at +∞; NaN for NaN.
pub fn log_normal_cdf(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    if z == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if z == f64::INFINITY {
        return 0.0;
    }
    let x = z.abs() * std::f64::consts::FRAC_1_SQRT_2;
    if x < 1.0 {
        let e = erf_series(x);
        return (0.5 * if z >= 0.0 { 1.0 + e } else { 1.0 - e }).ln();
    }
    let c = erfcx_cf(x);
    if z < 0.0 { -std::f64::consts::LN_2 - 0.5 * z * z + c.ln() } else { (-0.5 * (-0.5 * z * z).exp() * c).ln_1p() }
}

/// ln N(x; μ, σ²).
#[inline]
fn log_normal_pdf(x: f64, mu: f64, sigma: f64) -> f64 {
    let z = (x - mu) / sigma;
    -0.5 * z * z - sigma.ln() - HALF_LN_2PI
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn sum_sq_dev(v: &[f64], m: f64) -> f64 {
    v.iter().map(|x| (x - m) * (x - m)).sum()
}

/// numpy's median: the middle value, or the mean of the two middle values.
fn median(v: &[f64], scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend_from_slice(v);
    scratch.sort_by(f64::total_cmp);
    let m = scratch.len();
    if m % 2 == 1 { scratch[m / 2] } else { (scratch[m / 2 - 1] + scratch[m / 2]) / 2.0 }
}

/// Per-record Gaussian of one side (IN or OUT): centres and σ's for all records.
struct SideFit {
    center: Vec<f64>,
    sigma: Vec<f64>,
}

/// Fits one side. `values(n)` gives record n's observations of that side.
fn fit_side(
    n: usize,
    values: &dyn Fn(usize, &mut Vec<f64>),
    cfg: &LiraConfig,
    side: &str,
    attack: &str,
) -> Result<SideFit, CoreError> {
    let mut buf = Vec::new();
    let mut scratch = Vec::new();
    // Reference-code mode cuts every record to the smallest count.
    let cut = if cfg.std == LiraStd::ReferenceCode {
        let mut m = usize::MAX;
        for i in 0..n {
            values(i, &mut buf);
            m = m.min(buf.len());
        }
        Some(m)
    } else {
        None
    };
    let mut center = Vec::with_capacity(n);
    let mut sigma = Vec::with_capacity(n);
    let (mut pooled_ss, mut pooled_n) = (0.0f64, 0usize);
    let mut all = Vec::new(); // reference-code global: every (cut) observation
    for i in 0..n {
        values(i, &mut buf);
        if let Some(m) = cut {
            buf.truncate(m);
        }
        let mu = mean(&buf);
        let ss = sum_sq_dev(&buf, mu);
        center.push(match cfg.center {
            Center::Mean => mu,
            Center::Median => median(&buf, &mut scratch),
        });
        match (cfg.variance, cfg.std) {
            (Variance::PerExample, LiraStd::Population) => {
                sigma.push((ss / buf.len() as f64).sqrt().max(cfg.std_floor))
            }
            (Variance::PerExample, LiraStd::Sample) => {
                if buf.len() < 2 {
                    return Err(CoreError::Invalid(format!(
                        "{attack} with per-example sample std (ddof 1) needs at least 2 {side} reference models per \
                         record: record {i} has {}",
                        buf.len()
                    )));
                }
                sigma.push((ss / (buf.len() - 1) as f64).sqrt().max(cfg.std_floor))
            }
            (Variance::PerExample, LiraStd::ReferenceCode) => {
                sigma.push((ss / buf.len() as f64).sqrt() + REFERENCE_CODE_EPS)
            }
            (Variance::Global, LiraStd::ReferenceCode) => all.extend_from_slice(&buf),
            (Variance::Global, _) => {
                pooled_ss += ss;
                pooled_n += buf.len();
            }
        }
    }
    if cfg.variance == Variance::Global {
        let s = match cfg.std {
            LiraStd::Population => (pooled_ss / pooled_n as f64).sqrt().max(cfg.std_floor),
            LiraStd::Sample => {
                if pooled_n <= n {
                    return Err(CoreError::Invalid(format!(
                        "{attack} with global sample std (ddof 1) needs more {side} observations than records: \
                         {pooled_n} observations for {n} records"
                    )));
                }
                (pooled_ss / (pooled_n - n) as f64).sqrt().max(cfg.std_floor)
            }
            LiraStd::ReferenceCode => {
                let m = mean(&all);
                (sum_sq_dev(&all, m) / all.len() as f64).sqrt() + REFERENCE_CODE_EPS
            }
        };
        sigma = vec![s; n];
    }
    Ok(SideFit { center, sigma })
}

impl LiraConfig {
    /// The first setting outside its range.
    pub fn invalid(&self) -> Option<InvalidSetting> {
        (self.std != LiraStd::ReferenceCode && !(self.std_floor > 0.0 && self.std_floor.is_finite()))
            .then(|| InvalidSetting::new("lira.std_floor", self.std_floor, "a positive finite number"))
    }
}

fn check_config(cfg: &LiraConfig) -> Result<(), CoreError> {
    cfg.invalid().map_or(Ok(()), |bad| Err(CoreError::Invalid(bad.to_string())))
}

fn fits(inputs: &ReferenceInputs, cfg: &LiraConfig, online: bool) -> Result<(Option<SideFit>, SideFit), CoreError> {
    let (n, k) = inputs.check()?;
    check_config(cfg)?;
    let attack = if online { "lira_online" } else { "lira_offline" };
    let (n_in, n_out) = in_out_counts(inputs.keep);
    if online {
        require(&n_in, 1, "IN", attack, k)?;
    }
    require(&n_out, 1, "OUT", attack, k)?;
    let (phi, keep) = (inputs.reference_phi, inputs.keep);
    let side = |want: bool| move |i: usize, buf: &mut Vec<f64>| gather(phi, keep, i, want, buf);
    let fit_in = if online { Some(fit_side(n, &side(true), cfg, "IN", attack)?) } else { None };
    let mut fit_out = fit_side(n, &side(false), cfg, "OUT", attack)?;
    if let (Some(fin), true) = (&fit_in, cfg.std == LiraStd::ReferenceCode && cfg.variance == Variance::Global) {
        // The authors' code: `std_out = np.std(dat_in)` in the online attack.
        fit_out.sigma.clone_from(&fin.sigma);
    }
    Ok((fit_in, fit_out))
}

/// Online LiRA: per record, log N(φ_t; μ_in, σ_in²) − log N(φ_t; μ_out, σ_out²), with μ
/// and σ fitted on the record's IN and OUT reference φ as [`LiraConfig`] says (module
/// doc). Higher = member. Needs ≥ 1 IN and ≥ 1 OUT reference model per record.
pub fn lira_online(inputs: &ReferenceInputs, cfg: &LiraConfig) -> Result<Vec<f64>, CoreError> {
    let (fin, fout) = fits(inputs, cfg, true)?;
    let fin = fin.expect("online fits IN");
    Ok(inputs
        .target_phi
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            log_normal_pdf(x, fin.center[i], fin.sigma[i]) - log_normal_pdf(x, fout.center[i], fout.sigma[i])
        })
        .collect())
}

/// Offline LiRA: per record, log Φ((φ_t − μ_out)/σ_out) (one-sided, the paper) or
/// −log N(φ_t; μ_out, σ_out²) (two-sided, the authors' code), μ and σ fitted on the
/// record's OUT reference φ. Higher = member. Needs ≥ 1 OUT reference model per record.
pub fn lira_offline(inputs: &ReferenceInputs, cfg: &LiraConfig) -> Result<Vec<f64>, CoreError> {
    let (_, fout) = fits(inputs, cfg, false)?;
    Ok(inputs
        .target_phi
        .iter()
        .enumerate()
        .map(|(i, &x)| match cfg.offline_test {
            OfflineTest::OneSided => log_normal_cdf((x - fout.center[i]) / fout.sigma[i]),
            OfflineTest::TwoSided => -log_normal_pdf(x, fout.center[i], fout.sigma[i]),
        })
        .collect())
}

/// The exact variant, for the report.
pub(crate) fn describe(inputs: &ReferenceInputs, cfg: &LiraConfig, online: bool) -> String {
    let (n_in, n_out) = in_out_counts(inputs.keep);
    let head = if online {
        "LiRA online (Carlini et al., S&P 2022): log N(φ_t; μ_in, σ_in²) − log N(φ_t; μ_out, σ_out²)".to_string()
    } else {
        match cfg.offline_test {
            OfflineTest::OneSided => {
                "LiRA offline, one-sided (Carlini et al., S&P 2022): log Φ((φ_t − μ_out)/σ_out)".to_string()
            }
            OfflineTest::TwoSided => "LiRA offline, two-sided (authors' code): −log N(φ_t; μ_out, σ_out²)".to_string(),
        }
    };
    let center = match cfg.center {
        Center::Mean => "mean",
        Center::Median => "median",
    };
    let variance = match cfg.variance {
        Variance::PerExample => "per-example variance",
        Variance::Global => "global (pooled) variance",
    };
    let std = match cfg.std {
        LiraStd::Population => format!("std ddof 0 floored at {:e}", cfg.std_floor),
        LiraStd::Sample => format!("std ddof 1 floored at {:e}", cfg.std_floor),
        LiraStd::ReferenceCode => {
            let cut = |c: &[usize]| c.iter().copied().min().unwrap_or(0);
            format!(
                "std ddof 0 + 1e-30 as in the authors' code (observations cut to the first {} IN / {} OUT models{})",
                cut(&n_in),
                cut(&n_out),
                match (cfg.variance, online) {
                    (Variance::Global, true) => "; global σ = np.std of all cut IN observations, used for both sides",
                    (Variance::Global, false) => "; global σ = np.std of all cut OUT observations",
                    _ => "",
                }
            )
        }
    };
    let counts = if online {
        format!("IN models per record {}, OUT {}", range_text(&n_in), range_text(&n_out))
    } else {
        format!("OUT models per record {}", range_text(&n_out))
    };
    format!("{head}; center {center}, {variance}, {std}; {counts}; φ = logit-scaled confidence")
}
