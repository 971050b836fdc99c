#!/usr/bin/env python3
"""Regenerate fixtures/byo/: "bring your own reference models" inputs for `mia score --reference ...` and
the metrics the report must show, computed here with numpy/scipy/scikit-learn independently of the Rust code.

Data and models follow scripts/reference_fixtures.py (whose formula implementations are imported, not
copied): the vendored digits set, a seeded permutation picks N = 300 audit records and P = 150 population
records; K = 8 scikit-learn LogisticRegression(C=100) reference models each train on the audit records of
one row of a K x N keep mask (every record IN for exactly K/2 = 4 models); the target trains on a random
half of the audit records. No model trains on a population record.

Files (records in score-file order unless said otherwise):
  scores.csv                      the target's score file: id (= 1000 + digits row), member, label, logit_0..9 (%.17g)
  reference_phi.npy               (K, N) float64 phi of each reference model
  reference_logits.npy            (K, N, C) float64 decision_function logits of each reference model
  keep.npy                        (K, N) bool keep mask (True = record n in model k's training set)
  population_target_phi.npy       (P,) float64 phi of the population records under the target
  population_reference_phi.npy    (K, P) float64 phi of the population records under each reference model
  run.npz                         uncompressed np.savez bundle: phi, keep, population_target, population_reference
  perm.npz                        the same with the records (columns) in a seeded random order, plus `ids`
                                  (int64, the score-file ids in that order): alignment by id must give the
                                  same report as alignment by position
  compressed.npz                  np.savez_compressed bundle (2 x 4): read, then refused for its record count
  reference_wide.csv              one row per record (score-file order): id, phi_0..phi_7, keep_0..keep_7 (0/1)
  reference_wide.parquet          the same columns (id int64, phi_k double, keep_k bool), via pyarrow
  expected.json                   per CLI variant: the extra `mia score` arguments and, per attack, sklearn's
                                  roc_auc_score and TPR at each FPR target (largest TPR over roc_curve points with
                                  FPR <= target, drop_intermediate=False)

Usage:  python3 scripts/byo_fixtures.py    (a few seconds; deterministic)
"""

import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score, roc_curve

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_fixtures as rf  # noqa: E402  (formulas: LiRA per the paper and the authors' code, RMIA)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "byo"
SEED = 20250301
N, P, K = 300, 150, 8
FPRS = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]


def metrics(member, scores, label):
    scores = np.asarray(scores, dtype=np.float64)
    assert scores.shape == member.shape and np.all(np.isfinite(scores)), label
    # Fragility check: distinct scores of a member and a non-member are never closer than 1e-9 (relative),
    # so rounding differences between implementations (~1e-15) cannot reorder them.
    order = np.argsort(scores, kind="stable")
    s, m = scores[order], member[order]
    gaps = np.abs(np.diff(s)) / np.maximum(1.0, np.abs(s[1:]))
    mixed = m[1:] != m[:-1]
    close = (gaps > 0) & (gaps < 1e-9) & mixed
    assert not close.any(), f"{label}: a member and a non-member score are within 1e-9 but not equal"
    fpr, tpr, _ = roc_curve(member, scores, drop_intermediate=False)
    return {
        "auc": float(roc_auc_score(member, scores)),
        "tpr_at_fpr": [{"fpr": t, "tpr": float(tpr[fpr <= t].max())} for t in FPRS],
    }


