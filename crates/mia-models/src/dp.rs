//! Differentially private training (DP-SGD) for the built-in `logistic` and `mlp` learners.
//!
//! Method: Abadi, Chu, Goodfellow, McMahan, Mironov, Talwar & Zhang, "Deep Learning with
//! Differential Privacy", CCS 2016 (Algorithm 1), with Poisson sampling as in the accountant's
//! mechanism (Mironov, Talwar & Zhang 2019; [`mia_dp`]). Each step:
//!
//! 1. **Poisson sampling.** Every training row is included independently with probability
//!    `q = expected_batch / n` (so batches vary in size and may be empty). The draws come from
//!    their own xoshiro256++ stream, derived from the fit's seed.
//! 2. **Per-example clipping over all parameters.** The batch's full backward pass is run once;
//!    each example's gradient norm over every weight and bias of every layer is computed without
//!    materialising per-example gradients: for a dense layer with input activation `a_i` and
//!    output gradient `δ_i`, `‖δ_i a_iᵀ‖_F² = ‖δ_i‖²·‖a_i‖²`, plus `‖δ_i‖²` for the bias
//!    (Goodfellow, "Efficient Per-Example Gradient Computations", arXiv:1510.01799, 2015; the
//!    trick behind "ghost clipping"). Each example's rows of every layer's `δ` are then scaled by
//!    `c_i = min(1, C / ‖g_i‖)` and the weight gradients formed from the scaled `δ`, which gives
//!    the sum of the clipped per-example gradients.
//! 3. **Noise.** `N(0, σ²C²)` is added to every coordinate of the summed clipped gradient
//!    (weights and biases; the first layer's gradient is dense under DP even for sparse input —
//!    only the forward pass uses the sparse kernels). The noise comes from a second stream of the
//!    seed, disjoint from the sampling stream (xoshiro256++ long jumps), through Box–Muller.
//! 4. **Step.** The noised sum is divided by the *expected* batch size `q·n`, a constant (the
//!    realised size changes when one record is added or removed, so dividing by it would take
//!    the update outside the sum-then-noise mechanism the accountant analyses), the L2 penalty's
//!    gradient is added (it does not depend on the data), and
//!    the optimiser steps: Adam for `mlp` (`learning_rate_init`, `beta_1`, `beta_2`, `epsilon`,
//!    as Opacus does with `torch.optim.Adam` on the noised gradient), plain SGD for `logistic`
//!    (`dp.learning_rate`, Abadi et al.'s optimiser).
//!
//! Steps: `T = epochs × ceil(n / expected_batch)`; exactly T steps are run and exactly this T is
//! accounted. The guarantee is computed with [`mia_dp::epsilon`] (RDP accountant, orders
//! [`mia_dp::DP_ACCOUNTING_ORDERS`]) from `(q, σ, T)` at `dp.delta`, and kept on the fitted model
//! ([`crate::Model::dp`]). Given `dp.epsilon` instead of `dp.noise_multiplier`, σ is the smallest
//! noise multiplier meeting it ([`mia_dp::noise_multiplier_for`]) for this fit's q and T.
//!
//! **No data-dependent stopping or tuning under DP.** The accountant counts T steps fixed in
//! advance. Stopping when the training loss plateaus (the `mlp` learner's `stop_on_plateau`) or
//! when L-BFGS converges (the `logistic` learner's `tol`) makes the number of steps, and so the
//! released model, depend on the data through a channel the accountant does not charge for; the
//! same holds for choosing hyper-parameters by looking at the private data. So a DP fit always runs
//! its full `epochs` (`max_iter` for `mlp`), and `stop_on_plateau`, `tol`, `n_iter_no_change` and
//! `shuffle` are ignored (the `mlp` learner's `stop_on_plateau` defaults to `true`, so rejecting it
//! would force every DP config to spell out `stop_on_plateau = false`; a bool cannot tell "given"
//! from "defaulted" either). The loss curve a DP `mlp` fit keeps is computed on the sampled
//! batches for diagnostics; it is not privatised and not covered by the guarantee. A fit whose
//! loss is not finite is refused (an error, no model), as without DP.
//!
//! Config (`[learner.dp]`; unknown keys are errors), defaults in brackets:
//! * `epsilon` — target ε; the noise multiplier is calibrated to it. Exactly one of `epsilon` and
//!   `noise_multiplier` must be given.
//! * `noise_multiplier` — σ, the noise standard deviation over `max_grad_norm`.
//! * `delta` [1e-5] — δ of the guarantee, in (0, 1); it should be well below 1/n.
//! * `max_grad_norm` [1.0] — C, the per-example clipping norm (over all parameters).
//! * `logistic` only: `epochs` [20], `batch_size` [256, the expected batch size, clipped to n],
//!   `learning_rate` [0.1, plain SGD]. The logistic penalty `‖W‖²/(2c)` on the `1/n`-scaled
//!   loss contributes `W/(c·n)` to every step's gradient; `max_iter` and `tol` are not used.
//! * `mlp`: these three are errors in the DP table; the network's own `max_iter` (epochs, run in
//!   full), `batch_size` (expected batch size, absent = min(200, n)), `learning_rate_init`,
//!   `beta_1`, `beta_2`, `epsilon` (Adam's) and `alpha` (`alpha·W/expected_batch` per step) apply.

