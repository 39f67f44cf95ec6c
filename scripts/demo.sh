#!/usr/bin/env bash
# Set up and run the station's demo: embedded server, demo camera when there is
# no camera, and headless when there is no display.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/kiosk demo "$@"
