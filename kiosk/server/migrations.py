"""Schema migrations: numbered steps, applied in order, safe when several processes start at once.

The runner takes one lock for the whole run (PostgreSQL: a transaction-level
advisory lock; SQLite: ``BEGIN IMMEDIATE``, the file's write lock), then reads
the version from ``schema_version`` under that lock, so a second process that
starts at the same moment waits, finds the steps applied and does nothing. Both
engines run DDL inside the transaction: a step that fails leaves no half-made
schema.

Each step creates what it needs from its own frozen definitions, never from
``kiosk.server.tables`` (which describes the schema after the last step). To
change the schema: change ``tables.py`` and append a step here.

A server database made before this runner (SQLite, ``PRAGMA user_version=1``)
is at version 1: the runner records that and carries on from step 2.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    func,
    insert,
    select,
    text,
)

from kiosk.server import tables

if TYPE_CHECKING:
    from kiosk.server.db import Database

log = logging.getLogger(__name__)

#: PostgreSQL advisory lock key of the migration runner ("kiosk" + 1)
ADVISORY_LOCK_KEY = 0x6B696F736B01

Step = Callable[[Connection], None]


def _v1_schema(conn: Connection) -> None:
    """Batches, station tokens, records, and the bind miss counter per ticket (the first schema)."""
    md = MetaData()
    Table("batches", md, Column("feature_code", Text, primary_key=True), Column("data", Text, nullable=False),
          Column("updated_at", Text, nullable=False))
    Table("tokens", md, Column("station_id", Text, primary_key=True),
          Column("token_sha256", Text, nullable=False, unique=True), Column("issued_at", Text, nullable=False),
          Column("revoked_at", Text))
    records = Table(
        "records", md,
        Column("record_id", Text, primary_key=True), Column("fingerprint", Text, nullable=False),
        Column("metadata", Text, nullable=False), Column("batch", Text, nullable=False),
        Column("station_id", Text, nullable=False), Column("uploaded_by", Text, nullable=False),
        Column("captured_at", Text, nullable=False), Column("captured_ts", Float, nullable=False),
        Column("received_at", Text, nullable=False), Column("photo_sha256", Text, nullable=False),
        Column("photo_bytes", Integer, nullable=False), Column("original_sha256", Text),
        Column("codeless", Integer, nullable=False), Column("ticket", Text, unique=True),
        Column("code_payload", Text), Column("code_json", Text), Column("student_uid", Text),
        Column("id_last4", Text), Column("status", Text, nullable=False), Column("queue_seq", BigInteger),
        Column("reason", Text), Column("bound_at", Text), Column("reviewed_at", Text),
    )
    Index("records_queue", records.c.status, records.c.queue_seq)
    Index("records_captured", records.c.captured_ts)
    Index("records_photo", records.c.photo_sha256)
    Index("records_original", records.c.original_sha256)
    Table("ticket_attempts", md, Column("ticket", Text, primary_key=True), Column("misses", Integer, nullable=False),
          Column("locked_until", Float))
    md.create_all(conn)


def _v2_invariants(conn: Connection) -> None:
    """Queue numbers from an identity column, one student in review per batch, bind counters per subject."""
    md = MetaData()
    numbers = Table("queue_numbers", md,
                    Column("seq", BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True),
                    Column("taken_at", Text, nullable=False), sqlite_autoincrement=True)
    Table("bind_attempts", md, Column("subject", Text, primary_key=True),
          Column("misses", Integer, nullable=False), Column("locked_until", Float))
    md.create_all(conn)
    # Queue numbers go on from the highest one handed out so far.
    top = int(conn.execute(text("SELECT COALESCE(MAX(queue_seq), 0) FROM records")).scalar_one())
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT setval(pg_get_serial_sequence('queue_numbers', 'seq'), :v, false)"),
                     {"v": top + 1})
    elif top:
        conn.execute(insert(numbers).values(seq=top, taken_at=_now()))
    conn.execute(text("INSERT INTO bind_attempts (subject, misses, locked_until) "
                      "SELECT 'ticket:' || ticket, misses, locked_until FROM ticket_attempts"))
    conn.execute(text("DROP TABLE ticket_attempts"))
    # A student may already have two records in review (a code bound to a second codeless
    # record); the later ones in queue order become duplicates before the constraint holds.
    rows = conn.execute(text(
        "SELECT record_id, batch, student_uid, status, queue_seq FROM records WHERE student_uid IS NOT NULL "
        "AND status IN ('queued', 'approved', 'confirmed')")).all()
    keep: dict[tuple[str, str], tuple[int, int, str]] = {}
    for r in rows:
        # a reviewed photo wins over a queued one, then the earlier in the queue
        rank = (int(r.status == "queued"), int(r.queue_seq or 0), str(r.record_id))
        key = (str(r.batch), str(r.student_uid))
        keep[key] = min(keep.get(key, rank), rank)
    for r in rows:
        if keep[(str(r.batch), str(r.student_uid))][2] != r.record_id:
            conn.execute(text("UPDATE records SET status='duplicate', queue_seq=NULL WHERE record_id=:id"),
                         {"id": r.record_id})
            log.warning("db.duplicate_in_review id=%s", r.record_id)
    where = text("status IN ('queued', 'approved', 'confirmed') AND student_uid IS NOT NULL")
    one = Table("records", MetaData(), Column("batch", Text), Column("student_uid", Text))
    Index(tables.ONE_IN_REVIEW, one.c.batch, one.c.student_uid, unique=True,
          sqlite_where=where, postgresql_where=where).create(conn)


def _v3_console(conn: Connection) -> None:
    """The review console's accounts, sessions, claims and audit; the stations' heartbeats and help requests."""
    md = MetaData()
    Table(
        "users", md,
        Column("name", Text, primary_key=True),
        Column("role", Text, nullable=False),
        Column("password_hash", Text, nullable=False),
        Column("created_at", Text, nullable=False),
        Column("disabled_at", Text),
        #: wrong passwords in a row, and the end of the lock they caused (epoch seconds)
        Column("misses", Integer, nullable=False, server_default="0"),
        Column("locked_until_ts", Float),
    )
    Table(
        "console_sessions", md,
        Column("token_sha256", Text, primary_key=True),
        Column("user_name", Text, ForeignKey("users.name"), nullable=False, index=True),
        Column("csrf_token", Text, nullable=False),
        Column("created_ts", Float, nullable=False),
        Column("last_seen_ts", Float, nullable=False),
        Column("ended_ts", Float),
    )
    Table(
        "login_addresses", md,
        Column("address", Text, primary_key=True),
        Column("misses", Integer, nullable=False),
        Column("locked_until_ts", Float),
    )
    Table(
        "review_claims", md,
        Column("record_id", Text, primary_key=True),
        Column("reviewer", Text, nullable=False),
        Column("claimed_ts", Float, nullable=False),
        Column("expires_ts", Float, nullable=False, index=True),
    )
    Table(
        "review_audit", md,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True),
        Column("record_id", Text, nullable=False, index=True),
        Column("batch", Text, nullable=False),
        Column("actor", Text, nullable=False),
        Column("action", Text, nullable=False),
        Column("reason_code", Text),
        Column("reason", Text),
        Column("at", Text, nullable=False),
        Column("at_ts", Float, nullable=False, index=True),
    )
    Table(
        "station_heartbeats", md,
        Column("station_id", Text, primary_key=True),
        Column("version", Text, nullable=False),
        Column("queue_length", Integer, nullable=False),
        Column("sent_at", Text, nullable=False),
        Column("received_at", Text, nullable=False),
        Column("received_ts", Float, nullable=False),
    )
    Table(
        "help_requests", md,
        Column("request_id", Text, primary_key=True),
        Column("station_id", Text, nullable=False),
        Column("reason", Text, nullable=False),
        Column("raised_at", Text, nullable=False),
        Column("raised_ts", Float, nullable=False),
        Column("acknowledged_at", Text),
        Column("received_at", Text, nullable=False),
    )
    md.create_all(conn)


def _v4_student_follow_through(conn: Connection) -> None:
    """The student's status link, contact number, confirmation and dispute; the notification outbox."""
    md = MetaData()
    for name in ("reviewed_by", "status_secret_sha256", "contact_phone", "contact_consent_at", "confirmed_at",
                 "confirmed_by", "dispute_reason", "disputed_at"):
        conn.execute(text(f"ALTER TABLE records ADD COLUMN {name} TEXT"))
    # ALTER TABLE cannot add a UNIQUE column in SQLite; a unique index does the same on both engines
    conn.execute(text("CREATE UNIQUE INDEX records_status_secret ON records (status_secret_sha256)"))
    conn.execute(text("CREATE INDEX records_code_payload ON records (code_payload)"))
    # photos confirmed before this step were confirmed by an admin's review call
    conn.execute(text("UPDATE records SET confirmed_at=reviewed_at, confirmed_by='admin' WHERE status='confirmed'"))
    outbox = Table(
        "notification_outbox", md,
        Column("notice_id", BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True),
        Column("record_id", Text, nullable=False), Column("phone", Text, nullable=False),
        Column("status", Text, nullable=False), Column("reason", Text), Column("created_at", Text, nullable=False),
        Column("channel", Text, nullable=False), Column("attempts", Integer, nullable=False, server_default="0"),
        Column("delivered_at", Text), Column("last_error", Text), sqlite_autoincrement=True)
    Index("notification_outbox_pending", outbox.c.delivered_at, outbox.c.notice_id)
    Index("notification_outbox_record", outbox.c.record_id)
    md.create_all(conn)