use crate::ModelError;
use crate::dense::{self, AdamStep, Isa, Mat};
use crate::mlp::{First, Input, Net, gather, output_delta, uniform};
use crate::validate::check_range;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// The `[learner.dp]` table; see the module documentation for every key and default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DpSgd {
    /// Target ε (exclusive with `noise_multiplier`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
    /// σ (exclusive with `epsilon`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise_multiplier: Option<f64>,
    /// δ (default 1e-5).
    pub delta: f64,
    /// C, the per-example clipping norm (default 1.0).
    pub max_grad_norm: f64,
    /// Epochs (`logistic` only; default 20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    /// Expected batch size (`logistic` only; default 256, clipped to n).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// Plain SGD step size (`logistic` only; default 0.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
}

impl Default for DpSgd {
    fn default() -> Self {
        DpSgd {
            epsilon: None,
            noise_multiplier: None,
            delta: 1e-5,
            max_grad_norm: 1.0,
            epochs: None,
            batch_size: None,
            learning_rate: None,
        }
    }
}

/// Default `dp.epochs` of the logistic learner.
pub const LOGISTIC_DP_EPOCHS: usize = 20;
/// Default `dp.batch_size` of the logistic learner.
pub const LOGISTIC_DP_BATCH_SIZE: usize = 256;
/// Default `dp.learning_rate` of the logistic learner.
pub const LOGISTIC_DP_LEARNING_RATE: f64 = 0.1;

fn param(param: &'static str, message: impl Into<String>) -> ModelError {
    ModelError::Param { param, message: message.into() }
}

impl DpSgd {
    /// Checks the table for `learner` (`"logistic"` or `"mlp"`).
    pub(crate) fn check(&self, learner: &'static str) -> Result<(), ModelError> {
        match (self.epsilon, self.noise_multiplier) {
            (Some(_), Some(_)) => {
                return Err(param("dp", "give one of dp.epsilon and dp.noise_multiplier, not both"));
            }
            (None, None) => {
                return Err(param("dp", "give dp.epsilon (the noise is calibrated to it) or dp.noise_multiplier"));
            }
            (Some(e), None) => check_range("dp.epsilon", e, 0.0, true, f64::INFINITY)?,
            (None, Some(s)) => check_range("dp.noise_multiplier", s, 0.0, true, f64::INFINITY)?,
        }
        if !(self.delta > 0.0 && self.delta < 1.0) {
            return Err(param("dp.delta", format!("must be in (0, 1); got {}", self.delta)));
        }
        check_range("dp.max_grad_norm", self.max_grad_norm, 0.0, true, f64::INFINITY)?;
        if learner == "mlp" {
            let own = [
                ("dp.epochs", self.epochs.is_some(), "max_iter"),
                ("dp.batch_size", self.batch_size.is_some(), "batch_size"),
                ("dp.learning_rate", self.learning_rate.is_some(), "learning_rate_init"),
            ];
            if let Some((key, _, instead)) = own.into_iter().find(|o| o.1) {
                return Err(param(
                    key,
                    format!("not a key of the mlp learner's DP table; set the learner's {instead}"),
                ));
            }
        } else {
            if self.epochs == Some(0) {
                return Err(param("dp.epochs", "must be at least 1"));
            }
            if self.batch_size == Some(0) {
                return Err(param("dp.batch_size", "must be at least 1"));
            }
            if let Some(lr) = self.learning_rate {
                check_range("dp.learning_rate", lr, 0.0, true, f64::INFINITY)?;
            }
        }
        Ok(())
    }
}

/// The error of a learner that does not offer DP (`gbt`).
pub(crate) fn unsupported(kind: &str) -> ModelError {
    param("dp", format!("differential privacy is supported for the logistic and mlp learners, not {kind}"))
}

/// The (ε, δ) guarantee of a DP fit and the mechanism it was computed for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DpGuarantee {
    /// ε at `delta` (RDP accountant, minimised over [`mia_dp::DP_ACCOUNTING_ORDERS`]).
    pub epsilon: f64,
    pub delta: f64,
    /// σ used: noise standard deviation over `max_grad_norm`.
    pub noise_multiplier: f64,
    /// q, the Poisson sampling probability (expected batch size / training rows).
    pub sample_rate: f64,
    /// T, the number of noisy steps run (and accounted).
    pub steps: u64,
    /// C, the per-example clipping norm.
    pub max_grad_norm: f64,
    /// The accountant (`"rdp"`).
    pub accountant: &'static str,
    /// The Rényi order at which ε was reached.
    pub order: f64,
}

/// What a DP fit runs: sampling rate, steps, noise, clipping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DpPlan {
    pub expected_batch: usize,
    pub steps_per_epoch: usize,
    pub epochs: usize,
    pub guarantee: DpGuarantee,
}

/// `q = expected_batch / n`, `T = epochs × ceil(n / expected_batch)`, σ (given or calibrated to
/// the target ε) and the resulting guarantee. `batch_size` is clipped to `n`.
pub(crate) fn plan(dp: &DpSgd, n: usize, batch_size: usize, epochs: usize) -> Result<DpPlan, ModelError> {
    let b = batch_size.clamp(1, n.max(1));
    let q = b as f64 / n as f64;
    let steps_per_epoch = n.div_ceil(b);
    let steps = (epochs as u64).saturating_mul(steps_per_epoch as u64);
    let orders = &mia_dp::DP_ACCOUNTING_ORDERS;
    let sigma = match (dp.epsilon, dp.noise_multiplier) {
        (Some(e), _) => mia_dp::noise_multiplier_for(e, q, steps, dp.delta, orders)
            .map_err(|err| param("dp.epsilon", format!("{err} (q = {q}, steps = {steps})")))?,
        (None, Some(s)) => s,
        (None, None) => return Err(param("dp", "give dp.epsilon or dp.noise_multiplier")),
    };
    let mech = mia_dp::SampledGaussian::new(q, sigma, steps).map_err(|e| param("dp", e.to_string()))?;
    let spent = mia_dp::epsilon(&mech, dp.delta, orders).map_err(|e| param("dp", e.to_string()))?;
    Ok(DpPlan {
        expected_batch: b,
        steps_per_epoch,
        epochs,
        guarantee: DpGuarantee {
            epsilon: spent.epsilon,
            delta: dp.delta,
            noise_multiplier: sigma,
            sample_rate: q,
            steps,
            max_grad_norm: dp.max_grad_norm,
            accountant: spent.accountant,
            order: spent.order,
        },
    })
}

