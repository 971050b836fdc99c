#!/usr/bin/env python3
"""Regenerate the score fixtures (fixtures/) and the bundled demo scores (data/scores/).

Real models are trained on the vendored data sets in data/. For each model, "members" are the rows the
model was trained on and "non-members" are the held-out rows of the same data set. The expected values in
fixtures/expected/*.json are computed here with numpy/scipy/scikit-learn, independently of the Rust code,
from the score files *as written* (each file is parsed back with Python's correctly rounded float()), so
the Rust side sees exactly the same float64 inputs.

Usage:  python3 scripts/make_fixtures.py        (run from anywhere; takes about three minutes, mostly the 20,000-resample bootstrap)

Everything is seeded; rerunning with the same library versions reproduces the same bytes.
"""

import csv
import gzip
import io
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy
import scipy.stats as st
import sklearn
from scipy.special import log_softmax, logsumexp
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.neural_network import MLPClassifier

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
FIX = ROOT / "fixtures"

TINY = np.finfo(np.float64).tiny  # 2.2250738585072014e-308: clamp before log so log(0) never occurs
FPR_TARGETS = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
N_PER_RECORD = 50
SEED_SPLIT = {"location": 0, "digits": 0, "breast_cancer": 0}
BOOT_B = 20_000
BOOT_SEED = 0

VERSIONS = (f"python {sys.version.split()[0]}, numpy {np.__version__}, scipy {scipy.__version__}, "
            f"scikit-learn {sklearn.__version__}, pyarrow {pa.__version__}")

CONVENTIONS = {
    "member_is_positive": "member = 1 is the positive class; every attack score is higher = more likely member",
    "tiny": float(TINY),
    "loss_logits": "loss = -log_softmax(z)[y] (scipy.special.log_softmax)",
    "loss_probs": "loss = -log(max(p_y, tiny))",
    "confidence": "p_y (logits: exp(log_softmax(z)[y]); loss-only: exp(-loss))",
    "phi_logits": "z_y - logsumexp(z without y)",
    "phi_probs": "log(max(p_y, tiny)) - log(max(sum_{i!=y} p_i, tiny))",
    "phi_loss_only": "-loss - log(max(-expm1(-loss), tiny))",
    "entropy": "-sum_i p_i log p_i with 0 log 0 = 0 (logits: log p = log_softmax; probs: log(max(p_i, tiny)))",
    "modified_entropy": ("Song & Mittal 2021: -(1-p_y) log p_y - sum_{i!=y} p_i log(1-p_i); "
                         "p = softmax(z) = exp(log_softmax(z)) for logits, the given p for probs; "
                         "log p_y as in loss; log(1-p_i) = log(max(1 - p_i, tiny)) computed naively"),
    "correctness": "1.0 if argmax (first index on ties) == y else 0.0",
    "attack_scores": {"loss": "-loss", "confidence": "p_y", "phi": "phi", "entropy": "-entropy",
                      "modified_entropy": "-modified_entropy", "correctness": "correctness"},
    "auc": "sklearn.metrics.roc_auc_score(member, score) (ties count 1/2)",
    "tpr_at_fpr": "roc_curve(member, score, drop_intermediate=False); max(tpr[fpr <= target])",
    "advantage": "max(tpr - fpr) over the same roc_curve points",
    "n_distinct_thresholds": "number of distinct score values (np.unique)",
    "mannwhitney_p_greater": ("scipy.stats.mannwhitneyu(member scores, non-member scores, alternative='greater', "
                              "method='asymptotic', use_continuity=True).pvalue (tie-corrected variance)"),
    "mannwhitney_z": "(U - n1*n0/2 - 0.5) / sigma_tie_corrected; p = norm.sf(z); log10 p = norm.logsf(z)/ln 10",
    "delong_se": "sqrt(var(V10)/m + var(V01)/n), structural components with ties = 1/2, var with ddof=1",
}


# ----------------------------------------------------------------------------------------------------
# I/O helpers

def gz_bytes(raw: bytes) -> bytes:
    # mtime=0 and no file name so the .gz is byte-reproducible
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as g:
        g.write(raw)
    return buf.getvalue()


