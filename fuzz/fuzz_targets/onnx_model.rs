//! `[target] onnx = "model.onnx"`: loading an ONNX model (mia-models onnx/, through tract)
//! and, when it loads, running it on two rows of its input width.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mia_fuzz::check;
use mia_models::Model;
use mia_models::onnx::OnnxModel;

/// Widths above this are not run (the fixtures' widest model takes 446 features).
const MAX_RUN_WIDTH: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let model = OnnxModel::from_bytes(data, "model.onnx");
    check(&model);
    if let Ok(model) = model
        && model.width() <= MAX_RUN_WIDTH
    {
        let x = ndarray::Array2::from_shape_fn((2, model.width()), |(i, j)| (i * 3 + j) as f32 * 0.25 - 1.0);
        check(&model.outputs(x.view()));
    }
});
