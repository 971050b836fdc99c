#!/usr/bin/env python3
"""Regenerate fixtures/reference/: real reference-model audit data and the expected scores of every
reference-model attack in mia_core::reference, computed here with numpy/scipy/scikit-learn directly
from the formulas (independently of the Rust code).

Data: the vendored digits set (data/digits/digits.csv.gz, 1,797 8x8 images, 10 classes). A seeded
permutation picks N = 600 audit records and P = 300 population records (the remaining 897 rows are
unused). K = 8 reference models each train on the audit records of one row of a K x N keep mask in
which every record is IN for exactly K/2 = 4 models; the target trains on a random half of the audit
records (its membership is what the attacks must recover). No model trains on a population record.
Models: scikit-learn LogisticRegression(C=100, max_iter=5000) on pixels / 16 (weakly regularised, so
training records are fitted better than the others and the attacks have something to find).

Signals: phi = z_y - logsumexp(z without y) from decision_function logits, in float64 with a max
shift (scipy.special.logsumexp).

Output:
  fixtures/reference/digits_reference.npz   uncompressed np.savez: inputs and the expected scores
  fixtures/reference/expected.json          one entry per attack variant: dispatcher name, the
                                            mia_core ReferenceConfig (JSON) it needs, whether scores
                                            must match exactly (count-based attacks), sklearn AUC;
                                            plus a grid of scipy.special.log_ndtr values

Usage:  python3 scripts/reference_fixtures.py    (a few seconds; deterministic)
"""

import gzip
import json
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import scipy
import scipy.stats as st
import sklearn
from scipy.special import expit, log_ndtr, log_softmax, logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "reference"
SEED = 20240611
N, P, K = 600, 300, 8
VERSIONS = f"python {sys.version.split()[0]}, numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}"


# ----------------------------------------------------------------------------------------- data, models

def load_digits():
    with gzip.open(ROOT / "data" / "digits" / "digits.csv.gz", "rt") as f:
        a = np.loadtxt(f, delimiter=",")
    return a[:, :-1] / 16.0, a[:, -1].astype(np.int64)


