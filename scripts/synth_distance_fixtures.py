#!/usr/bin/env python3
"""Fixtures for mia-synth's mixed-type distance and exact nearest neighbours.

Writes fixtures/synth/distance/ (deterministic; do not edit by hand):

* fit.csv.gz, query.csv.gz, reference.csv.gz, const_fit.csv.gz, missing_query.csv.gz,
  missing_reference.csv.gz: tables with the Adult header, read by the Rust tests through
  mia_data::tabular::load_table (numeric = the six Adult numeric columns, categorical = the
  rest, label = income). Built from a seeded subset of bundled Adult (data/adult):
  400 queries, a jittered reference of ~1,330 rows with planted exact copies (some twice),
  near-ties that f32 cannot separate (fnlwgt +1000 vs -1000.0001; age +1 vs an hours change
  whose scaled square differs by 1e-9 relative), duplicated reference rows (ties broken by
  the smaller index) and duplicated queries (for leave-one-out).
* expected.csv: for each scenario and query, the two nearest reference rows (0-based index,
  distance) by scipy.spatial.distance.cdist on the documented embedding (numeric columns
  divided by the fitted scale, each categorical column one-hot with entries w/sqrt(2), so a
  mismatch costs w^2), ordered by (distance, index); `amb` = 1 when a neighbour's distance
  is within 1e-12 (relative) of a different, non-identical row, where float rounding may
  legitimately order them either way. The `missing` scenarios have numeric blanks, which
  have no Euclidean embedding: there the distance is computed with a separate numpy
  implementation of the missing rule (missing vs missing = 0, missing vs value = the column's
  max(1, (range/scale)^2); categorical "" and "?" are one missing value). Scenario `single_*`
  lists the distance of every query to one reference row (k = 1 against a one-row table).

Scales: "range" = max - min, "std" = population std (ddof 0) on the fit table, ignoring
missing values; a zero or undefined scale becomes 1.

Run: python3 scripts/synth_distance_fixtures.py
"""

import gzip
import json
import io
import os
import warnings

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist
from scipy.stats import beta

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "fixtures", "synth", "distance")
from adult_table import NAMES, NUMERIC, load_adult  # noqa: E402
CATEGORICAL = [c for c in NAMES if c not in NUMERIC]  # the label is one more categorical column
MISSING_TOKENS = {"", "?"}


def fmt(x):
    if isinstance(x, float):
        if np.isnan(x):
            return ""
        return repr(float(x)) if x != int(x) or abs(x) >= 1e16 else str(int(x))
    return str(x)


