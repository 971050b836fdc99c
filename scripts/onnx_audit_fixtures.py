"""Fixtures for the ONNX-target audit test (crates/mia-cli/tests/onnx_target.rs).

Writes fixtures/onnx_audit/:
  location_members.csv.gz  2,000 Location-30 rows (stratified, seeded) with a header
                           (label, f1..f446) and a `member` column: the 1,000 rows the
                           model below was trained on.
  mlp.onnx                 scikit-learn MLPClassifier(hidden_layer_sizes=(64,)) trained on
                           the member rows, exported by skl2onnx (zipmap off).
  sklearn_scores.csv.gz    id, member, label, prob_0..prob_29: scikit-learn's own
                           predict_proba (float64) for every row, for `mia score`.

The features are Location-30's raw 0/1 values, which the audit's encoding passes through
unchanged with `standardize = false`, so the ONNX model sees exactly what scikit-learn saw.

Run: python3 scripts/onnx_audit_fixtures.py   (needs scikit-learn, skl2onnx, onnx, pandas)
"""
import gzip
import os

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "fixtures", "onnx_audit")


def main():
    raw = pd.read_csv(os.path.join(ROOT, "data", "location", "bangkok.csv.gz"), header=None)
    y_all = raw[0].to_numpy()
    x_all = raw.drop(columns=[0]).to_numpy(dtype=np.float32)
    idx, _ = train_test_split(np.arange(len(raw)), train_size=2000, stratify=y_all, random_state=11)
    idx = np.sort(idx)
    x, y = x_all[idx], y_all[idx]
    members = np.zeros(len(idx), dtype=bool)
    mem_idx, _ = train_test_split(np.arange(len(idx)), train_size=1000, stratify=y, random_state=12)
    members[mem_idx] = True
    assert len(np.unique(y[members])) == 30, "every class among the members"

    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=300, random_state=0)
    clf.fit(x[members], y[members])
    assert list(clf.classes_) == list(range(1, 31))
    onx = convert_sklearn(
        clf,
        initial_types=[("input", FloatTensorType([None, x.shape[1]]))],
        options={id(clf): {"zipmap": False}},
        target_opset=15,
    )
    with open(os.path.join(OUT, "mlp.onnx"), "wb") as f:
        f.write(onx.SerializeToString())

    table = pd.DataFrame(x.astype(np.int64), columns=[f"f{j}" for j in range(1, x.shape[1] + 1)])
    table.insert(0, "label", y)
    table["member"] = members.astype(int)
    with gzip.GzipFile(os.path.join(OUT, "location_members.csv.gz"), "wb", mtime=0) as f:
        f.write(table.to_csv(index=False).encode())

    proba = clf.predict_proba(x.astype(np.float64))
    scores = pd.DataFrame({"id": np.arange(1, len(idx) + 1), "member": members.astype(int), "label": y - 1})
    for k in range(proba.shape[1]):
        scores[f"prob_{k}"] = [repr(float(v)) for v in proba[:, k]]
    with gzip.GzipFile(os.path.join(OUT, "sklearn_scores.csv.gz"), "wb", mtime=0) as f:
        f.write(scores.to_csv(index=False).encode())
    print("train accuracy", clf.score(x[members], y[members]), "held-out", clf.score(x[~members], y[~members]))


if __name__ == "__main__":
    main()
