#!/usr/bin/env python3
"""Fixtures for the RDP accountant (crates/mia-dp), from two independent implementations.

Writes crates/mia-dp/tests/fixtures/accountant.json (deterministic; rerun to regenerate a
byte-identical file with the same package versions):

* epsilon: 448 points (q, sigma, T, delta) over q in {1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1},
  sigma in {0.3, 0.5, 0.8, 1, 1.5, 3, 8, 20}, T in {1, 10, ..., 1e6}: every (q, sigma, T), with
  delta cycling through {1e-9, 1e-5, 1e-3} (the full product would be 1344 points). For each:
  - dp_accounting: Google dp_accounting 0.6.0 RdpAccountant (default orders), a
    PoissonSampledDpEvent(q, GaussianDpEvent(sigma)) composed T times, get_epsilon_and_optimal_order.
    The accountant's per-step RDP is computed once per (q, sigma) and multiplied by T, which is
    what compose(event, T) does (count * rdp); every 16th point goes through compose() itself and
    the script asserts the two agree exactly.
  - opacus: Opacus 1.6.0 analysis.rdp.compute_rdp (its RDPAccountant.DEFAULT_ALPHAS) and
    get_privacy_spent, i.e. what RDPAccountant.get_privacy_spent does.
  - exact: Opacus's RDP (the signed fractional-order series, exact up to rounding) at
    dp_accounting's default orders, converted by dp_accounting's compute_epsilon. dp_accounting
    0.6.0's own fractional-order series sums the absolute values of the terms (an upper bound,
    up to ~2x at orders < 3, and +inf when it has not converged after 1000 terms), so its epsilon
    is looser than this one at about a third of the points.
* rdp: per-step RDP at orders {1.1, 1.5, 2.5, 4.5, 10.9, 2, 3, 8, 63, 1024} for q in
  {1e-4, 1e-3, 0.01, 0.1, 0.25, 0.5}, sigma in {0.3, 0.8, 1, 3, 20}: mpmath at 40 digits (integer
  orders: the finite binomial sum; fractional orders: numerical integration of
  E_{z~N(0,s^2)}[(1 - q + q exp((2z - 1)/(2 s^2)))^alpha], which uses neither series), Opacus's
  _compute_rdp and dp_accounting's _compute_rdp_poisson_subsampled_gaussian.
* log_ndtr: ln Phi(x) from mpmath for x in [-1000, 40].
* noise_multiplier: dp_accounting's calibrate_dp_mechanism (Brent on sigma, tol 1e-9) for a few
  (q, T, delta, target epsilon), with its epsilon at the answer.

Run (creates /tmp/mia-dp-accountant-venv on first use, then re-runs itself inside it):
  python3 scripts/dp_accountant_fixtures.py
which does
  python3 -m venv /tmp/mia-dp-accountant-venv
  /tmp/mia-dp-accountant-venv/bin/pip install dp-accounting==0.6.0   # numpy, scipy, mpmath, absl-py, attrs
  /tmp/mia-dp-accountant-venv/bin/pip download opacus==1.6.0 --no-deps -d /tmp/mia-dp-accountant-venv/wheels
Opacus is not installed (it needs torch): its pure numpy/scipy module
opacus/accountants/analysis/rdp.py is read out of the wheel and imported by file path.
Versions used for the committed fixture: Python 3.11.7, dp-accounting 0.6.0, opacus 1.6.0,
numpy 2.4.6, scipy 1.17.1, mpmath 1.4.1 (also recorded in the fixture).
"""

import importlib.util
import json
import math
import os
import subprocess
import sys
import warnings
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "crates", "mia-dp", "tests", "fixtures", "accountant.json")
VENV = os.environ.get("MIA_DP_VENV", "/tmp/mia-dp-accountant-venv")
WHEELS = os.path.join(VENV, "wheels")
DP_ACCOUNTING_VERSION = "0.6.0"
OPACUS_VERSION = "1.6.0"
OPACUS_WHEEL = os.path.join(WHEELS, f"opacus-{OPACUS_VERSION}-py3-none-any.whl")


def bootstrap():
    """Create the virtual environment and fetch the Opacus wheel, then re-run inside it."""
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    pip = [python, "-m", "pip", "--quiet"]
    subprocess.run(pip + ["install", f"dp-accounting=={DP_ACCOUNTING_VERSION}"], check=True)
    if not os.path.exists(OPACUS_WHEEL):
        subprocess.run(pip + ["download", f"opacus=={OPACUS_VERSION}", "--no-deps", "-d", WHEELS], check=True)
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


try:
    import dp_accounting  # noqa: F401
except ImportError:
    bootstrap()

