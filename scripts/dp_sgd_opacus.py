#!/usr/bin/env python3
"""Opacus counterpart of the built-in DP-SGD MLP (crates/mia-models, `dp_mlp` example): trains the
same network with the same mechanism on the same numbers, on Location-30 or UCI Adult.

Two modes:

    python3 scripts/dp_sgd_opacus.py --fixtures
        # writes fixtures/expected/dp_sgd_opacus.json (read by crates/mia-models/tests/dp_sgd_opacus.rs)
    python3 scripts/dp_sgd_opacus.py --dataset location|adult --sigma σ [--batch 128] [--epochs 30]
        [--clip 1.0] [--hidden 256] [--lr 1e-3] [--alpha 1e-4] [--delta 1e-5] [--seeds 0 1 2]
        [--data DIR] [--threads 1]
        # one JSON line per seed; take σ from
        # cargo run --release -p mia-models --no-default-features --example dp_mlp -- --dataset D --epsilon 8

Data. The Rust example dumps the encoded features, labels and split it trains on
(`dp_mlp --dataset D --dump DIR`: x_train.npy, y_train.npy, x_test.npy, y_test.npy); this script
runs it through cargo into a temporary folder unless --data names such a folder, so both sides
train on identical numbers: Location-30 (data/location/bangkok.csv.gz, 446 binary features used
raw, class "k" -> k-1) and UCI Adult (data/adult/adult.data.gz through examples/data/adult.toml and
mia_data's Encoding: standardised numeric columns, one-hot categorical ones, 108 features), each
split train = even 0-based rows, test = odd rows (Location 2,505 / 2,505; Adult 16,281 / 16,280).

Mechanism (both sides):

  * Poisson sampling: every training row in a step's batch independently with probability
    q = batch / n_train (batches vary in size, may be empty), T = epochs * ceil(n_train / batch);
  * per-example gradients over ALL parameters clipped to L2 norm C = --clip (Opacus's flat clipping);
  * N(0, σ²C²) noise on every coordinate of the summed clipped gradient, divided by the EXPECTED
    batch size q·n (Opacus's DPOptimizer with loss_reduction="mean", expected_batch_size = batch);
  * Adam (lr, β = 0.9, 0.999, eps 1e-8) on the noised gradient, plus the L2 term alpha·W / batch on
    the weights only (scikit-learn's penalty alpha/2·‖W‖²/batch, as the Rust side), applied as
    Adam weight_decay = alpha / batch on a weights-only parameter group;
  * one ReLU hidden layer of --hidden units; softmax cross-entropy for more than two classes, and
    for two classes (Adult) ONE logistic output with binary cross-entropy, as scikit-learn and the
    Rust side do (a two-logit softmax would have other per-example gradient norms, so other
    clipping); scikit-learn's Glorot-uniform initialisation ±sqrt(6 / (fan_in + fan_out)) for
    weights and biases.

The sampling and noise streams differ (torch's generator vs xoshiro256++), and torch's Adam puts
eps outside the bias correction (scikit-learn, and so the Rust side, folds it in), so accuracies
agree in distribution, not bit for bit: compare the mean over a few seeds. The script also gives
ε from Opacus's RDP accountant for (q, σ, T, δ), to set beside the Rust side's (mia_dp's "rdp"
accountant; within a few percent: Opacus uses a different order grid and conversion), and the σ
Opacus's own get_noise_multiplier would calibrate to the target ε.

The lower-level Opacus API (GradSampleModule + DPOptimizer) is used instead of
PrivacyEngine.make_private so that q, T and the expected batch size are exactly the Rust side's
(make_private derives q = 1 / len(data_loader) and T per epoch = 1 / q, which round differently).

--fixtures: for each case of FIXTURE_CASES (Location-30 and Adult at ε = 1 and 8) it runs the Rust
example (release build, seed 0 and the other fixture seeds) for σ calibrated to ε and the
mechanism's q and T, trains with Opacus over FIXTURE_SEEDS, and writes every setting, σ, q, T,
Opacus's per-seed and mean accuracies, Opacus's RDP ε, the versions and the command to
fixtures/expected/dp_sgd_opacus.json. Deterministic for given versions (one torch thread, fixed
seeds). Our accuracies at generation time are kept beside them for information; the test
recomputes its own.

Environment: needs torch and opacus (CPU is enough). Without them the script creates the virtual
environment $MIA_OPACUS_VENV (default /tmp/mia-dp-opacus-venv), installs
torch==2.15.0 opacus==1.6.0 numpy==2.4.6 into it (large: ~3 GB with torch's CUDA wheels) and re-runs
itself there. The committed fixture was made with Python 3.11.7, torch 2.15.0, opacus 1.6.0,
numpy 2.4.6 (recorded in the file). Cargo must be on PATH (CARGO_TARGET_DIR is honoured).
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "expected" / "dp_sgd_opacus.json"
VENV = Path(os.environ.get("MIA_OPACUS_VENV", "/tmp/mia-dp-opacus-venv"))
PINNED = ["torch==2.15.0", "opacus==1.6.0", "numpy==2.4.6"]

# The cross-checked settings. Location: the network of examples/location_mlp.toml's size class
# (one hidden layer of 256), batch 128, 30 epochs. Adult: 16,281 training rows, so a larger batch
# and fewer epochs keep the test's fits (3 seeds x 2 epsilons, dev build) within its time budget.
FIXTURE_CASES = [
    {"dataset": d, "epsilon": e, **s}
    for d, s in [
        ("location", {"hidden": [256], "batch": 128, "epochs": 30, "lr": 1e-3, "alpha": 1e-4}),
        ("adult", {"hidden": [64], "batch": 256, "epochs": 5, "lr": 1e-3, "alpha": 1e-4}),
    ]
    for e in (1.0, 8.0)
]
FIXTURE_COMMON = {"max_grad_norm": 1.0, "delta": 1e-5}
FIXTURE_SEEDS = [0, 1, 2]


def bootstrap():
    """Create the virtual environment with torch and opacus, then re-run inside it."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "--quiet", "install", *PINNED], check=True)
    os.execv(str(python), [str(python), os.path.abspath(__file__)] + sys.argv[1:])


