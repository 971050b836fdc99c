//! Sparse inputs: a compressed-sparse-row copy of the training rows and the kernels that use it.
//!
//! Many tabular sets are mostly zeros once encoded (binary indicators such as Location-30's
//! check-in features, one-hot categories such as Adult's), so the first layer of a model is
//! cheaper computed from the non-zeros only: `nnz · H` multiply-adds instead of `D · H`. Only the
//! first layer ever sees the input, and no gradient with respect to the input is needed, so two
//! kernels cover training: the forward product `X_batch · W + b` ([`affine`]) and the weight
//! gradient `X_batchᵀ · Δ` ([`grad_adam`]), computed column by column from a per-batch transpose
//! ([`CscBatch`]) so each row of the gradient is summed in registers and handed straight to the
//! Adam update, without writing a dense gradient matrix. The same layout serves the f64 products
//! of the logistic-regression objective ([`Csr::matmul_f64`], [`Csr::t_matmul_f64`]).
//!
//! Summation orders are fixed (row order within a batch, stored column order within a row), so
//! results are deterministic; they differ from the dense path's GEMM in the last bits only.

use crate::dense::{AdamStep, Isa, MulAdd, Plain, adam_one};
use ndarray::ArrayView2;

/// Above this fraction of non-zero values the learners use the dense path (`auto` mode): the
/// sparse kernels do about three times less useful work per multiply-add than GEMM.
pub(crate) const AUTO_MAX_DENSITY: f64 = 0.3;

/// Fraction of non-zero values among the given rows of `x` (0 for no rows or no columns).
pub(crate) fn density(x: ArrayView2<'_, f32>, rows: impl Iterator<Item = usize>) -> f64 {
    let (mut nnz, mut total) = (0usize, 0usize);
    for r in rows {
        let row = x.row(r);
        nnz += row.iter().filter(|v| **v != 0.0).count();
        total += row.len();
    }
    if total == 0 { 0.0 } else { nnz as f64 / total as f64 }
}

/// Compressed sparse rows (f32 values, u32 column indices).
#[derive(Debug, Clone, Default)]
pub(crate) struct Csr {
    pub(crate) n_cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl Csr {
    /// The given rows of `x`, in the given order (row `i` of the result is `x[rows[i]]`).
    /// `x` must have fewer than 2³² columns.
    pub(crate) fn from_rows(x: ArrayView2<'_, f32>, rows: impl Iterator<Item = usize>) -> Csr {
        let mut csr = Csr { n_cols: x.ncols(), indptr: vec![0], ..Csr::default() };
        csr.fill_from_rows(x, rows);
        csr
    }

    /// Reuses this matrix's storage for the given rows of `x`.
    pub(crate) fn fill_from_rows(&mut self, x: ArrayView2<'_, f32>, rows: impl Iterator<Item = usize>) {
        self.n_cols = x.ncols();
        self.indptr.clear();
        self.indptr.push(0);
        self.indices.clear();
        self.values.clear();
        for r in rows {
            for (c, &v) in x.row(r).iter().enumerate() {
                if v != 0.0 {
                    self.indices.push(c as u32);
                    self.values.push(v);
                }
            }
            self.indptr.push(self.indices.len());
        }
    }

    pub(crate) fn n_rows(&self) -> usize {
        self.indptr.len() - 1
    }

    /// Column indices and values of row `i`.
    #[inline]
    pub(crate) fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// `out (n × k) = self (n × d) · w (d × k)`, all row-major, f64.
    pub(crate) fn matmul_f64(&self, w: &[f64], k: usize, out: &mut [f64]) {
        for (i, o) in out[..self.n_rows() * k].chunks_exact_mut(k).enumerate() {
            o.fill(0.0);
            let (idx, val) = self.row(i);
            for (&j, &x) in idx.iter().zip(val) {
                let x = f64::from(x);
                for (oo, &ww) in o.iter_mut().zip(&w[j as usize * k..(j as usize + 1) * k]) {
                    *oo += x * ww;
                }
            }
        }
    }

    /// `out (d × k) = selfᵀ · g (n × k)`, all row-major, f64.
    pub(crate) fn t_matmul_f64(&self, g: &[f64], k: usize, out: &mut [f64]) {
        out[..self.n_cols * k].fill(0.0);
        for (i, gi) in g[..self.n_rows() * k].chunks_exact(k).enumerate() {
            let (idx, val) = self.row(i);
            for (&j, &x) in idx.iter().zip(val) {
                let x = f64::from(x);
                for (oo, &gg) in out[j as usize * k..(j as usize + 1) * k].iter_mut().zip(gi) {
                    *oo += x * gg;
                }
            }
        }
    }
}

/// The transpose of one batch of CSR rows (compressed sparse columns), rebuilt per batch into
/// reused buffers: column `j` lists the batch positions whose row has a non-zero in column `j`.
#[derive(Debug, Clone, Default)]
pub(crate) struct CscBatch {
    col_ptr: Vec<u32>,
    next: Vec<u32>,
    rows: Vec<u32>,
    vals: Vec<f32>,
}

impl CscBatch {
    /// Transposes rows `batch` (indices into `csr`); batch position `b` is row `batch[b]`.
    pub(crate) fn fill(&mut self, csr: &Csr, batch: &[u32]) {
        let d = csr.n_cols;
        self.col_ptr.clear();
        self.col_ptr.resize(d + 1, 0);
        for &i in batch {
            for &j in csr.row(i as usize).0 {
                self.col_ptr[j as usize + 1] += 1;
            }
        }
        for j in 0..d {
            self.col_ptr[j + 1] += self.col_ptr[j];
        }
        let nnz = self.col_ptr[d] as usize;
        self.next.clear();
        self.next.extend_from_slice(&self.col_ptr[..d]);
        self.rows.resize(nnz, 0);
        self.vals.resize(nnz, 0.0);
        for (b, &i) in batch.iter().enumerate() {
            let (idx, val) = csr.row(i as usize);
            for (&j, &x) in idx.iter().zip(val) {
                let p = self.next[j as usize] as usize;
                self.rows[p] = b as u32;
                self.vals[p] = x;
                self.next[j as usize] += 1;
            }
        }
    }

