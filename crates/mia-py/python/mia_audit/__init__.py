"""mia-audit: membership inference audits of ML models and synthetic data.

Measured leakage, not a yes: every attack's AUC, TPR at low FPR and ε lower bound with
intervals, per-record scores, the report files the ``mia`` command writes, and the gate
your CI checks. The numbers come from the same Rust library as the command::

    import mia_audit
    report = mia_audit.score(member, logits=logits, labels=labels, fail_if=["max.auc.lo > 0.6"])
    print(report.attacks)          # one row per attack, with intervals
    report.save("mia-report")      # report.json, records.csv, report.html

``score`` audits outputs you already have, ``audit`` and ``synth`` run a config (a TOML
path or a dict), and ``Auditor`` trains your own models in-process with a plan drawn by
the tool.
"""

from ._native import InputError
from ._native import version as _native_version
from ._report import GateFailed, Report
from ._api import audit, llm, score, score_file, synth
from ._auditor import Auditor

__version__ = _native_version()

__all__ = [
    "Auditor",
    "GateFailed",
    "InputError",
    "Report",
    "audit",
    "llm",
    "score",
    "score_file",
    "synth",
    "__version__",
]
