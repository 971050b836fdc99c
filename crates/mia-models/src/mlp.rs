//! The built-in multi-layer perceptron: ReLU hidden layers, a softmax output (a single logistic
//! output for two classes) with cross-entropy, L2 penalty, Adam, mini-batches — scikit-learn's
//! `MLPClassifier` with `activation="relu", solver="adam"`, parameter for parameter.
//!
//! Sources: the scikit-learn `MLPClassifier` documentation and implementation
//! (`sklearn/neural_network/_multilayer_perceptron.py`, `_stochastic_optimizers.py`) for the
//! objective (mean log-loss of a batch plus `alpha/2 · ‖W‖² / batch`, biases not penalised), the
//! batching, the stopping rule and the initialisation; Kingma & Ba, "Adam: A Method for Stochastic
//! Optimization", ICLR 2015, for the optimiser (with scikit-learn's bias correction folded into the
//! step size); Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural
//! networks", AISTATS 2010, for the uniform initialisation `±sqrt(6 / (fan_in + fan_out))` (used for
//! weights and biases, as scikit-learn does).
//!
//! What it owns: [`MlpParams`] (the config), [`MlpLearner`] (the fit) and [`MlpModel`] (the fitted
//! network, whose [`Model::logits`] are the pre-softmax outputs as f64; a binary model returns
//! `[0, z]`, z being the logistic output's input).
//!
//! Why our own rather than candle or linfa: the networks an audit trains are tiny (one or two
//! hidden layers of a few hundred units) and many (a target plus K reference models), so what
//! matters is per-fit overhead, single-threaded determinism (an audit runs fits in parallel across
//! cores and must give the same bits whatever the thread count), and exploiting sparse inputs —
//! encoded tabular data is mostly zeros, and the first layer is then computed from the non-zeros
//! only (see [`crate::sparse`]). candle builds in minutes and is not faster here; linfa has no MLP
//! and is on an older ndarray.
//!
//! Compute is f32 (GEMM via matrixmultiply, hand-vectorised sparse and Adam kernels); the training
//! loss that drives the stopping rule is accumulated in f64. Deviations from scikit-learn: the
//! random streams differ (xoshiro256++ here), so a seed gives a different but equally distributed
//! initialisation and shuffle; `batch_size` larger than the training set is clipped (as
//! scikit-learn did before 1.7) rather than rejected; `stop_on_plateau = false` disables the
//! stopping rule (scikit-learn needs `n_iter_no_change >= max_iter` for that). A class with no
//! training rows gets an output bias that Adam drives steadily down: its logit stays finite.
//!
//! With a `[learner.dp]` table ([`MlpParams::dp`]) the network is trained by DP-SGD instead
//! (Poisson sampling, per-example clipping, Gaussian noise, Adam; exactly `max_iter` epochs): see
//! [`crate::dp`]. That path has its own trainer; the one here, and its arithmetic, are unchanged.

use crate::dense::{self, AdamStep, Isa, Mat};
use crate::dp::{DpGuarantee, DpSgd, DpTrainer, Optimizer};
use crate::sparse::{self, AdamParams, CscBatch, Csr};
use crate::validate::{check_range, check_train_set};
use crate::{Learner, Model, ModelError, ModelOutputs, TrainSet};
use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// Whether the first layer reads the input through its non-zeros ([`crate::sparse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SparseInput {
    /// Sparse when at most 30 % of the input values are non-zero (training rows for a fit, the
    /// whole matrix for `logits`).
    #[default]
    Auto,
    Always,
    Never,
}

/// Hyper-parameters, with scikit-learn `MLPClassifier`'s names and defaults (activation is ReLU
/// and the solver Adam, always). Unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlpParams {
    /// Units of each hidden layer (default `[100]`; empty = softmax regression trained by Adam).
    pub hidden_layer_sizes: Vec<usize>,
    /// L2 penalty strength (default 1e-4): each batch adds `alpha/2 · ‖W‖² / batch_len`.
    pub alpha: f64,
    /// Rows per mini-batch; absent = `min(200, n)` (scikit-learn's "auto"); clipped to `n`.
    pub batch_size: Option<usize>,
    /// Adam step size (default 1e-3).
    pub learning_rate_init: f64,
    /// Adam first-moment decay (default 0.9).
    pub beta_1: f64,
    /// Adam second-moment decay (default 0.999).
    pub beta_2: f64,
    /// Adam denominator guard (default 1e-8).
    pub epsilon: f64,
    /// Epochs at most (default 200).
    pub max_iter: usize,
    /// Reshuffle the training rows every epoch (default true).
    pub shuffle: bool,
    /// Stopping rule (scikit-learn's, on the training loss): an epoch whose loss is not below
    /// `best − tol` counts as no improvement; stop after `n_iter_no_change + 1` in a row.
    pub tol: f64,
    /// See `tol` (default 10).
    pub n_iter_no_change: usize,
    /// `false` trains exactly `max_iter` epochs (default true).
    pub stop_on_plateau: bool,
    /// Sparse or dense first layer (default auto).
    pub sparse_input: SparseInput,
    /// Train with DP-SGD (`[learner.dp]`, default absent): see [`crate::dp`]. Under DP the fit runs
    /// exactly `max_iter` epochs of Poisson-sampled batches of expected size `batch_size`, with
    /// Adam (`learning_rate_init`, `beta_1`, `beta_2`, `epsilon`) on the noised gradient;
    /// `stop_on_plateau`, `tol`, `n_iter_no_change` and `shuffle` are ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dp: Option<DpSgd>,
}

