#!/usr/bin/env bash
# Set up (see setup.sh) and run every test: the autograd core, graph images, nn, and the notebooks.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
.venv/bin/ruff check --quiet .
exec .venv/bin/python -m pytest -q "$@"
