#!/usr/bin/env python3
"""Write synthetic score arrays for the score-only audit benchmark.

Usage:  python3 bench/gen_bench_data.py N OUTDIR

Writes OUTDIR/logits.npy (float64, N x 10), OUTDIR/labels.npy (int64, N) and OUTDIR/member.npy (bool, N).
The arrays imitate a 10-class classifier that fits its training set somewhat better than held-out data:
background logits are noisy, the true class gets a positive margin, members get a slightly larger and
less variable margin, and a per-record temperature spreads confidences from saturated to uncertain.

Everything is written chunk by chunk through np.lib.format.open_memmap, so memory stays bounded
(about 0.5 GB) even for N = 10,000,000 (the logits file alone is then 800 MB). Output depends only on N.
"""

import argparse
from pathlib import Path

import numpy as np

SEED = 20240601
CHUNK = 1_000_000  # fixed so the output does not depend on machine or memory
K = 10


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int)
    ap.add_argument("outdir", type=Path)
    a = ap.parse_args()
    n = a.n
    if n < 2:
        raise SystemExit("N must be at least 2")
    a.outdir.mkdir(parents=True, exist_ok=True)
    logits = np.lib.format.open_memmap(a.outdir / "logits.npy", mode="w+", dtype=np.float64, shape=(n, K))
    labels = np.lib.format.open_memmap(a.outdir / "labels.npy", mode="w+", dtype=np.int64, shape=(n,))
    member = np.lib.format.open_memmap(a.outdir / "member.npy", mode="w+", dtype=np.bool_, shape=(n,))

    n_chunks = (n + CHUNK - 1) // CHUNK
    # one independent stream per chunk: reproducible regardless of how the chunks are scheduled
    streams = np.random.SeedSequence(SEED).spawn(n_chunks)
    for c in range(n_chunks):
        lo, hi = c * CHUNK, min(n, (c + 1) * CHUNK)
        m = hi - lo
        rng = np.random.default_rng(streams[c])
        y = rng.integers(0, K, size=m, dtype=np.int64)
        mem = rng.random(m) < 0.5
        z = rng.normal(0.0, 1.0, size=(m, K))
        margin = np.where(mem, rng.normal(4.0, 1.5, m), rng.normal(3.2, 2.0, m))
        z[np.arange(m), y] += margin
        z *= rng.lognormal(0.3, 0.5, size=(m, 1))  # per-record temperature
        logits[lo:hi] = z
        labels[lo:hi] = y
        member[lo:hi] = mem
    # make sure both classes exist even for tiny N
    member[0], member[n - 1] = True, False
    for arr in (logits, labels, member):
        arr.flush()
    del logits, labels, member


if __name__ == "__main__":
    main()