def write_table(df, name):
    buf = io.StringIO()
    buf.write(",".join(NAMES) + "\n")
    for row in df[NAMES].itertuples(index=False):
        buf.write(",".join(fmt(v) for v in row) + "\n")
    with open(os.path.join(OUT, name), "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
            gz.write(buf.getvalue().encode())
    # Read back exactly as the Rust side will see it (numbers through their text form).
    return pd.read_csv(os.path.join(OUT, name), dtype=str, keep_default_na=False).pipe(numeric_cols)


def numeric_cols(df):
    for c in NUMERIC:
        df[c] = pd.to_numeric(df[c].replace("", np.nan))
    return df


def fit_scale(fit, how):
    x = fit[NUMERIC].to_numpy(float)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        span = np.nanmax(x, axis=0) - np.nanmin(x, axis=0)
        s = span if how == "range" else np.nanstd(x, axis=0, ddof=0)
    s = np.where(np.isfinite(s) & (s > 0), s, 1.0)
    span = np.where(np.isfinite(span), span, 0.0) / s
    return s, np.maximum(span ** 2, 1.0)


def cat_values(df):
    return [np.array(["\0missing" if v in MISSING_TOKENS else v for v in df[c]], dtype=object) for c in CATEGORICAL]


def embed(df, tables, scale, w):
    """Scaled numerics and one-hot categoricals (entries w/sqrt 2) over the union of levels."""
    parts = [df[NUMERIC].to_numpy(float) / scale]
    for j, col in enumerate(cat_values(df)):
        levels = sorted(set().union(*[set(cat_values(t)[j]) for t in tables]))
        onehot = (col[:, None] == np.array(levels, dtype=object)[None, :]).astype(float)
        parts.append(onehot * (w / np.sqrt(2.0)))
    return np.hstack(parts)


def sq_missing_rule(q, r, scale, cost, w):
    """Squared distances by the missing-value rule, plainly in numpy (no embedding)."""
    xq, xr = q[NUMERIC].to_numpy(float), r[NUMERIC].to_numpy(float)
    d2 = np.zeros((len(q), len(r)))
    for j in range(len(NUMERIC)):
        a, b = xq[:, j][:, None], xr[:, j][None, :]
        t = ((a - b) / scale[j]) ** 2
        both, one = np.isnan(a) & np.isnan(b), np.isnan(a) ^ np.isnan(b)
        d2 += np.where(both, 0.0, np.where(one, cost[j], t))
    for cq, cr in zip(cat_values(q), cat_values(r)):
        d2 += (cq[:, None] != cr[None, :]) * w * w
    return d2


def top2(d2, ident):
    """Per row: two smallest by (distance, index) and an ambiguity flag."""
    rows = []
    for i in range(d2.shape[0]):
        order = np.lexsort((np.arange(d2.shape[1]), d2[i]))
        a, b, c = order[:3] if len(order) > 2 else (order[0], order[1], order[1])
        amb = 0
        for x, y in ((a, b), (b, c)):
            close = abs(d2[i, x] - d2[i, y]) <= 1e-12 * max(d2[i, x], d2[i, y])
            if x != y and close and not ident(x, y):
                amb = 1
        rows.append((i, a, np.sqrt(d2[i, a]), b, np.sqrt(d2[i, b]), amb))
    return rows


def summarize(d):
    """Report summary with members = queries 0..199, holdout = queries 200..399, synthetic =
    the reference table (range scaling, w = 1); d is the query x reference distance matrix."""
    members, holdout = d[:200], d[200:]
    qs = [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0]
    m_s, h_s = members.min(axis=1), holdout.min(axis=1)
    s_m, s_h = members.min(axis=0), holdout.min(axis=0)
    closer_m, closer_h = int((s_m < s_h).sum()), int((s_m > s_h).sum())
    ties = int((s_m == s_h).sum())
    n = closer_m + closer_h
    lo = beta.ppf(0.025, closer_m, n - closer_m + 1) if closer_m > 0 else 0.0
    hi = beta.ppf(0.975, closer_m + 1, n - closer_m) if closer_m < n else 1.0
    return {
        "source": "numpy.quantile (linear) of scipy cdist minima; Clopper-Pearson by scipy.stats.beta.ppf",
        "quantiles": qs,
        "members_to_synthetic": [float(np.quantile(m_s, q)) for q in qs],
        "holdout_to_synthetic": [float(np.quantile(h_s, q)) for q in qs],
        "synthetic_to_members": [float(np.quantile(s_m, q)) for q in qs],
        "members_in_synthetic": int((m_s == 0).sum()),
        "holdout_in_synthetic": int((h_s == 0).sum()),
        "synthetic_copying_members": int((s_m == 0).sum()),
        "closer_to_members": closer_m,
        "closer_to_holdout": closer_h,
        "ties": ties,
        "share": closer_m / n,
        "interval_95": [float(lo), float(hi)],
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261127)
    adult = load_adult()
    perm = rng.permutation(len(adult))
    fit = adult.iloc[perm[:500]].reset_index(drop=True)
    query = adult.iloc[perm[500:900]].reset_index(drop=True)
    base = adult.iloc[perm[900:2100]].reset_index(drop=True).copy()
    # Jitter most reference rows (as a generator would), leave 30% untouched.
    jit = rng.random(len(base)) < 0.7
    base.loc[jit, "age"] = base.loc[jit, "age"] + rng.integers(-1, 2, jit.sum())
    base.loc[jit, "fnlwgt"] = np.round(base.loc[jit, "fnlwgt"] * (1 + 0.02 * rng.uniform(-1, 1, jit.sum())))
    # Duplicate queries (twins for leave-one-out): queries 390..399 copy queries 0..9.
    query.iloc[390:400] = query.iloc[0:10].to_numpy()

    s_range, _ = fit_scale(fit, "range")
    plants, near = [], []
    for i in range(0, 40):  # exact copies; 30..39 twice
        plants += [query.iloc[i]] * (2 if i >= 30 else 1)
    for i in range(40, 60):  # near-tie in one column: |+1000| < |-1000.0001|
        a, b = query.iloc[i].copy(), query.iloc[i].copy()
        a["fnlwgt"] += 1000.0
        b["fnlwgt"] -= 1000.0001
        near.append((a, b))
    age_j, hrs_j = NUMERIC.index("age"), NUMERIC.index("hours-per-week")
    for i in range(60, 70):  # near-tie across columns: (1/s_age)^2 vs (h/s_hours)^2 (1 + 1e-9)
        a, b = query.iloc[i].copy(), query.iloc[i].copy()
        a["age"] += 1.0
        b["hours-per-week"] += s_range[hrs_j] / s_range[age_j] * (1 + 5e-10)
        near.append((a, b))
    dups = [base.iloc[j] for j in rng.choice(len(base), 20, replace=False)]
    rows = [base.iloc[j] for j in range(len(base))] + plants + dups
    items = [("row", r) for r in rows] + [("near", p) for p in near]
    order = rng.permutation(len(items))
    positions = []
    for k in order:
        kind, v = items[k]
        positions.append((kind, v))
    ref_rows = []
    for kind, v in positions:
        if kind == "row":
            ref_rows.append(v)
        else:  # the farther copy first (lower index): a wrong tie order would pick it
            ref_rows += [v[1], v[0]]
    reference = pd.DataFrame(ref_rows).reset_index(drop=True)

    fit = write_table(fit, "fit.csv.gz")
    query = write_table(query, "query.csv.gz")
    reference = write_table(reference, "reference.csv.gz")
    const_fit = write_table(fit[(fit["capital-gain"] == 0) & (fit["capital-loss"] == 0)], "const_fit.csv.gz")
    tables = [fit, query, reference]

    out = ["scenario,query,i1,d1,i2,d2,amb"]

    def emit(name, rows_):
        for i, a, da, b, db, amb in rows_:
            out.append(f"{name},{i},{a},{float(da)!r},{b},{float(db)!r},{amb}")

    def ident_of(x):
        return lambda a, b: np.array_equal(x[a], x[b])

    for name, fit_t, how, w in (("range_w1", fit, "range", 1.0), ("std_w05", fit, "std", 0.5),
                                ("const_range", const_fit, "range", 1.0), ("const_std", const_fit, "std", 1.0)):
        s, _ = fit_scale(fit_t, how)
        eq, er = embed(query, tables, s, w), embed(reference, tables, s, w)
        d2 = cdist(eq, er, "sqeuclidean")
        emit(name, top2(d2, ident_of(er)))
        if name in ("range_w1", "std_w05"):
            # Leave-one-out on the queries themselves.
            dq = cdist(eq, eq, "sqeuclidean")
            np.fill_diagonal(dq, np.inf)
            emit("self_" + name, top2(dq, ident_of(eq)))
            # One reference row (index 5): k = 1 against a one-row table.
            for i in range(len(query)):
                out.append(f"single_{name},{i},5,{float(np.sqrt(d2[i, 5]))!r},5,{float(np.sqrt(d2[i, 5]))!r},0")
            # DCR of the queries to the fit table (the calibration reference of dcr_calibrated).
            ef = embed(fit, tables, s, w)
            emit("tofit_" + name, top2(cdist(eq, ef, "sqeuclidean"), ident_of(ef)))
        if name == "range_w1":
            summary = summarize(np.sqrt(d2))

    # Missing values: blanks in numeric cells (10%) and "" in categorical cells (5%), planted
    # exact copies of a query including its blanks.
    mq = query.iloc[:150].copy().reset_index(drop=True)
    mr = reference.iloc[:300].copy().reset_index(drop=True)
    for t in (mq, mr):
        for c in NUMERIC:
            t.loc[rng.random(len(t)) < 0.10, c] = np.nan
        for c in CATEGORICAL[:-1]:
            t.loc[rng.random(len(t)) < 0.05, c] = ""
    for j, i in enumerate(range(0, 20)):
        mr.iloc[10 * j + 3] = mq.iloc[i].to_numpy()
    mq = write_table(mq, "missing_query.csv.gz")
    mr = write_table(mr, "missing_reference.csv.gz")
    for name, how, w in (("missing_range", "range", 1.0), ("missing_std", "std", 0.5)):
        s, cost = fit_scale(mr, how)
        d2 = sq_missing_rule(mq, mr, s, cost, w)
        rv = mr.to_numpy(object)
        emit(name, top2(d2, lambda a, b: all((x == y) or (x != x and y != y) for x, y in zip(rv[a], rv[b]))))

    with open(os.path.join(OUT, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    with open(os.path.join(OUT, "expected.csv"), "w") as f:
        f.write("\n".join(out) + "\n")
    n_amb = sum(1 for line in out[1:] if line.endswith(",1"))
    print(f"wrote {OUT}: {len(reference)} reference rows, {len(out) - 1} expected rows, {n_amb} ambiguous")


if __name__ == "__main__":
    main()
