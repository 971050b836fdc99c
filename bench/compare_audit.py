#!/usr/bin/env python3
"""Model-audit benchmark: `mia audit` vs the same pipeline in scikit-learn + numpy.

Usage:  python3 bench/compare_audit.py [--config examples/location_mlp.toml]
                                       [--mia target/release/mia] [--workdir /tmp/mia-audit-bench]

One run, same machine, same data, same plan, same hyper-parameters:
  * mia: `mia audit CONFIG` from scratch (empty artifact store): trains the target and the K
    reference MLPs, runs every attack (score-only, LiRA, RMIA, Attack-P/R, calibration, Shokri),
    evaluates them with 1,000 bootstrap resamples, and writes the report.
  * the peer: reads the plan mia drew (plan.npz: audit rows, target members, keep mask), trains
    the target and K references with scikit-learn `MLPClassifier` (the same hidden layers,
    alpha, batch size, learning rate, epochs, tol / n_iter_no_change, shuffle), computes phi from
    each network's logits in float64 (forward pass over `coefs_`/`intercepts_`), runs LiRA online
    and offline (per-example variance, mean) and the loss attack with numpy/scipy, and computes
    AUC and TPR at FPR <= 0.1 % / 1 % with sklearn's roc_curve. It does much less work than mia
    (three attacks, no bootstrap), so the ratio understates mia's advantage.

Prints both times, the ratio, and the attacks' AUC / TPR side by side (mia's with its 95 %
bootstrap intervals). The hyper-parameters are read from the config, so both sides use the same.

`--peer-jobs 2` fits the peer's networks in 2 worker processes with one BLAS thread each (joblib +
threadpoolctl), the strongest way to run them on this machine, rather than in a plain loop.

`--repeat N` runs the pair N times, alternating (mia, peer, mia, peer, ...), and prints every
pair's ratio with the median ratio: on a shared machine the peer's time swings by +-20 % between
runs, so one pair says little about the typical ratio.
"""
import statistics

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve
from joblib import Parallel, delayed
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent


def load_location(path):
    """Location-30 as mia's schema reads it: column 0 = class "1".."30" -> 0..29, 446 raw 0/1 features."""
    rows = [line.split(",") for line in gzip.open(path, "rt").read().splitlines() if line]
    y = np.array([int(r[0].strip().strip('"')) - 1 for r in rows])
    x = np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float64)
    return x, y


def mlp_from(learner, seed):
    p = dict(learner)
    assert p.pop("kind") == "mlp", "the benchmark compares MLPs"
    return MLPClassifier(
        hidden_layer_sizes=tuple(p.get("hidden_layer_sizes", [100])),
        activation="relu",
        solver="adam",
        alpha=p.get("alpha", 1e-4),
        batch_size=p.get("batch_size", "auto"),
        learning_rate_init=p.get("learning_rate_init", 1e-3),
        max_iter=p.get("max_iter", 200),
        tol=p.get("tol", 1e-4),
        n_iter_no_change=p.get("n_iter_no_change", 10),
        shuffle=p.get("shuffle", True),
        random_state=seed,
    )


