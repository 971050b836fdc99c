#!/usr/bin/env python3
"""Opacus counterpart of the built-in DP-SGD MLP, for cross-checking accuracy and ε by hand.

Not run by CI (it needs torch and opacus: `pip install torch opacus`, CPU is enough).

    cargo run --release -p mia-models --no-default-features --example dp_location -- --epsilon 8
        # prints {"noise_multiplier": σ, "sample_rate": q, "steps": T, "test_accuracy": ..., ...}
    python3 scripts/dp_sgd_opacus.py --sigma σ [--batch 128] [--epochs 30] [--clip 1.0]
        [--hidden 256] [--lr 1e-3] [--alpha 1e-4] [--delta 1e-5] [--seeds 0 1 2]

Both sides train on Location-30 (data/location/bangkok.csv.gz: no header, column 0 the class
"1".."30" -> 0..29, columns 1..446 binary features used raw, as examples/location_mlp.toml reads
it) with train = rows of even 0-based index (2,505), test = odd, and the same mechanism:

  * Poisson sampling: every training row in a step's batch independently with probability
    q = batch / 2505 (batches vary in size, may be empty), T = epochs * ceil(2505 / batch) steps;
  * per-example gradients over ALL parameters clipped to L2 norm C = --clip (Opacus's flat clipping);
  * N(0, σ²C²) noise on every coordinate of the summed clipped gradient, divided by the EXPECTED
    batch size q·n (Opacus's DPOptimizer with loss_reduction="mean", expected_batch_size = batch);
  * Adam (lr, β = 0.9, 0.999, eps 1e-8) on the noised gradient, plus the L2 term alpha·W / batch on
    the weights only (scikit-learn's penalty alpha/2·‖W‖²/batch, as the Rust side), applied as
    Adam weight_decay = alpha / batch on a weights-only parameter group;
  * one ReLU hidden layer of --hidden units, softmax cross-entropy, scikit-learn's Glorot-uniform
    initialisation ±sqrt(6 / (fan_in + fan_out)) for weights and biases.

The sampling and noise streams differ (torch's generator vs xoshiro256++), and torch's Adam puts
eps outside the bias correction (scikit-learn, and so the Rust side, folds it in), so accuracies
agree in distribution, not bit for bit: compare the mean over a few seeds. The script also prints
ε from Opacus's RDP accountant for (q, σ, T, δ), to set beside the Rust side's (mia_dp's "rdp"
accountant; within a few percent: Opacus uses a different order grid and conversion, which
mia_dp reproduces under its `OpacusCompatible` accountant).

The lower-level Opacus API (GradSampleModule + DPOptimizer) is used instead of
PrivacyEngine.make_private so that q, T and the expected batch size are exactly the Rust side's
(make_private derives q = 1 / len(data_loader) and T per epoch = 1 / q, which round differently).
"""

import argparse
import gzip
import json
import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def location():
    """Features (float32, n × 446) and classes (0..29) of Location-30."""
    with gzip.open(ROOT / "data" / "location" / "bangkok.csv.gz", "rt") as f:
        rows = [line.strip().split(",") for line in f if line.strip()]
    y = np.array([int(r[0].strip('"')) - 1 for r in rows], dtype=np.int64)
    x = np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float32)
    assert x.shape == (5010, 446), x.shape
    return x, y


def train_one(args, x_tr, y_tr, x_te, y_te, seed):
    import torch
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer

    torch.manual_seed(seed)
    n, d = x_tr.shape
    k = 30
    model = torch.nn.Sequential(torch.nn.Linear(d, args.hidden), torch.nn.ReLU(), torch.nn.Linear(args.hidden, k))
    with torch.no_grad():
        for layer in (model[0], model[2]):
            bound = math.sqrt(6.0 / (layer.in_features + layer.out_features))
            layer.weight.uniform_(-bound, bound)
            layer.bias.uniform_(-bound, bound)
    gsm = GradSampleModule(model)
    weights = [model[0].weight, model[2].weight]
    biases = [model[0].bias, model[2].bias]
    adam = torch.optim.Adam(
        [
            {"params": weights, "weight_decay": args.alpha / args.batch},
            {"params": biases, "weight_decay": 0.0},
        ],
        lr=args.lr,
        betas=(0.9, 0.999),
        eps=1e-8,
    )
    opt = DPOptimizer(
        adam,
        noise_multiplier=args.sigma,
        max_grad_norm=args.clip,
        expected_batch_size=args.batch,
        loss_reduction="mean",
    )
    q = args.batch / n
    steps_per_epoch = math.ceil(n / args.batch)
    gen = torch.Generator().manual_seed(seed + 1_000_003)
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="mean")
    for _ in range(args.epochs):
        for _ in range(steps_per_epoch):
            mask = torch.rand(n, generator=gen) < q
            xb, yb = xt[mask], yt[mask]
            opt.zero_grad()
            out = gsm(xb)
            # An empty batch still takes a (pure-noise) step; its loss is 0 rather than NaN.
            loss = loss_fn(out, yb) if len(yb) > 0 else out.sum() * 0.0
            loss.backward()
            opt.step()
    with torch.no_grad():
        acc = lambda x, y: float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())
        return acc(x_tr, y_tr), acc(x_te, y_te)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sigma", type=float, default=1.1, help="noise multiplier (the Rust side prints it)")
    ap.add_argument("--batch", type=int, default=128, help="expected batch size")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--clip", type=float, default=1.0, help="max_grad_norm C")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--alpha", type=float, default=1e-4)
    ap.add_argument("--delta", type=float, default=1e-5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = ap.parse_args()

    import torch
    from opacus.accountants import RDPAccountant

    torch.set_num_threads(1)
    x, y = location()
    tr, te = np.arange(0, len(y), 2), np.arange(1, len(y), 2)
    n = len(tr)
    q = args.batch / n
    steps = args.epochs * math.ceil(n / args.batch)
    acct = RDPAccountant()
    acct.history = [(args.sigma, q, steps)]
    eps = acct.get_epsilon(delta=args.delta)
    for seed in args.seeds:
        tr_acc, te_acc = train_one(args, x[tr], y[tr], x[te], y[te], seed)
        print(
            json.dumps(
                {
                    "library": "opacus",
                    "hidden": [args.hidden],
                    "batch": args.batch,
                    "epochs": args.epochs,
                    "lr": args.lr,
                    "alpha": args.alpha,
                    "seed": seed,
                    "epsilon_opacus_rdp": eps,
                    "delta": args.delta,
                    "noise_multiplier": args.sigma,
                    "sample_rate": q,
                    "steps": steps,
                    "max_grad_norm": args.clip,
                    "train_accuracy": round(tr_acc, 4),
                    "test_accuracy": round(te_acc, 4),
                }
            )
        )


if __name__ == "__main__":
    main()