/// The three streams of a DP fit's seed: initialisation (the seed's own stream, as without DP),
/// Poisson sampling (one long jump on) and noise (two long jumps on); 2¹⁹² draws apart.
pub(crate) fn streams(seed: u64) -> (Xoshiro256PlusPlus, Xoshiro256PlusPlus, Xoshiro256PlusPlus) {
    let init = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut sampling = init.clone();
    sampling.long_jump();
    let mut noise = sampling.clone();
    noise.long_jump();
    (init, sampling, noise)
}

/// Poisson sampling of positions `0..n`, each with probability `q`.
pub(crate) struct PoissonSampler {
    rng: Xoshiro256PlusPlus,
    q: f64,
    n: usize,
}

impl PoissonSampler {
    pub(crate) fn new(rng: Xoshiro256PlusPlus, q: f64, n: usize) -> Self {
        PoissonSampler { rng, q, n }
    }

    /// The next batch, in increasing order (all of `0..n` when `q ≥ 1`, without drawing).
    pub(crate) fn next_batch(&mut self, out: &mut Vec<u32>) {
        out.clear();
        if self.q >= 1.0 {
            out.extend(0..self.n as u32);
            return;
        }
        for i in 0..self.n as u32 {
            if uniform(&mut self.rng) < self.q {
                out.push(i);
            }
        }
    }
}

/// Standard normal draws (Box–Muller, both values of each pair used).
pub struct Gaussian {
    rng: Xoshiro256PlusPlus,
    spare: Option<f64>,
}

impl Gaussian {
    pub fn new(rng: Xoshiro256PlusPlus) -> Self {
        Gaussian { rng, spare: None }
    }

    /// A uniform draw in [0, 1) from the same stream.
    pub fn uniform(&mut self) -> f64 {
        uniform(&mut self.rng)
    }

    /// The next draw.
    pub fn sample(&mut self) -> f64 {
        if let Some(v) = self.spare.take() {
            return v;
        }
        // u1 in (0, 1] so the logarithm is finite.
        let u1 = 1.0 - uniform(&mut self.rng);
        let u2 = uniform(&mut self.rng);
        let r = (-2.0 * u1.ln()).sqrt();
        let t = std::f64::consts::TAU * u2;
        self.spare = Some(r * t.sin());
        r * t.cos()
    }
}

/// The optimiser applied to the noised gradient.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Optimizer {
    /// `w ← w − lr·g`.
    Sgd { lr: f32 },
    /// Adam with scikit-learn's folding of the bias corrections into the step size, as the
    /// non-DP MLP.
    Adam { lr: f64, beta1: f64, beta2: f64, eps: f32 },
}

/// DP-SGD training state over a [`Net`]: buffers grow to the largest Poisson batch seen.
pub(crate) struct DpTrainer<'a> {
    isa: Isa,
    pub(crate) net: Net,
    input: Input<'a>,
    y: Vec<u32>,
    opt: Optimizer,
    mw: Vec<Vec<f32>>,
    vw: Vec<Vec<f32>>,
    mb: Vec<Vec<f32>>,
    vb: Vec<Vec<f32>>,
    xb: Vec<f32>,
    z: Vec<Vec<f32>>,
    dz: Vec<Vec<f32>>,
    /// Sums of the clipped per-example gradients (then noised), weights and biases.
    pub(crate) gw: Vec<Vec<f32>>,
    pub(crate) gb: Vec<Vec<f32>>,
    /// ‖g_i‖² over all parameters, per batch position, before clipping.
    pub(crate) sq_norms: Vec<f64>,
    /// Clipping factor `c_i` per batch position.
    pub(crate) scale: Vec<f32>,
    /// The L2 term in the kernels' form: a step's gradient is `(g + penalty·w) / expected_batch`.
    penalty: f32,
    t: i32,
}

impl<'a> DpTrainer<'a> {
    pub(crate) fn new(isa: Isa, net: Net, input: Input<'a>, y: Vec<u32>, opt: Optimizer, penalty: f32) -> Self {
        let sizes = net.sizes.clone();
        let nl = sizes.len() - 1;
        let zeros_w = || (0..nl).map(|l| vec![0f32; sizes[l] * sizes[l + 1]]).collect::<Vec<_>>();
        let zeros_b = || (0..nl).map(|l| vec![0f32; sizes[l + 1]]).collect::<Vec<_>>();
        let adam = matches!(opt, Optimizer::Adam { .. });
        let moments_w = || if adam { zeros_w() } else { Vec::new() };
        let moments_b = || if adam { zeros_b() } else { Vec::new() };
        DpTrainer {
            isa,
            input,
            y,
            opt,
            mw: moments_w(),
            vw: moments_w(),
            mb: moments_b(),
            vb: moments_b(),
            xb: Vec::new(),
            z: vec![Vec::new(); nl],
            dz: vec![Vec::new(); nl],
            gw: zeros_w(),
            gb: zeros_b(),
            sq_norms: Vec::new(),
            scale: Vec::new(),
            penalty,
            t: 0,
            net,
        }
    }

