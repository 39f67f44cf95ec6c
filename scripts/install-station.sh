#!/usr/bin/env bash
# Provision a Debian/Ubuntu machine as a capture station (see docs/station.md).
#
#   sudo scripts/install-station.sh [options]
#
#   --dry-run              print every action, change nothing (no root needed)
#   --station-id ID        this station's id ([station] id)
#   --server-url URL       the collection server ([sync] server_url)
#   --token-file FILE      the station token issued by the server -> /etc/kiosk/station.token (0600)
#   --keys-file FILE       the code key file shared with the server -> /etc/kiosk/code-keys.json (0600)
#   --camera VENDOR:PRODUCT  give only this USB camera the name /dev/kiosk-camera (ids from lsusb)
#   --no-start             install and enable, but do not start anything now
#
# Safe to run again: it installs what is missing, keeps an existing config
# (only the keys given as options are changed) and restarts running services
# so that they pick up a new version.
set -euo pipefail
source "$(dirname "$0")/install-common.sh"

STATION_ID="" SERVER_URL="" TOKEN_FILE="" KEYS_FILE="" CAMERA="" START=1
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    --station-id) STATION_ID=${2:?--station-id needs a value}; shift ;;
    --server-url) SERVER_URL=${2:?--server-url needs a value}; shift ;;
    --token-file) TOKEN_FILE=${2:?--token-file needs a file}; shift ;;
    --keys-file) KEYS_FILE=${2:?--keys-file needs a file}; shift ;;
    --camera) CAMERA=${2:?--camera needs VENDOR:PRODUCT}; shift ;;
    --no-start) START=0 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
if [ -n "$CAMERA" ] && ! [[ $CAMERA =~ ^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$ ]]; then
  die "--camera wants VENDOR:PRODUCT as lsusb prints it, e.g. 046d:0825"
fi
for f in "$TOKEN_FILE" "$KEYS_FILE"; do
  [ -z "$f" ] || [ -r "$f" ] || die "cannot read $f"
done
need_root

ETC=/etc/kiosk
DATA=/var/lib/kiosk
CONFIG=$ETC/kiosk.toml
UNITS=(kiosk-station.service kiosk-sync.service kiosk-purge.service kiosk-purge.timer)

say "system packages"
apt_install \
  python3 python3-venv \
  cage \
  libzbar0 fonts-noto-cjk \
  libgl1 libegl1 libgles2 libxkbcommon0 libwayland-client0 libwayland-cursor0 libwayland-egl1 \
  libdbus-1-3 libfontconfig1 \
  v4l-utils

say "the kiosk user (in the video group, for the camera)"
system_user kiosk "$DATA" "video render input"

say "the station software in $VENV"
venv station

say "config in $ETC, data in $DATA"
run install -d -m 0750 -o root -g kiosk "$ETC"
run install -d -m 0700 -o kiosk -g kiosk "$DATA"
if [ ! -e "$CONFIG" ]; then
  run "$KIOSK" config defaults --out "$CONFIG"
  set_key "$CONFIG" camera source '"/dev/kiosk-camera"'
else
  say "$CONFIG: kept"
fi
[ -z "$STATION_ID" ] || set_key "$CONFIG" station id "$(toml_string "$STATION_ID")"
[ -z "$SERVER_URL" ] || set_key "$CONFIG" sync server_url "$(toml_string "$SERVER_URL")"
run chown root:kiosk "$CONFIG"
run chmod 0640 "$CONFIG"
if [ -n "$TOKEN_FILE" ]; then
  run install -m 0600 -o kiosk -g kiosk "$TOKEN_FILE" "$ETC/station.token"
elif [ ! -e "$ETC/station.token" ]; then
  warn "no station token yet: records queue up until one is installed (--token-file)"
fi
if [ -n "$KEYS_FILE" ]; then
  run install -m 0600 -o kiosk -g kiosk "$KEYS_FILE" "$ETC/code-keys.json"
elif [ ! -e "$ETC/code-keys.json" ]; then
  warn "no code key file yet: collection codes cannot be read until one is installed (--keys-file)"
fi

say "the camera's stable name /dev/kiosk-camera"
# a minimal system may have no udev rules folder yet
run install -d -m 0755 /etc/udev/rules.d
if [ -n "$CAMERA" ]; then
  sed "/^#/!s|SYMLINK+=\"kiosk-camera\"|ATTRS{idVendor}==\"${CAMERA%%:*}\", ATTRS{idProduct}==\"${CAMERA##*:}\", &|" \
    "$SRC/systemd/99-kiosk-camera.rules" | put_file 0644 root:root /etc/udev/rules.d/99-kiosk-camera.rules
else
  run install -m 0644 "$SRC/systemd/99-kiosk-camera.rules" /etc/udev/rules.d/99-kiosk-camera.rules
fi
if command -v udevadm >/dev/null; then
  run udevadm control --reload
  run udevadm trigger --subsystem-match=video4linux --action=change
fi

say "the display: cage on tty1, never blanking, never sleeping"
run install -m 0644 "$SRC/systemd/kiosk-station.pam" /etc/pam.d/kiosk-station
run install -d -m 0755 /etc/systemd/logind.conf.d
run install -m 0644 "$SRC/systemd/logind-kiosk.conf" /etc/systemd/logind.conf.d/kiosk.conf
run systemctl mask sleep.target suspend.target hibernate.target hybrid-sleep.target
# The text console blanks after 10 minutes by default; the kernel option turns that off from boot.
if [ -d /etc/default ]; then
  run install -d -m 0755 /etc/default/grub.d
  put_file 0644 root:root /etc/default/grub.d/kiosk.cfg <<'EOF'
# Capture station: the console never blanks (the compositor does not blank either).
GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT consoleblank=0"
EOF
  if command -v update-grub >/dev/null; then
    run update-grub
  fi
fi
run systemctl set-default graphical.target

say "services"
install_units "${UNITS[@]}"
run systemctl enable kiosk-station.service kiosk-sync.service kiosk-purge.timer
if [ "$START" = 1 ] && systemd_running; then
  run systemctl start kiosk-sync.service kiosk-purge.timer
  run systemctl try-restart kiosk-station.service kiosk-sync.service
fi

say "done; check the station with:"
echo "  sudo -u kiosk $KIOSK doctor --config $CONFIG"
echo "then reboot (or: systemctl start kiosk-station) to open the kiosk on the screen."
