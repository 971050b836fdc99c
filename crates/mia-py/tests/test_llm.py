"""`mia_audit.llm`: the same report as `mia llm` on the bundled fortunes fixture, its options
(Min-K%'s k, the blind check, the gate), and the one-line InputError for bad input; and the
blind check of `mia_audit.score(features=...)` against `mia score --features`.

Expected values: the parity test compares with the `mia` binary run on the same file
(conftest.run_mia); the error tests with the messages the library writes (mia-data's texts
reader)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT, assert_same_report_files, attack

import mia_audit

FORTUNES = ROOT / "data" / "llm" / "fortunes_random.jsonl.gz"


def test_same_report_files_as_the_command(run_mia, tmp_path):
    # Expected: the report folder `mia llm` writes for the same file and settings.
    run_mia("llm", FORTUNES, "-o", tmp_path / "cli", "--bootstrap", "200", "--min-k", "0.1")
    report = mia_audit.llm(FORTUNES, bootstrap=200, min_k=0.1)
    assert report.json_text == (tmp_path / "cli" / "report.json").read_text(encoding="utf-8")
    report.save(tmp_path / "py")
    assert_same_report_files(tmp_path / "py", tmp_path / "cli")
    assert report.json["llm"]["min_k"] == 0.1
    assert report.json["blind"]["data"] == "texts"


def test_options_and_gate(tmp_path):
    report = mia_audit.llm(FORTUNES, bootstrap=0, attacks=["loss", "min_k"], blind=False, fail_if="loss.auc > 0.5")
    assert [a["name"] for a in report.json["attacks"]] == ["loss", "min_k"]
    assert "blind" not in report.json
    assert report.passed == (attack(report.json, "loss")["auc"]["value"] <= 0.5)
    with pytest.raises(mia_audit.GateFailed):
        mia_audit.llm(FORTUNES, bootstrap=0, attacks=["loss"], fail_if=["loss.auc > 0.0"], raise_on_fail=True)


def test_bad_input_is_one_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    lines = [{"id": i, "member": i % 2, "logprobs": [-1.0, -2.0]} for i in range(6)]
    lines[3]["logprobs"] = [-1.0, 0.5]
    bad.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    with pytest.raises(mia_audit.InputError, match=r'bad\.jsonl: line 4, field "logprobs"') as e:
        mia_audit.llm(bad)
    assert "\n" not in str(e.value)
    with pytest.raises(mia_audit.InputError, match="does not apply to a language-model audit"):
        mia_audit.llm(FORTUNES, slices=["none"])
    with pytest.raises(mia_audit.InputError, match="min_k must be in"):
        mia_audit.llm(FORTUNES, min_k=1.5)
    # Skipped texts are counted, not lost.
    report = mia_audit.llm(bad, bootstrap=0, skip_invalid_rows=True, folds=2)
    assert report.json["rows"]["read"] == 6 and report.json["rows"]["kept"] == 5


def test_score_features_run_the_blind_check_as_the_command(run_mia, tmp_path):
    # Expected: `mia score --logits ... --features digits_features.npy` on the same files; the
    # array form gives the same report but for the inputs it cannot list.
    from conftest import SCORES, Digits

    f = Digits.files
    features = SCORES / "digits_features.npy"
    run_mia("score", "--logits", f["logits"], "--labels", f["labels"], "--member", f["member"], "--ids", f["ids"],
            "--features", features, "--bootstrap", "100", "-o", tmp_path / "cli")
    cli = json.loads((tmp_path / "cli" / "report.json").read_text(encoding="utf-8"))
    by_path = mia_audit.score(str(f["member"]), logits=str(f["logits"]), labels=f["labels"], ids=f["ids"],
                              features=str(features), bootstrap=100)
    assert by_path.json_text == (tmp_path / "cli" / "report.json").read_text(encoding="utf-8")
    d = Digits()
    by_array = mia_audit.score(d.member, logits=d.logits, labels=d.labels, ids=d.ids, features=np.load(features),
                               bootstrap=100)
    assert by_array.json["blind"] == cli["blind"]
    assert cli["blind"]["distinguishable"] is False
    with pytest.raises(mia_audit.InputError, match=r'array "features": row 2, column 0: expected a finite number'):
        bad = np.load(features)
        bad[1, 0] = np.nan
        mia_audit.score(d.member, logits=d.logits, labels=d.labels, features=bad, bootstrap=0)
