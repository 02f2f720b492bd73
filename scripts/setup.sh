#!/usr/bin/env bash
# Set up a fresh machine for dagrad: a dedicated virtual environment in .venv with the package
# and its test/notebook extras, and Graphviz's `dot` executable (installed with apt-get when
# missing and running as root). Sourced by scripts/main.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "dagrad needs Python >= 3.10; set PYTHON=/path/to/python3.x" >&2
  exit 1
fi

# A dedicated environment: the import names `autograd` and `nn` are also used by unrelated PyPI
# projects, and pip would silently let one overwrite the other in a shared environment.
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"

if ! command -v dot >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Graphviz (dot) with apt-get ..."
    (apt-get install -y -qq graphviz >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq graphviz >/dev/null; })
  else
    echo "Graphviz's 'dot' executable is missing: install it with 'sudo apt-get install graphviz'" \
         "(Debian/Ubuntu), 'brew install graphviz' (macOS) or from https://graphviz.org/download/" >&2
    exit 1
  fi
fi
# headless Chromium for the test of the backward-trace player (a real browser; Playwright drives it)
if [[ ! -x /usr/bin/chromium ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Chromium (for the HTML player's browser test) with apt-get ..."
    export DEBIAN_FRONTEND=noninteractive
    (apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null && apt-get install -y -qq chromium chromium-driver >/dev/null; })
  else
    echo "note: /usr/bin/chromium is missing, so the trace player's browser test cannot run;" \
         "install it with 'sudo apt-get install chromium'" >&2
  fi
fi
export MPLBACKEND=Agg
# one BLAS thread: on this project's small matrices (and 2-core machines) threads cost more than they give
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
