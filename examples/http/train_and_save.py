#!/usr/bin/env python3
"""Train a scikit-learn classifier on the member rows of an audit table and save it three ways.

    python3 examples/http/train_and_save.py --data fixtures/onnx_audit/location_members.csv.gz \
        --out models/ [--label label] [--member member]

Writes, from one fitted LogisticRegression (lbfgs, C = 1, max_iter 1000):
  OUT/mlflow_model/   an MLflow model (mlflow.sklearn.save_model) whose pyfunc answers with
                      predict_proba, for `mlflow models serve -m OUT/mlflow_model --env-manager local`
  OUT/model.onnx      the same model exported by skl2onnx (float input [None, features], no ZipMap),
                      for `[target] onnx = ...`
  OUT/model.pkl       the same model pickled, for examples/http/oip_server.py

The features are every column but the label and the member column, as floats, in file order: what
`mia audit` sends with `numeric = "rest"` and `standardize = false` (its encoding then passes them
through unchanged), so the served model, the ONNX export and the audit see the same numbers.
Needs scikit-learn, pandas, skl2onnx and mlflow.
"""

import argparse
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--label", default="label")
    ap.add_argument("--member", default="member")
    args = ap.parse_args()

    df = pd.read_csv(args.data)
    x = df.drop(columns=[args.label, args.member]).to_numpy(dtype=np.float32)
    y = df[args.label].to_numpy()
    members = df[args.member].to_numpy().astype(bool)
    clf = LogisticRegression(C=1.0, max_iter=1000)
    # Fitted on the float32 values as float64: exactly what the audit sends.
    clf.fit(x[members].astype(np.float64), y[members])

    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "model.pkl", "wb") as f:
        pickle.dump(clf, f)

    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    onx = convert_sklearn(clf, initial_types=[("input", FloatTensorType([None, x.shape[1]]))],
                          options={id(clf): {"zipmap": False}}, target_opset=15)
    (args.out / "model.onnx").write_bytes(onx.SerializeToString())

    import mlflow.sklearn

    mlflow.sklearn.save_model(clf, str(args.out / "mlflow_model"), pyfunc_predict_fn="predict_proba",
                              serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_PICKLE)
    acc = lambda m: float((clf.predict(x[m].astype(np.float64)) == y[m]).mean())
    print(f"{args.out}: {members.sum()} member rows, {x.shape[1]} features, {len(clf.classes_)} classes; "
          f"accuracy members {acc(members):.3f}, non-members {acc(~members):.3f}")


if __name__ == "__main__":
    main()
