#!/usr/bin/env python3
"""Fixtures for mia-synth's generators and shadow attack, computed independently with NumPy/SciPy.

Writes fixtures/synth/generators/adult_numpy.json (deterministic; run from the repository root:
`python3 scripts/generator_fixtures.py`). Checked by crates/mia-synth/tests/generators_numpy.rs.

Data: UCI Adult (data/adult/adult.data.gz), read as examples/data/adult.toml describes; categorical
codes follow mia_synth::mixed (first appearance over the whole file, "?" = missing, the label last).
Contents:
* bin_edges: np.histogram_bin_edges(column, "auto") of each numeric column over rows 0..2000;
* copula: Pearson correlation of the Gaussian-copula normal scores (interval means of a standard
  normal, scipy.stats.norm) over rows 0..2000, for both category orders;
* isolation: mean Gower distance to the 5 nearest other rows among rows 0..500 (ranges from those
  rows), the 20 most isolated rows, and the Gower distances of rows 0..5 to rows 0..20;
* features: the shadow feature vector (all groups, 10 bins, radii 0/0.05/0.1/0.2) of synthetic
  table = rows 500..800 for target row 900, with bins and ranges from reference rows 0..500.
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
         "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country", "income"]
NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
CATEGORICAL = [c for c in NAMES if c not in NUMERIC and c != "income"] + ["income"]
MISSING = -1  # stands for mixed::MISSING (u32::MAX, after every level)


def load():
    df = pd.read_csv(ROOT / "data/adult/adult.data.gz", header=None, names=NAMES, skipinitialspace=True,
                     dtype=str, keep_default_na=False)
    df = df[df["age"].str.strip() != ""].reset_index(drop=True)
    num = np.column_stack([df[c].astype(float).to_numpy() for c in NUMERIC])
    cat = np.zeros((len(df), len(CATEGORICAL)), dtype=np.int64)
    levels = []
    for j, c in enumerate(CATEGORICAL):
        v = df[c].str.strip()
        missing = v.isin(["", "?", "NA"])
        lv = list(pd.unique(v[~missing]))
        code = {x: i for i, x in enumerate(lv)}
        cat[:, j] = [MISSING if m else code[x] for x, m in zip(v, missing)]
        levels.append(lv)
    return num, cat, levels


def slot(c, n_levels):
    return n_levels if c == MISSING else c


def interval_mean(lo, hi):
    if hi - lo >= 1.0:
        return 0.0
    return (norm.pdf(norm.ppf(lo)) - norm.pdf(norm.ppf(hi))) / (hi - lo)


def copula_correlation(num, cat, levels, order):
    n = len(num)
    cols = []
    for k in range(num.shape[1]):
        x = num[:, k]
        vals, counts = np.unique(x, return_counts=True)
        cum = np.concatenate([[0], np.cumsum(counts)]) / n
        means = {v: interval_mean(cum[i], cum[i + 1]) for i, v in enumerate(vals)}
        cols.append(np.array([means[v] for v in x]))
    numeric_scores = list(cols)
    for j in range(cat.shape[1]):
        nl = len(levels[j])
        s = np.array([slot(c, nl) for c in cat[:, j]])
        counts = np.bincount(s, minlength=nl + 1)
        present = [l for l in range(nl + 1) if counts[l] > 0]
        key = {l: 0.0 for l in present}
        if order == "numeric_mean":
            best = 1e-9
            for z in numeric_scores:
                group_mean = {l: z[s == l].mean() for l in present}
                between = sum(counts[l] * (group_mean[l] - z.mean()) ** 2 for l in present)
                total = ((z - z.mean()) ** 2).sum()
                if total > 0 and between / total > best:
                    best = between / total
                    key = group_mean
        present.sort(key=lambda l: (key[l], -counts[l], l))
        acc, score = 0, {}
        for l in present:
            lo = acc / n
            acc += counts[l]
            score[l] = interval_mean(lo, acc / n)
        cols.append(np.array([score[l] for l in s]))
    return np.corrcoef(np.column_stack(cols), rowvar=False)


def gower_matrix(a_num, a_cat, b_num, b_cat, inv_range):
    diff = np.abs(a_num[:, None, :] - b_num[None, :, :]) * inv_range
    diff = np.minimum(diff, 1.0)
    diff[a_num[:, None, :] == b_num[None, :, :]] = 0.0
    mism = (a_cat[:, None, :] != b_cat[None, :, :]).sum(axis=2)
    return (diff.sum(axis=2) + mism) / (a_num.shape[1] + a_cat.shape[1])


def inv_ranges(num):
    r = num.max(axis=0) - num.min(axis=0)
    return np.where(r > 0, 1.0 / np.where(r > 0, r, 1.0), np.inf)


def features(ref_num, syn_num, syn_cat, t_num, t_cat, levels, bins, radii):
    out = []
    cuts = []
    for k in range(ref_num.shape[1]):
        c = np.quantile(ref_num[:, k], [i / bins for i in range(1, bins)])
        cuts.append(np.array([x for i, x in enumerate(c) if i == 0 or x != c[i - 1]]))
    n = len(syn_num)
    bin_of = lambda k, x: np.searchsorted(cuts[k], x, side="right")
    # marginals
    for k in range(syn_num.shape[1]):
        b = bin_of(k, syn_num[:, k])
        counts = np.bincount(b, minlength=len(cuts[k]) + 1)
        out += list(counts / n) + [0.0]  # no missing numeric values in Adult
        out += [syn_num[:, k].mean(), syn_num[:, k].std()]
    for j in range(syn_cat.shape[1]):
        nl = len(levels[j])
        s = np.array([slot(c, nl) for c in syn_cat[:, j]])
        out += list(np.bincount(s, minlength=nl + 1) / n)
    # correlations (lower triangle, row by row)
    r = np.corrcoef(syn_num, rowvar=False)
    for a in range(syn_num.shape[1]):
        for b in range(a):
            out.append(r[a, b])
    # targeted
    d = gower_matrix(t_num[None, :], t_cat[None, :], syn_num, syn_cat, inv_ranges(ref_num))[0]
    out += [float(np.log1p((d <= rad).sum())) for rad in radii]
    out.append(min(1.0, d.min()))
    q = syn_cat.shape[1]
    out += [float((syn_cat[:, j] == t_cat[j]).mean()) for j in range(q)]
    for a in range(q):
        for b in range(a):
            out.append(float(((syn_cat[:, a] == t_cat[a]) & (syn_cat[:, b] == t_cat[b])).mean()))
    for k in range(syn_num.shape[1]):
        out.append(float((bin_of(k, syn_num[:, k]) == bin_of(k, t_num[k])).mean()))
    return out


def main():
    num, cat, levels = load()
    assert len(num) == 32561
    head_num, head_cat = num[:2000], cat[:2000]
    fixture = {
        "source": "scripts/generator_fixtures.py (numpy " + np.__version__ + ")",
        "bin_edges": {c: np.histogram_bin_edges(head_num[:, k], "auto").tolist() for k, c in enumerate(NUMERIC)},
        "copula": {o: copula_correlation(head_num, head_cat, levels, o).tolist() for o in ["numeric_mean", "frequency"]},
    }
    # Isolation among rows 0..500.
    sn, sc = num[:500], cat[:500]
    d = gower_matrix(sn, sc, sn, sc, inv_ranges(sn))
    np.fill_diagonal(d, np.inf)
    iso = np.sort(d, axis=1)[:, :5].mean(axis=1)
    order = sorted(range(500), key=lambda i: (-iso[i], i))
    np.fill_diagonal(d, 0.0)
    fixture["isolation"] = {"k": 5, "rows": 500, "top20": order[:20], "top20_isolation": [iso[i] for i in order[:20]],
                            "distances_0_5_by_0_20": d[:5, :20].tolist()}
    bins, radii = 10, [0.0, 0.05, 0.1, 0.2]
    fixture["features"] = {"reference_rows": [0, 500], "synthetic_rows": [500, 800], "target_row": 900, "bins": bins,
                           "radii": radii,
                           "values": features(num[:500], num[500:800], cat[500:800], num[900], cat[900], levels, bins, radii)}
    out = ROOT / "fixtures/synth/generators/adult_numpy.json"
    out.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
