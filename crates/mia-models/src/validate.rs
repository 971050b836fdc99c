//! Checks every built-in learner runs on its [`TrainSet`] before fitting, so that bad data gives a
//! [`ModelError::Data`] naming the row and column rather than a panic or a silent NaN model.

use crate::{ModelError, TrainSet};

/// `Ok` when the training rows can be fitted: at least two classes, at least one row, every row
/// index and class in range, every feature value of a training row finite.
pub(crate) fn check_train_set(data: &TrainSet<'_>) -> Result<(), ModelError> {
    let n = data.x.nrows();
    if data.n_classes < 2 {
        return Err(ModelError::Data(format!(
            "a classifier needs at least 2 classes, got n_classes = {}",
            data.n_classes
        )));
    }
    if data.y.len() != n {
        return Err(ModelError::Data(format!("{} labels for a feature matrix of {n} rows", data.y.len())));
    }
    if data.rows.is_empty() {
        return Err(ModelError::Data("no training rows".into()));
    }
    if n > u32::MAX as usize || data.x.ncols() > u32::MAX as usize {
        return Err(ModelError::Data(format!("feature matrix of {n} x {} is too large", data.x.ncols())));
    }
    for &r in data.rows {
        if r >= n {
            return Err(ModelError::Data(format!("training row {r} is out of range: the feature matrix has {n} rows")));
        }
        let y = data.y[r];
        if y >= data.n_classes {
            return Err(ModelError::Data(format!("row {r}: class {y} is out of range 0..{}", data.n_classes)));
        }
        if let Some((c, v)) = data.x.row(r).iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ModelError::Data(format!("row {r}, column {c}: feature value {v} is not finite")));
        }
    }
    Ok(())
}

/// `Err(Param)` unless `v` is finite and within `[lo, hi]` (`lo_open`: strictly above `lo`).
pub(crate) fn check_range(param: &'static str, v: f64, lo: f64, lo_open: bool, hi: f64) -> Result<(), ModelError> {
    let ok = v.is_finite() && (if lo_open { v > lo } else { v >= lo }) && v <= hi;
    if ok {
        Ok(())
    } else {
        let lo_s = if lo_open { format!("> {lo}") } else { format!(">= {lo}") };
        let hi_s = if hi.is_finite() { format!(" and <= {hi}") } else { String::new() };
        Err(ModelError::Param { param, message: format!("must be finite, {lo_s}{hi_s}; got {v}") })
    }
}
