//! End-to-end tests of `load_reference` on `.npy`, `.npz` and wide CSV inputs.

use std::fs::File;
use std::path::Path;

use mia_core::signals::compute_signals;
use ndarray::{Array1, Array3};
use ndarray_npy::{NpzWriter, WriteNpyExt};

use super::*;

const K: usize = 4;
const N: usize = 6;
const C: usize = 3;

fn table() -> ScoreTable {
    ScoreTable {
        ids: (0..N).map(|i| (100 + i).to_string()).collect(),
        member: (0..N).map(|i| i % 2 == 0).collect(),
        labels: Some((0..N).map(|i| i % C).collect()),
        outputs: ModelOutputs::Logits(Array2::zeros((N, C))),
        inputs: vec![InputFile { path: "scores.csv".into(), sha256: String::new(), bytes: 0 }],
        rows_read: N,
        skipped: Vec::new(),
        notes: Vec::new(),
    }
}

fn logits() -> Array3<f64> {
    Array3::from_shape_fn((K, N, C), |(k, n, c)| ((k * 7 + n * 3 + c * 5) % 11) as f64 * 0.7 - 3.0)
}

/// Every record IN for models (n % K) and ((n + 1) % K), OUT for the others.
fn keep() -> Array2<bool> {
    Array2::from_shape_fn((K, N), |(k, n)| k == n % K || k == (n + 1) % K)
}

fn write<T: WriteNpyExt>(dir: &Path, name: &str, a: &T) -> PathBuf {
    let p = dir.join(name);
    a.write_npy(File::create(&p).unwrap()).unwrap();
    p
}

fn phi_from_logits(l: &Array3<f64>, labels: &[usize]) -> Array2<f64> {
    let mut out = Array2::zeros((l.shape()[0], l.shape()[1]));
    for k in 0..l.shape()[0] {
        let s = compute_signals(&ModelOutputs::Logits(l.index_axis(ndarray::Axis(0), k).to_owned()), Some(labels));
        out.row_mut(k).assign(&Array1::from(s.phi));
    }
    out
}

#[test]
fn logits_probabilities_and_losses_give_the_same_phi() {
    let dir = tempfile::tempdir().unwrap();
    let t = table();
    let labels = t.labels.clone().unwrap();
    let l = logits();
    let want = phi_from_logits(&l, &labels);
    let probs = l.mapv(f64::exp);
    let probs =
        Array3::from_shape_fn((K, N, C), |(k, n, c)| probs[[k, n, c]] / (0..C).map(|j| probs[[k, n, j]]).sum::<f64>());
    let loss = Array2::from_shape_fn((K, N), |(k, n)| -probs[[k, n, labels[n]]].ln());
    let keep_path = write(dir.path(), "keep.npy", &keep());
    let opts = ReferenceOptions::default();
    for (name, signal, path) in [
        ("logits", RefSignal::Logits, write(dir.path(), "l.npy", &l)),
        ("probs", RefSignal::Probs, write(dir.path(), "p.npy", &probs)),
        ("loss", RefSignal::Loss, write(dir.path(), "loss.npy", &loss)),
    ] {
        let src =
            ReferenceSources { signal: Some(signal), keep: Some(keep_path.clone()), ..ReferenceSources::new(&path) };
        let r = load_reference(&src, &t, &opts).unwrap();
        assert_eq!(r.signal, signal);
        assert_eq!(r.keep, keep());
        assert!(!r.aligned_by_id);
        assert_eq!(r.outputs.is_some(), signal != RefSignal::Loss, "{name}");
        for (a, b) in r.phi.iter().zip(&want) {
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{name}: {a} vs {b}");
        }
        assert_eq!(r.inputs.len(), 2);
    }
}

