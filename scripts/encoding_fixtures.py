#!/usr/bin/env python3
"""Reference encodings of the bundled tabular data sets, written to fixtures/tabular/.

Implements, independently of the Rust code and with pandas, the encoding rule of
`mia_data::tabular::Encoding` (crates/mia-data/src/tabular/encode.rs):

* cells are trimmed; "", "?" and "NA" are missing;
* classes: distinct label values, numbers (finite floats) first by value (ties by text),
  then other values in byte order;
* features in the file's column order;
* numeric: (x - mean) / std over the fitting rows' non-missing values, std with ddof 0;
  a column whose fitting values are all equal gets mean = that value and scale 1, one with
  none mean 0 and scale 1; missing -> mean (so 0 after standardising); with
  standardize = false the value itself (missing -> mean);
* categorical: one-hot over the sorted distinct values seen in the fitting rows (a missing
  token is a category of its own), unseen values -> all zeros; names "column=value";
* the matrix is float32; "sum" is the float64 column sum of the float32 values, "first_rows"
  the first encoded rows.

Also writes a small Adult sample as CSV (with a header, an id and a member column, and a few
missing values) and as Parquet with typed columns, for the reader-equivalence test.

Run from anywhere: python3 scripts/encoding_fixtures.py   (deterministic; needs pandas, pyarrow)
"""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fixtures" / "tabular"
MISSING = ["", "?", "NA"]

ADULT_NAMES = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
    "income",
]
ADULT_NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]

NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def read_table(path, names=None, comment=None):
    df = pd.read_csv(path, header=None, names=names, dtype=str, keep_default_na=False, na_filter=False,
                     comment=comment, skip_blank_lines=True)
    df.columns = [str(c) for c in df.columns]
    for c in df.columns:
        df[c] = df[c].map(lambda v: v.strip(" \t\r\n\x0b\x0c"))
    return df


def class_key(v):
    if NUMBER.match(v) and np.isfinite(float(v)):
        return (0, float(v), v.encode())
    return (1, 0.0, v.encode())


def classes_of(labels):
    classes = sorted(set(labels), key=class_key)
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[v] for v in labels])
    return classes, y


def encode(df, numeric, categorical, fit_rows, standardize=True):
    blocks, names, params = [], [], {}
    for c in df.columns:
        s = df[c]
        if c in numeric:
            x = pd.to_numeric(s.where(~s.isin(MISSING)), errors="raise").astype(np.float64)
            fit = x.iloc[fit_rows].dropna()
            if len(fit) == 0:
                mean, scale = 0.0, 1.0
            elif fit.min() == fit.max():
                mean, scale = float(fit.min()), 1.0
            else:
                mean = float(fit.mean())
                std = float(fit.std(ddof=0))
                scale = std if std > 0 else 1.0
            xf = x.fillna(mean).to_numpy()
            y = (xf - mean) / scale if standardize else xf
            blocks.append(y[:, None])
            names.append(c)
            params[c] = [mean, scale]
        elif c in categorical:
            cats = sorted(set(s.iloc[fit_rows]))
            index = {v: i for i, v in enumerate(cats)}
            onehot = np.zeros((len(s), len(cats)))
            for r, v in enumerate(s):
                k = index.get(v)
                if k is not None:
                    onehot[r, k] = 1.0
            blocks.append(onehot)
            names.extend(f"{c}={v}" for v in cats)
    return np.hstack(blocks).astype(np.float32), names, params


def summary(x, names, params=None, first_rows=3):
    x64 = x.astype(np.float64)
    out = {
        "feature_names": names,
        "sum": [float(v) for v in x64.sum(axis=0)],
        "first_rows": [[float(v) for v in row] for row in x[:first_rows]],
    }
    if params is not None:
        out["numeric_params"] = params
    return out