def fmt(x) -> str:
    # repr of a Python float is the shortest string that round-trips exactly
    return repr(float(x))


def write_csv(path: Path, header, rows, gzip_it=False):
    s = io.StringIO()
    w = csv.writer(s, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    raw = s.getvalue().encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gz_bytes(raw) if gzip_it else raw)


def read_csv(path: Path):
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    rows = list(csv.reader(io.StringIO(raw.decode())))
    return rows[0], rows[1:]


def write_json(path: Path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1, allow_nan=False) + "\n")


def split_half(n: int, seed: int) -> np.ndarray:
    perm = np.random.default_rng(seed).permutation(n)
    member = np.zeros(n, dtype=bool)
    member[perm[: n // 2]] = True
    return member


# ----------------------------------------------------------------------------------------------------
# Signals (float64, independent of the Rust implementation)

def signals_from_logits(z: np.ndarray, y: np.ndarray) -> dict:
    n, k = z.shape
    rows = np.arange(n)
    ls = log_softmax(z, axis=1)
    p = np.exp(ls)
    loss = -ls[rows, y]
    conf = p[rows, y]
    z_other = z.copy()
    z_other[rows, y] = -np.inf
    phi = z[rows, y] - logsumexp(z_other, axis=1)
    ent = -np.sum(p * ls, axis=1)  # p underflows to 0 exactly when ls is very negative: 0 * finite = 0
    log1m = np.log(np.maximum(1.0 - p, TINY))
    log1m[rows, y] = 0.0
    p_other = p.copy()
    p_other[rows, y] = 0.0
    mentr = -(1.0 - conf) * ls[rows, y] - np.sum(p_other * log1m, axis=1)
    # a numerically stable reference for log(1-p_i), only used to report how far the naive form drifts
    lse = logsumexp(z, axis=1)
    stable_log1m = np.empty_like(z)
    for i in range(k):
        zi = z.copy()
        zi[:, i] = -np.inf
        stable_log1m[:, i] = logsumexp(zi, axis=1) - lse
    stable_log1m[rows, y] = 0.0
    mentr_stable = -(-np.expm1(ls[rows, y])) * ls[rows, y] - np.sum(p_other * stable_log1m, axis=1)
    correct = (np.argmax(z, axis=1) == y).astype(np.float64)
    tie = np.sum(z == z.max(axis=1, keepdims=True), axis=1) > 1
    return {"loss": loss, "confidence": conf, "phi": phi, "entropy": ent, "modified_entropy": mentr,
            "correctness": correct, "_mentr_stable": mentr_stable, "_argmax_tie": tie}


def signals_from_probs(p: np.ndarray, y: np.ndarray) -> dict:
    n, k = p.shape
    rows = np.arange(n)
    logp = np.log(np.maximum(p, TINY))
    py = p[rows, y]
    loss = -logp[rows, y]
    p_other = p.copy()
    p_other[rows, y] = 0.0
    phi = logp[rows, y] - np.log(np.maximum(p_other.sum(axis=1), TINY))
    ent = -np.sum(np.where(p > 0, p * logp, 0.0), axis=1)
    log1m = np.log(np.maximum(1.0 - p, TINY))
    mentr = -(1.0 - py) * logp[rows, y] - np.sum(p_other * log1m, axis=1)
    correct = (np.argmax(p, axis=1) == y).astype(np.float64)
    tie = np.sum(p == p.max(axis=1, keepdims=True), axis=1) > 1
    return {"loss": loss, "confidence": py, "phi": phi, "entropy": ent, "modified_entropy": mentr,
            "correctness": correct, "_argmax_tie": tie}


def signals_from_loss(loss: np.ndarray) -> dict:
    conf = np.exp(-loss)
    phi = -loss - np.log(np.maximum(-np.expm1(-loss), TINY))
    return {"loss": loss, "confidence": conf, "phi": phi}


ATTACK_SIGN = {"loss": -1.0, "confidence": 1.0, "phi": 1.0, "entropy": -1.0, "modified_entropy": -1.0,
               "correctness": 1.0}


def attack_scores(sig: dict) -> dict:
    return {a: ATTACK_SIGN[a] * sig[a] for a in ATTACK_SIGN if a in sig}


# ----------------------------------------------------------------------------------------------------
# Metrics

def delong_se(pos: np.ndarray, neg: np.ndarray) -> float:
    # direct O(m*n) structural components; small fixtures only
    psi = (pos[:, None] > neg[None, :]).astype(np.float64) + 0.5 * (pos[:, None] == neg[None, :])
    v10 = psi.mean(axis=1)
    v01 = psi.mean(axis=0)
    return float(math.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)))


