//! The blind check: can members be told from non-members *without the model*?
//!
//! When the members and non-members of an audit differ in distribution (another period,
//! topic or source), a classifier that never queries the model separates them as well as
//! any membership attack, and an attack's "leakage" then measures the split, not the model.
//! Das, Zhang & Tramèr ("Blind Baselines Beat Membership Inference Attacks for Foundation
//! Models", 2024) and Duan et al. ("Do Membership Inference Attacks Work on Large Language
//! Models?", COLM 2024) show this for published language-model benchmarks. This module
//! scores every record by such a model-free classifier, cross-fitted (each record scored by
//! a fit on the other folds only), so its AUC can be reported next to the attacks'.
//!
//! Features ([`FeatureRows`]): a sparse block and a dense block. For texts
//! ([`text_features`]): the word unigrams and bigrams (lower-cased runs of letters and
//! digits) hashed into 2^18 columns (the hashing trick, so no vocabulary is fitted), each
//! present feature 1 and the row scaled to unit length; and dense columns for the length
//! (ln(1 + characters), ln(1 + words)) and date-like tokens (ln(1 + count) of years
//! 1000–2099, month and weekday names, numeric dates such as 2024-05-01 or 5/1/24), which
//! Das et al. found to separate many benchmark splits on their own. Tables pass their
//! encoded features as the dense block.
//!
//! The classifier ([`cross_fitted_blind_logistic`]) is the project's L2 logistic
//! regression ([`crate::logistic::LogLoss`] by [`crate::logistic::lbfgs`]) with
//! scikit-learn's default strength (C = 1), the dense columns standardised by the training
//! folds' mean and standard deviation.

use crate::logistic::{LinearDesign, LogLoss, lbfgs};
use rayon::prelude::*;

/// Columns of the hashed n-gram block.
pub const HASH_COLUMNS: usize = 1 << 18;

/// Names of the dense text features, in column order.
pub const TEXT_DENSE_FEATURES: &[&str] = &["ln(1+characters)", "ln(1+words)", "ln(1+date-like tokens)"];

/// Rows of features: a sparse block (compressed sparse rows over `sparse_cols` columns)
/// followed by a dense block of `dense_cols` columns (row-major).
#[derive(Debug, Clone, Default)]
pub struct FeatureRows {
    pub sparse_cols: usize,
    pub indptr: Vec<usize>,
    pub indices: Vec<u32>,
    pub values: Vec<f64>,
    pub dense_cols: usize,
    pub dense: Vec<f64>,
}

impl FeatureRows {
    /// Only dense features (a table's encoded columns), `cols` per row.
    pub fn dense(dense: Vec<f64>, cols: usize) -> FeatureRows {
        let n = dense.len().checked_div(cols).unwrap_or(0);
        FeatureRows {
            sparse_cols: 0,
            indptr: vec![0; n + 1],
            indices: Vec::new(),
            values: Vec::new(),
            dense_cols: cols,
            dense,
        }
    }

    pub fn n_rows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }
}

/// 64-bit FNV-1a: a fixed, platform-independent hash, so the columns never change.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, p) in parts.iter().enumerate() {
        if k > 0 {
            h ^= u64::from(b' ');
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for &b in p.as_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

const MONTHS: &[&str] = &[
    "jan",
    "january",
    "feb",
    "february",
    "mar",
    "march",
    "apr",
    "april",
    "may",
    "jun",
    "june",
    "jul",
    "july",
    "aug",
    "august",
    "sep",
    "sept",
    "september",
    "oct",
    "october",
    "nov",
    "november",
    "dec",
    "december",
];
const WEEKDAYS: &[&str] = &[
    "mon",
    "monday",
    "tue",
    "tues",
    "tuesday",
    "wed",
    "wednesday",
    "thu",
    "thur",
    "thurs",
    "thursday",
    "fri",
    "friday",
    "sat",
    "saturday",
    "sun",
    "sunday",
];

/// Whether a whitespace-separated token looks like a date: a year 1000–2099, a month or
/// weekday name, or digits joined by `/`, `-` or `.` in two or three parts (2024-05-01,
/// 5/1/24, 01.05.2024).
fn date_like(raw: &str) -> bool {
    let t = raw.trim_matches(|c: char| !c.is_alphanumeric());
    if t.is_empty() {
        return false;
    }
    if t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()) {
        let y: u32 = t.parse().unwrap_or(0);
        return (1000..=2099).contains(&y);
    }
    let lower = t.to_lowercase();
    if MONTHS.contains(&lower.as_str()) || WEEKDAYS.contains(&lower.as_str()) {
        return true;
    }
    let parts: Vec<&str> = t.split(['/', '-', '.']).collect();
    (2..=3).contains(&parts.len())
        && parts.iter().all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The blind classifier's features of each text (see the module doc).
pub fn text_features(texts: &[&str]) -> FeatureRows {
    let rows: Vec<(Vec<u32>, [f64; 3])> = texts
        .par_iter()
        .map(|text| {
            let lower = text.to_lowercase();
            let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
            let mut cols: Vec<u32> = Vec::with_capacity(2 * words.len());
            for (i, w) in words.iter().enumerate() {
                cols.push((fnv1a(&[w]) % HASH_COLUMNS as u64) as u32);
                if i + 1 < words.len() {
                    cols.push((fnv1a(&[w, words[i + 1]]) % HASH_COLUMNS as u64) as u32);
                }
            }
            cols.sort_unstable();
            cols.dedup();
            let dates = text.split_whitespace().filter(|t| date_like(t)).count();
            let dense =
                [(1.0 + text.chars().count() as f64).ln(), (1.0 + words.len() as f64).ln(), (1.0 + dates as f64).ln()];
            (cols, dense)
        })
        .collect();
    let mut x = FeatureRows { sparse_cols: HASH_COLUMNS, dense_cols: TEXT_DENSE_FEATURES.len(), ..Default::default() };
    x.indptr.push(0);
    for (cols, dense) in rows {
        let v = if cols.is_empty() { 0.0 } else { 1.0 / (cols.len() as f64).sqrt() };
        x.values.extend(std::iter::repeat_n(v, cols.len()));
        x.indices.extend(cols);
        x.indptr.push(x.indices.len());
        x.dense.extend(dense);
    }
    x
}

/// The rows of one fit, with the dense block standardised by the fit's own statistics.
struct FoldDesign<'a> {
    x: &'a FeatureRows,
    rows: &'a [usize],
    mean: Vec<f64>,
    scale: Vec<f64>,
}

