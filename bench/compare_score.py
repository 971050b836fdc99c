#!/usr/bin/env python3
"""Score-audit benchmark: mia-audit vs the same computations in scikit-learn + numpy.

Usage:  python3 bench/compare_score.py [--sizes 1000000 10000000] [--peer-bootstrap 20]
                                        [--mia target/release/mia] [--workdir /tmp/mia-bench]

For each size N it writes the same NumPy score arrays once (bench/gen_bench_data.py), then runs
  * the peer: bench/score_bench.py (six score-only attacks, sklearn roc_auc_score/roc_curve,
    TPR at FPR <= 1e-5..1e-1, advantage, stratified percentile bootstrap), and
  * mia: `mia score --logits ... --attacks <the same six> --slices none --bootstrap 1000`,
on the same machine in one run, checks that both give the same AUCs, and prints the ratio.

The peer cannot run 1,000 resamples of 10M records in reasonable time (each resample re-sorts
every attack), so it runs --peer-bootstrap resamples and its 1,000-resample time is
extrapolated as seconds_no_bootstrap + 1000 * seconds_per_resample; the table says so. mia
always runs the full 1,000 resamples. mia's full default audit (all 11 attacks, epsilon
bounds, per-class slices) is timed too, for reference.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIX = "loss,confidence,phi,entropy,modified_entropy,correctness"


def run_mia(mia, d, out, extra):
    cmd = [mia, "score", "--logits", d / "logits.npy", "--labels", d / "labels.npy", "--member", d / "member.npy",
           "--bootstrap", "1000", "-q", "-o", out] + extra
    t = time.perf_counter()
    subprocess.run([str(c) for c in cmd], check=True)
    secs = time.perf_counter() - t
    rep = json.loads((Path(out) / "report.json").read_text())
    return secs, {a["name"]: a["auc"]["value"] for a in rep["attacks"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--peer-bootstrap", type=int, default=20)
    ap.add_argument("--mia", default=str(HERE.parent / "target/release/mia"))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/mia-bench"))
    ap.add_argument("--skip-full", action="store_true", help="do not time mia's full default audit")
    a = ap.parse_args()
    rows = []
    for n in a.sizes:
        d = a.workdir / f"n{n}"
        if not (d / "member.npy").exists():
            subprocess.run([sys.executable, HERE / "gen_bench_data.py", str(n), d], check=True)
        peer = json.loads(subprocess.run(
            [sys.executable, HERE / "score_bench.py", d, "--bootstrap", str(a.peer_bootstrap), "--signals", "numpy"],
            check=True, capture_output=True, text=True).stdout)
        peer_1000 = peer["seconds_no_bootstrap"] + 1000 * peer["seconds_per_resample"]
        mia_secs, mia_auc = run_mia(a.mia, d, d / "report-six", ["--attacks", SIX, "--slices", "none"])
        worst = max(abs(mia_auc[k] - v) for k, v in peer["auc"].items())
        # Near-tied scores can swap order between float implementations (see score_bench.py).
        assert worst < 1e-8, f"AUCs differ by {worst}"
        full = None if a.skip_full else run_mia(a.mia, d, d / "report-full", [])[0]
        rows.append((n, peer, peer_1000, mia_secs, full, worst))
        print(f"N={n:,}: peer {peer['seconds_no_bootstrap']:.1f} s + {peer['seconds_per_resample']:.2f} s/resample "
              f"(measured over {a.peer_bootstrap}) -> {peer_1000:.0f} s for 1,000; mia {mia_secs:.1f} s; "
              f"ratio {peer_1000 / mia_secs:.0f}x; max |AUC diff| {worst:.1e}"
              + (f"; mia full default audit {full:.1f} s" if full else ""), flush=True)
    print("\n| records | peer: no bootstrap | peer: per resample | peer: 1,000 resamples (extrapolated) "
          "| mia, same six attacks, 1,000 resamples | ratio | mia full audit |")
    print("|---|---|---|---|---|---|---|")
    for n, peer, p1000, m, full, _ in rows:
        print(f"| {n:,} | {peer['seconds_no_bootstrap']:.1f} s | {peer['seconds_per_resample']:.2f} s | {p1000:.0f} s "
              f"| {m:.1f} s | **{p1000 / m:.0f}×** | {'' if full is None else f'{full:.1f} s'} |")


if __name__ == "__main__":
    main()
