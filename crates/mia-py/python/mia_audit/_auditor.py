"""Your training code, in-process: the tool draws the plan (which rows the target and each
reference model train on, as ``mia audit`` draws it), calls your ``train`` and ``predict``
for every model, and runs every attack on the outputs, reference attacks included."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from . import _native
from ._api import _array, score
from ._native import InputError
from ._report import Report

#: Increments when the cache layout or what a model's seed is changes.
_CACHE_VERSION = 1


def model_seed(seed: int, model: int) -> int:
    """The seed handed to ``train`` for model ``model`` (0 = target, 1..K = reference
    models): distinct per model, fits numpy's and scikit-learn's 32-bit seeds."""
    digest = hashlib.sha256(f"mia-audit model seed {seed} {model}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


class Auditor:
    """Audits the models your own code trains.

    ``train(X_subset, y_subset, seed) -> model`` and ``predict(model, X) -> logits`` (N × C,
    numpy; probabilities are accepted with ``outputs="probs"``) are called for the target
    and each of ``reference_models`` reference models on the rows the plan gives them; the
    target's outputs on the audit records are then scored with every attack, reference
    attacks included (``score`` with ``reference=``). With ``cache_dir``, every model's
    outputs are kept there, in a folder named by the plan, the data and the names of
    ``train`` and ``predict``, so an interrupted run resumes; a changed recipe under the same
    function names needs a fresh ``cache_dir`` (the cache cannot see inside the functions).

    Further keyword arguments go to :func:`mia_audit.score` (``fail_if``, ``bootstrap``,
    ``fpr``, ``attacks``, ...). ``progress``: True for a bar (tqdm when installed).
    ``timings`` holds, after :meth:`run`, the seconds spent in ``train``/``predict`` and in
    total."""

    def __init__(
        self,
        train: Callable[[np.ndarray, np.ndarray, int], Any],
        predict: Callable[[Any, np.ndarray], Any],
        X: Any,
        y: Any,
        *,
        reference_models: int = 16,
        seed: int = 0,
        cache_dir: Optional[os.PathLike] = None,
        target_fraction: float = 0.5,
        population_fraction: float = 0.2,
        outputs: str = "logits",
        progress: bool = True,
        **score_options: Any,
    ) -> None:
        if outputs not in ("logits", "probs"):
            raise InputError(f'outputs must be "logits" or "probs", got {outputs!r}')
        self.train, self.predict = train, predict
        # A DataFrame stays a DataFrame (the user's train() may want its column names).
        self.X = X if isinstance(X, np.ndarray) or hasattr(X, "iloc") else np.asarray(X)
        self.y = _array(y, "y")
        if self.y.ndim != 1 or self.y.dtype.kind not in "iub":
            raise InputError(f'array "y": expected a 1-D array of integer class labels, found a {self.y.dtype} '
                             f"array of shape {self.y.shape}")
        if len(self.X) != len(self.y):
            raise InputError(f'arrays "X" and "y": {len(self.X)} rows against {len(self.y)} labels')
        self.reference_models = reference_models
        self.seed = seed
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.target_fraction = target_fraction
        self.population_fraction = population_fraction
        self.outputs = outputs
        self.progress = progress
        self.score_options = score_options
        self.timings: Dict[str, float] = {}

    # ------------------------------------------------------------------ cache
    def _fingerprint(self) -> str:
        h = hashlib.sha256()
        x = np.ascontiguousarray(self.X) if isinstance(self.X, np.ndarray) else None
        meta = {
            "version": _CACHE_VERSION, "n": len(self.y), "k": self.reference_models, "seed": self.seed,
            "target_fraction": self.target_fraction, "population_fraction": self.population_fraction,
            "outputs": self.outputs, "train": getattr(self.train, "__qualname__", repr(self.train)),
            "predict": getattr(self.predict, "__qualname__", repr(self.predict)),
        }
        h.update(json.dumps(meta, sort_keys=True).encode())
        if x is not None and x.dtype.kind != "O":
            h.update(str((x.dtype.str, x.shape)).encode())
            h.update(x.data)
        elif hasattr(self.X, "iloc"):
            import pandas as pd

            h.update(str(list(self.X.columns)).encode())
            h.update(np.ascontiguousarray(pd.util.hash_pandas_object(self.X, index=False).to_numpy()).data)
        else:
            h.update(repr(self.X).encode())
        h.update(np.ascontiguousarray(self.y).data)
        return h.hexdigest()[:16]

    def _cached(self, folder: Optional[Path], m: int) -> Optional[np.ndarray]:
        if folder is None:
            return None
        path = folder / f"model_{m:04d}.npy"
        return np.load(path) if path.is_file() else None

    @staticmethod
    def _store(folder: Optional[Path], m: int, out: np.ndarray) -> None:
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"model_{m:04d}.npy"
        tmp = folder / f".model_{m:04d}.npy.tmp"
        with open(tmp, "wb") as f:
            np.save(f, out)
        os.replace(tmp, final)

    # ------------------------------------------------------------------ run
    def _rows(self, rows: np.ndarray) -> Any:
        if hasattr(self.X, "iloc"):
            return self.X.iloc[rows]
        return self.X[rows]

    def _outputs(self, model: Any, rows: np.ndarray, m: int) -> np.ndarray:
        out = np.asarray(self.predict(model, self._rows(rows)))
        if out.ndim != 2 or out.shape[0] != len(rows) or out.dtype.kind != "f":
            raise InputError(
                f"predict() for model {m}: expected a float array of shape ({len(rows)}, classes), found a "
                f"{out.dtype} array of shape {out.shape}"
            )
        return out

    def run(self) -> Report:
        start = time.perf_counter()
        user = 0.0
        n = len(self.y)
        audit_rows, pop_rows, target_member, keep = _native.draw_plan(
            n, self.reference_models, self.seed, self.target_fraction, self.population_fraction
        )
        eval_rows = np.concatenate([audit_rows, pop_rows])
        folder = None if self.cache_dir is None else self.cache_dir / self._fingerprint()
        k = self.reference_models
        bar = _bar(k + 1, self.progress)
        outs: List[np.ndarray] = []
        try:
            for m in range(k + 1):
                out = self._cached(folder, m)
                if out is None:
                    flags = target_member if m == 0 else keep[m - 1]
                    rows = audit_rows[flags]
                    t0 = time.perf_counter()
                    model = self.train(self._rows(rows), self.y[rows], model_seed(self.seed, m))
                    out = self._outputs(model, eval_rows, m)
                    user += time.perf_counter() - t0
                    self._store(folder, m, out)
                outs.append(out)
                bar(m)
        finally:
            bar(None)
        n_audit = len(audit_rows)
        target = outs[0]
        refs = np.stack(outs[1:]) if k > 0 else None
        labels = self.y[audit_rows]
        ref_args: Dict[str, Any] = {}
        if refs is not None:
            ref_args = {
                "reference": refs[:, :n_audit, :],
                "reference_signal": self.outputs,
                "keep": keep,
            }
            if len(pop_rows) > 0:
                ref_args.update(
                    population_target=target[n_audit:],
                    population_reference=refs[:, n_audit:, :],
                    population_labels=self.y[pop_rows],
                )
        kwargs = {"seed": self.seed, **self.score_options}
        report = score(
            target_member, **{self.outputs: target[:n_audit]}, labels=labels, ids=audit_rows, **ref_args, **kwargs
        )
        self.timings = {"user": user, "total": time.perf_counter() - start}
        return report


def _bar(total: int, progress: bool) -> Callable[[Optional[int]], None]:
    """A progress bar over the models: tqdm (notebook-aware) when installed, else a line on
    stderr per model."""
    if not progress:
        return lambda m: None
    try:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="models", unit="model")
    except ImportError:
        bar = None

    def step(m: Optional[int]) -> None:
        if m is None:
            if bar is not None:
                bar.close()
            return
        if bar is not None:
            bar.update(1)
        else:
            print(f"mia: model {m + 1}/{total}", file=sys.stderr)

    return step
