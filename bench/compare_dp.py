#!/usr/bin/env python3
"""Times the built-in DP-SGD MLP (crates/mia-models, `dp_mlp` example) against Opacus on Location-30.

Both sides train the same network with the same mechanism on the same numbers (see
scripts/dp_sgd_opacus.py): one hidden layer of 256, Poisson sampling at q = 128 / 2,505,
T = 30 × 20 = 600 steps, flat clipping at C = 1, N(0, σ²C²) noise, Adam lr 1e-3, σ calibrated by
our accountant to ε = 8 at δ = 1e-5 (or --sigma). One run each:

* ours: the release binary, `RAYON_NUM_THREADS=--threads` (the DP fit itself is single-threaded);
  the fit time is measured inside the process around the fit (printed as fit_seconds), and the
  whole process (start-up, reading and encoding the data, fit, accuracy) is shown too;
* Opacus: `train_one` of scripts/dp_sgd_opacus.py (GradSampleModule + DPOptimizer + Adam) in this
  process on CPU with `torch.set_num_threads(--threads)`, timed around the fit (data already in
  memory).

Prints both fit times, the ratio Opacus / ours and both test accuracies.

Setup: the environment of scripts/dp_sgd_opacus.py (this script re-runs itself in
$MIA_OPACUS_VENV, default /tmp/mia-dp-opacus-venv, creating it if torch or opacus is missing).
Build first:
  cargo build --release -p mia-models --no-default-features --example dp_mlp
Run:
  python3 bench/compare_dp.py [--bin target/release/examples/dp_mlp] [--threads 1] [--epsilon 8]
"""

import argparse
import importlib.util
import json
import os
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def load_script():
    # Importing the script bootstraps (or re-enters) the torch + opacus environment.
    spec = importlib.util.spec_from_file_location("dp_sgd_opacus", os.path.join(ROOT, "scripts", "dp_sgd_opacus.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(target, "release", "examples", "dp_mlp"))
    ap.add_argument("--threads", type=int, default=1, help="torch threads and RAYON_NUM_THREADS")
    ap.add_argument("--epsilon", type=float, default=8.0)
    ap.add_argument("--sigma", type=float, help="noise multiplier (default: ours calibrated to --epsilon)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--alpha", type=float, default=1e-4)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--delta", type=float, default=1e-5)
    args = ap.parse_args()
    dp = load_script()
    import torch

    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), MIA_REPO_ROOT=ROOT)
    common = ["--dataset", "location", "--hidden", str(args.hidden), "--batch", str(args.batch), "--epochs",
              str(args.epochs), "--lr", repr(args.lr), "--alpha", repr(args.alpha), "--clip", repr(args.clip),
              "--delta", repr(args.delta), "--seeds", str(args.seed)]
    common += ["--sigma", repr(args.sigma)] if args.sigma is not None else ["--epsilon", repr(args.epsilon)]
    start = time.perf_counter()
    out = subprocess.run([args.bin] + common, env=env, check=True, capture_output=True, text=True).stdout
    ours_process = time.perf_counter() - start
    ours = json.loads(out.splitlines()[0])

    with tempfile.TemporaryDirectory(prefix="dp-bench-location-") as data_dir:
        subprocess.run([args.bin, "--dataset", "location", "--dump", data_dir], env=env, check=True,
                       capture_output=True)
        data = dp.load("location", data_dir)
    cfg = {"hidden": [args.hidden], "batch": args.batch, "epochs": args.epochs, "lr": args.lr, "alpha": args.alpha,
           "noise_multiplier": ours["noise_multiplier"], "max_grad_norm": args.clip}
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    _, opacus_acc = dp.train_one(cfg, data, args.seed)
    opacus_s = time.perf_counter() - start

    print(f"Location-30, hidden [{args.hidden}], q = {ours['sample_rate']:.5f}, T = {ours['steps']}, "
          f"sigma = {ours['noise_multiplier']:.6f} (epsilon {ours['epsilon']:.3f} at delta {args.delta}), "
          f"C = {args.clip}, {args.threads} thread(s), seed {args.seed}")
    print(f"ours   fit {ours['fit_seconds']:8.3f} s  (whole process {ours_process:.3f} s)  "
          f"test accuracy {ours['test_accuracy']:.4f}")
    print(f"opacus fit {opacus_s:8.3f} s  (torch {torch.__version__}, opacus {dp.opacus.__version__})  "
          f"test accuracy {opacus_acc:.4f}")
    print(f"ratio opacus / ours: {opacus_s / ours['fit_seconds']:.1f}x (fit), "
          f"{opacus_s / ours_process:.1f}x (against our whole process)")


if __name__ == "__main__":
    main()
