#!/usr/bin/env python3
"""Times the RDP accountants of dp_accounting 0.6.0, Opacus 1.6.0 and mia-dp on the same inputs.

For each case (q, sigma, T, delta), each side computes epsilon from scratch (RDP at every order
of its default grid, T-fold composition, conversion):

* dp_accounting: RdpAccountant().compose(PoissonSampledDpEvent(q, GaussianDpEvent(sigma)), T)
  then get_epsilon_and_optimal_order(delta) (default orders);
* opacus: analysis.rdp.compute_rdp(q, sigma, T, DEFAULT_ALPHAS) + get_privacy_spent, which is
  what RDPAccountant.get_privacy_spent does (module loaded from the wheel, no torch);
* mia-dp: `examples/epsilon` with the dp_accounting-compatible accountant, the
  Opacus-compatible one, and the default exact one (`rdp`); its time is measured inside the
  process around `epsilon_with` (no process start-up).

Each time is the fastest of --repeat runs (default 3; the machine is shared). Prints epsilon from
each side, the times, and the ratios library time / mia-dp time for the matching accountant.

Setup: the same environment as scripts/dp_accountant_fixtures.py (run that once, or this script
bootstraps /tmp/mia-dp-accountant-venv itself the same way). Build first:
  cargo build --release -p mia-dp --example epsilon
Run:
  python3 bench/compare_accountant.py --bin target/release/examples/epsilon
  python3 bench/compare_accountant.py --case 0.01 1.0 1000000 1e-5 --repeat 5
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
import warnings
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
VENV = os.environ.get("MIA_DP_VENV", "/tmp/mia-dp-accountant-venv")
WHEELS = os.path.join(VENV, "wheels")
OPACUS_WHEEL = os.path.join(WHEELS, "opacus-1.6.0-py3-none-any.whl")


def bootstrap():
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    subprocess.run([python, "-m", "pip", "--quiet", "install", "dp-accounting==0.6.0"], check=True)
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


try:
    import dp_accounting  # noqa: F401
except ImportError:
    bootstrap()

from absl import logging as absl_logging  # noqa: E402
from dp_accounting import dp_event  # noqa: E402
from dp_accounting.rdp import rdp_privacy_accountant as dpa  # noqa: E402

absl_logging.set_verbosity(absl_logging.ERROR)
warnings.simplefilter("ignore")


def load_opacus():
    if not os.path.exists(OPACUS_WHEEL):
        subprocess.run([sys.executable, "-m", "pip", "--quiet", "download", "opacus==1.6.0", "--no-deps", "-d",
                        WHEELS], check=True)
    member = "opacus/accountants/analysis/rdp.py"
    target = os.path.join(WHEELS, "extracted")
    with zipfile.ZipFile(OPACUS_WHEEL) as wheel:
        wheel.extract(member, target)
    spec = importlib.util.spec_from_file_location("opacus_analysis_rdp", os.path.join(target, member))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OPACUS = load_opacus()
# RDPAccountant.DEFAULT_ALPHAS (opacus/accountants/rdp.py, which imports torch).
OPACUS_ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))

DEFAULT_CASES = [
    (0.01, 1.0, 1_000_000, 1e-5),
    (256 / 60_000, 1.1, 1_000_000, 1e-5),
    (1e-3, 3.0, 1_000_000, 1e-9),
    (0.1, 0.8, 1_000_000, 1e-5),
]


def fastest(function, repeat):
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    return best, value


def dp_accounting_epsilon(q, sigma, steps, delta):
    accountant = dpa.RdpAccountant()
    accountant.compose(dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma)), steps)
    return accountant.get_epsilon_and_optimal_order(delta)


def opacus_epsilon(q, sigma, steps, delta):
    rdp = OPACUS.compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=OPACUS_ALPHAS)
    return OPACUS.get_privacy_spent(orders=OPACUS_ALPHAS, rdp=rdp, delta=delta)


def ours(binary, q, sigma, steps, delta, accountant, repeat):
    out = subprocess.run([binary, repr(q), repr(sigma), str(steps), repr(delta), accountant, str(repeat)],
                         check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    return result["elapsed_us"] / 1e6, result["epsilon"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "examples", "epsilon"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--case", nargs=4, action="append", metavar=("Q", "SIGMA", "T", "DELTA"))
    args = parser.parse_args()
    cases = [(float(q), float(s), int(float(t)), float(d)) for q, s, t, d in args.case] if args.case else DEFAULT_CASES

    print(f"{'q':>9} {'sigma':>5} {'T':>8} {'delta':>6} | {'eps dp_acc':>10} {'eps opacus':>10} {'eps exact':>10} |"
          f" {'dp_acc ms':>9} {'ours ms':>8} {'ratio':>6} | {'opacus ms':>9} {'ours ms':>8} {'ratio':>6} |"
          f" {'exact ms':>8}")
    for q, sigma, steps, delta in cases:
        dp_time, (dp_eps, _) = fastest(lambda: dp_accounting_epsilon(q, sigma, steps, delta), args.repeat)
        op_time, (op_eps, _) = fastest(lambda: opacus_epsilon(q, sigma, steps, delta), args.repeat)
        our_dp_time, our_dp_eps = ours(args.bin, q, sigma, steps, delta, "dp-accounting", args.repeat)
        our_op_time, our_op_eps = ours(args.bin, q, sigma, steps, delta, "opacus", args.repeat)
        our_time, our_eps = ours(args.bin, q, sigma, steps, delta, "rdp", args.repeat)
        for name, theirs, mine in [("dp_accounting", dp_eps, our_dp_eps), ("opacus", op_eps, our_op_eps)]:
            if abs(theirs - mine) > 1e-6 * abs(theirs):
                print(f"  warning: {name} epsilon {theirs} vs mia-dp {mine}", file=sys.stderr)
        print(f"{q:>9.3g} {sigma:>5g} {steps:>8.0e} {delta:>6.0e} | {dp_eps:>10.5g} {op_eps:>10.5g} {our_eps:>10.5g} |"
              f" {dp_time * 1e3:>9.1f} {our_dp_time * 1e3:>8.3f} {dp_time / our_dp_time:>6.0f} |"
              f" {op_time * 1e3:>9.1f} {our_op_time * 1e3:>8.3f} {op_time / our_op_time:>6.0f} |"
              f" {our_time * 1e3:>8.3f}")


if __name__ == "__main__":
    main()
