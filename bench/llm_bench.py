#!/usr/bin/env python3
"""Language-model audit benchmark (`mia llm`) against the same computations in numpy + scikit-learn.

Usage:  python3 bench/llm_bench.py [--texts 100000] [--tokens 512] [--peer-bootstrap 20]
                                    [--mia target/release/mia] [--workdir /tmp/mia-llm-bench]

1. Writes one JSON Lines file of N texts x T tokens (uncompressed): ids, membership, the text, and
   `logprobs`, `mean`, `std`, `ref_logprobs` per token. Sizes are synthetic; the values are drawn
   (seeded) from the bundled fortunes fixture's own per-token values (data/llm/fortunes_random.jsonl.gz)
   so their distribution is a real model's; members' log-probabilities are shifted up a little.
2. The peer (`--peer`, this file): reads the file with `json.loads` per line into flat numpy arrays,
   scores every attack (loss, zlib with Python's zlib, Min-K% and Min-K%++ with k = 20 % by per-text
   `np.partition`, reference), the learned attack (scikit-learn LogisticRegression, 5-fold
   `cross_val_predict`), sklearn `roc_auc_score` / `roc_curve` (TPR at FPR <= 1e-3, 1e-2, 1e-1), and a
   stratified percentile bootstrap of AUC and TPR. It runs --peer-bootstrap resamples; its
   1,000-resample time is extrapolated as no-bootstrap time + 1000 x per-resample time.
3. mia: `mia llm FILE --bootstrap 1000 --no-blind --fpr 0.001 --fpr 0.01 --fpr 0.1` (the same attacks,
   all 1,000 resamples, and besides: the epsilon bounds, the best-threshold intervals, report.json,
   records.csv, report.html). Then once more with the blind check, for reference.

Both run on the same machine in one go; the script checks that their AUCs agree (1e-9) and prints
seconds, peak memory (ru_maxrss of each child process) and the ratios as one JSON object.
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURE = ROOT / "data" / "llm" / "fortunes_random.jsonl.gz"
FPR_TARGETS = [1e-3, 1e-2, 1e-1]
K = 0.2


def generate(path: Path, n: int, t: int, pool: Path, seed: int = 0) -> None:
    """N texts of T tokens with values resampled from the pool file's (the fixture)."""
    pools = {f: [] for f in ("logprobs", "mean", "std", "ref_logprobs")}
    texts = []
    with (gzip.open(pool, "rt") if pool.suffix == ".gz" else open(pool)) as f:
        for line in f:
            o = json.loads(line)
            texts.append(o["text"])
            for k in pools:
                pools[k].extend(o[k])
    pools = {k: np.asarray(v) for k, v in pools.items()}
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".part")
    with open(tmp, "w") as out:
        for i in range(n):
            member = i % 2
            pick = rng.integers(0, pools["logprobs"].size, t)
            lp = np.minimum(pools["logprobs"][pick] * (0.9 if member else 1.0), 0.0)
            rec = {
                "id": f"t{i}",
                "member": member,
                "text": texts[i % len(texts)],
                "logprobs": [float(f"{x:.7g}") for x in lp],
                "mean": [float(f"{x:.7g}") for x in pools["mean"][pick]],
                "std": [float(f"{x:.7g}") for x in pools["std"][pick]],
                "ref_logprobs": [float(f"{x:.7g}") for x in pools["ref_logprobs"][pick]],
            }
            out.write(json.dumps(rec) + "\n")
    os.replace(tmp, path)


def tpr_at(fpr, tpr):
    return [float(tpr[fpr <= x].max()) for x in FPR_TARGETS]


def lowest_mean(values, offsets):
    out = np.empty(offsets.size - 1)
    for i in range(out.size):
        v = values[offsets[i]:offsets[i + 1]]
        m = max(1, int(np.floor(K * v.size)))
        out[i] = np.partition(v, m - 1)[:m].mean()
    return out


