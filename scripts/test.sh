#!/usr/bin/env bash
# The whole test suite on a fresh machine: setup, lint, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check kiosk tests scripts
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
