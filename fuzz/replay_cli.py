#!/usr/bin/env python3
"""Replays the fuzz corpora through the `mia` binary and counts exit codes outside 0-3.

The fuzz targets call the parsers in process; this checks the same inputs end to end, where
the CLI maps every outcome to an exit code (0 pass, 1 gate failed, 2 bad input, 3 internal
error; a panic is caught and reported as 3). Anything else - a crash by signal, an abort on
a failed allocation, a stack overflow, a hang past the time limit - is counted as "outside".
Exit code 3 is listed too: with these inputs it means a caught panic or an internal error.

    fuzz/replay_cli.py [--mia target/release/mia] [--limit N] [--timeout S] [TARGET...]

Inputs come from fuzz/seeds/TARGET and fuzz/corpus/TARGET. Each input runs in a fresh
private folder, with a minimal environment. Config inputs that name a command (a trainer or
generator program) are not replayed: the CLI would run that program.
"""

import argparse
import collections
import os
import shutil
import struct
import subprocess
import sys
import tempfile

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)
K, N, C, P = 4, 6, 3, 3


# ----------------------------------------------------------------------------- valid companions
# The same valid companion arrays and schemas as the fuzz targets (fuzz/src/lib.rs,
# fuzz/fuzz_targets/*.rs), so a corpus input meets the same neighbours.

def npy(descr, shape, data):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    while (10 + len(header) + 1) % 64:
        header += " "
    header += "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def f8(shape, values):
    return npy("<f8", shape, b"".join(struct.pack("<d", v) for v in values))


def i8(shape, values):
    return npy("<i8", shape, b"".join(struct.pack("<q", v) for v in values))


def b1(shape, values):
    return npy("|b1", shape, bytes(1 if v else 0 for v in values))


def value(i):
    return ((i * 7) % 11) * 0.7 - 3.0


def companions(d):
    keep = [k == n % K or k == (n + 1) % K for k in range(K) for n in range(N)]
    files = {
        # score_npy
        "valid_logits.npy": f8("(4, 2)", [0.5, -0.5, 1.0, 2.0, -1.0, 0.0, 3.0, 1.0]),
        "valid_probs.npy": f8("(4, 2)", [0.25, 0.75, 0.5, 0.5, 1.0, 0.0, 0.9, 0.1]),
        "valid_labels.npy": i8("(4,)", [0, 1, 1, 0]),
        "valid_member.npy": b1("(4,)", [True, False, True, False]),
        "valid_ids.npy": i8("(4,)", [10, 11, 12, 13]),
        # reference_npy
        "valid_phi.npy": f8("(%d, %d)" % (K, N), [value(i) for i in range(K * N)]),
        "valid_ref_logits.npy": f8("(%d, %d, %d)" % (K, N, C), [value(i) for i in range(K * N * C)]),
        "valid_keep.npy": b1("(%d, %d)" % (K, N), keep),
        "valid_pop_target_phi.npy": f8("(%d,)" % P, [value(i) for i in range(P)]),
        "valid_pop_reference_phi.npy": f8("(%d, %d)" % (K, P), [value(i) for i in range(K * P)]),
        "valid_pop_target_logits.npy": f8("(%d, %d)" % (P, C), [value(i) for i in range(P * C)]),
        "valid_pop_reference_logits.npy": f8("(%d, %d, %d)" % (K, P, C), [value(i) for i in range(K * P * C)]),
    }
    # The score table the reference targets align to (mia_fuzz::score_table).
    rows = ["id,member,label," + ",".join("logit_%d" % c for c in range(C))]
    for n in range(N):
        logits = ",".join(str(float((n * 3 + c * 5) % 7 - 3)) for c in range(C))
        rows.append("%d,%d,%d,%s" % (100 + n, 1 if n % 2 == 0 else 0, n % C, logits))
    files["scores.csv"] = ("\n".join(rows) + "\n").encode()
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def table_name(stem, data):
    if data.startswith(b"PAR1"):
        return stem + ".parquet"
    if data.startswith(b"\x1f\x8b"):
        return stem + ".csv.gz"
    return stem + ".csv"


ADULT_NUMERIC = '["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]'
# mia_fuzz::table_schemas, as [data] sections; the second is read leniently.
SCHEMAS = [
    ('id = "id"\nmember = "member"\nlabel = "income"\nnumeric = %s\ncategorical = "rest"\n'
     '[data.label_map]\n"<=50K." = "<=50K"\n">50K." = ">50K"\n' % ADULT_NUMERIC, False),
    ('id = "id"\nlabel = "income"\ncategorical = "rest"\n', True),
    ('header = false\ncomment = "|"\nlabel = "0"\nnumeric = "rest"\nstandardize = false\n', False),
]


