//! What the shadow classifier sees of one synthetic table: a fixed-length feature vector.
//!
//! Three groups, after Stadler et al. (2022, §5: "naive", "histogram" and "correlation"
//! feature sets) and the targeted counting queries of TAPAS (Houssiau et al. 2022):
//!
//! * [`FeatureSet::Marginals`]: per numeric column, the fraction of rows in each of B bins cut
//!   at the reference sample's quantiles k/B, the fraction missing, and the mean and standard
//!   deviation of the observed values; per categorical column, the fraction of each level and
//!   of missing;
//! * [`FeatureSet::Correlations`]: the Pearson correlation of every pair of numeric columns
//!   (over rows where both are observed; 0 when undefined);
//! * [`FeatureSet::Targeted`]: counting queries around the target t — for each radius r,
//!   ln(1 + #rows within Gower distance r of t); the distance of t's nearest synthetic row; the
//!   fraction of rows equal to t on each categorical column, on each pair of categorical
//!   columns, and in t's bin (or missing, when t is) of each numeric column.
//!
//! Distances are Gower's (Gower, Biometrics 1971): the mean over columns of |x − y| / range
//! for numeric columns (range from the reference sample, capped at 1; a column of range 0
//! counts any difference as 1) and of 0/1 mismatch for categorical columns; missing equals
//! missing (0) and differs from any value (1).

use serde::{Deserialize, Serialize};

use super::ShadowError;
use crate::mixed::{MISSING, MixedSchema, MixedTable};

/// A group of shadow-classifier features (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureSet {
    Marginals,
    Correlations,
    Targeted,
}

/// A table's values, row-major, for tight loops.
pub(crate) struct Flat {
    pub n: usize,
    pub p: usize,
    pub q: usize,
    pub num: Vec<f64>,
    pub cat: Vec<u32>,
}

impl Flat {
    pub fn new(t: &MixedTable) -> Flat {
        Flat {
            n: t.len(),
            p: t.numeric.ncols(),
            q: t.categorical.ncols(),
            num: t.numeric.iter().copied().collect(),
            cat: t.categorical.iter().copied().collect(),
        }
    }
    pub fn num_row(&self, i: usize) -> &[f64] {
        &self.num[i * self.p..(i + 1) * self.p]
    }
    pub fn cat_row(&self, i: usize) -> &[u32] {
        &self.cat[i * self.q..(i + 1) * self.q]
    }
}

/// Gower's distance with numeric ranges fixed from a reference table.
#[derive(Debug, Clone, PartialEq)]
pub struct Gower {
    /// 1 / range of each numeric column, or infinity for a column of range 0 (or none observed).
    inv_range: Vec<f64>,
    n_columns: f64,
}

impl Gower {
    /// Ranges from the observed values of `reference`.
    pub fn fit(reference: &MixedTable) -> Gower {
        let inv_range = reference
            .numeric
            .columns()
            .into_iter()
            .map(|c| {
                let (lo, hi) = c
                    .iter()
                    .filter(|v| !v.is_nan())
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
                if hi > lo { 1.0 / (hi - lo) } else { f64::INFINITY }
            })
            .collect();
        let n_columns = (reference.numeric.ncols() + reference.categorical.ncols()).max(1) as f64;
        Gower { inv_range, n_columns }
    }

    /// Distance between two records given as (numeric, categorical) slices.
    #[inline]
    pub fn distance(&self, a_num: &[f64], a_cat: &[u32], b_num: &[f64], b_cat: &[u32]) -> f64 {
        let mut sum = 0.0;
        for ((&x, &y), &s) in a_num.iter().zip(b_num).zip(&self.inv_range) {
            sum += match (x.is_nan(), y.is_nan()) {
                (true, true) => 0.0,
                (false, false) if x == y => 0.0,
                (false, false) => ((x - y).abs() * s).min(1.0),
                _ => 1.0,
            };
        }
        sum += a_cat.iter().zip(b_cat).filter(|(x, y)| x != y).count() as f64;
        sum / self.n_columns
    }
}

