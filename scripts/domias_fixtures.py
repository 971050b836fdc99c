#!/usr/bin/env python3
"""Fixtures for the DOMIAS density-ratio attack (crates/mia-synth/src/domias.rs).

Writes fixtures/synth/domias/ (deterministic; rerun to regenerate byte-identical files):

* statsmodels_{synthetic,reference,query}.csv + statsmodels.json: a few hundred UCI Adult rows
  (data/adult/adult.data.gz, all 14 features and the label), categorical levels collapsed so
  that every level occurs in both samples (statsmodels' Aitchison-Aitken kernel counts the
  levels of the sample it is given, ours those of the shared dictionary; with every level in
  both samples the two counts agree). Bandwidths by the rules stated in domias.rs, computed
  here from the formulas; log densities from statsmodels' KDEMultivariate
  (var_type 'c' Gaussian, 'u' Aitchison-Aitken) given those bandwidths.
* scipy.json: Adult's 6 numeric columns, z-scored, rotated onto their principal axes (so the
  sample covariance is diagonal and scipy's full-covariance gaussian_kde is a product
  kernel) and rescaled per column; scipy.stats.gaussian_kde log densities with its own
  'scott' and 'silverman' factors.
* underflow_{synthetic,reference,query}.csv + underflow.json: raw (unscaled) Adult rows, all
  columns; the query includes records with capital-gain 99999 while neither sample has
  any, so every kernel term underflows in linear space. statsmodels' pdf (a product of
  densities in linear space) is recorded to show it returns 0; the expected log densities
  come from an independent log-space NumPy implementation (log-kernel matrix, scipy
  logsumexp).

Requires numpy, scipy, pandas, statsmodels (pip install statsmodels).
"""

import json
import os

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import logsumexp
from statsmodels.nonparametric.kernel_density import KDEMultivariate

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "fixtures", "synth", "domias")
from adult_table import NAMES, NUMERIC, load_adult as read_adult  # noqa: E402
# MixedSchema order: categorical feature columns in file order, then the label.
CATEGORICAL = [c for c in NAMES if c not in NUMERIC and c != "income"] + ["income"]
MISSING_TOKENS = {"", "?", "NA"}


def load_adult():
    df = read_adult()
    df.insert(0, "id", [f"adult-{i + 1}" for i in range(len(df))])
    return df


def rule_factor(rule, n, p):
    """Normal-reference factor per domias.rs (the factors of scipy's gaussian_kde)."""
    if rule == "scott":
        return n ** (-1.0 / (p + 4))
    return (n * (p + 2) / 4.0) ** (-1.0 / (p + 4))


def rule_bandwidths(sample, domain_tables, rule="scott", scale=1.0, lam=None, min_scale_fraction=1e-3):
    """Bandwidths by the rules stated in domias.rs (written from the formulas)."""
    n, p = len(sample), len(NUMERIC)
    f = rule_factor(rule, n, p) * scale
    pooled = pd.concat(domain_tables)
    h = []
    for c in NUMERIC:
        sd = np.std(sample[c].to_numpy(), ddof=1)
        spread = np.std(pooled[c].to_numpy(), ddof=0)
        floor = min_scale_fraction * spread if spread > 0 else 1.0
        h.append(f * max(sd, floor))
    rate = n ** (-2.0 / (p + 4))
    lams = []
    for c in CATEGORICAL:
        k = max(pooled[c].nunique(), 2)
        cap = (k - 1) / k
        lams.append(cap * rate if lam is None else min(lam, cap))
    return np.array(h), np.array(lams)


def encode(frames):
    """Integer codes per categorical column over all frames (only equality matters)."""
    pooled = pd.concat(frames)
    maps = {c: {v: i for i, v in enumerate(sorted(pooled[c].unique()))} for c in CATEGORICAL}
    out = []
    for fr in frames:
        num = fr[NUMERIC].to_numpy(dtype=float)
        cat = np.column_stack([fr[c].map(maps[c]).to_numpy(dtype=float) for c in CATEGORICAL])
        out.append(np.hstack([num, cat]))
    return out