def attack_metrics(member: np.ndarray, score: np.ndarray) -> dict:
    auc = roc_auc_score(member, score)
    fpr, tpr, thr = roc_curve(member, score, drop_intermediate=False)
    n_distinct = int(np.unique(score).size)
    assert thr.size == n_distinct + 1  # roc_curve adds the (0, 0) point at threshold +inf
    mw = st.mannwhitneyu(score[member], score[~member], alternative="greater", method="asymptotic",
                         use_continuity=True)
    n1, n0 = int(member.sum()), int((~member).sum())
    u_auc = mw.statistic / (n1 * n0)
    assert abs(u_auc - auc) < 1e-12, (u_auc, auc)
    # z by hand (tie-corrected variance, continuity 0.5) so a p-value that underflows to 0 is still checkable
    _, t = np.unique(score, return_counts=True)
    nn = n1 + n0
    sigma = math.sqrt(n1 * n0 / 12.0 * ((nn + 1) - np.sum(t**3 - t) / (nn * (nn - 1))))
    z = (mw.statistic - n1 * n0 / 2.0 - 0.5) / sigma
    assert math.isclose(st.norm.sf(z), mw.pvalue, rel_tol=1e-9, abs_tol=1e-300), (st.norm.sf(z), mw.pvalue)
    return {
        "auc": float(auc),
        "tpr_at_fpr": [{"fpr": t, "tpr": float(tpr[fpr <= t].max())} for t in FPR_TARGETS],
        "advantage": float(np.max(tpr - fpr)),
        "n_distinct_thresholds": n_distinct,
        "mannwhitney_u": float(mw.statistic),
        "mannwhitney_p_greater": float(mw.pvalue),
        "mannwhitney_z": float(z),
        "mannwhitney_log10_p_greater": float(st.norm.logsf(z) / math.log(10)),
        "delong_se": delong_se(score[member], score[~member]),
    }


