//! ONNX models exported by the real converters (skl2onnx, onnxmltools, torch.onnx) from models trained
//! on Adult and Location-30 must give the framework's own probabilities — and its own logits where it
//! has them — on the same float32 rows. Expected values come from `scripts/onnx_fixtures.py`, which
//! computed them with scikit-learn / XGBoost / LightGBM / PyTorch in Python (`predict_proba`,
//! `decision_function`, `output_margin`, `raw_score`, the network's pre-softmax output), not with
//! onnxruntime; onnxruntime's probabilities are checked too.
#![cfg(feature = "onnx")]

use mia_models::onnx::{OnnxModel, OnnxOutputKind};
use mia_models::{Model, ModelError, ModelOutputs};
use ndarray::{Array2, Axis};
use ndarray_npy::ReadNpyExt;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/onnx")
}

fn npy<T: ndarray_npy::ReadableElement>(name: &str) -> Array2<T> {
    let path = dir().join(name);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if name.ends_with(".gz") {
        Array2::read_npy(flate2::read::GzDecoder::new(file)).unwrap()
    } else {
        Array2::read_npy(file).unwrap()
    }
}

fn softmax(z: &Array2<f64>) -> Array2<f64> {
    let mut p = z.clone();
    for mut row in p.outer_iter_mut() {
        let m = row.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        row.mapv_inplace(|v| (v - m).exp());
        let s = row.sum();
        row.mapv_inplace(|v| v / s);
    }
    p
}

fn max_abs_diff(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// Logits are defined up to a per-row constant: compare `z_k − z_0`.
fn centred(z: &Array2<f64>) -> Array2<f64> {
    let first = z.column(0).to_owned().insert_axis(Axis(1));
    z - &first
}

/// Loads `name`, runs it on its data's rows and checks it against the framework and onnxruntime.
fn check(name: &str, data: &str, kind: OnnxOutputKind) {
    let x = npy::<f32>(&format!("{data}_x.npy.gz"));
    let model = OnnxModel::load(dir().join(format!("{name}.onnx"))).unwrap();
    assert_eq!(model.width(), x.ncols(), "{name}");
    assert_eq!(model.output_kind(), kind, "{name}");
    let proba = npy::<f64>(&format!("{name}.proba.npy"));
    let ort = npy::<f32>(&format!("{name}.ort.npy")).mapv(f64::from);
    let out = model.outputs(x.view()).unwrap();
    let ours = match &out {
        ModelOutputs::Logits(z) => {
            assert_eq!(kind, OnnxOutputKind::Logits, "{name}");
            let logits_path = dir().join(format!("{name}.logits.npy"));
            if logits_path.exists() {
                let want = npy::<f64>(&format!("{name}.logits.npy"));
                let (a, b) = (centred(z), centred(&want));
                let scale = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                let d = max_abs_diff(&a, &b);
                assert!(d <= 1e-5 * scale, "{name}: logits differ from the framework's by {d} (scale {scale})");
            }
            softmax(z)
        }
        ModelOutputs::Probabilities(p) => {
            assert_eq!(kind, OnnxOutputKind::Probabilities, "{name}");
            p.clone()
        }
        ModelOutputs::Loss(_) => panic!("{name}: losses"),
    };
    let d = max_abs_diff(&ours, &proba);
    assert!(d <= 1e-5, "{name}: probabilities differ from the framework's by {d}");
    let d = max_abs_diff(&ours, &ort);
    assert!(d <= 1e-5, "{name}: probabilities differ from onnxruntime's by {d}");
}

#[test]
fn sklearn_logistic_regression_multiclass_and_binary() {
    check("sk_logreg_location", "location", OnnxOutputKind::Logits);
    check("sk_logreg_adult", "adult", OnnxOutputKind::Logits);
}

#[test]
fn sklearn_mlp_with_and_without_standard_scaler() {
    // The pipeline starts with an ai.onnx.ml Scaler (registered in tract by us) and ends with
    // Concat(1 − Sigmoid(z), Sigmoid(z)); the multiclass net ends with Softmax.
    check("sk_scaler_mlp_adult", "adult", OnnxOutputKind::Logits);
    check("sk_mlp_location", "location", OnnxOutputKind::Logits);
}

#[test]
fn sklearn_random_forests_give_probabilities() {
    check("sk_rf_adult", "adult", OnnxOutputKind::Probabilities);
    check("sk_rf_location", "location", OnnxOutputKind::Probabilities);
}

#[test]
fn sklearn_gradient_boosting_binary_single_base_value() {
    check("sk_gbc_adult", "adult", OnnxOutputKind::Logits);
}

#[test]
fn xgboost_binary_and_multiclass() {
    check("xgb_adult", "adult", OnnxOutputKind::Logits);
    check("xgb_location", "location", OnnxOutputKind::Logits);
}

#[test]
fn lightgbm_binary_and_multiclass() {
    check("lgbm_adult", "adult", OnnxOutputKind::Logits);
    check("lgbm_location", "location", OnnxOutputKind::Logits);
}

#[test]
fn torch_mlp_ending_in_softmax() {
    check("torch_mlp_location", "location", OnnxOutputKind::Logits);
}

fn assert_one_line_naming(err: &ModelError, file: &str, words: &[&str]) {
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "not one line: {msg}");
    assert!(msg.starts_with(file) || msg.contains(file), "does not name {file}: {msg}");
    for w in words {
        assert!(msg.contains(w), "{msg:?} lacks {w:?}");
    }
}

