"""`mia_audit.score` and `score_file`: the same report as `mia score` for every input form,
AUC and TPR@FPR against scikit-learn, the one-line InputError for bad input (never a panic),
the gate, and the Report API.

Expected values: the parity tests compare with the `mia` binary run on the same files
(conftest.run_mia); the cross-checks with sklearn.metrics computed here from the same
logits; the error tests with the messages the library writes (mia-data's validation)."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import BYO, Digits, assert_same_report_files, attack, read_json, without_inputs

import mia_audit

# ------------------------------------------------------------------------------ parity with `mia score`


def test_path_form_is_byte_identical_to_the_command(digits, cli_digits, tmp_path):
    # Expected: report.json of `mia score --logits --labels --member --ids` on the same files.
    f = Digits.files
    report = mia_audit.score(str(f["member"]), logits=str(f["logits"]), labels=f["labels"], ids=f["ids"])
    assert report.json_text == (cli_digits / "report.json").read_text(encoding="utf-8")
    # The files are the report's inputs, as the command records them.
    assert [i["path"] for i in report.json["inputs"]] == [str(f[k]) for k in ("logits", "labels", "member", "ids")]
    # save() writes the command's files byte for byte.
    report.save(tmp_path / "py")
    assert_same_report_files(tmp_path / "py", cli_digits)


def test_array_form_matches_the_command_except_inputs(digits, cli_digits):
    # Expected: the command's report on the .npy files these arrays were loaded from; arrays
    # in memory have no files, so the report's inputs list is empty.
    report = mia_audit.score(digits.member, logits=digits.logits, labels=digits.labels, ids=digits.ids)
    cli = read_json(cli_digits / "report.json")
    assert report.json["inputs"] == []
    assert cli["inputs"] != []
    assert without_inputs(report.json) == without_inputs(cli)
    # Every other byte is the command's too: the JSON text with the inputs list emptied.
    cli_text = (cli_digits / "report.json").read_text(encoding="utf-8")
    emptied = re.sub(r'"inputs": \[.*?\n  \]', '"inputs": []', cli_text, count=1, flags=re.S)
    assert report.json_text == emptied
    assert report._native.records_csv() == (cli_digits / "records.csv").read_text(encoding="utf-8")


def test_score_file_is_byte_identical_to_the_command(cli_digits_csv, tmp_path):
    # Expected: `mia score fixtures/scores/digits_logreg.csv`.
    report = mia_audit.score_file(Digits.csv)
    assert report.json_text == (cli_digits_csv / "report.json").read_text(encoding="utf-8")
    report.save(tmp_path / "py")
    assert_same_report_files(tmp_path / "py", cli_digits_csv)


def test_score_file_with_renamed_columns(run_mia, tmp_path):
    # Expected: `mia score FILE --member-col in_train --label-col y` on a copy of the CSV with
    # those column names.
    df = pd.read_csv(Digits.csv).rename(columns={"member": "in_train", "label": "y"})
    path = tmp_path / "renamed.csv"
    df.to_csv(path, index=False)
    run_mia("score", path, "--member-col", "in_train", "--label-col", "y", "--bootstrap", "100", "-o", tmp_path / "cli")
    report = mia_audit.score_file(path, columns={"member": "in_train", "label": "y"}, bootstrap=100)
    assert report.json_text == (tmp_path / "cli" / "report.json").read_text(encoding="utf-8")


def _byo_scores():
    # round_trip: the exact doubles of the text, as the command reads them (pandas' default
    # C parser may be one ulp off, and is on the pandas that Python 3.9 and 3.10 get).
    df = pd.read_csv(BYO / "scores.csv", float_precision="round_trip")
    return df, df.filter(like="logit_").to_numpy()


def test_reference_arrays_match_the_command_with_the_same_files(run_mia, tmp_path):
    # Expected: `mia score fixtures/byo/scores.csv --reference reference_logits.npy --keep
    # keep.npy --population-*` (fixtures/byo, K = 8 real reference models); the arrays are
    # those files loaded with numpy, so only the report's inputs differ.
    ref_args = {
        "reference": BYO / "reference_logits.npy", "keep": BYO / "keep.npy",
        "population_target": BYO / "population_target_phi.npy",
        "population_reference": BYO / "population_reference_phi.npy",
    }
    cli_dir = tmp_path / "cli"
    args = [x for k, v in ref_args.items() for x in (f"--{k.replace('_', '-')}", v)]
    run_mia("score", BYO / "scores.csv", *args, "--reference-signal", "logits", "--bootstrap", "200", "-o", cli_dir)
    df, logits = _byo_scores()
    report = mia_audit.score(
        df["member"].to_numpy(), logits=logits, labels=df["label"].to_numpy(), ids=df["id"].to_numpy(),
        reference_signal="logits", bootstrap=200, **{k: np.load(v) for k, v in ref_args.items()},
    )
    cli = read_json(cli_dir / "report.json")
    assert report.json["inputs"] == []
    assert without_inputs(report.json) == without_inputs(cli)
    names = [a["name"] for a in report.json["attacks"]]
    assert {"lira_online", "lira_offline", "rmia_online", "attack_p"} <= set(names)
    assert report._native.records_csv() == (cli_dir / "records.csv").read_text(encoding="utf-8")


def test_reference_npz_bundle_through_score_file_is_byte_identical(run_mia, tmp_path):
    # Expected: `mia score scores.csv --reference perm.npz` (ids in the bundle, records in
    # another order: alignment by id) gives the same report.json as score_file(reference=).
    run_mia("score", BYO / "scores.csv", "--reference", BYO / "perm.npz", "--bootstrap", "100", "-o", tmp_path / "cli")
    report = mia_audit.score_file(BYO / "scores.csv", reference=BYO / "perm.npz", bootstrap=100)
    assert report.json_text == (tmp_path / "cli" / "report.json").read_text(encoding="utf-8")
    assert "lira_online" in [a["name"] for a in report.json["attacks"]]


def test_reference_npz_arrays_match_the_command_with_the_bundle(run_mia, tmp_path):
    # Expected: `mia score scores.csv --reference run.npz` (phi, keep, population_* in one
    # bundle); the arrays are the bundle's, loaded with numpy.
    run_mia("score", BYO / "scores.csv", "--reference", BYO / "run.npz", "--bootstrap", "100", "-o", tmp_path / "cli")
    bundle = np.load(BYO / "run.npz")
    df, logits = _byo_scores()
    report = mia_audit.score(
        df["member"].to_numpy(), logits=logits, labels=df["label"].to_numpy(), ids=df["id"].to_numpy(),
        reference=bundle["phi"], keep=bundle["keep"], population_target=bundle["population_target"],
        population_reference=bundle["population_reference"], bootstrap=100,
    )
    assert report.json["inputs"] == []
    assert without_inputs(report.json) == without_inputs(read_json(tmp_path / "cli" / "report.json"))
    assert "rmia_online" in [a["name"] for a in report.json["attacks"]]


def test_float32_logits_match_the_command_on_a_float32_file(digits, run_mia, tmp_path):
    # Expected: the command on the same float32 values saved as .npy; and the float64 array of
    # the same values (float32 -> float64 is exact), so float32 is read without rounding.
    l32 = digits.logits.astype(np.float32)
    np.save(tmp_path / "l32.npy", l32)
    f = Digits.files
    run_mia("score", "--logits", tmp_path / "l32.npy", "--labels", f["labels"], "--member", f["member"],
            "--bootstrap", "100", "-o", tmp_path / "cli")
    report = mia_audit.score(digits.member, logits=l32, labels=digits.labels, bootstrap=100)
    assert without_inputs(report.json) == without_inputs(read_json(tmp_path / "cli" / "report.json"))
    as64 = mia_audit.score(digits.member, logits=l32.astype(np.float64), labels=digits.labels, bootstrap=100)
    assert report.json_text == as64.json_text


def test_pandas_and_list_inputs(digits):
    # A pandas Series of bools as member, a DataFrame as logits and a list of str ids give the
    # report of the numpy arrays (expected: the array form with integer ids); the ids come
    # back as given.
    ids = [f"rec-{i}" for i in digits.ids]
    report = mia_audit.score(pd.Series(digits.member.astype(bool)), logits=pd.DataFrame(digits.logits),
                             labels=pd.Series(digits.labels), ids=ids, bootstrap=100)
    base = mia_audit.score(digits.member, logits=digits.logits, labels=digits.labels, ids=digits.ids, bootstrap=100)
    assert report.json_text == base.json_text
    assert report.records()["id"].tolist() == ids


# ------------------------------------------------------------------------------ scikit-learn


def _loss(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cross-entropy at the label: −log_softmax(z)[y], in float64 with a stable logsumexp."""
    z = logits - logits.max(axis=1, keepdims=True)
    return np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(labels)), labels]


