#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora to fuzz/seeds/<target>/ (Python standard library only).

Seeds are small valid inputs cut from the repository's fixtures, examples and data, plus the
bad-input cases of the crates' tests (crates/mia-cli/tests/bad_input.rs,
crates/mia-data/tests/tabular_errors.rs and the readers' unit tests) written as files.
Deterministic: running it again rewrites the same bytes. See FUZZING.md.
"""

import gzip
import io
import os
import re
import shutil
import struct
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")


def rel(*parts):
    return os.path.join(ROOT, *parts)


def put(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gz(data):
    if isinstance(data, str):
        data = data.encode()
    buf = io.BytesIO()
    # mtime=0: the same bytes on every run.
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as f:
        f.write(data)
    return buf.getvalue()


def head(path, lines, gzipped=False):
    opener = gzip.open if gzipped else open
    with opener(path, "rb") as f:
        return b"".join(f.readline() for _ in range(lines))


def read(path):
    with open(path, "rb") as f:
        return f.read()


# ----------------------------------------------------------------------------- .npy / .npz

def npy(descr, shape, data, fortran=False, version=1):
    """A .npy file; `shape` is the tuple text as numpy writes it."""
    header = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (
        descr if descr.startswith("[") else repr(descr), "True" if fortran else "False", shape)
    prefix = 10 if version == 1 else 12
    while (prefix + len(header) + 1) % 64:
        header += " "
    header += "\n"
    out = b"\x93NUMPY" + bytes([version, 0])
    out += struct.pack("<H" if version == 1 else "<I", len(header))
    return out + header.encode("latin1") + data


def shape_text(shape):
    return "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"


def count(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def f8(shape, f):
    return npy("<f8", shape_text(shape), b"".join(struct.pack("<d", f(i)) for i in range(count(shape))))


def f4(shape, f):
    return npy("<f4", shape_text(shape), b"".join(struct.pack("<f", f(i)) for i in range(count(shape))))


def i8(values, shape=None):
    shape = shape or (len(values),)
    return npy("<i8", shape_text(shape), b"".join(struct.pack("<q", v) for v in values))


def b1(values, shape=None):
    shape = shape or (len(values),)
    return npy("|b1", shape_text(shape), bytes(1 if v else 0 for v in values))


def npz(arrays, compressed=False):
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in arrays:
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)
    return buf.getvalue()


# ----------------------------------------------------------------------------- score tables

SCORE_HEAD = "id,member,label,logit_0,logit_1\n"


def score_csv(rows):
    return SCORE_HEAD + "".join(r + "\n" for r in rows)


def bad_input_parquet():
    """The small valid Parquet score table of crates/mia-cli/tests/bad_input.rs."""
    text = read(rel("crates", "mia-cli", "tests", "bad_input.rs")).decode()
    block = text[text.index("SMALL_PARQUET_HEX"):]
    block = block[:block.index(");")]
    return bytes.fromhex("".join(re.findall(r'"([0-9a-f]+)"', block)))


def score_seeds():
    t = "score_csv"
    put(t, "breast_cancer_probs.csv", head(rel("fixtures", "scores", "breast_cancer_probs.csv"), 20))
    put(t, "digits_loss_rounded.csv", head(rel("fixtures", "scores", "digits_loss_rounded.csv"), 20))
    put(t, "digits_logreg.csv", head(rel("fixtures", "scores", "digits_logreg.csv"), 8))
    put(t, "byo_scores.csv", head(rel("fixtures", "byo", "scores.csv"), 8))
    put(t, "location_mlp.csv.gz", gz(head(rel("data", "scores", "location_mlp.csv.gz"), 6, gzipped=True)))
    good = score_csv(["a,1,0,1,2", "b,0,1,0.5,-2", "c,1,1,3e-3,4", "d,0,0,-1,1"])
    put(t, "good.csv", good)
    put(t, "good.csv.gz", gz(good))
    put(t, "good_crlf.csv", good.replace("\n", "\r\n"))
    put(t, "quoted.csv", '"id","member","label","loss"\n"x,1",true,0,0.5\n"y""2",FALSE,1,1.5\n')
    put(t, "no_id_loss.csv", "member,loss\n1,0.1\n0,2.5\n1,0\n0,7\n")
    put(t, "probs.csv", "id,member,label,prob_0,prob_1,prob_2\n1,1,2,0.1,0.2,0.7\n2,0,0,1,0,0\n")
    bad = {
        "missing_column.csv": "id,label,logit_0,logit_1\na,0,1,2\n",
        "duplicate_column.csv": "id,member,label,logit_0,logit_1,label\na,1,0,1,2,0\n",
        "non_numeric.csv": score_csv(["a,1,0,1,2", "b,0,1,1,abc"]),
        "nan.csv": score_csv(["a,1,0,1,2", "b,0,1,NaN,2"]),
        "inf.csv": score_csv(["a,1,0,1,2", "b,0,1,1,2", "c,0,1,1,-inf"]),
        "label_out_of_range.csv": score_csv(["a,1,0,1,2", "b,0,2,1,2"]),
        "non_integer_label.csv": score_csv(["a,1,1.5,1,2"]),
        "member_2.csv": score_csv(["a,1,0,1,2", "b,0,1,1,2", "c,2,1,1,2"]),
        "no_members.csv": score_csv(["a,0,0,1,2", "b,0,1,1,2"]),
        "duplicate_ids.csv": score_csv(["a,1,0,1,2", "b,0,1,1,2", "a,0,1,1,2"]),
        "header_only.csv": SCORE_HEAD,
        "negative_probability.csv": "id,member,label,prob_0,prob_1\na,1,0,-0.2,1.2\n",
        "probabilities_not_1.csv": "id,member,label,prob_0,prob_1\na,1,0,0.5,0.5\nb,0,1,0.3,0.3\n",
        "ragged.csv": score_csv(["a,1,0,1,2", "b,0,1,1"]),
        "logit_gap.csv": "id,member,label,logit_0,logit_2\na,1,0,1,2\n",
        "bom.csv": "\ufeff" + good,
        "blank_lines.csv": SCORE_HEAD + "\n\na,1,0,1,2\r\n\r\nb,0,1,1,2\n",
    }
    for name, text in bad.items():
        put(t, name, text)
    put(t, "truncated.csv.gz", gz(good)[:30])

    t = "score_parquet"
    pq = bad_input_parquet()
    put(t, "small.parquet", pq)
    put(t, "truncated.parquet", pq[: len(pq) // 2])
    put(t, "footer_only.parquet", b"PAR1" + pq[-64:])


def score_npy_seeds():
    t = "score_npy"
    put(t, "logits_f8.npy", f8((4, 2), lambda i: i * 0.5 - 1))
    put(t, "logits_f4.npy", f4((4, 2), lambda i: i * 0.25))
    put(t, "probs_f8.npy", f8((4, 2), lambda i: 0.25 if i % 2 == 0 else 0.75))
    put(t, "labels_i8.npy", i8([0, 1, 1, 0]))
    put(t, "labels_i4.npy", npy("<i4", "(4,)", struct.pack("<4i", 0, 1, 1, 0)))
    put(t, "labels_u1.npy", npy("|u1", "(4,)", bytes([0, 1, 1, 0])))
    put(t, "member_b1.npy", b1([True, False, True, False]))
    put(t, "member_i8.npy", i8([1, 0, 1, 0]))
    put(t, "ids_i8.npy", i8([10, 11, 12, 13]))
    put(t, "big_endian.npy", npy(">f8", "(4, 2)", b"".join(struct.pack(">d", i) for i in range(8))))
    put(t, "fortran.npy", f8((4, 2), float).replace(b"False", b"True ", 1))
    put(t, "version2.npy", npy("<f8", "(4, 2)", b"".join(struct.pack("<d", i) for i in range(8)), version=2))
    put(t, "string_dtype.npy", npy("<U3", "(4, 2)", bytes(96)))
    put(t, "structured.npy", npy("[('a', '<f8'), ('b', '<i4')]", "(4,)", bytes(48)))
    put(t, "float_labels.npy", f8((4,), float))
    put(t, "one_d_logits.npy", f8((4,), float))
    put(t, "short_member.npy", b1([True, False, True]))
    put(t, "nan.npy", f8((4, 2), lambda i: float("nan") if i == 5 else 1.0))
    put(t, "duplicate_ids.npy", i8([1, 2, 3, 2]))
    put(t, "empty.npy", f8((0, 2), float))
    put(t, "truncated.npy", f8((4, 2), float)[:-5])
    put(t, "digits_logreg_member.npy", read(rel("fixtures", "scores", "digits_logreg_member.npy")))


# ----------------------------------------------------------------------------- reference inputs

K, N, C, P = 4, 6, 3, 3


def keep_values():
    return [k == n % K or k == (n + 1) % K for k in range(K) for n in range(N)]


def value(i):
    return ((i * 7) % 11) * 0.7 - 3.0


def reference_seeds():
    t = "reference_npy"
    put(t, "phi_f8.npy", f8((K, N), value))
    put(t, "phi_f4.npy", f4((K, N), value))
    put(t, "loss_f8.npy", f8((K, N), lambda i: abs(value(i))))
    put(t, "logits.npy", f8((K, N, C), value))
    put(t, "probs.npy", f8((K, N, C), lambda i: [0.2, 0.3, 0.5][i % 3]))
    put(t, "keep_b1.npy", b1(keep_values(), (K, N)))
    put(t, "keep_i8.npy", i8([int(v) for v in keep_values()], (K, N)))
    put(t, "keep_f8.npy", f8((K, N), lambda i: float(keep_values()[i])))
    put(t, "ids.npy", i8([105, 104, 103, 102, 101, 100, 99]))
    put(t, "pop_target.npy", f8((P,), value))
    put(t, "pop_reference.npy", f8((K, P), value))
    put(t, "pop_labels.npy", i8([0, 1, 2]))
    put(t, "keep_all_in.npy", b1([True] * (K * N), (K, N)))
    put(t, "byo_keep.npy", read(rel("fixtures", "byo", "keep.npy")))
    put(t, "byo_population_target_phi.npy", read(rel("fixtures", "byo", "population_target_phi.npy")))

    t = "reference_npz"
    keep = b1(keep_values(), (K, N))
    put(t, "phi_keep.npz", npz([("phi", f8((K, N), value)), ("keep", keep)]))
    put(t, "phi_keep_ids.npz", npz([("phi", f8((K, N), value)), ("keep", keep), ("ids", i8(list(range(100, 106))))]))
    put(t, "loss_keep.npz", npz([("loss", f8((K, N), lambda i: abs(value(i)))), ("keep", keep)]))
    put(t, "logits_population.npz", npz([
        ("logits", f8((K, N, C), value)), ("keep", keep),
        ("population_target", f8((P, C), value)), ("population_reference", f8((K, P, C), value)),
        ("population_labels", i8([0, 1, 2])),
    ]))
    put(t, "probs_keep.npz", npz([("probs", f8((K, N, C), lambda i: [0.2, 0.3, 0.5][i % 3])), ("keep", keep)]))
    put(t, "compressed.npz", npz([("phi", f8((K, N), value)), ("keep", keep)], compressed=True))
    put(t, "two_signals.npz", npz([("phi", f8((K, N), value)), ("loss", f8((K, N), value)), ("keep", keep)]))
    put(t, "byo_compressed.npz", read(rel("fixtures", "byo", "compressed.npz")))

    t = "reference_table"
    header = "id," + ",".join("phi_%d" % k for k in range(K)) + "," + ",".join("keep_%d" % k for k in range(K))
    kv = keep_values()
    rows = []
    for n in range(N):
        phis = ",".join(repr(value(k * N + n)) for k in range(K))
        keeps = ",".join("1" if kv[k * N + n] else "0" for k in range(K))
        rows.append("%d,%s,%s" % (100 + n, phis, keeps))
    wide = header + "\n" + "\n".join(rows) + "\n"
    put(t, "wide.csv", wide)
    put(t, "wide.csv.gz", gz(wide))
    put(t, "wide_loss.csv", wide.replace("phi_", "loss_").replace("-", ""))
    put(t, "wide_text_flags.csv", wide.replace(",1", ",true").replace(",0\n", ",false\n"))
    put(t, "wide_no_id.csv", "\n".join(line.split(",", 1)[1] for line in wide.splitlines()) + "\n")
    put(t, "wide_bad_keep.csv", wide.replace(",1\n", ",2\n", 1))
    put(t, "byo_reference_wide.csv", head(rel("fixtures", "byo", "reference_wide.csv"), 8))
    put(t, "byo_reference_wide.parquet", read(rel("fixtures", "byo", "reference_wide.parquet")))


# ----------------------------------------------------------------------------- [data] tables

ADULT_HEADER = ("id,member,age,workclass,fnlwgt,education,education-num,marital-status,occupation,"
                "relationship,race,sex,capital-gain,capital-loss,hours-per-week,native-country,income")


def table_seeds():
    t = "table_csv"
    sample = head(rel("fixtures", "tabular", "adult_sample.csv"), 12).decode()
    put(t, "adult_sample.csv", sample)
    put(t, "adult_sample.csv.gz", gz(sample))
    put(t, "adult_data.csv", head(rel("data", "adult", "adult.data.gz"), 8, gzipped=True))
    put(t, "adult_test.csv", head(rel("data", "adult", "adult.test.gz"), 6, gzipped=True))
    location = head(rel("data", "location", "bangkok.csv.gz"), 4, gzipped=True)
    put(t, "location.csv", location)
    put(t, "location.csv.gz", gz(location))
    put(t, "location_short.csv", "1,0,0,1,0.5\n2,1,0,0,0\n# comment-like\n|skipped\n1,0,1,1,1\n")
    lines = sample.splitlines()
    rows = lines[1:]
    bad = {
        "missing_values.csv": "\n".join([lines[0]] + [r.replace("State-gov", "?").replace(",40,", ",NA,") for r in rows]),
        "bad_number.csv": "\n".join([lines[0], rows[0].replace(",39,", ",3x9,")] + rows[1:]),
        "inf.csv": "\n".join([lines[0], rows[0].replace(",39,", ",inf,")] + rows[1:]),
        "bad_member.csv": "\n".join([lines[0], rows[0].replace(",0,39,", ",yes,39,")] + rows[1:]),
        "duplicate_ids.csv": "\n".join([lines[0]] + rows + [rows[0]]),
        "ragged.csv": "\n".join([lines[0], rows[0].rsplit(",", 1)[0]] + rows[1:]),
        "one_class.csv": "\n".join([lines[0]] + [r for r in rows if r.endswith("<=50K")]),
        "label_map.csv": "\n".join([lines[0]] + [r + "." for r in rows]),
        "header_only.csv": lines[0] + "\n",
        "unknown_column.csv": lines[0].replace("income", "salary") + "\n" + "\n".join(rows),
        "duplicate_column.csv": lines[0].replace("race", "age") + "\n" + "\n".join(rows),
        "crlf.csv": "\r\n".join(lines) + "\r\n",
        "quoted.csv": lines[0] + "\n" + '"a,1",1,39,"State-gov",1,"Bach""elors",13,x,y,z,w,Male,0,0,40,US,>50K\n' + rows[0],
    }
    for name, text in bad.items():
        put(t, name, text)

    t = "table_parquet"
    put(t, "adult_sample.parquet", read(rel("fixtures", "tabular", "adult_sample.parquet")))
    pq = read(rel("fixtures", "tabular", "adult_sample.parquet"))
    put(t, "adult_sample_truncated.parquet", pq[: len(pq) // 2] + b"PAR1")
    put(t, "small_scores.parquet", bad_input_parquet())


# ----------------------------------------------------------------------------- configs, gate, ONNX

def config_seeds():
    t = "audit_config_toml"
    for name in ["location_mlp.toml", "adult_gbt.toml", "adult_trainer.toml"]:
        put(t, name, read(rel("examples", name)))
    put(t, "onnx_target.toml", """seed = 3
