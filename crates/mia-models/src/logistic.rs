//! The built-in logistic regression: L2-penalised multinomial (softmax) logistic regression, or
//! binary logistic regression for two classes, solved by L-BFGS — the same estimator as
//! scikit-learn's `LogisticRegression(C=c)` with the default lbfgs solver.
//!
//! Objective (scikit-learn's, see its `LogisticRegression` user guide and
//! `sklearn/linear_model/_linear_loss.py`): `Σ_i log-loss_i + ‖W‖² / (2C)`, intercepts not
//! penalised, minimised in the scaled form `(1/n)·(…)` whose gradient scikit-learn tests against
//! `tol`. Two classes use one weight vector (the logit of class 1 is `x·w + b`), as scikit-learn
//! does; the softmax form would halve the effective penalty. More classes use one weight vector
//! per class (the full, over-parameterised softmax; the penalty makes the optimum unique, and
//! starting from zero the intercepts keep summing to zero, again as scikit-learn).
//!
//! Solver: limited-memory BFGS (Nocedal & Wright, *Numerical Optimization*, 2nd ed., Algorithm 7.4
//! and 7.5, memory 10 like SciPy's L-BFGS-B default) with a line search for the strong Wolfe
//! conditions (ibid. Algorithms 3.5–3.6, cubic interpolation). It stops when the largest gradient
//! component is at most `tol` (SciPy's `pgtol`, which scikit-learn sets to `tol`), when the
//! relative decrease of the objective falls below `64·ε` (scikit-learn's `ftol`), or after
//! `max_iter` iterations. Everything is f64 and deterministic; the seed is not used.
//!
//! Why our own: the problems are small (at most a few hundred features and tens of classes), a
//! fit must be single-threaded and bit-reproducible, and encoded tabular inputs are mostly zeros
//! (the products use [`crate::sparse`] when at most 30 % of values are non-zero). linfa-logistic
//! is on an older ndarray and orients binary probabilities by the first label seen.
//!
//! A class with no training rows has no finite optimum (its intercept goes to −∞); the solver
//! stops when that class's gradient is below `tol`, leaving a large negative but finite logit.

use crate::sparse::{self, Csr};
use crate::validate::{check_range, check_train_set};
use crate::{Learner, Model, ModelError, ModelOutputs, TrainSet};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use serde::{Deserialize, Serialize};

/// Hyper-parameters (scikit-learn's names, lower-cased). Unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogisticParams {
    /// Inverse L2 strength (default 1.0): the penalty is `‖W‖² / (2c)`.
    pub c: f64,
    /// L-BFGS iterations at most (default 1000; scikit-learn's default of 100 often stops early).
    pub max_iter: usize,
    /// Stop when every component of the gradient of the `1/n`-scaled objective is at most this
    /// (default 1e-4, as scikit-learn).
    pub tol: f64,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams { c: 1.0, max_iter: 1000, tol: 1e-4 }
    }
}

/// Fits [`LogisticModel`]s.
#[derive(Debug, Clone)]
pub struct LogisticLearner {
    params: LogisticParams,
}

impl LogisticLearner {
    /// Checks the parameters.
    pub fn new(params: LogisticParams) -> Result<Self, ModelError> {
        check_range("c", params.c, 0.0, true, f64::INFINITY)?;
        check_range("tol", params.tol, 0.0, false, f64::INFINITY)?;
        if params.max_iter == 0 {
            return Err(ModelError::Param { param: "max_iter", message: "must be at least 1".into() });
        }
        Ok(LogisticLearner { params })
    }

    pub fn params(&self) -> &LogisticParams {
        &self.params
    }

    /// [`Learner::fit`] with the concrete model type (coefficients, iterations, convergence).
    pub fn fit_logistic(&self, data: &TrainSet<'_>) -> Result<LogisticModel, ModelError> {
        check_train_set(data)?;
        let mut obj = Objective::new(data, self.params.c);
        let (d, k) = (obj.d, obj.k);
        let mut theta = vec![0.0; (d + 1) * k];
        let res = lbfgs(&mut obj, &mut theta, self.params.max_iter, self.params.tol);
        // θ holds W as d × k (row j = feature j) then the k intercepts; coef is k × d.
        let mut coef = Array2::zeros((k, d));
        for j in 0..d {
            for c in 0..k {
                coef[[c, j]] = theta[j * k + c];
            }
        }
        Ok(LogisticModel {
            coef,
            intercept: theta[d * k..].to_vec(),
            n_classes: data.n_classes,
            n_iter: res.n_iter,
            converged: res.converged,
        })
    }
}

