//! Independent marginals: each column sampled on its own from its empirical distribution.
//!
//! * A categorical column (missing as a value of its own) is sampled from its training
//!   frequencies, by copying the value of a uniformly drawn training row.
//! * A numeric column is missing at its training rate; otherwise a histogram bin is drawn with
//!   its training frequency and a value uniformly within the bin. Bins are equal-width over
//!   [min, max]; their number is given, or numpy's `"auto"` rule (as in numpy 2.4:
//!   width = min(max(Freedman–Diaconis, √-rule / 2), Sturges)). A column whose training values
//!   are all integers gets integers, uniformly among those in the bin.
//!
//! **Why this still leaks membership.** Dependence between columns is lost, but every
//! marginal is learned from the training records alone: a rare category (seen once) is
//! reproduced at its training frequency, and an outlier stretches [min, max], so its bin — and
//! values near it — appear in the synthetic data only when the outlier was trained on. Those
//! are exactly the records the shadow attack targets.

use mia_core::bootstrap::{rng_for, uniform_below};

use super::{Generator, GeneratorError, all_integer, blank_table, check_table, uniform01};
use crate::mixed::{MixedSchema, MixedTable};

/// Largest bin count a config may ask for.
const MAX_BINS: usize = 1 << 20;

/// The independent-marginals generator (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Marginals {
    bins: Option<usize>,
}

impl Marginals {
    /// `bins` histogram bins per numeric column, or `None` for numpy's `"auto"` rule.
    pub fn new(bins: Option<usize>) -> Result<Self, GeneratorError> {
        if let Some(b) = bins
            && !(1..=MAX_BINS).contains(&b)
        {
            return Err(GeneratorError::Setting { name: "bins", message: format!("must be 1 to {MAX_BINS}, got {b}") });
        }
        Ok(Marginals { bins })
    }
}

/// Equal-width histogram edges over the finite `values` (others are ignored): `bins` bins, or
/// as many as numpy's `np.histogram_bin_edges(values, "auto")` makes (checked against numpy
/// 2.4.6). A constant column gets the single bin [v − 0.5, v + 0.5], as in numpy; no finite
/// value gives no edges.
pub fn auto_bin_edges(values: &[f64], bins: Option<usize>) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return Vec::new();
    }
    sorted.sort_unstable_by(f64::total_cmp);
    edges_of_sorted(&sorted, bins.map(|b| b.max(1)))
}

fn edges_of_sorted(sorted: &[f64], bins: Option<usize>) -> Vec<f64> {
    let n = sorted.len();
    let (mut lo, mut hi) = (sorted[0], sorted[n - 1]);
    let ptp = hi - lo;
    if lo == hi {
        lo -= 0.5;
        hi += 0.5;
    }
    let nb = match bins {
        Some(b) => b,
        None => {
            let nf = n as f64;
            let iqr = percentile(sorted, 0.75) - percentile(sorted, 0.25);
            let fd = 2.0 * iqr * nf.powf(-1.0 / 3.0);
            let sqrt_rule = ptp / nf.sqrt();
            let sturges = ptp / (nf.log2() + 1.0);
            let width = fd.max(sqrt_rule / 2.0).min(sturges);
            if width > 0.0 { ((hi - lo) / width).ceil().max(1.0) as usize } else { 1 }
        }
    };
    if !(hi - lo).is_finite() {
        // A range beyond f64 (values near ±1.8e308): one bin.
        return vec![lo, hi];
    }
    let step = (hi - lo) / nb as f64;
    let mut edges: Vec<f64> = (0..nb).map(|i| lo + i as f64 * step).collect();
    edges.push(hi);
    edges
}

/// numpy's default ("linear") percentile of sorted values, q in [0, 1].
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let h = q * (sorted.len() - 1) as f64;
    let i = h.floor() as usize;
    let t = h - i as f64;
    match sorted.get(i + 1) {
        Some(&next) if t > 0.0 => sorted[i] + t * (next - sorted[i]),
        _ => sorted[i],
    }
}

