//! Inputs the fuzz targets (`fuzz/`, see FUZZING.md) found crashing a loader, kept as
//! regression tests: each must now be a one-line error, never a panic.
#![cfg(feature = "onnx")]

use mia_models::onnx::OnnxModel;
use std::path::PathBuf;

fn input(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// fixtures/onnx/lgbm_adult.onnx with its graph output `probabilities` renamed to a name no
/// node computes (found by fuzz target onnx_model): tract indexed its tensor map with the
/// name and panicked ("no entry found for key"), which `mia audit` reported as an internal
/// error (exit code 3) instead of a bad model file (exit code 2).
#[test]
fn a_graph_output_no_node_computes_is_an_error() {
    let e = match OnnxModel::from_bytes(&input("onnx_output_without_producer.onnx"), "model.onnx") {
        Ok(_) => panic!("a model whose output no node computes loaded"),
        Err(e) => e.to_string(),
    };
    assert!(!e.contains('\n') && !e.contains('\r'), "multi-line: {e:?}");
    assert!(e.starts_with("model.onnx"), "{e}");
    assert!(e.contains(r#"graph output "probab@\0@\0@\0@" is computed by no node"#), "{e}");
}
