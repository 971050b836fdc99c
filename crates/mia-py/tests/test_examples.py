"""The runnable examples in examples/python/ run as written (small sizes) and find what they
say: the synthetic-data example's planted copies, the scikit-learn example's report.
The PyTorch example runs only where torch is installed (CI does not install its wheel)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "python"


def run(script: str, *args: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_synthetic_dataframe_example_finds_the_planted_copies(tmp_path):
    out = run("audit_synthetic_dataframe.py", "--out", "rep", "--rows", "4000", cwd=tmp_path)
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    copies = report["synth"]["distances"][0]["exact_copies"]
    # The example copies 2 % of the 2,000 training rows into the release: every one of them
    # is found as an exact copy (the other synthetic rows are resampled column by column and
    # may coincide with a member by chance, so at least 40), and the gate on DCR at 1 % FPR fails.
    assert copies["members_in_synthetic"] >= 40
    assert report["gate"]["verdict"] == "fail"
    assert "members copied verbatim" in out
    assert [i["path"] for i in report["inputs"]] == ["<DataFrame data>", "<DataFrame holdout>", "<DataFrame synthetic>"]
    assert (tmp_path / "rep" / "report.html").is_file()


def test_sklearn_example_writes_the_report(tmp_path):
    out = run("audit_sklearn_model.py", "--out", "rep", "--rows", "800", "--reference-models", "4", cwd=tmp_path)
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    names = {a["name"] for a in report["attacks"]}
    assert {"lira_online", "rmia_online", "loss"} <= names
    assert "lira_online" in out and "gate:" in out


def test_pytorch_example(tmp_path):
    pytest.importorskip("torch", reason="the PyTorch example needs torch (not installed in CI: its wheel is ~1 GB)")
    run("audit_pytorch_model.py", "--out", "rep", "--rows", "600", "--epochs", "5", "--reference-models", "2",
        "--cache", "cache", cwd=tmp_path)
    assert (tmp_path / "rep" / "report.json").is_file()
    assert any((tmp_path / "cache").rglob("model_0000.npy")), "the cache keeps every model's outputs"


def test_readme_python_section_runs_as_written(tmp_path):
    # The README's Python example (the block after `pip install ./crates/mia-py`), run from
    # a copy of the paths it names, as a user in the repository root would.
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Python: `import mia_audit`"):]
    assert section.split("```sh\n", 1)[1].startswith("pip install ./crates/mia-py")
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) == 5, "the README promises a five-line example"
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "lira" not in done.stdout and "loss" in done.stdout  # the score-only attacks' table
    assert (tmp_path / "mia-report-py" / "report.json").is_file()
