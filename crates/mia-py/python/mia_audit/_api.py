"""The audits: ``score`` (outputs you have), ``audit`` (a model audit from a config),
``synth`` (a synthetic-data audit). Each is one call into the Rust library, with the
``mia`` command's options, defaults and report."""

from __future__ import annotations

import copy
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from ._native import InputError
from ._report import GateFailed, Report

PathLike = Union[str, "os.PathLike[str]"]


def _is_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def _array(x: Any, name: str) -> np.ndarray:
    """An array without a copy where numpy allows one: numpy arrays as they are, pandas
    objects through ``to_numpy()``, anything else through ``__array__`` / ``np.asarray``."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "to_numpy"):
        return x.to_numpy()
    try:
        return np.asarray(x)
    except Exception as e:  # a ragged list, an object numpy cannot convert
        raise InputError(f'array "{name}": cannot be read as a numpy array: {e}') from None


def _ids(x: Any) -> Any:
    a = _array(x, "ids")
    if a.dtype.kind in "iu":
        return a
    if a.dtype.kind in "OUS":
        out = []
        for i, v in enumerate(a.tolist()):
            if not isinstance(v, (str, int)) or isinstance(v, bool):
                raise InputError(f'array "ids": row {i + 1}: expected a str or int id, found {type(v).__name__}')
            out.append(str(v))
        return out
    raise InputError(f'array "ids": expected integer or text ids, found a {a.dtype} array')


def _non_finite(value: Any, where: str) -> Optional[Tuple[str, Any]]:
    """The first NaN or infinite number in a JSON-like value, as (where, value)."""
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return where, value
    if isinstance(value, Mapping):
        for k, v in value.items():
            found = _non_finite(v, f"{where}.{k}" if where else str(k))
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = _non_finite(v, f"{where}[{i}]")
            if found:
                return found
    return None


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):  # numpy scalars (np.int64 seeds, np.float64 rates) as Python numbers
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    raise TypeError(f"{type(o).__name__} is not a JSON value")


def _to_json(value: Any, what: str) -> str:
    """``json.dumps`` for the Rust side: NaN and infinities (which JSON cannot carry) refused
    with an InputError naming where they are, numpy scalars and arrays as plain values."""
    found = _non_finite(value, "")
    if found:
        raise InputError(f"{what}{' ' + found[0] if found[0] else ''}: expected a finite number, found {found[1]}")
    try:
        return json.dumps(value, default=_json_default)
    except TypeError as e:
        raise InputError(f"{what}: {e}") from None


def _finish(native: "_native.NativeReport", raise_on_fail: bool) -> Report:
    report = Report(native)
    if raise_on_fail and not report.passed:
        raise GateFailed(report)
    return report


def _rules(fail_if: Iterable[str]) -> List[str]:
    """Gate rules: one rule given as a string, or several."""
    return [fail_if] if isinstance(fail_if, str) else list(fail_if)


def _options(fail_if: Iterable[str], options: Mapping[str, Any], **named: Any) -> str:
    opts: Dict[str, Any] = {k: v for k, v in named.items() if v is not None}
    opts["fail_if"] = _rules(fail_if)
    for k, v in options.items():
        if k in opts:
            raise TypeError(f"option {k!r} given twice")
        opts[k] = [float(f) for f in v] if k in ("fpr", "base_rates") else v
    return _to_json(opts, "option")


def score(
    member: Any,
    *,
    logits: Any = None,
    probs: Any = None,
    loss: Any = None,
    labels: Any = None,
    ids: Any = None,
    attacks: Optional[Sequence[str]] = None,
    seed: int = 0,
    bootstrap: int = 1000,
    fpr: Optional[Sequence[float]] = None,
    fail_if: Iterable[str] = (),
    raise_on_fail: bool = False,
    reference: Any = None,
    keep: Any = None,
    reference_signal: Optional[str] = None,
    reference_ids: Any = None,
    population_target: Any = None,
    population_reference: Any = None,
    population_labels: Any = None,
    features: Any = None,
    **options: Any,
) -> Report:
    """Audits a model's outputs on records whose membership you know, as ``mia score``.

    ``member`` (bool or 0/1 per record) and one of ``logits`` / ``probs`` (N × C) with
    ``labels``, or ``loss`` (N): numpy arrays, pandas Series/DataFrames or anything with
    ``__array__``; float32 and float64 outputs are read in place, not copied. ``ids``:
    integer or text record ids (default: 1-based row numbers). With ``reference`` (the
    reference models' K × N φ or losses, or K × N × C ``reference_signal="logits"`` /
    ``"probs"``) and ``keep`` (K × N, which records each trained on), the reference attacks
    (LiRA, RMIA, Attack-R, ...) run too; ``population_*`` add held-out population records.
    ``features`` (N × d, one row per record in the same order) runs the blind check: classifiers
    that see only the features, never the model (the report's ``blind`` section); and the
    ``quantile`` attack, which sets each record's φ against the (1 − ``quantile_alpha``) quantile
    of non-members' φ predicted from its features (default ``quantile_alpha=0.01``).

    Every array may instead be a path to a ``.npy`` file: then the files are read as by
    ``mia score --logits ... --member ...`` (and recorded in the report's inputs).

    Further options have the names of ``mia score``'s flags: ``confidence``, ``delta``,
    ``base_rates``, ``fpr_rule``, ``folds``, ``slices``, ``baseline``, ``claimed_epsilon``,
    ``claimed_delta``, ``one_run``, ``prob_tolerance``, ``skip_invalid_rows``, ``top``,
    ``min_class_size``, ``bootstrap_min_class_size``, ``attack_config``, ``lira_center``,
    ``lira_variance``, ``lira_std``, ``lira_offline``, ``rmia_gamma``, ``rmia_a``,
    ``quantile_alpha``.

    Raises :class:`InputError` (a ``ValueError``) with the command's one-line message on
    bad input, and :class:`GateFailed` when a ``fail_if`` rule fires and
    ``raise_on_fail=True``.
    """
    given = [(k, v) for k, v in (("logits", logits), ("probs", probs), ("loss", loss)) if v is not None]
    if len(given) != 1 and not (len(given) == 2 and loss is None and _is_path(logits)):
        raise InputError("give exactly one of logits=, probs= or loss=")
    opts = _options(
        fail_if, options, attacks=list(attacks) if attacks is not None else None, seed=seed, bootstrap=bootstrap,
        fpr=[float(f) for f in fpr] if fpr is not None else None,
    )
    arrays = [member, labels, ids, reference, keep, reference_ids, population_target, population_reference,
              population_labels, features] + [v for _, v in given]
    if _is_path(member):
        if loss is not None:
            raise InputError("loss= as a file: put it in a score table (CSV/Parquet) and use score_file()")
        if any(a is not None and not _is_path(a) for a in arrays):
            raise InputError("give every input as a path (.npy files) or every input as an array, not a mix")
        files = {
            "member": member, "logits": logits, "probs": probs, "labels": labels, "ids": ids,
            "reference": reference, "reference_signal": reference_signal, "keep": keep,
            "reference_ids": reference_ids, "population_target": population_target,
            "population_reference": population_reference, "population_labels": population_labels,
            "features": features,
        }
        sources = {k: v for k, v in files.items() if v is not None}
        return _finish(_native.score_files(_to_json(sources, "inputs"), opts), raise_on_fail)
    kind, outputs = given[0]
    ref = None
    if reference is not None:
        ref = {
            "reference": _array(reference, "reference"),
            "signal": reference_signal,
            "keep": None if keep is None else _array(keep, "keep"),
            "ids": None if reference_ids is None else _array(reference_ids, "reference_ids"),
            "population_target": None if population_target is None else _array(population_target, "population_target"),
            "population_reference": None
            if population_reference is None
            else _array(population_reference, "population_reference"),
            "population_labels": None if population_labels is None else _array(population_labels, "population_labels"),
        }
    elif any(a is not None for a in (keep, reference_signal, reference_ids, population_target, population_reference,
                                     population_labels)):
        raise InputError("keep=, reference_signal=, reference_ids= and population_*= need reference=")
    native = _native.score(
        _array(member, "member"),
        kind,
        _array(outputs, kind),
        None if labels is None else _array(labels, "labels"),
        None if ids is None else _ids(ids),
        opts,
        ref,
        None if features is None else _array(features, "features"),
    )
    return _finish(native, raise_on_fail)


def score_file(
    path: PathLike,
    *,
    columns: Optional[Mapping[str, str]] = None,
    attacks: Optional[Sequence[str]] = None,
    seed: int = 0,
    bootstrap: int = 1000,
    fpr: Optional[Sequence[float]] = None,
    fail_if: Iterable[str] = (),
    raise_on_fail: bool = False,
    **options: Any,
) -> Report:
    """Audits a score table (CSV, CSV.gz or Parquet), as ``mia score FILE``. ``columns``
    renames the expected columns (``id``, ``member``, ``label``, ``loss``, ``logit_prefix``,
    ``prob_prefix``); reference files go in ``reference=``, ``keep=``, ... as paths."""
    ref_keys = ("reference", "reference_signal", "keep", "reference_ids", "population_target",
                "population_reference", "population_labels")
    sources: Dict[str, Any] = {"file": path, "columns": dict(columns or {})}
    for k in ref_keys:
        v = options.pop(k, None)
        if v is not None:
            sources[k] = v
    opts = _options(
        fail_if, options, attacks=list(attacks) if attacks is not None else None, seed=seed, bootstrap=bootstrap,
        fpr=[float(f) for f in fpr] if fpr is not None else None,
    )
    return _finish(_native.score_files(_to_json(sources, "inputs"), opts), raise_on_fail)


def llm(
    path: PathLike,
    *,
    attacks: Optional[Sequence[str]] = None,
    min_k: float = 0.2,
    blind: bool = True,
    seed: int = 0,
    bootstrap: int = 1000,
    fpr: Optional[Sequence[float]] = None,
    fail_if: Iterable[str] = (),
    raise_on_fail: bool = False,
    **options: Any,
) -> Report:
    """Audits a language model from its per-token log-probabilities, as ``mia llm FILE``.

    ``path``: JSON Lines (``.jsonl``, ``.jsonl.gz``), one object per text with ``id``,
    ``member`` (0/1), ``logprobs`` (the model's log-probability of each actual token) and
    optionally ``text``, ``mean`` and ``std`` (per token, over the vocabulary: Min-K%++) and
    ``ref_logprobs`` (a reference model's) and ``lowercase_logprobs`` (the model's, of the
    lowercased text's own tokens); ``examples/llm/export_logprobs.py`` writes it from a Hugging
    Face model. Attacks: ``loss``, ``zlib``, ``lowercase``, ``min_k`` (the lowest ``min_k`` share of
    tokens), ``min_k_plus_plus``, ``reference``, ``learned``; with the texts, the blind check
    (``blind=False`` skips it). Further options as :func:`score`'s evaluation options
    (``confidence``, ``folds``, ``baseline``, ``claimed_epsilon``, ``skip_invalid_rows``, ...).
    """
    opts = _options(
        fail_if, options, attacks=list(attacks) if attacks is not None else None, seed=seed, bootstrap=bootstrap,
        fpr=[float(f) for f in fpr] if fpr is not None else None, min_k=min_k, blind=blind,
    )
    return _finish(_native.llm(os.fspath(path), opts), raise_on_fail)


# ---------------------------------------------------------------------------------- configs

def _load_config(config: Union[PathLike, Mapping[str, Any]]) -> Tuple[Dict[str, Any], str, Path, Optional[str]]:
    """(config as a dict, its name for messages, the folder relative paths resolve against,
    the original TOML text when it was a file)."""
    if _is_path(config):
        path = Path(config)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise InputError(f"{path}: cannot read: {e.strerror or e}") from None
        return json.loads(_native.toml_to_json(text, str(path))), str(path), path.parent, text
    if isinstance(config, Mapping):
        return copy.deepcopy(dict(config)), "<config dict>", Path.cwd(), None
    raise TypeError(f"config must be a path or a dict, not {type(config).__name__}")


class _Frames:
    """DataFrames given instead of files, written as CSV into a private folder for the run
    and named in the report as ``<DataFrame name>`` instead of their temporary path."""

    def __init__(self) -> None:
        self._dir: Optional[tempfile.TemporaryDirectory] = None
        self.written: List[Tuple[str, str]] = []

    def path(self, frame: Any, name: str, header: bool = True) -> str:
        if not hasattr(frame, "to_csv"):
            raise TypeError(f"{name}: expected a pandas DataFrame or a path, not {type(frame).__name__}")
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="mia-frames-")
        path = os.path.join(self._dir.name, f"{name}.csv")
        frame.to_csv(path, index=False, header=header)
        self.written.append((path, f"<DataFrame {name}>"))
        return path

    def rename(self, native: "_native.NativeReport") -> None:
        for path, name in self.written:
            native.rename_input(path, name)

    def close(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()


def _as_csv_table(section: Dict[str, Any], path: str) -> None:
    """Points a table section at a DataFrame's CSV (with a header row, its column names)."""
    section["path"] = path
    section["format"] = "csv"
    section["header"] = True
    section.pop("names", None)


def _progress_bar(progress: Union[bool, Callable[..., None], None]) -> Optional[Callable[[str, Any, Any], None]]:
    if callable(progress):
        return progress
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        tqdm = None
    state: Dict[str, Any] = {"bar": None}

    def report(kind: str, a: Any, b: Any) -> None:
        if kind == "planned":
            if tqdm is not None:
                state["bar"] = tqdm(total=a, desc="models", unit="model")
            else:
                print(f"mia: {a} models ({b} to train)", file=sys.stderr)
        elif kind == "model":
            if state["bar"] is not None:
                state["bar"].update(1)
        elif kind == "stage":
            if state["bar"] is not None:
                state["bar"].close()
                state["bar"] = None
            print(f"mia: {a}", file=sys.stderr)
        elif kind == "queried":
            print(f"mia: target endpoint: {a} requests sent, {b} batches answered from the cache", file=sys.stderr)

    return report


def _settings(fail_if: Iterable[str], baseline: Optional[PathLike], skip_invalid_rows: bool, keep_work: bool) -> str:
    s: Dict[str, Any] = {"fail_if": _rules(fail_if), "skip_invalid_rows": skip_invalid_rows, "keep_work": keep_work}
    if baseline is not None:
        s["baseline"] = baseline
    return _to_json(s, "settings")


def _run_config(
    config: Union[PathLike, Mapping[str, Any]],
    tables: Callable[[Dict[str, Any], _Frames], bool],
    run: Callable[[str, str, str, Any], "_native.NativeReport"],
    progress: Union[bool, Callable[[str, Any, Any], None]],
    raise_on_fail: bool,
) -> Report:
    """Loads the config, lets `tables` put DataFrames in it (True when it changed the
    config), runs it and names the DataFrames in the report."""
    cfg, name, base, text = _load_config(config)
    frames = _Frames()
    try:
        changed = tables(cfg, frames)
        # A config file unchanged is passed as written, so messages point into it.
        toml = text if text is not None and not changed else _native.json_to_toml(_to_json(cfg, name))
        try:
            native = run(toml, name, str(base), _progress_bar(progress))
        except InputError as e:
            if toml is text:
                raise
            # A line and column in TOML made from a dict mean nothing to the caller.
            raise InputError(re.sub(r"^([^:]*): line \d+, column \d+: ", r"\1: ", str(e))) from None
        frames.rename(native)
    finally:
        frames.close()
    return _finish(native, raise_on_fail)


def audit(
    config: Union[PathLike, Mapping[str, Any]],
    *,
    data: Any = None,
    artifacts: Optional[PathLike] = None,
    fail_if: Iterable[str] = (),
    raise_on_fail: bool = False,
    baseline: Optional[PathLike] = None,
    skip_invalid_rows: bool = False,
    keep_work: bool = False,
    progress: Union[bool, Callable[[str, Any, Any], None]] = False,
) -> Report:
    """Runs a model audit from a config, as ``mia audit CONFIG``: a TOML path, or a dict
    with the TOML's structure (relative paths then resolve against the working folder).
    ``data``: a pandas DataFrame used as the ``[data]`` table (its columns by name).
    ``artifacts``: a folder keeping the trained models' outputs (a rerun resumes from it).
    ``progress``: True for a progress bar, or a callable ``(kind, a, b)``."""
    def tables(cfg: Dict[str, Any], frames: _Frames) -> bool:
        if data is not None:
            _as_csv_table(cfg.setdefault("data", {}), frames.path(data, "data"))
        return data is not None

    def run(toml: str, name: str, base: str, progress_cb: Any) -> "_native.NativeReport":
        settings = _settings(fail_if, baseline, skip_invalid_rows, keep_work)
        return _native.audit(toml, name, base, None if artifacts is None else os.fspath(artifacts), settings,
                             progress_cb)

    return _run_config(config, tables, run, progress, raise_on_fail)


def synth(
    config: Union[PathLike, Mapping[str, Any]],
    *,
    data: Any = None,
    synthetic: Any = None,
    holdout: Any = None,
    fail_if: Iterable[str] = (),
    raise_on_fail: bool = False,
    baseline: Optional[PathLike] = None,
    skip_invalid_rows: bool = False,
    keep_work: bool = False,
    progress: Union[bool, Callable[[str, Any, Any], None]] = False,
) -> Report:
    """Runs a synthetic-data audit from a config, as ``mia synth CONFIG``. ``data`` (the
    real records), ``synthetic`` (one DataFrame or a list: the released synthetic tables)
    and ``holdout`` (real records the generator never saw) may be pandas DataFrames
    instead of the config's files."""
    def tables(cfg: Dict[str, Any], frames: _Frames) -> bool:
        if data is not None:
            _as_csv_table(cfg.setdefault("data", {}), frames.path(data, "data"))
        if synthetic is not None or holdout is not None:
            release = cfg.setdefault("release", {})
            # Released tables are read with [data]'s columns: a headerless data file (with
            # `names`) wants headerless synthetic and holdout files.
            header = bool(cfg.get("data", {}).get("header", True))
            if synthetic is not None:
                many = isinstance(synthetic, (list, tuple))
                tables = synthetic if many else [synthetic]
                release["synthetic"] = [
                    t if _is_path(t) else frames.path(t, f"synthetic_{i}" if many else "synthetic", header)
                    for i, t in enumerate(tables)
                ]
            if holdout is not None:
                release["holdout"] = holdout if _is_path(holdout) else frames.path(holdout, "holdout", header)
        return data is not None or synthetic is not None or holdout is not None

    def run(toml: str, name: str, base: str, progress_cb: Any) -> "_native.NativeReport":
        return _native.synth(toml, name, base, _settings(fail_if, baseline, skip_invalid_rows, keep_work), progress_cb)

    return _run_config(config, tables, run, progress, raise_on_fail)
