//! The project's one logistic regression: the L2-penalised log-loss (intercepts not
//! penalised), minimised by one of two solvers chosen by the problem's size.
//!
//! * [`Logistic`]: binary, on features it standardises itself, by Newton's method with a
//!   Cholesky solve — exact and fast for the small dense problems of the attack models (the
//!   learned attack in [`crate::attacks`], Shokri et al.'s per-class models in
//!   [`crate::reference::shokri`], the synthetic-data shadow attack in mia-synth; ≤ ~40
//!   features).
//! * [`LogLoss`] + [`lbfgs`]: binary or multinomial (softmax) over any [`LinearDesign`] (dense
//!   here, sparse in mia-models), by limited-memory BFGS — the built-in `logistic` learner,
//!   whose problems have tens of classes and hundreds of one-hot features, where a p × p
//!   Hessian is too large. Its objective and stopping rules are scikit-learn's
//!   `LogisticRegression(solver="lbfgs")` (see mia-models' `logistic` module).
//!
//! Both are written here rather than taken from linfa: linfa-logistic 0.8 sits on an
//! incompatible ndarray version and orients probabilities by the first label it sees rather
//! than by the label's value, and every fit here must be single-threaded and bit-reproducible.
//! L-BFGS: Nocedal & Wright, *Numerical Optimization*, 2nd ed., Algorithms 7.4–7.5 (memory 10,
//! as SciPy's L-BFGS-B) with a strong-Wolfe line search (Algorithms 3.5–3.6, cubic
//! interpolation).

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

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

// ---------------------------------------------------------------- penalised log-loss by L-BFGS

/// A design matrix the L-BFGS fit multiplies by: dense here ([`Array2`]), compressed sparse
/// rows in mia-models (its `Csr`, for one-hot encoded tables).
pub trait LinearDesign {
    fn n_rows(&self) -> usize;
    fn n_cols(&self) -> usize;
    /// `out` (n × k, row-major) = X · `w` (d × k, row-major).
    fn matmul(&self, w: &[f64], k: usize, out: &mut [f64]);
    /// `out` (d × k) = Xᵀ · `z` (n × k).
    fn t_matmul(&self, z: &[f64], k: usize, out: &mut [f64]);
}

impl LinearDesign for Array2<f64> {
    fn n_rows(&self) -> usize {
        self.nrows()
    }
    fn n_cols(&self) -> usize {
        self.ncols()
    }
    fn matmul(&self, w: &[f64], k: usize, out: &mut [f64]) {
        let wv = ArrayView2::from_shape((self.ncols(), k), w).expect("w holds d * k weights");
        let mut zv = ArrayViewMut2::from_shape((self.nrows(), k), out).expect("out holds n * k");
        general_mat_mul(1.0, self, &wv, 0.0, &mut zv);
    }
    fn t_matmul(&self, z: &[f64], k: usize, out: &mut [f64]) {
        let zv = ArrayView2::from_shape((self.nrows(), k), z).expect("z holds n * k");
        let mut gv = ArrayViewMut2::from_shape((self.ncols(), k), out).expect("out holds d * k");
        general_mat_mul(1.0, &self.t(), &zv, 0.0, &mut gv);
    }
}

/// The penalised log-loss `f(θ) = (1/n) Σ loss_i + (l2/2)·‖W‖²` (intercepts not penalised)
/// and its gradient; θ = W (d × k, row-major) then the k intercepts. One output per row
/// (`k` = 1: the logit of class 1, binary) or one per class (softmax).
pub struct LogLoss<'a> {
    x: &'a dyn LinearDesign,
    y: &'a [usize],
    n: usize,
    d: usize,
    k: usize,
    l2: f64,
    /// n × k scratch: logits, then the loss gradient w.r.t. the logits.
    z: Vec<f64>,
}