[data]
path = "members.csv.gz"
header = false
label = "0"
member = "1"
numeric = "rest"
[target]
onnx = "mlp.onnx"
[plan]
reference_models = 0
[attacks]
run = ["loss", "phi"]
[eval]
bootstrap = 0
fpr = [1e-3, 0.01]
base_rates = [0.5]
[report]
fail_if = ["max.auc > 0.9"]
top = 3
""")
    put(t, "unknown_key.toml", "seed = 1\n[data]\npath = \"x.csv\"\nlabel = \"y\"\nnumeric = \"rest\"\n[learner]\nkind = \"mlp\"\nhiden = [3]\n")
    put(t, "odd_models.toml", "[data]\npath = \"x.csv\"\nlabel = \"y\"\nnumeric = \"rest\"\n[plan]\nreference_models = 3\ntarget_fraction = 1.5\n[learner]\nkind = \"logistic\"\n")
    put(t, "trainer.toml", "[data]\npath = \"x.csv\"\nlabel = \"y\"\ncategorical = \"rest\"\n[trainer]\ncommand = [\"python\", \"train.py\", \"{train}\", \"{model}\"]\n")

    t = "synth_config_toml"
    put(t, "adult_synth.toml", read(rel("examples", "adult_synth.toml")))
    put(t, "release.toml", """seed = 1