def _sklearn_tpr_at(member, score, targets, strict=False):
    """TPR at each FPR target from roc_curve(drop_intermediate=False): the largest TPR among
    thresholds with FPR <= target (mia-core roc.rs, FprRule::AtMost; < with strict)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(member, score, drop_intermediate=False)
    return [tpr[(fpr < t) if strict else (fpr <= t)].max() for t in targets]


FPRS = [1e-3, 1e-2, 0.05, 0.1, 0.25, 0.5]


@pytest.mark.parametrize("source", ["digits", "byo"])
def test_loss_attack_matches_sklearn(digits, source):
    # Expected: sklearn.metrics.roc_auc_score(member, -loss) and roc_curve, with the loss
    # computed here from the same logits.
    from sklearn.metrics import roc_auc_score

    if source == "digits":
        member, logits, labels = digits.member, digits.logits, digits.labels
    else:
        df, logits = _byo_scores()
        member, labels = df["member"].to_numpy().astype(bool), df["label"].to_numpy()
    report = mia_audit.score(member, logits=logits, labels=labels, bootstrap=0, fpr=FPRS, attacks=["loss"])
    loss = _loss(logits, labels)
    a = attack(report.json, "loss")
    assert abs(a["auc"]["value"] - roc_auc_score(member, -loss)) <= 1e-12
    want = _sklearn_tpr_at(member, -loss, FPRS)
    got = [t["tpr"] for t in a["tpr_at_fpr"]]
    assert [t["fpr"] for t in a["tpr_at_fpr"]] == FPRS
    assert np.allclose(got, want, rtol=0, atol=1e-12), (got, want)
    # The per-record score is −loss.
    assert np.allclose(report.records()["loss_score"].to_numpy(), -loss, rtol=0, atol=1e-9)


def test_tpr_at_fpr_with_ties_matches_sklearn(digits):
    # Losses with ties (digits' losses rounded to one decimal in log space: 120 distinct
    # values for 1,797 records), where the threshold rule matters at targets an FPR reaches
    # exactly (k / n_non_members). Expected: sklearn's roc_auc_score and roc_curve on the same
    # losses, FPR <= target (at_most, the default) or FPR < target (strict).
    from sklearn.metrics import roc_auc_score

    member = digits.member
    loss = np.exp(np.round(np.log(_loss(digits.logits, digits.labels)), 1))
    assert len(np.unique(loss)) < len(loss) / 10
    n_neg = int((~member).sum())
    targets = [0.01, 0.05, 0.1, 0.25, 0.5] + [k / n_neg for k in (3, 50, 200)]
    got = {}
    for rule in ("at_most", "strict"):
        report = mia_audit.score(member, loss=loss, bootstrap=0, fpr=targets, fpr_rule=rule, attacks=["loss"])
        a = attack(report.json, "loss")
        assert abs(a["auc"]["value"] - roc_auc_score(member, -loss)) <= 1e-12
        got[rule] = [t["tpr"] for t in a["tpr_at_fpr"]]
        want = _sklearn_tpr_at(member, -loss, targets, strict=rule == "strict")
        assert np.allclose(got[rule], want, rtol=0, atol=1e-12), (rule, got[rule], want)
        assert report.json["settings"]["fpr_rule"] == rule
    assert got["at_most"] != got["strict"]  # the data tells the two rules apart
    assert min(got["at_most"]) > 0


# ------------------------------------------------------------------------------ bad input


def _err(**kw):
    """The InputError raised by score(**kw) with digits' arrays unless overridden."""
    d = Digits()
    args = {"member": d.member, "logits": d.logits, "labels": d.labels, "bootstrap": 0}
    args.update(kw)
    with pytest.raises(mia_audit.InputError) as e:
        mia_audit.score(args.pop("member"), **args)
    msg = str(e.value)
    assert isinstance(e.value, ValueError)
    assert "\n" not in msg, msg  # one line
    return msg


