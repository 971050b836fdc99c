#!/usr/bin/env python3
"""scikit-learn reference numbers for the built-in learners of `crates/mia-models`.

Two jobs:

  python3 scripts/sklearn_learners.py fixtures   (default; a few minutes, one BLAS thread)
      Writes fixtures/models/sklearn_accuracy.json: train/test accuracy of scikit-learn
      LogisticRegression and MLPClassifier on Location-30 and UCI Adult, encoded and split exactly
      as the Rust test `crates/mia-models/tests/accuracy.rs` does; and fixtures/models/sklearn_lr_tiny.json:
      the optimum of LogisticRegression on two tiny problems (binary and 3-class), solved to a tight
      tolerance, for the unit test that checks our solver lands on the same coefficients.

  python3 scripts/sklearn_learners.py bench [--hidden 256] [--epochs 200] [--batch 200] [--repeat 2]
                                             [--threads 0 1] [--logistic]
      Times MLPClassifier.fit on the Location-30 training rows (even row indices) with the same
      hyper-parameters as `cargo run --release -p mia-models --example bench_mlp` (a fixed number of
      epochs: the plateau stop is disabled by n_iter_no_change = max_iter), with numpy's BLAS on all
      cores (0) and on one thread (1). Prints JSON with wall and CPU (process) seconds.

Data and encoding (the rule shared with mia-data):
  * Location-30 (data/location/bangkok.csv.gz): no header, column 0 is the class as "1".."30" (-> 0..29),
    columns 1..446 are binary 0/1 features used RAW (not standardised: they are binary).
  * UCI Adult (data/adult/adult.data.gz): numeric columns standardised with the mean and population std
    (ddof 0) over ALL rows (std 0 -> scale 1); categorical columns (spaces trimmed) one-hot over the sorted
    distinct values of all rows, "?" being its own category; feature order = column order, each categorical
    expanded in sorted category order; label ">50K" -> 1, "<=50K" -> 0.
  * Split: train = rows with even 0-based index, test = odd.

Everything is seeded and the fixtures hold no timings: the same library versions reproduce the same bytes.
"""

import argparse
import gzip
import io
import csv
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
OUT = ROOT / "fixtures" / "models"

VERSIONS = f"python {sys.version.split()[0]}, numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}"

ADULT_COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
                 "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
                 "income"]
ADULT_NUMERIC = {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"}

# Hyper-parameters of the accuracy fixtures; tests/accuracy.rs uses the same values.
LR_PARAMS = {"C": 1.0, "max_iter": 1000}
MLP_PARAMS = {
    "location": {"hidden_layer_sizes": [128], "alpha": 1e-3, "batch_size": 200, "learning_rate_init": 1e-3,
                 "max_iter": 100, "tol": 1e-4, "n_iter_no_change": 10, "shuffle": True},
    "adult": {"hidden_layer_sizes": [64], "alpha": 1e-4, "batch_size": 200, "learning_rate_init": 1e-3,
              "max_iter": 20, "tol": 1e-4, "n_iter_no_change": 10, "shuffle": True},
}
MLP_SEEDS = [0, 1, 2, 3, 4]


def read_rows(path: Path):
    return list(csv.reader(io.StringIO(gzip.decompress(path.read_bytes()).decode())))


def load_location():
    rows = read_rows(DATA / "location" / "bangkok.csv.gz")
    y = np.array([int(r[0]) - 1 for r in rows], dtype=np.int64)
    x = np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float64)
    assert x.shape == (5010, 446), x.shape
    return x, y


def load_adult():
    rows = [r for r in read_rows(DATA / "adult" / "adult.data.gz") if r]
    rows = [[v.strip() for v in r] for r in rows]
    assert len(rows) == 32561 and all(len(r) == 15 for r in rows)
    y = np.array([1 if r[14] == ">50K" else 0 for r in rows], dtype=np.int64)
    assert set(r[14] for r in rows) == {">50K", "<=50K"}
    blocks = []
    for c, name in enumerate(ADULT_COLUMNS[:-1]):
        col = [r[c] for r in rows]
        if name in ADULT_NUMERIC:
            v = np.array([float(s) for s in col])
            mean = v.mean()
            std = v.std()  # population std (ddof 0)
            if std == 0:
                std = 1.0
            blocks.append(((v - mean) / std)[:, None])
        else:
            cats = sorted(set(col))
            index = {k: i for i, k in enumerate(cats)}
            onehot = np.zeros((len(col), len(cats)))
            onehot[np.arange(len(col)), [index[s] for s in col]] = 1.0
            blocks.append(onehot)
    x = np.hstack(blocks)
    return x, y


