//! Dense f32 kernels shared by the built-in learners: GEMM, the fused Adam update, and the
//! instruction-set dispatch used by every hand-written hot loop of this crate.
//!
//! GEMM is `matrixmultiply`'s `sgemm` reached through ndarray's `general_mat_mul` (ndarray always
//! links it; without the `matrixmultiply-threading` feature it runs on the calling thread, which is
//! what the single-threaded learners need). The other loops are plain Rust written so that LLVM
//! vectorises them: fixed-size chunks, no float reductions across a loop. Each is compiled twice,
//! once for the x86-64 baseline and once with AVX2 + FMA enabled (`#[target_feature]`), and
//! [`Isa::detect`] picks one at run time. (An AVX-512 build was tried: LLVM keeps 256-bit vectors
//! for this code and it measured no faster.) The FMA build rounds `a * b + c` once, the baseline
//! twice, so the two differ in the last bits; on one machine the choice never changes, so a fit
//! stays bit-for-bit reproducible there (as does matrixmultiply, which dispatches the same way).

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

/// The instruction set the hand-written kernels run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// Whatever the compile target guarantees (SSE2 on x86-64).
    Baseline,
    /// AVX2 with fused multiply-add, checked at run time.
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
}

impl Isa {
    /// The best instruction set this CPU supports, unless the environment variable
    /// `MIA_MODELS_ISA=baseline` asks for the baseline kernels (for benchmarks, and to take the
    /// same path on CPUs with and without AVX2). Decided once per process.
    pub(crate) fn detect() -> Isa {
        static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *ISA.get_or_init(|| {
            let cap = std::env::var("MIA_MODELS_ISA").unwrap_or_default();
            Isa::supported(cap.trim())
        })
    }

    fn supported(cap: &str) -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
            if avx2 && cap != "baseline" {
                return Isa::Avx2Fma;
            }
        }
        let _ = cap;
        Isa::Baseline
    }
}

/// `a * b + c`, fused or not: lets one kernel body serve both builds.
pub(crate) trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

/// Two roundings (`a * b`, then `+ c`): the baseline build.
pub(crate) struct Plain;
/// One rounding (`fma`): only used where the `fma` target feature is enabled, where it is a
/// single instruction rather than a libm call.
pub(crate) struct Fused;

impl MulAdd for Plain {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

/// A row-major matrix operand of [`gemm`], optionally used transposed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mat<'a> {
    data: &'a [f32],
    /// Rows and columns as stored (row-major).
    rows: usize,
    cols: usize,
    trans: bool,
}

impl<'a> Mat<'a> {
    /// `rows × cols` stored row-major in the first `rows * cols` values of `data`.
    pub(crate) fn new(data: &'a [f32], rows: usize, cols: usize) -> Mat<'a> {
        Mat { data, rows, cols, trans: false }
    }

    /// The transpose of this operand (no copy).
    pub(crate) fn t(self) -> Mat<'a> {
        Mat { trans: !self.trans, ..self }
    }

    fn view(&self) -> ArrayView2<'a, f32> {
        let v = ArrayView2::from_shape((self.rows, self.cols), &self.data[..self.rows * self.cols])
            .expect("gemm operand: slice holds rows * cols values");
        if self.trans { v.reversed_axes() } else { v }
    }
}

/// `C ← A·B + beta·C` for row-major `C` (m × n, the first m·n values of `c`), single-threaded.
pub(crate) fn gemm(a: Mat<'_>, b: Mat<'_>, beta: f32, c: &mut [f32]) {
    let (av, bv) = (a.view(), b.view());
    let (m, n) = (av.nrows(), bv.ncols());
    let mut cv = ArrayViewMut2::from_shape((m, n), &mut c[..m * n]).expect("gemm output: slice holds m * n values");
    general_mat_mul(1.0, &av, &bv, beta, &mut cv);
}

/// One Adam step's constants (Kingma & Ba 2015, Algorithm 1, with scikit-learn's folding of the
/// bias corrections into the step size) and the gradient scaling scikit-learn's MLP applies:
/// the gradient used is `(g + alpha·w) / batch` for weights and `g / batch` for biases.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdamStep {
    /// `learning_rate_init · sqrt(1 − β2^t) / (1 − β1^t)`.
    pub lr_t: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// L2 strength (0 for biases).
    pub alpha: f32,
    /// 1 / batch size.
    pub inv_b: f32,
}

/// Adam update of one parameter from its raw gradient sum `graw`; returns the new value.
#[inline(always)]
pub(crate) fn adam_one<F: MulAdd>(w: &mut f32, m: &mut f32, v: &mut f32, graw: f32, s: &AdamStep) -> f32 {
    let g = F::mul_add(s.alpha, *w, graw) * s.inv_b;
    let mm = F::mul_add(s.beta1, *m, (1.0 - s.beta1) * g);
    let vv = F::mul_add(s.beta2, *v, (1.0 - s.beta2) * (g * g));
    *m = mm;
    *v = vv;
    let nw = *w - s.lr_t * mm / (vv.sqrt() + s.eps);
    *w = nw;
    nw
}

