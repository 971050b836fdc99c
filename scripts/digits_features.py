#!/usr/bin/env python3
"""Write fixtures/scores/digits_features.npy: the features of the records of the digits score
fixtures (scripts/make_fixtures.py, make_digits: scikit-learn's bundled digits, X / 16, rows in
the fixtures' order), float32, for `mia score --features` (the blind check).

    python3 scripts/digits_features.py
"""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

ROOT = Path(__file__).resolve().parent.parent

X, y = load_digits(return_X_y=True)
labels = np.load(ROOT / "fixtures" / "scores" / "digits_logreg_labels.npy")
assert np.array_equal(labels, y), "the digits score fixtures are not in load_digits order"
np.save(ROOT / "fixtures" / "scores" / "digits_features.npy", (X / 16.0).astype(np.float32))
print("wrote fixtures/scores/digits_features.npy", X.shape)