impl<'a> FoldDesign<'a> {
    fn new(x: &'a FeatureRows, rows: &'a [usize]) -> FoldDesign<'a> {
        let p = x.dense_cols;
        let n = rows.len().max(1) as f64;
        let mut mean = vec![0.0; p];
        for &r in rows {
            for (m, v) in mean.iter_mut().zip(&x.dense[r * p..(r + 1) * p]) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0; p];
        for &r in rows {
            for ((s, v), m) in var.iter_mut().zip(&x.dense[r * p..(r + 1) * p]).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        // A constant column (all texts the same length) is left at zero, not divided by 0.
        let scale = var.iter().map(|s| (s / n).sqrt()).map(|s| if s > 1e-12 { s } else { f64::INFINITY }).collect();
        FoldDesign { x, rows, mean, scale }
    }

    /// The linear predictor of record `r` (any record) under weights `w` (sparse then dense).
    fn row_dot(&self, r: usize, w: &[f64]) -> f64 {
        let x = self.x;
        let (ws, wd) = w.split_at(x.sparse_cols);
        let mut s: f64 = (x.indptr[r]..x.indptr[r + 1]).map(|k| x.values[k] * ws[x.indices[k] as usize]).sum();
        let p = x.dense_cols;
        for (j, wj) in wd.iter().enumerate() {
            s += (x.dense[r * p + j] - self.mean[j]) / self.scale[j] * wj;
        }
        s
    }
}

impl LinearDesign for FoldDesign<'_> {
    fn n_rows(&self) -> usize {
        self.rows.len()
    }
    fn n_cols(&self) -> usize {
        self.x.sparse_cols + self.x.dense_cols
    }
    fn matmul(&self, w: &[f64], k: usize, out: &mut [f64]) {
        debug_assert_eq!(k, 1, "the blind classifier is binary");
        for (o, &r) in out.iter_mut().zip(self.rows) {
            *o = self.row_dot(r, w);
        }
    }
    fn t_matmul(&self, z: &[f64], k: usize, out: &mut [f64]) {
        debug_assert_eq!(k, 1, "the blind classifier is binary");
        out.fill(0.0);
        let x = self.x;
        let p = x.dense_cols;
        let (os, od) = out.split_at_mut(x.sparse_cols);
        for (&zr, &r) in z.iter().zip(self.rows) {
            for k in x.indptr[r]..x.indptr[r + 1] {
                os[x.indices[k] as usize] += x.values[k] * zr;
            }
            for (j, o) in od.iter_mut().enumerate() {
                *o += (x.dense[r * p + j] - self.mean[j]) / self.scale[j] * zr;
            }
        }
    }
}

/// The classifier's settings: L2 strength as scikit-learn's `C` and L-BFGS's limits.
const C: f64 = 1.0;
const MAX_ITER: usize = 500;
const TOL: f64 = 1e-6;