def holm(pvals):
    # Holm step-down: sort ascending; adj_(i) = max_{j<=i} min(1, (m - j) * p_(j)), 0-based j; map back
    p = np.asarray(pvals, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adj_sorted = np.empty(m)
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        adj_sorted[i] = running
    out = np.empty(m)
    out[order] = adj_sorted
    return out


def expected_for(name, path, kind, ids, member, label, sig, extra=None):
    scores = attack_scores(sig)
    loss = sig["loss"]
    out = {
        "source": (f"scripts/make_fixtures.py; values computed from the file's own columns with {VERSIONS}"),
        "file": str(path.relative_to(ROOT)),
        "input_kind": kind,
        "conventions": CONVENTIONS,
        "n": int(member.size),
        "n_members": int(member.sum()),
        "n_nonmembers": int((~member).sum()),
        "mean_loss_members": float(loss[member].mean()),
        "mean_loss_nonmembers": float(loss[~member].mean()),
    }
    if "correctness" in sig:
        c = sig["correctness"]
        out["accuracy_members"] = float(c[member].mean())
        out["accuracy_nonmembers"] = float(c[~member].mean())
    else:
        out["accuracy_members"] = None
        out["accuracy_nonmembers"] = None
    out["attacks"] = {a: attack_metrics(member, s) for a, s in scores.items()}
    # first N_PER_RECORD rows, plus any later row that hits the log clamp or an argmax tie (edge cases)
    edge = loss >= -math.log(TINY) - 1e-9
    if "_argmax_tie" in sig:
        edge |= sig["_argmax_tie"]
    rows_out = list(range(min(N_PER_RECORD, member.size)))
    rows_out += [int(i) for i in np.flatnonzero(edge) if i >= N_PER_RECORD]
    per = []
    for i in rows_out:
        r = {"row": i, "id": ids[i], "member": bool(member[i])}
        if label is not None:
            r["label"] = int(label[i])
        for s in ("loss", "confidence", "phi", "entropy", "modified_entropy", "correctness"):
            if s in sig:
                r[s] = float(sig[s][i])
        per.append(r)
    out["per_record"] = per
    out["per_record_note"] = (f"rows 0..{N_PER_RECORD - 1} of the file, then every later row where the loss hits "
                              "the log clamp or the argmax is tied; 'row' is the 0-based data row in the file")
    if extra:
        out.update(extra)
    write_json(FIX / "expected" / f"{name}.json", out)
    return out


def saturation_report(sig) -> dict:
    loss = sig["loss"]
    return {
        "loss_exactly_zero": int(np.sum(loss == 0.0)),
        "loss_below_1e-12": int(np.sum(loss < 1e-12)),
        "loss_at_clamp": int(np.sum(loss >= -math.log(TINY) - 1e-9)),
        "confidence_exactly_one": int(np.sum(sig["confidence"] == 1.0)),
        "confidence_exactly_zero": int(np.sum(sig["confidence"] == 0.0)),
    }


# ----------------------------------------------------------------------------------------------------
# Loaders (vendored data only)

def load_location():
    raw = gzip.decompress((DATA / "location" / "bangkok.csv.gz").read_bytes()).decode()
    rows = list(csv.reader(io.StringIO(raw)))
    y = np.array([int(r[0]) - 1 for r in rows], dtype=np.int64)
    X = np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float64)
    assert X.shape == (5010, 446) and y.min() == 0 and y.max() == 29
    return X, y


def load_digits():
    d = np.loadtxt(DATA / "digits" / "digits.csv.gz", delimiter=",")
    assert d.shape == (1797, 65)
    return d[:, :-1], d[:, -1].astype(np.int64)


def load_breast_cancer():
    raw = gzip.decompress((DATA / "breast_cancer" / "breast_cancer.csv.gz").read_bytes()).decode()
    rows = list(csv.reader(io.StringIO(raw)))[1:]  # first line: n_samples,n_features,class names
    d = np.array([[float(v) for v in r] for r in rows])
    assert d.shape == (569, 31)
    return d[:, :-1], d[:, -1].astype(np.int64)


def softmax(z):
    return np.exp(log_softmax(z, axis=1))


# ----------------------------------------------------------------------------------------------------
# (a) Location-30 MLP: the bundled demo file

def make_location():
    X, y = load_location()
    member = split_half(len(y), SEED_SPLIT["location"])
    # small alpha + full-batch-ish training to convergence: overfits (train acc 1.0), which is the point
    mlp = MLPClassifier(hidden_layer_sizes=(128,), alpha=1e-5, max_iter=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X[member], y[member])
    assert mlp.activation == "relu" and mlp.out_activation_ == "softmax" and len(mlp.coefs_) == 2
    # MLPClassifier has no logits method: redo the forward pass (ReLU hidden, identity output)
    h = np.maximum(X @ mlp.coefs_[0] + mlp.intercepts_[0], 0.0)
    z = h @ mlp.coefs_[1] + mlp.intercepts_[1]
    assert np.max(np.abs(softmax(z) - mlp.predict_proba(X))) < 1e-10
    ids = [f"loc-{i:05d}" for i in range(len(y))]
    path = DATA / "scores" / "location_mlp.csv.gz"
    header = ["id", "member", "label"] + [f"logit_{j}" for j in range(30)]
    write_csv(path, header, ([ids[i], int(member[i]), int(y[i])] + [fmt(v) for v in z[i]]
                             for i in range(len(y))), gzip_it=True)
    # read back: expected values come from the file, not from memory
    hdr, rows = read_csv(path)
    assert hdr == header
    z2 = np.array([[float(v) for v in r[3:]] for r in rows])
    assert np.array_equal(z2, z)
    sig = signals_from_logits(z2, y)
    drift = float(np.max(np.abs(sig["modified_entropy"] - sig["_mentr_stable"])))
    extra = {"model": ("sklearn MLPClassifier(hidden_layer_sizes=(128,), alpha=1e-5, max_iter=300, random_state=0), "
                       f"{mlp.n_iter_} iterations, trained on {int(member.sum())} of {len(y)} rows "
                       f"(split seed {SEED_SPLIT['location']})"),
             "saturation": saturation_report(sig),
             "modified_entropy_max_abs_diff_naive_vs_stable_log1m": drift}
    return expected_for("location_mlp", path, "logits", ids, member, y, sig, extra), drift