impl Default for MlpParams {
    fn default() -> Self {
        MlpParams {
            hidden_layer_sizes: vec![100],
            alpha: 1e-4,
            batch_size: None,
            learning_rate_init: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            max_iter: 200,
            shuffle: true,
            tol: 1e-4,
            n_iter_no_change: 10,
            stop_on_plateau: true,
            sparse_input: SparseInput::Auto,
            dp: None,
        }
    }
}

/// At most this many parameters (weights and biases together): 2³¹, i.e. 8 GiB per f32 copy.
const MAX_PARAMS: usize = 1 << 31;

/// Fits [`MlpModel`]s.
#[derive(Debug, Clone)]
pub struct MlpLearner {
    params: MlpParams,
}

impl MlpLearner {
    /// Checks the parameters.
    pub fn new(params: MlpParams) -> Result<Self, ModelError> {
        if let Some(i) = params.hidden_layer_sizes.iter().position(|&h| h == 0) {
            return Err(ModelError::Param {
                param: "hidden_layer_sizes",
                message: format!("layer {i} has 0 units; every hidden layer needs at least 1"),
            });
        }
        check_range("alpha", params.alpha, 0.0, false, f64::INFINITY)?;
        check_range("learning_rate_init", params.learning_rate_init, 0.0, true, f64::INFINITY)?;
        check_range("beta_1", params.beta_1, 0.0, false, 1.0 - f64::EPSILON)?;
        check_range("beta_2", params.beta_2, 0.0, false, 1.0 - f64::EPSILON)?;
        check_range("epsilon", params.epsilon, 0.0, true, f64::INFINITY)?;
        check_range("tol", params.tol, 0.0, false, f64::INFINITY)?;
        if params.batch_size == Some(0) {
            return Err(ModelError::Param { param: "batch_size", message: "must be at least 1".into() });
        }
        if params.max_iter == 0 {
            return Err(ModelError::Param { param: "max_iter", message: "must be at least 1 epoch".into() });
        }
        if params.n_iter_no_change == 0 {
            return Err(ModelError::Param { param: "n_iter_no_change", message: "must be at least 1".into() });
        }
        if let Some(dp) = &params.dp {
            dp.check("mlp")?;
        }
        Ok(MlpLearner { params })
    }

    pub fn params(&self) -> &MlpParams {
        &self.params
    }

    /// [`Learner::fit`] with the concrete model type (loss curve, epochs run).
    pub fn fit_mlp(&self, data: &TrainSet<'_>, seed: u64) -> Result<MlpModel, ModelError> {
        check_train_set(data)?;
        let p = &self.params;
        let n = data.rows.len();
        let d = data.x.ncols();
        let k_out = if data.n_classes == 2 { 1 } else { data.n_classes };
        let mut sizes = vec![d];
        sizes.extend_from_slice(&p.hidden_layer_sizes);
        sizes.push(k_out);
        let n_params = sizes.windows(2).try_fold(0usize, |acc, w| {
            w[0].checked_mul(w[1]).and_then(|m| m.checked_add(w[1])).and_then(|m| m.checked_add(acc))
        });
        if n_params.is_none_or(|c| c > MAX_PARAMS) {
            return Err(ModelError::Param {
                param: "hidden_layer_sizes",
                message: format!("a network of layer sizes {sizes:?} has more than {MAX_PARAMS} parameters"),
            });
        }
        let bs = p.batch_size.unwrap_or(200).min(n);
        let isa = Isa::detect();
        let use_sparse = match p.sparse_input {
            SparseInput::Always => true,
            SparseInput::Never => false,
            SparseInput::Auto => sparse::density(data.x, data.rows.iter().copied()) <= sparse::AUTO_MAX_DENSITY,
        };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let net = Net::glorot(&sizes, &mut rng);
        let input = if use_sparse {
            Input::Sparse(Csr::from_rows(data.x, data.rows.iter().copied()))
        } else {
            Input::Dense { x: data.x, rows: data.rows }
        };
        let y: Vec<u32> = data.rows.iter().map(|&r| data.y[r] as u32).collect();
        if let Some(dp) = &p.dp {
            return self.fit_dp(dp, data, isa, net, input, y, bs, seed);
        }
        let mut tr = Trainer::new(isa, net, input, y, bs, p);
        let mut perm: Vec<u32> = (0..n as u32).collect();
        let mut loss_curve = Vec::new();
        let (mut best, mut no_improve) = (f64::INFINITY, 0usize);
        for _ in 0..p.max_iter {
            if p.shuffle {
                shuffle(&mut perm, &mut rng);
            }
            let mut acc = 0.0;
            for batch in perm.chunks(bs) {
                let data_loss = tr.forward_backward(batch);
                acc += data_loss + 0.5 * p.alpha * tr.sum_sq();
                tr.update(batch.len());
            }
            let loss = acc / n as f64;
            loss_curve.push(loss);
            if !loss.is_finite() {
                return Err(ModelError::Data(format!(
                    "training diverged (loss {loss} after {} epochs); lower learning_rate_init or scale the features",
                    loss_curve.len()
                )));
            }
            if p.stop_on_plateau {
                if loss > best - p.tol {
                    no_improve += 1;
                } else {
                    no_improve = 0;
                }
                best = best.min(loss);
                if no_improve > p.n_iter_no_change {
                    break;
                }
            }
        }
        Ok(MlpModel {
            net: tr.net,
            n_classes: data.n_classes,
            sparse_input: p.sparse_input,
            n_iter: loss_curve.len(),
            loss_curve,
            dp: None,
        })
    }

