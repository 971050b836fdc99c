"""A training program for `mia audit`'s [trainer] (see examples/adult_trainer.toml).

mia-audit calls it once per model, as an argument vector (no shell):

    python3 examples/trainer/train_sklearn.py --train {train} --out {model} --seed {seed}

`{train}` is a CSV with a header: the audit's encoded features (the columns listed in the
report folder's encoding.json) and a last column `label` with the class index. The program
fits the model the way the target was fitted and writes it as ONNX to `{model}`; its input
is the same feature columns as float32, its output the class probabilities. Replace the
model below with your own recipe: the audit only needs the ONNX file.
"""
import argparse

import numpy as np
import pandas as pd
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.neural_network import MLPClassifier


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    rows = pd.read_csv(args.train)
    y = rows.pop("label").to_numpy()
    x = rows.to_numpy(dtype=np.float32)
    # The audit's seeds are 64-bit; scikit-learn takes 32.
    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=60, random_state=args.seed % 2**32)
    model.fit(x, y)
    onx = convert_sklearn(
        model,
        initial_types=[("input", FloatTensorType([None, x.shape[1]]))],
        options={id(model): {"zipmap": False}},
        target_opset=15,
    )
    with open(args.out, "wb") as f:
        f.write(onx.SerializeToString())


if __name__ == "__main__":
    main()