# ----------------------------------------------------------------------------------------------------
# (b) digits logistic regression: CSV, Parquet and NumPy copies of the same scores
# (d) the same model's loss rounded to 2 decimals

def make_digits():
    X, y = load_digits()
    X = X / 16.0
    member = split_half(len(y), SEED_SPLIT["digits"])
    # C=10 fits the training half almost perfectly (train acc ~0.998) vs ~0.97 held out
    lr = LogisticRegression(C=10.0, max_iter=20000)
    lr.fit(X[member], y[member])
    z = lr.decision_function(X).astype(np.float64)
    assert np.max(np.abs(softmax(z) - lr.predict_proba(X))) < 1e-10
    n = len(y)
    ids_int = np.arange(n, dtype=np.int64)
    ids = [str(i) for i in ids_int]
    sd = FIX / "scores"
    sd.mkdir(parents=True, exist_ok=True)
    header = ["id", "member", "label"] + [f"logit_{j}" for j in range(10)]
    path = sd / "digits_logreg.csv"
    write_csv(path, header, ([ids[i], int(member[i]), int(y[i])] + [fmt(v) for v in z[i]] for i in range(n)))
    hdr, rows = read_csv(path)
    assert hdr == header
    z2 = np.array([[float(v) for v in r[3:]] for r in rows])
    assert np.array_equal(z2, z)

    schema = pa.schema([("id", pa.string()), ("member", pa.bool_()), ("label", pa.int64())]
                       + [(f"logit_{j}", pa.float64()) for j in range(10)])
    cols = [pa.array(ids, pa.string()), pa.array(member, pa.bool_()), pa.array(y, pa.int64())]
    cols += [pa.array(z[:, j], pa.float64()) for j in range(10)]
    pq.write_table(pa.Table.from_arrays(cols, schema=schema), sd / "digits_logreg.parquet", compression="zstd")
    t = pq.read_table(sd / "digits_logreg.parquet")
    assert t.schema.equals(schema)
    assert np.array_equal(np.column_stack([t[f"logit_{j}"].to_numpy() for j in range(10)]), z)

    np.save(sd / "digits_logreg_logits.npy", np.ascontiguousarray(z, dtype=np.float64))
    np.save(sd / "digits_logreg_labels.npy", y.astype(np.int64))
    np.save(sd / "digits_logreg_member.npy", member.astype(np.bool_))
    np.save(sd / "digits_logreg_ids.npy", ids_int)

    sig = signals_from_logits(z2, y)
    drift = float(np.max(np.abs(sig["modified_entropy"] - sig["_mentr_stable"])))

    # per-class slices of the loss attack, Holm-adjusted across the 10 classes
    score = -sig["loss"]
    per_class = []
    for c in range(10):
        sel = y == c
        mw = st.mannwhitneyu(score[sel & member], score[sel & ~member], alternative="greater",
                             method="asymptotic", use_continuity=True)
        per_class.append({"class": c, "n": int(sel.sum()), "n_members": int((sel & member).sum()),
                          "auc": float(roc_auc_score(member[sel], score[sel])),
                          "mannwhitney_p_greater": float(mw.pvalue)})
    adj = holm([r["mannwhitney_p_greater"] for r in per_class])
    for r, a in zip(per_class, adj):
        r["holm_p"] = float(a)
    extra = {"model": (f"sklearn LogisticRegression(C=10.0, max_iter=20000) (lbfgs, multinomial) on pixels/16, "
                       f"trained on {int(member.sum())} of {n} rows (split seed {SEED_SPLIT['digits']}); "
                       "logits = decision_function"),
             "saturation": saturation_report(sig),
             "modified_entropy_max_abs_diff_naive_vs_stable_log1m": drift,
             "per_class_loss": {
                 "note": ("attack 'loss' restricted to records with label c; Holm step-down over the 10 classes: "
                          "sort p ascending, adj_(i) = max_{j<=i} min(1, (m-j) p_(j)) with 0-based j"),
                 "classes": per_class}}
    exp_b = expected_for("digits_logreg", path, "logits", ids, member, y, sig, extra)

    # (d) loss only, rounded to 2 decimals: lots of exact ties (incl. loss 0.00)
    path_d = sd / "digits_loss_rounded.csv"
    write_csv(path_d, ["id", "member", "loss"],
              ([ids[i], int(member[i]), f"{sig['loss'][i]:.2f}"] for i in range(n)))
    hdr, rows = read_csv(path_d)
    loss_r = np.array([float(r[2]) for r in rows])
    member_d = np.array([r[1] == "1" for r in rows])
    sig_d = signals_from_loss(loss_r)
    extra_d = {"model": "loss of the digits_logreg model, formatted with '%.2f'",
               "saturation": saturation_report(sig_d)}
    exp_d = expected_for("digits_loss_rounded", path_d, "loss", ids, member_d, None, sig_d, extra_d)
    return exp_b, exp_d, z2, y, member, drift