    /// Forward and backward pass of `batch`, per-example norms by the ghost-norm identity,
    /// clipping to `clip`, and the sums of the clipped gradients in `gw`, `gb`. Returns the
    /// batch's summed log-loss.
    pub(crate) fn clipped_sum(&mut self, batch: &[u32], clip: f64) -> f64 {
        let bl = batch.len();
        let nl = self.net.n_layers();
        let sizes = self.net.sizes.clone();
        for l in 0..nl {
            let need = bl * sizes[l + 1];
            if self.z[l].len() < need {
                self.z[l].resize(need, 0.0);
                self.dz[l].resize(need, 0.0);
            }
        }
        self.sq_norms.clear();
        self.sq_norms.resize(bl, 0.0);
        self.scale.clear();
        if bl == 0 {
            self.gw.iter_mut().chain(self.gb.iter_mut()).for_each(|g| g.fill(0.0));
            return 0.0;
        }
        let first = match &self.input {
            Input::Sparse(csr) => First::Sparse(csr, batch),
            Input::Dense { x, rows } => {
                if self.xb.len() < bl * sizes[0] {
                    self.xb.resize(bl * sizes[0], 0.0);
                }
                gather(*x, batch.iter().map(|&i| rows[i as usize]), &mut self.xb);
                First::Dense(&self.xb)
            }
        };
        self.net.forward(self.isa, first, bl, &mut self.z);
        let loss = output_delta(&self.z[nl - 1], &mut self.dz[nl - 1], &self.y, batch, sizes[nl]);
        // Output gradients of every layer (w.r.t. its pre-activation), unclipped.
        for l in (1..nl).rev() {
            let (fi, fo) = (sizes[l], sizes[l + 1]);
            let (dprev, drest) = self.dz.split_at_mut(l);
            let dl = &drest[0][..bl * fo];
            let dp = &mut dprev[l - 1][..bl * fi];
            dense::gemm(Mat::new(dl, bl, fo), Mat::new(&self.net.w[l], fi, fo).t(), 0.0, dp);
            dense::relu_mask(dp, &self.z[l - 1][..bl * fi]);
        }
        // ‖g_i‖² = Σ_l ‖δ_i^l‖² · (‖a_i^l‖² + 1).
        for l in 0..nl {
            let (fi, fo) = (sizes[l], sizes[l + 1]);
            for (i, (sq, d)) in self.sq_norms.iter_mut().zip(self.dz[l][..bl * fo].chunks_exact(fo)).enumerate() {
                let a2 = if l == 0 {
                    match &self.input {
                        Input::Sparse(csr) => sum_sq64(csr.row(batch[i] as usize).1),
                        Input::Dense { .. } => sum_sq64(&self.xb[i * fi..(i + 1) * fi]),
                    }
                } else {
                    sum_sq64(&self.z[l - 1][i * fi..(i + 1) * fi])
                };
                *sq += sum_sq64(d) * (a2 + 1.0);
            }
        }
        self.scale.extend(self.sq_norms.iter().map(|&s| {
            let norm = s.sqrt();
            if norm > clip { (clip / norm) as f32 } else { 1.0 }
        }));
        for l in 0..nl {
            let fo = sizes[l + 1];
            for (d, &c) in self.dz[l][..bl * fo].chunks_exact_mut(fo).zip(&self.scale) {
                if c != 1.0 {
                    d.iter_mut().for_each(|v| *v *= c);
                }
            }
        }
        // Gradient sums from the clipped deltas.
        for l in 0..nl {
            let (fi, fo) = (sizes[l], sizes[l + 1]);
            let dl = &self.dz[l][..bl * fo];
            dense::col_sums(dl, bl, &mut self.gb[l]);
            if l > 0 {
                dense::gemm(
                    Mat::new(&self.z[l - 1][..bl * fi], bl, fi).t(),
                    Mat::new(dl, bl, fo),
                    0.0,
                    &mut self.gw[l],
                );
            } else {
                match &self.input {
                    Input::Sparse(csr) => {
                        let g = &mut self.gw[0];
                        g.fill(0.0);
                        for (&i, dr) in batch.iter().zip(dl.chunks_exact(fo)) {
                            let (idx, val) = csr.row(i as usize);
                            for (&j, &x) in idx.iter().zip(val) {
                                for (gg, &dv) in g[j as usize * fo..(j as usize + 1) * fo].iter_mut().zip(dr) {
                                    *gg += x * dv;
                                }
                            }
                        }
                    }
                    Input::Dense { .. } => {
                        dense::gemm(Mat::new(&self.xb, bl, fi).t(), Mat::new(dl, bl, fo), 0.0, &mut self.gw[0])
                    }
                }
            }
        }
        loss
    }

    /// Adds `N(0, std²)` to every coordinate of the gradient sums: layer by layer, weights then
    /// biases.
    pub(crate) fn add_noise(&mut self, noise: &mut Gaussian, std: f64) {
        for (gw, gb) in self.gw.iter_mut().zip(self.gb.iter_mut()) {
            for g in gw.iter_mut().chain(gb.iter_mut()) {
                *g += (std * noise.sample()) as f32;
            }
        }
    }