impl<'a> LogLoss<'a> {
    /// The loss of labels `y` (one per row of `x`; 0/1 when `k` = 1, else below `k`).
    pub fn new(x: &'a dyn LinearDesign, y: &'a [usize], k: usize, l2: f64) -> LogLoss<'a> {
        let (n, d) = (x.n_rows(), x.n_cols());
        LogLoss { x, y, n, d, k, l2, z: vec![0.0; n * k] }
    }

    /// Parameters: (d + 1) × k.
    pub fn dim(&self) -> usize {
        (self.d + 1) * self.k
    }

    /// f(θ), with its gradient written to `grad`.
    pub fn eval(&mut self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (n, d, k) = (self.n, self.d, self.k);
        let (w, b) = theta.split_at(d * k);
        self.x.matmul(w, k, &mut self.z);
        let mut loss = 0.0;
        let (gw, gb) = grad.split_at_mut(d * k);
        gb.fill(0.0);
        for (zr, &y) in self.z.chunks_exact_mut(k).zip(self.y) {
            if k == 1 {
                let v = zr[0] + b[0];
                let t = if y == 1 { 1.0 } else { 0.0 };
                // log(1 + e^v) − t·v, and σ(v) − t, without overflow.
                let e = (-v.abs()).exp();
                loss += v.max(0.0) + e.ln_1p() - t * v;
                let p = if v >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
                zr[0] = p - t;
            } else {
                for (zz, &bb) in zr.iter_mut().zip(b) {
                    *zz += bb;
                }
                let m = zr.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v));
                let zy = zr[y];
                let mut s = 0.0;
                for zz in zr.iter_mut() {
                    *zz = (*zz - m).exp();
                    s += *zz;
                }
                loss += s.ln() + m - zy;
                for zz in zr.iter_mut() {
                    *zz /= s;
                }
                zr[y] -= 1.0;
            }
            for (g, &v) in gb.iter_mut().zip(zr.iter()) {
                *g += v;
            }
        }
        self.x.t_matmul(&self.z, k, gw);
        let inv_n = 1.0 / n as f64;
        let mut sq = 0.0;
        for (g, &wv) in gw.iter_mut().zip(w) {
            *g = *g * inv_n + self.l2 * wv;
            sq += wv * wv;
        }
        for g in gb.iter_mut() {
            *g *= inv_n;
        }
        loss * inv_n + 0.5 * self.l2 * sq
    }
}

/// How an L-BFGS run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbfgsResult {
    /// Iterations run.
    pub n_iter: usize,
    /// Whether the gradient or objective test was met (otherwise `max_iter` ran out or the
    /// line search could make no progress).
    pub converged: bool,
}

const MEMORY: usize = 10;
const FTOL: f64 = 64.0 * f64::EPSILON;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Minimises `obj` from `x` (updated in place) with L-BFGS.
pub fn lbfgs(obj: &mut LogLoss<'_>, x: &mut [f64], max_iter: usize, tol: f64) -> LbfgsResult {
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut f = obj.eval(x, &mut g);
    if max_abs(&g) <= tol {
        return LbfgsResult { n_iter: 0, converged: true };
    }
    let mut s_hist: Vec<Vec<f64>> = Vec::with_capacity(MEMORY);
    let mut y_hist: Vec<Vec<f64>> = Vec::with_capacity(MEMORY);
    let mut rho_hist: Vec<f64> = Vec::with_capacity(MEMORY);
    let mut dir = vec![0.0; n];
    let mut alpha_buf = [0.0; MEMORY];
    let mut ls = LineSearch { xt: vec![0.0; n], gt: vec![0.0; n] };
    for iter in 1..=max_iter {
        // Two-loop recursion: dir = −H·g.
        dir.copy_from_slice(&g);
        for i in (0..s_hist.len()).rev() {
            let a = rho_hist[i] * dot(&s_hist[i], &dir);
            alpha_buf[i] = a;
            dir.iter_mut().zip(&y_hist[i]).for_each(|(q, yv)| *q -= a * yv);
        }
        if let (Some(s), Some(y)) = (s_hist.last(), y_hist.last()) {
            let gamma = dot(s, y) / dot(y, y);
            dir.iter_mut().for_each(|q| *q *= gamma);
        }
        for i in 0..s_hist.len() {
            let b = rho_hist[i] * dot(&y_hist[i], &dir);
            let a = alpha_buf[i];
            dir.iter_mut().zip(&s_hist[i]).for_each(|(r, sv)| *r += (a - b) * sv);
        }
        dir.iter_mut().for_each(|v| *v = -*v);
        let mut dg = dot(&dir, &g);
        if dg.is_nan() || dg >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho_hist.clear();
            dir.iter_mut().zip(&g).for_each(|(d, gv)| *d = -gv);
            dg = -dot(&g, &g);
        }
        let step0 = if s_hist.is_empty() { (1.0 / dot(&g, &g).sqrt()).min(1.0) } else { 1.0 };
        let Some((step, f_new)) = ls.search(obj, x, f, &dir, dg, step0) else {
            return LbfgsResult { n_iter: iter - 1, converged: false };
        };
        // s = x_new − x, y = g_new − g.
        let (mut s, mut y) = if s_hist.len() == MEMORY {
            rho_hist.remove(0);
            (s_hist.remove(0), y_hist.remove(0))
        } else {
            (vec![0.0; n], vec![0.0; n])
        };
        for i in 0..n {
            s[i] = step * dir[i];
            y[i] = ls.gt[i] - g[i];
        }
        x.copy_from_slice(&ls.xt);
        g.copy_from_slice(&ls.gt);
        let sy = dot(&s, &y);
        if sy > f64::EPSILON * dot(&y, &y) {
            rho_hist.push(1.0 / sy);
            s_hist.push(s);
            y_hist.push(y);
        }
        let decrease = f - f_new;
        f = f_new;
        if max_abs(&g) <= tol || decrease <= FTOL * f.abs().max(f_new.abs()).max(1.0) {
            return LbfgsResult { n_iter: iter, converged: true };
        }
    }
    LbfgsResult { n_iter: max_iter, converged: false }
}

