"""The result of an audit: the report the ``mia`` command writes, as Python values."""

from __future__ import annotations

import html as _html
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from . import _native


class GateFailed(Exception):
    """The report's gate failed (raised only with ``raise_on_fail=True``); ``.report``
    holds the report and ``.failed_rules`` the rules that fired."""

    def __init__(self, report: "Report"):
        self.report = report
        self.failed_rules = report.failed_rules
        super().__init__("gate failed: " + "; ".join(self.failed_rules))


def _fpr_key(fpr: float) -> str:
    return format(fpr, "g")


class Report:
    """One audit's report: ``.json`` (the dict of ``report.json``), ``.attacks`` (one row
    per attack), ``.records()`` (per-record scores), ``.save(dir)`` (the command's files),
    ``.passed`` / ``.failed_rules`` (the gate), ``.log_mlflow()``."""

    def __init__(self, native: "_native.NativeReport"):
        self._native = native
        self._json: Optional[Dict[str, Any]] = None

    # ------------------------------------------------------------------ the report itself
    @property
    def json_text(self) -> str:
        """``report.json`` as the command writes it, byte for byte."""
        return self._native.json_text()

    @property
    def json(self) -> Dict[str, Any]:
        """``report.json`` as a dict."""
        if self._json is None:
            self._json = json.loads(self._native.json_text())
        return self._json

    @property
    def verdict(self) -> str:
        """``pass``, ``fail``, or ``none`` when no gate rule was given."""
        return self.json["gate"]["verdict"]

    @property
    def passed(self) -> bool:
        """False only when a gate rule fired."""
        return not self._native.gate_failed

    @property
    def failed_rules(self) -> List[str]:
        return list(self._native.failed_rules())

    def html(self) -> str:
        """The self-contained ``report.html``."""
        return self._native.html()

    def _repr_html_(self) -> str:
        # The report is a whole HTML document: an iframe keeps its styles and scripts apart
        # from the notebook's.
        doc = _html.escape(self._native.html(), quote=True)
        return f'<iframe srcdoc="{doc}" style="width:100%;height:720px;border:0"></iframe>'

    def __repr__(self) -> str:
        j = self.json
        best = j.get("max", {}).get("auc", {})
        return (
            f"<mia_audit.Report {j['command']}: {len(j['attacks'])} attacks, "
            f"max AUC {best.get('value', float('nan')):.3f} ({best.get('attack', '?')}), gate {self.verdict}>"
        )

    def save(self, dir: Union[str, "os.PathLike[str]"]) -> Path:
        """Writes ``report.json``, ``records.csv``, ``records.parquet`` and ``report.html``
        into ``dir`` exactly as ``mia`` does (the previous report files there are replaced
        whole) and returns the folder."""
        path = Path(dir)
        self._native.save(str(path))
        return path

    # ------------------------------------------------------------------ tables
    def attack_rows(self) -> List[Dict[str, Any]]:
        """One dict per attack: AUC, advantage, TPR at each FPR target and the ε lower
        bound, each with its interval (``*_lo``, ``*_hi``; None where the report has none)."""
        rows = []
        for a in self.json["attacks"]:
            row: Dict[str, Any] = {"attack": a["name"]}
            for metric in ("auc", "advantage", "balanced_accuracy"):
                m = a[metric]
                ci = m.get("ci") or [None, None]
                row[metric], row[f"{metric}_lo"], row[f"{metric}_hi"] = m["value"], ci[0], ci[1]
            for t in a["tpr_at_fpr"]:
                key = f"tpr@fpr={_fpr_key(t['fpr'])}"
                ci = t.get("ci") or [None, None]
                row[key], row[f"{key}_lo"], row[f"{key}_hi"] = t["tpr"], ci[0], ci[1]
            row["eps_lower_bound"] = a["eps_lower_bound"]["value"]
            row["p_value"] = a.get("p_value")
            row["n_members"], row["n_non_members"] = a["n_members"], a["n_non_members"]
            rows.append(row)
        return rows

    @property
    def attacks(self) -> Any:
        """The attacks as a pandas DataFrame (one row per attack) when pandas is installed,
        else a list of dicts (:meth:`attack_rows`)."""
        rows = self.attack_rows()
        try:
            import pandas as pd
        except ImportError:
            return rows
        return pd.DataFrame(rows).set_index("attack")

    def records(self) -> Any:
        """Per-record scores with the columns of ``records.csv`` (id, member, label, then per
        attack ``ATTACK_score`` and ``ATTACK_rank``, 1 = most exposed) as a pandas DataFrame,
        or a dict of numpy arrays without pandas."""
        cols: Dict[str, Any] = {"id": self._native.ids(), "member": self._native.member()}
        labels = self._native.labels()
        if labels is not None:
            cols["label"] = labels
        for name, values, ranks in self._native.scores():
            cols[f"{name}_score"] = values
            cols[f"{name}_rank"] = ranks
        try:
            import pandas as pd
        except ImportError:
            return cols
        return pd.DataFrame(cols)

    # ------------------------------------------------------------------ MLflow
    def mlflow_metrics(self, prefix: str = "mia") -> Dict[str, float]:
        """The metrics :meth:`log_mlflow` logs: per attack its AUC, TPR at each FPR target
        and ε lower bound, intervals as ``.lo`` / ``.hi``, and the worst case over attacks
        (``max.auc``, ...). Names use only characters MLflow accepts."""
        out: Dict[str, float] = {}

        def put(name: str, value: Any, ci: Any = None) -> None:
            if value is not None:
                out[name] = float(value)
            if ci:
                if ci[0] is not None:
                    out[f"{name}.lo"] = float(ci[0])
                if ci[1] is not None:
                    out[f"{name}.hi"] = float(ci[1])

        for a in self.json["attacks"]:
            base = f"{prefix}.{a['name']}"
            put(f"{base}.auc", a["auc"]["value"], a["auc"].get("ci"))
            for t in a["tpr_at_fpr"]:
                put(f"{base}.tpr_at_fpr_{_fpr_key(t['fpr'])}", t["tpr"], t.get("ci"))
            put(f"{base}.eps_lower_bound", a["eps_lower_bound"]["value"])
        for metric, m in self.json.get("max", {}).items():
            if isinstance(m, dict) and isinstance(m.get("value"), (int, float)):
                put(f"{prefix}.max.{metric}", m["value"], m.get("ci"))
        return out

    def log_mlflow(self, run_id: Optional[str] = None, prefix: str = "mia") -> str:
        """Logs the report to MLflow: :meth:`mlflow_metrics` as metrics, the report files as
        artifacts under ``prefix/``, the gate verdict as the tag ``{prefix}.verdict``. Logs
        into ``run_id``, else the active run, else a new run; returns the run id."""
        import mlflow
        from mlflow.entities import Metric, RunTag
        from mlflow.tracking import MlflowClient

        client = MlflowClient()
        started = False
        if run_id is None:
            active = mlflow.active_run()
            if active is None:
                active = mlflow.start_run()
                started = True
            run_id = active.info.run_id
        try:
            import time

            now = int(time.time() * 1000)
            metrics = [Metric(k, v, now, 0) for k, v in self.mlflow_metrics(prefix).items()]
            tags = [RunTag(f"{prefix}.verdict", self.verdict)]
            for i in range(0, len(metrics), 1000):
                client.log_batch(run_id, metrics=metrics[i : i + 1000], tags=tags if i == 0 else [])
            if not metrics:
                client.log_batch(run_id, tags=tags)
            with tempfile.TemporaryDirectory(prefix="mia-mlflow-") as tmp:
                self.save(tmp)
                client.log_artifacts(run_id, tmp, artifact_path=prefix)
        finally:
            if started:
                mlflow.end_run()
        return run_id