/// Bin of `x` among `edges` (last bin closed), as numpy assigns it.
pub(crate) fn bin_of(edges: &[f64], x: f64) -> usize {
    let nb = edges.len() - 1;
    let (lo, hi) = (edges[0], edges[nb]);
    let mut b = (((x - lo) / (hi - lo)) * nb as f64).floor().clamp(0.0, (nb - 1) as f64) as usize;
    while b > 0 && x < edges[b] {
        b -= 1;
    }
    while b + 1 < nb && x >= edges[b + 1] {
        b += 1;
    }
    b
}

/// A fitted numeric marginal.
struct NumericMarginal {
    n_missing: u64,
    n_observed: u64,
    edges: Vec<f64>,
    /// Cumulative training counts: bin b holds draws r with cum[b-1] ≤ r < cum[b].
    cumulative: Vec<u64>,
    integer: bool,
    min: f64,
    max: f64,
}

impl NumericMarginal {
    fn fit(column: impl Iterator<Item = f64>, bins: Option<usize>) -> Self {
        let mut n_missing = 0u64;
        let mut values = Vec::new();
        for v in column {
            if v.is_nan() { n_missing += 1 } else { values.push(v) }
        }
        if values.is_empty() {
            return NumericMarginal {
                n_missing,
                n_observed: 0,
                edges: Vec::new(),
                cumulative: Vec::new(),
                integer: false,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        values.sort_unstable_by(f64::total_cmp);
        let edges = edges_of_sorted(&values, bins);
        let mut counts = vec![0u64; edges.len() - 1];
        for &v in &values {
            counts[bin_of(&edges, v)] += 1;
        }
        let mut acc = 0;
        let cumulative = counts
            .iter()
            .map(|c| {
                acc += c;
                acc
            })
            .collect();
        NumericMarginal {
            n_missing,
            n_observed: values.len() as u64,
            integer: all_integer(&values),
            min: values[0],
            max: values[values.len() - 1],
            edges,
            cumulative,
        }
    }

    fn sample(&self, rng: &mut impl rand::Rng) -> f64 {
        if self.n_observed == 0 || uniform_below(rng, self.n_missing + self.n_observed) < self.n_missing {
            return f64::NAN;
        }
        let r = uniform_below(rng, self.n_observed);
        let b = self.cumulative.partition_point(|&c| c <= r);
        let (left, right) = (self.edges[b], self.edges[b + 1]);
        if self.integer {
            // Integers k in the bin: left ≤ k < right, or ≤ right for the last bin.
            let lo = left.ceil().max(self.min);
            let last = b + 2 == self.edges.len();
            let hi = (if last { right.floor() } else { right.ceil() - 1.0 }).min(self.max);
            if hi < lo {
                return lo.clamp(self.min, self.max);
            }
            lo + uniform_below(rng, (hi - lo) as u64 + 1) as f64
        } else {
            // Weighted form: no overflow even when right − left is not representable.
            let u = uniform01(rng);
            ((1.0 - u) * left + u * right).clamp(self.min, self.max)
        }
    }
}

impl Generator for Marginals {
    fn name(&self) -> &str {
        "marginals"
    }

    fn generate(
        &self,
        schema: &MixedSchema,
        train: &MixedTable,
        n_rows: usize,
        seed: u64,
    ) -> Result<MixedTable, GeneratorError> {
        check_table(schema, train)?;
        let mut out = blank_table(schema, n_rows);
        let n_train = train.len() as u64;
        // One stream per column, so a column's values do not depend on the others.
        for (j, col) in train.numeric.columns().into_iter().enumerate() {
            let marginal = NumericMarginal::fit(col.iter().copied(), self.bins);
            let mut rng = rng_for(seed, j as u64);
            for v in out.numeric.column_mut(j) {
                *v = marginal.sample(&mut rng);
            }
        }
        let p = schema.numeric.len() as u64;
        for (j, col) in train.categorical.columns().into_iter().enumerate() {
            let mut rng = rng_for(seed, p + j as u64);
            for v in out.categorical.column_mut(j) {
                *v = col[uniform_below(&mut rng, n_train) as usize];
            }
        }
        Ok(out)
    }
}