# ----------------------------------------------------------------------------- commands per target

def score(*args):
    # Two folds: the small valid inputs (4 to 6 records) get past the fold check to the audit.
    return ["score", *args, "-o", "out", "-q", "--bootstrap", "0", "--folds", "2", "--threads", "1"]


def commands(target, data, d):
    """(files to write into the run folder, argument lists) for one corpus input."""
    if target in ("score_csv", "score_parquet"):
        if target == "score_csv" and data.startswith(b"PAR1"):
            return None
        name = "scores.parquet" if target == "score_parquet" else table_name("input", data)
        return {name: data}, [score(name), score(name, "--skip-invalid-rows")]
    if target == "score_npy":
        x = "input.npy"
        arr = lambda lg, pr, lb, mb, ids=None: (["--logits", lg] if lg else []) + (["--probs", pr] if pr else []) + \
            ["--labels", lb, "--member", mb] + (["--ids", ids] if ids else [])
        runs = [
            score(*arr(x, None, "valid_labels.npy", "valid_member.npy")),
            score(*arr(x, None, "valid_labels.npy", "valid_member.npy", "valid_ids.npy"), "--skip-invalid-rows"),
            score(*arr(None, x, "valid_labels.npy", "valid_member.npy")),
            score(*arr("valid_logits.npy", None, x, "valid_member.npy")),
            score(*arr(None, "valid_probs.npy", "valid_labels.npy", x), "--skip-invalid-rows"),
            score(*arr("valid_logits.npy", None, "valid_labels.npy", "valid_member.npy", x)),
        ]
        return {x: data}, runs
    if target in ("reference_npy", "reference_npz", "reference_table"):
        if target == "reference_npy":
            x = "input.npy"
            keep = ["--keep", "valid_keep.npy"]
            runs = [
                score("scores.csv", "--reference", x, *keep),
                score("scores.csv", "--reference", "valid_phi.npy", "--keep", x),
                score("scores.csv", "--reference", "valid_phi.npy", *keep, "--reference-ids", x),
                score("scores.csv", "--reference", "valid_phi.npy", *keep, "--population-target", x,
                      "--population-reference", "valid_pop_reference_phi.npy"),
                score("scores.csv", "--reference", "valid_phi.npy", *keep, "--population-target",
                      "valid_pop_target_phi.npy", "--population-reference", x),
                score("scores.csv", "--reference", "valid_ref_logits.npy", "--reference-signal", "logits", *keep,
                      "--population-target", "valid_pop_target_logits.npy", "--population-reference",
                      "valid_pop_reference_logits.npy", "--population-labels", x),
            ] + [score("scores.csv", "--reference", x, "--reference-signal", s, *keep) for s in ("loss", "logits", "probs")]
        else:
            x = "input.npz" if target == "reference_npz" else table_name("reference", data)
            other = "logits" if target == "reference_npz" else "loss"
            runs = [score("scores.csv", "--reference", x), score("scores.csv", "--reference", x, "--reference-signal", other)]
        return {x: data}, runs
    if target in ("table_csv", "table_parquet"):
        if target == "table_csv" and data.startswith(b"PAR1"):
            return None
        name = "table.parquet" if target == "table_parquet" else table_name("table", data)
        files, runs = {name: data}, []
        for i, (schema, lenient) in enumerate(SCHEMAS):
            cfg = "plan%d.toml" % i
            files[cfg] = ('[data]\npath = "%s"\n%s\n[plan]\nreference_models = 2\n[learner]\nkind = "logistic"\n[attacks]\nfolds = 2\n'
                          % (name, schema)).encode()
            runs.append(["plan", cfg, "-o", "out", "-q", "--threads", "1"] + (["--skip-invalid-rows"] if lenient else []))
        return files, runs
    if target in ("audit_config_toml", "synth_config_toml", "attack_config_toml"):
        if b"command" in data:
            return "skip"
        if target == "audit_config_toml":
            return {"audit.toml": data}, [["plan", "audit.toml", "-o", "out", "-q", "--threads", "1"]]
        if target == "synth_config_toml":
            return {"synth.toml": data}, [["synth", "synth.toml", "-o", "out", "-q", "--threads", "1"]]
        return {"attack.toml": data}, [score("scores.csv", "--reference", "valid_phi.npy", "--keep", "valid_keep.npy",
                                             "--attack-config", "attack.toml")]
    if target == "texts_jsonl":
        name = "texts.parquet" if data.startswith(b"PAR1") else "texts.jsonl"
        llm = ["llm", name, "-o", "out", "-q", "--bootstrap", "0", "--folds", "2", "--threads", "1"]
        return {name: data}, [llm, llm + ["--skip-invalid-rows"]]
    if target == "gate_expr":
        if b"\0" in data:
            return "skip"  # cannot be a command-line argument
        fixture = os.path.join(ROOT, "fixtures", "scores", "breast_cancer_probs.csv")
        return {}, [["score", fixture, "-o", "out", "-q", "--bootstrap", "50", "--threads", "1", "--fail-if", data]]
    if target == "onnx_model":
        members = os.path.join(ROOT, "fixtures", "onnx_audit", "location_members.csv.gz")
        cfg = ('seed = 3\n[data]\npath = "%s"\nlabel = "label"\nmember = "member"\nnumeric = "rest"\n'
               'standardize = false\n[target]\nonnx = "model.onnx"\n[plan]\nreference_models = 0\n'
               'population_fraction = 0\n[eval]\nbootstrap = 0\n' % members)
        return {"model.onnx": data, "audit.toml": cfg.encode()}, [["audit", "audit.toml", "-o", "out", "-q", "--threads", "1"]]
    raise SystemExit("unknown target " + target)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mia", default=None, help="the mia binary (default: target/release/mia, else target/debug/mia)")
    ap.add_argument("--limit", type=int, default=0, help="at most this many inputs per target (0: all)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per run before it counts as a hang")
    ap.add_argument("targets", nargs="*")
    a = ap.parse_args()
    mia = a.mia or next((p for p in (os.path.join(ROOT, "target", b, "mia") for b in ("release", "debug"))
                         if os.path.exists(p)), None)
    if not mia:
        raise SystemExit("no mia binary: cargo build --release -p mia-cli")
    mia = os.path.abspath(mia)
    targets = a.targets or sorted(f[:-3] for f in os.listdir(os.path.join(FUZZ, "fuzz_targets")))
    env = {"PATH": "/nonexistent", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    outside_total = 0
    print("%-20s %7s %7s %7s  %s" % ("target", "inputs", "skipped", "runs", "exit codes"))
    for t in targets:
        inputs = []
        for sub in ("seeds", "corpus"):
            d = os.path.join(FUZZ, sub, t)
            if os.path.isdir(d):
                inputs += sorted(os.path.join(d, f) for f in os.listdir(d))
        if a.limit:
            inputs = inputs[:: max(1, len(inputs) // a.limit)][: a.limit]
        codes, skipped, runs, bad = collections.Counter(), 0, 0, []
        for path in inputs:
            with open(path, "rb") as f:
                data = f.read()
            with tempfile.TemporaryDirectory(prefix="mia-replay-") as d:
                plan = commands(t, data, d)
                if plan is None or plan == "skip":
                    skipped += 1
                    continue
                files, arglists = plan
                companions(d)
                for name, content in files.items():
                    with open(os.path.join(d, name), "wb") as f:
                        f.write(content)
                for args in arglists:
                    runs += 1
                    try:
                        p = subprocess.run([mia, *args], cwd=d, env=env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.PIPE, timeout=a.timeout)
                        code = p.returncode
                    except subprocess.TimeoutExpired:
                        code = "timeout"
                    codes[code] += 1
                    if code not in (0, 1, 2):
                        bad.append((code, os.path.relpath(path, FUZZ), p.stderr[-300:] if code != "timeout" else b""))
                    shutil.rmtree(os.path.join(d, "out"), ignore_errors=True)
        outside = sum(n for c, n in codes.items() if c not in (0, 1, 2, 3))
        outside_total += outside
        shown = " ".join("%s:%d" % (c, n) for c, n in sorted(codes.items(), key=lambda x: str(x[0])))
        print("%-20s %7d %7d %7d  %s" % (t, len(inputs), skipped, runs, shown), flush=True)
        for code, path, err in bad[:10]:
            print("    exit %s: %s  %s" % (code, path, err.decode("utf-8", "replace").strip().replace("\n", " | ")[:300]))
    print("exits outside 0-3: %d" % outside_total)
    return 1 if outside_total else 0


if __name__ == "__main__":
    sys.exit(main())
