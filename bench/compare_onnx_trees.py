#!/usr/bin/env python3
"""Benchmark: our tree-ensemble evaluation (crates/mia-models/src/onnx/trees.rs) vs onnxruntime on the
same ONNX models and rows. Not a test.

Trains RandomForest (100 trees), XGBoost and LightGBM multiclass models on Location-30 and a
RandomForest / LightGBM on Adult, exports them with zipmap=False, saves 10,000 float32 rows per data set
(Location-30's 5,010 rows tiled twice; Adult's first 10,000 numeric rows), times onnxruntime
(CPUExecutionProvider, default threads = all cores; best of 5 after a warm-up), then runs the Rust example
`bench_onnx_trees`, which times `OnnxModel::outputs` the same way and prints the ratio.

Usage:  CARGO_TARGET_DIR=... python3 bench/compare_onnx_trees.py [workdir]      (default /tmp/mia_onnx_bench)
        pip install skl2onnx onnxmltools onnxruntime xgboost lightgbm
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from onnx_fixtures import load_adult, load_location  # noqa: E402


def main():
    import lightgbm
    import onnxmltools
    import onnxruntime as ort
    import xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType
    from skl2onnx import to_onnx
    from sklearn.ensemble import RandomForestClassifier

    work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/mia_onnx_bench")
    work.mkdir(parents=True, exist_ok=True)
    xl, yl = load_location()
    xa, ya = load_adult()
    rows = {"location": np.tile(xl, (2, 1))[:10000], "adult": xa[:10000]}
    for name, r in rows.items():
        np.save(work / f"{name}_rows.npy", np.ascontiguousarray(r))

    def ml_types(d):
        return [("input", FloatTensorType([None, d]))]

    models = {}
    rf = RandomForestClassifier(n_estimators=100, max_depth=12, random_state=0, n_jobs=-1).fit(xl, yl)
    models["rf100_location"] = ("location", to_onnx(rf, xl[:1], options={id(rf): {"zipmap": False}},
                                                    target_opset={"": 15, "ai.onnx.ml": 3}))
    xgb = xgboost.XGBClassifier(n_estimators=50, max_depth=6, random_state=0).fit(xl, yl)
    models["xgb50x30_location"] = ("location", onnxmltools.convert_xgboost(xgb, initial_types=ml_types(446),
                                                                           target_opset=15))
    lgb = lightgbm.LGBMClassifier(n_estimators=50, num_leaves=31, random_state=0, verbose=-1).fit(xl, yl)
    models["lgbm50x30_location"] = ("location", onnxmltools.convert_lightgbm(
        lgb, initial_types=ml_types(446), target_opset=15, zipmap=False))
    rfa = RandomForestClassifier(n_estimators=100, max_depth=12, random_state=0, n_jobs=-1).fit(xa, ya)
    models["rf100_adult"] = ("adult", to_onnx(rfa, xa[:1], options={id(rfa): {"zipmap": False}},
                                              target_opset={"": 15, "ai.onnx.ml": 3}))
    lgba = lightgbm.LGBMClassifier(n_estimators=200, num_leaves=31, random_state=0, verbose=-1).fit(xa, ya)
    models["lgbm200_adult"] = ("adult", onnxmltools.convert_lightgbm(
        lgba, initial_types=ml_types(6), target_opset=15, zipmap=False))

    timings = []
    for name, (data, onx) in models.items():
        (work / f"{name}.onnx").write_bytes(onx.SerializeToString())
        sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
        x = rows[data]
        feed = {sess.get_inputs()[0].name: x}
        names = [o.name for o in sess.get_outputs()]
        out = sess.run(None, feed)  # warm-up
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            out = sess.run(None, feed)
            best = min(best, time.perf_counter() - t)
        np.save(work / f"{name}.ort.npy", np.asarray(out[names.index("probabilities")], dtype=np.float32))
        timings.append({"name": name, "data": data, "rows": int(x.shape[0]), "ort_seconds": best})
        print(f"onnxruntime {name:22s} {best * 1e3:9.2f} ms")
    (work / "timings.json").write_text(json.dumps({"onnxruntime": ort.__version__, "cpus": os.cpu_count(),
                                                   "models": timings}, indent=1))
    cmd = ["cargo", "run", "-q", "-p", "mia-models", "--example", "bench_onnx_trees", "--", str(work)]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
