#!/usr/bin/env python3
"""Reference predictions for the gradient-boosted quantile regressor (crates/mia-models/src/gbt.rs,
`fit_quantile_gbt`), from scikit-learn's HistGradientBoostingRegressor(loss="quantile").

Writes fixtures/gbt_quantile/sklearn_quantile.json (generated with scikit-learn 1.9.1, numpy 2.4.6; the
versions that ran are recorded in the file). Deterministic: no randomness is involved anywhere.

Two cases on vendored real data, each fitted for quantile levels alpha = 0.05, 0.5 and 0.95 with

    HistGradientBoostingRegressor(loss="quantile", quantile=alpha, max_iter=40, learning_rate=0.1,
                                  max_leaf_nodes=15, min_samples_leaf=10, l2_regularization=0.0,
                                  max_bins=255, early_stopping=False)

1. "location_mlp_hinge" -- the setting of the quantile-regression membership attack (Bertran et al.,
   NeurIPS 2023). Records of Location-30 (data/location/bangkok.csv.gz, 446 binary features) and the
   demo target model's logits on them (data/scores/location_mlp.csv.gz, an MLP trained on a random half).
   Target y = the hinge score  logit[label] - max_{j != label} logit[j], rounded to 6 decimals.
   Train = the first 300 non-member records (member = 0) in file order (the "population");
   test = the next 50 non-members and the first 50 members, in file order.
   Features are stored as the list of the indices of the 1s of each row.
2. "adult_hours" -- UCI Adult (data/adult/adult.data.gz), first 300 rows train, next 100 test;
   features age, fnlwgt, education-num, capital-gain, capital-loss (raw integers; fnlwgt has more than
   255 distinct values, so it is binned by quantiles) and sex == "Male" (0/1); target hours-per-week
   (an integer with heavy ties, e.g. at 40). Features are stored densely as integers.

Every feature value is an integer, so it is exact in float32 (the Rust learner takes float32 features)
and in JSON. y is rounded to 6 decimals before fitting, so the JSON text parses to the same float64 in
Python and in Rust. For each fit the file holds the baseline (model._baseline_prediction), the leaves of
every tree, the training coverage mean(y <= prediction), and the predictions (float64 repr) on the
training rows and on the test rows.

Usage:  python3 scripts/sklearn_gbt_quantile.py        (a few seconds)
"""

import csv
import gzip
import io
import json
import platform
from pathlib import Path

import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingRegressor

ROOT = Path(__file__).resolve().parent.parent
LOCATION = ROOT / "data" / "location" / "bangkok.csv.gz"
LOCATION_SCORES = ROOT / "data" / "scores" / "location_mlp.csv.gz"
ADULT = ROOT / "data" / "adult" / "adult.data.gz"
OUT = ROOT / "fixtures" / "gbt_quantile" / "sklearn_quantile.json"

ALPHAS = [0.05, 0.5, 0.95]
PARAMS = dict(max_iter=40, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=10, l2_regularization=0.0,
              max_bins=255, early_stopping=False)


def location_case():
    feats = np.loadtxt(LOCATION, delimiter=",", dtype=str)[:, 1:].astype(np.float64)
    assert feats.shape == (5010, 446) and set(np.unique(feats)) <= {0.0, 1.0}
    with gzip.open(LOCATION_SCORES, "rt", encoding="ascii") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5010
    member = np.array([int(r["member"]) for r in rows])
    label = np.array([int(r["label"]) for r in rows])
    logits = np.array([[float(r[f"logit_{k}"]) for k in range(30)] for r in rows])
    assert all(int(r["id"][4:]) == i for i, r in enumerate(rows))
    others = logits.copy()
    others[np.arange(5010), label] = -np.inf
    hinge = np.round(logits[np.arange(5010), label] - others.max(axis=1), 6)
    non = np.flatnonzero(member == 0)
    mem = np.flatnonzero(member == 1)
    train = non[:300]
    test = np.concatenate([non[300:350], mem[:50]])
    enc = lambda idx: [[int(j) for j in np.flatnonzero(feats[i])] for i in idx]
    case = {
        "name": "location_mlp_hinge",
        "n_features": 446,
        "feature_storage": "ones: per row, the 0-based indices of the features equal to 1 (the others are 0)",
        "train_records": [int(i) for i in train],
        "test_records": [int(i) for i in test],
        "x_train_ones": enc(train),
        "x_test_ones": enc(test),
        "y_train": [float(v) for v in hinge[train]],
        "y_test": [float(v) for v in hinge[test]],
    }
    return case, feats[train], hinge[train], feats[test]


def adult_case():
    text = gzip.decompress(ADULT.read_bytes()).decode("ascii")
    rows = [[v.strip() for v in line.split(",")] for line in io.StringIO(text) if line.strip()]
    assert len(rows) == 32561
    # age, fnlwgt, education-num, capital-gain, capital-loss, sex == Male; target hours-per-week.
    x = np.array([[float(r[0]), float(r[2]), float(r[4]), float(r[10]), float(r[11]), float(r[9] == "Male")]
                  for r in rows])
    y = np.array([float(r[12]) for r in rows])
    train, test = np.arange(300), np.arange(300, 400)
    assert len(np.unique(x[train, 1])) > 255
    case = {
        "name": "adult_hours",
        "n_features": 6,
        "feature_storage": "dense: age, fnlwgt, education-num, capital-gain, capital-loss, sex == Male",
        "train_records": [int(i) for i in train],
        "test_records": [int(i) for i in test],
        "x_train": [[int(v) for v in r] for r in x[train]],
        "x_test": [[int(v) for v in r] for r in x[test]],
        "y_train": [float(v) for v in y[train]],
        "y_test": [float(v) for v in y[test]],
    }
    return case, x[train], y[train], x[test]


def fits(xtr, ytr, xte):
    # The Rust learner sees float32 features; every value here is an integer, exact in both.
    assert np.array_equal(xtr.astype(np.float32).astype(np.float64), xtr)
    out = []
    for alpha in ALPHAS:
        model = HistGradientBoostingRegressor(loss="quantile", quantile=alpha, **PARAMS).fit(xtr, ytr)
        ptr, pte = model.predict(xtr), model.predict(xte)
        assert model.n_iter_ == PARAMS["max_iter"]
        out.append({
            "alpha": alpha,
            "baseline": float(np.ravel(model._baseline_prediction)[0]),
            "n_leaves": [int(p.get_n_leaf_nodes()) for it in model._predictors for p in it],
            "train_coverage": float(np.mean(ytr <= ptr)),
            "train_pred": [float(v) for v in ptr],
            "test_pred": [float(v) for v in pte],
        })
    return out


def main():
    cases = []
    for make in (location_case, adult_case):
        case, xtr, ytr, xte = make()
        case["params"] = PARAMS
        case["fits"] = fits(xtr, ytr, xte)
        cases.append(case)
        print(case["name"], [(f["alpha"], f["train_coverage"], sum(f["n_leaves"])) for f in case["fits"]])
    doc = {
        "generated_by": "scripts/sklearn_gbt_quantile.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "estimator": "HistGradientBoostingRegressor(loss='quantile', quantile=alpha, **params)",
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