def main():
    e = rf.experiment(SEED, N, P, K)
    rng, audit, ya, keep, member = e.rng, e.audit, e.ya, e.keep, e.member
    t_logits, r_logits, t_phi, r_phi, pt_phi, pr_phi = e.t_logits, e.r_logits, e.t_phi, e.r_phi, e.pt_phi, e.pr_phi
    ids = (1000 + audit).astype(np.int64)

    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "scores.csv", "w") as f:
        f.write("id,member,label," + ",".join(f"logit_{c}" for c in range(10)) + "\n")
        for j in range(N):
            f.write(f"{ids[j]},{int(member[j])},{ya[j]}," + ",".join("%.17g" % v for v in t_logits[j]) + "\n")
    np.save(OUT / "reference_phi.npy", r_phi)
    np.save(OUT / "reference_logits.npy", r_logits)
    np.save(OUT / "keep.npy", keep)
    np.save(OUT / "population_target_phi.npy", pt_phi)
    np.save(OUT / "population_reference_phi.npy", pr_phi)
    np.savez(OUT / "run.npz", phi=r_phi, keep=keep, population_target=pt_phi, population_reference=pr_phi)
    shuffle = rng.permutation(N)
    np.savez(OUT / "perm.npz", phi=r_phi[:, shuffle], keep=keep[:, shuffle], ids=ids[shuffle],
             population_target=pt_phi, population_reference=pr_phi)
    # A compressed bundle, read like any other (tiny: first 4 records, first 2 models, so it does not fit).
    np.savez_compressed(OUT / "compressed.npz", phi=r_phi[:2, :4], keep=keep[:2, :4])
    with open(OUT / "reference_wide.csv", "w") as f:
        f.write("id," + ",".join(f"phi_{k}" for k in range(K)) + "," + ",".join(f"keep_{k}" for k in range(K)) + "\n")
        for j in range(N):
            f.write(f"{ids[j]}," + ",".join("%.17g" % r_phi[k, j] for k in range(K)) + ","
                    + ",".join(str(int(keep[k, j])) for k in range(K)) + "\n")
    cols = {"id": pa.array(ids, pa.int64())}
    cols.update({f"phi_{k}": pa.array(r_phi[k], pa.float64()) for k in range(K)})
    cols.update({f"keep_{k}": pa.array(keep[k], pa.bool_()) for k in range(K)})
    pq.write_table(pa.table(cols), OUT / "reference_wide.parquet", compression="zstd")

    def rmia(online, gamma, a, strict):
        s, lx, lz = rf.rmia_brute(t_phi, r_phi, keep, pt_phi, pr_phi, online, gamma, a, strict)
        gap = np.min(np.abs(lz[None, :] - (lx - np.log(gamma))[:, None]))
        assert gap > 1e-12, f"a population l(z) lies {gap} from a threshold"
        return s

    base = ["--population-target", "fixtures/byo/population_target_phi.npy",
            "--population-reference", "fixtures/byo/population_reference_phi.npy"]
    npy = ["--reference", "fixtures/byo/reference_phi.npy", "--keep", "fixtures/byo/keep.npy"]
    paper = {
        "lira_online": rf.lira_scipy(t_phi, r_phi, keep, True),
        "lira_offline": rf.lira_scipy(t_phi, r_phi, keep, False),
        "rmia_online": rmia(True, 2.0, 0.33, False),
        "rmia_offline": rmia(False, 2.0, 0.33, False),
    }
    variants = [
        {"label": "paper defaults, .npy phi by position", "args": npy + base, "scores": paper},
        {"label": "paper defaults, run.npz bundle", "args": ["--reference", "fixtures/byo/run.npz"], "scores": paper},
        {"label": "paper defaults, K x N x C logits", "args": ["--reference", "fixtures/byo/reference_logits.npy",
                                                              "--reference-signal", "logits",
                                                              "--keep", "fixtures/byo/keep.npy"] + base,
         "scores": paper},
        {"label": "authors' code (reference-code std, median, two-sided offline)",
         "args": npy + ["--lira-std", "reference-code", "--lira-center", "median", "--lira-offline", "two-sided",
                        "--attacks", "lira_online,lira_offline"],
         "scores": {"lira_online": rf.lira_authors_code(t_phi, r_phi, keep, True, False),
                    "lira_offline": rf.lira_authors_code(t_phi, r_phi, keep, False, False)}},
        {"label": "authors' code, fixed (global) variance",
         "args": npy + ["--lira-std", "reference-code", "--lira-center", "median", "--lira-offline", "two-sided",
                        "--lira-variance", "global", "--attacks", "lira_online,lira_offline"],
         "scores": {"lira_online": rf.lira_authors_code(t_phi, r_phi, keep, True, True),
                    "lira_offline": rf.lira_authors_code(t_phi, r_phi, keep, False, True)}},
        {"label": "--attack-config attack.toml (median, global, ddof 1; RMIA gamma 1 strict, a 0.5)",
         "args": npy + base + ["--attack-config", "fixtures/byo/attack.toml",
                               "--attacks", "lira_online,lira_offline,rmia_online,rmia_offline"],
         "toml": '[lira]\ncenter = "median"\nvariance = "global"\nstd = "sample"\n\n'
                 '[rmia]\ngamma = 1.0\ncomparison = "greater"\noffline_a = 0.5\n',
         "scores": {"lira_online": rf.lira_scipy(t_phi, r_phi, keep, True, center="median", std="sample",
                                                 variance="global"),
                    "lira_offline": rf.lira_scipy(t_phi, r_phi, keep, False, center="median", std="sample",
                                                  variance="global"),
                    "rmia_online": rmia(True, 1.0, 0.5, True),
                    "rmia_offline": rmia(False, 1.0, 0.5, True)}},
        {"label": "flags: per-example ddof 1, two-sided offline, RMIA gamma 1.5 a 1",
         "args": npy + base + ["--lira-std", "sample", "--lira-offline", "two-sided", "--rmia-gamma", "1.5",
                               "--rmia-a", "1", "--attacks", "lira_online,lira_offline,rmia_offline"],
         "scores": {"lira_online": rf.lira_scipy(t_phi, r_phi, keep, True, std="sample"),
                    "lira_offline": rf.lira_scipy(t_phi, r_phi, keep, False, std="sample",
                                                  offline_test="two_sided"),
                    "rmia_offline": rmia(False, 1.5, 1.0, False)}},
    ]
    for v in variants:
        if "toml" in v:
            (OUT / "attack.toml").write_text(v.pop("toml"))
        v["attacks"] = {name: metrics(member, s, f"{v['label']}: {name}") for name, s in v.pop("scores").items()}

    doc = {
        "generator": "scripts/byo_fixtures.py",
        "versions": rf.VERSIONS,
        "data": (f"digits (data/digits/digits.csv.gz), seed {SEED}: N = {N} audit records, P = {P} population "
                 f"records; K = {K} LogisticRegression(C=100) reference models, keep mask with every record IN "
                 f"for exactly {K // 2}; target trained on a random half (member)"),
        "conventions": {
            "scores": "formulas from scripts/reference_fixtures.py: lira_scipy (scipy.stats.norm, paper), "
                      "lira_authors_code (research/mi_lira_2021/plot.py), rmia_brute (N x P comparison)",
            "auc": "sklearn.metrics.roc_auc_score(member, scores)",
            "tpr_at_fpr": "max tpr over sklearn.metrics.roc_curve(member, scores, drop_intermediate=False) "
                          "points with fpr <= target",
            "args": "extra arguments of `mia score fixtures/byo/scores.csv`, paths relative to the repository root",
        },
        "fpr_targets": FPRS,
        "variants": variants,
    }
    (OUT / "expected.json").write_text(json.dumps(doc, indent=1) + "\n")
    for v in variants:
        print(v["label"])
        for name, m in v["attacks"].items():
            print(f"   {name:14s} AUC {m['auc']:.4f}  TPR@0.1 {m['tpr_at_fpr'][-1]['tpr']:.3f}")
    print("target train acc", e.target.score(e.xa[member], ya[member]), "held-out", e.target.score(e.xa[~member], ya[~member]))


if __name__ == "__main__":
    main()
