#!/usr/bin/env python3
"""Quantile-regression attack benchmark: ours (crates/mia-audit/examples/quantile_bench.rs) against
scikit-learn's HistGradientBoostingRegressor(loss="quantile") doing the same fits on the same rows.

Usage:  cargo build --release --example quantile_bench -p mia-audit
        python3 bench/quantile_bench.py [--bin target/release/examples/quantile_bench]
                                        [--workdir /tmp/mia-quantile-bench] [--repeats 3]

1. Data (deterministic): UCI Adult (data/adult/adult.data.gz, all 32,561 rows; scripts/adult_table.py),
   encoded as the regressor's features: the six numeric columns standardised and the eight text columns
   one-hot (income, the target's label, left out). A target model -- scikit-learn
   HistGradientBoostingClassifier(max_iter=300, max_leaf_nodes=127, min_samples_leaf=1, early_stopping=False),
   which overfits -- is trained on a seeded half (the members) to predict income; its logits on every row
   ([0, decision_function]) are the score input. Written to WORKDIR as features.npy (float32), logits.npy,
   labels.npy, member.npy.
2. The peer (this file): phi from the logits with numpy (log p_y - log(1 - p_y), in log space), the label
   one-hot appended to the features, then
   - cross-fitted (what `mia score --features` runs): 5 stratified folds (StratifiedKFold, shuffled, seed 0);
     for each, HistGradientBoostingRegressor(loss="quantile", quantile=0.99, max_iter=100, learning_rate=0.1,
     max_leaf_nodes=31, min_samples_leaf=20, max_bins=255, early_stopping=False) fitted on the other folds'
     non-members and predicting the fold; score = phi - prediction;
   - population case: one such fit on the non-members among even rows, predicting every odd row.
   Each timed --repeats times; the best time counts.
3. Ours: the example binary on the same files (same attack, same hyper-parameters; its folds are mia's seeded
   stratified folds, of the same sizes), timed inside the binary the same way.

Both sides use every core (scikit-learn's OpenMP threads inside each fit; ours one fit per core, the folds
in parallel). Prints one JSON object: seconds per side and the ratios, each side's share of non-members
with score > 0 (the calibration check, near alpha = 0.01 when the regressor is good), and the largest
difference between the two sides' population-case scores (the same fit on the same rows).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import StratifiedKFold

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "scripts"))
from adult_table import NUMERIC, load_adult  # noqa: E402

ALPHA = 0.01
PARAMS = dict(max_iter=100, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, l2_regularization=0.0,
              max_bins=255, early_stopping=False)


def write_data(workdir: Path) -> None:
    df = load_adult()
    y = (df["income"] == ">50K").to_numpy().astype(np.int64)
    num = df[NUMERIC].to_numpy()
    num = (num - num.mean(axis=0)) / num.std(axis=0)
    text = [c for c in df.columns if c not in NUMERIC and c != "income"]
    onehot = [(df[c] == v).to_numpy() for c in text for v in sorted(df[c].unique())]
    x = np.hstack([num, np.column_stack(onehot).astype(np.float64)]).astype(np.float32)
    rng = np.random.default_rng(0)
    member = np.zeros(len(df), dtype=bool)
    member[rng.permutation(len(df))[: len(df) // 2]] = True
    target = HistGradientBoostingClassifier(max_iter=300, max_leaf_nodes=127, min_samples_leaf=1,
                                            early_stopping=False, random_state=0)
    target.fit(x[member], y[member])
    f = target.decision_function(x)
    logits = np.column_stack([np.zeros_like(f), f])
    workdir.mkdir(parents=True, exist_ok=True)
    np.save(workdir / "features.npy", x)
    np.save(workdir / "logits.npy", logits)
    np.save(workdir / "labels.npy", y)
    np.save(workdir / "member.npy", member)


def phi_from_logits(z, y):
    zy = z[np.arange(len(y)), y]
    others = z.copy()
    others[np.arange(len(y)), y] = -np.inf
    m = others.max(axis=1)
    phi0 = zy - (m + np.log(np.exp(others - m[:, None]).sum(axis=1)))
    softplus = lambda v: np.maximum(v, 0) + np.log1p(np.exp(-np.abs(v)))  # noqa: E731
    return -softplus(-phi0) + softplus(phi0)


def best(repeats, f):
    t_best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = f()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best, out


def peer(workdir: Path, repeats: int) -> dict:
    x = np.load(workdir / "features.npy")
    z = np.load(workdir / "logits.npy")
    y = np.load(workdir / "labels.npy")
    member = np.load(workdir / "member.npy")
    t_phi, phi = best(repeats, lambda: phi_from_logits(z, y))
    design = np.hstack([x, np.eye(z.shape[1], dtype=np.float32)[y]])

    def cross_fitted():
        scores = np.empty(len(y))
        for rest, fold in StratifiedKFold(5, shuffle=True, random_state=0).split(design, member):
            fit = rest[~member[rest]]
            model = HistGradientBoostingRegressor(loss="quantile", quantile=1 - ALPHA, **PARAMS)
            model.fit(design[fit], phi[fit])
            scores[fold] = phi[fold] - model.predict(design[fold])
        return scores

    def population():
        rows = np.arange(len(y))
        fit = rows[(rows % 2 == 0) & ~member]
        test = rows[rows % 2 == 1]
        model = HistGradientBoostingRegressor(loss="quantile", quantile=1 - ALPHA, **PARAMS)
        model.fit(design[fit], phi[fit])
        return phi[test] - model.predict(design[test])

    t_cross, scores = best(repeats, cross_fitted)
    t_pop, pop_scores = best(repeats, population)
    np.save(workdir / "peer_population.npy", pop_scores)
    return {
        "phi_s": round(t_phi, 4),
        "cross_fitted_s": round(t_cross, 4),
        "population_s": round(t_pop, 4),
        "fpr_at_0": round(float(np.mean(scores[~member] > 0)), 6),
        "tpr_at_0": round(float(np.mean(scores[member] > 0)), 6),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", type=Path, default=ROOT / "target" / "release" / "examples" / "quantile_bench")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/mia-quantile-bench"))
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    if not (a.workdir / "member.npy").exists():
        write_data(a.workdir)
    p = peer(a.workdir, a.repeats)
    out = subprocess.run([str(a.bin), str(a.workdir), str(a.repeats)], check=True, capture_output=True, text=True)
    ours = json.loads(out.stdout)
    # The population case fits the same rows with the same parameters on both sides: the same scores,
    # up to numpy's phi (its vectorised exp/log1p may differ from the C library's in the last bit).
    diff = np.abs(np.load(a.workdir / "ours_population.npy") - np.load(a.workdir / "peer_population.npy"))
    result = {
        "records": ours["records"],
        "features": ours["features"],
        "cores": os.cpu_count(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "peer": p,
        "ours": ours,
        "ratio_cross_fitted": round(p["cross_fitted_s"] / ours["cross_fitted_s"], 2),
        "ratio_population": round(p["population_s"] / ours["population_s"], 2),
        "population_scores_max_abs_diff": float(diff.max()),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
