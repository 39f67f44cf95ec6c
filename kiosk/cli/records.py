"""``kiosk records``: queue a photo taken elsewhere, list the station's records, or recover them after damage."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.batch import normalise_feature_code
from kiosk.cli.details import apply_details, read_details
from kiosk.cli.numbers import int_in
from kiosk.cli.sync import report_startup
from kiosk.codes import CodeBook, last_four_matches, normalise_last_four
from kiosk.config import StationConfig, load_station
from kiosk.errors import KioskError
from kiosk.store import Store
from kiosk.store.admission import MAX_PHOTO_BYTES
from kiosk.store.record import NewRecord, format_time
from kiosk.store.recovery import recover, release_recovered
from kiosk.sync.batchcache import load_cached_batch
from kiosk.text import Key, bilingual
from kiosk.tickets import display, new_ticket
from kiosk.userfiles import read_input

log = logging.getLogger(__name__)

_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")


class RecordsError(KioskError):
    """Bad input to ``kiosk records``; raised with the key of what is wrong."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``kiosk records``."""
    sub = p.add_subparsers(dest="action", required=True)
    a = sub.add_parser("add", help="queue a photo taken elsewhere (e.g. by a handheld camera)")
    a.add_argument("--config", type=Path, help="station config file (kiosk.toml)")
    a.add_argument("--batch", required=True, help="feature code of the batch")
    a.add_argument("--photo", required=True, type=Path, help="the standard photo, a JPEG file")
    a.add_argument("--original", type=Path, help="optional original (JPEG) kept beside the photo")
    how = a.add_mutually_exclusive_group()
    how.add_argument("--code-payload", help="the student's collection code, as scanned (or in --details-from)")
    how.add_argument("--codeless", action="store_true", help="no code: a claim ticket is issued")
    a.add_argument("--details-from", metavar="FILE|-",
                   help="read phone, id_last4, name and code_payload from this file, or standard input for '-' "
                        "(a JSON object or key=value lines): options typed on the command line are visible to "
                        "every user of this machine in the process list")
    a.add_argument("--phone", help="codeless: the student's phone number (visible to other users: prefer "
                                   "--details-from)")
    a.add_argument("--id-last4", help="the last four characters of the student's ID (visible to other users: "
                                      "prefer --details-from)")
    a.add_argument("--name", help="codeless: the student's name, optional (visible to other users: prefer "
                                  "--details-from)")
    rc = sub.add_parser("recover", help="after the database was damaged: keep it aside and rebuild the records "
                        "from the photo files into a new one (nothing is overwritten)")
    rc.add_argument("--config", type=Path, help="station config file (kiosk.toml)")
    rl = sub.add_parser("release-recovered", help="queue recovered records for upload again, after checking them")
    rl.add_argument("--config", type=Path, help="station config file (kiosk.toml)")
    rl.add_argument("ids", nargs="*", metavar="ID", help="only these records (default: every recovered record)")
    ls = sub.add_parser("list", help="show the queue and each record's state")
    ls.add_argument("--config", type=Path, help="station config file (kiosk.toml)")
    ls.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    ls.add_argument("--state", choices=("pending", "sending", "sent", "retry", "dead"), help="only this state")
    ls.add_argument("--limit", type=int_in(1, 1_000_000), default=200,
                    help="newest N records (1-1000000, default 200)")


def run(args: argparse.Namespace) -> int:
    """Run ``kiosk records``."""
    cfg = load_station(args.config)
    if args.action == "add":
        return _add(args, cfg)
    if args.action == "recover":
        return _recover(cfg)
    if args.action == "release-recovered":
        return _release(args, cfg)
    return _list(args, cfg)


def _recover(cfg: StationConfig) -> int:
    report = recover(cfg.station.data_dir, station_id=cfg.station.id)
    if report is None:
        print(bilingual("records.recover_not_needed"))
        return 0
    print(bilingual("records.recovered", what=Key(f"store.damage.{report.damage.kind}"), kept=str(report.kept_in),
                    rows=len(report.from_row), cards=len(report.from_card), photos=len(report.photo_only)))
    return 0


def _release(args: argparse.Namespace, cfg: StationConfig) -> int:
    with Store.open(cfg.station.data_dir) as store:
        released = release_recovered(store, args.ids or None)
    print(bilingual("records.released", count=len(released)))
    return 0