def statsmodels_log_pdf(sample, query, h, lams):
    s, q = encode([sample, query])
    kde = KDEMultivariate(data=s, var_type="c" * len(NUMERIC) + "u" * len(CATEGORICAL),
                          bw=np.concatenate([h, lams]))
    pdf = kde.pdf(q)
    with np.errstate(divide="ignore"):  # underflowed densities are expected in the underflow case
        return np.log(pdf), pdf


def write_csv(df, name):
    df.to_csv(os.path.join(OUT, name), index=False, float_format="%.17g", lineterminator="\n")


def collapse(frames, fit_frames):
    """Map every level not in all of `fit_frames` to the most frequent level there."""
    frames = [f.copy() for f in frames]
    for c in CATEGORICAL:
        keep = set.intersection(*[set(f[c]) for f in fit_frames])
        top = pd.concat(fit_frames)[c].value_counts()
        top = top[top.index.isin(keep)].index[0]
        for f in frames:
            f[c] = f[c].where(f[c].isin(keep), top)
    return frames


def statsmodels_fixture(adult, rng):
    idx = rng.permutation(len(adult))
    syn, ref, query = (adult.iloc[idx[a:b]].reset_index(drop=True) for a, b in [(0, 300), (300, 600), (600, 1000)])
    syn, ref, query = collapse([syn, ref, query], [syn, ref])
    # statsmodels multiplies densities in linear space: keep the first 200 candidate queries
    # whose densities stay far from underflow under every case below.
    ok = np.ones(len(query), dtype=bool)
    for opts in [{}, {"rule": "silverman", "scale": 0.5, "lam": 0.2}]:
        for sample in [syn, ref]:
            h, lams = rule_bandwidths(sample, [syn, ref, query], **opts)
            ok &= statsmodels_log_pdf(sample, query, h, lams)[1] > 1e-250
    query = query[ok].iloc[:200].reset_index(drop=True)
    assert len(query) == 200
    for f, name in [(syn, "synthetic"), (ref, "reference"), (query, "query")]:
        write_csv(f, f"statsmodels_{name}.csv")
    domain = [syn, ref, query]
    cases = {}
    for case, opts in [("default", {}), ("silverman", {"rule": "silverman", "scale": 0.5, "lam": 0.2})]:
        out = {}
        for role, sample in [("synthetic", syn), ("reference", ref)]:
            h, lams = rule_bandwidths(sample, domain, **opts)
            log_p, _ = statsmodels_log_pdf(sample, query, h, lams)
            out[role] = {"numeric": h.tolist(), "lambda": lams.tolist(), "log_density": log_p.tolist()}
        out["scores"] = (np.array(out["synthetic"]["log_density"]) - np.array(out["reference"]["log_density"])).tolist()
        out["config"] = {"bandwidth": opts.get("rule", "scott"), "bandwidth_scale": opts.get("scale", 1.0)}
        if "lam" in opts:
            out["config"]["lambda"] = opts["lam"]
        cases[case] = out
    missing_cats = {c: bool((pd.concat(domain)[c] == "?").any()) for c in CATEGORICAL}
    doc = {
        "source": "scripts/domias_fixtures.py: statsmodels.nonparametric.KDEMultivariate pdf, bandwidths from the "
                  "stated rules",
        "numeric": NUMERIC, "categorical": CATEGORICAL, "categorical_has_missing": missing_cats,
        "cases": cases,
    }
    with open(os.path.join(OUT, "statsmodels.json"), "w") as fh:
        json.dump(doc, fh, indent=1)


