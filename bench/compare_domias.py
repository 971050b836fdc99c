#!/usr/bin/env python3
"""Benchmark: DOMIAS (KDE variant) in the `domias` package vs mia-synth's `domias`, same Adult rows.

Not a test. Rows of UCI Adult (data/adult/adult.data.gz), seeded: 1,000 members, 1,000
non-members (the 2,000 scored records), 5,000 reference rows, and 5,000 "synthetic" rows drawn
with replacement from the members (a generator that copies its training data).

* Package: domias 0.0.5 `evaluate_performance(density_estimator="kde")` with a stub generator
  that returns the prepared synthetic rows; all 15 columns label-encoded and z-scored (its KDE
  underflows on raw data). Its DOMIAS step is scipy `gaussian_kde` fitted on the synthetic and
  on the reference rows, evaluated on the scored rows, score p_G / (p_R + 1e-10)
  (evaluator.py). Those `gaussian_kde` calls are timed by wrapping the class (calls made from
  `evaluate_performance` only; its baselines repeat the same KDE and are not counted). The
  whole call (baselines, a 1-epoch CTGAN for LOGAN_0) is timed separately for context.
* Replica: the same four scipy calls made directly (runs without the package; checked equal
  to the package's scores when both run).
* Ours: `bench_domias` (crates/mia-synth/examples) on the raw rows (no scaling), mixed-type
  product kernel, best of 3, with 1 thread and with all threads.

Run (the package needs torch and ctgan 0.8.0, so a separate virtual environment):
    CARGO_TARGET_DIR=target cargo build --release -p mia-synth --no-default-features --example bench_domias
    VENV/bin/python bench/compare_domias.py --bin target/release/examples/bench_domias
"""

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from adult_table import NAMES, NUMERIC, load_adult  # noqa: E402


def split(adult, n_mem, n_ref, n_syn, seed):
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(adult))
    mem = adult.iloc[idx[:n_mem]].reset_index(drop=True)
    non = adult.iloc[idx[n_mem:2 * n_mem]].reset_index(drop=True)
    ref = adult.iloc[idx[2 * n_mem:2 * n_mem + n_ref]].reset_index(drop=True)
    syn = mem.iloc[rng.integers(0, n_mem, n_syn)].reset_index(drop=True)
    return mem, non, ref, syn


def encode_zscore(frames):
    """All columns as numbers (categories label-encoded), z-scored over all frames."""
    pooled = pd.concat(frames)
    codes = {c: {v: i for i, v in enumerate(sorted(pooled[c].unique()))} for c in NAMES if c not in NUMERIC}
    def enc(f):
        return np.column_stack([f[c].to_numpy(float) if c in NUMERIC else f[c].map(codes[c]).to_numpy(float)
                                for c in NAMES])
    arrays = [enc(f) for f in frames]
    allx = np.vstack(arrays)
    mu, sd = allx.mean(0), allx.std(0)
    return [(a - mu) / sd for a in arrays]


def scipy_replica(syn, ref, test):
    """domias 0.0.5 evaluator.py, density_estimator="kde": the four scipy calls and eq. 2."""
    t = time.perf_counter()
    density_gen = stats.gaussian_kde(syn.T)
    density_data = stats.gaussian_kde(ref.T)
    p_g = density_gen(test.T)
    p_r = density_data(test.T)
    score = p_g / (p_r + 1e-10)
    return score, time.perf_counter() - t