    /// One optimiser step on `(g + penalty·w) / expected_batch` (biases unpenalised).
    pub(crate) fn step(&mut self, expected_batch: usize) {
        self.t = self.t.saturating_add(1);
        let inv_b = 1.0 / expected_batch as f32;
        match self.opt {
            Optimizer::Sgd { lr } => {
                for l in 0..self.net.n_layers() {
                    for (w, &g) in self.net.w[l].iter_mut().zip(&self.gw[l]) {
                        *w -= lr * ((g + self.penalty * *w) * inv_b);
                    }
                    for (b, &g) in self.net.b[l].iter_mut().zip(&self.gb[l]) {
                        *b -= lr * (g * inv_b);
                    }
                }
            }
            Optimizer::Adam { lr, beta1, beta2, eps } => {
                let lr_t = lr * (1.0 - beta2.powi(self.t)).sqrt() / (1.0 - beta1.powi(self.t));
                let sw = AdamStep {
                    lr_t: lr_t as f32,
                    beta1: beta1 as f32,
                    beta2: beta2 as f32,
                    eps,
                    alpha: self.penalty,
                    inv_b,
                };
                let sb = AdamStep { alpha: 0.0, ..sw };
                for l in 0..self.net.n_layers() {
                    dense::adam(self.isa, &mut self.net.w[l], &self.gw[l], &mut self.mw[l], &mut self.vw[l], &sw);
                    dense::adam(self.isa, &mut self.net.b[l], &self.gb[l], &mut self.mb[l], &mut self.vb[l], &sb);
                }
            }
        }
    }
}

fn sum_sq64(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
}