def test_nan_in_logits_names_array_row_and_column(digits):
    logits = digits.logits.copy()
    logits[4, 2] = np.nan  # row 5, column 2 as the message counts (rows 1-based, columns by class index)
    msg = _err(logits=logits)
    assert 'array "logits"' in msg and "row 5" in msg and "column 2" in msg and "NaN" in msg, msg


def test_bad_shapes_and_dtypes(digits):
    assert 'array "logits": expected a 2-D' in _err(logits=digits.logits.astype(np.int64))
    assert "int64" in _err(logits=digits.logits.astype(np.int64))
    assert "shape (1797, 10, 1)" in _err(logits=digits.logits[:, :, None])
    msg = _err(member=digits.member[:-1])
    assert 'array "member" has 1796' in msg and "1797 rows" in msg, msg
    assert 'array "member": expected a 1-D array' in _err(member=digits.member.astype(np.float64))


def test_bad_values(digits):
    member = digits.member.astype(np.int64)
    member[5] = 2
    assert _err(member=member) == 'array "member": row 6: expected 0/1 or true/false, found 2'
    labels = digits.labels.copy()
    labels[6] = -1
    assert 'array "labels": row 7: expected a non-negative integer class label, found -1' in _err(labels=labels)
    labels = digits.labels.copy()
    labels[7] = 10
    msg = _err(labels=labels)
    assert 'array "labels": row 8' in msg and "0..10" in msg and "found 10" in msg, msg
    probs = np.exp(digits.logits) / np.exp(digits.logits).sum(axis=1, keepdims=True)
    probs[8] = 0.105  # row 9: every value a probability, but they sum to 1.05
    msg = _err(probs=probs, logits=None)
    assert 'array "probs": row 9' in msg and "summing to 1" in msg and "found sum 1.05" in msg, msg
    # Within prob_tolerance (default 1e-3, `mia score --prob-tolerance`) the row is accepted.
    probs[8] = 0.1
    probs[8, 0] += 5e-4
    assert mia_audit.score(digits.member, probs=probs, labels=digits.labels, bootstrap=0).json["rows"]["kept"] == 1797
    probs[8, 3] = 1.2  # a value that is not a probability
    msg = _err(probs=probs, logits=None)
    assert 'array "probs": row 9, column 3: expected a probability in [0, 1], found 1.2' in msg, msg
    msg = _err(member=np.ones_like(digits.member))
    assert "at least one member and one non-member" in msg and "0 non-member" in msg, msg


