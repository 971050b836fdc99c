#!/usr/bin/env python3
"""Export a target model and K reference models' outputs in the layout `mia score --reference` reads.

This is the part of *your* training pipeline that an audit needs: train the target on its members, train K
reference models each on a known random half of the audit records (the keep mask), and save every model's
logits on every audit record (and on population records no model trained on, for RMIA and Attack P).
`mia` then runs LiRA, RMIA and the other reference attacks without training anything.

Runs as is with scikit-learn on the bundled digits data (1,797 8x8 images, 10 classes):

    python3 examples/byo_reference/export_reference.py [OUT_DIR]      # default OUT_DIR: byo-run
    mia score byo-run/scores.csv --reference byo-run/reference.npz -o byo-run/report

With PyTorch the loop is the same; per model you would collect logits like this:

    # keep = rng.random((K, N)) < 0.5            # or exactly K/2 models per record, as below
    # for k in range(K):
    #     model = make_model(); train(model, Subset(audit_set, np.flatnonzero(keep[k])))
    #     model.eval()
    #     with torch.no_grad():
    #         logits[k] = torch.cat([model(x) for x, _ in DataLoader(audit_set, batch_size=512)]).double().numpy()
    #         pop_logits[k] = ...                # the same on the population set
    # np.savez(out / "reference.npz", logits=logits, keep=keep, ids=audit_ids,
    #          population_target=target_pop_logits, population_reference=pop_logits, population_labels=pop_y)

Layout written (N audit records, P population records, K reference models, C classes):

    scores.csv       the target's score file: id, member (1 = in the target's training set), label, logit_0..logit_{C-1}
    reference.npz    np.savez (or np.savez_compressed) bundle holding
                       logits               (K, N, C) float64  reference model k's logits on audit record n
                       keep                 (K, N) bool        True = record n was in reference model k's training set
                       ids                  (N,) int64         record ids of the columns (matched to scores.csv's id)
                       population_target    (P, C) float64     the target's logits on the population records
                       population_reference (K, P, C) float64  each reference model's logits on them
                       population_labels    (P,) int64         their class labels

Logits are preferred to probabilities: mia computes phi = z_y - logsumexp(z without y) in float64 from them, which
does not saturate the way probabilities near 1 do.
"""

import gzip
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[2]
SEED = 7
K = 16  # reference models; LiRA's authors use 64+, 16 is a reasonable minimum for per-example variance
N = 1000  # audit records: the target trains on a random half of them
P = 300  # population records (never trained on by any model)


def load_digits():
    with gzip.open(ROOT / "data" / "digits" / "digits.csv.gz", "rt") as f:
        a = np.loadtxt(f, delimiter=",")  # no header: 64 pixel values (0..16), then the class
    return a[:, :-1] / 16.0, a[:, -1].astype(np.int64)


def train(x, y, seed):
    # Weak regularisation: the model fits its training records noticeably better than others.
    model = LogisticRegression(C=100.0, max_iter=5000, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    return model


def logits(model, x):
    """(rows, C) logits. (A binary scikit-learn model has one decision value z; softmax([0, z]) is its output.)"""
    z = model.decision_function(x).astype(np.float64)
    return np.column_stack([np.zeros_like(z), z]) if z.ndim == 1 else z


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("byo-run")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    x, y = load_digits()
    order = rng.permutation(len(y))
    audit, pop = order[:N], order[N : N + P]
    n = len(audit)
    ids = 100000 + audit  # any unique integer ids; scores.csv carries the same ones

    # The target trains on a random half of the audit records: those are the members the audit must find.
    member = np.zeros(n, dtype=bool)
    member[rng.permutation(n)[: n // 2]] = True
    target = train(x[audit][member], y[audit][member], SEED)

    # Keep mask: every audit record is IN for exactly K/2 reference models (online LiRA/RMIA need IN and OUT
    # models for every record; offline attacks need OUT only).
    keep = np.zeros((K, n), dtype=bool)
    for j in range(n):
        keep[rng.permutation(K)[: K // 2], j] = True
    refs = [train(x[audit][keep[k]], y[audit][keep[k]], SEED + 1 + k) for k in range(K)]

    t_logits = logits(target, x[audit])
    with open(out / "scores.csv", "w") as f:
        f.write("id,member,label," + ",".join(f"logit_{c}" for c in range(t_logits.shape[1])) + "\n")
        for j in range(n):
            row = ",".join(repr(float(v)) for v in t_logits[j])
            f.write(f"{ids[j]},{int(member[j])},{y[audit][j]},{row}\n")
    np.savez(
        out / "reference.npz",
        logits=np.stack([logits(m, x[audit]) for m in refs]),
        keep=keep,
        ids=ids.astype(np.int64),
        population_target=logits(target, x[pop]),
        population_reference=np.stack([logits(m, x[pop]) for m in refs]),
        population_labels=y[pop],
    )
    print(f"wrote {out}/scores.csv ({n} records, {member.sum()} members) and {out}/reference.npz (K = {K}, P = {P})")
    print("target accuracy: members %.3f, non-members %.3f" % (
        target.score(x[audit][member], y[audit][member]), target.score(x[audit][~member], y[audit][~member])))
    print("audit it with:")
    print(f"  mia score {out}/scores.csv --reference {out}/reference.npz -o {out}/report")


if __name__ == "__main__":
    main()
