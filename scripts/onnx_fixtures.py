#!/usr/bin/env python3
"""ONNX fixtures for crates/mia-models/src/onnx.rs: real models exported by the real converters.

Trains small models on the bundled data, exports each to ONNX with zipmap=False, and writes next to
each model the framework's OWN outputs, computed in Python by the framework (not by onnxruntime):

  fixtures/onnx/<data>_x.npy.gz        float32 input rows (N x D), shared by every model on that data
  fixtures/onnx/<name>.onnx            the model
  fixtures/onnx/<name>.proba.npy       framework predict_proba / softmax, float64 (N x C)
  fixtures/onnx/<name>.logits.npy      framework logits where it has them, float64 (N x C); a binary
                                       model's margin m is stored as the two columns [0, m] so that
                                       softmax(logits) = proba in every case
  fixtures/onnx/<name>.ort.npy         onnxruntime's probability output on the same rows, float32
  fixtures/onnx/manifest.json          names, widths, classes, versions

Data (float32 throughout, as the Rust side receives features):
  adult:    data/adult/adult.data.gz, the 6 numeric columns (age, fnlwgt, education-num, capital-gain,
            capital-loss, hours-per-week), raw (unscaled, so a StandardScaler pipeline has work to do);
            label ">50K" -> 1. Train on the first 8,000 rows; fixture rows = 300 rows from 20,000 on.
  location: data/location/bangkok.csv.gz, column 0 is the class 1..30 -> 0..29, 446 binary features.
            Train on the first 3,000 rows; fixture rows = 200 rows from 4,000 on.

Usage:  python3 scripts/onnx_fixtures.py          (under a minute; deterministic seeds)
        pip install skl2onnx onnxmltools onnxruntime xgboost lightgbm torch
"""

import gzip
import io
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "onnx"
ADULT_NUMERIC = [0, 2, 4, 10, 11, 12]


def load_adult():
    rows = [line.split(",") for line in gzip.open(ROOT / "data/adult/adult.data.gz", "rt") if line.strip()]
    x = np.array([[float(r[i]) for i in ADULT_NUMERIC] for r in rows], dtype=np.float32)
    y = np.array([1 if r[14].strip() == ">50K" else 0 for r in rows], dtype=np.int64)
    return x, y


def load_location():
    a = np.loadtxt(gzip.open(ROOT / "data/location/bangkok.csv.gz", "rt"), delimiter=",",
                   converters={0: lambda s: float(str(s).strip('"'))})
    return a[:, 1:].astype(np.float32), a[:, 0].astype(np.int64) - 1


def save_npy(path, a):
    buf = io.BytesIO()
    np.save(buf, a)
    if path.suffix == ".gz":
        # mtime=0 keeps the file byte-identical across runs.
        with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as g:
            g.write(buf.getvalue())
    else:
        path.write_bytes(buf.getvalue())


