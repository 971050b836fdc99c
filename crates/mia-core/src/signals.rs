//! Per-record membership signals from a model's outputs.
//!
//! Owns the conversion of logits, probabilities or losses into the scalars attacks use:
//! cross-entropy loss, true-class confidence, the logit-scaled confidence
//! φ = z_y − log Σ_{y'≠y} exp(z_{y'}) (Carlini et al., "Membership Inference Attacks From
//! First Principles", S&P 2022), prediction entropy, the modified entropy of Song & Mittal
//! ("Systematic Evaluation of Privacy Risks of Machine Learning Models", USENIX Security
//! 2021) and correctness.
//!
//! Everything is computed in f64 and in log space, so that every finite input gives a
//! finite signal, including probabilities of exactly 0 and 1. Probabilities are clamped at
//! [`PROB_FLOOR`] before taking logs; such records are counted as *saturated*, because
//! their loss and φ can no longer separate them from each other.

use ndarray::{Array2, ArrayView1};

/// Smallest probability used inside a logarithm: `ln(PROB_FLOOR)` ≈ −708.4, so a
/// probability of 0 gives a loss of about 708 rather than infinity.
pub const PROB_FLOOR: f64 = f64::MIN_POSITIVE;

/// A model's per-record outputs, one row per record.
#[derive(Debug, Clone)]
pub enum ModelOutputs {
    /// Unnormalised scores before softmax, N × C (C ≥ 2).
    Logits(Array2<f64>),
    /// Class probabilities, N × C (C ≥ 2); each row non-negative and summing to 1.
    Probabilities(Array2<f64>),
    /// Per-record cross-entropy loss of the true class (≥ 0).
    Loss(Vec<f64>),
}

impl ModelOutputs {
    pub fn len(&self) -> usize {
        match self {
            ModelOutputs::Logits(a) | ModelOutputs::Probabilities(a) => a.nrows(),
            ModelOutputs::Loss(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Number of classes, or `None` when only losses are known.
    pub fn n_classes(&self) -> Option<usize> {
        match self {
            ModelOutputs::Logits(a) | ModelOutputs::Probabilities(a) => Some(a.ncols()),
            ModelOutputs::Loss(_) => None,
        }
    }
    pub fn kind(&self) -> &'static str {
        match self {
            ModelOutputs::Logits(_) => "logits",
            ModelOutputs::Probabilities(_) => "probabilities",
            ModelOutputs::Loss(_) => "loss",
        }
    }
}

/// Signals for N records. Vectors that need the full output vector are `None` when
/// only losses were given.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    /// Cross-entropy −ln p_y.
    pub loss: Vec<f64>,
    /// True-class probability p_y.
    pub confidence: Vec<f64>,
    /// φ = ln p_y − ln(1 − p_y), computed without forming 1 − p_y.
    pub phi: Vec<f64>,
    /// Shannon entropy −Σ p ln p of the predicted distribution.
    pub entropy: Option<Vec<f64>>,
    /// Song & Mittal's modified entropy −(1−p_y) ln p_y − Σ_{i≠y} p_i ln(1−p_i).
    pub modified_entropy: Option<Vec<f64>>,
    /// Whether the first arg-max equals the label (numpy's `argmax` convention for ties).
    pub correct: Option<Vec<bool>>,
    /// Descending-sorted log-probabilities, top `min(C, 3)` per record (for the learned attack).
    pub top_log_probs: Option<Array2<f64>>,
    /// Records whose true-class probability (or its complement) reached the floor of the
    /// number format, so loss and φ are pinned at a limit and tie with each other.
    pub saturated: usize,
}

/// Per-record log-space quantities computed from one row of outputs.
struct RowSignals {
    log_p_y: f64,
    log_1m_p_y: f64,
    entropy: f64,
    modified_entropy: f64,
    correct: bool,
    saturated: bool,
}

/// ln Σ exp(v_j) over j ≠ skip (or over all j when `skip` is `None`); −∞ for an empty set.
fn log_sum_exp_except(v: ArrayView1<f64>, skip: Option<usize>) -> f64 {
    let mut m = f64::NEG_INFINITY;
    for (j, &x) in v.iter().enumerate() {
        if Some(j) != skip && x > m {
            m = x;
        }
    }
    if m == f64::NEG_INFINITY {
        return m;
    }
    let mut s = 0.0;
    for (j, &x) in v.iter().enumerate() {
        if Some(j) != skip {
            s += (x - m).exp();
        }
    }
    m + s.ln()
}

/// The first index of the largest value (numpy's `argmax` convention for ties): a model's
/// predicted class from a row of its outputs.
pub fn first_argmax(v: ArrayView1<f64>) -> usize {
    let mut best = 0;
    for (j, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = j;
        }
    }
    best
}

