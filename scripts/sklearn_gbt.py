#!/usr/bin/env python3
"""Reference numbers for the built-in gradient-boosted trees learner (crates/mia-models/src/gbt.rs).

Fits scikit-learn's HistGradientBoostingClassifier on the vendored UCI Adult and Location-30 data with
the encoding and split that the Rust test (crates/mia-models/tests/gbt.rs) and benchmark
(crates/mia-models/examples/bench_gbt.rs) use, and writes accuracies, log-losses, fit times and a few
raw margins to fixtures/models/sklearn_gbt.json.

Encoding rule (Adult): the numeric columns age, fnlwgt, education-num, capital-gain, capital-loss,
hours-per-week are standardised with the mean and population standard deviation (ddof 0) over all
32,561 rows; the other 8 columns are one-hot over their sorted distinct trimmed values ("?" is its own
category); feature order = column order, categories sorted; label ">50K" -> 1 else 0.
Location-30: column 0 is the class "1".."30" -> index k-1, columns 1..446 binary, used raw.
Split: train = even 0-based row index, test = odd.

The features are rounded to float32 before fitting (and widened back to float64, which sklearn uses
internally), because the Rust learner receives float32 features; both therefore bin the same numbers.

Timing: best of REPEATS fits (wall clock and process CPU time), with OpenMP limited to one thread (threadpoolctl) and with the default
thread count (os.cpu_count() on this machine; recorded in the file).

Usage:  python3 scripts/sklearn_gbt.py        (about a minute on 2 cores)
"""

import gzip
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_info, threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
ADULT = ROOT / "data" / "adult" / "adult.data.gz"
LOCATION = ROOT / "data" / "location" / "bangkok.csv.gz"
OUT = ROOT / "fixtures" / "models" / "sklearn_gbt.json"
REPEATS = 3

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
]
ADULT_NUMERIC = {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"}


def load_adult():
    rows = []
    with gzip.open(ADULT, "rt", encoding="ascii") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            fields = [v.strip() for v in line.split(",")]
            assert len(fields) == 15, line
            rows.append(fields)
    assert len(rows) == 32561, len(rows)
    y = np.array([1 if r[14] == ">50K" else 0 for r in rows], dtype=np.int64)
    blocks, names = [], []
    for j, col in enumerate(ADULT_COLUMNS):
        vals = [r[j] for r in rows]
        if col in ADULT_NUMERIC:
            v = np.array([float(s) for s in vals], dtype=np.float64)
            mu = v.mean()
            sd = v.std()  # ddof 0
            blocks.append(((v - mu) / sd)[:, None])
            names.append(col)
        else:
            cats = sorted(set(vals))
            index = {c: i for i, c in enumerate(cats)}
            onehot = np.zeros((len(vals), len(cats)))
            onehot[np.arange(len(vals)), [index[v] for v in vals]] = 1.0
            blocks.append(onehot)
            names.extend(f"{col}={c}" for c in cats)
    x = np.hstack(blocks)
    return x, y, names


def load_location():
    data = np.loadtxt(LOCATION, delimiter=",", dtype=str)
    y = np.array([int(s.strip('"')) - 1 for s in data[:, 0]], dtype=np.int64)
    x = data[:, 1:].astype(np.float64)
    assert x.shape == (5010, 446) and set(np.unique(x)) <= {0.0, 1.0}
    assert y.min() == 0 and y.max() == 29
    return x, y


def log_loss(proba, y):
    p = np.clip(proba[np.arange(len(y)), y], 1e-300, 1.0)
    return float(-np.mean(np.log(p)))


def fit_time(make, x, y, threads):
    """Best wall time and best process CPU time over REPEATS fits (CPU time sums all threads)."""
    best_wall = best_cpu = math.inf
    model = None
    for _ in range(REPEATS):
        m = make()
        if threads is None:
            c0, t0 = time.process_time(), time.perf_counter()
            m.fit(x, y)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        else:
            with threadpool_limits(limits=threads, user_api="openmp"):
                c0, t0 = time.process_time(), time.perf_counter()
                m.fit(x, y)
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
        model = m
    return model, best_wall, best_cpu


def run(name, x, y, params):
    x = x.astype(np.float32).astype(np.float64)
    idx = np.arange(len(y))
    tr, te = idx % 2 == 0, idx % 2 == 1
    xtr, ytr, xte, yte = x[tr], y[tr], x[te], y[te]

    def make():
        return HistGradientBoostingClassifier(**params)

    model, t1, c1 = fit_time(make, xtr, ytr, 1)
    _, tdef, cdef = fit_time(make, xtr, ytr, None)
    ptr, pte = model.predict_proba(xtr), model.predict_proba(xte)
    raw_te = model._raw_predict(xte)  # (n, 1) binary margin or (n, K) per-class scores
    n_leaves = [p.get_n_leaf_nodes() for it in model._predictors for p in it]
    out = {
        "params": params,
        "n_train": int(tr.sum()),
        "n_test": int(te.sum()),
        "n_features": int(x.shape[1]),
        "n_classes": int(len(model.classes_)),
        "train_accuracy": float(np.mean(ptr.argmax(1) == ytr)),
        "test_accuracy": float(np.mean(pte.argmax(1) == yte)),
        "train_log_loss": log_loss(ptr, ytr),
        "test_log_loss": log_loss(pte, yte),
        "n_iter": int(model.n_iter_),
        "total_leaves": int(sum(n_leaves)),
        "baseline_prediction": [float(v) for v in np.ravel(model._baseline_prediction)],
        "fit_seconds_1_thread": round(t1, 4),
        "fit_cpu_seconds_1_thread": round(c1, 4),
        "fit_seconds_default_threads": round(tdef, 4),
        "fit_cpu_seconds_default_threads": round(cdef, 4),
        # Raw scores (binary: margin; multiclass: per-class scores) of the first 50 test rows.
        "test_raw_head": [[round(float(v), 6) for v in r] for r in raw_te[:50]],
    }
    print(
        f"{name}: test acc {out['test_accuracy']:.4f} train acc {out['train_accuracy']:.4f} "
        f"test logloss {out['test_log_loss']:.4f} fit {t1:.3f}s wall / {c1:.3f}s CPU (1 thread), "
        f"{tdef:.3f}s wall / {cdef:.3f}s CPU (default threads)",
        file=sys.stderr,
    )
    return out


def main():
    x, y, names = load_adult()
    assert x.shape == (32561, 108), x.shape
    adult = run(
        "adult",
        x,
        y,
        dict(max_iter=100, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, l2_regularization=0.0,
             max_bins=255, early_stopping=False, random_state=0),
    )
    xl, yl = load_location()
    location = run(
        "location",
        xl,
        yl,
        dict(max_iter=30, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, l2_regularization=0.0,
             max_bins=255, early_stopping=False, random_state=0),
    )
    omp = [i for i in threadpool_info() if i.get("user_api") == "openmp"]
    doc = {
        "generated_by": "scripts/sklearn_gbt.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "default_openmp_threads": omp[0]["num_threads"] if omp else None,
        "timing": f"best of {REPEATS} fits, fit only (binning included); wall clock and process CPU time "
        "(the CPU time of a multi-threaded fit sums its threads); the machine may have been shared",
        "encoding": "see the module docstring of scripts/sklearn_gbt.py; features rounded to float32",
        "split": "train = even 0-based row index, test = odd",
        "adult": adult,
        "location": location,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
