//! STUB: to be written (see lib.rs for the contract).

use crate::{Learner, Model, ModelError, TrainSet};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlpParams {}

pub struct MlpLearner {
    _params: MlpParams,
}

impl MlpLearner {
    pub fn new(params: MlpParams) -> Result<Self, ModelError> {
        Ok(MlpLearner { _params: params })
    }
}

impl Learner for MlpLearner {
    fn fit(&self, _data: &TrainSet<'_>, _seed: u64) -> Result<Box<dyn Model>, ModelError> {
        todo!()
    }
}