/// ln(1 − e^x) for x ≤ 0, accurate at both ends (Mächler 2012).
fn log1m_exp(x: f64) -> f64 {
    if x > -std::f64::consts::LN_2 { (-x.exp_m1()).ln() } else { (-x.exp()).ln_1p() }
}

/// ln(1 + e^x) without overflow or loss of precision.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn row_from_logits(z: ArrayView1<f64>, y: usize) -> RowSignals {
    let lse = log_sum_exp_except(z, None);
    let a = first_argmax(z);
    let log_p = |i: usize| z[i] - lse;
    // ln(1 − p_i): for the arg-max use the other classes' mass directly (p_i may round
    // to 1); for any other class p_i ≤ 1/2, where log1m_exp is exact enough.
    let log_1m_p = |i: usize| {
        if i == a { log_sum_exp_except(z, Some(a)) - lse } else { log1m_exp(log_p(i)) }
    };
    // ln p_y and ln(1 − p_y) from φ = z_y − LSE_{j≠y} z_j: ln p_y = −softplus(−φ) and
    // ln(1 − p_y) = −softplus(φ) keep full relative precision even for a loss of 1e-30,
    // where z_y − LSE(z) would round to 0 and tie well-fit members.
    let phi = z[y] - log_sum_exp_except(z, Some(y));
    let log_p_y = -softplus(-phi);
    let log_1m_p_y = -softplus(phi);
    let mut entropy = 0.0;
    let mut mentr = -(log_1m_p_y.exp()) * log_p_y;
    for i in 0..z.len() {
        let lp = log_p(i);
        let p = lp.exp();
        entropy -= p * lp;
        if i != y {
            mentr -= p * log_1m_p(i);
        }
    }
    RowSignals {
        log_p_y,
        log_1m_p_y,
        entropy: entropy.max(0.0),
        modified_entropy: mentr.max(0.0),
        correct: a == y,
        saturated: false,
    }
}

fn row_from_probs(p: ArrayView1<f64>, y: usize) -> RowSignals {
    let a = first_argmax(p);
    let others = |i: usize| -> f64 { p.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, &q)| q).sum::<f64>() };
    let ln_floor = |q: f64| q.max(PROB_FLOOR).ln();
    // ln(1 − p_i): the other classes' mass for the arg-max (avoids 1 − p_i cancelling),
    // ln_1p(−p_i) elsewhere.
    let log_1m_p = |i: usize| if i == a { ln_floor(others(i)) } else { (-p[i]).ln_1p().max(PROB_FLOOR.ln()) };
    let log_p_y = ln_floor(p[y]);
    let rest_y = others(y);
    let log_1m_p_y = ln_floor(rest_y);
    let mut entropy = 0.0;
    let mut mentr = -(1.0 - p[y]).max(0.0) * log_p_y;
    for i in 0..p.len() {
        if p[i] > 0.0 {
            entropy -= p[i] * p[i].ln();
        }
        if i != y {
            mentr -= p[i] * log_1m_p(i);
        }
    }
    RowSignals {
        log_p_y,
        log_1m_p_y,
        entropy: entropy.max(0.0),
        modified_entropy: mentr.max(0.0),
        correct: a == y,
        saturated: p[y] < PROB_FLOOR || rest_y < PROB_FLOOR,
    }
}