[data]
path = "real.csv"
label = "income"
member = "in_training"
categorical = "rest"
[release]
synthetic = ["synthetic.csv", "synthetic2.csv"]
holdout = "holdout.csv"
[attacks]
run = ["dcr", "domias"]
""")
    put(t, "command.toml", "[data]\npath = \"r.csv\"\nlabel = \"y\"\nnumeric = \"rest\"\n[generator]\nkind = \"command\"\ncommand = [\"gen\", \"{train}\", \"{out}\"]\n")

    t = "attack_config_toml"
    put(t, "byo_attack.toml", read(rel("fixtures", "byo", "attack.toml")))
    put(t, "all_sections.toml", "[lira]\ncenter = \"mean\"\nvariance = \"per-example\"\n[rmia]\ngamma = 2.0\noffline_a = 0.33\n[attack_r]\n[shokri]\n")
    put(t, "unknown.toml", "[lira]\ncentre = \"median\"\n")


def gate_seeds():
    t = "gate_expr"
    rules = [
        "max.tpr@0.001 > 0.05", "max.auc.lo > 0.6", "loss.auc > 0.5", "eps_lower_bound > 1",
        "eps_lower_bound.hi >= 2", "max.eps_lower_bound <= 3", "phi.advantage != 0",
        "max.balanced_accuracy <= .5", "max.tpr@1e-3>5.", "max.tpr@0.1.hi == 1", "loss.tpr@0.01 < -1e-2",
        "max.auc", "max.auc >", "auc > 0.5", "max.auc >> 1", "max.tpr@abc > 1", "max.tpr@0.5 > 0.1",
        "nosuch.auc > 0.5", "max.auc.mid > 0.5", "max.auc > nan", "max.auc > 1e999",
    ]
    for i, r in enumerate(rules):
        put(t, "rule_%02d" % i, r)


def onnx_seeds():
    t = "onnx_model"
    d = rel("fixtures", "onnx")
    for name in sorted(os.listdir(d)):
        path = os.path.join(d, name)
        # The large models add little the small ones do not have and slow every run.
        if name.endswith(".onnx") and os.path.getsize(path) <= 40_000:
            put(t, name, read(path))


# ----------------------------------------------------------------------------- texts (mia llm)

def texts_seeds():
    t = "texts_jsonl"
    d = rel("fixtures", "llm_parquet")
    put(t, "texts_head.jsonl", head(os.path.join(d, "texts.jsonl"), 3))
    # The JSON Lines reader's unit-test cases (crates/mia-data/src/texts.rs).
    cases = {
        "not_json.jsonl": '{"member": 1, "logprobs": [-1]}\nnot json\n',
        "positive.jsonl": '{"member": 1, "logprobs": [-1, 0.5]}\n{"member": 0, "logprobs": [-2]}\n',
        "mean_length.jsonl": '{"member": 1, "logprobs": [-1, -2], "mean": [0], "std": [1, 2]}\n',
        "shape.jsonl": '{"member": 1, "logprobs": [-1], "text": "a"}\n{"member": 0, "logprobs": [-1]}\n',
        "duplicate_id.jsonl": '{"id": 1, "member": 1, "logprobs": [-1]}\n\n{"id": 1, "member": 0, "logprobs": [-1]}\n',
    }
    for name, text in cases.items():
        put(t, name, text)
    # Parquet (read as .parquet by the target): float32 and large lists, integer ids and
    # members; a positive log-probability on row 3; log-probabilities as strings; truncated.
    for name in ["texts_f32.parquet", "bad_value.parquet", "bad_types.parquet"]:
        put(t, name, read(os.path.join(d, name)))
    pq = read(os.path.join(d, "bad_value.parquet"))
    put(t, "bad_value_truncated.parquet", pq[: len(pq) // 2] + b"PAR1")


def main():
    if os.path.isdir(SEEDS):
        shutil.rmtree(SEEDS)
    score_seeds()
    score_npy_seeds()
    reference_seeds()
    table_seeds()
    config_seeds()
    gate_seeds()
    onnx_seeds()
    texts_seeds()
    for t in sorted(os.listdir(SEEDS)):
        files = os.listdir(os.path.join(SEEDS, t))
        size = sum(os.path.getsize(os.path.join(SEEDS, t, f)) for f in files)
        print("%-20s %3d seeds %8d bytes" % (t, len(files), size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