impl Learner for LogisticLearner {
    fn fit(&self, data: &TrainSet<'_>, _seed: u64) -> Result<Box<dyn Model>, ModelError> {
        Ok(Box::new(self.fit_logistic(data)?))
    }
}

/// A fitted logistic regression.
#[derive(Debug, Clone)]
pub struct LogisticModel {
    coef: Array2<f64>,
    intercept: Vec<f64>,
    n_classes: usize,
    n_iter: usize,
    converged: bool,
}

impl LogisticModel {
    /// Coefficients as scikit-learn's `coef_`: 1 × d for two classes (class 1's logit), else k × d.
    pub fn coef(&self) -> ArrayView2<'_, f64> {
        self.coef.view()
    }

    /// Intercepts as scikit-learn's `intercept_` (1 or k values).
    pub fn intercept(&self) -> &[f64] {
        &self.intercept
    }

    pub fn n_features(&self) -> usize {
        self.coef.ncols()
    }

    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// L-BFGS iterations run.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// Whether the gradient or objective test was met (otherwise `max_iter` ran out or the line
    /// search could make no progress, as when scikit-learn warns `ConvergenceWarning`).
    pub fn converged(&self) -> bool {
        self.converged
    }
}

impl LogisticModel {
    /// Logits in f64 (`x · coefᵀ + intercept`; a binary model gives `[0, margin]`).
    ///
    /// # Panics
    /// If `x` does not have [`LogisticModel::n_features`] columns (a caller bug: every matrix of
    /// an audit is encoded with the one fitted encoding).
    pub fn logits(&self, x: ArrayView2<'_, f32>) -> Array2<f64> {
        let d = self.coef.ncols();
        assert_eq!(x.ncols(), d, "logistic model trained on {d} features is given {}", x.ncols());
        let kk = self.coef.nrows();
        let mut out = Array2::zeros((x.nrows(), self.n_classes));
        // Blocks of rows through f64 GEMM: z = x · coefᵀ + intercept.
        const BLOCK: usize = 1024;
        let mut z = Array2::<f64>::zeros((BLOCK.min(x.nrows()), kk));
        for start in (0..x.nrows()).step_by(BLOCK) {
            let xb = x.slice(ndarray::s![start..(start + BLOCK).min(x.nrows()), ..]).mapv(f64::from);
            let bl = xb.nrows();
            let mut zb = z.slice_mut(ndarray::s![..bl, ..]);
            for mut row in zb.rows_mut() {
                row.assign(&ndarray::ArrayView1::from(&self.intercept[..]));
            }
            general_mat_mul(1.0, &xb, &self.coef.t(), 1.0, &mut zb);
            if kk == 1 {
                out.slice_mut(ndarray::s![start..start + bl, 1]).assign(&zb.column(0));
            } else {
                out.slice_mut(ndarray::s![start..start + bl, ..]).assign(&zb);
            }
        }
        out
    }
}

impl Model for LogisticModel {
    /// Always [`ModelOutputs::Logits`]; see [`LogisticModel::logits`].
    fn outputs(&self, x: ArrayView2<'_, f32>) -> Result<ModelOutputs, ModelError> {
        Ok(ModelOutputs::Logits(self.logits(x)))
    }
}

/// The training rows as f64 products.
enum Design {
    Dense(Array2<f64>),
    Sparse(Csr),
}

/// `f(θ) = (1/n) Σ loss_i + ‖W‖² / (2Cn)` and its gradient; θ = W (d × k, row-major) then b (k).
struct Objective {
    x: Design,
    y: Vec<usize>,
    n: usize,
    d: usize,
    /// Outputs per row: 1 (binary) or n_classes.
    k: usize,
    l2: f64,
    /// n × k scratch: logits, then the loss gradient w.r.t. the logits.
    z: Vec<f64>,
}

