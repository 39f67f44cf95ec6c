"""``kiosk operator``: operator-mode upkeep on the machine itself (not at the touch screen).

``unlock`` lifts the operator PIN lock after too many wrong PINs: the
recovery path a student at the screen cannot take (it needs a shell on the
station). ``unlock-code`` lifts the last-four lock of one collection code
(read from a scanned payload). Both are written to the station's audit log.
"""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime
from pathlib import Path

from kiosk import config

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``kiosk operator``."""
    p.add_argument("--config", type=Path, default=None, help="kiosk.toml (defaults when omitted)")
    sub = p.add_subparsers(dest="action", required=True)
    sub.add_parser("unlock", help="lift the operator PIN lock after too many wrong PINs")
    code = sub.add_parser("unlock-code", help="lift the last-four lock of one collection code")
    code.add_argument("payload", help="the collection code's text, as scanned")


def run(args: argparse.Namespace) -> int:
    """Run ``kiosk operator``."""
    from kiosk.operator import PinLock
    from kiosk.store import Store

    settings = config.load_station(args.config) if args.config else config.StationConfig()
    data_dir = Path(settings.station.data_dir)
    if args.action == "unlock":
        was = PinLock.from_settings(settings.operator, data_dir).unlock()
        with Store.open(data_dir, check_photos="none") as store:
            store.audit("pin_unlocked", "cli")
        print("operator PIN lock lifted" if was else "operator mode was not locked; wrong-PIN count cleared")
        return 0
    from kiosk.codes import CodeBook
    from kiosk.codes.attempts import AttemptLock

    code = CodeBook.from_settings(settings.codes).parse(args.payload, None, datetime.now(UTC))
    AttemptLock.from_settings(settings.codes, data_dir).clear(code.student_uid)
    with Store.open(data_dir, check_photos="none") as store:
        store.audit("code_unlocked", "cli")
    print("code unlocked")
    return 0
