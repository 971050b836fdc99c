"""UCI Adult (data/adult/adult.data.gz) as a pandas table with the columns examples/data/adult.toml
names: text cells trimmed, the six numeric columns as float. Shared by the synthetic-data fixture
scripts and benchmarks."""
import os

import pandas as pd

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
NAMES = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
         "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
         "income"]
NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]


def load_adult():
    df = pd.read_csv(os.path.join(ROOT, "data", "adult", "adult.data.gz"), header=None, names=NAMES,
                     skipinitialspace=True, dtype=str, keep_default_na=False)
    df = df[df["age"].str.strip() != ""].reset_index(drop=True)
    for c in NAMES:
        df[c] = df[c].str.strip()
    for c in NUMERIC:
        df[c] = df[c].astype(float)
    return df
