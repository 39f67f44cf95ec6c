#!/usr/bin/env bash
# Provision a Debian/Ubuntu machine as the reference collection server (see docs/station.md).
#
#   sudo scripts/install-server.sh [options]
#
#   --dry-run          print every action, change nothing (no root needed)
#   --host ADDRESS     address to listen on ([server] host; default loopback, behind a TLS proxy)
#   --port N           port to listen on ([server] port)
#   --keys-file FILE   an existing code key file -> /etc/kiosk-server/code-keys.json (0600);
#                      without it a new one is generated on the first run
#   --no-start         install and enable, but do not start anything now
#
# Safe to run again: it installs what is missing, keeps an existing config,
# admin token and key file, and restarts the server so it runs the new version.
set -euo pipefail
source "$(dirname "$0")/install-common.sh"

HOST="" PORT="" KEYS_FILE="" START=1
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    --host) HOST=${2:?--host needs a value}; shift ;;
    --port) PORT=${2:?--port needs a value}; shift ;;
    --keys-file) KEYS_FILE=${2:?--keys-file needs a file}; shift ;;
    --no-start) START=0 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
[ -z "$PORT" ] || [[ $PORT =~ ^[0-9]{1,5}$ ]] || die "--port wants a number"
[ -z "$KEYS_FILE" ] || [ -r "$KEYS_FILE" ] || die "cannot read $KEYS_FILE"
need_root

ETC=/etc/kiosk-server
DATA=/var/lib/kiosk-server
CONFIG=$ETC/server.toml
KEYS=$ETC/code-keys.json
UNITS=(kiosk-server.service kiosk-server-purge.service kiosk-server-purge.timer)

say "system packages"
apt_install python3 python3-venv sqlite3

say "the kiosk-server user"
system_user kiosk-server "$DATA" ""

say "the server software in $VENV"
venv server

say "config in $ETC, data in $DATA"
run install -d -m 0750 -o root -g kiosk-server "$ETC"
run install -d -m 0700 -o kiosk-server -g kiosk-server "$DATA"
if [ ! -e "$CONFIG" ]; then
  run "$KIOSK" config defaults --server --out "$CONFIG"
  set_key "$CONFIG" codes key_file "\"$KEYS\""
else
  say "$CONFIG: kept"
fi
[ -z "$HOST" ] || set_key "$CONFIG" server host "$(toml_string "$HOST")"
[ -z "$PORT" ] || set_key "$CONFIG" server port "$PORT"
run chown root:kiosk-server "$CONFIG"
run chmod 0640 "$CONFIG"

say "secrets: the admin token and the code keys (mode 0600, owned by kiosk-server)"
if [ ! -e "$ETC/admin.token" ]; then
  run "$KIOSK" server --config "$CONFIG" admin-token --create
fi
run chown kiosk-server:kiosk-server "$ETC/admin.token"
run chmod 0600 "$ETC/admin.token"
if [ -n "$KEYS_FILE" ]; then
  run install -m 0600 -o kiosk-server -g kiosk-server "$KEYS_FILE" "$KEYS"
elif [ ! -e "$KEYS" ]; then
  run "$VENV/bin/python" -c "import sys; from kiosk.codes.keyring import KeyRing; KeyRing.generate(sys.argv[1])" "$KEYS"
  run chown kiosk-server:kiosk-server "$KEYS"
  run chmod 0600 "$KEYS"
fi

say "services"
install_units "${UNITS[@]}"
run systemctl enable kiosk-server.service kiosk-server-purge.timer
if [ "$START" = 1 ] && systemd_running; then
  run systemctl start kiosk-server-purge.timer
  run systemctl restart kiosk-server.service
fi

say "done. Issue a token for each station and copy it to the station (install-station.sh --token-file):"
echo "  sudo -u kiosk-server $KIOSK server --config $CONFIG token issue --station STATION-ID --out /tmp/STATION-ID.token"
echo "Stations need the same code key file: copy $KEYS to them (install-station.sh --keys-file)."
