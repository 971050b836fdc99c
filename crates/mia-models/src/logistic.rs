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
//! The objective and its solver are the project's one logistic regression,
//! [`mia_core::logistic`] (limited-memory BFGS with a strong-Wolfe line search). It stops when
//! the largest gradient component is at most `tol` (SciPy's `pgtol`, which scikit-learn sets to
//! `tol`), when the relative decrease of the objective falls below `64·ε` (scikit-learn's
//! `ftol`), or after `max_iter` iterations. Everything is f64 and deterministic; the seed is not
//! used. This module adds what a learner needs: parameters, the design (encoded tabular inputs
//! are mostly zeros, so the products use [`crate::sparse`] when at most 30 % of values are
//! non-zero), and the fitted model's logits.
//!
//! A class with no training rows has no finite optimum (its intercept goes to −∞); the solver
//! stops when that class's gradient is below `tol`, leaving a large negative but finite logit.
//!
//! With a `[learner.dp]` table ([`LogisticParams::dp`]) the same model is instead trained by
//! DP-SGD (plain SGD on Poisson-sampled, clipped and noised gradients, from zero; see
//! [`crate::dp`]): L-BFGS uses the exact full-batch gradient and a data-dependent line search and
//! stopping test, none of which can be made differentially private.

use crate::dense::Isa;
use crate::dp::{
    DpGuarantee, DpSgd, DpTrainer, LOGISTIC_DP_BATCH_SIZE, LOGISTIC_DP_EPOCHS, LOGISTIC_DP_LEARNING_RATE, Optimizer,
};
use crate::mlp::{Input, Net};
use crate::sparse::{self, Csr};
use crate::validate::{check_range, check_train_set};
use crate::{Learner, Model, ModelError, ModelOutputs, TrainSet};
use mia_core::logistic::{LinearDesign, LogLoss, lbfgs};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2};
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
    /// Train with DP-SGD (`[learner.dp]`, default absent) instead of L-BFGS, which cannot be made
    /// differentially private: see [`crate::dp`]. Plain SGD with `dp.learning_rate` for
    /// `dp.epochs` epochs of Poisson-sampled batches of expected size `dp.batch_size`, from zero;
    /// the penalty `‖W‖²/(2c)` still applies; `max_iter` and `tol` are not used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dp: Option<DpSgd>,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams { c: 1.0, max_iter: 1000, tol: 1e-4, dp: None }
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
        if let Some(dp) = &params.dp {
            dp.check("logistic")?;
        }
        Ok(LogisticLearner { params })
    }

    pub fn params(&self) -> &LogisticParams {
        &self.params
    }

    /// [`Learner::fit`] with the concrete model type (coefficients, iterations, convergence), seed 0
    /// (the seed is used by DP fits only).
    pub fn fit_logistic(&self, data: &TrainSet<'_>) -> Result<LogisticModel, ModelError> {
        self.fit_logistic_seeded(data, 0)
    }

    /// [`Learner::fit`] with the concrete model type. The seed drives the Poisson sampling and the
    /// noise of a DP fit; the L-BFGS fit does not use it.
    pub fn fit_logistic_seeded(&self, data: &TrainSet<'_>, seed: u64) -> Result<LogisticModel, ModelError> {
        check_train_set(data)?;
        if let Some(dp) = &self.params.dp {
            return self.fit_dp(dp, data, seed);
        }
        let (n, d) = (data.rows.len(), data.x.ncols());
        // One output (class 1's logit) for two classes, as scikit-learn: the softmax form
        // would halve the effective penalty.
        let k = if data.n_classes == 2 { 1 } else { data.n_classes };
        let design = Design::new(data);
        let y: Vec<usize> = data.rows.iter().map(|&r| data.y[r]).collect();
        // scikit-learn's ‖W‖² / (2C) on the 1/n-scaled loss.
        let mut obj = LogLoss::new(design.as_linear(), &y, k, 1.0 / (self.params.c * n as f64));
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
            dp: None,
        })
    }

    /// The DP-SGD fit ([`crate::dp`]): the linear model as a network without hidden layers (one
    /// output for two classes, as the L-BFGS fit), started from zero, trained by plain SGD.
    fn fit_dp(&self, dp: &DpSgd, data: &TrainSet<'_>, seed: u64) -> Result<LogisticModel, ModelError> {
        let (n, d) = (data.rows.len(), data.x.ncols());
        let k = if data.n_classes == 2 { 1 } else { data.n_classes };
        let plan = dp_plan(dp, n)?;
        let (_, sampling, noise) = crate::dp::streams(seed);
        let net = Net { sizes: vec![d, k], w: vec![vec![0f32; d * k]], b: vec![vec![0f32; k]] };
        let input = if sparse::density(data.x, data.rows.iter().copied()) <= sparse::AUTO_MAX_DENSITY {
            Input::Sparse(Csr::from_rows(data.x, data.rows.iter().copied()))
        } else {
            Input::Dense { x: data.x, rows: data.rows }
        };
        let y: Vec<u32> = data.rows.iter().map(|&r| data.y[r] as u32).collect();
        // W/(c·n) per step, in the trainer's form (g + penalty·W) / expected_batch.
        let penalty = (plan.expected_batch as f64 / (self.params.c * n as f64)) as f32;
        let lr = dp.learning_rate.unwrap_or(LOGISTIC_DP_LEARNING_RATE) as f32;
        let tr = DpTrainer::new(Isa::detect(), net, input, y, Optimizer::Sgd { lr }, penalty);
        let (net, _) = crate::dp::train(tr, n, &plan, sampling, noise)?;
        let coef = Array2::from_shape_fn((k, d), |(c, j)| f64::from(net.w[0][j * k + c]));
        Ok(LogisticModel {
            coef,
            intercept: net.b[0].iter().map(|&v| f64::from(v)).collect(),
            n_classes: data.n_classes,
            n_iter: plan.guarantee.steps.try_into().unwrap_or(usize::MAX),
            converged: true,
            dp: Some(plan.guarantee),
        })
    }
}

