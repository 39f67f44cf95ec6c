"""The station database's schema, as numbered migrations (``PRAGMA user_version``).

A migration is a list of statements run in one transaction together with the
version bump, so a station that loses power mid-upgrade starts again from the
previous version. Never edit a released migration: append a new one.

Times that the queue compares (``due_at``, ``lease_until``) are epoch seconds
(REAL); times people read (``captured_at``, ``sent_at``) are ISO 8601 UTC text
in one fixed format, so that text order is time order.
"""

from __future__ import annotations

import sqlite3

SYNC_STATES = ("pending", "sending", "sent", "retry", "dead")


def _append_only(table: str, message: str) -> list[str]:
    """The triggers that refuse to change or remove a row of the audit table ``table``, saying ``message``."""
    return [f"""
    CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table}
    BEGIN SELECT RAISE(ABORT, '{message}'); END
    """ for op in ("UPDATE", "DELETE")]


_V1 = [
    """
    CREATE TABLE records (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        batch TEXT NOT NULL,
        station_id TEXT NOT NULL,
        code_payload TEXT,
        code_fields TEXT,
        student_uid TEXT,
        id_last4 TEXT,
        codeless INTEGER NOT NULL DEFAULT 0,
        ticket TEXT UNIQUE,
        phone TEXT,
        name TEXT,
        captured_at TEXT NOT NULL,
        captured_day TEXT NOT NULL,
        monotonic_ns INTEGER NOT NULL,
        boot_id TEXT NOT NULL,
        photo_path TEXT NOT NULL,
        photo_sha256 TEXT NOT NULL,
        photo_bytes INTEGER NOT NULL,
        original_path TEXT,
        original_sha256 TEXT,
        sync_state TEXT NOT NULL DEFAULT 'pending'
            CHECK (sync_state IN ('pending', 'sending', 'sent', 'retry', 'dead')),
        due_at REAL NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until REAL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        dead_reason TEXT,
        sent_at TEXT,
        review_status TEXT,
        queue_position INTEGER,
        review_reason TEXT,
        binding_state TEXT CHECK (binding_state IN ('pending', 'sent', 'failed')),
        binding_error TEXT,
        photo_deleted_at TEXT,
        quarantined TEXT
    )
    """,
    # The queue's two doors, each a partial index so that picking the next
    # record walks only the rows that can be picked: new records oldest first,
    # and retries/expired leases by when they fall due.
    "CREATE INDEX records_pending ON records (seq) WHERE sync_state = 'pending'",
    "CREATE INDEX records_due ON records (due_at) WHERE sync_state IN ('retry', 'sending')",
    "CREATE INDEX records_state ON records (sync_state)",
    "CREATE INDEX records_student ON records (student_uid) WHERE student_uid IS NOT NULL",
    "CREATE INDEX records_day ON records (captured_day)",
    "CREATE INDEX records_captured ON records (captured_at)",
    "CREATE INDEX records_binding ON records (seq) WHERE binding_state = 'pending'",
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        record_id TEXT NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT,
        detail TEXT
    )
    """,
    "CREATE INDEX events_record ON events (record_id)",
    # Audit: events are written once and never changed or removed.
    *_append_only("events", "events are append-only"),
]

# A code bound after an upload may have begun is pushed separately, with the
# last four typed when binding (the record keeps the ones typed at capture).
_V2 = [
    "ALTER TABLE records ADD COLUMN bind_last4 TEXT",
]

# The student's status-page capability (sent in the upload), a phone number left
# on the Done screen for review-result notices (pushed on its own, with consent),
# help requests to the coordinator, and the station's own audit log (operator
# overrides and unlocks, which belong to no one record).
_V3 = [
    "ALTER TABLE records ADD COLUMN status_secret TEXT",
    "ALTER TABLE records ADD COLUMN contact_phone TEXT",
    "ALTER TABLE records ADD COLUMN contact_at TEXT",
    "ALTER TABLE records ADD COLUMN contact_state TEXT CHECK (contact_state IN ('pending', 'sent', 'failed'))",
    "CREATE INDEX records_contact ON records (seq) WHERE contact_state = 'pending'",
    "CREATE INDEX records_phone ON records (phone) WHERE phone IS NOT NULL",
    """
    CREATE TABLE help_requests (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        reason TEXT NOT NULL,
        raised_at TEXT NOT NULL,
        acknowledged_at TEXT,
        synced TEXT CHECK (synced IN ('raised', 'acknowledged', 'refused'))
    )
    """,
    """
    CREATE TABLE station_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT
    )
    """,
    *_append_only("station_log", "the station log is append-only"),
]

# Staff allowed religious or medical headwear for this one capture (audited in the
# station log); the record carries it to the server so the reviewer sees why.
_V4 = [
    "ALTER TABLE records ADD COLUMN headwear_allowed INTEGER NOT NULL DEFAULT 0",
]

# Tickets are made offline on each station, so two stations can make the same one; the
# server then keeps the later record under a fresh ticket of its own, which the upload's
# acknowledgement carries back. The station adopts it: the record keeps the ticket it
# was captured with (``ticket``, sent unchanged in every replay) and gains the server's.
_V5 = [
    "ALTER TABLE records ADD COLUMN server_ticket TEXT",
    "CREATE INDEX records_server_ticket ON records (server_ticket) WHERE server_ticket IS NOT NULL",
]

# Retakes each student has used in a batch, so that a restart of the station does not give a
# student a fresh allowance. Keyed by a digest of the batch and the student, never an id.
_V6 = [
    """
    CREATE TABLE retakes (
        digest TEXT PRIMARY KEY,
        batch TEXT NOT NULL,
        used INTEGER NOT NULL CHECK (used >= 0),
        updated_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX retakes_batch ON retakes (batch)",
    "CREATE INDEX retakes_updated ON retakes (updated_at)",
]

# The photo's own compliance measurements (head top, eye line, face width, pose, light,
# backdrop ...), a JSON object sent in the upload for the reviewer. NULL for records
# captured before: their upload leaves the key out, so a replay is what the server holds.
_V7 = [
    "ALTER TABLE records ADD COLUMN measurements TEXT",
]

#: migration n (1-based) brings the schema from version n-1 to n
MIGRATIONS: list[list[str]] = [_V1, _V2, _V3, _V4, _V5, _V6, _V7]


def current_version(conn: sqlite3.Connection) -> int:
    """The schema version the database file is at."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> tuple[int, int]:
    """Bring the schema to the newest version; ``(from, to)`` versions.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Each
    migration runs under ``BEGIN IMMEDIATE`` so two processes starting at
    once do not both apply it.
    """
    start = current_version(conn)
    target = len(MIGRATIONS)
    if start > target:
        raise RuntimeError(f"database schema version {start} is newer than this program ({target})")
    for version in range(start + 1, target + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if current_version(conn) >= version:  # another process got there first
                conn.execute("ROLLBACK")
                continue
            for statement in MIGRATIONS[version - 1]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back already (a full disk): keep that error
                conn.execute("ROLLBACK")
            raise
    return start, target
