"""Audit a synthetic dataset held in pandas DataFrames.

A vendor sends synthetic records made from your real customers: does the release betray who
was in the real data behind it? Here the "vendor" is a few lines of pandas that resample
each column of the training rows and copy 2% of them verbatim (a leak the audit must flag);
replace `synthetic` with your vendor's table, `train` with the rows it was made from and
`holdout` with real records of the same population it never saw.

Run: python examples/python/audit_synthetic_dataframe.py [--out mia-report-synth]
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

import mia_audit

ROOT = Path(__file__).resolve().parents[2]
parser = argparse.ArgumentParser()
parser.add_argument("--out", default="mia-report-synth")
parser.add_argument("--rows", type=int, default=4000)
args = parser.parse_args()

names = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
         "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
         "income"]
numeric = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
adult = pd.read_csv(ROOT / "data/adult/adult.data.gz", header=None, names=names, skipinitialspace=True)
adult = adult.sample(n=args.rows, random_state=0).reset_index(drop=True)
train, holdout = adult.iloc[: args.rows // 2], adult.iloc[args.rows // 2 :]

# The "vendor's" generator: independent marginals, plus 2% of the training rows copied.
rng = np.random.default_rng(0)
synthetic = pd.DataFrame({c: rng.choice(train[c].to_numpy(), size=len(train)) for c in names})
copied = rng.choice(len(train), size=len(train) // 50, replace=False)
synthetic.iloc[: len(copied)] = train.iloc[copied].to_numpy()

config = {
    "seed": 0,
    "data": {"label": "income", "numeric": numeric, "categorical": "rest"},
    "attacks": {"run": ["dcr", "dcr_calibrated", "domias"]},
    "eval": {"bootstrap": 500, "fpr": [0.01, 0.1]},
    "report": {"fail_if": ["dcr.tpr@0.01.lo > 0.01"]},
}
report = mia_audit.synth(config, data=train, synthetic=synthetic, holdout=holdout)
print(report.attacks[["auc", "auc_lo", "auc_hi", "tpr@fpr=0.01", "tpr@fpr=0.01_lo"]])
print("gate:", report.verdict, report.failed_rules)
copies = report.json["synth"]["distances"][0]["exact_copies"]
print(f"members copied verbatim into the release: {copies['members_in_synthetic']} (planted: {len(copied)})")
report.save(args.out)