import mpmath as mp  # noqa: E402
import numpy as np  # noqa: E402
import scipy  # noqa: E402
from absl import logging as absl_logging  # noqa: E402
from dp_accounting import dp_event, mechanism_calibration  # noqa: E402
from dp_accounting.rdp import rdp_privacy_accountant as dpa  # noqa: E402

absl_logging.set_verbosity(absl_logging.ERROR)  # dp_accounting warns for each non-converged order
warnings.simplefilter("ignore")  # Opacus warns when the optimal order is at an end of the grid


def load_opacus_rdp():
    """Import opacus/accountants/analysis/rdp.py from the wheel without importing opacus (torch)."""
    if not os.path.exists(OPACUS_WHEEL):
        os.makedirs(WHEELS, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "--quiet", "download", f"opacus=={OPACUS_VERSION}",
                        "--no-deps", "-d", WHEELS], check=True)
    member = "opacus/accountants/analysis/rdp.py"
    target = os.path.join(WHEELS, "extracted")
    with zipfile.ZipFile(OPACUS_WHEEL) as wheel:
        wheel.extract(member, target)
        # RDPAccountant.DEFAULT_ALPHAS lives in opacus/accountants/rdp.py (which imports the rest
        # of opacus), so it is read from the source text rather than imported.
        accountant_source = wheel.read("opacus/accountants/rdp.py").decode()
    spec = importlib.util.spec_from_file_location("opacus_analysis_rdp", os.path.join(target, member))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    line = next(l for l in accountant_source.splitlines() if "DEFAULT_ALPHAS =" in l)
    alphas = eval(line.split("=", 1)[1].strip(), {})  # a list comprehension of literals
    return module, [float(a) for a in alphas]


OPACUS, OPACUS_ALPHAS = load_opacus_rdp()
DP_ORDERS = [float(a) for a in dpa.DEFAULT_RDP_ORDERS]

QS = [1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0]
SIGMAS = [0.3, 0.5, 0.8, 1.0, 1.5, 3.0, 8.0, 20.0]
STEPS = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000]
DELTAS = [1e-9, 1e-5, 1e-3]