#[test]
fn wrong_width_is_a_one_line_error_naming_the_file() {
    let path = dir().join("sk_rf_adult.onnx");
    let model = OnnxModel::load(&path).unwrap();
    let x = Array2::<f32>::zeros((3, 7));
    let err = model.outputs(x.view()).unwrap_err();
    assert_one_line_naming(&err, "sk_rf_adult.onnx", &["6 features", "7 columns"]);
    assert!(model.check_width(6).is_ok());
    assert_one_line_naming(&model.check_width(5).unwrap_err(), "sk_rf_adult.onnx", &["5 columns"]);
    // The same through a tract-run graph.
    let mlp = OnnxModel::load(dir().join("sk_scaler_mlp_adult.onnx")).unwrap();
    assert_one_line_naming(&mlp.outputs(x.view()).unwrap_err(), "sk_scaler_mlp_adult.onnx", &["7 columns"]);
}

#[test]
fn bad_files_are_one_line_errors_naming_the_file() {
    let missing = OnnxModel::load(dir().join("no_such_model.onnx")).unwrap_err();
    assert_one_line_naming(&missing, "no_such_model.onnx", &["cannot read"]);
    // The fixture README is not a protobuf.
    let text = OnnxModel::load(dir().join("README.md")).unwrap_err();
    assert_one_line_naming(&text, "README.md", &["not an ONNX model"]);
    let garbage = OnnxModel::from_bytes(&[0xff; 64], "garbage.onnx").unwrap_err();
    assert_one_line_naming(&garbage, "garbage.onnx", &[]);
}

#[test]
fn unsupported_operator_is_named() {
    // skl2onnx's SimpleImputer becomes ai.onnx.ml Imputer, which tract lacks.
    let err = OnnxModel::load(dir().join("bad_imputer_logreg_adult.onnx")).unwrap_err();
    assert_one_line_naming(&err, "bad_imputer_logreg_adult.onnx", &["unsupported ONNX operator Imputer"]);
}

#[test]
fn non_float_input_is_refused() {
    let err = OnnxModel::load(dir().join("bad_int_input.onnx")).unwrap_err();
    assert_one_line_naming(&err, "bad_int_input.onnx", &["not float"]);
}

#[test]
fn outputs_do_not_depend_on_batching_or_layout() {
    // Trees are evaluated in row blocks in parallel; the result of a row must not depend on its block.
    let x = npy::<f32>("location_x.npy.gz");
    let model = OnnxModel::load(dir().join("xgb_location.onnx")).unwrap();
    let ModelOutputs::Logits(all) = model.outputs(x.view()).unwrap() else { panic!() };
    let ModelOutputs::Logits(tail) = model.outputs(x.slice(ndarray::s![37.., ..])).unwrap() else { panic!() };
    assert_eq!(all.slice(ndarray::s![37.., ..]), tail);
    let t = x.t().to_owned();
    let ModelOutputs::Logits(fortran) = model.outputs(t.t()).unwrap() else { panic!() };
    assert_eq!(all, fortran);
}