try:
    import numpy as np
    import opacus
    import torch
except ImportError:
    bootstrap()


# GradSampleModule's hooks on the first layer, whose input needs no gradient, make torch warn once.
warnings.filterwarnings("ignore", message="Full backward hook is firing")


def cargo_example(args):
    """Runs the dp_mlp example (release, without the onnx/parquet features); its stdout lines."""
    cmd = ["cargo", "run", "--release", "--quiet", "-p", "mia-models", "--no-default-features",
           "--example", "dp_mlp", "--"] + [str(a) for a in args]
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def load(dataset, data_dir=None):
    """(x_train, y_train, x_test, y_test, n_classes) as the Rust example dumps them."""
    if data_dir is None:
        with tempfile.TemporaryDirectory(prefix=f"dp-{dataset}-") as tmp:
            cargo_example(["--dataset", dataset, "--dump", tmp])
            return load(dataset, tmp)
    d = Path(data_dir)
    meta = json.loads((d / "meta.json").read_text())
    assert meta["dataset"] == dataset, (meta, dataset)
    arrays = [np.load(d / f"{v}_{p}.npy") for p in ("train", "test") for v in ("x", "y")]
    return (*arrays, meta["n_classes"])


def train_one(cfg, data, seed):
    """One Opacus DP-SGD fit; (train accuracy, test accuracy)."""
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer

    x_tr, y_tr, x_te, y_te, k = data
    torch.manual_seed(seed)
    n, d = x_tr.shape
    k_out = 1 if k == 2 else k
    (hidden,) = cfg["hidden"]
    model = torch.nn.Sequential(torch.nn.Linear(d, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, k_out))
    with torch.no_grad():
        for layer in (model[0], model[2]):
            bound = math.sqrt(6.0 / (layer.in_features + layer.out_features))
            layer.weight.uniform_(-bound, bound)
            layer.bias.uniform_(-bound, bound)
    gsm = GradSampleModule(model)
    batch = cfg["batch"]
    weights = [model[0].weight, model[2].weight]
    biases = [model[0].bias, model[2].bias]
    adam = torch.optim.Adam(
        [
            {"params": weights, "weight_decay": cfg["alpha"] / batch},
            {"params": biases, "weight_decay": 0.0},
        ],
        lr=cfg["lr"],
        betas=(0.9, 0.999),
        eps=1e-8,
    )
    opt = DPOptimizer(
        adam,
        noise_multiplier=cfg["noise_multiplier"],
        max_grad_norm=cfg["max_grad_norm"],
        expected_batch_size=batch,
        loss_reduction="mean",
    )
    q = batch / n
    steps_per_epoch = math.ceil(n / batch)
    gen = torch.Generator().manual_seed(seed + 1_000_003)
    xt = torch.from_numpy(x_tr)
    if k_out == 1:
        yt = torch.from_numpy(y_tr).to(torch.float32)
        loss_fn = torch.nn.BCEWithLogitsLoss(reduction="mean")
    else:
        yt = torch.from_numpy(y_tr)
        loss_fn = torch.nn.CrossEntropyLoss(reduction="mean")
    for _ in range(cfg["epochs"]):
        for _ in range(steps_per_epoch):
            mask = torch.rand(n, generator=gen) < q
            xb, yb = xt[mask], yt[mask]
            opt.zero_grad()
            out = gsm(xb)
            if k_out == 1:
                out = out[:, 0]
            # An empty batch still takes a (pure-noise) step; its loss is 0 rather than NaN.
            loss = loss_fn(out, yb) if len(yb) > 0 else out.sum() * 0.0
            loss.backward()
            opt.step()

    def acc(x, y):
        with torch.no_grad():
            z = model(torch.from_numpy(x))
            pred = (z[:, 0] > 0).long() if k_out == 1 else z.argmax(1)
            return float((pred.numpy() == y).mean())

    return acc(x_tr, y_tr), acc(x_te, y_te)