def num(x):
    """JSON number, with non-finite values as strings (JSON has no infinity)."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def dp_event_for(q, sigma, steps):
    return dp_event.SelfComposedDpEvent(dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma)), steps)


def dp_accounting_epsilon_via_compose(q, sigma, steps, delta):
    accountant = dpa.RdpAccountant()
    accountant.compose(dp_event_for(q, sigma, steps))
    return accountant.get_epsilon_and_optimal_order(delta)


def epsilon_points():
    points = []
    k = 0
    for qi, q in enumerate(QS):
        for si, sigma in enumerate(SIGMAS):
            accountant = dpa.RdpAccountant()
            accountant.compose(dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma)), 1)
            dp_rdp_step = accountant.rdp
            opacus_rdp_step = OPACUS.compute_rdp(q=q, noise_multiplier=sigma, steps=1, orders=OPACUS_ALPHAS)
            exact_rdp_step = OPACUS.compute_rdp(q=q, noise_multiplier=sigma, steps=1, orders=DP_ORDERS)
            for ti, steps in enumerate(STEPS):
                delta = DELTAS[(qi * len(SIGMAS) + si + ti) % len(DELTAS)]
                dp_eps, dp_order = dpa.compute_epsilon(DP_ORDERS, steps * dp_rdp_step, delta)
                if k % 16 == 0:
                    via_compose = dp_accounting_epsilon_via_compose(q, sigma, steps, delta)
                    assert (float(via_compose[0]), float(via_compose[1])) == (float(dp_eps), float(dp_order)), \
                        (q, sigma, steps, delta, via_compose, dp_eps, dp_order)
                op_eps, op_order = OPACUS.get_privacy_spent(orders=OPACUS_ALPHAS, rdp=opacus_rdp_step * steps,
                                                            delta=delta)
                ex_eps, ex_order = dpa.compute_epsilon(DP_ORDERS, exact_rdp_step * steps, delta)
                points.append({
                    "q": q, "sigma": sigma, "steps": steps, "delta": delta,
                    "dp_accounting": {"epsilon": num(dp_eps), "order": num(dp_order)},
                    "opacus": {"epsilon": num(op_eps), "order": num(op_order)},
                    "exact": {"epsilon": num(ex_eps), "order": num(ex_order)},
                })
                k += 1
        print(f"epsilon: q={q} done", file=sys.stderr)
    return points


mp.mp.dps = 40


def mp_rdp_integer(q, sigma, n):
    q, s = mp.mpf(q), mp.mpf(sigma)
    a = mp.fsum(mp.binomial(n, i) * q**i * (1 - q)**(n - i) * mp.exp((i * i - i) / (2 * s * s))
                for i in range(n + 1))
    return mp.log(a) / (n - 1)


def mp_rdp_fractional(q, sigma, alpha):
    q, s, a = mp.mpf(q), mp.mpf(sigma), mp.mpf(alpha)

    def integrand(z):
        return mp.npdf(z, 0, s) * (1 - q + q * mp.exp((2 * z - 1) / (2 * s * s)))**a

    # Mass sits near z = 0 (the N(0, s^2) factor) and near z = alpha (where the q-part's
    # exp(alpha z / s^2) tilts it); z0 is where the two parts of the mixture cross.
    z0 = s * s * mp.log((1 - q) / q) + mp.mpf(1) / 2
    points = {-60 * s, -20 * s, -5 * s, mp.mpf(0), 5 * s, 20 * s, a - 20 * s, a - 5 * s, a, a + 5 * s, a + 20 * s,
              a + 60 * s}
    if -60 * s < z0 < a + 60 * s:
        points.add(z0)
    breaks = [-mp.inf] + sorted(points) + [mp.inf]
    total, error = mp.quad(integrand, breaks, error=True, maxdegree=8)
    assert error < mp.mpf(10)**-20 * (total - 1), (q, sigma, alpha, total, error)
    return mp.log(total) / (a - 1)


def rdp_points():
    points = []
    for q in [1e-4, 1e-3, 0.01, 0.1, 0.25, 0.5]:
        for sigma in [0.3, 0.8, 1.0, 3.0, 20.0]:
            for order in [1.1, 1.5, 2.5, 4.5, 10.9, 2.0, 3.0, 8.0, 63.0, 1024.0]:
                exact = mp_rdp_integer(q, sigma, int(order)) if order.is_integer() \
                    else mp_rdp_fractional(q, sigma, order)
                dp = dpa._compute_rdp_poisson_subsampled_gaussian(q, sigma, [order])[0]
                points.append({
                    "q": q, "sigma": sigma, "order": order,
                    "mpmath": num(exact),
                    "opacus": num(OPACUS._compute_rdp(q, sigma, order)),
                    "dp_accounting": num(dp),
                })
        print(f"rdp: q={q} done", file=sys.stderr)
    return points


def log_ndtr_points():
    xs = [-1000.0, -300.0, -100.0, -40.0, -37.5, -30.0, -20.5, -20.0, -19.5, -10.0, -5.0, -3.0, -2.5, -2.01, -2.0,
          -1.99, -1.5, -1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 10.0, 20.0, 40.0]
    xs += [round(-6.0 + 0.37 * k, 2) for k in range(33)]
    # For x > 0, Phi(x) rounds to 1 at 40 digits once x > 13: take log1p of the small tail instead.
    return [[x, num(mp.log1p(-mp.ncdf(-x)) if x > 0 else mp.log(mp.ncdf(x)))] for x in sorted(set(xs))]


def noise_multiplier_points():
    cases = [  # (q, steps, delta, target epsilon)
        (0.01, 1000, 1e-5, 1.0),
        (256 / 60_000, 14_100, 1e-5, 2.0),
        (0.1, 100, 1e-5, 8.0),
        (1e-3, 100_000, 1e-6, 3.0),
        (1.0, 1, 1e-5, 1.0),
        (0.25, 10, 1e-3, 0.5),
    ]
    points = []
    for q, steps, delta, target in cases:
        sigma = mechanism_calibration.calibrate_dp_mechanism(
            dpa.RdpAccountant, lambda s: dp_event_for(q, s, steps), target, delta,
            bracket_interval=mechanism_calibration.LowerEndpointAndGuess(0.0, 1.0), tol=1e-9)
        epsilon = dp_accounting_epsilon_via_compose(q, sigma, steps, delta)[0]
        points.append({"q": q, "steps": steps, "delta": delta, "target_epsilon": target,
                       "dp_accounting_sigma": num(sigma), "dp_accounting_epsilon": num(epsilon)})
    print("noise_multiplier done", file=sys.stderr)
    return points


def main():
    from importlib.metadata import version
    fixture = {
        "generator": "scripts/dp_accountant_fixtures.py",
        "versions": {
            "python": ".".join(map(str, sys.version_info[:3])),
            "dp_accounting": version("dp-accounting"),
            "opacus": OPACUS_VERSION,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "mpmath": mp.__version__,
        },
        "dp_accounting_orders": DP_ORDERS,
        "opacus_orders": OPACUS_ALPHAS,
        "epsilon": epsilon_points(),
        "rdp": rdp_points(),
        "log_ndtr": log_ndtr_points(),
        "noise_multiplier": noise_multiplier_points(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
