"""Shared fixtures of the Python package's tests: the repository's bundled inputs, the `mia`
binary the reports are compared with, and small audit and synth configs that run in seconds.

The `mia` binary is $MIA_BIN, else <repo>/target/debug/mia, else <repo>/target/release/mia
(`cargo build -p mia-cli`). The expected values of the parity tests come from running that
binary on the same inputs: the package claims a report from Python is the report the command
writes, byte for byte.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Mapping

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
SCORES = ROOT / "fixtures" / "scores"
BYO = ROOT / "fixtures" / "byo"
ADULT = ROOT / "data" / "adult" / "adult.data.gz"
LOCATION = ROOT / "data" / "location" / "bangkok.csv.gz"

# UCI Adult has no header row; these are its columns (examples/adult_synth.toml).
ADULT_NAMES = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country", "income",
]
ADULT_NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]

# The report files `mia` writes into its output folder for every command.
REPORT_FILES = ["report.json", "records.csv", "report.html", "records.parquet"]


def _find_mia() -> Path:
    env = os.environ.get("MIA_BIN")
    if env:
        return Path(env)
    for profile in ("debug", "release"):
        p = ROOT / "target" / profile / "mia"
        if p.is_file():
            return p
    return ROOT / "target" / "debug" / "mia"


@pytest.fixture(scope="session")
def mia_bin() -> Path:
    path = _find_mia()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"the mia binary was not found at {path}: build it (cargo build -p mia-cli) or set MIA_BIN")
    return path


@pytest.fixture(scope="session")
def run_mia(mia_bin):
    """`run_mia(*args, expect=0)`: runs `mia ARGS -q` and checks its exit status."""

    def run(*args: Any, expect: int = 0, cwd: Any = None) -> subprocess.CompletedProcess:
        cmd = [str(mia_bin), *[str(a) for a in args], "-q"]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=600)
        assert done.returncode == expect, f"{cmd}: exit {done.returncode}, stderr: {done.stderr[-3000:]}"
        return done

    return run


# ------------------------------------------------------------------------------ helpers

def read_json(path: Path) -> Dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def without_inputs(report: Mapping[str, Any]) -> Dict[str, Any]:
    d = dict(report)
    d.pop("inputs")
    return d


def attack(report: Mapping[str, Any], name: str) -> Dict[str, Any]:
    found = [a for a in report["attacks"] if a["name"] == name]
    assert found, f"attack {name} missing; attacks: {[a['name'] for a in report['attacks']]}"
    return found[0]


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        assert math.isfinite(v)
        return repr(v)
    if isinstance(v, (str, os.PathLike)):
        return json.dumps(os.fspath(v))  # a TOML basic string is a JSON string for these values
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {v!r}")


def to_toml(cfg: Mapping[str, Any]) -> str:
    """A config dict (top-level keys and one level of tables) as TOML text, written here so
    the TOML file and the dict given to the package are the same config."""
    lines: List[str] = [f"{k} = {_toml_value(v)}" for k, v in cfg.items() if not isinstance(v, Mapping)]
    for k, v in cfg.items():
        if isinstance(v, Mapping):
            lines += ["", f"[{k}]"] + [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


def adult_data_section(path: Path = ADULT, header: bool = False) -> Dict[str, Any]:
    d: Dict[str, Any] = {"path": str(path), "format": "csv", "header": header}
    if not header:
        d["names"] = list(ADULT_NAMES)
    d.update(label="income", numeric=list(ADULT_NUMERIC), categorical="rest")
    return d


def small_audit_config(**data: Any) -> Dict[str, Any]:
    """A model audit that runs in about a second: UCI Adult (examples/adult_*.toml), 400 rows,
    4 reference models, logistic regression, 200 bootstrap resamples."""
    return {
        "seed": 3,
        "data": adult_data_section(**data),
        "plan": {"target": "train", "reference_models": 4, "max_rows": 400},
        "learner": {"kind": "logistic", "c": 100.0},
        "eval": {"bootstrap": 200, "fpr": [0.01, 0.1]},
    }


def small_synth_config(**data: Any) -> Dict[str, Any]:
    """examples/adult_synth.toml shrunk to 600 real rows and 200 bootstrap resamples."""
    return {
        "seed": 7,
        "data": adult_data_section(**data),
        "generator": {"kind": "copula"},
        "split": {"max_rows": 600, "member_fraction": 0.5, "reference_fraction": 0.5},
        "eval": {"bootstrap": 200},
    }


def assert_same_report_files(py_dir: Path, cli_dir: Path, names: List[str] = REPORT_FILES) -> None:
    for name in names:
        a, b = (Path(py_dir) / name).read_bytes(), (Path(cli_dir) / name).read_bytes()
        assert a == b, f"{name} differs from the command's ({len(a)} vs {len(b)} bytes)"


# ------------------------------------------------------------------------------ data

class Digits:
    """fixtures/scores/digits_logreg_*: a scikit-learn logistic regression's logits on the
    1,797 digits records, with their labels, membership and ids (scripts/make_fixtures.py)."""

    files = {k: SCORES / f"digits_logreg_{k}.npy" for k in ("logits", "labels", "member", "ids")}
    csv = SCORES / "digits_logreg.csv"

    def __init__(self) -> None:
        self.logits = np.load(self.files["logits"])
        self.labels = np.load(self.files["labels"])
        self.member = np.load(self.files["member"])
        self.ids = np.load(self.files["ids"])


@pytest.fixture(scope="session")
def digits() -> Digits:
    return Digits()


@pytest.fixture(scope="session")
def cli_digits(run_mia, tmp_path_factory) -> Path:
    """`mia score --logits --labels --member --ids` on the digits .npy files (default options)."""
    out = tmp_path_factory.mktemp("cli") / "digits"
    f = Digits.files
    run_mia("score", "--logits", f["logits"], "--labels", f["labels"], "--member", f["member"], "--ids", f["ids"],
            "-o", out)
    return out


@pytest.fixture(scope="session")
def cli_digits_csv(run_mia, tmp_path_factory) -> Path:
    """`mia score fixtures/scores/digits_logreg.csv` (default options)."""
    out = tmp_path_factory.mktemp("cli") / "digits_csv"
    run_mia("score", Digits.csv, "-o", out)
    return out
