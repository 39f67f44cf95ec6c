"""``kiosk server``: run the reference collection server, or look after its data.

    kiosk server --config server.toml [--host H] [--port N] [--workers W]   serve (uvicorn)
    kiosk server --config F admin-token --create                write a new admin token file (0600)
    kiosk server --config F token issue --station ID [--out F]  issue a station token
    kiosk server --config F token revoke --station ID           revoke it
    kiosk server --config F batch add FILE.toml                 create or replace batches
    kiosk server --config F purge [--dry-run]                   delete what is past retention
    kiosk server --config F export --batch CODE --out DIR [--zip] [--name-rule student_number|student_uid]
                                                                the batch's confirmed photos + manifest.csv
    kiosk server --config F unlock-ticket TICKET                lift a ticket's bind lock
    kiosk server --config F user add NAME --role ROLE           a console account (password asked)
    kiosk server --config F user disable NAME | user list       end an account; list them

The maintenance actions work on the server's database directly (``[server]
database``, or ``server.db`` in the data directory), so they need no admin token
and work while the server runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from kiosk import config as kconfig
from kiosk.cli import users as users_cli
from kiosk.cli.numbers import int_in
from kiosk.log import setup_logging
from kiosk.server.db import Database, open_database
from kiosk.userfiles import open_output


def _config_option(p: argparse.ArgumentParser, *, top: bool) -> None:
    # Accepted before or after the action; the action's copy does not overwrite the top one.
    p.add_argument("--config", type=Path, default=None if top else argparse.SUPPRESS,
                   help="server.toml (defaults when omitted)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``kiosk server``."""
    _config_option(p, top=True)
    p.add_argument("--host", help="address to listen on (overrides [server] host)")
    p.add_argument("--port", type=int_in(1, 65535), help="port to listen on (1-65535; overrides [server] port)")
    p.add_argument("--workers", type=int_in(1, 64),
                   help="server processes (1-64; overrides [server] workers; more than one wants PostgreSQL)")
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    a = sub.add_parser("admin-token", help="create the admin token file")
    _config_option(a, top=False)
    a.add_argument("--create", action="store_true", required=True, help="write a new token (never overwrites)")
    t = sub.add_parser("token", help="issue or revoke a station token")
    _config_option(t, top=False)
    t.add_argument("op", choices=("issue", "revoke"))
    t.add_argument("--station", required=True, help="station id, unique server-wide (<campus>.<station>)")
    t.add_argument("--rotate", action="store_true",
                   help="replace the station's live token (the old one stops working); without it, refused")
    t.add_argument("--out", type=Path, help="write the issued token to this file (mode 0600) instead of printing")
    b = sub.add_parser("batch", help="create or replace batches from a TOML file of [[batch]] tables")
    _config_option(b, top=False)
    b.add_argument("op", choices=("add",))
    b.add_argument("file", type=Path)
    e = sub.add_parser("export", help="a batch's confirmed photos, manifest.csv and summary.txt into an empty folder")
    _config_option(e, top=False)
    e.add_argument("--batch", required=True, help="the batch's feature code")
    e.add_argument("--out", type=Path, required=True, help="a new or empty folder")
    e.add_argument("--zip", action="store_true", help="write one zip file into the folder instead")
    e.add_argument("--name-rule", choices=("student_number", "student_uid"), default="student_number",
                   help="how photo files are named (default: student_number)")
    g = sub.add_parser("purge", help="delete records and photos past retention")
    _config_option(g, top=False)
    g.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    u = sub.add_parser("unlock-ticket", help="lift a claim ticket's bind lock after too many wrong guesses")
    _config_option(u, top=False)
    u.add_argument("ticket", help="the claim ticket, as printed")
    users_cli.add_arguments(sub, lambda parser: _config_option(parser, top=False))