/// Cross-fitted blind scores: record i's log-odds of membership from a logistic regression
/// fitted on the folds other than `fold[i]` (`folds` of them). Also returns how many fits
/// stopped at the iteration limit.
pub fn cross_fitted_blind_logistic(
    x: &FeatureRows,
    member: &[bool],
    fold: &[usize],
    folds: usize,
) -> (Vec<f64>, usize) {
    let n = member.len();
    let y: Vec<usize> = member.iter().map(|&m| usize::from(m)).collect();
    let fits: Vec<(Vec<(usize, f64)>, bool)> = (0..folds)
        .into_par_iter()
        .map(|f| {
            let train: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
            let design = FoldDesign::new(x, &train);
            let y_train: Vec<usize> = train.iter().map(|&i| y[i]).collect();
            let l2 = 1.0 / (C * train.len().max(1) as f64);
            let mut loss = LogLoss::new(&design, &y_train, 1, l2);
            let mut theta = vec![0.0; loss.dim()];
            let run = lbfgs(&mut loss, &mut theta, MAX_ITER, TOL);
            let (w, b) = theta.split_at(design.n_cols());
            let scored = (0..n).filter(|&i| fold[i] == f).map(|i| (i, design.row_dot(i, w) + b[0])).collect();
            (scored, run.converged)
        })
        .collect();
    let mut out = vec![0.0; n];
    let mut unconverged = 0;
    for (scored, converged) in fits {
        unconverged += usize::from(!converged);
        for (i, v) in scored {
            out[i] = v;
        }
    }
    (out, unconverged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attacks::stratified_folds;
    use crate::roc::{FprRule, RankedScores};

    #[test]
    fn date_like_tokens() {
        for t in ["1999", "2024,", "May", "(Monday)", "2024-05-01", "5/1/24", "01.05.2024"] {
            assert!(date_like(t), "{t}");
        }
        for t in ["999", "2100", "12345", "hello", "3.14159", "a-b", "1/2/3/4", "--"] {
            assert!(!date_like(t), "{t}");
        }
    }

    #[test]
    fn features_of_a_text_by_hand() {
        let x = text_features(&["The cat, the CAT!", ""]);
        // Words: the cat the cat → unigrams {the, cat}, bigrams {the cat, cat the}: 4 distinct.
        assert_eq!(x.indptr, [0, 4, 4]);
        assert!(x.values.iter().all(|&v| (v - 0.5).abs() < 1e-15));
        assert_eq!(&x.dense[..3], &[18f64.ln(), 5f64.ln(), 0.0]);
        assert_eq!(&x.dense[3..], &[0.0, 0.0, 0.0]);
    }

    fn auc(scores: &[f64], member: &[bool]) -> f64 {
        RankedScores::new(scores, member).metrics(&[], FprRule::AtMost).auc
    }

    /// Members dated one year and written about one topic, non-members another: the blind
    /// classifier must separate them; a split by a fair coin over the same texts must not.
    #[test]
    fn separates_a_shifted_split_and_not_a_random_one() {
        let topics = [["river", "boat", "water", "fish"], ["engine", "code", "server", "disk"]];
        let mut texts = Vec::new();
        let mut shifted = Vec::new();
        for i in 0..400usize {
            let m = i % 2 == 0;
            let t = &topics[usize::from(!m)];
            let year = if m { 1998 } else { 2023 };
            texts.push(format!(
                "In {year} the {} met the {} near {} {}.",
                t[i % 4],
                t[(i / 4) % 4],
                i % 7,
                t[(i / 16) % 4]
            ));
            shifted.push(m);
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let x = text_features(&refs);
        let fold = stratified_folds(&shifted, 5, 3);
        let (s, unconverged) = cross_fitted_blind_logistic(&x, &shifted, &fold, 5);
        assert_eq!(unconverged, 0);
        assert!(auc(&s, &shifted) > 0.99, "{}", auc(&s, &shifted));

        let coin: Vec<bool> = (0..400u64).map(|i| crate::bootstrap::mix_seed(7, i).is_multiple_of(2)).collect();
        let fold = stratified_folds(&coin, 5, 3);
        let (s, _) = cross_fitted_blind_logistic(&x, &coin, &fold, 5);
        let a = auc(&s, &coin);
        assert!((a - 0.5).abs() < 0.1, "{a}");
    }

    #[test]
    fn dense_only_rows_and_constant_columns() {
        let n = 200;
        let member: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        // Column 0 separates, column 1 is constant.
        let dense: Vec<f64> = (0..n).flat_map(|i| [if member[i] { 1.0 } else { -1.0 } + (i % 5) as f64, 3.0]).collect();
        let x = FeatureRows::dense(dense, 2);
        assert_eq!(x.n_rows(), n);
        let fold = stratified_folds(&member, 4, 0);
        let (s, _) = cross_fitted_blind_logistic(&x, &member, &fold, 4);
        assert!(s.iter().all(|v| v.is_finite()));
        assert!(auc(&s, &member) > 0.6);
    }
}