/// Turns a synthetic table into the feature vector of one target (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct FeatureMap {
    sets: Vec<FeatureSet>,
    levels: Vec<usize>,
    /// Inner cut points of each numeric column's bins.
    cuts: Vec<Vec<f64>>,
    radii: Vec<f64>,
    gower: Gower,
    p: usize,
    q: usize,
}

/// numpy's default ("linear") quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = q * (sorted.len() - 1) as f64;
    let i = h.floor() as usize;
    match sorted.get(i + 1) {
        Some(&next) => sorted[i] + (h - i as f64) * (next - sorted[i]),
        None => sorted[i],
    }
}

impl FeatureMap {
    /// Bins, ranges and level counts from `reference`; `bins` quantile bins per numeric column.
    pub fn new(schema: &MixedSchema, reference: &MixedTable, sets: &[FeatureSet], bins: usize, radii: &[f64]) -> Self {
        let cuts = reference
            .numeric
            .columns()
            .into_iter()
            .map(|c| {
                let mut v: Vec<f64> = c.iter().copied().filter(|v| !v.is_nan()).collect();
                if v.is_empty() {
                    return Vec::new();
                }
                v.sort_unstable_by(f64::total_cmp);
                let mut cuts: Vec<f64> = (1..bins.max(1)).map(|k| quantile(&v, k as f64 / bins as f64)).collect();
                cuts.dedup();
                cuts
            })
            .collect();
        let mut sets = sets.to_vec();
        sets.dedup();
        FeatureMap {
            sets,
            levels: (0..schema.categorical.len()).map(|j| schema.n_levels(j)).collect(),
            cuts,
            radii: radii.to_vec(),
            gower: Gower::fit(reference),
            p: schema.numeric.len(),
            q: schema.categorical.len(),
        }
    }

    /// The distance the targeted features use.
    pub fn gower(&self) -> &Gower {
        &self.gower
    }