    fn n_cols(&self) -> usize {
        self.col_ptr.len().saturating_sub(1)
    }

    #[inline]
    fn col(&self, j: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.col_ptr[j] as usize, self.col_ptr[j + 1] as usize);
        (&self.rows[a..b], &self.vals[a..b])
    }
}

/// Runs `$f::<F, CH>(c, ...)` over the columns `0..$h` in chunks of 64, then 8, then 1, so the
/// accumulators of each chunk are a fixed-size array LLVM keeps in vector registers.
macro_rules! chunked {
    ($h:expr, $f:ident::<$F:ty>($($arg:expr),*)) => {{
        let h = $h;
        let mut c = 0;
        while c + 64 <= h {
            $f::<$F, 64>(c, $($arg),*);
            c += 64;
        }
        while c + 8 <= h {
            $f::<$F, 8>(c, $($arg),*);
            c += 8;
        }
        while c < h {
            $f::<$F, 1>(c, $($arg),*);
            c += 1;
        }
    }};
}

#[inline(always)]
fn affine_chunk<F: MulAdd, const CH: usize>(
    c: usize,
    idx: &[u32],
    val: &[f32],
    w: &[f32],
    h: usize,
    bias: &[f32],
    out: &mut [f32],
) {
    let mut acc = [0f32; CH];
    acc.copy_from_slice(&bias[c..c + CH]);
    for (&j, &x) in idx.iter().zip(val) {
        let wr = &w[j as usize * h + c..][..CH];
        for k in 0..CH {
            acc[k] = F::mul_add(x, wr[k], acc[k]);
        }
    }
    out[c..c + CH].copy_from_slice(&acc);
}