def _normalise_last_four(text: str) -> str:
    value = normalise_last_four(text)
    if not re.fullmatch(r"[0-9X()]{4,6}", value):
        raise RecordsError("records.bad_last_four")
    return value


def _code_record(args: argparse.Namespace, cfg: StationConfig, batch: str) -> NewRecord:
    """A record for a scanned code: parsed when this station has the keys, else stored as given."""
    payload = args.code_payload.strip()
    fields: dict[str, Any] | None = None
    uid: str | None = None
    last4 = _normalise_last_four(args.id_last4) if args.id_last4 else None
    book = None
    try:
        book = CodeBook.from_settings(cfg.codes)
    except KioskError as exc:
        log.warning("records.codebook_unavailable key=%s", exc.key)
        print(bilingual("records.codebook_unavailable"))
    if book is not None:
        code = book.parse(payload, load_cached_batch(cfg.station.data_dir, batch), datetime.now(UTC))
        fields, uid = code.public_fields(), code.student_uid
        shown = code.id_tail
        # the server binds and reviews by the code's last four: a different one typed here is a mix-up
        if last4 and len(shown) == 4 and "*" not in shown and not last_four_matches(code, last4):
            raise RecordsError("records.last_four_mismatch")
        last4 = last4 or shown
    return NewRecord(batch=batch, station_id=cfg.station.id, code_payload=payload, code_fields=fields,
                     student_uid=uid, id_last4=last4)


def _read(path: Path) -> bytes:
    try:
        # a FIFO or a device is refused, not read for ever; a file over the server's limit is not read whole
        return read_input(path, MAX_PHOTO_BYTES)
    except OSError as exc:
        raise RecordsError("records.photo_unreadable", f"errno={exc.errno}", path=str(path),
                           reason=exc.strerror or str(exc)) from None


def _add(args: argparse.Namespace, cfg: StationConfig) -> int:
    if args.details_from:
        apply_details(args, read_details(args.details_from, sys.stdin.buffer))
    if bool(args.codeless) == bool(args.code_payload):
        raise RecordsError("records.code_or_codeless")
    batch = normalise_feature_code(args.batch)
    if args.codeless:
        if not args.phone or not args.id_last4:
            raise RecordsError("records.codeless_needs")
        if not _PHONE.match(args.phone.strip()):
            raise RecordsError("records.bad_phone")
        ticket = new_ticket()
        new = NewRecord(batch=batch, station_id=cfg.station.id, codeless=True, ticket=ticket,
                        phone=args.phone.strip(), id_last4=_normalise_last_four(args.id_last4),
                        name=(args.name or "").strip() or None)
    else:
        new = _code_record(args, cfg, batch)
    photo = _read(args.photo)
    original = _read(args.original) if args.original is not None else None
    with Store.open(cfg.station.data_dir) as store:
        report_startup(store)
        record = store.add_record(new, photo, original)
    print(bilingual("records.added", id=record.id))
    if new.ticket:
        print(bilingual("records.ticket", ticket=display(new.ticket)))
    return 0


def _list(args: argparse.Namespace, cfg: StationConfig) -> int:
    with Store.open(cfg.station.data_dir) as store:
        records = store.records(limit=args.limit, state=args.state)
        stats = store.stats(datetime.now().astimezone().date())
    if args.json:
        print(json.dumps({"stats": stats, "records": [r.summary() for r in records]}, ensure_ascii=False, indent=1))
        return 0
    if not records:
        print(bilingual("records.none"))
        return 0
    print(f"{'id':36}  {'captured (UTC)':19}  {'kind':8}  {'state':7}  {'tries':>5}  {'review':12}  note")
    for r in records:
        kind = "codeless" if r.codeless else "code"
        note = r.dead_reason or r.last_error or r.quarantined or ""
        review = r.review_status or ""
        if r.queue_position is not None:
            review += f" #{r.queue_position}"
        print(f"{r.id:36}  {format_time(r.captured_at)[:19]}  {kind:8}  {r.sync_state:7}  {r.attempts:>5}  "
              f"{review:12}  {note}")
    print(" ".join(f"{k}={v}" for k, v in stats.items()))
    return 0
