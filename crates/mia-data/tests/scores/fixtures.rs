//! The real fixtures in `fixtures/scores/` (made by a Python script from scikit-learn's
//! digits and breast-cancer sets): the CSV, Parquet and NPY forms of the same outputs must
//! load to identical tables. Skipped (with a message) where the fixtures are absent.

use std::path::PathBuf;

use mia_core::signals::ModelOutputs;
use mia_data::{ScoreSource, ScoreTable};

use crate::*;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/scores")
}

fn fixture(name: &str) -> Option<PathBuf> {
    let p = dir().join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: fixture {} not found", p.display());
        None
    }
}

fn assert_same(a: &ScoreTable, b: &ScoreTable) {
    assert_eq!(a.ids, b.ids);
    assert_eq!(a.member, b.member);
    assert_eq!(a.labels, b.labels);
    assert_eq!(a.rows_read, b.rows_read);
    match (&a.outputs, &b.outputs) {
        (ModelOutputs::Logits(x), ModelOutputs::Logits(y)) => assert_eq!(x, y),
        (ModelOutputs::Probabilities(x), ModelOutputs::Probabilities(y)) => assert_eq!(x, y),
        (ModelOutputs::Loss(x), ModelOutputs::Loss(y)) => assert_eq!(x, y),
        (x, y) => panic!("{} vs {}", x.kind(), y.kind()),
    }
}

#[test]
fn digits_logreg_csv_parquet_and_npy_agree() {
    let Some(csv) = fixture("digits_logreg.csv") else { return };
    let c = load(&table(&csv), &strict()).unwrap();
    assert_eq!(c.len(), 1797);
    assert_eq!(c.outputs.kind(), "logits");
    assert_eq!(c.outputs.n_classes(), Some(10));
    assert_eq!(c.ids[0], "0");
    assert!(c.member.iter().any(|&m| m) && c.member.iter().any(|&m| !m));
    assert!(c.notes.is_empty(), "{:?}", c.notes);

    if let (Some(z), Some(y), Some(m), Some(i)) = (
        fixture("digits_logreg_logits.npy"),
        fixture("digits_logreg_labels.npy"),
        fixture("digits_logreg_member.npy"),
        fixture("digits_logreg_ids.npy"),
    ) {
        let src = ScoreSource::Arrays { logits: Some(z), probs: None, labels: Some(y), member: m, ids: Some(i) };
        let n = load(&src, &strict()).unwrap();
        assert_same(&c, &n);
        assert_eq!(n.inputs.len(), 4);
    }

    #[cfg(feature = "parquet")]
    if let Some(pq) = fixture("digits_logreg.parquet") {
        let p = load(&table(&pq), &strict()).unwrap();
        assert_same(&c, &p);
        assert!(p.notes.is_empty(), "{:?}", p.notes);
    }
}

#[test]
fn breast_cancer_probabilities_load() {
    let Some(p) = fixture("breast_cancer_probs.csv") else { return };
    let t = load(&table(&p), &strict()).unwrap();
    assert_eq!(t.outputs.kind(), "probabilities");
    assert_eq!(t.outputs.n_classes(), Some(2));
    assert!(t.ids[0].starts_with("bc-"));
}

#[test]
fn digits_rounded_losses_load() {
    let Some(p) = fixture("digits_loss_rounded.csv") else { return };
    let t = load(&table(&p), &strict()).unwrap();
    assert_eq!(t.outputs.kind(), "loss");
}
