#!/usr/bin/env python3
"""The Python package's speed: `mia_audit.score` vs scikit-learn + numpy in the same process,
the binding's overhead over the `mia` command, float32 inputs read without a copy, and the
Auditor's overhead over the user's own train/predict time.

Usage:  python bench/py_score.py [--n 1000000] [--peer-bootstrap 5] [--mia target/release/mia]
                                 [--auditor-rows 2000] [--skip-auditor]

Needs the wheel installed (pip install ./crates/mia-py: a release build) and a release `mia`.

1. Peer vs ours, one process, the same arrays (bench/gen_bench_data.py, 10-class logits):
   the peer is bench/score_bench.py's computation (six score-only attacks with numpy signals,
   roc_auc_score / roc_curve, a stratified percentile bootstrap), run with --peer-bootstrap
   resamples and extrapolated to 1,000 (no-bootstrap time + 1000 × per-resample time, as
   bench/compare_score.py); ours is `mia_audit.score(..., attacks=<the six>, slices=["none"],
   bootstrap=1000)` with every resample. The AUCs must agree (1e-8).
2. Binding overhead: `mia score --logits ... -o DIR` (read the files, audit, write the report)
   against `np.load` + `mia_audit.score` + `report.save(DIR)` in this process, same work; the
   two report.json files must be identical apart from `inputs`.
3. No copy of float32 inputs: the peak of Python-side allocations (tracemalloc, which sees
   numpy's buffers) while scoring float32 logits, against the logits' size.
4. Auditor (K = 16): a scikit-learn MLP on Location-30 rows; the time outside the user's
   train/predict (plan, cache-free bookkeeping, every attack with 1,000 resamples) against
   the time inside them.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import score_bench  # noqa: E402  (the peer's computation, shared with compare_score.py)

import mia_audit  # noqa: E402

SIX = ["loss", "confidence", "phi", "entropy", "modified_entropy", "correctness"]


def peer(z, y, member, resamples):
    """score_bench.main's computation on arrays already in memory."""
    t0 = time.perf_counter()
    scores = score_bench.signals(z, y, "numpy")
    auc = {name: score_bench.evaluate(member, s)[0] for name, s in scores.items()}
    t_point = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    pos, neg = np.flatnonzero(member), np.flatnonzero(~member)
    y_b = np.r_[np.ones(pos.size, bool), np.zeros(neg.size, bool)]
    tb = time.perf_counter()
    for _ in range(resamples):
        idx = np.r_[pos[rng.integers(0, pos.size, pos.size)], neg[rng.integers(0, neg.size, neg.size)]]
        for s in scores.values():
            sb = s[idx]
            score_bench.roc_auc_score(y_b, sb)
            fpr, tp, _ = score_bench.roc_curve(y_b, sb, drop_intermediate=False)
            score_bench.tpr_at(fpr, tp)
    per = (time.perf_counter() - tb) / resamples
    return t_point, per, auc


def speed(d, resamples):
    z, y = np.load(d / "logits.npy"), np.load(d / "labels.npy")
    member = np.load(d / "member.npy").astype(bool)
    t_point, per, peer_auc = peer(z, y, member, resamples)
    peer_1000 = t_point + 1000 * per
    t = time.perf_counter()
    rep = mia_audit.score(member, logits=z, labels=y, attacks=SIX, slices=["none"], bootstrap=1000)
    ours = time.perf_counter() - t
    ours_auc = {a["name"]: a["auc"]["value"] for a in rep.json["attacks"]}
    worst = max(abs(ours_auc[k] - v) for k, v in peer_auc.items())
    assert worst < 1e-8, f"AUCs differ by {worst}"
    return {"peer_no_bootstrap_s": t_point, "peer_per_resample_s": per, "peer_1000_s": peer_1000,
            "ours_s": ours, "ratio": peer_1000 / ours, "auc_max_diff": worst}


