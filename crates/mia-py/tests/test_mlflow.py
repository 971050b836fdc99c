"""`Report.log_mlflow` against a real MLflow tracking server (`mlflow server` with a SQLite
store, started here), read back through `MlflowClient`.

Expected values: the report's own report.json (metrics, verdict) and json_text (the
artifact's bytes)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import Digits, attack

import mia_audit

mlflow = pytest.importorskip("mlflow", reason="mlflow is not installed (pip install mlflow; CI installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory):
    d = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{d / 'mlflow.db'}",
           "--default-artifact-root", str(d / "artifacts"), "--host", "127.0.0.1", "--port", str(port)]
    log = open(d / "server.log", "wb")
    # A session of its own, so the server and its workers stop together.
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"mlflow server exited with {server.returncode}: {(d / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not answer within 90 s: {(d / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        previous = mlflow.get_tracking_uri()
        mlflow.set_tracking_uri(uri)
        yield uri
        mlflow.set_tracking_uri(previous)
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def report():
    # A fired gate rule, so the verdict tag is "fail" (not the default "none").
    return mia_audit.score_file(Digits.csv, bootstrap=200, fail_if=["max.auc > 0.1"])


def test_log_into_a_given_run(tracking_uri, report, tmp_path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    exp = client.create_experiment("mia-audit-test-given")
    run = client.create_run(exp)
    run_id = report.log_mlflow(run_id=run.info.run_id)
    assert run_id == run.info.run_id

    data = client.get_run(run_id).data
    loss = attack(report.json, "loss")
    assert data.metrics["mia.loss.auc"] == loss["auc"]["value"]
    assert data.metrics["mia.loss.auc.lo"] == loss["auc"]["ci"][0]
    assert data.metrics["mia.loss.auc.hi"] == loss["auc"]["ci"][1]
    assert data.metrics["mia.max.auc"] == report.json["max"]["auc"]["value"]
    for t in loss["tpr_at_fpr"]:
        assert data.metrics[f"mia.loss.tpr_at_fpr_{t['fpr']:g}"] == t["tpr"]
    # Every metric the report defines, and nothing else under the prefix.
    assert {k: v for k, v in data.metrics.items() if k.startswith("mia.")} == report.mlflow_metrics()
    assert data.tags["mia.verdict"] == "fail" == report.verdict

    listed = sorted(f.path for f in client.list_artifacts(run_id, "mia"))
    assert "mia/report.json" in listed
    assert {"mia/records.csv", "mia/report.html"} <= set(listed)
    path = client.download_artifacts(run_id, "mia/report.json", str(tmp_path))
    with open(path, "rb") as f:
        assert f.read() == report.json_text.encode("utf-8")


def test_log_into_the_active_run_or_a_new_one(tracking_uri, report):
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    mlflow.set_experiment("mia-audit-test-active")
    with mlflow.start_run() as active:
        assert report.log_mlflow(prefix="audit") == active.info.run_id
    data = client.get_run(active.info.run_id).data
    assert data.metrics["audit.loss.auc"] == attack(report.json, "loss")["auc"]["value"]
    assert data.tags["audit.verdict"] == "fail"
    # No active run: a new run is started, logged into, and ended.
    new_id = report.log_mlflow()
    assert new_id != active.info.run_id
    assert mlflow.active_run() is None
    new = client.get_run(new_id)
    assert new.info.status == "FINISHED"
    assert new.data.metrics["mia.loss.auc"] == attack(report.json, "loss")["auc"]["value"]
