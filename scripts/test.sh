#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need that cargo does not
# (Chromium for the HTML report test; python3 with scikit-learn, pandas and skl2onnx for the
# training-command test, and mlflow for the deployed-model test's MLflow scoring server), then runs `cargo test --workspace` and the Python package's tests
# (scripts/test_python.sh: the wheel into a fresh venv, pytest). `.ci/run` calls this after
# `cargo fmt --check` and `cargo clippy`. Installing needs root or sudo (apt-get), and pip.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "scripts/test.sh: need root or sudo to run: $*" >&2
    exit 2
  fi
}

apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The HTML report test renders report.html in a real headless browser.
if ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium
fi

# The trainer test runs examples/trainer/train_sklearn.py (a user's training program); the
# HTTP-target test serves a model with `mlflow models serve` and examples/http/oip_server.py; the
# Python package's tests need a venv (Debian's python3 ships it separately).
if ! python3 -c "import sklearn, pandas, skl2onnx, mlflow" >/dev/null 2>&1; then
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    apt_install python3 python3-pip
  fi
  python3 -m pip install --quiet scikit-learn pandas skl2onnx mlflow \
    || python3 -m pip install --quiet --break-system-packages scikit-learn pandas skl2onnx mlflow
fi

if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
  apt_install python3-venv
fi

# Incremental caches only cost disk on a one-shot build.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
cargo test --workspace "$@"

# The Python package (crates/mia-py): wheel into a fresh venv, then pytest.
scripts/test_python.sh
