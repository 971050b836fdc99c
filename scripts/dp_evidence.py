#!/usr/bin/env python3
"""The README's differential-privacy evidence: does DP help, and at what cost?

Runs examples/dp_location_mlp.toml (Location-30, MLP) and examples/dp_adult_logistic.toml
(UCI Adult, logistic regression), each once as written (`[compare] epsilons = ["none", 8, 2,
0.5]`, the target trained on a random half of the audit records) and once with
`[plan] target = "one_run"` (one target per setting trained on a fair coin per audit record,
for the one-run ε bound), and prints one Markdown table per data set:

    setting | accounted ε | held-out accuracy | LiRA online AUC | LiRA online TPR at 1 % FPR |
    highest ε lower bound | one-run ε bound

Every figure is read from the reports' `comparison` sections; nothing is computed here.

    cargo build --release -p mia-cli
    python3 scripts/dp_evidence.py [--out DIR]      # MIA=path/to/mia to use another binary

Takes about 15 minutes on 2 cores (17 models per setting and plan, 4 settings, 2 plans, 2
data sets). The artifact stores under DIR make a rerun resume.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = [("Location-30, MLP (256 hidden, 30 epochs)", "dp_location_mlp.toml"),
         ("UCI Adult, logistic regression", "dp_adult_logistic.toml")]


def audit(mia: str, config: Path, out: Path) -> dict:
    subprocess.run([mia, "audit", str(config), "-o", str(out), "-q"], check=True)
    return json.loads((out / "report.json").read_text())


def one_run_config(config: Path) -> Path:
    """The config with the one-run plan; written beside the original so relative paths hold."""
    text = config.read_text()
    assert 'target = "train"' in text, config
    path = config.with_name(config.stem + ".one_run.tmp.toml")
    path.write_text(text.replace('target = "train"', 'target = "one_run"', 1))
    return path


def interval(e: dict, digits: int = 3, scale: float = 1.0, suffix: str = "") -> str:
    v = f"{e['value'] * scale:.{digits}f}{suffix}"
    if e.get("ci"):
        lo, hi = (x * scale for x in e["ci"])
        v += f" [{lo:.{digits}f}, {hi:.{digits}f}]"
    return v


def table(report: dict, one_run: dict) -> str:
    rows = ["| setting | accounted ε | held-out accuracy | LiRA online AUC | LiRA online TPR at 1 % FPR "
            "| highest ε lower bound | one-run ε bound |",
            "|---|---|---|---|---|---|---|"]
    by_setting = {s["setting"]: s for s in one_run["comparison"]["settings"]}
    for s in report["comparison"]["settings"]:
        lira = next(a for a in s["attacks"] if a["name"] == "lira_online")
        tpr = next(t for t in lira["tpr_at_fpr"] if abs(t["fpr"] - 0.01) < 1e-12)
        tpr_text = f"{tpr['tpr']:.4f}"
        if tpr.get("ci"):
            tpr_text += f" [{tpr['ci'][0]:.4f}, {tpr['ci'][1]:.4f}]"
        if not tpr["supported"]:
            tpr_text += " †"
        eps = s["claimed_epsilon"]
        o = by_setting[s["setting"]]["one_run_epsilon_lower_bound"]
        worst = s["max"]["eps_lower_bound"]
        rows.append(
            f"| {s['setting']} | {'—' if eps is None else f'{eps:.3f}'} "
            f"| {interval(s['held_out_accuracy'], 1, 100, ' %')} | {interval(lira['auc'])} | {tpr_text} "
            f"| {worst['value']:.3f} ({worst['attack']}) | {'—' if o is None else f'{o:.3f}'} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "mia-dp-evidence")
    args = ap.parse_args()
    mia = os.environ.get("MIA", str(ROOT / "target" / "release" / "mia"))
    if not Path(mia).exists():
        sys.exit(f"{mia} is missing: cargo build --release -p mia-cli (or set MIA)")
    for title, name in CASES:
        config = ROOT / "examples" / name
        stem = config.stem
        report = audit(mia, config, args.out / stem)
        one = one_run_config(config)
        try:
            one_run = audit(mia, one, args.out / f"{stem}-one_run")
        finally:
            one.unlink()
        target = report["models"]
        print(f"**{title}** — {target['audit_records']} audit records, {target['reference_models']} "
              f"reference models per setting; one-run: {one_run['one_run']['canaries']} canaries, "
              f"δ = {one_run['one_run']['delta']:g}\n")
        print(table(report, one_run))
        print()


if __name__ == "__main__":
    main()
