"""Audit a PyTorch model with the in-process Auditor (documented example; needs torch).

The Auditor draws the plan (the target's members and each reference model's training rows),
calls `train(X_subset, y_subset, seed)` and `predict(model, X)` for the target and every
reference model, and runs every attack, LiRA and RMIA included. With `cache_dir`, each
model's outputs are kept, so an interrupted run resumes where it stopped.

Run: python examples/python/audit_pytorch_model.py [--out mia-report-torch]
(pip install torch --index-url https://download.pytorch.org/whl/cpu, and the mia_audit wheel)
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

import mia_audit

ROOT = Path(__file__).resolve().parents[2]
parser = argparse.ArgumentParser()
parser.add_argument("--out", default="mia-report-torch")
parser.add_argument("--rows", type=int, default=2000)
parser.add_argument("--epochs", type=int, default=60)
parser.add_argument("--reference-models", type=int, default=16)
parser.add_argument("--cache", default="mia-cache-torch")
args = parser.parse_args()
torch.set_num_threads(1)  # the tool's attacks use the other cores

table = pd.read_csv(ROOT / "data/location/bangkok.csv.gz", header=None).sample(n=args.rows, random_state=0)
X = table.drop(columns=[0]).to_numpy(dtype=np.float32)
y = table[0].to_numpy() - 1


def train(X, y, seed):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(X.shape[1], 256), nn.ReLU(), nn.Linear(256, 30))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    data = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y).long())
    loader = torch.utils.data.DataLoader(data, batch_size=128, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    for _ in range(args.epochs):
        for xb, yb in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(net(xb), yb).backward()
            opt.step()
    return net


def predict(net, X):
    with torch.no_grad():
        return net(torch.from_numpy(X)).double().numpy()


auditor = mia_audit.Auditor(train, predict, X, y, reference_models=args.reference_models, seed=0,
                            cache_dir=args.cache, fail_if=["lira_online.tpr@0.01.lo > 0.05"])
report = auditor.run()
print(report.attacks[["auc", "tpr@fpr=0.01", "tpr@fpr=0.01_lo", "eps_lower_bound"]])
print("gate:", report.verdict)
report.save(args.out)