def split(x, y):
    idx = np.arange(len(y))
    tr, te = idx % 2 == 0, idx % 2 == 1
    return x[tr], y[tr], x[te], y[te]


def acc(model, x, y):
    return float(np.mean(model.predict(x) == y))


def mlp(params, seed):
    p = dict(params)
    p["hidden_layer_sizes"] = tuple(p["hidden_layer_sizes"])
    return MLPClassifier(activation="relu", solver="adam", beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                         early_stopping=False, random_state=seed, **p)


def fixtures():
    out = {
        "generator": "scripts/sklearn_learners.py fixtures",
        "versions": VERSIONS,
        "split": "train = rows with even 0-based index, test = odd",
        "datasets": {
            "location": ("data/location/bangkok.csv.gz: 5,010 rows, class \"k\" -> k-1 (30 classes), the 446 binary "
                         "0/1 features used raw (NOT standardised, they are binary)"),
            "adult": ("data/adult/adult.data.gz: 32,561 rows; numeric columns (age, fnlwgt, education-num, capital-gain, "
                      "capital-loss, hours-per-week) standardised with mean and population std (ddof 0) over all rows; "
                      "the 8 categorical columns (spaces trimmed) one-hot over sorted distinct values of all rows, '?' its "
                      "own category; column order; label '>50K' -> 1"),
        },
        "logistic": {"params": {**LR_PARAMS, "solver": "lbfgs", "penalty": "l2", "tol": 1e-4}},
        "mlp": {"params": MLP_PARAMS, "fixed": {"activation": "relu", "solver": "adam", "beta_1": 0.9, "beta_2": 0.999,
                                                 "epsilon": 1e-8, "early_stopping": False},
                "seeds": MLP_SEEDS, "note": "accuracy of MLPClassifier(random_state=s) for each seed s, and the mean"},
        "results": {},
    }
    for name, load in [("location", load_location), ("adult", load_adult)]:
        x, y = load()
        xtr, ytr, xte, yte = split(x, y)
        res = {"n_train": int(len(ytr)), "n_test": int(len(yte)), "n_features": int(x.shape[1]),
               "n_classes": int(y.max() + 1)}
        t = time.perf_counter()
        lr = LogisticRegression(**LR_PARAMS).fit(xtr, ytr)
        print(f"{name} logistic fit {time.perf_counter() - t:.2f} s", file=sys.stderr)
        res["logistic"] = {"train_accuracy": acc(lr, xtr, ytr), "test_accuracy": acc(lr, xte, yte),
                           "n_iter": int(np.max(lr.n_iter_))}
        runs = []
        for s in MLP_SEEDS:
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                m = mlp(MLP_PARAMS[name], s).fit(xtr, ytr)
            print(f"{name} mlp seed {s} fit {time.perf_counter() - t:.2f} s", file=sys.stderr)
            runs.append({"seed": s, "train_accuracy": acc(m, xtr, ytr), "test_accuracy": acc(m, xte, yte),
                         "n_iter": int(m.n_iter_), "final_loss": float(m.loss_)})
        res["mlp"] = {"runs": runs,
                      "mean_train_accuracy": float(np.mean([r["train_accuracy"] for r in runs])),
                      "mean_test_accuracy": float(np.mean([r["test_accuracy"] for r in runs]))}
        out["results"][name] = res
        print(name, json.dumps(res, indent=1), file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "sklearn_accuracy.json").write_text(json.dumps(out, indent=1) + "\n")
    tiny_lr()