    /// The DP-SGD fit ([`crate::dp`]): `max_iter` epochs of `ceil(n / bs)` steps, expected batch
    /// `bs`, Adam on the noised gradient, initialisation as without DP.
    #[allow(clippy::too_many_arguments)]
    fn fit_dp(
        &self,
        dp: &DpSgd,
        data: &TrainSet<'_>,
        isa: Isa,
        net: Net,
        input: Input<'_>,
        y: Vec<u32>,
        bs: usize,
        seed: u64,
    ) -> Result<MlpModel, ModelError> {
        let p = &self.params;
        let n = data.rows.len();
        let plan = crate::dp::plan(dp, n, bs, p.max_iter)?;
        debug_assert_eq!(plan, dp_plan(p, dp, n)?);
        let (_, sampling, noise) = crate::dp::streams(seed);
        let opt = Optimizer::Adam { lr: p.learning_rate_init, beta1: p.beta_1, beta2: p.beta_2, eps: p.epsilon as f32 };
        let tr = DpTrainer::new(isa, net, input, y, opt, p.alpha as f32);
        let (net, loss_curve) = crate::dp::train(tr, n, &plan, sampling, noise)?;
        Ok(MlpModel {
            net,
            n_classes: data.n_classes,
            sparse_input: p.sparse_input,
            n_iter: loss_curve.len(),
            loss_curve,
            dp: Some(plan.guarantee),
        })
    }
}

impl Learner for MlpLearner {
    fn fit(&self, data: &TrainSet<'_>, seed: u64) -> Result<Box<dyn Model>, ModelError> {
        Ok(Box::new(self.fit_mlp(data, seed)?))
    }
}

/// A fitted network.
#[derive(Debug, Clone)]
pub struct MlpModel {
    net: Net,
    n_classes: usize,
    sparse_input: SparseInput,
    n_iter: usize,
    loss_curve: Vec<f64>,
    dp: Option<DpGuarantee>,
}

impl MlpModel {
    /// Input width the model was trained on.
    pub fn n_features(&self) -> usize {
        self.net.sizes[0]
    }

    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Epochs run.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// Training loss after each epoch (mean log-loss plus the L2 term, as scikit-learn's `loss_curve_`).
    /// A DP fit records the mean log-loss of each epoch's sampled rows instead (no L2 term); it
    /// is a diagnostic, not covered by the DP guarantee.
    pub fn loss_curve(&self) -> &[f64] {
        &self.loss_curve
    }

    /// Layer sizes, input and output included (a binary model has one output unit).
    pub fn layer_sizes(&self) -> &[usize] {
        &self.net.sizes
    }

    /// Weights (`fan_in × fan_out`) and biases of layer `l` (0 = first).
    pub fn layer(&self, l: usize) -> (ArrayView2<'_, f32>, &[f32]) {
        let (fi, fo) = (self.net.sizes[l], self.net.sizes[l + 1]);
        (ArrayView2::from_shape((fi, fo), &self.net.w[l]).expect("layer shape"), &self.net.b[l])
    }
}

impl MlpModel {
    /// # Panics
    /// If `x` does not have [`MlpModel::n_features`] columns (the audit encodes every matrix with
    /// the one fitted encoding, so this is a caller bug, not bad input).
    pub fn logits(&self, x: ArrayView2<'_, f32>) -> Array2<f64> {
        let sizes = &self.net.sizes;
        assert_eq!(x.ncols(), sizes[0], "MLP trained on {} features is given {}", sizes[0], x.ncols());
        let (n, k) = (x.nrows(), self.n_classes);
        let mut out = Array2::zeros((n, k));
        if n == 0 {
            return out;
        }
        let use_sparse = match self.sparse_input {
            SparseInput::Always => true,
            SparseInput::Never => false,
            SparseInput::Auto => sparse::density(x, 0..n) <= sparse::AUTO_MAX_DENSITY,
        };
        const BLOCK: usize = 256;
        let isa = Isa::detect();
        let bl_max = BLOCK.min(n);
        let mut z: Vec<Vec<f32>> = sizes[1..].iter().map(|&h| vec![0f32; bl_max * h]).collect();
        let mut xb = if use_sparse { Vec::new() } else { vec![0f32; bl_max * sizes[0]] };
        let mut csr = Csr::default();
        let ids: Vec<u32> = (0..bl_max as u32).collect();
        let k_out = *sizes.last().expect("at least two layer sizes");
        for start in (0..n).step_by(BLOCK) {
            let bl = BLOCK.min(n - start);
            let first = if use_sparse {
                csr.fill_from_rows(x, start..start + bl);
                First::Sparse(&csr, &ids[..bl])
            } else {
                gather(x, start..start + bl, &mut xb);
                First::Dense(&xb)
            };
            self.net.forward(isa, first, bl, &mut z);
            let zl = z.last().expect("output layer");
            for (r, zr) in zl[..bl * k_out].chunks_exact(k_out).enumerate() {
                let mut o = out.row_mut(start + r);
                if k_out == 1 {
                    o[0] = 0.0;
                    o[1] = f64::from(zr[0]);
                } else {
                    for (oo, &v) in o.iter_mut().zip(zr) {
                        *oo = f64::from(v);
                    }
                }
            }
        }
        out
    }
}

impl Model for MlpModel {
    /// Always [`ModelOutputs::Logits`]; see [`MlpModel::logits`].
    fn outputs(&self, x: ArrayView2<'_, f32>) -> Result<ModelOutputs, ModelError> {
        Ok(ModelOutputs::Logits(self.logits(x)))
    }

    fn dp(&self) -> Option<&DpGuarantee> {
        self.dp.as_ref()
    }
}

/// Weights (`sizes[l] × sizes[l+1]`, row-major) and biases of each layer.
#[derive(Debug, Clone)]
pub(crate) struct Net {
    pub(crate) sizes: Vec<usize>,
    pub(crate) w: Vec<Vec<f32>>,
    pub(crate) b: Vec<Vec<f32>>,
}