def test_bad_options():
    msg = _err(attacks=["nope"])
    assert 'unknown attack "nope"' in msg and "lira_online" in msg, msg
    assert "bad gate rule `max.auc >>> 3`" in _err(fail_if=["max.auc >>> 3"])
    assert "unknown metric" in _err(fail_if=["max.bogus > 3"])
    msg = _err(bogus=1)
    assert "bogus" in msg and msg.startswith("options: unknown field"), msg
    assert "line 1 column" not in msg  # no position in the package's internal JSON
    assert _err(fpr=[float("nan")]).startswith("option fpr[0]: expected a finite number")
    assert "invalid value: integer `-1`" in _err(seed=-1)
    assert _err(logits=None, probs=None) == "give exactly one of logits=, probs= or loss="
    msg = _err(keep=np.ones((2, 1797), bool))
    assert "need reference=" in msg, msg
    # Messages name the keyword arguments, not the command's flags.
    msg = _err(folds=5000)
    assert msg.startswith("folds = 5000: expected 2 to 1797"), msg
    msg = _err(attacks=["lira_online"])
    assert "give their outputs with reference= and the keep mask with keep=" in msg, msg
    assert _err(confidence=1.5).startswith("confidence must be between 0 and 1"), _err(confidence=1.5)
    assert "--" not in _err(slices=["nope"]), _err(slices=["nope"])


def test_mixing_paths_and_arrays_is_refused(digits):
    msg = _err(member=str(Digits.files["member"]))
    assert "not a mix" in msg, msg


