//! The ai.onnx.ml `Scaler` operator for tract, which lacks it (every scikit-learn pipeline that starts
//! with a StandardScaler, as exported by skl2onnx, has one): `y = (x − offset) · scale`, with `offset`
//! and `scale` either one value or one per column (ONNX-ML operator specification, `Scaler`). It is
//! wired from tract's core `Sub` and `Mul` so tract can optimise it like any other arithmetic.

use super::proto::attr_floats;
use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::logic::wire_with_rank_broadcast;

pub(crate) fn register(reg: &mut OnnxOpRegister) {
    reg.insert("Scaler", scaler);
}

#[derive(Debug, Clone, PartialEq)]
struct Scaler {
    offset: Vec<f32>,
    scale: Vec<f32>,
}

impl Eq for Scaler {}

impl std::hash::Hash for Scaler {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for v in self.offset.iter().chain(&self.scale) {
            v.to_bits().hash(state);
        }
    }
}

fn scaler(_ctx: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let offset = attr_floats(node, "offset");
    let scale = attr_floats(node, "scale");
    Ok((expand(Scaler { offset, scale }), vec![]))
}

impl Expansion for Scaler {
    fn name(&self) -> StaticName {
        "Scaler".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, DatumType::F32)?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let mut x = inputs[0];
        if model.outlet_fact(x)?.datum_type != f32::datum_type() {
            x = model.wire_node(format!("{prefix}.to_f32"), tract_core::ops::cast::cast(f32::datum_type()), &[x])?[0];
        }
        // A missing attribute leaves the input as it is (offset 0, scale 1).
        let as_row = |v: &[f32], default: f32| -> TractResult<Tensor> {
            let v = if v.is_empty() { vec![default] } else { v.to_vec() };
            let n = v.len();
            Tensor::from_shape(&[1, n], &v)
        };
        let offset = model.add_const(format!("{prefix}.offset"), as_row(&self.offset, 0.0)?)?;
        let scale = model.add_const(format!("{prefix}.scale"), as_row(&self.scale, 1.0)?)?;
        let centred =
            wire_with_rank_broadcast(format!("{prefix}.sub"), model, tract_core::ops::math::sub(), &[x, offset])?[0];
        wire_with_rank_broadcast(format!("{prefix}.mul"), model, tract_core::ops::math::mul(), &[centred, scale])
    }
}