    /// Length of every feature vector.
    pub fn len(&self) -> usize {
        let (p, q) = (self.p, self.q);
        self.sets
            .iter()
            .map(|s| match s {
                FeatureSet::Marginals => {
                    self.cuts.iter().map(|c| c.len() + 1 + 3).sum::<usize>()
                        + self.levels.iter().map(|l| l + 1).sum::<usize>()
                }
                FeatureSet::Correlations => p * p.saturating_sub(1) / 2,
                FeatureSet::Targeted => self.radii.len() + 1 + q + q * q.saturating_sub(1) / 2 + p,
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bin of x in numeric column j (the number of cuts ≤ x).
    fn bin(&self, j: usize, x: f64) -> usize {
        self.cuts[j].partition_point(|&c| c <= x)
    }

    /// Features of `synthetic` for the target given by its numeric and categorical values.
    /// Errors when the table or the target does not have the schema's columns.
    pub fn extract(
        &self,
        synthetic: &MixedTable,
        target_num: &[f64],
        target_cat: &[u32],
    ) -> Result<Vec<f64>, ShadowError> {
        let s = Flat::new(synthetic);
        let widths = [(s.p, self.p, "synthetic numeric"), (s.q, self.q, "synthetic categorical")];
        let widths = widths
            .into_iter()
            .chain([(target_num.len(), self.p, "target numeric"), (target_cat.len(), self.q, "target categorical")]);
        for (got, want, what) in widths {
            if got != want {
                return Err(ShadowError::Shape(format!("{what} values: expected {want} columns, got {got}")));
            }
        }
        if s.num.len() != s.n * s.p || s.cat.len() != s.n * s.q {
            return Err(ShadowError::Shape("synthetic table: ids and rows differ in number".into()));
        }
        Ok(self.extract_flat(&s, target_num, target_cat))
    }

    pub(crate) fn extract_flat(&self, s: &Flat, t_num: &[f64], t_cat: &[u32]) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.len());
        // Fractions of an empty table are 0.
        let inv_n = if s.n > 0 { 1.0 / s.n as f64 } else { 0.0 };
        for set in &self.sets {
            match set {
                FeatureSet::Marginals => {
                    for j in 0..self.p {
                        let mut counts = vec![0usize; self.cuts[j].len() + 2];
                        let (mut sum, mut sq, mut m) = (0.0, 0.0, 0usize);
                        for i in 0..s.n {
                            let x = s.num[i * s.p + j];
                            if x.is_nan() {
                                counts[self.cuts[j].len() + 1] += 1;
                            } else {
                                counts[self.bin(j, x)] += 1;
                                sum += x;
                                sq += x * x;
                                m += 1;
                            }
                        }
                        out.extend(counts.iter().map(|&c| c as f64 * inv_n));
                        let mean = if m > 0 { sum / m as f64 } else { 0.0 };
                        let var = if m > 0 { (sq / m as f64 - mean * mean).max(0.0) } else { 0.0 };
                        out.push(mean);
                        out.push(var.sqrt());
                    }
                    for (j, &levels) in self.levels.iter().enumerate() {
                        let mut counts = vec![0usize; levels + 1];
                        for i in 0..s.n {
                            let c = s.cat[i * s.q + j];
                            // Codes outside the dictionary count as missing (checked upstream).
                            counts[if c == MISSING || c as usize >= levels { levels } else { c as usize }] += 1;
                        }
                        out.extend(counts.iter().map(|&c| c as f64 * inv_n));
                    }
                }
                FeatureSet::Correlations => {
                    for a in 0..self.p {
                        for b in 0..a {
                            out.push(pair_correlation(s, a, b));
                        }
                    }
                }
                FeatureSet::Targeted => {
                    let mut within = vec![0usize; self.radii.len()];
                    let mut nearest: f64 = 1.0;
                    for i in 0..s.n {
                        let d = self.gower.distance(s.num_row(i), s.cat_row(i), t_num, t_cat);
                        nearest = nearest.min(d);
                        within.iter_mut().zip(&self.radii).filter(|(_, r)| d <= **r).for_each(|(w, _)| *w += 1);
                    }
                    out.extend(within.iter().map(|&w| (w as f64).ln_1p()));
                    out.push(nearest);
                    for (j, &tj) in t_cat.iter().enumerate() {
                        let hits = (0..s.n).filter(|&i| s.cat[i * s.q + j] == tj).count();
                        out.push(hits as f64 * inv_n);
                    }
                    for a in 0..self.q {
                        for b in 0..a {
                            let hits = (0..s.n)
                                .filter(|&i| s.cat[i * s.q + a] == t_cat[a] && s.cat[i * s.q + b] == t_cat[b])
                                .count();
                            out.push(hits as f64 * inv_n);
                        }
                    }
                    for (j, &t) in t_num.iter().enumerate() {
                        let hits = if t.is_nan() {
                            (0..s.n).filter(|&i| s.num[i * s.p + j].is_nan()).count()
                        } else {
                            let bt = self.bin(j, t);
                            (0..s.n)
                                .filter(|&i| {
                                    let x = s.num[i * s.p + j];
                                    !x.is_nan() && self.bin(j, x) == bt
                                })
                                .count()
                        };
                        out.push(hits as f64 * inv_n);
                    }
                }
            }
        }
        debug_assert_eq!(out.len(), self.len());
        out
    }
}

/// Pearson correlation of numeric columns a and b over rows where both are observed.
fn pair_correlation(s: &Flat, a: usize, b: usize) -> f64 {
    let (mut n, mut sa, mut sb) = (0usize, 0.0, 0.0);
    for i in 0..s.n {
        let (x, y) = (s.num[i * s.p + a], s.num[i * s.p + b]);
        if !x.is_nan() && !y.is_nan() {
            n += 1;
            sa += x;
            sb += y;
        }
    }
    if n < 2 {
        return 0.0;
    }
    let (ma, mb) = (sa / n as f64, sb / n as f64);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for i in 0..s.n {
        let (x, y) = (s.num[i * s.p + a], s.num[i * s.p + b]);
        if !x.is_nan() && !y.is_nan() {
            sab += (x - ma) * (y - mb);
            saa += (x - ma) * (x - ma);
            sbb += (y - mb) * (y - mb);
        }
    }
    let denom = (saa * sbb).sqrt();
    if denom > 0.0 { (sab / denom).clamp(-1.0, 1.0) } else { 0.0 }
}
