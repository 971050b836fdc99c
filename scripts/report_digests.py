#!/usr/bin/env python3
"""Run every kind of audit the project ships on its bundled data and print a SHA-256 of each
report file, so that a change that is not meant to change results can be shown to keep every
report byte-identical.

    scripts/report_digests.py                  # print the digests (builds the release binary)
    scripts/report_digests.py --check          # compare with scripts/report_digests.txt, exit 1 on change
    scripts/report_digests.py --write          # record the current digests as the baseline
    MIA=path/to/mia scripts/report_digests.py  # use a binary built elsewhere (e.g. another revision)
    KEEP=DIR scripts/report_digests.py         # keep every case's report folder under DIR

The cases: the Location-30 demo, the Adult demo, the score fixtures (CSV, Parquet, npy arrays,
probabilities, rounded losses), every bring-your-own-reference variant of fixtures/byo, the
ONNX target, the built-in logistic learner on Adult, the synthetic-data example, the language-model
audits of the fortunes fixtures, a score audit with the blind check on features, and the Location-30
demo run as plan + two shards + merge. The training-command example runs too when python3 has scikit-learn (its numbers depend
on the installed scikit-learn, so it is reported but never part of the committed baseline).
Only files that hold results are hashed: report.json, records.csv, records.parquet,
report.html and plan.npz.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scripts" / "report_digests.txt"
REPORT_FILES = ["report.json", "records.csv", "records.parquet", "report.html", "plan.npz"]

ONNX_CONFIG = """seed = 3
[data]
path = "../../fixtures/onnx_audit/location_members.csv.gz"
label = "label"
member = "member"
numeric = "rest"
standardize = false

[target]
onnx = "../../fixtures/onnx_audit/mlp.onnx"

[plan]
reference_models = 0

[eval]
bootstrap = 200
"""

# The built-in logistic learner (L-BFGS) on Adult: target and four reference models.
LOGISTIC_CONFIG = """seed = 5
[data]
path = "../../data/adult/adult.data.gz"
format = "csv"
header = false
names = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
         "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
         "hours-per-week", "native-country", "income"]
label = "income"
numeric = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
categorical = "rest"

[plan]
reference_models = 4
max_rows = 3000

[learner]
kind = "logistic"
c = 0.5

[eval]
bootstrap = 200
"""


def cases(tmp: Path):
    """(name, [argument lists run in order], output folder) for every case."""
    score = "fixtures/scores"
    yield "demo_location", [["demo", "-q"]], "demo_location"
    yield "demo_adult", [["demo", "--dataset", "adult", "-q"]], "demo_adult"
    for name, args in [
        ("score_digits_csv", [f"{score}/digits_logreg.csv"]),
        ("score_digits_parquet", [f"{score}/digits_logreg.parquet"]),
        ("score_breast_cancer_probs", [f"{score}/breast_cancer_probs.csv"]),
        ("score_digits_loss_rounded", [f"{score}/digits_loss_rounded.csv"]),
        (
            "score_digits_npy",
            [
                "--logits", f"{score}/digits_logreg_logits.npy",
                "--labels", f"{score}/digits_logreg_labels.npy",
                "--member", f"{score}/digits_logreg_member.npy",
                "--ids", f"{score}/digits_logreg_ids.npy",
            ],
        ),
        ("score_digits_gate", [f"{score}/digits_logreg.csv", "--fail-if", "max.auc > 0.99", "--confidence", "0.9"]),
    ]:
        yield name, [["score", *args, "-q"]], name
    byo = json.loads((ROOT / "fixtures/byo/expected.json").read_text())
    for i, v in enumerate(byo["variants"]):
        name = f"byo_{i}"
        yield name, [["score", "fixtures/byo/scores.csv", *v["args"], "--bootstrap", "0", "-q"]], name
    # At a fixed place two levels below the root: the report records the paths it read.
    onnx = ROOT / "target" / "report_digests" / "onnx_audit.toml"
    onnx.parent.mkdir(parents=True, exist_ok=True)
    onnx.write_text(ONNX_CONFIG)
    yield "onnx_target", [["audit", "target/report_digests/onnx_audit.toml", "-q"]], "onnx_target"
    (onnx.parent / "adult_logistic.toml").write_text(LOGISTIC_CONFIG)
    yield "logistic_adult", [["audit", "target/report_digests/adult_logistic.toml", "-q"]], "logistic_adult"
    yield "synth_adult", [["synth", "examples/adult_synth.toml", "-q"]], "synth_adult"
    for split in ("random", "shifted"):
        yield f"llm_fortunes_{split}", [["llm", f"data/llm/fortunes_{split}.jsonl.gz", "-q"]], f"llm_fortunes_{split}"
    yield "score_digits_features", [["score", "fixtures/scores/digits_logreg.csv", "--features",
                                     "fixtures/scores/digits_features.npy", "-q"]], "score_digits_features"
    art = str(tmp / "artifacts")
    cfg = "examples/location_mlp.toml"
    yield "sharded_location", [
        ["plan", cfg, "--artifacts", art, "-q"],
        ["run", cfg, "--shard", "0/2", "--artifacts", art, "-q"],
        ["run", cfg, "--shard", "1/2", "--artifacts", art, "-q"],
        ["merge", cfg, "--artifacts", art, "-q"],
    ], "sharded_location"
    try:
        import sklearn  # noqa: F401

        yield "trainer_adult (local only)", [["audit", "examples/adult_trainer.toml", "-q"]], "trainer_adult"
    except ImportError:
        pass


def binary() -> str:
    if os.environ.get("MIA"):
        return os.environ["MIA"]
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "mia-cli"], cwd=ROOT, check=True)
    return str(ROOT / "target" / "release" / "mia")


def digests() -> list[str]:
    mia = binary()
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(os.environ.get("KEEP") or tmp)
        tmp.mkdir(parents=True, exist_ok=True)
        for name, runs, out in cases(tmp):
            dest = tmp / out
            for args in runs:
                # `run` writes no report; `plan` writes its listing beside the case's folder
                extra = {"run": [], "plan": ["-o", str(tmp / (out + "_plan"))]}.get(args[0], ["-o", str(dest)])
                r = subprocess.run([mia, *args, *extra], cwd=ROOT, capture_output=True, text=True)
                if r.returncode not in (0, 1):  # 1: a gate rule failed, still a report
                    sys.exit(f"{name}: mia {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
            for f in REPORT_FILES:
                p = dest / f
                if p.exists():
                    lines.append(f"{name} {f} {hashlib.sha256(p.read_bytes()).hexdigest()}")
    return lines


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    lines = digests()
    committed = [l for l in lines if "(local only)" not in l]
    if mode == "--write":
        BASELINE.write_text("\n".join(committed) + "\n")
        print(f"wrote {len(committed)} digests to {BASELINE.relative_to(ROOT)}")
    elif mode == "--check":
        want = BASELINE.read_text().splitlines()
        if want == committed:
            print(f"all {len(want)} report files byte-identical to {BASELINE.relative_to(ROOT)}")
            return
        changed = sorted(set(want) ^ set(committed))
        print("changed (- baseline, + now):")
        for l in changed:
            print(("- " if l in want else "+ ") + l)
        sys.exit(1)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