@pytest.mark.parametrize("case", [
    "empty", "empty_loss", "zero_columns", "one_column", "one_record", "two_records", "reference_empty",
    "reference_wrong_records", "folds_too_many",
])
def test_degenerate_input_is_an_input_error_never_a_panic(digits, case):
    # Each of these once could reach an index or a division by zero: the library must answer
    # with an InputError (a ValueError), never a PanicException (a BaseException) or an
    # "internal error" RuntimeError.
    n = len(digits.member)
    args = {
        "empty": dict(member=np.zeros(0, bool), logits=np.zeros((0, 10)), labels=np.zeros(0, np.int64)),
        "empty_loss": dict(member=np.zeros(0, bool), loss=np.zeros(0)),
        "zero_columns": dict(member=digits.member, logits=np.zeros((n, 0)), labels=digits.labels),
        "one_column": dict(member=digits.member, logits=np.zeros((n, 1)), labels=np.zeros(n, np.int64)),
        "one_record": dict(member=np.array([True]), logits=digits.logits[:1], labels=digits.labels[:1]),
        "two_records": dict(member=np.array([True, False]), loss=np.array([0.1, 0.2])),
        "reference_empty": dict(member=digits.member, logits=digits.logits, labels=digits.labels,
                                reference=np.zeros((0, n)), keep=np.zeros((0, n), bool)),
        "reference_wrong_records": dict(member=digits.member, logits=digits.logits, labels=digits.labels,
                                        reference=np.zeros((2, n - 1)), keep=np.zeros((2, n - 1), bool)),
        "folds_too_many": dict(member=digits.member[:10], logits=digits.logits[:10], labels=digits.labels[:10],
                               folds=1000),
    }[case]
    try:
        mia_audit.score(args.pop("member"), bootstrap=0, **args)
    except mia_audit.InputError as e:
        assert str(e) and "\n" not in str(e)
        assert "internal error" not in str(e)
    except BaseException as e:  # pyo3_runtime.PanicException derives from BaseException
        pytest.fail(f"{case}: {type(e).__module__}.{type(e).__name__}: {e}")
    else:
        pytest.fail(f"{case}: no error")


def test_file_errors_name_the_file(tmp_path):
    missing = tmp_path / "missing.csv"
    with pytest.raises(mia_audit.InputError, match=re.escape(f"{missing}: cannot read")):
        mia_audit.score_file(missing)
    with pytest.raises(mia_audit.InputError, match='missing required column "mm"'):
        mia_audit.score_file(Digits.csv, columns={"member": "mm"})


# ------------------------------------------------------------------------------ gate


def test_gate_rule_that_fires(digits, run_mia, tmp_path):
    # The loss AUC on digits is about 0.50 (sklearn, test above), so `max.auc > 0.1` fires and
    # `max.auc > 0.99` does not. Expected: the command's exit code 1 and the same report.json.
    f = Digits.files
    rules = ["max.auc > 0.1", "max.auc > 0.99"]
    args = [x for r in rules for x in ("--fail-if", r)]
    run_mia("score", "--logits", f["logits"], "--labels", f["labels"], "--member", f["member"], "--bootstrap", "100",
            *args, "-o", tmp_path / "cli", expect=1)
    report = mia_audit.score(str(f["member"]), logits=str(f["logits"]), labels=str(f["labels"]), bootstrap=100,
                             fail_if=rules)
    assert report.json_text == (tmp_path / "cli" / "report.json").read_text(encoding="utf-8")
    assert report.passed is False
    assert report.verdict == "fail"
    assert report.failed_rules == ["max.auc > 0.1"]
    with pytest.raises(mia_audit.GateFailed) as e:
        mia_audit.score(digits.member, logits=digits.logits, labels=digits.labels, bootstrap=100, fail_if=rules,
                        raise_on_fail=True)
    assert e.value.failed_rules == ["max.auc > 0.1"]
    assert "max.auc > 0.1" in str(e.value)
    assert e.value.report.passed is False
    assert without_inputs(e.value.report.json) == without_inputs(report.json)


def test_gate_that_passes_and_no_gate(digits):
    ok = mia_audit.score(digits.member, logits=digits.logits, labels=digits.labels, bootstrap=0,
                         fail_if="max.auc > 0.99", raise_on_fail=True)
    assert ok.passed is True and ok.verdict == "pass" and ok.failed_rules == []
    none = mia_audit.score(digits.member, logits=digits.logits, labels=digits.labels, bootstrap=0)
    assert none.passed is True and none.verdict == "none"


# ------------------------------------------------------------------------------ Report API