def tiny_lr():
    """Two tiny problems solved to a tight tolerance: the exact optimum our L-BFGS must reach."""
    rng = np.random.default_rng(20261101)
    problems = []
    for n_classes, n, d, c in [(2, 40, 4, 1.0), (3, 60, 5, 0.5)]:
        x = np.round(rng.normal(size=(n, d)), 3)
        w = rng.normal(size=(d, n_classes))
        y = np.argmax(x @ w + rng.gumbel(size=(n, n_classes)), axis=1)
        lr = LogisticRegression(C=c, max_iter=100000, tol=1e-12).fit(x, y)
        problems.append({"n_classes": n_classes, "c": c, "x": x.tolist(), "y": y.tolist(),
                         "coef": lr.coef_.tolist(), "intercept": lr.intercept_.tolist(),
                         "n_iter": int(np.max(lr.n_iter_))})
    doc = {"generator": "scripts/sklearn_learners.py fixtures", "versions": VERSIONS,
           "note": ("LogisticRegression(C=c, tol=1e-12, max_iter=100000) (lbfgs, l2). Binary: coef is 1 x d, the logit "
                    "of class 1 is x.coef + intercept. Multiclass: coef is K x d (softmax; the intercepts sum to 0)."),
           "problems": problems}
    (OUT / "sklearn_lr_tiny.json").write_text(json.dumps(doc, indent=1) + "\n")


def bench(args):
    from threadpoolctl import threadpool_limits

    x, y = load_location()
    xtr, ytr, xte, yte = split(x, y)
    params = {"hidden_layer_sizes": [args.hidden], "alpha": args.alpha, "batch_size": args.batch,
              "learning_rate_init": 1e-3, "max_iter": args.epochs, "tol": 1e-4,
              "n_iter_no_change": args.epochs if args.fixed else 10, "shuffle": True}
    out = {"versions": VERSIONS, "data": f"location even rows {xtr.shape}", "params": params, "runs": []}
    for threads in args.threads:
        for r in range(args.repeat):
            with warnings.catch_warnings(), threadpool_limits(limits=threads if threads > 0 else None):
                warnings.simplefilter("ignore", ConvergenceWarning)
                t, c = time.perf_counter(), time.process_time()
                m = mlp(params, r).fit(xtr, ytr)
                dt, dc = time.perf_counter() - t, time.process_time() - c
            out["runs"].append({"blas_threads": threads if threads > 0 else "all", "seed": r,
                                "fit_seconds": round(dt, 3), "fit_cpu_seconds": round(dc, 3),
                                "epochs": int(m.n_iter_), "train_accuracy": acc(m, xtr, ytr),
                                "test_accuracy": acc(m, xte, yte)})
            print(json.dumps(out["runs"][-1]), file=sys.stderr)
    if args.logistic:
        with threadpool_limits(limits=args.threads[-1] if args.threads[-1] > 0 else None):
            t, c = time.perf_counter(), time.process_time()
            lr = LogisticRegression(**LR_PARAMS).fit(xtr, ytr)
            dt, dc = time.perf_counter() - t, time.process_time() - c
        out["logistic"] = {"fit_seconds": round(dt, 3), "fit_cpu_seconds": round(dc, 3),
                           "n_iter": int(np.max(lr.n_iter_)), "test_accuracy": acc(lr, xte, yte)}
    print(json.dumps(out, indent=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("job", nargs="?", default="fixtures", choices=["fixtures", "bench"])
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--alpha", type=float, default=1e-4)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, nargs="+", default=[0, 1],
                    help="BLAS thread limits to time, 0 = all cores (default: 0 1)")
    ap.add_argument("--fixed", action=argparse.BooleanOptionalAction, default=True,
                    help="train exactly --epochs epochs (no plateau stop); --no-fixed uses sklearn's rule")
    ap.add_argument("--logistic", action="store_true", help="also time LogisticRegression(C=1, max_iter=1000)")
    args = ap.parse_args()
    if args.job == "fixtures":
        from threadpoolctl import threadpool_limits

        # One BLAS thread: reproducible sums, and far faster than oversubscribing a shared machine.
        with threadpool_limits(limits=1):
            fixtures()
    else:
        bench(args)


if __name__ == "__main__":
    main()
