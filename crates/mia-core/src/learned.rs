//! The learned (attack-model) attack, cross-fitted.
//!
//! As in Shokri et al. (S&P 2017) and Salem et al.'s ML-Leaks (NDSS 2019), and the
//! attack classifiers of ART and TF Privacy, an attack model learns membership from a
//! record's output features: here the top-3 sorted probabilities, loss, φ, entropy,
//! modified entropy and the one-hot label (for up to 30 classes). Each record is scored by a model
//! fitted on the other folds only.
//!
//! The model is L2-regularised logistic regression on standardised features, fitted by
//! Newton's method. It is written here rather than taken from linfa because linfa-logistic
//! 0.8 sits on an incompatible ndarray version and orients probabilities by the first label
//! it sees rather than by the label's value; the problem is small (≤ ~40 features), so a direct
//! Newton solve with a Cholesky factorisation is exact and fast.

use crate::attacks::AttackConfig;
use crate::bootstrap::{rng_for, uniform_below};
use crate::signals::Signals;

/// Largest label count one-hot encoded into the features.
const MAX_ONE_HOT: usize = 30;
/// Signals are clipped here so a few saturated records do not dominate the fit.
const CLIP: f64 = 50.0;

fn features(s: &Signals, labels: Option<&[usize]>) -> (Vec<f64>, usize) {
    let n = s.loss.len();
    let n_classes = labels.and_then(|l| l.iter().copied().max()).map_or(0, |m| m + 1);
    let one_hot = if n_classes <= MAX_ONE_HOT { n_classes } else { 0 };
    let k_top = s.top_log_probs.as_ref().map_or(0, |t| t.ncols());
    let mut cols = 2 + k_top + one_hot;
    if s.entropy.is_some() {
        cols += 2;
    }
    let mut x = Vec::with_capacity(n * cols);
    for i in 0..n {
        x.push(s.loss[i].min(CLIP));
        x.push(s.phi[i].clamp(-CLIP, CLIP));
        if let Some(t) = &s.top_log_probs {
            x.extend(t.row(i).iter().map(|l| l.exp()));
        }
        if let (Some(e), Some(m)) = (&s.entropy, &s.modified_entropy) {
            x.push(e[i]);
            x.push(m[i].min(CLIP));
        }
        if let Some(l) = labels {
            for c in 0..one_hot {
                x.push(if l[i] == c { 1.0 } else { 0.0 });
            }
        }
    }
    (x, cols)
}

/// Fitted logistic regression: `w · standardise(x) + b`.
pub struct Logistic {
    mean: Vec<f64>,
    scale: Vec<f64>,
    w: Vec<f64>,
    b: f64,
}