#[inline(always)]
fn affine_impl<F: MulAdd>(csr: &Csr, batch: &[u32], w: &[f32], bias: &[f32], out: &mut [f32]) {
    let h = bias.len();
    for (o, &i) in out[..batch.len() * h].chunks_exact_mut(h).zip(batch) {
        let (idx, val) = csr.row(i as usize);
        chunked!(h, affine_chunk::<F>(idx, val, w, h, bias, o));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn affine_avx2(csr: &Csr, batch: &[u32], w: &[f32], bias: &[f32], out: &mut [f32]) {
    affine_impl::<crate::dense::Fused>(csr, batch, w, bias, out)
}

/// `out[b, :] = bias + Σ_j csr[batch[b], j] · w[j, :]` for each batch position `b`; `w` is
/// `csr.n_cols × h` row-major with `h = bias.len()`, `out` is `batch.len() × h`.
pub(crate) fn affine(isa: Isa, csr: &Csr, batch: &[u32], w: &[f32], bias: &[f32], out: &mut [f32]) {
    assert!(w.len() >= csr.n_cols * bias.len() && out.len() >= batch.len() * bias.len());
    match isa {
        // SAFETY: `Isa::detect` checked these features before producing the variant.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { affine_avx2(csr, batch, w, bias, out) },
        Isa::Baseline => affine_impl::<Plain>(csr, batch, w, bias, out),
    }
}

/// The first layer's parameters and Adam moments, all `d × h` row-major.
pub(crate) struct AdamParams<'a> {
    pub w: &'a mut [f32],
    pub m: &'a mut [f32],
    pub v: &'a mut [f32],
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn grad_chunk<F: MulAdd, const CH: usize>(
    c: usize,
    rows: &[u32],
    vals: &[f32],
    delta: &[f32],
    h: usize,
    w: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    s: &AdamStep,
    ss: &mut [f32; 8],
) {
    let mut acc = [0f32; CH];
    for (&b, &x) in rows.iter().zip(vals) {
        let d = &delta[b as usize * h + c..][..CH];
        for k in 0..CH {
            acc[k] = F::mul_add(x, d[k], acc[k]);
        }
    }
    let (w, m, v) = (&mut w[c..c + CH], &mut m[c..c + CH], &mut v[c..c + CH]);
    // A plain element-wise loop (no reduction), which LLVM's loop vectoriser handles; the
    // squares are summed in a second pass over the (cache-hot) chunk.
    for (((wi, mi), vi), &gi) in w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(acc.iter()) {
        adam_one::<F>(wi, mi, vi, gi, s);
    }
    crate::dense::sum_sq_lanes::<F>(w, ss);
}

#[inline(always)]
fn grad_adam_impl<F: MulAdd>(csc: &CscBatch, delta: &[f32], h: usize, p: AdamParams<'_>, s: &AdamStep) -> f64 {
    let mut ss = [0f32; 8];
    let rows = p.w.chunks_exact_mut(h).zip(p.m.chunks_exact_mut(h)).zip(p.v.chunks_exact_mut(h));
    for (j, ((w, m), v)) in rows.enumerate().take(csc.n_cols()) {
        let (r, x) = csc.col(j);
        chunked!(h, grad_chunk::<F>(r, x, delta, h, w, m, v, s, &mut ss));
    }
    ss.iter().map(|&v| f64::from(v)).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn grad_adam_avx2(csc: &CscBatch, delta: &[f32], h: usize, p: AdamParams<'_>, s: &AdamStep) -> f64 {
    grad_adam_impl::<crate::dense::Fused>(csc, delta, h, p, s)
}

/// Adam step of a sparse-input layer: the raw weight gradient `Xᵀ · delta` (`delta` is
/// `batch × h`) is formed one row `j` at a time from column `j` of the batch transpose and fed
/// straight to the update of row `j`. Returns Σ w² of the updated weights.
pub(crate) fn grad_adam(isa: Isa, csc: &CscBatch, delta: &[f32], h: usize, p: AdamParams<'_>, s: &AdamStep) -> f64 {
    let n = csc.n_cols() * h;
    assert!(p.w.len() == n && p.m.len() == n && p.v.len() == n);
    match isa {
        // SAFETY: `Isa::detect` checked these features before producing the variant.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { grad_adam_avx2(csc, delta, h, p, s) },
        Isa::Baseline => grad_adam_impl::<Plain>(csc, delta, h, p, s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dense::{Mat, adam, gemm};
    use ndarray::Array2;

    fn sample(n: usize, d: usize) -> Array2<f32> {
        Array2::from_shape_fn((n, d), |(i, j)| {
            let u = ((i * 7919 + j * 104729) % 1000) as f32 / 1000.0;
            if u < 0.2 { u * 5.0 - 0.5 } else { 0.0 }
        })
    }

    #[test]
    fn affine_and_grad_match_dense_products() {
        let (n, d) = (23, 19);
        let x = sample(n, d);
        let csr = Csr::from_rows(x.view(), 0..n);
        let batch: Vec<u32> = vec![5, 0, 22, 7, 7, 13];
        let xb: Vec<f32> = batch.iter().flat_map(|&i| x.row(i as usize).to_vec()).collect();
        for h in [1usize, 9, 70, 130] {
            let w: Vec<f32> = (0..d * h).map(|i| ((i * 31) % 17) as f32 / 17.0 - 0.5).collect();
            let bias: Vec<f32> = (0..h).map(|i| i as f32 * 0.01).collect();
            let mut want = vec![0f32; batch.len() * h];
            crate::dense::fill_rows(&mut want, &bias, batch.len());
            gemm(Mat::new(&xb, batch.len(), d), Mat::new(&w, d, h), 1.0, &mut want);
            for isa in [Isa::Baseline, Isa::detect()] {
                let mut got = vec![0f32; batch.len() * h];
                affine(isa, &csr, &batch, &w, &bias, &mut got);
                for (a, b) in got.iter().zip(&want) {
                    assert!((a - b).abs() < 1e-5, "h={h}: {a} vs {b}");
                }
            }
            // Gradient + Adam versus dense gradient then Adam.
            let delta: Vec<f32> = (0..batch.len() * h).map(|i| ((i * 13) % 11) as f32 / 11.0 - 0.4).collect();
            let mut g = vec![0f32; d * h];
            gemm(Mat::new(&xb, batch.len(), d).t(), Mat::new(&delta, batch.len(), h), 0.0, &mut g);
            let s = AdamStep { lr_t: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, alpha: 0.1, inv_b: 1.0 / 6.0 };
            let (mut w1, mut m1, mut v1) = (w.clone(), vec![0.01f32; d * h], vec![0.02f32; d * h]);
            let ss1 = adam(Isa::Baseline, &mut w1, &g, &mut m1, &mut v1, &s);
            let mut csc = CscBatch::default();
            csc.fill(&csr, &batch);
            for isa in [Isa::Baseline, Isa::detect()] {
                let (mut w2, mut m2, mut v2) = (w.clone(), vec![0.01f32; d * h], vec![0.02f32; d * h]);
                let ss2 = grad_adam(isa, &csc, &delta, h, AdamParams { w: &mut w2, m: &mut m2, v: &mut v2 }, &s);
                assert!((ss1 - ss2).abs() < 1e-4 * ss1.max(1.0));
                for (a, b) in w1.iter().zip(&w2).chain(m1.iter().zip(&m2)).chain(v1.iter().zip(&v2)) {
                    assert!((a - b).abs() < 1e-5, "h={h}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn f64_products_match_naive() {
        let (n, d, k) = (11, 8, 3);
        let x = sample(n, d);
        let csr = Csr::from_rows(x.view(), (0..n).rev());
        let w: Vec<f64> = (0..d * k).map(|i| i as f64 * 0.1 - 1.0).collect();
        let mut out = vec![0f64; n * k];
        csr.matmul_f64(&w, k, &mut out);
        let mut back = vec![0f64; d * k];
        csr.t_matmul_f64(&out, k, &mut back);
        for i in 0..n {
            let r = n - 1 - i;
            for c in 0..k {
                let want: f64 = (0..d).map(|j| f64::from(x[[r, j]]) * w[j * k + c]).sum();
                assert!((out[i * k + c] - want).abs() < 1e-9);
            }
        }
        for j in 0..d {
            for c in 0..k {
                let want: f64 = (0..n).map(|i| f64::from(x[[n - 1 - i, j]]) * out[i * k + c]).sum();
                assert!((back[j * k + c] - want).abs() < 1e-9);
            }
        }
        assert!(
            (density(x.view(), 0..n) - x.iter().filter(|v| **v != 0.0).count() as f64 / (n * d) as f64).abs() < 1e-12
        );
    }
}
