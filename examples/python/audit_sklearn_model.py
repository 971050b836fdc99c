"""Audit a scikit-learn model from a notebook or a training script.

Train an MLP on half of a Location-30 sample (the members), compute its logits on every
record, and ask mia_audit how well each attack tells members from non-members. Then let the
tool train 8 reference models with the same recipe (the Auditor) for LiRA and RMIA.

Run: python examples/python/audit_sklearn_model.py [--out mia-report-sklearn]
(needs numpy, pandas, scikit-learn and the mia_audit wheel: pip install ./crates/mia-py)
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.neural_network import MLPClassifier

import mia_audit

ROOT = Path(__file__).resolve().parents[2]
parser = argparse.ArgumentParser()
parser.add_argument("--out", default="mia-report-sklearn")
parser.add_argument("--rows", type=int, default=1500)
parser.add_argument("--reference-models", type=int, default=8)
args = parser.parse_args()

# %% Location-30: column 0 is the class (1..30), 446 binary features.
table = pd.read_csv(ROOT / "data/location/bangkok.csv.gz", header=None)
sample = table.sample(n=args.rows, random_state=0)
X = sample.drop(columns=[0]).to_numpy(dtype=np.float32)
y = sample[0].to_numpy() - 1
n_classes = 30


def train(X, y, seed):
    return MLPClassifier(hidden_layer_sizes=(128,), max_iter=60, random_state=seed).fit(X, y)


def predict(model, X):
    # Log-probabilities over all 30 classes serve as logits (a class a model never saw
    # gets a tiny probability).
    p = np.full((len(X), n_classes), 1e-12)
    p[:, model.classes_] = model.predict_proba(X)
    return np.log(p)


# %% 1. Outputs you already have: the target trained on a random half.
rng = np.random.default_rng(0)
member = rng.random(len(y)) < 0.5
model = train(X[member], y[member], 0)
report = mia_audit.score(member, logits=predict(model, X), labels=y, fail_if=["max.auc.lo > 0.6"])
print(report.attacks[["auc", "auc_lo", "auc_hi", "tpr@fpr=0.01", "eps_lower_bound"]])
print("gate:", report.verdict, report.failed_rules)

# %% 2. The same recipe audited with reference models (LiRA, RMIA, ...): the tool draws
# which rows every model trains on and calls train/predict for each.
auditor = mia_audit.Auditor(train, predict, X, y, reference_models=args.reference_models, seed=0, progress=True)
full = auditor.run()
rows = full.attacks.loc[["lira_online", "rmia_online", "loss"], ["auc", "tpr@fpr=0.01", "tpr@fpr=0.01_lo"]]
print(rows)
print(f"train/predict took {auditor.timings['user']:.1f} s of {auditor.timings['total']:.1f} s")
full.save(args.out)
print("report written to", Path(args.out) / "report.html")