/// The first layer's input for one batch.
pub(crate) enum First<'a> {
    /// Rows `ids` of a CSR matrix.
    Sparse(&'a Csr, &'a [u32]),
    /// A gathered dense batch, `batch × d` row-major.
    Dense(&'a [f32]),
}

impl Net {
    /// scikit-learn's initialisation: per layer, weights then biases, each uniform on
    /// `±sqrt(6 / (fan_in + fan_out))`.
    pub(crate) fn glorot(sizes: &[usize], rng: &mut Xoshiro256PlusPlus) -> Net {
        let (mut w, mut b) = (Vec::new(), Vec::new());
        for s in sizes.windows(2) {
            let bound = (6.0 / (s[0] + s[1]) as f64).sqrt();
            let mut draw =
                |len: usize| -> Vec<f32> { (0..len).map(|_| (-bound + 2.0 * bound * uniform(rng)) as f32).collect() };
            w.push(draw(s[0] * s[1]));
            b.push(draw(s[1]));
        }
        Net { sizes: sizes.to_vec(), w, b }
    }

    pub(crate) fn n_layers(&self) -> usize {
        self.sizes.len() - 1
    }

    /// Forward pass of `bl` rows: `z[l]` gets layer `l`'s output (ReLU applied to hidden layers;
    /// the last holds the output pre-activations).
    pub(crate) fn forward(&self, isa: Isa, first: First<'_>, bl: usize, z: &mut [Vec<f32>]) {
        let nl = self.n_layers();
        for l in 0..nl {
            let (fi, fo) = (self.sizes[l], self.sizes[l + 1]);
            let (prev, rest) = z.split_at_mut(l);
            let zl = &mut rest[0][..bl * fo];
            if l == 0 {
                match first {
                    First::Sparse(csr, ids) => sparse::affine(isa, csr, ids, &self.w[0], &self.b[0], zl),
                    First::Dense(xb) => {
                        dense::fill_rows(zl, &self.b[0], bl);
                        dense::gemm(Mat::new(xb, bl, fi), Mat::new(&self.w[0], fi, fo), 1.0, zl);
                    }
                }
            } else {
                dense::fill_rows(zl, &self.b[l], bl);
                dense::gemm(Mat::new(&prev[l - 1], bl, fi), Mat::new(&self.w[l], fi, fo), 1.0, zl);
            }
            if l + 1 < nl {
                dense::relu(zl);
            }
        }
    }
}

/// Copies rows `rows` of `x` into `out` (row-major).
pub(crate) fn gather(x: ArrayView2<'_, f32>, rows: impl Iterator<Item = usize>, out: &mut [f32]) {
    let d = x.ncols();
    for (o, r) in out.chunks_exact_mut(d.max(1)).zip(rows) {
        for (oo, &v) in o.iter_mut().zip(x.row(r).iter()) {
            *oo = v;
        }
    }
}

pub(crate) enum Input<'a> {
    Dense { x: ArrayView2<'a, f32>, rows: &'a [usize] },
    Sparse(Csr),
}

/// Training state: the network, Adam moments, and per-batch buffers sized once.
struct Trainer<'a> {
    isa: Isa,
    net: Net,
    input: Input<'a>,
    /// Class of each training position.
    y: Vec<u32>,
    mw: Vec<Vec<f32>>,
    vw: Vec<Vec<f32>>,
    mb: Vec<Vec<f32>>,
    vb: Vec<Vec<f32>>,
    /// Dense input batch (`bs × d`), dense mode only.
    xb: Vec<f32>,
    /// Layer outputs and their loss gradients (`bs × sizes[l+1]`).
    z: Vec<Vec<f32>>,
    dz: Vec<Vec<f32>>,
    /// Raw gradient sums `aᵀ·δ` and `Σ δ` (layer 0's weights: dense mode only).
    gw: Vec<Vec<f32>>,
    gb: Vec<Vec<f32>>,
    csc: CscBatch,
    /// Σ w² per layer for the current weights.
    sq: Vec<f64>,
    t: i32,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f32,
    alpha: f32,
}