#[test]
fn an_npz_bundle_with_ids_and_per_class_population_aligns_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let t = table();
    let labels = t.labels.clone().unwrap();
    let l = logits();
    // Columns in reverse order plus one record the score table does not hold.
    let m = N + 1;
    let rev = |j: usize| N - 1 - j;
    let lr = Array3::from_shape_fn((K, m, C), |(k, j, c)| if j < N { l[[k, rev(j), c]] } else { 0.5 });
    let kr = Array2::from_shape_fn((K, m), |(k, j)| if j < N { keep()[[k, rev(j)]] } else { k == 0 });
    let ids = Array1::from_shape_fn(m, |j| if j < N { 100 + rev(j) as i64 } else { 7 });
    let p = 5;
    let pop_t = Array2::from_shape_fn((p, C), |(i, c)| (i + c) as f64 * 0.3);
    let pop_r = Array3::from_shape_fn((K, p, C), |(k, i, c)| (k + 2 * i + c) as f64 * 0.2);
    let pop_y = Array1::from_shape_fn(p, |i| (i % C) as u8);
    let path = dir.path().join("run.npz");
    let mut z = NpzWriter::new(File::create(&path).unwrap());
    z.add_array("logits", &lr.mapv(|v| v as f32)).unwrap();
    z.add_array("keep", &kr.mapv(|b| b as u8)).unwrap();
    z.add_array("ids", &ids).unwrap();
    z.add_array("population_target", &pop_t).unwrap();
    z.add_array("population_reference", &pop_r).unwrap();
    z.add_array("population_labels", &pop_y).unwrap();
    z.finish().unwrap();
    let r = load_reference(&ReferenceSources::new(&path), &t, &ReferenceOptions::default()).unwrap();
    assert_eq!(r.signal, RefSignal::Logits);
    assert!(r.aligned_by_id);
    assert_eq!(r.keep, keep());
    assert_eq!(r.inputs.len(), 1);
    assert!(r.notes.iter().any(|n| n.contains("1 reference records are not in the score file")), "{:?}", r.notes);
    let want = phi_from_logits(&l.mapv(|v| v as f32 as f64), &labels);
    assert_eq!(r.phi, want);
    let pop = r.population.unwrap();
    let py: Vec<usize> = pop_y.iter().map(|&y| y as usize).collect();
    assert_eq!(pop.target_phi, compute_signals(&ModelOutputs::Logits(pop_t), Some(&py)).phi);
    assert_eq!(pop.reference_phi, phi_from_logits(&pop_r, &py));
    // Per-class population outputs need their labels.
    let path2 = dir.path().join("nolabels.npz");
    let mut z = NpzWriter::new(File::create(&path2).unwrap());
    z.add_array("logits", &l).unwrap();
    z.add_array("keep", &keep()).unwrap();
    z.add_array("population_target", &pop_r.index_axis(ndarray::Axis(0), 0).to_owned()).unwrap();
    z.add_array("population_reference", &pop_r).unwrap();
    z.finish().unwrap();
    let e = load_reference(&ReferenceSources::new(&path2), &t, &ReferenceOptions::default()).unwrap_err();
    assert!(e.to_string().contains("--population-labels"), "{e}");
}

#[test]
fn wide_csv_tables_with_losses_and_text_flags() {
    let dir = tempfile::tempdir().unwrap();
    let t = table();
    let mut text = String::from("id,loss_1,loss_0,keep_0,keep_1,note\n");
    for n in (0..N).rev() {
        let (a, b) = (0.1 * (n + 1) as f64, 0.05 * (n + 2) as f64);
        text.push_str(&format!("{},{b},{a},{},{},x\n", 100 + n, if n % 2 == 0 { "True" } else { "false" }, (n % 2)));
    }
    let p = dir.path().join("wide.csv");
    std::fs::write(&p, &text).unwrap();
    let opts = ReferenceOptions::default();
    let r = load_reference(&ReferenceSources::new(&p), &t, &opts).unwrap();
    assert_eq!(r.signal, RefSignal::Loss);
    assert!(r.aligned_by_id);
    for n in 0..N {
        assert_eq!(r.keep[[0, n]], n % 2 == 0);
        assert_eq!(r.keep[[1, n]], n % 2 == 1);
        let want = compute_signals(&ModelOutputs::Loss(vec![0.1 * (n + 1) as f64]), None).phi[0];
        assert_eq!(r.phi[[0, n]], want);
    }
    // Gaps in the numbering and a bad flag are errors naming the file, row and column.
    std::fs::write(&p, "phi_0,phi_2\n1,2\n").unwrap();
    let e = load_reference(&ReferenceSources::new(&p), &t, &opts).unwrap_err().to_string();
    assert!(e.contains("wide.csv") && e.contains("expected \"phi_1\", found \"phi_2\""), "{e}");
    std::fs::write(&p, "phi_0,keep_0\n1,1\n2,maybe\n").unwrap();
    let e = load_reference(&ReferenceSources::new(&p), &t, &opts).unwrap_err().to_string();
    assert!(e.contains("row 2") && e.contains("keep_0") && e.contains("\"maybe\""), "{e}");
    // Positional alignment needs the score file's record count.
    assert!(e.lines().count() == 1);
    std::fs::write(&p, "phi_0,keep_0\n1,1\n2,0\n").unwrap();
    let e = load_reference(&ReferenceSources::new(&p), &t, &opts).unwrap_err().to_string();
    assert!(e.contains("2 records") && e.contains("scores.csv has 6 records"), "{e}");
}