def binary_logits(margin):
    m = np.asarray(margin, dtype=np.float64).reshape(-1)
    return np.stack([np.zeros_like(m), m], axis=1)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def mlp_logits(clf, x):
    """sklearn MLPClassifier's pre-activation output, by a forward pass over its own weights."""
    h = x.astype(np.float64)
    for i, (w, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        h = h @ w + b
        if i < len(clf.coefs_) - 1:
            h = np.maximum(h, 0.0)  # activation="relu"
    return binary_logits(h) if h.shape[1] == 1 else h


def main():
    import onnxruntime as ort
    import sklearn
    from skl2onnx import to_onnx
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    OUT.mkdir(parents=True, exist_ok=True)
    xa, ya = load_adult()
    xl, yl = load_location()
    data = {
        "adult": (xa[:8000], ya[:8000], xa[20000:20300]),
        "location": (xl[:3000], yl[:3000], xl[4000:4200]),
    }
    for name, (_, _, rows) in data.items():
        save_npy(OUT / f"{name}_x.npy.gz", rows)

    manifest = {"models": [], "versions": {"python": sys.version.split()[0], "numpy": np.__version__,
                                           "scikit-learn": sklearn.__version__, "onnxruntime": ort.__version__}}

    only = set(sys.argv[1:])  # model names to re-export (all when empty); the manifest lists only those

    def record(name, dataset, onnx_bytes, proba, logits, framework):
        rows = data[dataset][2]
        (OUT / f"{name}.onnx").write_bytes(onnx_bytes)
        save_npy(OUT / f"{name}.proba.npy", np.asarray(proba, dtype=np.float64))
        if logits is not None:
            logits = np.asarray(logits, dtype=np.float64)
            assert np.allclose(softmax(logits), proba, atol=1e-6), name
            save_npy(OUT / f"{name}.logits.npy", logits)
        sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        outs = sess.run(None, {sess.get_inputs()[0].name: rows})
        names = [o.name for o in sess.get_outputs()]
        ort_p = outs[names.index("probabilities")] if "probabilities" in names else outs[-1]
        ort_p = np.asarray(ort_p, dtype=np.float32)
        if ort_p.ndim == 2 and ort_p.shape[1] == 1:
            ort_p = np.concatenate([1 - ort_p, ort_p], axis=1)
        save_npy(OUT / f"{name}.ort.npy", ort_p)
        diff = float(np.abs(ort_p - proba).max())
        manifest["models"].append({"name": name, "data": dataset, "width": int(rows.shape[1]),
                                   "classes": int(np.asarray(proba).shape[1]), "framework": framework,
                                   "has_logits": logits is not None, "max_abs_ort_vs_framework": diff})
        print(f"{name:24s} classes={np.asarray(proba).shape[1]:2d} ort-vs-framework={diff:.2e}")

    def sk(name, dataset, clf, logits_of=None):
        if only and name not in only:
            return
        x, y, rows = data[dataset]
        clf.fit(x, y)
        onx = to_onnx(clf, x[:1], options={id(clf): {"zipmap": False}} if not hasattr(clf, "steps")
                      else {id(clf.steps[-1][1]): {"zipmap": False}}, target_opset={"": 15, "ai.onnx.ml": 3})
        logits = logits_of(clf, rows) if logits_of else None
        record(name, dataset, onx.SerializeToString(), clf.predict_proba(rows), logits, "scikit-learn")

    def decision(clf, rows):
        d = clf.decision_function(rows)
        return binary_logits(d) if d.ndim == 1 else d

    sk("sk_logreg_location", "location", LogisticRegression(C=0.5, max_iter=300), decision)
    sk("sk_logreg_adult", "adult", LogisticRegression(max_iter=2000), decision)
    sk("sk_scaler_mlp_adult", "adult",
       make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0)),
       lambda p, r: mlp_logits(p.steps[-1][1], p.steps[0][1].transform(r)))
    sk("sk_mlp_location", "location", MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, random_state=0),
       mlp_logits)
    sk("sk_rf_adult", "adult", RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0))
    sk("sk_rf_location", "location", RandomForestClassifier(n_estimators=5, max_depth=6, random_state=0))
    sk("sk_gbc_adult", "adult", GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0), decision)

    # Models the Rust side must refuse with a clear error: an operator tract lacks (Imputer) before the
    # classifier, and a graph whose input is not float.
    if not only or "bad_imputer_logreg_adult" in only:
        from sklearn.impute import SimpleImputer

        x, y, _ = data["adult"]
        pipe = make_pipeline(SimpleImputer(), LogisticRegression(max_iter=2000)).fit(x, y)
        onx = to_onnx(pipe, x[:1], options={id(pipe.steps[-1][1]): {"zipmap": False}},
                      target_opset={"": 15, "ai.onnx.ml": 3})
        (OUT / "bad_imputer_logreg_adult.onnx").write_bytes(onx.SerializeToString())
    if not only or "bad_int_input" in only:
        from onnx import TensorProto, helper

        g = helper.make_graph([helper.make_node("Cast", ["x"], ["probabilities"], to=TensorProto.FLOAT)], "int_input",
                              [helper.make_tensor_value_info("x", TensorProto.INT64, [None, 6])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 6])])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 15)], producer_name="onnx_fixtures.py")
        (OUT / "bad_int_input.onnx").write_bytes(m.SerializeToString())

    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    def ml(name, dataset, clf, convert, raw, **kw):
        if only and name not in only:
            return
        x, y, rows = data[dataset]
        clf.fit(x, y)
        onx = convert(clf, initial_types=[("input", FloatTensorType([None, x.shape[1]]))], target_opset=15, **kw)
        r = raw(clf, rows)
        record(name, dataset, onx.SerializeToString(), clf.predict_proba(rows),
               binary_logits(r) if r.ndim == 1 else r, type(clf).__module__.split(".")[0])

    import lightgbm
    import xgboost

    xgb_raw = lambda c, r: c.predict(r, output_margin=True)  # noqa: E731
    ml("xgb_adult", "adult", xgboost.XGBClassifier(n_estimators=10, max_depth=3, random_state=0),
       onnxmltools.convert_xgboost, xgb_raw)
    ml("xgb_location", "location", xgboost.XGBClassifier(n_estimators=5, max_depth=3, random_state=0),
       onnxmltools.convert_xgboost, xgb_raw)
    lgb_raw = lambda c, r: c.predict(r, raw_score=True)  # noqa: E731
    ml("lgbm_adult", "adult", lightgbm.LGBMClassifier(n_estimators=10, num_leaves=8, random_state=0, verbose=-1),
       onnxmltools.convert_lightgbm, lgb_raw, zipmap=False)
    ml("lgbm_location", "location",
       lightgbm.LGBMClassifier(n_estimators=5, num_leaves=8, random_state=0, verbose=-1),
       onnxmltools.convert_lightgbm, lgb_raw, zipmap=False)
    manifest["versions"].update({"skl2onnx": __import__("skl2onnx").__version__,
                                 "onnxmltools": onnxmltools.__version__, "xgboost": xgboost.__version__,
                                 "lightgbm": lightgbm.__version__})

    if not only or "torch_mlp_location" in only:
        try:
            import torch
        except ImportError:
            print("torch not installed: skipping the PyTorch model", file=sys.stderr)
        else:
            torch.manual_seed(0)
            x, y, rows = data["location"]
            net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 16), torch.nn.ReLU(), torch.nn.Linear(16, 30))
            opt = torch.optim.Adam(net.parameters(), lr=1e-2)
            xt, yt = torch.from_numpy(x), torch.from_numpy(y)
            for _ in range(60):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(xt), yt).backward()
                opt.step()
            model = torch.nn.Sequential(net, torch.nn.Softmax(dim=1)).eval()
            buf = io.BytesIO()
            torch.onnx.export(model, (torch.from_numpy(rows[:1]),), buf, input_names=["input"],
                              output_names=["probabilities"], dynamic_axes={"input": {0: "batch"}}, opset_version=15,
                              dynamo=False)
            with torch.no_grad():
                logits = net(torch.from_numpy(rows)).double().numpy()
                proba = model(torch.from_numpy(rows)).double().numpy()
            record("torch_mlp_location", "location", buf.getvalue(), proba, logits, "torch")
            manifest["versions"]["torch"] = torch.__version__

    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
