#!/usr/bin/env bash
# Set up (see setup.sh) and run the main job: train a digits classifier with a progress bar,
# print its test accuracy, and write its graph image and loss curve to out/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
exec .venv/bin/python examples/train_digits.py "$@"
