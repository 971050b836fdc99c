"""`mia_audit.audit` and `mia_audit.synth`: the report of `mia audit` / `mia synth` for a
config given as a TOML path, as a dict, and with the data as a pandas DataFrame.

Expected values: the `mia` binary's report folder for the same config (conftest.run_mia).
The configs are examples/adult_*.toml shrunk to run in seconds (conftest.small_*_config)."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from conftest import (ADULT, ADULT_NAMES, REPORT_FILES, assert_same_report_files, read_json, small_audit_config,
                      small_synth_config, to_toml, without_inputs)

import mia_audit


@pytest.fixture(scope="module")
def adult_frame() -> pd.DataFrame:
    """The first 3,000 rows of UCI Adult as read by pandas (the configs subsample 400-600)."""
    return pd.read_csv(ADULT, header=None, names=ADULT_NAMES, nrows=3000)


# ------------------------------------------------------------------------------ audit


@pytest.fixture(scope="module")
def audit_run(run_mia, tmp_path_factory):
    """The small audit config as a TOML file, and `mia audit CONFIG -o cli`."""
    d = tmp_path_factory.mktemp("audit")
    (d / "small.toml").write_text(to_toml(small_audit_config()), encoding="utf-8")
    run_mia("audit", d / "small.toml", "-o", d / "cli")
    return d


def test_audit_path_is_byte_identical_to_the_command(audit_run, tmp_path):
    report = mia_audit.audit(audit_run / "small.toml")
    assert report.json_text == (audit_run / "cli" / "report.json").read_text(encoding="utf-8")
    assert report.json["command"] == "audit"
    assert report.json["inputs"][0]["path"] == str(ADULT)
    # 400 rows, 20 % population: 320 audit records, half of them the target's members.
    assert report.json["rows"]["members"] == 160
    assert {"lira_online", "rmia_online", "loss"} <= {a["name"] for a in report.json["attacks"]}
    # save() writes the command's report files, and the plan and encoding it keeps with them.
    report.save(tmp_path / "py")
    assert_same_report_files(tmp_path / "py", audit_run / "cli", REPORT_FILES + ["plan.npz", "encoding.json"])


def test_audit_dict_is_byte_identical_to_the_command(audit_run):
    # The same config as a dict (the TOML file was written from it).
    report = mia_audit.audit(small_audit_config())
    assert report.json_text == (audit_run / "cli" / "report.json").read_text(encoding="utf-8")


def test_audit_gate_matches_the_command_exit_code(run_mia, tmp_path):
    # `--fail-if 'max.auc > 0.2'` (every AUC is above it): the command exits 1; the package's
    # report says the same and raise_on_fail raises with the report.
    cfg = small_audit_config()
    (tmp_path / "c.toml").write_text(to_toml(cfg), encoding="utf-8")
    run_mia("audit", tmp_path / "c.toml", "--fail-if", "max.auc > 0.2", "-o", tmp_path / "cli", expect=1)
    report = mia_audit.audit(tmp_path / "c.toml", fail_if=["max.auc > 0.2"])
    assert report.json_text == (tmp_path / "cli" / "report.json").read_text(encoding="utf-8")
    assert not report.passed and report.failed_rules == ["max.auc > 0.2"]
    with pytest.raises(mia_audit.GateFailed) as e:
        mia_audit.audit(cfg, fail_if="max.auc > 0.2", raise_on_fail=True)
    assert e.value.report.json_text == report.json_text


def test_audit_dataframe_matches_the_command_on_its_csv(adult_frame, run_mia, tmp_path):
    # data=DataFrame: the frame is written as CSV with a header, so the expected report is the
    # command's on that same CSV (written here as the package writes it), but for the input's
    # name, which is "<DataFrame data>" with the same content hash.
    csv = tmp_path / "adult.csv"
    adult_frame.to_csv(csv, index=False)
    (tmp_path / "c.toml").write_text(to_toml(small_audit_config(path=csv, header=True)), encoding="utf-8")
    run_mia("audit", tmp_path / "c.toml", "-o", tmp_path / "cli")
    report = mia_audit.audit(small_audit_config(), data=adult_frame)
    cli = read_json(tmp_path / "cli" / "report.json")
    assert [i["path"] for i in report.json["inputs"]] == ["<DataFrame data>"]
    assert [i["sha256"] for i in report.json["inputs"]] == [i["sha256"] for i in cli["inputs"]]
    assert without_inputs(report.json) == without_inputs(cli)


def test_audit_artifacts_folder_resumes(tmp_path):
    # artifacts=: the models' outputs are kept; a second run reads them and gives the same report.
    first = mia_audit.audit(small_audit_config(), artifacts=tmp_path / "models")
    kept = sorted(p.name for p in (tmp_path / "models").rglob("*") if p.is_file())
    assert kept, "no model outputs were kept"
    events = []
    second = mia_audit.audit(small_audit_config(), artifacts=tmp_path / "models",
                             progress=lambda kind, a, b: events.append((kind, a, b)))
    assert second.json_text == first.json_text
    # The progress callback: ("planned", total, to_train) first; nothing left to train.
    planned = [e for e in events if e[0] == "planned"]
    assert planned and planned[0][1] == 5 and planned[0][2] == 0, events  # target + 4 reference models


def test_config_errors():
    cfg = small_audit_config()
    cfg["bogus_key"] = 1
    with pytest.raises(mia_audit.InputError, match="<config dict>: .*unknown field `bogus_key`") as e:
        mia_audit.audit(cfg)
    # No line and column: they would point into TOML the caller never wrote.
    assert str(e.value).startswith("<config dict>: unknown field"), str(e.value)
    cfg = small_audit_config()
    cfg["plan"]["bogus_plan"] = 1
    with pytest.raises(mia_audit.InputError, match="unknown field `bogus_plan`"):
        mia_audit.audit(cfg)
    cfg = small_audit_config()
    cfg["plan"]["reference_models"] = 3
    with pytest.raises(mia_audit.InputError, match="even"):
        mia_audit.audit(cfg)
    cfg = small_audit_config()
    cfg["eval"]["fpr"] = [float("inf")]
    with pytest.raises(mia_audit.InputError, match=r"eval\.fpr\[0\]: expected a finite number"):
        mia_audit.audit(cfg)
    with pytest.raises(mia_audit.InputError, match="cannot read"):
        mia_audit.audit("/nonexistent/audit.toml")
    synth = small_synth_config()
    synth["whatever"] = 1
    with pytest.raises(mia_audit.InputError, match="unknown field `whatever`"):
        mia_audit.synth(synth)
    with pytest.raises(TypeError):
        mia_audit.audit(42)


# ------------------------------------------------------------------------------ synth


@pytest.fixture(scope="module")
def synth_run(run_mia, tmp_path_factory):
    d = tmp_path_factory.mktemp("synth")
    (d / "synth.toml").write_text(to_toml(small_synth_config()), encoding="utf-8")
    run_mia("synth", d / "synth.toml", "-o", d / "cli")
    return d


def test_synth_path_and_dict_are_byte_identical_to_the_command(synth_run, tmp_path):
    report = mia_audit.synth(synth_run / "synth.toml")
    assert report.json_text == (synth_run / "cli" / "report.json").read_text(encoding="utf-8")
    assert report.json["command"] == "synth"
    assert {"dcr", "domias"} <= {a["name"] for a in report.json["attacks"]}
    report.save(tmp_path / "py")
    assert_same_report_files(tmp_path / "py", synth_run / "cli")
    as_dict = mia_audit.synth(copy.deepcopy(small_synth_config()))
    assert as_dict.json_text == report.json_text


def test_synth_dataframe_matches_the_command_on_its_csv(adult_frame, run_mia, tmp_path):
    # Expected: `mia synth` on the frame's CSV (header row, no `names`); the report names the
    # input "<DataFrame data>" and every other section is the command's.
    csv = tmp_path / "adult.csv"
    adult_frame.to_csv(csv, index=False)
    (tmp_path / "s.toml").write_text(to_toml(small_synth_config(path=csv, header=True)), encoding="utf-8")
    run_mia("synth", tmp_path / "s.toml", "-o", tmp_path / "cli")
    report = mia_audit.synth(small_synth_config(), data=adult_frame)
    cli = read_json(tmp_path / "cli" / "report.json")
    assert [i["path"] for i in report.json["inputs"]] == ["<DataFrame data>"]
    assert cli["inputs"][0]["path"] == str(csv)
    assert report.json["inputs"][0]["sha256"] == cli["inputs"][0]["sha256"]
    assert without_inputs(report.json) == without_inputs(cli)