def _v5_blobs(conn: Connection) -> None:
    """Photos in the database (``blobs``) and the time index of photo files (``blob_files``)."""
    md = MetaData()
    Table("blobs", md, Column("sha256", Text, primary_key=True),
          Column("stored_ts", Float, nullable=False, index=True), Column("size", Integer, nullable=False),
          Column("data", LargeBinary, nullable=False))
    Table("blob_files", md, Column("sha256", Text, primary_key=True),
          Column("stored_ts", Float, nullable=False, index=True), Column("size", Integer, nullable=False))
    md.create_all(conn)


#: the steps in order; step N (1-based) brings the schema to version N
STEPS: list[Step] = [_v1_schema, _v2_invariants, _v3_console, _v4_student_follow_through, _v5_blobs]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def current_version(conn: Connection) -> int:
    """The schema version recorded in ``schema_version`` (0 when none)."""
    return int(conn.execute(select(func.coalesce(func.max(tables.schema_version.c.version), 0))).scalar_one())


def migrate(db: Database) -> int:
    """Bring ``db`` to the latest schema under the migration lock; the version it is now at."""
    with db.write() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        tables.schema_version.create(conn, checkfirst=True)
        version = current_version(conn)
        if version == 0 and db.dialect == "sqlite":
            legacy = int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())
            if legacy:
                # made by the runner before this one: its steps are this runner's first ones
                conn.execute(insert(tables.schema_version),
                             [{"version": v, "applied_at": _now()} for v in range(1, legacy + 1)])
                version = legacy
                log.info("db.adopted version=%d", legacy)
        for number, step in enumerate(STEPS[version:], start=version + 1):
            step(conn)
            conn.execute(insert(tables.schema_version).values(version=number, applied_at=_now()))
            log.info("db.migrated version=%d", number)
            version = number
        if version > len(STEPS):
            log.warning("db.newer_schema version=%d known=%d", version, len(STEPS))
    return version
