//! The mixed-type distance between records that every distance attack here uses.
//!
//! Distance to closest record (DCR) audits of synthetic data (e.g. Park et al., "Data
//! synthesis based on generative adversarial networks", VLDB 2018; Platzer & Reutterer,
//! "Holdout-based empirical assessment of mixed-type synthetic data", Front. Big Data 2021)
//! need one distance over numeric and categorical columns. This module owns that distance
//! and the configuration an audit embeds as `[distance]`.
//!
//! # The distance
//!
//! For records `a`, `b` with numeric columns `x_j` and categorical columns `c_k`,
//!
//! ```text
//! d(a, b)² = Σ_j ((x_j(a) − x_j(b)) / s_j)²  +  Σ_k w² · [c_k(a) ≠ c_k(b)]
//! ```
//!
//! * `s_j` is the column's range (max − min) or population standard deviation
//!   ([`NumericScale`]), fitted on a data set the caller names — an audit passes the
//!   holdout/reference data, never anything that depends on the scored records' membership.
//!   A column whose fitted scale is zero or undefined (constant, or all missing) gets
//!   `s_j = 1`: its differences count in raw units, and nothing divides by zero.
//! * `w` is [`DistanceConfig::categorical_weight`]: one categorical mismatch costs as much as
//!   a numeric difference of `w` scales. With range scaling and `w = 1`, a full-range numeric
//!   difference and a mismatch cost the same.
//! * Missing values (NaN, or the code [`crate::mixed::MISSING`]): missing against missing matches (cost 0); missing against a value costs
//!   the column's maximum cost — `w²` for a categorical column, and for a numeric column the
//!   largest squared scaled difference on the fit data, `((max − min) / s_j)²`, at least 1
//!   (so exactly 1 with range scaling).
//!
//! This is the Euclidean distance on an embedding (scaled numerics, each categorical column
//! one-hot with entries `w/√2`), so `‖a‖² + ‖b‖² − 2a·b` tricks apply; the exact engine in
//! [`crate::nn`] instead compares categorical codes directly (a mismatch count times `w²`)
//! and evaluates the numeric part in f32 SIMD with a rigorous error bound, recomputing every
//! candidate with [`Distance::squared`], the plain f64 reference below. Reported distances
//! are always the square root of that f64 value, so an exact copy is at distance exactly 0.

use ndarray::ArrayView1;
use serde::{Deserialize, Serialize};

use crate::mixed::MixedTable;

/// How numeric columns are scaled before differences are squared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NumericScale {
    /// Divide by the column's range (max − min) on the fit data (Gower-like).
    #[default]
    Range,
    /// Divide by the column's population standard deviation on the fit data.
    Std,
}

fn one() -> f64 {
    1.0
}

/// The `[distance]` section of a synthetic-data audit config.
///
/// ```toml
/// [distance]
/// numeric_scale = "range"     # or "std"; default "range"
/// categorical_weight = 1.0    # cost of one categorical mismatch, in numeric scales; default 1
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistanceConfig {
    /// How numeric columns are scaled. Default [`NumericScale::Range`].
    #[serde(default)]
    pub numeric_scale: NumericScale,
    /// `w`: a categorical mismatch adds `w²` to the squared distance. Default 1; must be finite
    /// and ≥ 0.
    #[serde(default = "one")]
    pub categorical_weight: f64,
}

impl Default for DistanceConfig {
    fn default() -> Self {
        DistanceConfig { numeric_scale: NumericScale::Range, categorical_weight: 1.0 }
    }
}

/// Why a distance cannot be set up or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DistanceError {
    /// The categorical weight is negative or not finite.
    #[error("[distance]: categorical_weight must be a finite number >= 0, got {0}")]
    BadWeight(f64),
    /// A table's column counts differ from the fitted distance's.
    #[error(
        "{what}: expected {expected_numeric} numeric and {expected_categorical} categorical columns, found {found_numeric} and {found_categorical}"
    )]
    Shape {
        what: String,
        expected_numeric: usize,
        expected_categorical: usize,
        found_numeric: usize,
        found_categorical: usize,
    },
    /// An infinite numeric value (missing values are NaN; infinities have no distance).
    #[error("{what}: record {record}, numeric column {column}: value is infinite")]
    Infinite { what: String, record: String, column: usize },
}

/// One record of a [`MixedTable`], borrowed.
#[derive(Debug, Clone, Copy)]
pub struct MixedRow<'a> {
    pub numeric: ArrayView1<'a, f64>,
    pub categorical: ArrayView1<'a, u32>,
}