/// Runs a whole DP-SGD fit: `plan.epochs × plan.steps_per_epoch` steps of sampling, clipping,
/// noise and an optimiser step. Returns the trained network and the per-epoch mean log-loss of
/// the sampled rows (diagnostic, not privatised).
pub(crate) fn train(
    mut tr: DpTrainer<'_>,
    n: usize,
    plan: &DpPlan,
    sampling: Xoshiro256PlusPlus,
    noise: Xoshiro256PlusPlus,
) -> Result<(Net, Vec<f64>), ModelError> {
    let g = &plan.guarantee;
    let mut sampler = PoissonSampler::new(sampling, g.sample_rate, n);
    let mut noise = Gaussian::new(noise);
    let std = g.noise_multiplier * g.max_grad_norm;
    let mut batch = Vec::new();
    let mut curve = Vec::with_capacity(plan.epochs);
    for epoch in 0..plan.epochs {
        let (mut loss, mut count) = (0.0, 0usize);
        for _ in 0..plan.steps_per_epoch {
            sampler.next_batch(&mut batch);
            loss += tr.clipped_sum(&batch, g.max_grad_norm);
            count += batch.len();
            tr.add_noise(&mut noise, std);
            tr.step(plan.expected_batch);
        }
        let mean = loss / count.max(1) as f64;
        let finite = tr.net.w.iter().chain(&tr.net.b).all(|v| v.iter().all(|x| x.is_finite()));
        if !mean.is_finite() || !finite {
            return Err(ModelError::Data(format!(
                "DP training diverged (loss {mean} after {} epochs); lower the learning rate or scale the features",
                epoch + 1
            )));
        }
        curve.push(mean);
    }
    Ok((tr.net, curve))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logistic::{LogisticLearner, LogisticParams};
    use crate::mlp::{MlpLearner, MlpModel, MlpParams, SparseInput};
    use crate::sparse::Csr;
    use crate::{Learner, LearnerSpec, Model, TrainSet};
    use ndarray::Array2;

    /// `n × d` features (dense in [-1, 2], or 0/1 with 20 % ones) and labels of a linear rule.
    fn problem(n: usize, d: usize, k: usize, sparse: bool, seed: u64) -> (Array2<f32>, Vec<usize>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let x = Array2::from_shape_fn((n, d), |_| {
            let u = uniform(&mut rng);
            if sparse { if u < 0.2 { 1.0 } else { 0.0 } } else { (3.0 * u - 1.0) as f32 }
        });
        let y = (0..n)
            .map(|i| {
                let r = x.row(i);
                if k == 2 {
                    usize::from(r[0] - r[1] + 0.5 * r[2] > 0.25)
                } else {
                    let s = [r[0] - r[1], r[2] + r[3] - 1.0, 0.5 * r[4] - r[5] + 0.3];
                    (0..3).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap()
                }
            })
            .collect();
        (x, y)
    }

    /// Every weight's and bias's gradient of one example's log-loss, computed naively in f64
    /// (weights of each layer then its biases).
    fn naive_gradient(net: &Net, x: &[f32], y: usize) -> Vec<f64> {
        let nl = net.n_layers();
        let mut acts: Vec<Vec<f64>> = vec![x.iter().map(|&v| f64::from(v)).collect()];
        for l in 0..nl {
            let fo = net.sizes[l + 1];
            let mut z: Vec<f64> = net.b[l].iter().map(|&v| f64::from(v)).collect();
            for (i, &a) in acts[l].iter().enumerate() {
                for (o, zo) in z.iter_mut().enumerate() {
                    *zo += a * f64::from(net.w[l][i * fo + o]);
                }
            }
            if l + 1 < nl {
                z.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            acts.push(z);
        }
        let out = &acts[nl];
        let mut delta: Vec<f64> = if out.len() == 1 {
            vec![1.0 / (1.0 + (-out[0]).exp()) - y as f64]
        } else {
            let m = out.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = out.iter().map(|v| (v - m).exp()).sum();
            out.iter().enumerate().map(|(c, v)| (v - m).exp() / s - f64::from(u8::from(c == y))).collect()
        };
        let mut layers = vec![Vec::new(); nl];
        for l in (0..nl).rev() {
            let fo = net.sizes[l + 1];
            let mut g: Vec<f64> = acts[l].iter().flat_map(|&a| delta.iter().map(move |&d| a * d)).collect();
            g.extend_from_slice(&delta);
            layers[l] = g;
            if l > 0 {
                delta = (0..net.sizes[l])
                    .map(|i| {
                        let s: f64 = (0..fo).map(|o| f64::from(net.w[l][i * fo + o]) * delta[o]).sum();
                        if acts[l][i] > 0.0 { s } else { 0.0 }
                    })
                    .collect();
            }
        }
        layers.concat()
    }

    fn input<'a>(x: &'a Array2<f32>, rows: &'a [usize], sparse: bool) -> Input<'a> {
        if sparse {
            Input::Sparse(Csr::from_rows(x.view(), rows.iter().copied()))
        } else {
            Input::Dense { x: x.view(), rows }
        }
    }

    const ADAM: Optimizer = Optimizer::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

    #[test]
    fn ghost_norms_equal_materialised_per_example_gradient_norms() {
        for (sparse, k, hidden) in
            [(false, 3, vec![6, 4]), (true, 3, vec![5]), (true, 2, vec![7, 3]), (false, 2, vec![])]
        {
            let (x, y) = problem(20, 9, k, sparse, 1);
            let rows: Vec<usize> = (0..20).rev().collect();
            let sizes: Vec<usize> = std::iter::once(9).chain(hidden).chain([if k == 2 { 1 } else { k }]).collect();
            let net = Net::glorot(&sizes, &mut Xoshiro256PlusPlus::seed_from_u64(4));
            let yy: Vec<u32> = rows.iter().map(|&r| y[r] as u32).collect();
            let mut tr = DpTrainer::new(Isa::detect(), net.clone(), input(&x, &rows, sparse), yy, ADAM, 0.0);
            let batch: Vec<u32> = vec![0, 3, 4, 9, 13, 19];
            tr.clipped_sum(&batch, 1e30);
            for (b, &i) in batch.iter().enumerate() {
                let r = rows[i as usize];
                let g = naive_gradient(&net, x.row(r).as_slice().unwrap(), y[r]);
                let want: f64 = g.iter().map(|v| v * v).sum();
                let got = tr.sq_norms[b];
                assert!((got - want).abs() <= 1e-4 * want.max(1e-6), "sparse={sparse} k={k}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn tiny_clipping_norm_scales_every_example_to_it() {
        let (x, y) = problem(30, 8, 3, false, 2);
        let rows: Vec<usize> = (0..30).collect();
        let net = Net::glorot(&[8, 5, 3], &mut Xoshiro256PlusPlus::seed_from_u64(5));
        let yy: Vec<u32> = y.iter().map(|&c| c as u32).collect();
        let mut tr = DpTrainer::new(Isa::detect(), net.clone(), input(&x, &rows, false), yy, ADAM, 0.0);
        let clip = 1e-3;
        let batch: Vec<u32> = (0..30).step_by(3).collect();
        tr.clipped_sum(&batch, clip);
        for (&s, &c) in tr.sq_norms.iter().zip(&tr.scale) {
            assert!(s.sqrt() > clip && ((f64::from(c) * s.sqrt()) / clip - 1.0).abs() < 1e-5);
        }
        // A batch of one: the summed gradient is that example's clipped gradient, of norm C.
        for i in [0u32, 7, 29] {
            tr.clipped_sum(&[i], clip);
            let norm: f64 =
                tr.gw.iter().chain(&tr.gb).flatten().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt();
            assert!((norm / clip - 1.0).abs() < 1e-4, "example {i}: norm {norm}");
            let g = naive_gradient(&net, x.row(i as usize).as_slice().unwrap(), y[i as usize]);
            let n0: f64 = g.iter().map(|v| v * v).sum::<f64>().sqrt();
            // Same direction as the unclipped gradient (first layer's first weight).
            assert!((f64::from(tr.gw[0][0]) - g[0] * clip / n0).abs() < 1e-6);
        }
        // An empty batch gives a zero sum.
        assert_eq!(tr.clipped_sum(&[], clip), 0.0);
        assert!(tr.gw.iter().chain(&tr.gb).flatten().all(|&v| v == 0.0));
    }

    #[test]
    fn poisson_batches_have_the_expected_mean_size_and_repeat_for_a_seed() {
        let (n, q, steps) = (1000usize, 0.05, 2000usize);
        let (_, s1, _) = streams(9);
        let (_, s2, _) = streams(9);
        let (mut a, mut b) = (PoissonSampler::new(s1, q, n), PoissonSampler::new(s2, q, n));
        let (mut ba, mut bb) = (Vec::new(), Vec::new());
        let (mut total, mut sizes) = (0usize, std::collections::BTreeSet::new());
        for _ in 0..steps {
            a.next_batch(&mut ba);
            b.next_batch(&mut bb);
            assert_eq!(ba, bb);
            assert!(ba.windows(2).all(|w| w[0] < w[1]) && ba.iter().all(|&i| (i as usize) < n));
            total += ba.len();
            sizes.insert(ba.len());
        }
        let mean = total as f64 / steps as f64;
        let se = (n as f64 * q * (1.0 - q) / steps as f64).sqrt();
        assert!((mean - q * n as f64).abs() < 4.0 * se, "mean batch {mean}, expected {}", q * n as f64);
        assert!(sizes.len() > 10, "batch sizes do not vary: {sizes:?}");
        let (_, s3, _) = streams(10);
        let mut c = PoissonSampler::new(s3, q, n);
        let mut bc = Vec::new();
        c.next_batch(&mut bc);
        let (_, s1, _) = streams(9);
        PoissonSampler::new(s1, q, n).next_batch(&mut ba);
        assert_ne!(ba, bc);
        // q = 1: the whole set every step.
        let (_, s, _) = streams(0);
        PoissonSampler::new(s, 1.0, 5).next_batch(&mut ba);
        assert_eq!(ba, vec![0, 1, 2, 3, 4]);
        // The noise stream: standard normal moments.
        let (_, _, nz) = streams(3);
        let mut g = Gaussian::new(nz);
        let v: Vec<f64> = (0..100_000).map(|_| g.sample()).collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64;
        assert!(m.abs() < 0.02 && (var - 1.0).abs() < 0.02, "mean {m}, variance {var}");
    }

    fn mlp_dp(dp: DpSgd, hidden: Vec<usize>, batch: usize, epochs: usize) -> MlpParams {
        MlpParams {
            hidden_layer_sizes: hidden,
            batch_size: Some(batch),
            max_iter: epochs,
            learning_rate_init: 0.01,
            dp: Some(dp),
            ..MlpParams::default()
        }
    }

    fn accuracy(logits: &Array2<f64>, y: &[usize]) -> f64 {
        let hits = (0..y.len())
            .filter(|&i| {
                let r = logits.row(i);
                (0..r.len()).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap() == y[i]
            })
            .count();
        hits as f64 / y.len() as f64
    }

    #[test]
    fn dp_fits_are_deterministic_for_a_seed_and_differ_across_seeds() {
        let (x, y) = problem(200, 12, 3, true, 3);
        let rows: Vec<usize> = (0..200).filter(|i| i % 4 != 0).collect();
        let data = TrainSet { x: x.view(), y: &y, n_classes: 3, rows: &rows };
        let dp = DpSgd { noise_multiplier: Some(1.0), ..DpSgd::default() };
        let bits = |m: &dyn Model| match m.outputs(x.view()).unwrap() {
            crate::ModelOutputs::Logits(l) => l.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            _ => unreachable!(),
        };
        for sparse_input in [SparseInput::Always, SparseInput::Never] {
            let p = MlpParams { sparse_input, ..mlp_dp(dp.clone(), vec![8], 32, 3) };
            let l = MlpLearner::new(p).unwrap();
            let (a, b, c) = (l.fit(&data, 1).unwrap(), l.fit(&data, 1).unwrap(), l.fit(&data, 2).unwrap());
            assert_eq!(bits(&*a), bits(&*b));
            assert_ne!(bits(&*a), bits(&*c));
            assert_eq!(a.dp(), b.dp());
        }
        let lp = LogisticParams {
            dp: Some(DpSgd { batch_size: Some(40), epochs: Some(3), ..dp }),
            ..LogisticParams::default()
        };
        let l = LogisticLearner::new(lp).unwrap();
        let (a, b, c) = (l.fit(&data, 1).unwrap(), l.fit(&data, 1).unwrap(), l.fit(&data, 2).unwrap());
        assert_eq!(bits(&*a), bits(&*b));
        assert_ne!(bits(&*a), bits(&*c));
        let g = a.dp().unwrap();
        assert_eq!((g.steps, g.sample_rate, g.noise_multiplier), (3 * 4, 40.0 / 150.0, 1.0));
        // Non-DP fits report no guarantee.
        let plain = MlpLearner::new(MlpParams { max_iter: 2, ..MlpParams::default() }).unwrap();
        assert!(plain.fit(&data, 1).unwrap().dp().is_none());
        assert!(LogisticLearner::new(LogisticParams::default()).unwrap().fit(&data, 1).unwrap().dp().is_none());
    }

    #[test]
    fn epsilon_target_is_met_by_the_calibrated_noise() {
        let (x, y) = problem(300, 6, 2, false, 4);
        let rows: Vec<usize> = (0..300).collect();
        let data = TrainSet { x: x.view(), y: &y, n_classes: 2, rows: &rows };
        let dp = DpSgd { epsilon: Some(1.0), ..DpSgd::default() };
        let m = MlpLearner::new(mlp_dp(dp, vec![4], 50, 4)).unwrap().fit_mlp(&data, 0).unwrap();
        let g = *m.dp().unwrap();
        assert_eq!(
            (g.sample_rate, g.steps, g.delta, g.max_grad_norm, g.accountant),
            (50.0 / 300.0, 24, 1e-5, 1.0, "rdp")
        );
        assert!(g.epsilon <= 1.0, "reported epsilon {}", g.epsilon);
        let orders = &mia_dp::DP_ACCOUNTING_ORDERS;
        let eps_at = |s: f64| {
            mia_dp::epsilon(&mia_dp::SampledGaussian::new(g.sample_rate, s, g.steps).unwrap(), 1e-5, orders)
                .unwrap()
                .epsilon
        };
        assert_eq!(eps_at(g.noise_multiplier), g.epsilon);
        // The smallest such σ: a little less noise overshoots the target.
        assert!(eps_at(g.noise_multiplier * 0.999) > 1.0);
        let want = mia_dp::noise_multiplier_for(1.0, g.sample_rate, g.steps, 1e-5, orders).unwrap();
        assert_eq!(g.noise_multiplier, want);
    }

    #[test]
    fn dp_mlp_learns_at_epsilon_8_and_not_under_huge_noise() {
        let (x, y) = problem(400, 6, 2, false, 5);
        let rows: Vec<usize> = (0..400).collect();
        let data = TrainSet { x: x.view(), y: &y, n_classes: 2, rows: &rows };
        let fit = |dp: DpSgd| -> MlpModel {
            MlpLearner::new(mlp_dp(dp, vec![16], 32, 10)).unwrap().fit_mlp(&data, 3).unwrap()
        };
        let ones = y.iter().filter(|&&c| c == 1).count() as f64 / y.len() as f64;
        let majority = ones.max(1.0 - ones);
        let private = fit(DpSgd { epsilon: Some(8.0), ..DpSgd::default() });
        let acc = accuracy(&private.logits(x.view()), &y);
        assert!(private.dp().unwrap().epsilon <= 8.0);
        assert!(acc > 0.85 && acc > majority + 0.2, "accuracy at epsilon 8: {acc} (majority {majority})");
        let noisy = fit(DpSgd { noise_multiplier: Some(50.0), ..DpSgd::default() });
        let acc = accuracy(&noisy.logits(x.view()), &y);
        assert!(acc < majority + 0.15, "accuracy at noise_multiplier 50: {acc} (majority {majority})");
    }

    #[test]
    fn dp_logistic_learns_a_separable_problem() {
        let (x, y) = problem(400, 6, 3, false, 6);
        let rows: Vec<usize> = (0..400).collect();
        let data = TrainSet { x: x.view(), y: &y, n_classes: 3, rows: &rows };
        let dp = DpSgd {
            epsilon: Some(8.0),
            batch_size: Some(64),
            epochs: Some(30),
            learning_rate: Some(0.5),
            ..DpSgd::default()
        };
        let m = LogisticLearner::new(LogisticParams { dp: Some(dp), ..LogisticParams::default() })
            .unwrap()
            .fit_logistic_seeded(&data, 1)
            .unwrap();
        let acc = accuracy(&m.logits(x.view()), &y);
        assert!(acc > 0.75, "accuracy {acc}");
        assert_eq!(m.n_iter(), 30 * 7);
    }

    fn spec_error(toml_text: &str) -> String {
        let spec: LearnerSpec = toml::from_str(toml_text).unwrap();
        let e = spec.learner().err().expect("an error").to_string();
        assert!(!e.contains('\n'), "{e}");
        e
    }

    #[test]
    fn config_errors_name_the_key() {
        let e = spec_error("kind = \"gbt\"\n[dp]\nepsilon = 1.0\n");
        assert_eq!(
            e,
            "learner parameter dp: differential privacy is supported for the logistic and mlp learners, not gbt"
        );
        for kind in ["mlp", "logistic"] {
            let both = spec_error(&format!("kind = \"{kind}\"\n[dp]\nepsilon = 1.0\nnoise_multiplier = 1.1\n"));
            assert!(
                both.contains("dp.epsilon") && both.contains("dp.noise_multiplier") && both.contains("not both"),
                "{both}"
            );
            let neither = spec_error(&format!("kind = \"{kind}\"\n[dp]\ndelta = 1e-6\n"));
            assert!(neither.contains("dp.epsilon") && neither.contains("dp.noise_multiplier"), "{neither}");
            for (table, key) in [
                ("epsilon = 0.0", "dp.epsilon"),
                ("epsilon = -1.0", "dp.epsilon"),
                ("noise_multiplier = 0.0", "dp.noise_multiplier"),
                ("epsilon = 1.0\ndelta = 1.0", "dp.delta"),
                ("epsilon = 1.0\ndelta = 0.0", "dp.delta"),
                ("epsilon = 1.0\nmax_grad_norm = 0.0", "dp.max_grad_norm"),
            ] {
                let e = spec_error(&format!("kind = \"{kind}\"\n[dp]\n{table}\n"));
                assert!(e.starts_with(&format!("learner parameter {key}:")), "{e}");
            }
            assert!(
                toml::from_str::<LearnerSpec>(&format!("kind = \"{kind}\"\n[dp]\nepsilon = 1.0\nclip = 1.0\n"))
                    .is_err()
            );
        }
        let e = spec_error("kind = \"mlp\"\n[dp]\nepsilon = 1.0\nepochs = 5\n");
        assert!(e.starts_with("learner parameter dp.epochs:") && e.contains("max_iter"), "{e}");
        let e = spec_error("kind = \"logistic\"\n[dp]\nepsilon = 1.0\nlearning_rate = 0.0\n");
        assert!(e.starts_with("learner parameter dp.learning_rate:"), "{e}");
        // A table parses with its defaults; the target is calibrated at fit time, against q and T.
        let spec: LearnerSpec = toml::from_str("kind = \"logistic\"\n[dp]\nepsilon = 1e9\n").unwrap();
        let LearnerSpec::Logistic(p) = &spec else { unreachable!() };
        assert_eq!(p.dp, Some(DpSgd { epsilon: Some(1e9), ..DpSgd::default() }));
        let (x, y) = problem(50, 3, 2, false, 7);
        let rows: Vec<usize> = (0..50).collect();
        let data = TrainSet { x: x.view(), y: &y, n_classes: 2, rows: &rows };
        let r = spec.learner().unwrap().fit(&data, 0);
        let e = match r {
            Err(e) => e.to_string(),
            Ok(m) => panic!("{:?}", m.dp()),
        };
        // (mia_dp refuses a target met even at its smallest noise multiplier.)
        assert!(e.starts_with("learner parameter dp.epsilon: target_epsilon = 1000000000"), "{e}");
        // Serialising a spec without dp writes no dp key.
        let plain: LearnerSpec = toml::from_str("kind = \"mlp\"\n").unwrap();
        assert!(!serde_json::to_string(&plain).unwrap().contains("dp"));
    }
}