impl Objective {
    fn new(data: &TrainSet<'_>, c: f64) -> Objective {
        let (n, d) = (data.rows.len(), data.x.ncols());
        let k = if data.n_classes == 2 { 1 } else { data.n_classes };
        let x = if sparse::density(data.x, data.rows.iter().copied()) <= sparse::AUTO_MAX_DENSITY {
            Design::Sparse(Csr::from_rows(data.x, data.rows.iter().copied()))
        } else {
            Design::Dense(Array2::from_shape_fn((n, d), |(i, j)| f64::from(data.x[[data.rows[i], j]])))
        };
        let y = data.rows.iter().map(|&r| data.y[r]).collect();
        Objective { x, y, n, d, k, l2: 1.0 / (c * n as f64), z: vec![0.0; n * k] }
    }

    fn eval(&mut self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (n, d, k) = (self.n, self.d, self.k);
        let (w, b) = theta.split_at(d * k);
        match &self.x {
            Design::Sparse(csr) => csr.matmul_f64(w, k, &mut self.z),
            Design::Dense(x) => {
                let wv = ArrayView2::from_shape((d, k), w).expect("theta holds d * k weights");
                let mut zv = ArrayViewMut2::from_shape((n, k), &mut self.z[..]).expect("z holds n * k");
                general_mat_mul(1.0, x, &wv, 0.0, &mut zv);
            }
        }
        let mut loss = 0.0;
        let (gw, gb) = grad.split_at_mut(d * k);
        gb.fill(0.0);
        for (zr, &y) in self.z.chunks_exact_mut(k).zip(&self.y) {
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
        match &self.x {
            Design::Sparse(csr) => csr.t_matmul_f64(&self.z, k, gw),
            Design::Dense(x) => {
                let zv = ArrayView2::from_shape((n, k), &self.z[..]).expect("z holds n * k");
                let mut gv = ArrayViewMut2::from_shape((d, k), gw).expect("grad holds d * k");
                general_mat_mul(1.0, &x.t(), &zv, 0.0, &mut gv);
            }
        }
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

struct LbfgsResult {
    n_iter: usize,
    converged: bool,
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
fn lbfgs(obj: &mut Objective, x: &mut [f64], max_iter: usize, tol: f64) -> LbfgsResult {
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
    fn phi(&mut self, obj: &mut Objective, x: &[f64], dir: &[f64], a: f64) -> (f64, f64) {
        for ((t, &xv), &dv) in self.xt.iter_mut().zip(x).zip(dir) {
            *t = xv + a * dv;
        }
        let f = obj.eval(&self.xt, &mut self.gt);
        (f, dot(&self.gt, dir))
    }

    #[allow(clippy::too_many_arguments)]
    fn search(
        &mut self,
        obj: &mut Objective,
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
        obj: &mut Objective,
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

    #[derive(serde::Deserialize)]
    struct Tiny {
        problems: Vec<TinyProblem>,
    }

    #[derive(serde::Deserialize)]
    struct TinyProblem {
        n_classes: usize,
        c: f64,
        x: Vec<Vec<f64>>,
        y: Vec<usize>,
        coef: Vec<Vec<f64>>,
        intercept: Vec<f64>,
    }

    #[test]
    fn optimum_matches_sklearn_on_tiny_problems() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/models/sklearn_lr_tiny.json");
        let tiny: Tiny = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for p in tiny.problems {
            let (n, d) = (p.x.len(), p.x[0].len());
            let x = Array2::from_shape_fn((n, d), |(i, j)| p.x[i][j] as f32);
            let rows: Vec<usize> = (0..n).collect();
            let data = TrainSet { x: x.view(), y: &p.y, n_classes: p.n_classes, rows: &rows };
            let params = LogisticParams { c: p.c, max_iter: 10_000, tol: 1e-10 };
            let m = LogisticLearner::new(params).unwrap().fit_logistic(&data).unwrap();
            assert!(m.converged());
            assert_eq!(m.coef().nrows(), p.coef.len());
            for (c, row) in p.coef.iter().enumerate() {
                for (j, &want) in row.iter().enumerate() {
                    assert!((m.coef()[[c, j]] - want).abs() < 1e-5, "coef[{c}][{j}] {} vs {want}", m.coef()[[c, j]]);
                }
            }
            for (a, b) in m.intercept().iter().zip(&p.intercept) {
                assert!((a - b).abs() < 1e-5, "intercept {a} vs {b}");
            }
            // Logits: [0, margin] for binary, x·coefᵀ + b otherwise.
            let lg = m.logits(x.view());
            assert_eq!(lg.ncols(), p.n_classes);
            let z0: f64 = (0..d).map(|j| f64::from(x[[0, j]]) * m.coef()[[0, j]]).sum::<f64>() + m.intercept()[0];
            if p.n_classes == 2 {
                assert_eq!(lg[[0, 0]], 0.0);
                assert!((lg[[0, 1]] - z0).abs() < 1e-12);
            } else {
                assert!((lg[[0, 0]] - z0).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn gradient_matches_finite_differences_dense_and_sparse() {
        let (n, d) = (30, 6);
        let dense = Array2::from_shape_fn((n, d), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 5.0 - 1.0);
        let sparse = dense.mapv(|v| if v > 0.6 { 1.0 } else { 0.0 });
        for x in [dense, sparse] {
            for k in [2usize, 4] {
                let y: Vec<usize> = (0..n).map(|i| (i * 5 + i / 7) % k).collect();
                let rows: Vec<usize> = (0..n).collect();
                let data = TrainSet { x: x.view(), y: &y, n_classes: k, rows: &rows };
                let mut obj = Objective::new(&data, 0.7);
                let m = (d + 1) * obj.k;
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
    }

    #[test]
    fn sparse_and_dense_designs_reach_the_same_optimum() {
        let (n, d) = (80, 12);
        let x = Array2::from_shape_fn((n, d), |(i, j)| if (i * 31 + j * 17) % 9 < 2 { 1.0f32 } else { 0.0 });
        let y: Vec<usize> = (0..n).map(|i| (x.row(i).sum() as usize + i % 2) % 3).collect();
        let rows: Vec<usize> = (0..n).collect();
        let data = TrainSet { x: x.view(), y: &y, n_classes: 3, rows: &rows };
        let l = LogisticLearner::new(LogisticParams { tol: 1e-9, ..LogisticParams::default() }).unwrap();
        let sparse_fit = l.fit_logistic(&data).unwrap();
        // The same rows through a dense design, built directly and minimised.
        let mut obj = Objective::new(&data, 1.0);
        obj.x = Design::Dense(x.mapv(f64::from));
        let mut theta = vec![0.0; (d + 1) * 3];
        let res = lbfgs(&mut obj, &mut theta, 1000, 1e-9);
        assert!(res.converged);
        for j in 0..d {
            for c in 0..3 {
                assert!((theta[j * 3 + c] - sparse_fit.coef()[[c, j]]).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn bad_params_and_data_are_errors() {
        for p in [
            LogisticParams { c: 0.0, ..LogisticParams::default() },
            LogisticParams { c: f64::NAN, ..LogisticParams::default() },
            LogisticParams { tol: -1.0, ..LogisticParams::default() },
            LogisticParams { max_iter: 0, ..LogisticParams::default() },
        ] {
            assert!(matches!(LogisticLearner::new(p), Err(ModelError::Param { .. })));
        }
        let x = Array2::<f32>::zeros((4, 2));
        let y = vec![0, 1, 2, 1];
        let l = LogisticLearner::new(LogisticParams::default()).unwrap();
        assert!(matches!(
            l.fit(&TrainSet { x: x.view(), y: &y, n_classes: 2, rows: &[] }, 0),
            Err(ModelError::Data(_))
        ));
        assert!(matches!(
            l.fit(&TrainSet { x: x.view(), y: &y, n_classes: 2, rows: &[0, 2] }, 0),
            Err(ModelError::Data(m)) if m.contains("row 2")
        ));
        assert!(l.fit(&TrainSet { x: x.view(), y: &y, n_classes: 3, rows: &[0, 2] }, 0).is_ok());
    }

    #[test]
    fn absent_class_keeps_finite_logits() {
        let x = Array2::from_shape_fn((20, 3), |(i, j)| ((i + j) % 4) as f32);
        let y: Vec<usize> = (0..20).map(|i| i % 2).collect();
        let rows: Vec<usize> = (0..20).collect();
        let m = LogisticLearner::new(LogisticParams::default())
            .unwrap()
            .fit_logistic(&TrainSet { x: x.view(), y: &y, n_classes: 3, rows: &rows })
            .unwrap();
        assert!(m.logits(x.view()).iter().all(|v| v.is_finite()));
    }

    #[test]
    fn params_serde() {
        let p: LogisticParams = serde_json::from_str(r#"{"c": 0.5}"#).unwrap();
        assert_eq!(p, LogisticParams { c: 0.5, ..LogisticParams::default() });
        assert!(serde_json::from_str::<LogisticParams>(r#"{"C": 0.5}"#).is_err());
    }
}