def overhead(d, mia):
    out_cli = Path(tempfile.mkdtemp(prefix="py-bench-cli-"))
    out_py = Path(tempfile.mkdtemp(prefix="py-bench-py-"))
    cmd = [mia, "score", "--logits", d / "logits.npy", "--labels", d / "labels.npy", "--member", d / "member.npy",
           "-q", "-o", out_cli]
    t = time.perf_counter()
    subprocess.run([str(c) for c in cmd], check=True)
    cli = time.perf_counter() - t
    t = time.perf_counter()
    rep = mia_audit.score(np.load(d / "member.npy"), logits=np.load(d / "logits.npy"), labels=np.load(d / "labels.npy"))
    rep.save(out_py)
    py = time.perf_counter() - t
    a, b = json.loads((out_cli / "report.json").read_text()), json.loads((out_py / "report.json").read_text())
    a.pop("inputs"), b.pop("inputs")
    assert a == b, "the package's report differs from the command's"
    return {"cli_s": cli, "python_s": py, "overhead": py / cli - 1}


def no_copy(d):
    z = np.load(d / "logits.npy").astype(np.float32)
    y, member = np.load(d / "labels.npy"), np.load(d / "member.npy")
    tracemalloc.start()
    mia_audit.score(member, logits=z, labels=y, attacks=["loss"], slices=["none"], bootstrap=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"logits_bytes": int(z.nbytes), "python_peak_bytes": int(peak), "peak_share": peak / z.nbytes}


def auditor(rows):
    import pandas as pd
    from sklearn.neural_network import MLPClassifier

    table = pd.read_csv(HERE.parent / "data/location/bangkok.csv.gz", header=None).sample(n=rows, random_state=0)
    X = table.drop(columns=[0]).to_numpy(dtype=np.float32)
    y = table[0].to_numpy() - 1

    def train(X, y, seed):
        return MLPClassifier(hidden_layer_sizes=(256,), max_iter=100, random_state=seed).fit(X, y)

    def predict(m, X):
        p = np.full((len(X), 30), 1e-12)
        p[:, m.classes_] = m.predict_proba(X)
        return np.log(p)

    import warnings

    warnings.filterwarnings("ignore")
    a = mia_audit.Auditor(train, predict, X, y, reference_models=16, seed=0, progress=False)
    a.run()
    user, total = a.timings["user"], a.timings["total"]
    return {"rows": rows, "user_s": user, "total_s": total, "overhead": (total - user) / user}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--peer-bootstrap", type=int, default=5)
    ap.add_argument("--mia", default=str(HERE.parent / "target/release/mia"))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/mia-bench"))
    ap.add_argument("--auditor-rows", type=int, default=2000)
    ap.add_argument("--skip-auditor", action="store_true")
    a = ap.parse_args()
    d = a.workdir / f"n{a.n}"
    if not (d / "member.npy").exists():
        subprocess.run([sys.executable, HERE / "gen_bench_data.py", str(a.n), d], check=True)
    results = {"n": a.n, "speed": speed(d, a.peer_bootstrap), "overhead": overhead(d, a.mia), "no_copy": no_copy(d)}
    if not a.skip_auditor:
        results["auditor"] = auditor(a.auditor_rows)
    print(json.dumps(results, indent=1))
    s, o, c = results["speed"], results["overhead"], results["no_copy"]
    print(f"\nscore, {a.n:,} records, six attacks, 1,000 resamples: peer {s['peer_1000_s']:.0f} s (extrapolated), "
          f"mia_audit {s['ours_s']:.1f} s: {s['ratio']:.0f}x")
    print(f"binding overhead vs `mia score`: {100 * o['overhead']:+.1f} % ({o['python_s']:.1f} s vs {o['cli_s']:.1f} s)")
    print(f"float32 logits {c['logits_bytes'] / 1e6:.0f} MB, Python-side peak while scoring "
          f"{c['python_peak_bytes'] / 1e6:.2f} MB ({100 * c['peak_share']:.2f} %)")
    if "auditor" in results:
        r = results["auditor"]
        print(f"Auditor K=16: train/predict {r['user_s']:.1f} s, total {r['total_s']:.1f} s, "
              f"overhead {100 * r['overhead']:.1f} %")


if __name__ == "__main__":
    main()