def peer(path: Path, bootstrap: int, seed: int = 0) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score, roc_curve
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    t0 = time.perf_counter()
    member, texts, lens = [], [], []
    cols = {k: [] for k in ("logprobs", "mean", "std", "ref_logprobs")}
    with open(path) as f:
        for line in f:
            o = json.loads(line)
            member.append(o["member"])
            texts.append(o["text"])
            lens.append(len(o["logprobs"]))
            for k in cols:
                cols[k].append(np.asarray(o[k], dtype=np.float64))
    arr = {k: np.concatenate(v) for k, v in cols.items()}
    del cols
    member = np.asarray(member, dtype=bool)
    offsets = np.concatenate([[0], np.cumsum(lens)])
    n_tok = np.asarray(lens, dtype=np.float64)
    t_read = time.perf_counter() - t0

    lp = arr["logprobs"]
    loss = np.add.reduceat(lp, offsets[:-1]) / n_tok
    z_len = np.array([len(zlib.compress(t.encode("utf-8"))) for t in texts], dtype=np.float64)
    scores = {
        "loss": loss,
        "zlib": loss / z_len,
        "min_k": lowest_mean(lp, offsets),
        "min_k_plus_plus": lowest_mean((lp - arr["mean"]) / arr["std"], offsets),
        "reference": loss - np.add.reduceat(arr["ref_logprobs"], offsets[:-1]) / n_tok,
    }
    x = np.column_stack([scores[k] for k in scores] + [np.log(n_tok)])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1e4, max_iter=1000))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    scores["learned"] = cross_val_predict(model, x, member, cv=folds, method="decision_function")
    auc, tpr = {}, {}
    for k, s in scores.items():
        auc[k] = float(roc_auc_score(member, s))
        fpr, tp, _ = roc_curve(member, s, drop_intermediate=False)
        tpr[k] = tpr_at(fpr, tp)
    t_point = time.perf_counter() - t0

    t_boot = 0.0
    if bootstrap > 0:
        tb = time.perf_counter()
        rng = np.random.default_rng(seed)
        pos, neg = np.flatnonzero(member), np.flatnonzero(~member)
        y_b = np.r_[np.ones(pos.size, bool), np.zeros(neg.size, bool)]
        draws = {k: [] for k in scores}
        for _ in range(bootstrap):
            idx = np.r_[pos[rng.integers(0, pos.size, pos.size)], neg[rng.integers(0, neg.size, neg.size)]]
            for k, s in scores.items():
                sb = s[idx]
                fpr, tp, _ = roc_curve(y_b, sb, drop_intermediate=False)
                draws[k].append([roc_auc_score(y_b, sb)] + tpr_at(fpr, tp))
        _ = {k: np.percentile(np.asarray(v), [2.5, 97.5], axis=0) for k, v in draws.items()}
        t_boot = time.perf_counter() - tb
    return {
        "seconds_read": t_read,
        "seconds_no_bootstrap": t_point,
        "seconds_per_resample": t_boot / bootstrap if bootstrap else 0.0,
        "auc": auc,
    }


# Runs a command and prints its peak RSS (KiB): a fresh process per measurement, so each figure
# is that command's own (RUSAGE_CHILDREN is the largest child a process has waited for).
PEAK = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def child(cmd) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one command."""
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", PEAK, *[str(c) for c in cmd]], check=True, capture_output=True, text=True)
    return time.perf_counter() - t, int(r.stdout.split()[-1]) * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=100_000)
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--peer-bootstrap", type=int, default=20)
    ap.add_argument("--mia", default=str(ROOT / "target/release/mia"))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/mia-llm-bench"))
    ap.add_argument("--pool", type=Path, default=FIXTURE, help="texts whose per-token values are resampled")
    ap.add_argument("--peer", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.peer:  # the peer, as its own process (its peak memory is measured apart from mia's)
        a.out.write_text(json.dumps(peer(a.peer, a.peer_bootstrap)))
        return
    a.workdir.mkdir(parents=True, exist_ok=True)
    data = a.workdir / f"texts_{a.texts}x{a.tokens}.jsonl"
    if not data.exists():
        generate(data, a.texts, a.tokens, a.pool)
    size = data.stat().st_size
    fpr = [x for f in FPR_TARGETS for x in ("--fpr", f)]
    mia_secs, mia_rss = child([a.mia, "llm", data, "-o", a.workdir / "report", "--bootstrap", 1000, "--no-blind", *fpr])
    rep = json.loads((a.workdir / "report" / "report.json").read_text())
    mia_auc = {x["name"]: x["auc"]["value"] for x in rep["attacks"]}
    blind_secs, blind_rss = child([a.mia, "llm", data, "-o", a.workdir / "report-blind", "--bootstrap", 1000, *fpr])
    peer_out = a.workdir / "peer.json"
    peer_secs, peer_rss = child([sys.executable, __file__, "--peer", data, "--out", peer_out,
                                 "--peer-bootstrap", a.peer_bootstrap])
    p = json.loads(peer_out.read_text())
    worst = max(abs(mia_auc[k] - v) for k, v in p["auc"].items() if k != "learned")
    assert worst < 1e-9, f"AUCs differ by {worst}"
    peer_1000 = p["seconds_no_bootstrap"] + 1000 * p["seconds_per_resample"]
    tokens = a.texts * a.tokens
    print(json.dumps({
        "texts": a.texts,
        "tokens_per_text": a.tokens,
        "input_bytes": size,
        "logprob_arrays_bytes": 4 * 8 * tokens,
        "peer_seconds_read": round(p["seconds_read"], 1),
        "peer_seconds_no_bootstrap": round(p["seconds_no_bootstrap"], 1),
        "peer_seconds_per_resample": round(p["seconds_per_resample"], 3),
        "peer_seconds_1000_extrapolated": round(peer_1000, 1),
        "peer_seconds_run": round(peer_secs, 1),
        "mia_seconds": round(mia_secs, 1),
        "ratio": round(peer_1000 / mia_secs, 1),
        "mia_with_blind_seconds": round(blind_secs, 1),
        "mia_peak_rss_bytes": mia_rss,
        "mia_with_blind_peak_rss_bytes": blind_rss,
        "peer_peak_rss_bytes": peer_rss,
        "mia_rss_over_input": round(mia_rss / size, 2),
        "learned_auc_mia_vs_peer": [mia_auc["learned"], p["auc"]["learned"]],
    }, indent=1))


if __name__ == "__main__":
    main()
