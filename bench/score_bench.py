#!/usr/bin/env python3
"""Python/scikit-learn peer of mia-audit's score-only audit, for timing comparisons.

Usage:  python3 bench/score_bench.py OUTDIR [--bootstrap B] [--seed S] [--signals scipy|numpy]

Reads OUTDIR/{logits,labels,member}.npy (as written by gen_bench_data.py), computes the six score-only
signals the way a competent numpy/scipy user would (stable log-softmax), evaluates each attack with
scikit-learn (AUC, TPR at FPR <= 1e-5..1e-1, advantage) and, if B > 0, a stratified percentile bootstrap
(members and non-members resampled separately; each resample: numpy indexing + roc_auc_score + roc_curve
for every attack). Prints one JSON object to stdout.

--signals scipy (default) uses scipy.special.log_softmax/logsumexp. In scipy 1.17 these are several times
slower than a hand-written max-shifted numpy version (logsumexp over rows containing -inf especially), so
--signals numpy is offered as the stronger peer; both give the same values to rounding.

Timing (time.perf_counter; library import time is excluded):
  seconds_no_bootstrap  load + signals + point metrics
  seconds_per_resample  bootstrap wall time / B (one resample covers all six attacks); 0 when B = 0
  seconds_total         everything, including the bootstrap
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.special import log_softmax, logsumexp
from sklearn.metrics import roc_auc_score, roc_curve

FPR_TARGETS = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
TINY = np.finfo(np.float64).tiny


def lse_rows(a):
    # max-shifted log-sum-exp per row; rows always hold at least one finite value here
    m = a.max(axis=1, keepdims=True)
    return m[:, 0] + np.log(np.exp(a - m).sum(axis=1))


def signals(z, y, impl="scipy"):
    # every returned score is "higher = more likely member"
    n = y.size
    rows = np.arange(n)
    lse = logsumexp if impl == "scipy" else (lambda a, axis: lse_rows(a))
    ls = log_softmax(z, axis=1) if impl == "scipy" else z - lse_rows(z)[:, None]
    p = np.exp(ls)
    ls_y = ls[rows, y]
    p_y = p[rows, y]
    out = {"loss": ls_y.copy(), "confidence": p_y}  # -loss = log p_y
    zo = z.copy()
    zo[rows, y] = -np.inf
    out["phi"] = z[rows, y] - lse(zo, axis=1)
    del zo
    out["entropy"] = np.sum(p * ls, axis=1)  # = -entropy
    del ls
    log1m = np.log(np.maximum(1.0 - p, TINY))
    p[rows, y] = 0.0  # p now holds the off-class probabilities only
    out["modified_entropy"] = (1.0 - p_y) * ls_y + np.sum(p * log1m, axis=1)  # = -mentr
    del p, log1m
    out["correctness"] = (np.argmax(z, axis=1) == y).astype(np.float64)
    return out


def tpr_at(fpr, tpr):
    return [float(tpr[fpr <= t].max()) for t in FPR_TARGETS]


def evaluate(y_true, s):
    auc = roc_auc_score(y_true, s)
    fpr, tpr, _ = roc_curve(y_true, s, drop_intermediate=False)
    return float(auc), tpr_at(fpr, tpr), float(np.max(tpr - fpr))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--bootstrap", type=int, default=0, metavar="B")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--signals", choices=["scipy", "numpy"], default="scipy")
    a = ap.parse_args()

    t0 = time.perf_counter()
    z = np.load(a.outdir / "logits.npy")
    y = np.load(a.outdir / "labels.npy")
    member = np.load(a.outdir / "member.npy").astype(bool)
    t_load = time.perf_counter() - t0

    scores = signals(z, y, a.signals)
    del z
    auc, tpr, adv = {}, {}, {}
    for name, s in scores.items():
        auc[name], tpr[name], adv[name] = evaluate(member, s)
    t_point = time.perf_counter() - t0

    ci = {}
    t_boot = 0.0
    if a.bootstrap > 0:
        tb = time.perf_counter()
        rng = np.random.default_rng(a.seed)
        pos = np.flatnonzero(member)
        neg = np.flatnonzero(~member)
        y_b = np.r_[np.ones(pos.size, bool), np.zeros(neg.size, bool)]
        boot_auc = {k: np.empty(a.bootstrap) for k in scores}
        boot_tpr = {k: np.empty((a.bootstrap, len(FPR_TARGETS))) for k in scores}
        for b in range(a.bootstrap):
            # one index draw per resample, shared by all attacks
            idx = np.r_[pos[rng.integers(0, pos.size, pos.size)], neg[rng.integers(0, neg.size, neg.size)]]
            for name, s in scores.items():
                sb = s[idx]
                boot_auc[name][b] = roc_auc_score(y_b, sb)
                fpr, tp, _ = roc_curve(y_b, sb, drop_intermediate=False)
                boot_tpr[name][b] = tpr_at(fpr, tp)
        for name in scores:
            ci[name] = {"auc": [float(v) for v in np.percentile(boot_auc[name], [2.5, 97.5])],
                        "tpr_at_fpr": [[float(v) for v in np.percentile(boot_tpr[name][:, j], [2.5, 97.5])]
                                       for j in range(len(FPR_TARGETS))]}
        t_boot = time.perf_counter() - tb
    t_total = time.perf_counter() - t0

    print(json.dumps({
        "n": int(y.size),
        "bootstrap": a.bootstrap,
        "signals_impl": a.signals,
        "seconds_total": t_total,
        "seconds_per_resample": t_boot / a.bootstrap if a.bootstrap > 0 else 0.0,
        "seconds_no_bootstrap": t_point,
        "seconds_load": t_load,
        "seconds_bootstrap": t_boot,
        "auc": auc,
        "advantage": adv,
        "fpr_targets": FPR_TARGETS,
        "tpr_at_fpr": tpr,
        "ci95": ci,
    }, indent=1))


if __name__ == "__main__":
    main()
