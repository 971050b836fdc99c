#!/usr/bin/env bash
# The Python package's tests: builds the wheel from crates/mia-py the way the README installs
# it (pip, maturin from PyPI, a release build), installs it into a fresh virtual environment
# with the test dependencies (pytest, pandas, scikit-learn, tqdm, and mlflow for the
# tracking-server test), then runs pytest. The wheel is abi3 (CPython 3.9 and later): every
# other CPython 3.9-3.13 found on the machine (pyenv's, or python3.X on PATH) gets the same
# wheel in a venv of its own and the fast tests (score, audit, compatibility).
# The tests compare reports with the `mia` binary's, so build it first (`cargo test
# --workspace` does; else MIA_BIN=path). scripts/test.sh calls this after `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

work="$(mktemp -d /tmp/mia-py-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install --quiet --upgrade pip
"$py" -m pip install --quiet pytest numpy pandas scikit-learn tqdm mlflow
# The wheel's Rust build shares the workspace's target folder (cargo finds the workspace).
"$py" -m pip wheel --quiet --no-deps --wheel-dir "$work/wheels" ./crates/mia-py
wheel="$(ls "$work"/wheels/mia_audit-*.whl)"
"$py" -m pip install --quiet "$wheel"
if [ -z "${MIA_BIN:-}" ]; then
  for b in target/debug/mia target/release/mia; do
    if [ -x "$b" ]; then MIA_BIN="$root/$b"; break; fi
  done
fi
export MIA_BIN="${MIA_BIN:?build the mia binary first (cargo build -p mia-cli) or set MIA_BIN}"
# Run from outside the source tree, so `import mia_audit` is the installed wheel.
cd "$work"
"$py" -m pytest -q -p no:cacheprovider "$root/crates/mia-py/tests" "$@"

main_version="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
tested="$main_version"
for minor in 9 10 11 12 13; do
  v="3.$minor"
  [ "$v" = "$main_version" ] && continue
  other=""
  for candidate in "$HOME"/.pyenv/versions/"$v".*/bin/python "$(command -v "python$v" || true)"; do
    if [ -x "$candidate" ]; then other="$candidate"; break; fi
  done
  [ -n "$other" ] || continue
  echo "scripts/test_python.sh: the same wheel on Python $v ($other)"
  "$other" -m venv "$work/venv$v"
  "$work/venv$v/bin/python" -m pip install --quiet pytest numpy pandas scikit-learn "$wheel"
  "$work/venv$v/bin/python" -m pytest -q -p no:cacheprovider "$root/crates/mia-py/tests/test_score.py" \
    "$root/crates/mia-py/tests/test_audit.py" "$root/crates/mia-py/tests/test_compat.py"
  tested="$tested $v"
done
echo "scripts/test_python.sh: the wheel was tested on Python $tested"