def run(args: argparse.Namespace) -> int:
    """Run ``kiosk server``."""
    cfg = kconfig.load_server(args.config)
    setup_logging(cfg.logging)
    action = args.action
    if action is None:
        return _serve(cfg, args.config, args.host, args.port, args.workers)
    if action == "admin-token":
        from kiosk.server.auth import create_admin_token_file

        try:
            create_admin_token_file(cfg.server.admin_token_file)
        except OSError as exc:
            print(f"{cfg.server.admin_token_file}: {exc.strerror}; not created", file=sys.stderr)
            return 2
        print(f"{cfg.server.admin_token_file}: created (mode 600)")
        return 0
    db = open_database(cfg.server.data_dir, cfg.server.database)
    now = datetime.now(UTC)
    try:
        if action == "token":
            return _token(db, args, now)
        if action == "batch":
            from kiosk.server.batches import BatchBook, load_batches_file

            book = BatchBook(db)
            for batch in load_batches_file(args.file):
                created = book.put(batch, now)
                print(f"{batch.feature_code}: {'created' if created else 'replaced'}")
            return 0
        if action == "unlock-ticket":
            return _unlock(db, cfg, args.ticket)
        if action == "user":
            from kiosk.server.accounts import Accounts

            return users_cli.run(Accounts.for_settings(db, cfg.server), args, now)
        if action == "export":
            return _export(db, cfg, args)
        from kiosk.server.blobs import open_blob_store
        from kiosk.server.retention import purge, sweep_orphans

        photos = open_blob_store(cfg.server.blob_store, db, cfg.server.data_dir)
        report = purge(db, photos, now, cfg.server.retention_days, dry_run=args.dry_run)
        orphans = sweep_orphans(db, photos, now, cfg.server.retention_days, dry_run=args.dry_run)
        verb = "would delete" if args.dry_run else "deleted"
        print(f"{verb}: {report.records} records, {report.photos + orphans} photos "
              f"(captured before {report.cutoff.isoformat(timespec='seconds')})")
        return 0
    finally:
        db.close()


def _export(db: Database, cfg: kconfig.ServerConfig, args: argparse.Namespace) -> int:
    from kiosk.server.blobs import open_blob_store
    from kiosk.server.export import PENDING, ExportError, export_batch
    from kiosk.server.state import time_zone
    from kiosk.text import bilingual

    try:
        result = export_batch(db, open_blob_store(cfg.server.blob_store, db, cfg.server.data_dir), args.batch, args.out,
                              rule=args.name_rule, as_zip=args.zip, zone=time_zone(cfg.server.timezone))
    except ExportError as exc:
        print(exc.bilingual(), file=sys.stderr)
        return 2
    print(bilingual("student.export.done", n=result.exported, dir=str(result.target)))
    print(bilingual("student.export.pending", **{s: result.pending.get(s, 0) for s in PENDING}))
    return 0


def _token(db: Database, args: argparse.Namespace, now: datetime) -> int:
    from kiosk.server.auth import StationActive, StationTokens

    tokens = StationTokens(db)
    if args.op == "revoke":
        if not tokens.revoke(args.station, now):
            print(f"{args.station}: no token was issued")
            return 1
        print(f"{args.station}: revoked")
        return 0
    if args.out is None:
        print(tokens.issue(args.station, now, rotate=args.rotate))
        return 0
    # Open the file before issuing: a new token replaces the station's old one, and must not be lost.
    if not args.rotate and tokens.is_live(args.station):
        raise StationActive(detail=args.station, station=args.station)
    try:
        fd = open_output(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        print(f"{args.out}: {exc.strerror}; no token was issued", file=sys.stderr)
        return 2
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(tokens.issue(args.station, now, rotate=args.rotate) + "\n")
    os.chmod(args.out, 0o600)  # O_CREAT's mode does not apply to an existing file
    print(f"{args.station}: token written to {args.out}")
    return 0


def _unlock(db: Database, cfg: kconfig.ServerConfig, ticket: str) -> int:
    from kiosk.server.batches import BatchBook
    from kiosk.server.binding import Binder, BindLimits, KioskCodes
    from kiosk.server.refusals import Refused

    binder = Binder(db, BatchBook(db), KioskCodes(cfg.codes), BindLimits())
    try:
        had = binder.unlock(ticket)
    except Refused as exc:
        print(f"{ticket}: {exc.detail}", file=sys.stderr)
        return 2
    print(f"{ticket}: {'unlocked' if had else 'was not locked'}")
    return 0


def _serve(cfg: kconfig.ServerConfig, config_file: Path | None, host: str | None, port: int | None,
           workers: int | None) -> int:
    import uvicorn

    from kiosk.server.app import create_app
    from kiosk.server.asgi import CONFIG_ENV
    from kiosk.server.serving import uvicorn_settings

    count = workers if workers is not None else cfg.server.workers
    if not 1 <= count <= 64:
        print(f"--workers {count}: give 1 to 64", file=sys.stderr)
        return 2
    address, number = host or cfg.server.host, port or cfg.server.port
    # uvicorn's own logging set-up would replace ours (structured, redacted, control characters escaped)
    settings = {"log_level": cfg.logging.level.lower(), "access_log": False, "log_config": None,
                **uvicorn_settings(cfg.server, workers=count)}
    if count == 1:
        uvicorn.run(create_app(cfg, purge_every_s=cfg.server.purge_every_hours * 3600), host=address, port=number,
                    **settings)
        return 0
    # Worker processes build their own application from the same configuration file.
    if config_file is not None:
        os.environ[CONFIG_ENV] = str(config_file.resolve())
    uvicorn.run("kiosk.server.asgi:app_from_environment", factory=True, workers=count, host=address, port=number,
                **settings)
    return 0