/// Record `i` of `table` (panics if `i` is out of range, like slice indexing).
pub fn row(table: &MixedTable, i: usize) -> MixedRow<'_> {
    MixedRow { numeric: table.numeric.row(i), categorical: table.categorical.row(i) }
}

/// A fitted distance: per numeric column its scale and missing cost, and the mismatch cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distance {
    /// The configuration it was fitted with.
    pub config: DistanceConfig,
    /// `s_j` per numeric column (never 0 or non-finite).
    pub scale: Vec<f64>,
    /// A numeric column's cost of a missing value against a present one.
    pub missing_cost: Vec<f64>,
    /// Fit-data minimum per numeric column (NaN when all missing); the engine centres here.
    pub fit_min: Vec<f64>,
    /// Fit-data maximum per numeric column (NaN when all missing).
    pub fit_max: Vec<f64>,
    /// Number of categorical columns.
    pub n_categorical: usize,
    /// `w²`.
    pub mismatch_cost: f64,
}

impl Distance {
    /// Fits the numeric scales on `fit` (missing values ignored).
    pub fn fit(config: &DistanceConfig, fit: &MixedTable) -> Result<Distance, DistanceError> {
        let w = config.categorical_weight;
        if !w.is_finite() || w < 0.0 {
            return Err(DistanceError::BadWeight(w));
        }
        check_finite(fit, "fit data")?;
        let p = fit.numeric.ncols();
        let (mut scale, mut missing_cost, mut fit_min, mut fit_max) =
            (Vec::with_capacity(p), Vec::with_capacity(p), Vec::with_capacity(p), Vec::with_capacity(p));
        for col in fit.numeric.columns() {
            let (mut lo, mut hi, mut n, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0usize, 0.0);
            for &v in col.iter().filter(|v| !v.is_nan()) {
                lo = lo.min(v);
                hi = hi.max(v);
                n += 1;
                sum += v;
            }
            let s = match config.numeric_scale {
                NumericScale::Range => hi - lo,
                NumericScale::Std if n > 0 => {
                    // Two passes: the centred sum of squares does not cancel catastrophically.
                    let mean = sum / n as f64;
                    let ss: f64 = col.iter().filter(|v| !v.is_nan()).map(|&v| (v - mean) * (v - mean)).sum();
                    (ss / n as f64).sqrt()
                }
                NumericScale::Std => f64::NAN,
            };
            let s = if s.is_finite() && s > 0.0 { s } else { 1.0 };
            let span = if n > 0 { (hi - lo) / s } else { 0.0 };
            scale.push(s);
            missing_cost.push((span * span).max(1.0));
            fit_min.push(if n > 0 { lo } else { f64::NAN });
            fit_max.push(if n > 0 { hi } else { f64::NAN });
        }
        Ok(Distance {
            config: *config,
            scale,
            missing_cost,
            fit_min,
            fit_max,
            n_categorical: fit.categorical.ncols(),
            mismatch_cost: w * w,
        })
    }

    /// Number of numeric columns.
    pub fn n_numeric(&self) -> usize {
        self.scale.len()
    }

    /// Checks that `table` has this distance's columns and no infinite value.
    pub fn check(&self, table: &MixedTable, what: &str) -> Result<(), DistanceError> {
        if table.numeric.ncols() != self.n_numeric()
            || table.categorical.ncols() != self.n_categorical
            || table.numeric.nrows() != table.len()
            || table.categorical.nrows() != table.len()
        {
            return Err(DistanceError::Shape {
                what: what.to_string(),
                expected_numeric: self.n_numeric(),
                expected_categorical: self.n_categorical,
                found_numeric: table.numeric.ncols(),
                found_categorical: table.categorical.ncols(),
            });
        }
        check_finite(table, what)
    }

    /// The squared distance `d(a, b)²`, plainly in f64: the reference every fast path is
    /// checked against and the value reported.
    pub fn squared(&self, a: MixedRow<'_>, b: MixedRow<'_>) -> f64 {
        let mut sum = 0.0;
        for j in 0..self.scale.len() {
            let (x, y) = (a.numeric[j], b.numeric[j]);
            sum += match (x.is_nan(), y.is_nan()) {
                (false, false) => {
                    let t = (x - y) / self.scale[j];
                    t * t
                }
                (true, true) => 0.0,
                _ => self.missing_cost[j],
            };
        }
        let mismatches = a.categorical.iter().zip(b.categorical.iter()).filter(|(x, y)| x != y).count();
        sum + mismatches as f64 * self.mismatch_cost
    }

