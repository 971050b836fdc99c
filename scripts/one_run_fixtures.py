#!/usr/bin/env python3
"""Fixtures for the one-run audit bound (Steinke, Nasr & Jagielski, NeurIPS 2023), computed
independently of crates/mia-core/src/one_run.rs: 60-digit arithmetic (mpmath), binomial
probabilities by their ratio recurrence, cumulative sums instead of a running window, and a
bisection to 1e-14 relative.

    python3 scripts/one_run_fixtures.py      # writes fixtures/expected/one_run.json

The theorem, as used here: with m canaries each in the training run with probability 1/2, r
guesses and v of them right, (eps, delta)-DP training gives
    P[>= v right] <= P[Bin(r, q) >= v] + 2 m delta max_{1<=i<=v} P[v-i <= Bin(r, q) <= v-1] / i,
q = e^eps / (1 + e^eps); the lower bound at confidence c is the largest eps whose bound is below
1 - c.
"""

import json
from pathlib import Path

import mpmath as mp

mp.mp.dps = 60
ROOT = Path(__file__).resolve().parent.parent


def p_value(m, r, v, eps, delta):
    q = mp.e ** eps / (1 + mp.e ** eps)
    # pmf by the ratio pmf[k] / pmf[k-1] = (r - k + 1) / k * q / (1 - q), from (1 - q)^r.
    pmf = [(1 - q) ** r]
    for k in range(1, r + 1):
        pmf.append(pmf[-1] * (r - k + 1) / k * q / (1 - q))
    cdf = [mp.mpf(0)] * (r + 2)  # cdf[k] = P[Bin < k]
    for k in range(r + 1):
        cdf[k + 1] = cdf[k] + pmf[k]
    upper = mp.fsum(pmf[v:])
    worst = mp.mpf(0)
    for i in range(1, v + 1):
        worst = max(worst, (cdf[v] - cdf[v - i]) / i)
    return min(mp.mpf(1), upper + 2 * m * mp.mpf(delta) * worst)


def lower_bound(m, r, v, delta, confidence):
    level = 1 - mp.mpf(confidence)
    if p_value(m, r, v, 0, delta) >= level:
        return mp.mpf(0)
    lo, hi = mp.mpf(0), mp.mpf(1)
    while p_value(m, r, v, hi, delta) < level:
        lo, hi = hi, hi * 2
    while hi - lo > mp.mpf(10) ** -14 * hi:
        mid = (lo + hi) / 2
        if p_value(m, r, v, mid, delta) < level:
            lo = mid
        else:
            hi = mid
    return lo


def main():
    p_values, bounds = [], []
    for m, r in [(100, 10), (100, 100), (1000, 100), (1000, 400), (10000, 1000)]:
        for frac in [0.5, 0.6, 0.75, 0.9, 1.0]:
            v = int(round(frac * r))
            for delta in [0.0, 1e-9, 1e-5, 1e-3]:
                for eps in [0.0, 0.5, 1.0, 2.0, 4.0, 8.0]:
                    p_values.append({"m": m, "r": r, "v": v, "eps": eps, "delta": delta,
                                     "p_value": float(p_value(m, r, v, mp.mpf(eps), delta))})
                for confidence in [0.95, 0.99]:
                    bounds.append({"m": m, "r": r, "v": v, "delta": delta, "confidence": confidence,
                                   "epsilon_lower_bound": float(lower_bound(m, r, v, delta, confidence))})
    out = ROOT / "fixtures" / "expected" / "one_run.json"
    out.write_text(json.dumps({"generator": "scripts/one_run_fixtures.py", "mpmath": mp.__version__,
                               "p_values": p_values, "bounds": bounds}, indent=1) + "\n")
    print(f"wrote {len(p_values)} p-values and {len(bounds)} bounds to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
