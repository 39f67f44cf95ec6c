"""The ``kiosk`` command: one subcommand per module in this package.

Each subcommand module defines ``add_arguments(parser)`` and ``run(args) -> int``
and is imported only when chosen, so that ``kiosk sync`` never pays for Qt and
``kiosk doctor`` starts fast. A ``KioskError`` (a config error included) ends
the command with its message and exit code 2, never with a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from kiosk.errors import KioskError

#: subcommand -> (module in kiosk.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "open the station's touch screen"),
    "demo": ("demo", "run the whole station loop on this machine (embedded server, demo camera)"),
    "sync": ("sync", "upload queued records to the collection server"),
    "server": ("server", "run the reference collection server"),
    "records": ("records", "add or list records in the station's queue"),
    "codes": ("codes", "issue reference collection codes"),
    "scan": ("scan", "decode collection codes from images"),
    "portrait": ("portrait", "check a photo against the standard and produce the standard photo"),
    "doctor": ("doctor", "check that this station can run"),
    "purge": ("purge", "delete students' data whose retention has ended"),
    "config": ("config", "write the default config files, check one, or hash a PIN"),
    "operator": ("operator", "lift the operator PIN lock or a code's lock (on the machine, audited)"),
}

log = logging.getLogger("kiosk.cli")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand's options."""
    parser = argparse.ArgumentParser(prog="kiosk", description="Graduation-photo capture station")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        try:
            mod = importlib.import_module(f"kiosk.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"kiosk.cli.{module}":
                raise
            p.set_defaults(_module=None)
            continue
        mod.add_arguments(p)
        p.set_defaults(_module=mod)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kiosk`` console command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args._module is None:
        print(f"kiosk {args.command}: not available in this build", file=sys.stderr)
        return 2
    from kiosk.log import setup_from_args

    setup_from_args(args)
    try:
        return int(args._module.run(args) or 0)
    except KioskError as exc:
        log.error("command failed: %s (%s)", exc.key, exc.detail)
        print(exc.bilingual(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
