//! [`Encoding`]: a table's feature columns as one f32 matrix, fitted once per audit.
//!
//! # The rule
//!
//! Fitted on a set of rows (the audit rows), then applied to any table with the same
//! columns:
//!
//! * Features come in the table's column order (the file's order); a numeric column gives one
//!   feature named after the column, a categorical column one feature per category, named
//!   `"{column}={category}"`, in category order.
//! * **Numeric**, `standardize = true` (default): `(x - mean) / std`, with the mean and the
//!   population standard deviation (ddof 0) of the column's non-missing values in the fitting
//!   rows. A column whose fitting values are all equal gets `mean` = that value and scale 1
//!   (so it encodes as 0), and a column with no fitting value gets mean 0 and scale 1. A
//!   missing value is imputed by the mean: it encodes as exactly 0.
//! * **Numeric**, `standardize = false`: `x` as read; a missing value becomes the fitting
//!   mean.
//! * **Categorical**: one-hot over the distinct values seen in the fitting rows, sorted in
//!   byte order (Rust `str` order = Python `sorted` on `str`). A missing value is a category
//!   of its own, named by its token (e.g. `"?"`). A value not seen at fit time encodes as all
//!   zeros.
//! * Arithmetic is f64; the result is rounded to f32 once.

use ndarray::Array2;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ColumnValues, Table, TableSchema};
use crate::DataError;
use crate::error::quote;

/// Version of the encoding rule, stored in every [`Encoding`].
pub const ENCODING_VERSION: u32 = 1;

/// How one column becomes features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FeatureEncoding {
    /// One feature: `(x - mean) / scale` when `standardize`, else `x`; missing → `mean` first.
    Numeric { column: String, mean: f64, scale: f64, standardize: bool },
    /// One feature per category (sorted, byte order); unseen values → all zeros.
    Categorical { column: String, categories: Vec<String> },
}

impl FeatureEncoding {
    /// The column this reads.
    pub fn column(&self) -> &str {
        match self {
            FeatureEncoding::Numeric { column, .. } | FeatureEncoding::Categorical { column, .. } => column,
        }
    }
    /// Number of features this gives.
    pub fn width(&self) -> usize {
        match self {
            FeatureEncoding::Numeric { .. } => 1,
            FeatureEncoding::Categorical { categories, .. } => categories.len(),
        }
    }
}

/// A fitted encoding of a table's feature columns into an N × D f32 matrix. Save it with
/// serde; [`Encoding::fingerprint`] identifies it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Encoding {
    /// [`ENCODING_VERSION`] when fitted.
    pub version: u32,
    /// One entry per feature column, in the table's column order.
    pub features: Vec<FeatureEncoding>,
}

impl Encoding {
    /// Fits the encoding on records `rows` (0-based indices into `table`; repeats count
    /// repeatedly). `schema.standardize` chooses whether numeric columns are standardised.
    /// An index out of range is an error.
    pub fn fit(table: &Table, schema: &TableSchema, rows: &[usize]) -> Result<Encoding, DataError> {
        check_rows(table, rows)?;
        let mut features = Vec::with_capacity(table.columns.len());
        for col in &table.columns {
            features.push(match &col.values {
                ColumnValues::Numeric(v) => {
                    let (mean, scale) = mean_scale(rows.iter().map(|&r| v[r]).filter(|x| !x.is_nan()));
                    FeatureEncoding::Numeric { column: col.name.clone(), mean, scale, standardize: schema.standardize }
                }
                ColumnValues::Categorical(c) => {
                    let mut seen = vec![false; c.values.len()];
                    for &r in rows {
                        if let Some(s) = seen.get_mut(c.codes[r] as usize) {
                            *s = true;
                        }
                    }
                    let mut categories: Vec<String> =
                        c.values.iter().zip(&seen).filter(|(_, s)| **s).map(|(v, _)| v.clone()).collect();
                    categories.sort_unstable();
                    FeatureEncoding::Categorical { column: col.name.clone(), categories }
                }
            });
        }
        Ok(Encoding { version: ENCODING_VERSION, features })
    }

    /// Fits on every record of `table`.
    pub fn fit_all(table: &Table, schema: &TableSchema) -> Result<Encoding, DataError> {
        let rows: Vec<usize> = (0..table.len()).collect();
        Encoding::fit(table, schema, &rows)
    }

    /// Number of features D.
    pub fn dim(&self) -> usize {
        self.features.iter().map(FeatureEncoding::width).sum()
    }

