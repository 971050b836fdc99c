//! STUB: to be written (see lib.rs for the contract).

use crate::{Learner, Model, ModelError, TrainSet};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GbtParams {}

pub struct GbtLearner {
    _params: GbtParams,
}

impl GbtLearner {
    pub fn new(params: GbtParams) -> Result<Self, ModelError> {
        Ok(GbtLearner { _params: params })
    }
}

impl Learner for GbtLearner {
    fn fit(&self, _data: &TrainSet<'_>, _seed: u64) -> Result<Box<dyn Model>, ModelError> {
        todo!()
    }
}