impl Learner for LogisticLearner {
    fn fit(&self, data: &TrainSet<'_>, seed: u64) -> Result<Box<dyn Model>, ModelError> {
        Ok(Box::new(self.fit_logistic_seeded(data, seed)?))
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
    dp: Option<DpGuarantee>,
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

    /// L-BFGS iterations run (a DP fit: the SGD steps run).
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// Whether the gradient or objective test was met (otherwise `max_iter` ran out or the line
    /// search could make no progress, as when scikit-learn warns `ConvergenceWarning`). A DP fit
    /// runs a fixed number of steps and always reports `true`.
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

    fn dp(&self) -> Option<&DpGuarantee> {
        self.dp.as_ref()
    }
}

/// The training rows as f64 products: compressed sparse rows when at most
/// [`sparse::AUTO_MAX_DENSITY`] of the values are non-zero, else dense.
enum Design {
    Dense(Array2<f64>),
    Sparse(Csr),
}

impl Design {
    fn new(data: &TrainSet<'_>) -> Design {
        let (n, d) = (data.rows.len(), data.x.ncols());
        if sparse::density(data.x, data.rows.iter().copied()) <= sparse::AUTO_MAX_DENSITY {
            Design::Sparse(Csr::from_rows(data.x, data.rows.iter().copied()))
        } else {
            Design::Dense(Array2::from_shape_fn((n, d), |(i, j)| f64::from(data.x[[data.rows[i], j]])))
        }
    }

    fn as_linear(&self) -> &dyn LinearDesign {
        match self {
            Design::Dense(x) => x,
            Design::Sparse(csr) => csr,
        }
    }
}

impl LinearDesign for Csr {
    fn n_rows(&self) -> usize {
        self.n_rows()
    }
    fn n_cols(&self) -> usize {
        self.n_cols
    }
    fn matmul(&self, w: &[f64], k: usize, out: &mut [f64]) {
        self.matmul_f64(w, k, out)
    }
    fn t_matmul(&self, z: &[f64], k: usize, out: &mut [f64]) {
        self.t_matmul_f64(z, k, out)
    }
}

/// The DP-SGD recipe of the logistic learner on `n` rows: `dp.epochs` epochs of expected
/// batch `dp.batch_size` (defaults [`LOGISTIC_DP_EPOCHS`], [`LOGISTIC_DP_BATCH_SIZE`]).
pub(crate) fn dp_plan(dp: &DpSgd, n: usize) -> Result<crate::dp::DpPlan, ModelError> {
    let epochs = dp.epochs.unwrap_or(LOGISTIC_DP_EPOCHS);
    crate::dp::plan(dp, n, dp.batch_size.unwrap_or(LOGISTIC_DP_BATCH_SIZE), epochs)
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
            let params = LogisticParams { c: p.c, max_iter: 10_000, tol: 1e-10, dp: None };
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

    /// The sparse design's products give the dense design's log-loss and gradient.
    #[test]
    fn sparse_design_gives_the_dense_log_loss() {
        let (n, d) = (30, 6);
        let x = Array2::from_shape_fn((n, d), |(i, j)| if (i * 7 + j * 3) % 11 > 7 { 1.0f32 } else { 0.0 });
        let rows: Vec<usize> = (0..n).collect();
        let csr = Csr::from_rows(x.view(), rows.iter().copied());
        let dense = x.mapv(f64::from);
        for k in [1usize, 4] {
            let y: Vec<usize> = (0..n).map(|i| (i * 5 + i / 7) % k.max(2)).collect();
            let m = (d + 1) * k;
            let theta: Vec<f64> = (0..m).map(|i| ((i * 13) % 7) as f64 / 7.0 - 0.4).collect();
            let (mut gs, mut gd) = (vec![0.0; m], vec![0.0; m]);
            let fs = LogLoss::new(&csr, &y, k, 0.1).eval(&theta, &mut gs);
            let fd = LogLoss::new(&dense, &y, k, 0.1).eval(&theta, &mut gd);
            assert!((fs - fd).abs() < 1e-12, "k={k}: {fs} vs {fd}");
            for (a, b) in gs.iter().zip(&gd) {
                assert!((a - b).abs() < 1e-12, "k={k}: {a} vs {b}");
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
        assert!(matches!(Design::new(&data), Design::Sparse(_)));
        // The same rows through a dense design, built directly and minimised.
        let dense = x.mapv(f64::from);
        let mut obj = LogLoss::new(&dense, &y, 3, 1.0 / n as f64);
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
