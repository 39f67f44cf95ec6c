#!/usr/bin/env bash
# The whole test suite on a fresh machine: setup, lint, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check kiosk tests scripts
.venv/bin/mypy
# two worker processes, one per core of the CI machine (tests/conftest.py keeps each file on one
# worker); `scripts/test.sh -n 0` runs everything in one process
.venv/bin/python -m pytest -n 2 "$@"