/// Largest `k` log-probabilities of a row, descending.
fn top_log_probs_row(out: ArrayView1<f64>, logits: bool, k: usize, dst: &mut [f64]) {
    let lse = if logits { log_sum_exp_except(out, None) } else { 0.0 };
    let mut v: Vec<f64> = out.iter().map(|&x| if logits { x - lse } else { x.max(PROB_FLOOR).ln() }).collect();
    v.sort_by(|a, b| b.total_cmp(a));
    dst.copy_from_slice(&v[..k]);
}

/// Computes every signal. `labels` is required for logits and probabilities (checked by
/// the caller: each label `< C`) and ignored for losses.
///
/// Panics if a label is out of range or lengths differ; `mia-data` validates user input
/// before it gets here.
pub fn compute_signals(outputs: &ModelOutputs, labels: Option<&[usize]>) -> Signals {
    match outputs {
        ModelOutputs::Loss(loss) => {
            // From the loss alone p_y = e^{−ℓ}, and 1 − p_y = −expm1(−ℓ).
            let loss: Vec<f64> = loss.iter().map(|&l| l.max(0.0)).collect();
            let mut saturated = 0;
            let phi = loss
                .iter()
                .map(|&l| {
                    let rest = -(-l).exp_m1();
                    if rest < PROB_FLOOR || l > -PROB_FLOOR.ln() {
                        saturated += 1;
                    }
                    -l - rest.max(PROB_FLOOR).ln()
                })
                .collect();
            Signals {
                confidence: loss.iter().map(|&l| (-l).exp()).collect(),
                phi,
                loss,
                entropy: None,
                modified_entropy: None,
                correct: None,
                top_log_probs: None,
                saturated,
            }
        }
        ModelOutputs::Logits(a) | ModelOutputs::Probabilities(a) => {
            let labels = labels.expect("labels are required with logits or probabilities");
            assert_eq!(labels.len(), a.nrows(), "one label per record");
            let is_logits = matches!(outputs, ModelOutputs::Logits(_));
            let n = a.nrows();
            let k = a.ncols().min(3);
            let mut s = Signals {
                loss: Vec::with_capacity(n),
                confidence: Vec::with_capacity(n),
                phi: Vec::with_capacity(n),
                entropy: Some(Vec::with_capacity(n)),
                modified_entropy: Some(Vec::with_capacity(n)),
                correct: Some(Vec::with_capacity(n)),
                top_log_probs: Some(Array2::zeros((n, k))),
                saturated: 0,
            };
            let top = s.top_log_probs.as_mut().unwrap();
            for (i, row) in a.rows().into_iter().enumerate() {
                let y = labels[i];
                let r = if is_logits { row_from_logits(row, y) } else { row_from_probs(row, y) };
                s.loss.push(-r.log_p_y);
                s.confidence.push(r.log_p_y.exp());
                s.phi.push(r.log_p_y - r.log_1m_p_y);
                s.entropy.as_mut().unwrap().push(r.entropy);
                s.modified_entropy.as_mut().unwrap().push(r.modified_entropy);
                s.correct.as_mut().unwrap().push(r.correct);
                s.saturated += r.saturated as usize;
                top_log_probs_row(row, is_logits, k, top.row_mut(i).as_slice_mut().unwrap());
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
    }

    /// Reference values by direct (naive) formulas on well-conditioned inputs.
    #[test]
    fn logits_match_naive_formulas() {
        let z = array![[2.0, -1.0, 0.5], [0.0, 0.0, 0.0], [-3.0, 4.0, 1.0]];
        let y = [0usize, 2, 0];
        let s = compute_signals(&ModelOutputs::Logits(z.clone()), Some(&y));
        for i in 0..3 {
            let e: Vec<f64> = z.row(i).iter().map(|v| v.exp()).collect();
            let tot: f64 = e.iter().sum();
            let p: Vec<f64> = e.iter().map(|v| v / tot).collect();
            let py = p[y[i]];
            assert!(close(s.loss[i], -py.ln(), 1e-13));
            assert!(close(s.confidence[i], py, 1e-13));
            assert!(close(s.phi[i], (py / (1.0 - py)).ln(), 1e-12));
            let h: f64 = -p.iter().map(|q| q * q.ln()).sum::<f64>();
            assert!(close(s.entropy.as_ref().unwrap()[i], h, 1e-13));
            let mut m = -(1.0 - py) * py.ln();
            for (j, q) in p.iter().enumerate() {
                if j != y[i] {
                    m -= q * (1.0 - q).ln();
                }
            }
            assert!(close(s.modified_entropy.as_ref().unwrap()[i], m, 1e-12));
        }
        assert_eq!(s.correct.unwrap(), vec![true, false, false]);
        assert_eq!(s.saturated, 0);
    }

    #[test]
    fn probabilities_agree_with_logits() {
        let z: Array2<f64> = array![[1.5, -0.5, 0.25, 3.0], [-2.0, 0.1, 0.2, 0.3]];
        let mut p = z.clone();
        for mut r in p.rows_mut() {
            let t: f64 = r.iter().map(|v| v.exp()).sum();
            r.mapv_inplace(|v| v.exp() / t);
        }
        let y = [3usize, 1];
        let a = compute_signals(&ModelOutputs::Logits(z), Some(&y));
        let b = compute_signals(&ModelOutputs::Probabilities(p), Some(&y));
        for i in 0..2 {
            assert!(close(a.loss[i], b.loss[i], 1e-12));
            assert!(close(a.phi[i], b.phi[i], 1e-12));
            assert!(close(a.entropy.as_ref().unwrap()[i], b.entropy.as_ref().unwrap()[i], 1e-12));
            assert!(close(a.modified_entropy.as_ref().unwrap()[i], b.modified_entropy.as_ref().unwrap()[i], 1e-12));
        }
    }

    /// Huge logit gaps: f64 probabilities would be exactly 1 and 0, but φ stays exact.
    #[test]
    fn extreme_logits_stay_finite_and_exact() {
        let z = array![[800.0, 0.0], [0.0, 800.0], [50.0, 10.0]];
        let y = [0usize, 0, 0];
        let s = compute_signals(&ModelOutputs::Logits(z), Some(&y));
        assert!(close(s.phi[0], 800.0, 1e-15));
        assert!(close(s.phi[1], -800.0, 1e-15));
        assert!(close(s.phi[2], 40.0, 1e-15));
        assert!(close(s.loss[1], 800.0, 1e-15));
        // loss of a near-certain member: ln(1 + e^-40) ≈ e^-40, not 0.
        assert!(close(s.loss[2], (-40f64).exp(), 1e-12));
        for v in [&s.loss, &s.phi, s.entropy.as_ref().unwrap(), s.modified_entropy.as_ref().unwrap()] {
            assert!(v.iter().all(|x| x.is_finite()));
        }
    }

    #[test]
    fn zero_and_one_probabilities_are_finite_and_counted() {
        let p = array![[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]];
        let y = [0usize, 0, 1];
        let s = compute_signals(&ModelOutputs::Probabilities(p), Some(&y));
        assert!(s.loss.iter().chain(&s.phi).all(|x| x.is_finite()));
        assert!(s.modified_entropy.as_ref().unwrap().iter().all(|x| x.is_finite()));
        assert_eq!(s.loss[0], 0.0);
        assert!(close(s.loss[1], -PROB_FLOOR.ln(), 1e-15));
        assert!(s.phi[0] > 700.0 && s.phi[1] < -700.0);
        assert_eq!(s.phi[2], 0.0);
        assert_eq!(s.saturated, 2);
    }

    #[test]
    fn loss_only_gives_binary_phi() {
        let l = vec![0.1, 2.0, 0.0, 1e4];
        let s = compute_signals(&ModelOutputs::Loss(l), None);
        let p = (-0.1f64).exp();
        assert!(close(s.phi[0], (p / (1.0 - p)).ln(), 1e-12));
        assert!(s.phi.iter().all(|x| x.is_finite()));
        assert_eq!(s.saturated, 2);
        assert!(s.entropy.is_none());
    }

    #[test]
    fn argmax_ties_take_the_first_class() {
        let z = array![[1.0, 1.0], [1.0, 1.0]];
        let s = compute_signals(&ModelOutputs::Logits(z), Some(&[0, 1]));
        assert_eq!(s.correct.unwrap(), vec![true, false]);
    }
}
