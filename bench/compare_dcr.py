#!/usr/bin/env python3
"""Times SDMetrics' DCR metrics and mia-synth's exact DCR engine on the same rows.

For each size N: a training table (N Adult rows), a holdout (N other Adult rows) and a
"synthetic" table (N training rows resampled with jitter: age and hours +-2, fnlwgt and the
capital columns x(1 +- 5%)), seeded, written as CSV with a header. Then

* peer: SDMetrics (pip install sdmetrics) `DCRBaselineProtection.compute_breakdown(train,
  synthetic)` (DCR of synthetic rows and of uniform random rows to the training data) and
  `DCROverfittingProtection.compute_breakdown(train, synthetic, holdout)` (DCR of synthetic
  rows to the training data and to the holdout), all synthetic rows, one iteration;
* mia: `bench_dcr --csv train synthetic holdout`, which reads the three CSVs through mia-data
  and computes the same three DCR vectors (synthetic -> train, synthetic -> holdout, uniform
  random -> train) with the exact engine.

The distances differ by design (SDMetrics: mean over columns of |diff|/range or 0/1 mismatch;
mia: the Euclidean form documented in crates/mia-synth/src/distance.rs); the work per pair is
comparable. Prints both times and their ratio (wall time of the mia process, and its compute
time without reading the files); each side's time is the fastest of --repeat (mia, default 3)
and --peer-repeat (SDMetrics, default 1) runs, since the machine is shared.

SDMetrics 0.32 declares pandas<3, so `pip install sdmetrics` downgrades pandas; it also ran
here with pandas 3.1.1 (install it with --no-deps, or in a virtual environment, to leave a
shared environment's pandas alone).

Build first:
  CARGO_TARGET_DIR=target cargo build --release -p mia-synth --no-default-features --example bench_dcr
Run:
  python3 bench/compare_dcr.py --sizes 1000 3000 --bin target/release/examples/bench_dcr
"""

import argparse
import json
import os
import sys
import subprocess
import tempfile
import time

import numpy as np
import pandas as pd

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from adult_table import NAMES, NUMERIC, load_adult  # noqa: E402


def make_tables(adult, n, seed):
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(adult))
    train = adult.iloc[perm[:n]].reset_index(drop=True)
    holdout = adult.iloc[perm[n:2 * n]].reset_index(drop=True)
    synth = train.iloc[rng.integers(0, n, n)].reset_index(drop=True).copy()
    synth["age"] = np.maximum(synth["age"] + rng.integers(-2, 3, n), 17)
    synth["hours-per-week"] = np.clip(synth["hours-per-week"] + rng.integers(-2, 3, n), 1, 99)
    for c in ("fnlwgt", "capital-gain", "capital-loss"):
        synth[c] = np.round(synth[c] * (1 + 0.05 * rng.uniform(-1, 1, n)))
    return train, synth, holdout


def peer(train, synth, holdout):
    from sdmetrics.single_table import DCRBaselineProtection, DCROverfittingProtection

    metadata = {"columns": {c: {"sdtype": "numerical" if c in NUMERIC else "categorical"} for c in NAMES}}
    t = time.perf_counter()
    base = DCRBaselineProtection.compute_breakdown(train, synth, metadata, None)
    over = DCROverfittingProtection.compute_breakdown(train, synth, holdout, metadata, None)
    return time.perf_counter() - t, base, over


def ours(binary, paths, threads, repeat):
    """Fastest of `repeat` runs (wall time of the process, and its own compute time)."""
    cmd = [binary, "--csv", *paths] + (["--threads", str(threads)] if threads else [])
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        wall, res = time.perf_counter() - t, json.loads(out.strip().splitlines()[-1])
        if best is None or wall < best[0]:
            best = (wall, res)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000])
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "examples", "bench_dcr"))
    ap.add_argument("--threads", type=int, default=0, help="mia threads (0 = all cores)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="mia runs per size; the fastest is reported")
    ap.add_argument("--peer-repeat", type=int, default=1, help="SDMetrics runs per size; the fastest is reported")
    args = ap.parse_args()
    adult = load_adult()
    print("| rows (train = synthetic = holdout) | SDMetrics DCRBaseline + DCROverfitting | mia (process) "
          "| mia (compute) | ratio (process) | ratio (compute) |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        train, synth, holdout = make_tables(adult, n, args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for name, df in (("train", train), ("synthetic", synth), ("holdout", holdout)):
                p = os.path.join(tmp, f"{name}.csv")
                df[NAMES].to_csv(p, index=False)
                paths.append(p)
            mia_wall, mia = ours(args.bin, paths, args.threads, args.repeat)
            peer_s, base, over = min((peer(train, synth, holdout) for _ in range(args.peer_repeat)),
                                     key=lambda r: r[0])
        print(f"| {n:,} | {peer_s:.2f} s | {mia_wall:.3f} s | {mia['compute_s']:.3f} s "
              f"| {peer_s / mia_wall:.0f}x | {peer_s / mia['compute_s']:.0f}x |", flush=True)
        print(f"  sdmetrics: baseline {json.dumps(base, default=float)}; overfitting {json.dumps(over, default=float)}")
        print(f"  mia: {json.dumps(mia)}")


if __name__ == "__main__":
    main()
