#!/usr/bin/env python3
"""Independent cross-check of the language-model attacks (issue 16) on the fortunes fixtures.

This is the reference computation the Rust implementation (mia_core::llm, mia_data::texts) is tested
against. It shares no code with the Rust crates: it reads data/llm/fortunes_{random,shifted}.jsonl.gz
with Python's json/gzip, computes every score with NumPy and every metric with scikit-learn, and writes

  fixtures/expected/llm_fortunes_random.json
  fixtures/expected/llm_fortunes_shifted.json

Scores (one per text, in file order; higher = more likely member), with n = number of tokens,
lp = "logprobs", m = max(1, floor(0.2 * n)):
  loss             mean(lp)                                   (minus the mean NLL)
  zlib             mean(lp) / len(zlib.compress(text.encode("utf-8")))   (zlib default level;
                   after Carlini et al. 2021, who compare log-perplexity with zlib entropy)
  min_k            mean of the m smallest lp                  (Min-K%, Shi et al. 2024, k = 0.2)
  min_k_plus_plus  mean of the m smallest z, z_t = (lp[t] - mean[t]) / std[t]
                   (Min-K%++, Zhang et al. 2024, k = 0.2)
  reference        mean(lp) - mean(ref_logprobs)              (target vs reference model)
  lowercase        -(mean(lp) / mean(lowercase_logprobs))     (-NLL(text) / NLL(lowercased text);
                   after Carlini et al. 2021's ratio of log-perplexities)
Metrics per attack: auc = sklearn.metrics.roc_auc_score(member, score); tpr_at_fpr = a list of
{"fpr": target, "tpr": ...} for targets 0.01 and 0.1, tpr = the largest TPR among the points of sklearn.metrics.roc_curve(member, score) with
FPR <= the target (roc_curve with its default drop_intermediate=True: dropping collinear points never
removes the best such point). Floats are written by json (repr, full precision).

Usage:  /work/llmvenv/bin/python scripts/llm_crosscheck.py      (seconds; needs numpy, scikit-learn)
"""

import gzip
import json
import platform
import zlib
from pathlib import Path

import numpy as np
import sklearn
from sklearn.metrics import roc_auc_score, roc_curve

ROOT = Path(__file__).resolve().parent.parent
K = 0.2
ATTACKS = ["loss", "zlib", "lowercase", "min_k", "min_k_plus_plus", "reference"]
FPR_TARGETS = [0.01, 0.1]


def scores(obj):
    lp = np.asarray(obj["logprobs"], dtype=np.float64)
    mu = np.asarray(obj["mean"], dtype=np.float64)
    sd = np.asarray(obj["std"], dtype=np.float64)
    ref = np.asarray(obj["ref_logprobs"], dtype=np.float64)
    lower = np.asarray(obj["lowercase_logprobs"], dtype=np.float64)
    n = lp.size
    m = max(1, int(np.floor(K * n)))
    z = (lp - mu) / sd
    return {
        "loss": float(lp.mean()),
        "zlib": float(lp.mean() / len(zlib.compress(obj["text"].encode("utf-8")))),
        "min_k": float(np.sort(lp)[:m].mean()),
        "min_k_plus_plus": float(np.sort(z)[:m].mean()),
        "reference": float(lp.mean() - ref.mean()),
        "lowercase": float(-(lp.mean() / lower.mean())),
    }


def metrics(member, score):
    fpr, tpr, _ = roc_curve(member, score)
    return {"auc": float(roc_auc_score(member, score)),
            "tpr_at_fpr": [{"fpr": t, "tpr": float(tpr[fpr <= t].max())} for t in FPR_TARGETS]}


def main():
    for name in ["random", "shifted"]:
        src = ROOT / "data" / "llm" / f"fortunes_{name}.jsonl.gz"
        with gzip.open(src, "rt", encoding="utf-8") as f:
            objs = [json.loads(line) for line in f if line.strip()]
        rows = [{"row": i, "id": o["id"], "member": int(o["member"]), "n_tokens": len(o["logprobs"]), **scores(o)}
                for i, o in enumerate(objs)]
        member = np.array([r["member"] for r in rows])
        result = {
            "source": "scripts/llm_crosscheck.py (NumPy + scikit-learn, independent of the Rust crates)",
            "file": f"data/llm/fortunes_{name}.jsonl.gz",
            "conventions": {
                "k": K,
                "m": "max(1, floor(k * n)) smallest values, n = number of tokens",
                "loss": "mean(logprobs)",
                "zlib": "mean(logprobs) / len(zlib.compress(text.encode('utf-8'))), zlib default level",
                "min_k": "mean of the m smallest logprobs",
                "min_k_plus_plus": "mean of the m smallest (logprobs - mean) / std",
                "reference": "mean(logprobs) - mean(ref_logprobs)",
                "lowercase": "-(mean(logprobs) / mean(lowercase_logprobs))",
                "higher": "more likely member, for every score",
                "auc": "sklearn.metrics.roc_auc_score(member, score)",
                "mean_nll": "mean over texts of -loss (the rounded logprobs in the file)",
                "tpr_at_fpr": "largest TPR among sklearn.metrics.roc_curve points with FPR <= target",
            },
            "versions": {"python": platform.python_version(), "numpy": np.__version__,
                         "sklearn": sklearn.__version__, "zlib": zlib.ZLIB_VERSION,
                         "zlib_runtime": zlib.ZLIB_RUNTIME_VERSION},
            "n": len(rows),
            "n_members": int(member.sum()),
            "n_nonmembers": int((member == 0).sum()),
            "mean_nll_members": float(-np.mean([r["loss"] for r in rows if r["member"] == 1])),
            "mean_nll_nonmembers": float(-np.mean([r["loss"] for r in rows if r["member"] == 0])),
            "attacks": {a: metrics(member, np.array([r[a] for r in rows])) for a in ATTACKS},
            "per_record": rows,
            "per_record_note": "every text of the file, in file order; 'row' is the 0-based line",
        }
        out = ROOT / "fixtures" / "expected" / f"llm_fortunes_{name}.json"
        out.write_text(json.dumps(result, indent=1) + "\n")
        summary = ", ".join(f"{a} {v['auc']:.4f}" for a, v in result["attacks"].items())
        print(f"{out.relative_to(ROOT)}: {len(rows)} texts; AUC {summary}")


if __name__ == "__main__":
    main()