def scipy_fixture(adult, rng):
    idx = rng.permutation(len(adult))
    x = adult[NUMERIC].to_numpy(dtype=float)
    z = (x - x.mean(0)) / x.std(0)
    sample, query = z[idx[:400]], z[idx[400:500]]
    # Rotate onto the sample's principal axes: the sample covariance becomes diagonal (up to
    # rounding), so scipy's full-covariance kernel is a product of per-column Gaussians.
    mean = sample.mean(0)
    _, _, vt = np.linalg.svd(sample - mean, full_matrices=False)
    scales = np.array([1.0, 1e3, 1e-2, 50.0, 7.0, 1e5])
    sample = (sample - mean) @ vt.T * scales
    query = (query - mean) @ vt.T * scales
    cov = np.cov(sample.T)
    corr = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    off = np.abs(corr - np.eye(len(corr))).max()
    assert off < 1e-12, off
    doc = {"source": "scripts/domias_fixtures.py: scipy.stats.gaussian_kde(...).logpdf",
           "sample": sample.tolist(), "query": query.tolist(), "max_abs_off_diagonal_correlation": off}
    for rule in ["scott", "silverman"]:
        kde = stats.gaussian_kde(sample.T, bw_method=rule)
        doc[rule] = {"log_density": kde.logpdf(query.T).tolist(),
                     "bandwidths": np.sqrt(np.diag(kde.covariance)).tolist()}
    with open(os.path.join(OUT, "scipy.json"), "w") as fh:
        json.dump(doc, fh, indent=1)


def log_space_reference(sample, query, h, lams, domain):
    """Independent log-space KDE: log-kernel matrix (query x sample) then logsumexp."""
    pooled = pd.concat(domain)
    lk = np.zeros((len(query), len(sample)))
    for j, c in enumerate(NUMERIC):
        d = (query[c].to_numpy()[:, None] - sample[c].to_numpy()[None, :]) / h[j]
        lk += -0.5 * d * d - np.log(h[j]) - 0.5 * np.log(2 * np.pi)
    for j, c in enumerate(CATEGORICAL):
        k = max(pooled[c].nunique(), 2)
        eq = query[c].to_numpy()[:, None] == sample[c].to_numpy()[None, :]
        lk += np.where(eq, np.log1p(-lams[j]), np.log(lams[j] / (k - 1)))
    return logsumexp(lk, axis=1) - np.log(len(sample))


def underflow_fixture(adult, rng):
    big = adult[adult["capital-gain"] == 99999]
    rest = adult[adult["capital-gain"] < 99999]
    ridx = rng.permutation(len(rest))
    syn = rest.iloc[ridx[:400]].reset_index(drop=True)
    ref = rest.iloc[ridx[400:800]].reset_index(drop=True)
    query = pd.concat([big.iloc[rng.permutation(len(big))[:30]], rest.iloc[ridx[800:830]]]).reset_index(drop=True)
    for f, name in [(syn, "synthetic"), (ref, "reference"), (query, "query")]:
        write_csv(f, f"underflow_{name}.csv")
    domain = [syn, ref, query]
    out = {"source": "scripts/domias_fixtures.py: NumPy log-space product kernel + scipy.special.logsumexp; "
                     "statsmodels KDEMultivariate pdf as the linear-space (naive) product"}
    for role, sample in [("synthetic", syn), ("reference", ref)]:
        h, lams = rule_bandwidths(sample, domain)
        log_p = log_space_reference(sample, query, h, lams, domain)
        _, naive = statsmodels_log_pdf(sample, query, h, lams)
        out[role] = {"numeric": h.tolist(), "lambda": lams.tolist(), "log_density": log_p.tolist(),
                     "naive_pdf_is_zero": (naive == 0).tolist()}
    out["scores"] = (np.array(out["synthetic"]["log_density"]) - np.array(out["reference"]["log_density"])).tolist()
    n_zero = int(np.sum(np.array(out["synthetic"]["naive_pdf_is_zero"])))
    assert n_zero >= 25, n_zero
    with open(os.path.join(OUT, "underflow.json"), "w") as fh:
        json.dump(out, fh, indent=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    adult = load_adult()
    statsmodels_fixture(adult, np.random.default_rng(20261127))
    scipy_fixture(adult, np.random.default_rng(7))
    underflow_fixture(adult, np.random.default_rng(11))


if __name__ == "__main__":
    main()
