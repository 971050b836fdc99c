//! STUB: to be written (see lib.rs for the contract).

use crate::{Learner, Model, ModelError, TrainSet};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogisticParams {}

pub struct LogisticLearner {
    _params: LogisticParams,
}

impl LogisticLearner {
    pub fn new(params: LogisticParams) -> Result<Self, ModelError> {
        Ok(LogisticLearner { _params: params })
    }
}

impl Learner for LogisticLearner {
    fn fit(&self, _data: &TrainSet<'_>, _seed: u64) -> Result<Box<dyn Model>, ModelError> {
        todo!()
    }
}