def fit(x, y):
    m = LogisticRegression(C=100.0, max_iter=5000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.fit(x, y)
    assert list(m.classes_) == list(range(10)), "every training half must contain all ten classes"
    return m


def phi_from_logits(z, y):
    """phi = z_y - logsumexp_{j != y} z_j, float64, max-shifted inside logsumexp."""
    z = np.asarray(z, dtype=np.float64)
    others = z.copy()
    others[np.arange(len(y)), y] = -np.inf
    return z[np.arange(len(y)), y] - logsumexp(others, axis=1)


# ----------------------------------------------------------------------------------------- helpers

def loss_of(phi):
    """Cross-entropy of the true class: -log sigmoid(phi) = log(1 + exp(-phi))."""
    return np.logaddexp(0.0, -phi)


def per_record(ref, keep, want):
    """List over records of the reference phi of models with keep == want, in model order."""
    return [ref[keep[:, j] == want, j] for j in range(ref.shape[1])]


# ----------------------------------------------------------------------------------------- LiRA

def lira_fit(groups, center, std, variance, floor=1e-6):
    """(mu, sigma) per record from a list of per-record observation arrays (not reference-code mode)."""
    mu = np.array([np.mean(g) if center == "mean" else np.median(g) for g in groups])
    ddof = 0 if std == "population" else 1
    if variance == "per_example":
        sd = np.array([np.std(g, ddof=ddof) for g in groups])
    else:
        ss = sum(np.sum((g - np.mean(g)) ** 2) for g in groups)
        dof = sum(len(g) for g in groups) - ddof * len(groups)
        sd = np.full(len(groups), np.sqrt(ss / dof))
    return mu, np.maximum(sd, floor)


def lira_scipy(target, ref, keep, online, center="mean", std="population", variance="per_example",
               offline_test="one_sided"):
    ins, outs = per_record(ref, keep, True), per_record(ref, keep, False)
    mo, so = lira_fit(outs, center, std, variance)
    if online:
        mi, si = lira_fit(ins, center, std, variance)
        return st.norm.logpdf(target, mi, si) - st.norm.logpdf(target, mo, so)
    if offline_test == "one_sided":
        return st.norm.logcdf((target - mo) / so)
    return -st.norm.logpdf(target, mo, so)


def lira_authors_code(target, ref, keep, online, fix_variance):
    """The authors' research/mi_lira_2021/plot.py (generate_ours / generate_ours_offline), one target
    model, one query, scores negated to higher = member as their sweep() does."""
    scores = ref[:, :, None]  # (models, records, augmentations = 1)
    dat_in, dat_out = [], []
    for j in range(scores.shape[1]):
        dat_in.append(scores[keep[:, j], j, :])
        dat_out.append(scores[~keep[:, j], j, :])
    in_size = min(map(len, dat_in))
    out_size = min(map(len, dat_out))
    dat_in = np.array([x[:in_size] for x in dat_in])
    dat_out = np.array([x[:out_size] for x in dat_out])
    mean_in = np.median(dat_in, 1)
    mean_out = np.median(dat_out, 1)
    sc = target[:, None]
    if online:
        if fix_variance:
            std_in = np.std(dat_in)
            std_out = np.std(dat_in)
        else:
            std_in = np.std(dat_in, 1)
            std_out = np.std(dat_out, 1)
        pr_in = -st.norm.logpdf(sc, mean_in, std_in + 1e-30)
        pr_out = -st.norm.logpdf(sc, mean_out, std_out + 1e-30)
        prediction = (pr_in - pr_out).mean(1)
    else:
        std_out = np.std(dat_out) if fix_variance else np.std(dat_out, 1)
        prediction = st.norm.logpdf(sc, mean_out, std_out + 1e-30).mean(1)
    return -prediction


# ----------------------------------------------------------------------------------------- RMIA

def rmia_brute(target, ref, keep, pop_t, pop_r, online, gamma, a, strict):
    """Fraction of z with LR(x, z) >= gamma (or > gamma), LR tested as l(z) <= l(x) - ln(gamma) on the
    full N x P matrix; l = ln p_t - ln Pr, Pr from linear-space means of sigmoid(phi)."""
    p_ref = expit(ref)
    if online:
        pr_x = p_ref.mean(0)
    else:
        out = ~keep
        pr_x = 0.5 * ((1 + a) * (p_ref * out).sum(0) / out.sum(0) + (1 - a))
    pr_z = expit(pop_r).mean(0)
    if not online:
        pr_z = 0.5 * ((1 + a) * pr_z + (1 - a))
    # ln p_t in log space (exact for saturated phi); Pr is far from underflow here.
    lx = -np.logaddexp(0.0, -target) - np.log(pr_x)
    lz = -np.logaddexp(0.0, -pop_t) - np.log(pr_z)
    t = (lx - np.log(gamma))[:, None]
    hit = lz[None, :] < t if strict else lz[None, :] <= t
    return hit.mean(1), lx, lz


# ----------------------------------------------------------------------------------------- Ye et al., Watson et al.

def attack_p_np(target, pop_t):
    by_phi = (pop_t[None, :] <= target[:, None]).mean(1)
    by_loss = (loss_of(pop_t)[None, :] >= loss_of(target)[:, None]).mean(1)
    assert np.array_equal(by_phi, by_loss), "phi and loss comparisons must agree on this data"
    return by_phi


def attack_r_np(target, ref, keep, interpolation):
    t_all = loss_of(target)
    out = []
    for j, l in enumerate(per_record(ref, keep, False)):
        l = loss_of(l)
        t = t_all[j]
        if interpolation == "none":
            out.append(np.mean(l >= t))
            continue
        # 1 - smallest alpha with np.quantile(l + [0, 1000], alpha, method='linear') >= t, by bisection:
        # the authors' linear_itp_threshold_func (signal_min = 0, signal_max = 1000 appended).
        ext = np.append(np.append(l, 0.0), 1000.0)
        q = lambda a: np.quantile(ext, a, method="linear")
        if q(0.0) >= t:
            out.append(1.0)
        elif q(1.0) < t:
            out.append(0.0)
        else:
            lo, hi = 0.0, 1.0
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                if mid <= lo or mid >= hi:
                    break
                if q(mid) >= t:
                    hi = mid
                else:
                    lo = mid
            out.append(1.0 - hi)
    return np.array(out)


def difficulty_np(target, ref, keep):
    return np.array([np.mean(loss_of(l)) for l in per_record(ref, keep, False)]) - loss_of(target)


# ----------------------------------------------------------------------------------------- Shokri

def features(logits, y):
    ls = log_softmax(logits, axis=1)
    top = -np.sort(-ls, axis=1)[:, : min(3, logits.shape[1])]
    phi = phi_from_logits(logits, y)
    loss = np.logaddexp(0.0, -phi)
    return np.column_stack([np.exp(top), np.minimum(loss, 50.0), np.clip(phi, -50.0, 50.0)])


def newton_logistic(x, y, l2):
    """argmin mean log-loss + l2/2 |w|^2 on features standardised by the training mean and population
    std (std <= 1e-12 -> 1), intercept unpenalised; Newton's method to convergence."""
    mean = x.mean(0)
    sd = x.std(0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    z = np.column_stack([(x - mean) / sd, np.ones(len(x))])
    beta = np.zeros(z.shape[1])
    pen = np.full(z.shape[1], l2)
    pen[-1] = 0.0
    for _ in range(100):
        mu = expit(z @ beta)
        g = z.T @ (mu - y) / len(y) + pen * beta
        w = np.maximum(mu * (1 - mu), 1e-12)
        h = (z * w[:, None]).T @ z / len(y) + np.diag(pen)
        step = np.linalg.solve(h, g)
        beta -= step
        if np.max(np.abs(step)) < 1e-13:
            break
    return lambda xt: ((xt - mean) / sd) @ beta[:-1] + beta[-1]


def shokri_np(target_logits, ref_logits, keep, labels, l2=1e-4):
    ft = features(target_logits, labels)
    fr = np.stack([features(ref_logits[k], labels) for k in range(ref_logits.shape[0])])
    scores = np.empty(len(labels))
    for c in np.unique(labels):
        rows = labels == c
        x = fr[:, rows, :].reshape(-1, fr.shape[2])
        y = keep[:, rows].reshape(-1).astype(float)
        assert 0 < y.sum() < len(y)
        scores[rows] = newton_logistic(x, y, l2)(ft[rows])
    return scores


# ----------------------------------------------------------------------------------------- main

def experiment(seed, n, p, k):
    """The audit experiment on digits: n audit records, p population records, a target trained on
    a random half of the audit records and k reference models on a keep mask (each record IN for
    exactly k/2), with every model's logits and phi. Also returns the generator, for callers that
    draw more. Shared with scripts/byo_fixtures.py."""
    rng = np.random.default_rng(seed)
    x_all, y_all = load_digits()
    perm = rng.permutation(len(y_all))
    audit, pop = perm[:n], perm[n : n + p]
    xa, ya, xp, yp = x_all[audit], y_all[audit], x_all[pop], y_all[pop]

    keep = np.zeros((k, n), dtype=bool)
    for j in range(n):
        keep[rng.permutation(k)[: k // 2], j] = True
    member = np.zeros(n, dtype=bool)
    member[rng.permutation(n)[: n // 2]] = True

    target = fit(xa[member], ya[member])
    refs = [fit(xa[keep[m]], ya[keep[m]]) for m in range(k)]
    t_logits = target.decision_function(xa).astype(np.float64)
    r_logits = np.stack([m.decision_function(xa) for m in refs]).astype(np.float64)
    return SimpleNamespace(
        rng=rng, audit=audit, xa=xa, ya=ya, xp=xp, yp=yp, keep=keep, member=member,
        target=target, refs=refs, t_logits=t_logits, r_logits=r_logits,
        t_phi=phi_from_logits(t_logits, ya),
        r_phi=np.stack([phi_from_logits(r_logits[m], ya) for m in range(k)]),
        pt_phi=phi_from_logits(target.decision_function(xp), yp),
        pr_phi=np.stack([phi_from_logits(m.decision_function(xp), yp) for m in refs]),
    )


def main():
    e = experiment(SEED, N, P, K)
    xa, ya, keep, member = e.xa, e.ya, e.keep, e.member
    t_logits, r_logits, t_phi, r_phi, pt_phi, pr_phi = e.t_logits, e.r_logits, e.t_phi, e.r_phi, e.pt_phi, e.pr_phi

    variants = []  # (label, attack, config, exact, scores)

    def add(label, attack, config, exact, scores):
        scores = np.asarray(scores, dtype=np.float64)
        assert scores.shape == (N,) and np.all(np.isfinite(scores)), label
        variants.append((label, attack, config, exact, scores))

    # LiRA, formula-level (scipy.stats.norm).
    add("lira_online default", "lira_online", {}, False, lira_scipy(t_phi, r_phi, keep, True))
    add("lira_online median global ddof1", "lira_online",
        {"lira": {"center": "median", "variance": "global", "std": "sample"}}, False,
        lira_scipy(t_phi, r_phi, keep, True, center="median", std="sample", variance="global"))
    add("lira_online per-example ddof1", "lira_online", {"lira": {"std": "sample"}}, False,
        lira_scipy(t_phi, r_phi, keep, True, std="sample"))
    add("lira_offline default (one-sided)", "lira_offline", {}, False, lira_scipy(t_phi, r_phi, keep, False))
    add("lira_offline two-sided global", "lira_offline", {"lira": {"offline_test": "two_sided", "variance": "global"}},
        False, lira_scipy(t_phi, r_phi, keep, False, variance="global", offline_test="two_sided"))
    # LiRA, the authors' code verbatim in structure.
    code = {"center": "median", "std": "reference_code", "offline_test": "two_sided"}
    add("lira_online authors' code", "lira_online", {"lira": code}, False,
        lira_authors_code(t_phi, r_phi, keep, True, False))
    add("lira_online authors' code fixed variance", "lira_online", {"lira": {**code, "variance": "global"}}, False,
        lira_authors_code(t_phi, r_phi, keep, True, True))
    add("lira_offline authors' code", "lira_offline", {"lira": code}, False,
        lira_authors_code(t_phi, r_phi, keep, False, False))
    add("lira_offline authors' code fixed variance", "lira_offline", {"lira": {**code, "variance": "global"}}, False,
        lira_authors_code(t_phi, r_phi, keep, False, True))

    # RMIA.
    for label, attack, cfg, online, gamma, a, strict in [
        ("rmia_online default", "rmia_online", {}, True, 2.0, 0.33, False),
        ("rmia_offline default", "rmia_offline", {}, False, 2.0, 0.33, False),
        ("rmia_online gamma 1 strict", "rmia_online", {"rmia": {"gamma": 1.0, "comparison": "greater"}}, True, 1.0,
         0.33, True),
        ("rmia_offline a 1 gamma 1.5", "rmia_offline", {"rmia": {"gamma": 1.5, "offline_a": 1.0}}, False, 1.5, 1.0,
         False),
        ("rmia_offline a 0 gamma 1", "rmia_offline", {"rmia": {"gamma": 1.0, "offline_a": 0.0}}, False, 1.0, 0.0,
         False),
    ]:
        s, lx, lz = rmia_brute(t_phi, r_phi, keep, pt_phi, pr_phi, online, gamma, a, strict)
        # Fragility check: no l(z) within 1e-12 of any threshold, so rounding cannot move a count.
        gap = np.min(np.abs(lz[None, :] - (lx - np.log(gamma))[:, None]))
        assert gap > 1e-12, f"{label}: a population l(z) lies {gap} from a threshold"
        add(label, attack, cfg, True, s)

    add("attack_p", "attack_p", {}, True, attack_p_np(t_phi, pt_phi))
    add("attack_r linear", "attack_r", {}, False, attack_r_np(t_phi, r_phi, keep, "linear"))
    add("attack_r none", "attack_r", {"attack_r": {"interpolation": "none"}}, True,
        attack_r_np(t_phi, r_phi, keep, "none"))
    add("difficulty_calibration", "difficulty_calibration", {}, False, difficulty_np(t_phi, r_phi, keep))
    add("shokri_shadow", "shokri_shadow", {}, False, shokri_np(t_logits, r_logits, keep, ya))

    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(
        OUT / "digits_reference.npz",
        target_phi=t_phi,
        reference_phi=r_phi,
        keep=keep,
        member=member,
        population_target_phi=pt_phi,
        population_reference_phi=pr_phi,
        target_logits=t_logits,
        reference_logits=r_logits,
        labels=ya.astype(np.int64),
        expected=np.stack([v[4] for v in variants]),
    )
    zs = [-1e5, -1e3, -40.0, -38.5, -20.0, -10.0, -5.0, -3.0, -2.0, -1.5, -1.4142135623730951, -1.0, -0.5, -1e-3,
          0.0, 1e-3, 0.5, 1.0, 1.4142135623730951, 2.0, 5.0, 8.0, 12.0]
    doc = {
        "generator": "scripts/reference_fixtures.py",
        "versions": VERSIONS,
        "data": (f"digits (data/digits/digits.csv.gz), seed {SEED}: N = {N} audit records, P = {P} population "
                 f"records; K = {K} LogisticRegression(C=100) reference models, keep mask with every record IN "
                 f"for exactly {K // 2}; target trained on a random half (member)"),
        "conventions": {
            "scores": "higher = more likely member; row i of `expected` in the npz is variants[i]",
            "phi": "z_y - logsumexp(z without y) from decision_function logits (float64)",
            "loss": "np.logaddexp(0, -phi)",
            "exact": "count-based scores (RMIA, Attack P, Attack R without interpolation) must match exactly",
            "auc": "sklearn.metrics.roc_auc_score(member, scores)",
            "lira": "scipy.stats.norm.logpdf / logcdf with numpy mean/median/std; authors' code variants follow "
                    "research/mi_lira_2021/plot.py (median, np.std + 1e-30, cut to the smallest IN/OUT count)",
            "rmia": "brute-force N x P comparison l(z) <= l(x) - ln(gamma) (strict < for 'greater'), "
                    "l = ln p_t - ln Pr with Pr a linear-space mean of expit(phi)",
            "attack_r": "linear: 1 - smallest alpha with np.quantile(OUT losses + [0, 1000], alpha) >= target loss "
                        "(bisection)",
            "shokri": "per-class Newton logistic regression (l2 = 1e-4, standardised features: top-3 sorted "
                      "softmax probabilities, min(loss, 50), clip(phi, +-50)) on reference outputs labelled by keep",
        },
        "variants": [
            {"label": label, "attack": attack, "config": cfg, "exact": exact, "auc": float(roc_auc_score(member, s))}
            for label, attack, cfg, exact, s in variants
        ],
        "log_ndtr": [{"z": z, "value": float(log_ndtr(z))} for z in zs],
    }
    (OUT / "expected.json").write_text(json.dumps(doc, indent=1) + "\n")
    for v in doc["variants"]:
        print(f"{v['label']:45s} AUC {v['auc']:.4f}")
    print("plain phi AUC", roc_auc_score(member, t_phi))
    print("target train acc", e.target.score(xa[member], ya[member]), "held-out acc", e.target.score(xa[~member], ya[~member]))


if __name__ == "__main__":
    main()