def opacus_epsilon(sigma, q, steps, delta):
    from opacus.accountants import RDPAccountant

    acct = RDPAccountant()
    acct.history = [(sigma, q, steps)]
    return acct.get_epsilon(delta=delta)


def fixtures(args):
    from opacus.accountants.utils import get_noise_multiplier

    cases = []
    data = {}
    for spec in FIXTURE_CASES:
        cfg = {**spec, **FIXTURE_COMMON}
        ds = cfg["dataset"]
        if ds not in data:
            data[ds] = load(ds)
        rust = cargo_example(
            ["--dataset", ds, "--epsilon", cfg["epsilon"], "--delta", cfg["delta"], "--clip", cfg["max_grad_norm"],
             "--hidden", ",".join(map(str, cfg["hidden"])), "--batch", cfg["batch"], "--epochs", cfg["epochs"],
             "--lr", cfg["lr"], "--alpha", cfg["alpha"], "--seeds", ",".join(map(str, FIXTURE_SEEDS))]
        )
        r0 = rust[0]
        assert all((r["noise_multiplier"], r["sample_rate"], r["steps"]) ==
                   (r0["noise_multiplier"], r0["sample_rate"], r0["steps"]) for r in rust)
        cfg.update(noise_multiplier=r0["noise_multiplier"], sample_rate=r0["sample_rate"], steps=r0["steps"])
        n_train = len(data[ds][1])
        assert cfg["sample_rate"] == cfg["batch"] / n_train
        assert cfg["steps"] == cfg["epochs"] * math.ceil(n_train / cfg["batch"])
        runs, t0 = [], time.time()
        for seed in FIXTURE_SEEDS:
            runs.append(train_one(cfg, data[ds], seed))
        seconds = time.time() - t0
        test = [round(te, 6) for _, te in runs]
        case = {
            **cfg,
            "n_train": n_train,
            "n_test": len(data[ds][3]),
            "n_features": int(data[ds][0].shape[1]),
            "opacus": {
                "test_accuracy_mean": round(sum(test) / len(test), 6),
                "test_accuracy": test,
                "train_accuracy": [round(tr, 6) for tr, _ in runs],
                "epsilon_rdp": opacus_epsilon(cfg["noise_multiplier"], cfg["sample_rate"], cfg["steps"],
                                              cfg["delta"]),
                "noise_multiplier_for_epsilon": get_noise_multiplier(
                    target_epsilon=cfg["epsilon"], target_delta=cfg["delta"], sample_rate=cfg["sample_rate"],
                    steps=cfg["steps"], accountant="rdp", epsilon_tolerance=0.001),
            },
            "mia_models_at_generation": {
                "note": "informational: this crate's release build when the fixture was made; the test recomputes",
                "epsilon": r0["epsilon"],
                "test_accuracy_mean": round(sum(r["test_accuracy"] for r in rust) / len(rust), 6),
                "test_accuracy": [r["test_accuracy"] for r in rust],
            },
        }
        print(f"{ds} eps {cfg['epsilon']}: sigma {cfg['noise_multiplier']:.4f} q {cfg['sample_rate']:.5f} "
              f"T {cfg['steps']}: opacus {case['opacus']['test_accuracy_mean']:.4f} {test} "
              f"({seconds:.0f} s), ours {case['mia_models_at_generation']['test_accuracy_mean']:.4f} "
              f"{case['mia_models_at_generation']['test_accuracy']}", file=sys.stderr)
        cases.append(case)
    out = {
        "description": "Opacus DP-SGD accuracies for the built-in DP-SGD MLP's cross-check "
                       "(crates/mia-models/tests/dp_sgd_opacus.rs); see scripts/dp_sgd_opacus.py for the mechanism",
        "command": "python3 scripts/dp_sgd_opacus.py --fixtures",
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "opacus": opacus.__version__,
            "numpy": np.__version__,
        },
        "torch_threads": 1,
        "seeds": FIXTURE_SEEDS,
        "cases": cases,
    }
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {FIXTURE.relative_to(ROOT)}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", action="store_true", help=f"write {FIXTURE.relative_to(ROOT)}")
    ap.add_argument("--dataset", choices=["location", "adult"], default="location")
    ap.add_argument("--data", help="a folder written by `dp_mlp --dump` (default: make one with cargo)")
    ap.add_argument("--sigma", type=float, default=1.1, help="noise multiplier (the Rust side prints it)")
    ap.add_argument("--batch", type=int, default=128, help="expected batch size")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--clip", type=float, default=1.0, help="max_grad_norm C")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--alpha", type=float, default=1e-4)
    ap.add_argument("--delta", type=float, default=1e-5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.fixtures:
        torch.set_num_threads(1)
        fixtures(args)
        return
    data = load(args.dataset, args.data)
    n = len(data[1])
    cfg = {
        "hidden": [args.hidden], "batch": args.batch, "epochs": args.epochs, "lr": args.lr, "alpha": args.alpha,
        "noise_multiplier": args.sigma, "max_grad_norm": args.clip, "delta": args.delta,
        "sample_rate": args.batch / n, "steps": args.epochs * math.ceil(n / args.batch),
    }
    eps = opacus_epsilon(args.sigma, cfg["sample_rate"], cfg["steps"], args.delta)
    for seed in args.seeds:
        t0 = time.perf_counter()
        tr_acc, te_acc = train_one(cfg, data, seed)
        fit_s = time.perf_counter() - t0
        print(json.dumps({"library": "opacus", "dataset": args.dataset, **cfg, "seed": seed, "threads": args.threads,
                          "epsilon_opacus_rdp": eps, "fit_seconds": round(fit_s, 3),
                          "train_accuracy": round(tr_acc, 4), "test_accuracy": round(te_acc, 4)}))


if __name__ == "__main__":
    main()
