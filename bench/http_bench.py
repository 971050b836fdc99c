#!/usr/bin/env python3
"""Deployed-model benchmark: `mia audit` through MLflow serving against the same audit of the model's ONNX export.

Usage:  python3 bench/http_bench.py [--records 10000] [--mia target/release/mia] [--workdir /tmp/mia-http-bench]

1. Table: Location-30 (data/location/bangkok.csv.gz, 446 binary features, 30 classes), its 5,010 rows
   cycled to --records rows, with a header (label, f1..f446) and a `member` column (a seeded half).
2. Model: examples/http/train_and_save.py fits a LogisticRegression on the member rows and saves it as an
   MLflow model (predict_proba) and as ONNX.
3. Server: `python3 -m mlflow models serve -m MODEL --env-manager local` on localhost.
4. Runs, one after the other on the same machine:
   - onnx:   `mia audit` with [target] onnx = the export (reference_models = 0, 1,000 bootstrap resamples);
   - http:   the same audit with [target] http = the server (batches of 256 rows, 4 in flight), a fresh
             artifacts folder, so every batch is sent; mia's own line gives requests/s and mean latency;
   - server: the peer — the server alone answering the same batches (the same JSON bodies, built with
             numpy + json), sent from Python 4 at a time (concurrent.futures + urllib): the time the server
             needs for the work, with no audit around it.
   The audit through the endpoint should cost about the ONNX audit plus the server's own time: the script
   prints every time and the ratio http / (onnx + server) — near 1 means the overhead is the server's.
   It checks that both audits give the same AUC for every attack (to 2e-4).
Prints one JSON object.
"""

import argparse
import concurrent.futures
import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BATCH = 256
CONCURRENCY = 4


def table(path: Path, n: int) -> None:
    with gzip.open(ROOT / "data" / "location" / "bangkok.csv.gz", "rt") as f:
        rows = [line.strip().replace('"', "") for line in f if line.strip()]
    rng = np.random.default_rng(0)
    member = np.zeros(n, dtype=int)
    member[rng.permutation(n)[: n // 2]] = 1
    width = len(rows[0].split(",")) - 1
    with open(path, "w") as out:
        out.write("label," + ",".join(f"f{j}" for j in range(1, width + 1)) + ",member\n")
        for i in range(n):
            out.write(f"{rows[i % len(rows)]},{member[i]}\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(path: Path, data: Path, target: str) -> None:
    path.write_text(f"""seed = 0
[data]
path = "{data}"
label = "label"
member = "member"
numeric = "rest"
standardize = false

[target]
{target}

[plan]
reference_models = 0

[eval]
bootstrap = 1000
""")


def audit(mia: str, cfg: Path, out: Path) -> tuple[float, str]:
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    p = subprocess.run([mia, "audit", str(cfg), "-o", str(out)], capture_output=True, text=True)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"mia audit {cfg}: {p.stderr}")
    return dt, p.stderr


def server_alone(url: str, data: Path) -> float:
    """The server answering every batch of the table, 4 requests at a time, without mia."""
    with open(data) as f:
        header = f.readline().strip().split(",")
        x = np.loadtxt(f, delimiter=",", dtype=np.float32)
    cols = [c for c in header if c not in ("label", "member")]
    keep = [i for i, c in enumerate(header) if c not in ("label", "member")]
    x = x[:, keep].astype(np.float64)
    bodies = [json.dumps({"dataframe_split": {"columns": cols, "data": x[i:i + BATCH].tolist()}}).encode()
              for i in range(0, len(x), BATCH)]

    def send(body: bytes) -> int:
        req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return len(json.loads(r.read())["predictions"])

    t = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
        answered = sum(pool.map(send, bodies))
    dt = time.perf_counter() - t
    assert answered == len(x), (answered, len(x))
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--mia", default=str(ROOT / "target" / "release" / "mia"))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/mia-http-bench"))
    args = ap.parse_args()
    w = args.workdir
    w.mkdir(parents=True, exist_ok=True)
    data = w / "table.csv"
    table(data, args.records)
    models = w / "models"
    if not (models / "model.onnx").exists():
        subprocess.run([sys.executable, str(ROOT / "examples/http/train_and_save.py"), "--data", str(data),
                        "--out", str(models)], check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve", "-m", str(models / "mlflow_model"),
                               "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/invocations"
    try:
        for _ in range(240):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        onnx_cfg, http_cfg = w / "onnx.toml", w / "http.toml"
        config(onnx_cfg, data, f'onnx = "{models / "model.onnx"}"')
        config(http_cfg, data, f'http = "{url}"\nprotocol = "mlflow"\noutput = "probs"\n'
                               f'batch_size = {BATCH}\nconcurrency = {CONCURRENCY}')
        server_s = server_alone(url, data)  # also warms the server up
        onnx_s, _ = audit(args.mia, onnx_cfg, w / "r_onnx")
        http_s, err = audit(args.mia, http_cfg, w / "r_http")
        server_s = min(server_s, server_alone(url, data))
    finally:
        server.terminate()
        server.wait()
    line = next((l for l in err.splitlines() if l.startswith("target http")), "")
    m = re.search(r"in ([\d.]+) s, ([\d.]+) requests/s, mean latency (\d+) ms", line)
    ra = json.loads((w / "r_onnx" / "report.json").read_text())
    rb = json.loads((w / "r_http" / "report.json").read_text())
    for a, b in zip(ra["attacks"], rb["attacks"]):
        assert a["name"] == b["name"] and abs(a["auc"]["value"] - b["auc"]["value"]) < 2e-4, (a["name"], a["auc"], b["auc"])
    print(json.dumps({
        "records": args.records, "features": 446, "batch_size": BATCH, "concurrency": CONCURRENCY,
        "requests": -(-args.records // BATCH),
        "onnx_audit_s": round(onnx_s, 2), "http_audit_s": round(http_s, 2),
        "server_alone_s": round(server_s, 2),
        "mia_query_s": float(m.group(1)) if m else None,
        "mia_requests_per_s": float(m.group(2)) if m else None,
        "mia_mean_latency_ms": int(m.group(3)) if m else None,
        "http_over_onnx_plus_server": round(http_s / (onnx_s + server_s), 2),
        "same_auc_every_attack": True,
        "cpus": os.cpu_count(),
    }, indent=1))


if __name__ == "__main__":
    main()