def dataset(name, source, df, label, numeric, categorical, **extra):
    classes, y = classes_of(list(df[label]))
    feats = df.drop(columns=[label])
    n = len(df)
    everything = np.arange(n)
    even = np.arange(0, n, 2)
    x, names, params = encode(feats, numeric, categorical, everything)
    fixture = {
        "dataset": name,
        "source": source,
        "rows": n,
        "classes": classes,
        "class_counts": [int(c) for c in np.bincount(y, minlength=len(classes))],
        "first_labels": [int(v) for v in y[:5]],
        "all_rows": summary(x, names, params),
    }
    xe, ne, _ = encode(feats, numeric, categorical, even)
    fixture["fit_even_rows"] = summary(xe, ne, first_rows=1)
    xr, nr, _ = encode(feats, numeric, categorical, everything, standardize=False)
    fixture["unstandardized"] = summary(xr, nr, first_rows=1)
    fixture.update(extra)
    return fixture


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")


def adult_sample(adult):
    """The first 200 Adult rows with an id and a member column and a few missing values."""
    df = adult.head(200).copy().reset_index(drop=True)
    df.insert(0, "id", [f"adult-{i:03d}" for i in range(len(df))])
    df.insert(1, "member", [str(i % 2) for i in range(len(df))])
    df.loc[3, "age"] = ""          # missing numeric (empty)
    df.loc[5, "age"] = "?"         # missing numeric (token)
    df.loc[7, "workclass"] = ""    # missing categorical (empty: a Parquet null reads as "")
    df.loc[11, "hours-per-week"] = "NA"
    csv_path = OUT / "adult_sample.csv"
    df.to_csv(csv_path, index=False)
    print(f"wrote {csv_path.relative_to(ROOT)} ({csv_path.stat().st_size} bytes)")

    def nums(col, typ):
        return pa.array([None if v in MISSING else int(v) for v in df[col]], type=typ)

    def text(col):
        return pa.array([None if v == "" else v for v in df[col]], type=pa.string())

    arrays = {
        "id": pa.array(list(df["id"]), type=pa.string()),
        "member": pa.array([v == "1" for v in df["member"]], type=pa.bool_()),
    }
    for c in ADULT_NAMES:
        if c == "age":
            arrays[c] = nums(c, pa.int64())
        elif c == "fnlwgt":
            arrays[c] = pa.array([float(v) for v in df[c]], type=pa.float64())
        elif c == "education-num":
            arrays[c] = nums(c, pa.int32())
        elif c in ADULT_NUMERIC:
            arrays[c] = nums(c, pa.int64())
        elif c == "sex":
            arrays[c] = text(c).dictionary_encode()
        else:
            arrays[c] = text(c)
    pq_path = OUT / "adult_sample.parquet"
    pq.write_table(pa.table(arrays), pq_path, compression="zstd")
    print(f"wrote {pq_path.relative_to(ROOT)} ({pq_path.stat().st_size} bytes)")

    # Encoding of the sample (header, id and member columns are not features).
    feats = df.drop(columns=["id", "member"])
    fixture = dataset("adult_sample", "fixtures/tabular/adult_sample.csv", feats, "income", ADULT_NUMERIC,
                      [c for c in ADULT_NAMES if c not in ADULT_NUMERIC and c != "income"])
    write_json(OUT / "adult_sample_expected.json", fixture)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    adult = read_table(ROOT / "data" / "adult" / "adult.data.gz", names=ADULT_NAMES)
    categorical = [c for c in ADULT_NAMES if c not in ADULT_NUMERIC and c != "income"]
    write_json(OUT / "adult_expected.json",
               dataset("adult", "data/adult/adult.data.gz", adult, "income", ADULT_NUMERIC, categorical))

    test = read_table(ROOT / "data" / "adult" / "adult.test.gz", names=ADULT_NAMES, comment="|")
    test["income"] = test["income"].map(lambda v: v[:-1] if v.endswith(".") else v)
    write_json(OUT / "adult_test_expected.json",
               dataset("adult_test", "data/adult/adult.test.gz", test, "income", ADULT_NUMERIC, categorical))

    loc = read_table(ROOT / "data" / "location" / "bangkok.csv.gz")
    features = [c for c in loc.columns if c != "0"]
    write_json(OUT / "location_expected.json",
               dataset("location", "data/location/bangkok.csv.gz", loc, "0", features, []))

    adult_sample(adult)


if __name__ == "__main__":
    main()