@pytest.fixture(scope="module")
def digits_report(digits):
    f = Digits.files
    return mia_audit.score(str(f["member"]), logits=str(f["logits"]), labels=str(f["labels"]), ids=str(f["ids"]))


def test_attacks_table_matches_report_json(digits_report, cli_digits):
    # Expected: the command's report.json, attack by attack.
    cli = read_json(cli_digits / "report.json")
    table = digits_report.attacks
    assert isinstance(table, pd.DataFrame)
    assert table.index.name == "attack"
    assert list(table.index) == [a["name"] for a in cli["attacks"]]
    for a in cli["attacks"]:
        row = table.loc[a["name"]]
        assert row["auc"] == a["auc"]["value"]
        assert [row["auc_lo"], row["auc_hi"]] == a["auc"]["ci"]
        assert row["advantage"] == a["advantage"]["value"]
        assert row["eps_lower_bound"] == a["eps_lower_bound"]["value"]
        for t in a["tpr_at_fpr"]:
            assert row[f"tpr@fpr={t['fpr']:g}"] == t["tpr"]
        assert row["n_members"] == a["n_members"] == 898  # digits_logreg_member.npy: 898 of 1,797


def test_records_match_records_csv(digits_report, cli_digits):
    # Expected: the command's records.csv (scores in shortest round-trip form, so parsed
    # back exactly): id, member, label, and per attack its `<attack>_score` and
    # `<attack>_rank` columns, in the same order.
    csv = pd.read_csv(cli_digits / "records.csv", dtype=str)  # every cell as written; numbers parsed below
    rec = digits_report.records()
    assert len(rec) == len(csv) == 1797
    assert rec["id"].tolist() == csv["id"].tolist()
    assert rec["member"].tolist() == [c == "1" for c in csv["member"]]
    assert rec["label"].tolist() == [int(c) for c in csv["label"]]
    assert list(rec.columns) == list(csv.columns)
    for name in [c for c in csv.columns if c.endswith("_score")]:
        # Python's float() rounds correctly, so the shortest round-trip text gives the same double.
        assert rec[name].tolist() == [float(c) for c in csv[name]], name
    for name in [c for c in csv.columns if c.endswith("_rank")]:
        assert rec[name].tolist() == [int(c) for c in csv[name]], name
    assert digits_report._native.records_csv() == (cli_digits / "records.csv").read_text(encoding="utf-8")


def test_json_html_and_repr(digits_report, cli_digits):
    assert digits_report.json == json.loads(digits_report.json_text)
    # report.html as the command writes it.
    assert digits_report.html() == (cli_digits / "report.html").read_text(encoding="utf-8")
    # In a notebook: the whole document in an iframe's srcdoc, escaped.
    shown = digits_report._repr_html_()
    m = re.fullmatch(r'<iframe srcdoc="([^"]*)" style="[^"]*"></iframe>', shown, flags=re.S)
    assert m, shown[:200]
    assert html.unescape(m.group(1)) == digits_report.html()
    r = repr(digits_report)
    assert r.startswith("<mia_audit.Report score: 11 attacks") and "gate none" in r, r


def test_save_replaces_an_earlier_report(digits_report, cli_digits, tmp_path):
    # A stale report in the folder is replaced whole; the files equal the command's.
    out = tmp_path / "rep"
    out.mkdir()
    (out / "report.json").write_text("{}")
    (out / "report.html").write_text("stale")
    assert digits_report.save(out) == out
    assert_same_report_files(out, cli_digits)


def test_mlflow_metric_names_and_values(digits_report):
    # What log_mlflow logs (test_mlflow.py reads them back from a server): values from
    # report.json, names of MLflow's allowed characters only.
    m = digits_report.mlflow_metrics()
    loss = attack(digits_report.json, "loss")
    assert m["mia.loss.auc"] == loss["auc"]["value"]
    assert [m["mia.loss.auc.lo"], m["mia.loss.auc.hi"]] == loss["auc"]["ci"]
    assert m["mia.max.auc"] == digits_report.json["max"]["auc"]["value"]
    bad = [k for k in m if not re.fullmatch(r"[A-Za-z0-9_.\-/ ]+", k)]
    assert not bad, bad
    assert len(m) > 3 * len(digits_report.json["attacks"])