def run_package(mem, non, ref, syn):
    import domias  # noqa: F401  (fails here when the package is not installed)
    from domias.evaluator import evaluate_performance
    from importlib.metadata import version

    timed = {"s": 0.0, "calls": 0}
    original = stats.gaussian_kde

    class TimedKde(original):
        """Times construction and evaluation of the KDEs made in evaluate_performance."""

        def __init__(self, *a, **k):
            self._timed = inspect.stack()[1].function == "evaluate_performance"
            t = time.perf_counter()
            super().__init__(*a, **k)
            if self._timed:
                timed["s"] += time.perf_counter() - t
                timed["calls"] += 1

        def evaluate(self, points):
            t = time.perf_counter()
            out = super().evaluate(points)
            if self._timed:
                timed["s"] += time.perf_counter() - t
                timed["calls"] += 1
            return out

        __call__ = evaluate

    class Stub:
        """A 'generator' that returns the prepared synthetic rows."""

        def fit(self, df):
            return self

        def generate(self, n):
            return pd.DataFrame(syn[:n], columns=[str(i) for i in range(syn.shape[1])])

    dataset = np.vstack([mem, non, ref])
    # Its sample-quality metric (geomloss Sinkhorn, multiscale backend) needs pykeops, which is not
    # installed here; it plays no part in the attack, so it is stubbed out.
    import domias.evaluator as evaluator
    evaluator.compute_wd = lambda *a, **k: float("nan")
    stats.gaussian_kde = TimedKde
    try:
        t = time.perf_counter()
        res = evaluate_performance(Stub(), dataset, mem_set_size=len(mem), reference_set_size=len(ref),
                                   training_epochs=1, synthetic_sizes=[len(syn)], density_estimator="kde",
                                   device="cpu")
        total = time.perf_counter() - t
    finally:
        stats.gaussian_kde = original
    out = res[len(syn)]
    return {"version": version("domias"), "kde_s": timed["s"], "kde_calls": timed["calls"], "total_s": total,
            "scores": np.asarray(out["MIA_scores"]["domias"]), "auc": out["MIA_performance"]["domias"]["aucroc"]}


def run_ours(binary, mem, non, ref, syn, threads):
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for name, f, prefix in [("synthetic", syn, "s"), ("reference", ref, "r"),
                                ("query", pd.concat([mem, non]).reset_index(drop=True), "q")]:
            f = f.copy()
            f.insert(0, "id", [f"{prefix}{i}" for i in range(len(f))])
            p = os.path.join(d, f"{name}.csv")
            f.to_csv(p, index=False, float_format="%.17g")
            paths.append(p)
        out = os.path.join(d, "scores.csv")
        env = dict(os.environ)
        if threads:
            env["RAYON_NUM_THREADS"] = str(threads)
        r = subprocess.run([binary, *paths, out, "3"], env=env, capture_output=True, text=True, check=True)
        timing = json.loads(r.stdout.strip().splitlines()[-1])
        scores = pd.read_csv(out)["score"].to_numpy()
    return timing, scores


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "examples", "bench_domias"))
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--reference", type=int, default=5000)
    ap.add_argument("--synthetic", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    adult = load_adult()
    mem, non, ref, syn = split(adult, args.members, args.reference, args.synthetic, args.seed)
    y = np.r_[np.ones(len(mem)), np.zeros(len(non))]
    zmem, znon, zref, zsyn = encode_zscore([mem, non, ref, syn])
    print(f"rows: synthetic {len(syn)}, reference {len(ref)}, scored {len(mem) + len(non)} "
          f"({len(mem)} members); python {sys.version.split()[0]}, numpy {np.__version__}")

    rep_scores, rep_s = scipy_replica(zsyn, zref, np.vstack([zmem, znon]))
    print(f"scipy replica of the package's KDE step: {rep_s:.3f} s, AUC {roc_auc_score(y, rep_scores):.4f}")
    try:
        pkg = run_package(zmem, znon, zref, zsyn)
    except ImportError as e:
        pkg = None
        print(f"domias package not importable ({e}); the replica above is the peer")
    if pkg is not None:
        same = np.array_equal(pkg["scores"], rep_scores)
        print(f"domias {pkg['version']} KDE step ({pkg['kde_calls']} gaussian_kde calls): {pkg['kde_s']:.3f} s, "
              f"AUC {pkg['auc']:.4f}; whole evaluate_performance {pkg['total_s']:.1f} s; "
              f"replica scores identical: {same}")
    peer_s = pkg["kde_s"] if pkg is not None else rep_s
    for threads in [1, 0]:
        timing, scores = run_ours(args.bin, mem, non, ref, syn, threads)
        print(f"mia-synth domias, {timing['threads']} thread(s): {timing['domias_s']:.3f} s "
              f"(+ {timing['load_s']:.3f} s CSV load), AUC {roc_auc_score(y, scores):.4f}, "
              f"speed-up vs {'package' if pkg is not None else 'replica'} {peer_s / timing['domias_s']:.1f}x")


if __name__ == "__main__":
    main()
