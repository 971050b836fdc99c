"""The wheel is abi3 (one build for CPython 3.9 and later): its Python layer must parse as
Python 3.9, which this machine's 3.11 interpreter checks with ast's feature_version, and
its annotations must not be evaluated at import (newer annotation syntax is valid 3.9
syntax but fails when evaluated)."""

import ast
from pathlib import Path

import mia_audit

PACKAGE = Path(mia_audit.__file__).parent


def test_python_layer_parses_as_python_3_9():
    files = sorted(PACKAGE.glob("*.py")) + sorted(PACKAGE.glob("*.pyi"))
    assert len(files) >= 5, files
    for f in files:
        ast.parse(f.read_text(), filename=str(f), feature_version=(3, 9))


def test_annotations_are_not_evaluated_at_import():
    # PEP 604 unions (`int | None`) and builtin generics (`list[str]`) in annotations fail
    # on 3.9 when evaluated; postponed evaluation keeps every annotation a string.
    for f in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(f.read_text())
        annotated = any(
            (isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and (n.returns or any(
                a.annotation for a in n.args.args + n.args.kwonlyargs)))
            or isinstance(n, ast.AnnAssign)
            for n in ast.walk(tree)
        )
        future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                     and any(a.name == "annotations" for a in n.names) for n in tree.body)
        assert future or not annotated, f"{f.name}: add `from __future__ import annotations`"


def test_wheel_is_abi3():
    # The extension module's file name carries the abi3 tag.
    native = [p.name for p in PACKAGE.iterdir() if p.name.startswith("_native") and p.suffix in (".so", ".pyd")]
    assert native and all(".abi3." in n or n.endswith(".pyd") for n in native), native