# ----------------------------------------------------------------------------------------------------
# (c) breast cancer random forest: probabilities with many exact ties and exact 0/1

def make_breast_cancer():
    X, y = load_breast_cancer()
    member = split_half(len(y), SEED_SPLIT["breast_cancer"])
    # fully grown trees have pure leaves, so each tree votes 0/1 and probabilities are multiples of 1/50;
    # 50 trees gives exact 1.0s, one exact 0.0 for the true class (exercises the log clamp) and a 0.5/0.5 tie
    rf = RandomForestClassifier(n_estimators=50, random_state=0)
    rf.fit(X[member], y[member])
    p = rf.predict_proba(X)
    ids = [f"bc-{i:03d}" for i in range(len(y))]
    path = FIX / "scores" / "breast_cancer_probs.csv"
    header = ["id", "member", "label", "prob_0", "prob_1"]
    write_csv(path, header, ([ids[i], int(member[i]), int(y[i]), fmt(p[i, 0]), fmt(p[i, 1])]
                             for i in range(len(y))))
    hdr, rows = read_csv(path)
    p2 = np.array([[float(r[3]), float(r[4])] for r in rows])
    assert np.array_equal(p2, p)
    sig = signals_from_probs(p2, y)
    extra = {"model": (f"sklearn RandomForestClassifier(n_estimators=50, random_state=0), trained on "
                       f"{int(member.sum())} of {len(y)} rows (split seed {SEED_SPLIT['breast_cancer']})"),
             "saturation": saturation_report(sig),
             "ties": {"prob_1_distinct_values": int(np.unique(p2[:, 1]).size),
                      "rows_with_p_0.5_tie": int(np.sum(p2[:, 0] == p2[:, 1])),
                      "rows_prob_sum_not_exactly_1": int(np.sum(p2.sum(axis=1) != 1.0))}}
    return expected_for("breast_cancer_probs", path, "probs", ids, member, y, sig, extra)


# ----------------------------------------------------------------------------------------------------
# (f) statistics: Clopper-Pearson, empirical epsilon, DeLong, bootstrap

