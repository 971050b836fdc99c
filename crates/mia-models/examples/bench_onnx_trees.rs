//! Times `OnnxModel::outputs` (our tree-ensemble evaluator) on the models and rows that
//! `bench/compare_onnx_trees.py` wrote, and prints the ratio to onnxruntime's time on the same rows.
//! Also checks that our probabilities match onnxruntime's.
//!
//! Usage: `python3 bench/compare_onnx_trees.py` (which runs this example), or
//! `cargo run -p mia-models --example bench_onnx_trees -- /tmp/mia_onnx_bench` after it.

use mia_models::onnx::OnnxModel;
use mia_models::{Model, ModelOutputs};
use ndarray::Array2;
use ndarray_npy::ReadNpyExt;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "/tmp/mia_onnx_bench".into()));
    let timings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("timings.json")).expect("timings.json")).unwrap();
    println!(
        "{:22} {:>7} {:>11} {:>11} {:>7} {:>12}  (threads: rayon {}, onnxruntime {})",
        "model",
        "rows",
        "ours ms",
        "ort ms",
        "ratio",
        "max |Δp|",
        rayon::current_num_threads(),
        timings["cpus"]
    );
    for m in timings["models"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        let data = m["data"].as_str().unwrap();
        let read = |p: PathBuf| Array2::<f32>::read_npy(std::fs::File::open(&p).expect("npy")).unwrap();
        let x = read(dir.join(format!("{data}_rows.npy")));
        let ort = read(dir.join(format!("{name}.ort.npy")));
        let t = Instant::now();
        let model = OnnxModel::load(dir.join(format!("{name}.onnx"))).unwrap();
        let load = t.elapsed().as_secs_f64();
        let mut out = model.outputs(x.view()).unwrap(); // warm-up
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let t = Instant::now();
            out = model.outputs(x.view()).unwrap();
            best = best.min(t.elapsed().as_secs_f64());
        }
        let p = match out {
            ModelOutputs::Logits(z) => z.map_axis(ndarray::Axis(1), |r| {
                let m = r.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
                let e: Vec<f64> = r.iter().map(|v| (v - m).exp()).collect();
                let s: f64 = e.iter().sum();
                e.into_iter().map(|v| v / s).collect::<Vec<_>>()
            }),
            ModelOutputs::Probabilities(p) => p.outer_iter().map(|r| r.to_vec()).collect(),
            ModelOutputs::Loss(_) => unreachable!(),
        };
        let diff = p
            .iter()
            .zip(ort.outer_iter())
            .flat_map(|(a, b)| a.iter().zip(b.iter()).map(|(x, y)| (x - f64::from(*y)).abs()).collect::<Vec<_>>())
            .fold(0.0, f64::max);
        let ort_s = m["ort_seconds"].as_f64().unwrap();
        println!(
            "{name:22} {:>7} {:>11.2} {:>11.2} {:>7.2} {diff:>12.2e}  (load {:.0} ms)",
            x.nrows(),
            best * 1e3,
            ort_s * 1e3,
            best / ort_s,
            load * 1e3
        );
    }
}