    /// Feature names in matrix column order: the column name for a numeric column,
    /// `"{column}={category}"` for each category.
    pub fn feature_names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(self.dim());
        for f in &self.features {
            match f {
                FeatureEncoding::Numeric { column, .. } => names.push(column.clone()),
                FeatureEncoding::Categorical { column, categories } => {
                    names.extend(categories.iter().map(|c| format!("{column}={c}")))
                }
            }
        }
        names
    }

    /// Lower-case hex SHA-256 of a canonical binary form of the encoding (version, then each
    /// feature's kind, column, parameters as exact f64 bits, categories), independent of any
    /// serde format: equal encodings have equal fingerprints.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        let text = |h: &mut Sha256, s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        h.update(b"mia-audit encoding\0");
        h.update(self.version.to_le_bytes());
        h.update((self.features.len() as u64).to_le_bytes());
        for f in &self.features {
            match f {
                FeatureEncoding::Numeric { column, mean, scale, standardize } => {
                    h.update([0u8]);
                    text(&mut h, column);
                    h.update(mean.to_bits().to_le_bytes());
                    h.update(scale.to_bits().to_le_bytes());
                    h.update([u8::from(*standardize)]);
                }
                FeatureEncoding::Categorical { column, categories } => {
                    h.update([1u8]);
                    text(&mut h, column);
                    h.update((categories.len() as u64).to_le_bytes());
                    for c in categories {
                        text(&mut h, c);
                    }
                }
            }
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Encodes every record of `table` (N × D, row-major). The table needs every column the
    /// encoding reads, of the same kind; other columns are ignored.
    pub fn transform(&self, table: &Table) -> Result<Array2<f32>, DataError> {
        let rows: Vec<usize> = (0..table.len()).collect();
        self.transform_rows(table, &rows)
    }

    /// Encodes records `rows` of `table` (0-based indices), in that order.
    pub fn transform_rows(&self, table: &Table, rows: &[usize]) -> Result<Array2<f32>, DataError> {
        check_rows(table, rows)?;
        let ops = self.ops(table)?;
        let d = self.dim();
        let mut out = Array2::<f32>::zeros((rows.len(), d));
        if d == 0 {
            return Ok(out);
        }
        let Some(buf) = out.as_slice_mut() else {
            return Err(DataError::Usage { message: "internal error: output matrix is not contiguous".into() });
        };
        for (dst, &r) in buf.chunks_exact_mut(d).zip(rows) {
            for op in &ops {
                match op {
                    Op::Num { values, mean, scale, standardize, at } => {
                        let x = values[r];
                        let x = if x.is_nan() { *mean } else { x };
                        let y = if *standardize { (x - mean) / scale } else { x };
                        dst[*at] = y as f32;
                    }
                    Op::Cat { codes, slot, at } => {
                        if let Some(Some(k)) = slot.get(codes[r] as usize) {
                            dst[at + k] = 1.0;
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// What to do for each feature column of `table`.
    fn ops<'t>(&self, table: &'t Table) -> Result<Vec<Op<'t>>, DataError> {
        let mut ops = Vec::with_capacity(self.features.len());
        let mut at = 0;
        for f in &self.features {
            let col = table.column(f.column()).ok_or_else(|| DataError::MissingColumn {
                file: table.file.clone(),
                column: crate::error::one_line(f.column()),
                why: "a feature column of the fitted encoding".to_string(),
                found: table.columns.iter().map(|c| c.name.clone()).collect(),
            })?;
            let mismatch = |expected: &str, found: &str| DataError::ColumnType {
                file: table.file.clone(),
                column: crate::error::one_line(f.column()),
                expected: format!("a {expected} column, as when the encoding was fitted"),
                found: found.to_string(),
            };
            match (f, &col.values) {
                (FeatureEncoding::Numeric { mean, scale, standardize, .. }, ColumnValues::Numeric(values)) => {
                    if !(mean.is_finite() && scale.is_finite() && *scale > 0.0) {
                        return Err(DataError::Usage {
                            message: format!(
                                "encoding of column {}: expected a finite mean and a positive finite scale, found mean {mean}, scale {scale}",
                                quote(f.column())
                            ),
                        });
                    }
                    ops.push(Op::Num { values, mean: *mean, scale: *scale, standardize: *standardize, at });
                }
                (FeatureEncoding::Categorical { categories, .. }, ColumnValues::Categorical(c)) => {
                    let slot = c.values.iter().map(|v| categories.binary_search(v).ok()).collect();
                    if categories.windows(2).any(|w| w[0] >= w[1]) {
                        return Err(DataError::Usage {
                            message: format!(
                                "encoding of column {}: expected categories sorted and distinct",
                                quote(f.column())
                            ),
                        });
                    }
                    ops.push(Op::Cat { codes: &c.codes, slot, at });
                }
                (FeatureEncoding::Numeric { .. }, _) => return Err(mismatch("numeric", "categorical")),
                (FeatureEncoding::Categorical { .. }, _) => return Err(mismatch("categorical", "numeric")),
            }
            at += f.width();
        }
        Ok(ops)
    }
}

enum Op<'t> {
    Num {
        values: &'t [f64],
        mean: f64,
        scale: f64,
        standardize: bool,
        at: usize,
    },
    /// `slot[code]`: the category's position within the column's features, if seen at fit.
    Cat {
        codes: &'t [u32],
        slot: Vec<Option<usize>>,
        at: usize,
    },
}

fn check_rows(table: &Table, rows: &[usize]) -> Result<(), DataError> {
    match rows.iter().find(|&&r| r >= table.len()) {
        Some(r) => Err(DataError::Usage {
            message: format!("{}: record index {r} out of range for a table of {} records", table.file, table.len()),
        }),
        None => Ok(()),
    }
}

/// Mean and scale of the values (see the module docs): two passes, f64.
fn mean_scale(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let (mut n, mut sum, mut lo, mut hi) = (0usize, 0.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for x in values.clone() {
        n += 1;
        sum += x;
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if n == 0 {
        return (0.0, 1.0);
    }
    if lo == hi {
        return (lo, 1.0);
    }
    let mean = sum / n as f64;
    let ss: f64 = values.map(|x| (x - mean) * (x - mean)).sum();
    let std = (ss / n as f64).sqrt();
    (mean, if std > 0.0 && std.is_finite() { std } else { 1.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_scale_rules() {
        assert_eq!(mean_scale([].into_iter()), (0.0, 1.0));
        assert_eq!(mean_scale([0.1, 0.1, 0.1].into_iter()), (0.1, 1.0));
        let (m, s) = mean_scale([1.0, 2.0, 3.0, 4.0].into_iter());
        assert_eq!(m, 2.5);
        assert!((s - 1.25f64.sqrt()).abs() < 1e-15);
    }
}