impl Logistic {
    /// Fits on rows `rows` of the row-major matrix `x` (d columns) with labels `y`.
    pub fn fit(x: &[f64], d: usize, rows: &[usize], y: &[bool], l2: f64) -> Logistic {
        let n = rows.len() as f64;
        let mut mean = vec![0.0; d];
        let mut sq = vec![0.0; d];
        for &r in rows {
            for j in 0..d {
                mean[j] += x[r * d + j];
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        for &r in rows {
            for j in 0..d {
                sq[j] += (x[r * d + j] - mean[j]).powi(2);
            }
        }
        // Constant columns get scale 1 (their standardised value is 0).
        let scale: Vec<f64> = sq.iter().map(|s| (s / n).sqrt()).map(|s| if s > 1e-12 { s } else { 1.0 }).collect();
        let p = d + 1; // weights then intercept
        let mut beta = vec![0.0; p];
        let mut z = vec![0.0; p];
        for _iter in 0..50 {
            let mut grad = vec![0.0; p];
            let mut hess = vec![0.0; p * p];
            for &r in rows {
                for j in 0..d {
                    z[j] = (x[r * d + j] - mean[j]) / scale[j];
                }
                z[d] = 1.0;
                let eta: f64 = (0..p).map(|j| beta[j] * z[j]).sum();
                let mu = 1.0 / (1.0 + (-eta).exp());
                let wgt = (mu * (1.0 - mu)).max(1e-12);
                let resid = mu - if y[r] { 1.0 } else { 0.0 };
                for j in 0..p {
                    grad[j] += resid * z[j];
                    let wz = wgt * z[j];
                    for k in 0..=j {
                        hess[j * p + k] += wz * z[k];
                    }
                }
            }
            // Mean loss plus (l2/2)·|w|² (intercept unpenalised).
            for j in 0..p {
                grad[j] /= n;
                for k in 0..=j {
                    hess[j * p + k] /= n;
                    hess[k * p + j] = hess[j * p + k];
                }
            }
            for j in 0..d {
                grad[j] += l2 * beta[j];
                hess[j * p + j] += l2;
            }
            let step = cholesky_solve(&hess, &grad, p);
            let mut max_step: f64 = 0.0;
            for j in 0..p {
                beta[j] -= step[j];
                max_step = max_step.max(step[j].abs());
            }
            if max_step < 1e-10 {
                break;
            }
        }
        Logistic { mean, scale, b: beta[d], w: beta[..d].to_vec() }
    }

    /// Linear predictor (log-odds of membership) of row r.
    pub fn decision(&self, x: &[f64], d: usize, r: usize) -> f64 {
        self.b + (0..d).map(|j| self.w[j] * (x[r * d + j] - self.mean[j]) / self.scale[j]).sum::<f64>()
    }
}

/// Solves A s = g for a symmetric positive-definite A (p × p, row-major).
fn cholesky_solve(a: &[f64], g: &[f64], p: usize) -> Vec<f64> {
    let mut l = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..=i {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= l[i * p + k] * l[j * p + k];
            }
            l[i * p + j] = if i == j { s.max(1e-300).sqrt() } else { s / l[j * p + j] };
        }
    }
    let mut y = vec![0.0; p];
    for i in 0..p {
        let s: f64 = (0..i).map(|k| l[i * p + k] * y[k]).sum();
        y[i] = (g[i] - s) / l[i * p + i];
    }
    let mut x = vec![0.0; p];
    for i in (0..p).rev() {
        let s: f64 = (i + 1..p).map(|k| l[k * p + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * p + i];
    }
    x
}

/// Cross-fitted learned-attack scores and notes for the report.
pub fn learned_attack(
    s: &Signals,
    labels: Option<&[usize]>,
    member: &[bool],
    fold: &[usize],
    cfg: &AttackConfig,
) -> (Vec<f64>, Vec<String>) {
    let (x, d) = features(s, labels);
    let n = member.len();
    let mut out = vec![0.0; n];
    let mut notes = Vec::new();
    let fold_scores: Vec<Vec<(usize, f64)>> = {
        use rayon::prelude::*;
        (0..cfg.folds)
            .into_par_iter()
            .map(|f| {
                let mut train: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
                if train.len() > cfg.learned_max_train {
                    let mut rng = rng_for(cfg.seed, 1_000 + f as u64);
                    for i in 0..cfg.learned_max_train {
                        let j = i + uniform_below(&mut rng, (train.len() - i) as u64) as usize;
                        train.swap(i, j);
                    }
                    train.truncate(cfg.learned_max_train);
                    train.sort_unstable();
                }
                let model = Logistic::fit(&x, d, &train, member, 1e-4);
                (0..n).filter(|&i| fold[i] == f).map(|i| (i, model.decision(&x, d, i))).collect()
            })
            .collect()
    };
    for fs in fold_scores {
        for (i, v) in fs {
            out[i] = v;
        }
    }
    if n - n / cfg.folds > cfg.learned_max_train {
        notes.push(format!(
            "each fold's attack model was fitted on a seeded subsample of {} training records",
            cfg.learned_max_train
        ));
    }
    (out, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On separable-with-noise 1-D data the fitted slope must point the right way and the
    /// gradient of the penalised loss vanish at the solution.
    #[test]
    fn logistic_fit_reaches_a_stationary_point() {
        let n = 400;
        let x: Vec<f64> = (0..n).map(|i| ((i * 37) % 100) as f64 / 10.0).collect();
        let y: Vec<bool> = (0..n).map(|i| x[i] + ((i * 13) % 7) as f64 - 3.0 > 5.0).collect();
        let rows: Vec<usize> = (0..n).collect();
        let m = Logistic::fit(&x, 1, &rows, &y, 1e-3);
        assert!(m.w[0] > 0.5);
        let (mut g0, mut g1) = (0.0, 0.0);
        for i in 0..n {
            let z = (x[i] - m.mean[0]) / m.scale[0];
            let mu = 1.0 / (1.0 + (-(m.w[0] * z + m.b)).exp());
            let r = mu - if y[i] { 1.0 } else { 0.0 };
            g0 += r * z;
            g1 += r;
        }
        assert!((g0 / n as f64 + 1e-3 * m.w[0]).abs() < 1e-9);
        assert!((g1 / n as f64).abs() < 1e-9);
    }
}
