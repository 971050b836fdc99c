//! `mia-models`: things that turn feature rows into per-record model outputs.
//!
//! One trait pair at the seam, as linfa's `Fit`/`Predict`: a [`Learner`] fits a [`Model`]
//! on chosen rows of an encoded feature matrix with a seed; a [`Model`] returns outputs
//! (logits where it has them) for any rows. ONNX models (feature `onnx`, on by default) and
//! models behind an HTTP endpoint (feature `http`, [`http`])
//! implement [`Model`] too. Built-in learners are chosen by a serde-tagged [`LearnerSpec`] so an audit
//! config can name one with its hyper-parameters.
//!
//! The `logistic` and `mlp` learners can train with DP-SGD (a `[learner.dp]` table, see [`dp`]);
//! their fitted models then report the (ε, δ) guarantee through [`Model::dp`].
//!
//! Every fit is single-threaded and deterministic (same data, rows and seed give the same
//! bits), so an audit can run many fits in parallel across cores and still produce a
//! byte-identical report whatever the thread count.

pub use dp::{DpGuarantee, DpSgd};
pub use gbt::{GbtQuantileModel, fit_quantile_gbt};
pub use mia_core::signals::ModelOutputs;
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

/// The rows a learner trains on: the encoded feature matrix of every record (N × D, f32),
/// every record's class (`0..n_classes`), and the indices of the training rows.
#[derive(Debug, Clone, Copy)]
pub struct TrainSet<'a> {
    pub x: ArrayView2<'a, f32>,
    pub y: &'a [usize],
    pub n_classes: usize,
    pub rows: &'a [usize],
}

/// A fitted model.
pub trait Model: Send + Sync {
    /// Outputs for every row of `x`, one row per record (N × C, computed in f32, returned as
    /// f64 for the signals). Logits wherever the model has them (softmax of a row gives the
    /// class probabilities; a binary model returns two columns `[0, margin]`), else
    /// probabilities. The built-in learners always return [`ModelOutputs::Logits`]; an
    /// imported model can fail at run time (rows of the wrong width, an inference error).
    fn outputs(&self, x: ArrayView2<'_, f32>) -> Result<ModelOutputs, ModelError>;

    /// The differential-privacy guarantee the model was trained under, if it was trained with
    /// DP-SGD ([`dp`]); `None` (the default) otherwise.
    fn dp(&self) -> Option<&DpGuarantee> {
        None
    }
}

/// Something that fits a [`Model`].
pub trait Learner: Send + Sync {
    /// Fits on `data.rows`, single-threaded, deterministic given `seed`.
    fn fit(&self, data: &TrainSet<'_>, seed: u64) -> Result<Box<dyn Model>, ModelError>;
}

/// Why a fit could not run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModelError {
    /// Parameters that make no sense (zero epochs, a negative penalty, ...).
    #[error("learner parameter {param}: {message}")]
    Param { param: &'static str, message: String },
    /// A config setting outside what is allowed: the key as written, the value, what is allowed.
    #[error("{key} = {value}: expected {expected}")]
    Setting { key: &'static str, value: String, expected: &'static str },
    /// Data the learner cannot fit (no rows, a class index out of range, ...).
    #[error("{0}")]
    Data(String),
    /// An ONNX model that cannot be loaded or run; the message is one line.
    #[error("{path}: {message}")]
    Onnx { path: String, message: String },
    /// A model behind an HTTP endpoint that could not be queried; the message is one line
    /// naming the batch.
    #[error("{endpoint}: {message}")]
    Http { endpoint: String, message: String },
}

/// A built-in learner and its hyper-parameters, as written in an audit config
/// (`kind = "mlp"`, then the parameters). Unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LearnerSpec {
    Logistic(logistic::LogisticParams),
    Mlp(mlp::MlpParams),
    Gbt(gbt::GbtParams),
}

impl LearnerSpec {
    /// The learner this spec describes, after checking its parameters.
    pub fn learner(&self) -> Result<Box<dyn Learner>, ModelError> {
        match self {
            LearnerSpec::Logistic(p) => Ok(Box::new(logistic::LogisticLearner::new(p.clone())?)),
            LearnerSpec::Mlp(p) => Ok(Box::new(mlp::MlpLearner::new(p.clone())?)),
            LearnerSpec::Gbt(p) => Ok(Box::new(gbt::GbtLearner::new(p.clone())?)),
        }
    }

    /// The DP-SGD settings (`[learner.dp]`), if the learner trains with differential privacy.
    pub fn dp(&self) -> Option<&dp::DpSgd> {
        match self {
            LearnerSpec::Logistic(p) => p.dp.as_ref(),
            LearnerSpec::Mlp(p) => p.dp.as_ref(),
            LearnerSpec::Gbt(_) => None,
        }
    }

    /// The (ε, δ) guarantee a DP fit on `n` training rows gets (the accountant run on the
    /// recipe the fit follows: sampling rate, steps, noise), or `None` without `[learner.dp]`.
    /// The same computation the fit itself runs, so a report can state the guarantee of a
    /// model it did not train in this run (a resumed audit reads only the model's outputs).
    pub fn dp_guarantee(&self, n: usize) -> Result<Option<dp::DpGuarantee>, ModelError> {
        let plan = match self {
            LearnerSpec::Logistic(p) => match &p.dp {
                Some(dp) => Some(logistic::dp_plan(dp, n)?),
                None => None,
            },
            LearnerSpec::Mlp(p) => match &p.dp {
                Some(dp) => Some(mlp::dp_plan(p, dp, n)?),
                None => None,
            },
            LearnerSpec::Gbt(_) => None,
        };
        Ok(plan.map(|p| p.guarantee))
    }

    /// Sets or clears the DP-SGD settings (`[learner.dp]`); `gbt` has none to set, so it
    /// refuses DP settings (naming the option).
    pub fn set_dp(&mut self, dp: Option<dp::DpSgd>) -> Result<(), ModelError> {
        match self {
            LearnerSpec::Logistic(p) => p.dp = dp,
            LearnerSpec::Mlp(p) => p.dp = dp,
            LearnerSpec::Gbt(_) if dp.is_none() => {}
            LearnerSpec::Gbt(_) => {
                return Err(ModelError::Param {
                    param: "dp",
                    message:
                        "DP-SGD needs the logistic or mlp learner; gbt does not train by gradient steps on records"
                            .into(),
                });
            }
        }
        Ok(())
    }

    /// The name used in reports (`logistic`, `mlp`, `gbt`).
    pub fn kind(&self) -> &'static str {
        match self {
            LearnerSpec::Logistic(_) => "logistic",
            LearnerSpec::Mlp(_) => "mlp",
            LearnerSpec::Gbt(_) => "gbt",
        }
    }
}

mod dense;
pub mod dp;
pub mod external;
pub mod gbt;
#[cfg(feature = "http")]
pub mod http;
pub mod interrupt;
pub mod logistic;
pub mod mlp;
#[cfg(feature = "onnx")]
pub mod onnx;
mod sparse;
pub mod trainer;
mod validate;
