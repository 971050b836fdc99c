#!/usr/bin/env bash
# The Python package's tests: builds the wheel from crates/mia-py the way the README installs
# it (`pip install ./crates/mia-py`, maturin from PyPI, a release build), into a fresh
# virtual environment with the test dependencies (pytest, pandas, scikit-learn, tqdm, and
# mlflow for the tracking-server test), then runs pytest. The tests compare reports with the
# `mia` binary's, so build it first (`cargo test --workspace` does; else MIA_BIN=path).
# scripts/test.sh calls this after `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d /tmp/mia-py-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install --quiet --upgrade pip
"$py" -m pip install --quiet pytest numpy pandas scikit-learn tqdm mlflow
# The wheel's Rust build shares the workspace's target folder (cargo finds the workspace).
"$py" -m pip install --quiet ./crates/mia-py
if [ -z "${MIA_BIN:-}" ]; then
  for b in target/debug/mia target/release/mia; do
    if [ -x "$b" ]; then MIA_BIN="$PWD/$b"; break; fi
  done
fi
export MIA_BIN="${MIA_BIN:?build the mia binary first (cargo build -p mia-cli) or set MIA_BIN}"
# Run from outside the source tree, so `import mia_audit` is the installed wheel.
cd "$work"
"$py" -m pytest -q "$OLDPWD/crates/mia-py/tests" "$@"
