"""``kiosk config``: write the commented default files, check a file, hash a PIN."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

from kiosk import config, durable


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``kiosk config``."""
    sub = p.add_subparsers(dest="action", required=True)
    w = sub.add_parser("defaults", help="print (or write) the commented default config")
    w.add_argument("--server", action="store_true", help="the server's file instead of the station's")
    w.add_argument("--out", type=Path, help="write here instead of printing")
    c = sub.add_parser("check", help="validate a config file")
    c.add_argument("file", type=Path)
    c.add_argument("--server", action="store_true", help="it is a server config")
    h = sub.add_parser("pin", help="hash an operator PIN for [operator] pin_hash")
    h.add_argument("--pin", help="the PIN (asked for when omitted)")


def run(args: argparse.Namespace) -> int:
    """Run ``kiosk config``."""
    if args.action == "defaults":
        text = (config.render_toml(config.ServerConfig, "Reference collection server (server.toml)")
                if args.server else
                config.render_toml(config.StationConfig, "Capture station (kiosk.toml)"))
        if args.out:
            durable.write_file(args.out, text.encode("utf-8"), mode=0o644)
        else:
            print(text, end="")
        return 0
    if args.action == "check":
        (config.load_server if args.server else config.load_station)(args.file)
        print(f"{args.file}: ok")
        return 0
    from kiosk.operator import hash_pin

    pin = args.pin or getpass.getpass("PIN: ")
    print(hash_pin(pin))
    return 0
