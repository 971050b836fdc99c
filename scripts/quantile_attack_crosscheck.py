#!/usr/bin/env python3
"""Independent scores of the quantile-regression membership attack (Bertran et al., NeurIPS 2023;
crates/mia-audit/src/quantile.rs, `quantile_attack`) on bundled real data, with scikit-learn.

Writes fixtures/expected/quantile_digits.json (scikit-learn 1.9.1, numpy 2.4.6; the versions that ran
are recorded in the file). Deterministic: nothing here draws random numbers.

Data: the digits score fixture (fixtures/scores/digits_logreg.csv: a scikit-learn LogisticRegression's
logits on all 1,797 digits records, trained on a seeded half, scripts/make_fixtures.py) and the records'
own features (fixtures/scores/digits_features.npy: the pixels / 16 as float32, rows in the same order,
scripts/digits_features.py).

The attack, computed here without any of mia's code:

1. phi per record from the logits, as mia_core::signals computes it for logits: phi0 = z_y - LSE_{j != y} z_j
   (LSE from the largest other logit m: m + log(sum_j exp(z_j - m)), summed in class order), then
   phi = log p_y - log(1 - p_y) with log p_y = -softplus(-phi0), log(1 - p_y) = -softplus(phi0) and
   softplus(x) = max(x, 0) + log1p(exp(-|x|)). Logits get no clipping (mia's floor on probabilities,
   f64::MIN_POSITIVE, applies to probability and loss inputs only; no digits record comes near it). Python's
   math module (the C library's exp, log, log1p) is used element by element, as Rust's f64 methods call the
   same functions, so phi is the same float64, which the Rust test checks.
2. The regressor's inputs: the 64 features (float32, passed to scikit-learn as float64, exactly) and the
   label as 10 one-hot columns, appended after the features.
3. The population case (no cross-fitting, so nothing here depends on mia's fold assignment): fit on a fixed
   set of non-members -- the first 600 records with member = 0, in file order -- and score every other
   record (the remaining 299 non-members and all 898 members, in file order):

       HistGradientBoostingRegressor(loss="quantile", quantile=1 - alpha, max_iter=100, learning_rate=0.1,
                                     max_leaf_nodes=31, min_samples_leaf=20, l2_regularization=0.0,
                                     max_bins=255, early_stopping=False)

   (mia's QuantileConfig defaults), score = phi - predict(x), for alpha = 0.01 (mia's default) and 0.1.

The file holds, per alpha, the scores of the evaluated records and the counts of the calibration check
(evaluated non-members and members with score > 0); and phi of every record. crates/mia-audit/tests/
quantile_sklearn.rs must match the scores to 1e-9.

Usage:  python3 scripts/quantile_attack_crosscheck.py        (a few seconds)
"""

import csv
import json
import math
import platform
from pathlib import Path

import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingRegressor

ROOT = Path(__file__).resolve().parent.parent
SCORES = ROOT / "fixtures" / "scores" / "digits_logreg.csv"
FEATURES = ROOT / "fixtures" / "scores" / "digits_features.npy"
OUT = ROOT / "fixtures" / "expected" / "quantile_digits.json"

ALPHAS = [0.01, 0.1]
N_FIT = 600
PARAMS = dict(max_iter=100, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, l2_regularization=0.0,
              max_bins=255, early_stopping=False)


def softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def phi_of(z, y):
    """mia_core::signals' phi for one row of logits `z` and true class `y`, operation by operation."""
    m = -math.inf
    for j, v in enumerate(z):
        if j != y and v > m:
            m = v
    s = 0.0
    for j, v in enumerate(z):
        if j != y:
            s += math.exp(v - m)
    phi0 = z[y] - (m + math.log(s))
    return -softplus(-phi0) - (-softplus(phi0))


def main():
    with open(SCORES, newline="", encoding="ascii") as f:
        rows = list(csv.DictReader(f))
    n = len(rows)
    n_classes = sum(1 for k in rows[0] if k.startswith("logit_"))
    assert n == 1797 and n_classes == 10
    assert all(r["id"] == str(i) for i, r in enumerate(rows))
    member = np.array([r["member"] == "1" for r in rows])
    label = np.array([int(r["label"]) for r in rows])
    phi = np.array([phi_of([float(r[f"logit_{k}"]) for k in range(n_classes)], int(r["label"])) for r in rows])
    assert np.all(np.isfinite(phi))

    x = np.load(FEATURES)
    assert x.dtype == np.float32 and x.shape == (n, 64)
    design = np.hstack([x.astype(np.float64), np.eye(n_classes)[label]])

    non = np.flatnonzero(~member)
    fit = non[:N_FIT]
    evaluated = np.setdiff1d(np.arange(n), fit)  # sorted: file order
    cases = []
    for alpha in ALPHAS:
        model = HistGradientBoostingRegressor(loss="quantile", quantile=1 - alpha, **PARAMS)
        model.fit(design[fit], phi[fit])
        assert model.n_iter_ == PARAMS["max_iter"]
        scores = phi[evaluated] - model.predict(design[evaluated])
        above = scores > 0
        cases.append({
            "alpha": alpha,
            "quantile": 1 - alpha,
            "scores": [float(v) for v in scores],
            "non_members_above": int(np.sum(above & ~member[evaluated])),
            "members_above": int(np.sum(above & member[evaluated])),
        })
        print(f"alpha {alpha}: FPR {np.mean(scores[~member[evaluated]] > 0):.4f}, "
              f"TPR {np.mean(scores[member[evaluated]] > 0):.4f}")
    doc = {
        "generated_by": "scripts/quantile_attack_crosscheck.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "estimator": "HistGradientBoostingRegressor(loss='quantile', quantile=1 - alpha, **params)",
        "params": PARAMS,
        "conventions": {
            "records": "0-based row indices of fixtures/scores/digits_logreg.csv (= its ids)",
            "features": "digits_features.npy (64 float32 columns), then the label one-hot (10 columns)",
            "fit_records": "the first 600 non-members in file order",
            "eval_records": "every other record, in file order",
            "score": "phi - predicted (1 - alpha) quantile of phi",
        },
        "phi": [float(v) for v in phi],
        "fit_records": [int(i) for i in fit],
        "eval_records": [int(i) for i in evaluated],
        "cases": cases,
    }
    OUT.write_text(json.dumps(doc) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