#[inline(always)]
fn adam_impl<F: MulAdd>(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &AdamStep) -> f64 {
    let mut ss = [0f32; 8];
    // Blocks of 256 so the squares are summed while the block is in L1.
    for (((wc, mc), vc), gc) in w.chunks_mut(256).zip(m.chunks_mut(256)).zip(v.chunks_mut(256)).zip(g.chunks(256)) {
        for (((wi, mi), vi), &gi) in wc.iter_mut().zip(mc.iter_mut()).zip(vc.iter_mut()).zip(gc) {
            adam_one::<F>(wi, mi, vi, gi, s);
        }
        sum_sq_lanes::<F>(wc, &mut ss);
    }
    ss.iter().map(|&a| f64::from(a)).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn adam_avx2(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &AdamStep) -> f64 {
    adam_impl::<Fused>(w, g, m, v, s)
}

/// Adam update of `w` (with moments `m`, `v`) from raw gradient sums `g`; all four the same
/// length. Returns Σ w² of the updated values (for the next batch's L2 term).
pub(crate) fn adam(isa: Isa, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &AdamStep) -> f64 {
    debug_assert!(g.len() == w.len() && m.len() == w.len() && v.len() == w.len());
    match isa {
        // SAFETY: `Isa::detect` checked these features before producing the variant.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { adam_avx2(w, g, m, v, s) },
        Isa::Baseline => adam_impl::<Plain>(w, g, m, v, s),
    }
}

/// Adds the squares of `x` into 8 f32 lanes (lane `i % 8` gets `x[i]²`).
#[inline(always)]
pub(crate) fn sum_sq_lanes<F: MulAdd>(x: &[f32], ss: &mut [f32; 8]) {
    // Four independent 8-lane partial sums, so the fused multiply-adds of one call do not
    // wait on each other (a single accumulator made this a latency chain in the Adam loops).
    let mut acc = [[0f32; 8]; 4];
    let mut it = x.chunks_exact(32);
    for c in &mut it {
        for (q, a) in acc.iter_mut().enumerate() {
            for t in 0..8 {
                a[t] = F::mul_add(c[8 * q + t], c[8 * q + t], a[t]);
            }
        }
    }
    for (i, &v) in it.remainder().iter().enumerate() {
        acc[i / 8][i % 8] = F::mul_add(v, v, acc[i / 8][i % 8]);
    }
    for t in 0..8 {
        ss[t] += (acc[0][t] + acc[1][t]) + (acc[2][t] + acc[3][t]);
    }
}

/// Σ x² in f64 (used once per fit, for the initial L2 term).
pub(crate) fn sum_sq(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
}

/// Each of the `rows` rows of `out` (width `bias.len()`) set to `bias`.
pub(crate) fn fill_rows(out: &mut [f32], bias: &[f32], rows: usize) {
    for row in out[..rows * bias.len()].chunks_exact_mut(bias.len()) {
        row.copy_from_slice(bias);
    }
}

/// ReLU in place.
pub(crate) fn relu(x: &mut [f32]) {
    for v in x {
        *v = v.max(0.0);
    }
}

/// `delta[i] = 0` where the ReLU output `act[i]` is 0 (its derivative there), as scikit-learn.
pub(crate) fn relu_mask(delta: &mut [f32], act: &[f32]) {
    for (d, &a) in delta.iter_mut().zip(act) {
        // A select, not a branch, so it vectorises.
        *d = if a > 0.0 { *d } else { 0.0 };
    }
}

/// `out = Σ_rows x[row, :]` for a row-major `x` of width `out.len()`.
pub(crate) fn col_sums(x: &[f32], rows: usize, out: &mut [f32]) {
    out.fill(0.0);
    let w = out.len();
    for row in x[..rows * w].chunks_exact(w) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_matches_naive_in_all_transpositions() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let mut want = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                want[i * n + j] = 1.0 + (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum::<f32>();
            }
        }
        for (aa, bb) in [
            (Mat::new(&a, m, k), Mat::new(&b, k, n)),
            (Mat::new(&at, k, m).t(), Mat::new(&b, k, n)),
            (Mat::new(&a, m, k), Mat::new(&bt, n, k).t()),
            (Mat::new(&at, k, m).t(), Mat::new(&bt, n, k).t()),
        ] {
            let mut c = vec![1f32; m * n];
            gemm(aa, bb, 1.0, &mut c);
            for (x, y) in c.iter().zip(&want) {
                assert!((x - y).abs() < 1e-5, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn adam_dispatch_agrees_with_baseline() {
        let s = AdamStep { lr_t: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, alpha: 1e-4, inv_b: 1.0 / 32.0 };
        let n = 37;
        let g: Vec<f32> = (0..n).map(|i| (i as f32).sin()).collect();
        let init: Vec<f32> = (0..n).map(|i| (i as f32 * 0.3).cos()).collect();
        let run = |isa| {
            let (mut w, mut m, mut v) = (init.clone(), vec![0.1f32; n], vec![0.2f32; n]);
            let ss = adam(isa, &mut w, &g, &mut m, &mut v, &s);
            (w, ss)
        };
        let (wb, sb) = run(Isa::Baseline);
        let (wd, sd) = run(Isa::detect());
        assert!((sb - sd).abs() < 1e-5);
        assert!((sb - sum_sq(&wb)).abs() < 1e-5);
        for (x, y) in wb.iter().zip(&wd) {
            assert!((x - y).abs() < 1e-6);
        }
        // One element by hand.
        let (w0, m0, v0) = (init[3], 0.1f32, 0.2f32);
        let gg = (g[3] + 1e-4 * w0) / 32.0;
        let (m1, v1) = (0.9 * m0 + 0.1 * gg, 0.999 * v0 + 0.001 * gg * gg);
        assert!((wb[3] - (w0 - 1e-3 * m1 / (v1.sqrt() + 1e-8))).abs() < 1e-6);
    }
}