impl<'a> Trainer<'a> {
    fn new(isa: Isa, net: Net, input: Input<'a>, y: Vec<u32>, bs: usize, p: &MlpParams) -> Trainer<'a> {
        let sizes = net.sizes.clone();
        let nl = sizes.len() - 1;
        let sparse = matches!(input, Input::Sparse(_));
        let zeros_w = || (0..nl).map(|l| vec![0f32; sizes[l] * sizes[l + 1]]).collect::<Vec<_>>();
        let zeros_b = || (0..nl).map(|l| vec![0f32; sizes[l + 1]]).collect::<Vec<_>>();
        let zeros_z = || (0..nl).map(|l| vec![0f32; bs * sizes[l + 1]]).collect::<Vec<_>>();
        let mut gw = zeros_w();
        if sparse {
            gw[0] = Vec::new();
        }
        let sq = net.w.iter().map(|w| dense::sum_sq(w)).collect();
        Trainer {
            isa,
            input,
            y,
            mw: zeros_w(),
            vw: zeros_w(),
            mb: zeros_b(),
            vb: zeros_b(),
            xb: if sparse { Vec::new() } else { vec![0f32; bs * sizes[0]] },
            z: zeros_z(),
            dz: zeros_z(),
            gw,
            gb: zeros_b(),
            csc: CscBatch::default(),
            sq,
            net,
            t: 0,
            lr: p.learning_rate_init,
            beta1: p.beta_1,
            beta2: p.beta_2,
            eps: p.epsilon as f32,
            alpha: p.alpha as f32,
        }
    }

    /// Σ w² over all weights (biases excluded), for the current weights.
    fn sum_sq(&self) -> f64 {
        self.sq.iter().sum()
    }

    /// Forward and backward pass of the training positions `batch`: fills the raw gradient sums
    /// (layer 0's, in sparse mode, are left to [`Trainer::update`]) and returns the batch's summed
    /// log-loss.
    fn forward_backward(&mut self, batch: &[u32]) -> f64 {
        let bl = batch.len();
        let first = match &self.input {
            Input::Sparse(csr) => First::Sparse(csr, batch),
            Input::Dense { x, rows } => {
                gather(*x, batch.iter().map(|&i| rows[i as usize]), &mut self.xb);
                First::Dense(&self.xb)
            }
        };
        self.net.forward(self.isa, first, bl, &mut self.z);
        let nl = self.net.n_layers();
        let sizes = &self.net.sizes;
        let loss = output_delta(&self.z[nl - 1], &mut self.dz[nl - 1], &self.y, batch, sizes[nl]);
        for l in (0..nl).rev() {
            let (fi, fo) = (sizes[l], sizes[l + 1]);
            dense::col_sums(&self.dz[l], bl, &mut self.gb[l]);
            let (dprev, drest) = self.dz.split_at_mut(l);
            let dl = &drest[0][..bl * fo];
            if l > 0 {
                let zp = &self.z[l - 1][..bl * fi];
                dense::gemm(Mat::new(zp, bl, fi).t(), Mat::new(dl, bl, fo), 0.0, &mut self.gw[l]);
                let dp = &mut dprev[l - 1][..bl * fi];
                dense::gemm(Mat::new(dl, bl, fo), Mat::new(&self.net.w[l], fi, fo).t(), 0.0, dp);
                dense::relu_mask(dp, zp);
            } else {
                match &self.input {
                    Input::Sparse(csr) => self.csc.fill(csr, batch),
                    Input::Dense { .. } => {
                        dense::gemm(Mat::new(&self.xb, bl, fi).t(), Mat::new(dl, bl, fo), 0.0, &mut self.gw[0])
                    }
                }
            }
        }
        loss
    }

    /// One Adam step from the gradients of the last [`Trainer::forward_backward`] (of `bl` rows).
    fn update(&mut self, bl: usize) {
        self.t = self.t.saturating_add(1);
        let lr_t = self.lr * (1.0 - self.beta2.powi(self.t)).sqrt() / (1.0 - self.beta1.powi(self.t));
        let sw = AdamStep {
            lr_t: lr_t as f32,
            beta1: self.beta1 as f32,
            beta2: self.beta2 as f32,
            eps: self.eps,
            alpha: self.alpha,
            inv_b: 1.0 / bl as f32,
        };
        let sb = AdamStep { alpha: 0.0, ..sw };
        let isa = self.isa;
        for l in 0..self.net.n_layers() {
            let w = &mut self.net.w[l];
            self.sq[l] = if l == 0 && matches!(self.input, Input::Sparse(_)) {
                let h = self.net.sizes[1];
                let p = AdamParams { w, m: &mut self.mw[0], v: &mut self.vw[0] };
                sparse::grad_adam(isa, &self.csc, &self.dz[0][..bl * h], h, p, &sw)
            } else {
                dense::adam(isa, w, &self.gw[l], &mut self.mw[l], &mut self.vw[l], &sw)
            };
            dense::adam(isa, &mut self.net.b[l], &self.gb[l], &mut self.mb[l], &mut self.vb[l], &sb);
        }
    }
}

/// Softmax (or, for one output, logistic) cross-entropy of the batch: writes `p − onehot(y)` to
/// `dz` and returns the summed loss (f64; each row's loss is `logsumexp(z) − z_y`).
pub(crate) fn output_delta(z: &[f32], dz: &mut [f32], y: &[u32], batch: &[u32], k: usize) -> f64 {
    let mut loss = 0.0f64;
    for ((zr, dr), &i) in z.chunks_exact(k).zip(dz.chunks_exact_mut(k)).zip(batch) {
        let yi = y[i as usize] as usize;
        if k == 1 {
            let (v, t) = (zr[0], yi as f32);
            let e = (-v.abs()).exp();
            let p = if v >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
            dr[0] = p - t;
            loss += f64::from(v.max(0.0)) + f64::from(e).ln_1p() - f64::from(t * v);
        } else {
            let m = zr.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let mut s = 0.0f32;
            for (d, &v) in dr.iter_mut().zip(zr) {
                let e = (v - m).exp();
                *d = e;
                s += e;
            }
            let inv = 1.0 / s;
            for d in dr.iter_mut() {
                *d *= inv;
            }
            dr[yi] -= 1.0;
            loss += f64::from(s).ln() + f64::from(m) - f64::from(zr[yi]);
        }
    }
    loss
}

/// Uniform on [0, 1) with 53 random bits.
pub(crate) fn uniform(rng: &mut Xoshiro256PlusPlus) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform on `0..n` (`n > 0`), unbiased (Lemire's multiply-and-reject).
fn below(rng: &mut Xoshiro256PlusPlus, n: u64) -> u64 {
    let mut m = u128::from(rng.next_u64()) * u128::from(n);
    if (m as u64) < n {
        let threshold = n.wrapping_neg() % n;
        while (m as u64) < threshold {
            m = u128::from(rng.next_u64()) * u128::from(n);
        }
    }
    (m >> 64) as u64
}

/// Fisher–Yates.
fn shuffle(v: &mut [u32], rng: &mut Xoshiro256PlusPlus) {
    for i in (1..v.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

/// The DP-SGD recipe of the MLP on `n` rows: `max_iter` epochs of expected batch
/// `batch_size` (default 200, clipped to `n`), as [`MlpLearner`]'s fit runs it.
pub(crate) fn dp_plan(p: &MlpParams, dp: &DpSgd, n: usize) -> Result<crate::dp::DpPlan, ModelError> {
    crate::dp::plan(dp, n, p.batch_size.unwrap_or(200).min(n), p.max_iter)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small dense problem: `n × d`, `k` classes, features in roughly [-1, 2].
    fn problem(n: usize, d: usize, k: usize, sparse: bool) -> (Array2<f32>, Vec<usize>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let x = Array2::from_shape_fn((n, d), |_| {
            let u = uniform(&mut rng);
            if sparse { if u < 0.15 { 1.0 } else { 0.0 } } else { (3.0 * u - 1.0) as f32 }
        });
        let y = (0..n)
            .map(|i| {
                let s: f32 = x.row(i).iter().enumerate().map(|(j, v)| v * ((j % 5) as f32 - 2.0)).sum();
                ((s.abs() * 3.0) as usize + i % 2) % k
            })
            .collect();
        (x, y)
    }

    fn fit(p: MlpParams, x: &Array2<f32>, y: &[usize], k: usize, rows: &[usize], seed: u64) -> MlpModel {
        let data = TrainSet { x: x.view(), y, n_classes: k, rows };
        MlpLearner::new(p).unwrap().fit_mlp(&data, seed).unwrap()
    }

    /// f64 copies of a network's weights and biases.
    type Params64 = (Vec<Vec<f64>>, Vec<Vec<f64>>);

    fn to_f64(net: &Net) -> Params64 {
        let conv = |v: &Vec<Vec<f32>>| v.iter().map(|l| l.iter().map(|&x| f64::from(x)).collect()).collect();
        (conv(&net.w), conv(&net.b))
    }

    /// The f64 objective of a batch, written independently: mean log-loss + alpha/2·‖W‖²/B.
    fn ref_loss(sizes: &[usize], (w, b): &Params64, x: &Array2<f32>, y: &[usize], rows: &[usize], alpha: f64) -> f64 {
        let nl = sizes.len() - 1;
        let mut total = 0.0;
        for &r in rows {
            let mut a: Vec<f64> = x.row(r).iter().map(|&v| f64::from(v)).collect();
            for l in 0..nl {
                let fo = sizes[l + 1];
                let mut z = b[l].clone();
                for (i, &ai) in a.iter().enumerate() {
                    for (o, zo) in z.iter_mut().enumerate() {
                        *zo += ai * w[l][i * fo + o];
                    }
                }
                if l + 1 < nl {
                    z.iter_mut().for_each(|v| *v = v.max(0.0));
                }
                a = z;
            }
            let logits = if a.len() == 1 { vec![0.0, a[0]] } else { a };
            let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let lse = m + logits.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
            total += lse - logits[y[r]];
        }
        let sq: f64 = w.iter().flatten().map(|v| v * v).sum();
        let bl = rows.len() as f64;
        total / bl + 0.5 * alpha * sq / bl
    }

    #[test]
    fn backprop_matches_finite_differences() {
        for (k, hidden) in [(3usize, vec![6usize, 5]), (2, vec![4]), (4, vec![])] {
            let (x, y) = problem(12, 5, k, false);
            let rows: Vec<usize> = (0..12).collect();
            let sizes: Vec<usize> =
                std::iter::once(5).chain(hidden.iter().copied()).chain([if k == 2 { 1 } else { k }]).collect();
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
            let net = Net::glorot(&sizes, &mut rng);
            let alpha = 0.3;
            let p = MlpParams { alpha, ..MlpParams::default() };
            let y32: Vec<u32> = y.iter().map(|&c| c as u32).collect();
            let input = Input::Dense { x: x.view(), rows: &rows };
            let mut tr = Trainer::new(Isa::detect(), net.clone(), input, y32, 12, &p);
            let batch: Vec<u32> = (0..12).collect();
            let loss = tr.forward_backward(&batch);
            let b = 12.0;
            let p64 = to_f64(&net);
            let want_loss = ref_loss(&sizes, &p64, &x, &y, &rows, alpha);
            assert!(((loss + 0.5 * alpha * tr.sum_sq()) / b - want_loss).abs() < 1e-5 * want_loss.max(1.0));
            let h = 1e-6;
            let mut worst = 0.0f64;
            for l in 0..net.n_layers() {
                for (is_w, len) in [(true, net.w[l].len()), (false, net.b[l].len())] {
                    for i in 0..len {
                        let (mut plus, mut minus) = (p64.clone(), p64.clone());
                        if is_w {
                            plus.0[l][i] += h;
                            minus.0[l][i] -= h;
                        } else {
                            plus.1[l][i] += h;
                            minus.1[l][i] -= h;
                        }
                        let fd = (ref_loss(&sizes, &plus, &x, &y, &rows, alpha)
                            - ref_loss(&sizes, &minus, &x, &y, &rows, alpha))
                            / (2.0 * h);
                        let analytic = if is_w {
                            (f64::from(tr.gw[l][i]) + alpha * f64::from(net.w[l][i])) / b
                        } else {
                            f64::from(tr.gb[l][i]) / b
                        };
                        worst = worst.max((fd - analytic).abs() / (fd.abs() + analytic.abs()).max(1e-2));
                    }
                }
            }
            assert!(worst < 1e-4, "k={k} hidden={hidden:?}: worst relative gradient error {worst}");
        }
    }

    /// DP-SGD with σ = 0 and a clipping norm no example reaches: the summed gradient is the plain
    /// one of the same batch, and an SGD step divides it by the expected batch size q·n.
    #[test]
    fn dp_step_without_noise_or_clipping_is_the_plain_step_over_q_n() {
        use crate::dp::{DpTrainer, Gaussian, Optimizer, streams};
        let (x, y) = problem(40, 7, 3, false);
        let rows: Vec<usize> = (0..40).collect();
        let sizes = [7, 6, 5, 3];
        let net = Net::glorot(&sizes, &mut Xoshiro256PlusPlus::seed_from_u64(8));
        let y32: Vec<u32> = y.iter().map(|&c| c as u32).collect();
        let batch: Vec<u32> = vec![1, 4, 5, 11, 20, 33, 39];
        let p = MlpParams::default();
        let mut plain =
            Trainer::new(Isa::detect(), net.clone(), Input::Dense { x: x.view(), rows: &rows }, y32.clone(), 7, &p);
        let plain_loss = plain.forward_backward(&batch);
        let (lr, penalty, expected) = (0.05f32, 0.3f32, 10usize);
        let input = Input::Dense { x: x.view(), rows: &rows };
        let mut dp = DpTrainer::new(Isa::detect(), net.clone(), input, y32, Optimizer::Sgd { lr }, penalty);
        let dp_loss = dp.clipped_sum(&batch, 1e30);
        assert!((plain_loss - dp_loss).abs() < 1e-9 * plain_loss);
        assert!(dp.scale.iter().all(|&c| c == 1.0));
        for l in 0..net.n_layers() {
            for (a, b) in plain.gw[l].iter().zip(&dp.gw[l]).chain(plain.gb[l].iter().zip(&dp.gb[l])) {
                assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "layer {l}: {a} vs {b}");
            }
        }
        dp.add_noise(&mut Gaussian::new(streams(0).2), 0.0);
        dp.step(expected);
        for l in 0..net.n_layers() {
            for ((w0, w1), g) in net.w[l].iter().zip(&dp.net.w[l]).zip(&plain.gw[l]) {
                let want = w0 - lr * ((g + penalty * w0) / expected as f32);
                assert!((w1 - want).abs() < 1e-6, "layer {l}: {w1} vs {want}");
            }
            for ((b0, b1), g) in net.b[l].iter().zip(&dp.net.b[l]).zip(&plain.gb[l]) {
                assert!((b1 - (b0 - lr * (g / expected as f32))).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn deterministic_for_a_seed_and_different_across_seeds() {
        let (x, y) = problem(150, 12, 3, true);
        let rows: Vec<usize> = (0..150).filter(|i| i % 3 != 0).collect();
        let p = MlpParams { hidden_layer_sizes: vec![16], max_iter: 15, batch_size: Some(32), ..MlpParams::default() };
        let bits = |m: &MlpModel| m.logits(x.view()).iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let a = fit(p.clone(), &x, &y, 3, &rows, 11);
        let b = fit(p.clone(), &x, &y, 3, &rows, 11);
        let c = fit(p, &x, &y, 3, &rows, 12);
        assert_eq!(bits(&a), bits(&b));
        assert_eq!(a.loss_curve(), b.loss_curve());
        assert_ne!(bits(&a), bits(&c));
    }

    #[test]
    fn sparse_and_dense_paths_agree() {
        for k in [2usize, 5] {
            let (x, y) = problem(120, 30, k, true);
            let rows: Vec<usize> = (0..120).collect();
            let p = MlpParams {
                hidden_layer_sizes: vec![70, 9],
                max_iter: 3,
                batch_size: Some(25),
                stop_on_plateau: false,
                ..MlpParams::default()
            };
            let sp = fit(MlpParams { sparse_input: SparseInput::Always, ..p.clone() }, &x, &y, k, &rows, 5);
            let de = fit(MlpParams { sparse_input: SparseInput::Never, ..p }, &x, &y, k, &rows, 5);
            for (a, b) in sp.loss_curve().iter().zip(de.loss_curve()) {
                assert!((a - b).abs() < 1e-5 * a.abs().max(1.0), "{a} vs {b}");
            }
            let (ls, ld) = (sp.logits(x.view()), de.logits(x.view()));
            for (a, b) in ls.iter().zip(&ld) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
            // The same model evaluated through both first-layer paths.
            let dense_eval = MlpModel { sparse_input: SparseInput::Never, ..sp.clone() }.logits(x.view());
            for (a, b) in ls.iter().zip(&dense_eval) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
            if k == 2 {
                assert!(ls.column(0).iter().all(|&v| v == 0.0));
            }
        }
    }

    #[test]
    fn learns_a_separable_problem_and_stops_on_plateau() {
        let (x, _) = problem(300, 10, 3, false);
        // Labels: argmax of three fixed linear functions.
        let y: Vec<usize> = (0..300)
            .map(|i| {
                let r = x.row(i);
                let s = [r[0] - r[1], r[2] + r[3] - 1.0, 0.5 * r[4] - r[5] + 0.3];
                (0..3).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap()
            })
            .collect();
        let rows: Vec<usize> = (0..300).collect();
        let p = MlpParams { hidden_layer_sizes: vec![32], max_iter: 2000, alpha: 0.01, ..MlpParams::default() };
        let m = fit(p, &x, &y, 3, &rows, 1);
        assert!(m.n_iter() < 2000, "the plateau rule never fired");
        let lg = m.logits(x.view());
        let correct = (0..300)
            .filter(|&i| {
                let r = lg.row(i);
                (0..3).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap() == y[i]
            })
            .count();
        assert!(correct > 285, "train accuracy {correct}/300");
        let curve = m.loss_curve();
        assert!(curve.last().unwrap() < &(curve[0] * 0.2));
        // The rule itself: each of the last n_iter_no_change + 1 epochs failed to beat the best
        // loss of the epochs before it by tol.
        let n = curve.len();
        let best_before = |i: usize| curve[..i].iter().cloned().fold(f64::INFINITY, f64::min);
        assert!((n - 11..n).all(|i| curve[i] > best_before(i) - 1e-4));
        assert!(curve[n - 12] <= best_before(n - 12) - 1e-4);
    }

    #[test]
    fn bad_params_and_data_are_errors() {
        let bad = [
            MlpParams { hidden_layer_sizes: vec![4, 0], ..MlpParams::default() },
            MlpParams { alpha: -1.0, ..MlpParams::default() },
            MlpParams { alpha: f64::NAN, ..MlpParams::default() },
            MlpParams { learning_rate_init: 0.0, ..MlpParams::default() },
            MlpParams { beta_1: 1.0, ..MlpParams::default() },
            MlpParams { beta_2: -0.1, ..MlpParams::default() },
            MlpParams { epsilon: 0.0, ..MlpParams::default() },
            MlpParams { batch_size: Some(0), ..MlpParams::default() },
            MlpParams { max_iter: 0, ..MlpParams::default() },
            MlpParams { tol: f64::INFINITY, ..MlpParams::default() },
            MlpParams { n_iter_no_change: 0, ..MlpParams::default() },
        ];
        for p in bad {
            assert!(matches!(MlpLearner::new(p.clone()), Err(ModelError::Param { .. })), "{p:?}");
        }
        let huge = MlpLearner::new(MlpParams { hidden_layer_sizes: vec![1 << 20, 1 << 20], ..MlpParams::default() });
        let (x, y) = problem(10, 3, 2, false);
        let data = TrainSet { x: x.view(), y: &y, n_classes: 2, rows: &[0, 1] };
        assert!(matches!(huge.unwrap().fit_mlp(&data, 0), Err(ModelError::Param { .. })));

        let l = MlpLearner::new(MlpParams::default()).unwrap();
        let data_err = |d: &TrainSet<'_>| matches!(l.fit(d, 0), Err(ModelError::Data(_)));
        assert!(data_err(&TrainSet { x: x.view(), y: &y, n_classes: 2, rows: &[] }));
        assert!(data_err(&TrainSet { x: x.view(), y: &y, n_classes: 2, rows: &[10] }));
        assert!(data_err(&TrainSet { x: x.view(), y: &y, n_classes: 1, rows: &[0] }));
        assert!(data_err(&TrainSet { x: x.view(), y: &y[..9], n_classes: 2, rows: &[0] }));
        let mut y_bad = y.clone();
        y_bad[3] = 2;
        assert!(data_err(&TrainSet { x: x.view(), y: &y_bad, n_classes: 2, rows: &[0, 3] }));
        assert!(!data_err(&TrainSet { x: x.view(), y: &y_bad, n_classes: 2, rows: &[0, 4] }));
        let mut x_nan = x.clone();
        x_nan[[4, 1]] = f32::NAN;
        assert!(matches!(
            l.fit(&TrainSet { x: x_nan.view(), y: &y, n_classes: 2, rows: &[4] }, 0),
            Err(ModelError::Data(m)) if m.contains("row 4, column 1")
        ));
    }

    #[test]
    fn params_serde_defaults_and_unknown_keys() {
        let p: MlpParams = serde_json::from_str(r#"{"hidden_layer_sizes": [256], "alpha": 0.001}"#).unwrap();
        assert_eq!(p, MlpParams { hidden_layer_sizes: vec![256], alpha: 0.001, ..MlpParams::default() });
        assert!(serde_json::from_str::<MlpParams>(r#"{"hidden": [3]}"#).is_err());
        let s: MlpParams = serde_json::from_str(r#"{"sparse_input": "never", "batch_size": 128}"#).unwrap();
        assert_eq!((s.sparse_input, s.batch_size), (SparseInput::Never, Some(128)));
    }

    #[test]
    fn learner_spec_names_the_mlp_and_logistic_learners() {
        let spec: crate::LearnerSpec =
            serde_json::from_str(r#"{"kind": "mlp", "hidden_layer_sizes": [8], "max_iter": 5}"#).unwrap();
        assert_eq!(spec.kind(), "mlp");
        assert!(spec.learner().is_ok());
        assert!(serde_json::from_str::<crate::LearnerSpec>(r#"{"kind": "mlp", "epochs": 5}"#).is_err());
        let bad: crate::LearnerSpec = serde_json::from_str(r#"{"kind": "mlp", "alpha": -1.0}"#).unwrap();
        assert!(matches!(bad.learner(), Err(ModelError::Param { param: "alpha", .. })));
        let lr: crate::LearnerSpec = serde_json::from_str(r#"{"kind": "logistic", "c": 10.0}"#).unwrap();
        assert_eq!(lr.kind(), "logistic");
        assert!(lr.learner().is_ok());
    }

    #[test]
    fn shuffle_is_a_permutation_and_below_is_in_range() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
        let mut v: Vec<u32> = (0..1000).collect();
        shuffle(&mut v, &mut rng);
        assert_ne!(v, (0..1000).collect::<Vec<_>>());
        v.sort();
        assert_eq!(v, (0..1000).collect::<Vec<_>>());
        assert!((0..1000).all(|_| below(&mut rng, 7) < 7));
        assert!((0..1000).map(|_| uniform(&mut rng)).all(|u| (0.0..1.0).contains(&u)));
    }
}