def logits(model, x):
    """Pre-softmax outputs in float64 from the fitted weights."""
    h = x
    for i, (w, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        h = h @ w + b
        if i < len(model.coefs_) - 1:
            h = np.maximum(h, 0.0)
    if h.shape[1] == 1:  # sklearn's binary head: one logit
        h = np.hstack([np.zeros_like(h), h])
    return h


def phi(z, y):
    """ln p_y - ln(1 - p_y) from logits: z_y - logsumexp over the other classes."""
    zy = z[np.arange(len(y)), y]
    other = z.copy()
    other[np.arange(len(y)), y] = -np.inf
    m = other.max(axis=1)
    return zy - (m + np.log(np.exp(other - m[:, None]).sum(axis=1)))


def tpr_at(scores, member, fpr_target):
    fpr, tpr, _ = roc_curve(member, scores, drop_intermediate=False)
    return float(tpr[fpr <= fpr_target].max())


def fit_one(learner, m, xr, yr, blas_threads):
    if blas_threads is None:
        return mlp_from(learner, m).fit(xr, yr)
    with threadpool_limits(limits=blas_threads):
        return mlp_from(learner, m).fit(xr, yr)


def peer(cfg, plan, x, y, jobs=1):
    t0 = time.perf_counter()
    audit, keep, tm = plan["audit_rows"], plan["keep"], plan["target_member"]
    k = keep.shape[0]
    train_rows = [audit[plan["target_trained"]] if m == 0 else audit[keep[m - 1]] for m in range(k + 1)]
    if jobs == 1:
        # The plain loop a user writes: one fit after another, NumPy's BLAS on every core.
        models = [fit_one(cfg["learner"], m, x[r], y[r], None) for m, r in enumerate(train_rows)]
    else:
        # Fits spread over `jobs` worker processes, one BLAS thread each (as mia runs them).
        models = Parallel(n_jobs=jobs)(
            delayed(fit_one)(cfg["learner"], m, x[r], y[r], 1) for m, r in enumerate(train_rows))
    t_train = time.perf_counter() - t0
    ya = y[audit]
    phis = np.stack([phi(logits(mod, x[audit]), ya) for mod in models])
    target, refs = phis[0], phis[1:]
    # LiRA (Carlini et al. 2022), per-example variance, mean; population std + floor.
    inn = np.where(keep, refs, np.nan)
    out = np.where(~keep, refs, np.nan)
    mu_in, mu_out = np.nanmean(inn, 0), np.nanmean(out, 0)
    sd_in, sd_out = np.nanstd(inn, 0) + 1e-30, np.nanstd(out, 0) + 1e-30
    online = stats.norm.logpdf(target, mu_in, sd_in) - stats.norm.logpdf(target, mu_out, sd_out)
    offline = stats.norm.logcdf(target, mu_out, sd_out)
    loss = -np.logaddexp(0.0, -target)  # -(softplus(-phi)) = -loss
    member = tm.astype(int)
    res = {}
    for name, s in [("lira_online", online), ("lira_offline", offline), ("loss", loss)]:
        res[name] = {"auc": roc_auc_score(member, s), "tpr@0.001": tpr_at(s, member, 1e-3),
                     "tpr@0.01": tpr_at(s, member, 1e-2)}
    return time.perf_counter() - t0, t_train, res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=HERE.parent / "examples" / "location_mlp.toml")
    ap.add_argument("--mia", default=str(HERE.parent / "target/release/mia"))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/mia-audit-bench"))
    ap.add_argument("--repeat", type=int, default=1, help="pairs of runs, alternating mia and the peer")
    ap.add_argument("--peer-jobs", type=int, default=1,
                    help="fit the peer's networks in this many processes with one BLAS thread each "
                         "(default 1: a plain loop with multi-threaded BLAS)")
    a = ap.parse_args()
    cfg = tomllib.loads(a.config.read_text())
    out = a.workdir / "mia"
    x, y = load_location((a.config.parent / cfg["data"]["path"]).resolve())
    pairs = []
    for i in range(a.repeat):
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        subprocess.run([a.mia, "audit", str(a.config), "-q", "-o", str(out)], check=True)
        mia_secs = time.perf_counter() - t
        rep = json.loads((out / "report.json").read_text())
        plan = dict(np.load(out / "plan.npz"))
        plan["audit_rows"] = plan["audit_rows"].astype(np.int64)
        peer_secs, peer_train, peer_res = peer(cfg, plan, x, y, a.peer_jobs)
        pairs.append((peer_secs, mia_secs))
        if a.repeat > 1:
            print(f"pair {i + 1}: peer {peer_secs:.1f} s, mia {mia_secs:.2f} s, ratio {peer_secs / mia_secs:.1f}x",
                  flush=True)

    k = plan["keep"].shape[0]
    print(f"data: {a.config}  ({len(plan['audit_rows'])} audit records, target + {k} reference MLPs "
          f"{cfg['learner'].get('hidden_layer_sizes')}, {cfg['learner'].get('max_iter')} epochs)")
    print(f"{'':22} {'seconds':>9}")
    how = "a loop, BLAS on all cores" if a.peer_jobs == 1 else f"{a.peer_jobs} processes, 1 BLAS thread each"
    print(f"{'scikit-learn + numpy':22} {peer_secs:9.1f}   (training {peer_train:.1f}; fits: {how})")
    print(f"{'mia audit':22} {mia_secs:9.1f}   (everything: {len(rep['attacks'])} attacks, "
          f"{rep['settings']['bootstrap_resamples']} bootstrap resamples, report)")
    print(f"ratio: {peer_secs / mia_secs:.1f}x")
    if a.repeat > 1:
        ratios = [p / m for p, m in pairs]
        print(f"over {a.repeat} pairs: median ratio {statistics.median(ratios):.1f}x (min {min(ratios):.1f}x, "
              f"max {max(ratios):.1f}x); median peer {statistics.median(p for p, _ in pairs):.1f} s, "
              f"median mia {statistics.median(m for _, m in pairs):.2f} s")
    m = rep["models"]
    print(f"target accuracy mia: train {m['target']['train_accuracy']['value']:.3f} held-out {m['target']['held_out_accuracy']['value']:.3f}")
    print(f"{'attack':14} {'AUC peer':>9} {'AUC mia [95% CI]':>26} {'TPR@0.1% peer':>14} {'mia [CI]':>22} "
          f"{'TPR@1% peer':>12} {'mia [CI]':>22}")
    by = {r["name"]: r for r in rep["attacks"]}

    def ci(e):
        c = e.get("ci")
        return f"[{c[0]:.3f}, {c[1]:.3f}]" if c else ""
    for name, r in peer_res.items():
        mine = by[name]
        t3 = next(t for t in mine["tpr_at_fpr"] if abs(t["fpr"] - 1e-3) < 1e-12)
        t2 = next(t for t in mine["tpr_at_fpr"] if abs(t["fpr"] - 1e-2) < 1e-12)
        print(f"{name:14} {r['auc']:9.4f} {mine['auc']['value']:9.4f} {ci(mine['auc']):>16} "
              f"{r['tpr@0.001']:14.4f} {t3['tpr']:7.4f} {ci(t3):>14} {r['tpr@0.01']:12.4f} {t2['tpr']:7.4f} {ci(t2):>14}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