    /// The distance `d(a, b)` (square root of [`Distance::squared`]).
    pub fn distance(&self, a: MixedRow<'_>, b: MixedRow<'_>) -> f64 {
        self.squared(a, b).sqrt()
    }
}

fn check_finite(table: &MixedTable, what: &str) -> Result<(), DistanceError> {
    for (i, r) in table.numeric.rows().into_iter().enumerate() {
        if let Some(j) = r.iter().position(|v| v.is_infinite()) {
            let record = table.ids.get(i).cloned().unwrap_or_else(|| (i + 1).to_string());
            return Err(DistanceError::Infinite { what: what.to_string(), record, column: j });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mixed::MISSING;
    use ndarray::array;

    fn table(num: ndarray::Array2<f64>, cat: ndarray::Array2<u32>) -> MixedTable {
        let ids = (0..num.nrows()).map(|i| i.to_string()).collect();
        MixedTable { ids, numeric: num, categorical: cat }
    }

    #[test]
    fn range_scaling_and_mismatch_cost() {
        let t = table(array![[0.0, 10.0], [4.0, 10.0], [2.0, 10.0]], array![[0, 1], [1, 1], [0, MISSING]]);
        let d =
            Distance::fit(&DistanceConfig { numeric_scale: NumericScale::Range, categorical_weight: 2.0 }, &t).unwrap();
        // Column 0 has range 4; column 1 is constant, so it keeps raw units (scale 1).
        assert_eq!(d.scale, vec![4.0, 1.0]);
        assert_eq!(d.missing_cost, vec![1.0, 1.0]);
        // (4/4)² + 0 + one mismatch · 2² = 5.
        assert_eq!(d.squared(row(&t, 0), row(&t, 1)), 5.0);
        // (2/4)² + missing-vs-value categorical (mismatch) 4 = 4.25.
        assert_eq!(d.squared(row(&t, 0), row(&t, 2)), 4.25);
        assert_eq!(d.distance(row(&t, 2), row(&t, 2)), 0.0);
    }

    #[test]
    fn std_scaling_and_numeric_missing() {
        let t = table(array![[1.0], [3.0], [f64::NAN]], array![[0], [0], [0]]);
        let d =
            Distance::fit(&DistanceConfig { numeric_scale: NumericScale::Std, categorical_weight: 1.0 }, &t).unwrap();
        // Population std of {1, 3} is 1; the missing cost is the squared scaled range, 4.
        assert_eq!(d.scale, vec![1.0]);
        assert_eq!(d.missing_cost, vec![4.0]);
        assert_eq!(d.squared(row(&t, 0), row(&t, 2)), 4.0);
        assert_eq!(d.squared(row(&t, 2), row(&t, 2)), 0.0);
        assert_eq!(d.squared(row(&t, 0), row(&t, 1)), 4.0);
    }

    #[test]
    fn all_missing_column_gets_unit_scale() {
        let t = table(array![[f64::NAN], [f64::NAN]], array![[0], [1]]);
        let d =
            Distance::fit(&DistanceConfig { numeric_scale: NumericScale::Std, categorical_weight: 1.0 }, &t).unwrap();
        assert_eq!((d.scale[0], d.missing_cost[0]), (1.0, 1.0));
        assert!(d.fit_min[0].is_nan());
    }

    #[test]
    fn rejects_bad_weight_and_infinities() {
        let t = table(array![[1.0]], array![[0]]);
        let bad = DistanceConfig { categorical_weight: -1.0, ..DistanceConfig::default() };
        assert_eq!(Distance::fit(&bad, &t), Err(DistanceError::BadWeight(-1.0)));
        let inf = table(array![[f64::INFINITY]], array![[0]]);
        assert!(matches!(Distance::fit(&DistanceConfig::default(), &inf), Err(DistanceError::Infinite { .. })));
        let d = Distance::fit(&DistanceConfig::default(), &t).unwrap();
        let wide = table(array![[1.0, 2.0]], array![[0]]);
        assert!(matches!(d.check(&wide, "synthetic"), Err(DistanceError::Shape { .. })));
    }

    #[test]
    fn config_defaults_and_unknown_fields() {
        let c: DistanceConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, DistanceConfig::default());
        let c: DistanceConfig = serde_json::from_str(r#"{"numeric_scale":"std","categorical_weight":0.5}"#).unwrap();
        assert_eq!(c.numeric_scale, NumericScale::Std);
        assert!(serde_json::from_str::<DistanceConfig>(r#"{"weight":1}"#).is_err());
    }
}