/// Strong-Wolfe line search (Nocedal & Wright Algorithms 3.5 and 3.6); the accepted point and
/// its gradient are left in `xt`, `gt`.
struct LineSearch {
    xt: Vec<f64>,
    gt: Vec<f64>,
}

const C1: f64 = 1e-4;
const C2: f64 = 0.9;
const MAX_EVALS: usize = 50;

impl LineSearch {
    /// φ(a) = f(x + a·dir) and φ'(a).
    fn phi(&mut self, obj: &mut LogLoss<'_>, x: &[f64], dir: &[f64], a: f64) -> (f64, f64) {
        for ((t, &xv), &dv) in self.xt.iter_mut().zip(x).zip(dir) {
            *t = xv + a * dv;
        }
        let f = obj.eval(&self.xt, &mut self.gt);
        (f, dot(&self.gt, dir))
    }

    #[allow(clippy::too_many_arguments)]
    fn search(
        &mut self,
        obj: &mut LogLoss<'_>,
        x: &[f64],
        f0: f64,
        dir: &[f64],
        dg0: f64,
        step0: f64,
    ) -> Option<(f64, f64)> {
        let (mut a_prev, mut f_prev, mut d_prev) = (0.0, f0, dg0);
        let mut a = step0;
        let mut evals = 0;
        loop {
            let (fa, da) = self.phi(obj, x, dir, a);
            evals += 1;
            if !fa.is_finite() {
                // Overflow far along the line: shrink.
                if evals >= MAX_EVALS {
                    return None;
                }
                a = 0.5 * (a_prev + a);
                continue;
            }
            if fa > f0 + C1 * a * dg0 || (evals > 1 && fa >= f_prev) {
                return self.zoom(obj, x, dir, f0, dg0, (a_prev, f_prev, d_prev), (a, fa, da), evals);
            }
            if da.abs() <= -C2 * dg0 {
                return Some((a, fa));
            }
            if da >= 0.0 {
                return self.zoom(obj, x, dir, f0, dg0, (a, fa, da), (a_prev, f_prev, d_prev), evals);
            }
            if evals >= MAX_EVALS {
                return Some((a, fa)); // sufficient decrease holds; accept
            }
            (a_prev, f_prev, d_prev) = (a, fa, da);
            a *= 2.0;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn zoom(
        &mut self,
        obj: &mut LogLoss<'_>,
        x: &[f64],
        dir: &[f64],
        f0: f64,
        dg0: f64,
        mut lo: (f64, f64, f64),
        mut hi: (f64, f64, f64),
        mut evals: usize,
    ) -> Option<(f64, f64)> {
        loop {
            if evals >= MAX_EVALS || (hi.0 - lo.0).abs() <= 1e-14 * lo.0.abs().max(hi.0.abs()) {
                // No point meeting the conditions: accept `lo` if it decreased f at all.
                if lo.0 > 0.0 && lo.1 < f0 {
                    let (f, _) = self.phi(obj, x, dir, lo.0);
                    return Some((lo.0, f));
                }
                return None;
            }
            let a = cubic_min(lo, hi);
            let (fa, da) = self.phi(obj, x, dir, a);
            evals += 1;
            if !fa.is_finite() || fa > f0 + C1 * a * dg0 || fa >= lo.1 {
                hi = (a, fa, da);
            } else {
                if da.abs() <= -C2 * dg0 {
                    return Some((a, fa));
                }
                if da * (hi.0 - lo.0) >= 0.0 {
                    hi = lo;
                }
                lo = (a, fa, da);
            }
        }
    }
}

/// Minimiser of the cubic through two (step, φ, φ') points, kept inside the middle 80 % of the
/// interval (bisection when the cubic has no usable minimiser).
fn cubic_min(p: (f64, f64, f64), q: (f64, f64, f64)) -> f64 {
    let ((a, fa, da), (b, fb, db)) = (p, q);
    let (lo, hi) = (a.min(b), a.max(b));
    let width = hi - lo;
    let d1 = da + db - 3.0 * (fa - fb) / (a - b);
    let disc = d1 * d1 - da * db;
    let t = if disc >= 0.0 && fb.is_finite() {
        let d2 = (b - a).signum() * disc.sqrt();
        b - (b - a) * (db + d2 - d1) / (db - da + 2.0 * d2)
    } else {
        f64::NAN
    };
    if t.is_finite() && t >= lo + 0.1 * width && t <= hi - 0.1 * width { t } else { lo + 0.5 * width }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log-loss gradient equals central finite differences, binary and softmax.
    #[test]
    fn log_loss_gradient_matches_finite_differences() {
        let (n, d) = (30, 6);
        let x = Array2::from_shape_fn((n, d), |(i, j)| ((i * 7 + j * 3) % 11) as f64 / 5.0 - 1.0);
        for (k, classes) in [(1usize, 2usize), (4, 4)] {
            let y: Vec<usize> = (0..n).map(|i| (i * 5 + i / 7) % classes).collect();
            let mut obj = LogLoss::new(&x, &y, k, 0.05);
            let m = obj.dim();
            let theta: Vec<f64> = (0..m).map(|i| ((i * 13) % 7) as f64 / 7.0 - 0.4).collect();
            let mut g = vec![0.0; m];
            obj.eval(&theta, &mut g);
            let mut scratch = vec![0.0; m];
            for i in 0..m {
                let (mut tp, mut tm) = (theta.clone(), theta.clone());
                tp[i] += 1e-6;
                tm[i] -= 1e-6;
                let fd = (obj.eval(&tp, &mut scratch) - obj.eval(&tm, &mut scratch)) / 2e-6;
                assert!((fd - g[i]).abs() < 1e-7, "k={k} i={i}: {fd} vs {}", g[i]);
            }
        }
    }

    /// On a binary problem the L-BFGS optimum of the log-loss and Newton's agree (same
    /// objective; Newton's on features it standardises, so compare the fitted decisions).
    #[test]
    fn lbfgs_and_newton_reach_the_same_binary_optimum() {
        let n = 300;
        let raw: Vec<f64> = (0..n).map(|i| ((i * 37) % 100) as f64 / 10.0).collect();
        let member: Vec<bool> = (0..n).map(|i| raw[i] + ((i * 13) % 7) as f64 - 3.0 > 5.0).collect();
        let rows: Vec<usize> = (0..n).collect();
        let newton = Logistic::fit(&raw, 1, &rows, &member, 1e-2);
        let x = Array2::from_shape_fn((n, 1), |(i, _)| (raw[i] - newton.mean[0]) / newton.scale[0]);
        let y: Vec<usize> = member.iter().map(|&m| usize::from(m)).collect();
        let mut obj = LogLoss::new(&x, &y, 1, 1e-2);
        let mut theta = vec![0.0; obj.dim()];
        assert!(lbfgs(&mut obj, &mut theta, 1000, 1e-12).converged);
        assert!((theta[0] - newton.w[0]).abs() < 1e-6, "{} vs {}", theta[0], newton.w[0]);
        assert!((theta[1] - newton.b).abs() < 1e-6, "{} vs {}", theta[1], newton.b);
    }

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