def cp(k, n, conf=0.95):
    a = 1.0 - conf
    lo = 0.0 if k == 0 else float(st.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(st.beta.ppf(1 - a / 2, k + 1, n - k))
    # second route through scipy's binomtest (same definition) as a consistency check
    ci = st.binomtest(k, n).proportion_ci(confidence_level=conf, method="exact")
    assert abs(ci.low - lo) < 1e-12 and abs(ci.high - hi) < 1e-12, (k, n, conf)
    return lo, hi


def eps_bound(tp, fn, tn, fp, delta):
    tpr_lo, _ = cp(tp, tp + fn)
    _, fpr_hi = cp(fp, fp + tn)
    tnr_lo, _ = cp(tn, tn + fp)
    _, fnr_hi = cp(fn, fn + tp)
    terms = [0.0]
    for num, den in ((tpr_lo - delta, fpr_hi), (tnr_lo - delta, fnr_hi)):
        if num > 0:  # a non-positive numerator gives no evidence and does not count
            terms.append(math.log(num / den))
    return {"tp": tp, "fn": fn, "tn": tn, "fp": fp, "delta": delta, "tpr_lo": tpr_lo, "fpr_hi": fpr_hi,
            "tnr_lo": tnr_lo, "fnr_hi": fnr_hi, "epsilon_lo": max(terms)}


def make_stats(z, y, member):
    grid = [(0, 10), (10, 10), (1, 1000), (0, 100000), (3, 100000), (5, 20), (500, 1000), (999, 1000),
            (12345, 1000000), (0, 1), (1, 1)]
    cps = []
    for k, n in grid:
        lo, hi = cp(k, n, 0.95)
        cps.append({"k": k, "n": n, "confidence": 0.95, "lo": lo, "hi": hi})
    for k, n in [(0, 10), (5, 20), (500, 1000), (3, 100000), (1, 1)]:
        lo, hi = cp(k, n, 0.99)
        cps.append({"k": k, "n": n, "confidence": 0.99, "lo": lo, "hi": hi})

    eps_cases = [(900, 100, 990, 10, 1e-5), (50, 950, 1000, 0, 1e-5), (0, 1000, 1000, 0, 1e-5),
                 (1000, 0, 0, 1000, 1e-5), (500, 500, 500, 500, 1e-5), (100, 0, 100, 0, 1e-5),
                 (10, 990, 1000, 0, 0.0), (30, 70, 99, 1, 0.01)]
    eps = [eps_bound(*c) for c in eps_cases]

    # digits_logreg 'loss' attack: DeLong SE and a stratified percentile bootstrap of AUC / TPR@FPR
    loss = -log_softmax(z, axis=1)[np.arange(len(y)), y]
    score = -loss
    pos, neg = score[member], score[~member]
    auc = float(roc_auc_score(member, score))
    se = delong_se(pos, neg)
    rng = np.random.default_rng(BOOT_SEED)
    lab = np.r_[np.ones(pos.size, bool), np.zeros(neg.size, bool)]
    boot_auc = np.empty(BOOT_B)
    boot_tpr = {t: np.empty(BOOT_B) for t in (1e-2, 1e-1)}
    for b in range(BOOT_B):
        s = np.r_[pos[rng.integers(0, pos.size, pos.size)], neg[rng.integers(0, neg.size, neg.size)]]
        boot_auc[b] = roc_auc_score(lab, s)
        fpr, tpr, _ = roc_curve(lab, s, drop_intermediate=False)
        for t in boot_tpr:
            boot_tpr[t][b] = tpr[fpr <= t].max()
    lo, hi = np.percentile(boot_auc, [2.5, 97.5])
    fpr0, tpr0, _ = roc_curve(member, score, drop_intermediate=False)
    sd = float(boot_auc.std(ddof=1))
    # Monte Carlo SE of a bootstrap quantile ~ sqrt(q(1-q)/B) / density; density from a normal fit
    mc_se = math.sqrt(0.025 * 0.975 / BOOT_B) / st.norm.pdf(st.norm.ppf(0.025)) * sd
    boot = {
        "attack": "loss", "file": "fixtures/scores/digits_logreg.csv",
        "auc": auc, "delong_se": se,
        "delong_normal_ci95": [auc - st.norm.ppf(0.975) * se, auc + st.norm.ppf(0.975) * se],
        "bootstrap": {
            "scheme": ("stratified: members and non-members resampled separately with replacement, sizes kept; "
                       "AUC by roc_auc_score; percentile interval via np.percentile (linear interpolation)"),
            "resamples": BOOT_B, "seed": BOOT_SEED, "rng": "numpy.random.default_rng(0).integers",
            "auc_ci95": [float(lo), float(hi)],
            "auc_mean": float(boot_auc.mean()), "auc_sd": sd,
            "tpr_at_fpr_ci95": [{"fpr": t, "tpr_point": float(tpr0[fpr0 <= t].max()),
                "ci95": [float(v) for v in np.percentile(boot_tpr[t], [2.5, 97.5])]} for t in boot_tpr],
            "mc_se_of_endpoint_at_this_B": mc_se,
            "tolerance_rule": ("a Rust interval from B_r resamples should match each AUC endpoint within "
                               "4*sqrt(mc_se^2 + (mc_se*sqrt(B/B_r))^2); at B_r = 1000 that is about "
                               f"{4 * math.sqrt(mc_se**2 + mc_se**2 * BOOT_B / 1000):.4f}, at B_r = 10000 about "
                               f"{4 * math.sqrt(mc_se**2 + mc_se**2 * BOOT_B / 10000):.4f}"),
        },
    }
    out = {"source": (f"scripts/make_fixtures.py; Clopper-Pearson via scipy.stats.beta.ppf (checked against "
                      f"scipy.stats.binomtest(...).proportion_ci(method='exact')); {VERSIONS}"),
           "clopper_pearson": {"definition": ("two-sided: lo = beta.ppf(a/2, k, n-k+1) (0 if k=0), "
                                              "hi = beta.ppf(1-a/2, k+1, n-k) (1 if k=n), a = 1 - confidence"),
                               "cases": cps},
           "epsilon_lower_bound": {"definition": ("eps = max(0, ln((tpr_lo - delta)/fpr_hi), ln((tnr_lo - delta)/fnr_hi)); "
                                                  "95% two-sided Clopper-Pearson bounds; tpr_lo from tp/(tp+fn), "
                                                  "fpr_hi from fp/(fp+tn), tnr_lo from tn/(tn+fp), fnr_hi from "
                                                  "fn/(fn+tp); a term with numerator <= 0 is skipped"),
                                   "cases": eps},
           "auc_uncertainty": boot}
    write_json(FIX / "expected" / "stats.json", out)
    return out


# ----------------------------------------------------------------------------------------------------

def main():
    np.seterr(all="raise", under="ignore")
    summary = []
    loc, drift_loc = make_location()
    summary.append(("location_mlp", loc))
    exp_b, exp_d, z, y, member, drift_dig = make_digits()
    summary += [("digits_logreg", exp_b), ("digits_loss_rounded", exp_d)]
    summary.append(("breast_cancer_probs", make_breast_cancer()))
    stats = make_stats(z, y, member)

    for name, e in summary:
        acc = ("" if e["accuracy_members"] is None else
               f"  acc member/non {e['accuracy_members']:.3f}/{e['accuracy_nonmembers']:.3f}")
        print(f"{name}: n={e['n']} members={e['n_members']}{acc}")
        for a, m in e["attacks"].items():
            print(f"    {a:17s} AUC {m['auc']:.4f}  adv {m['advantage']:.4f}  "
                  f"TPR@1%FPR {m['tpr_at_fpr'][3]['tpr']:.4f}  distinct {m['n_distinct_thresholds']}  "
                  f"p {m['mannwhitney_p_greater']:.3g}")
        print(f"    saturation: {e['saturation']}")
    print(f"modified-entropy naive vs stable log(1-p) max abs diff: location {drift_loc:.3g}, digits {drift_dig:.3g}")
    b = stats["auc_uncertainty"]
    print(f"digits loss AUC {b['auc']:.4f}, DeLong SE {b['delong_se']:.4f}, bootstrap CI {b['bootstrap']['auc_ci95']}")


if __name__ == "__main__":
    main()
