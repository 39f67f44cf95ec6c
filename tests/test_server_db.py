"""The server's database layer: migrations (from today's files too), the schema, the engine settings."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from kiosk.server import migrations, tables
from kiosk.server.db import Database, DataDirError, database_url, open_database

#: the schema of server databases made before the migration runner (``PRAGMA user_version=1``)
LEGACY_V1 = """
CREATE TABLE batches (feature_code TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE tokens (station_id TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, issued_at TEXT NOT NULL,
    revoked_at TEXT);
CREATE TABLE records (record_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, metadata TEXT NOT NULL,
    batch TEXT NOT NULL, station_id TEXT NOT NULL, uploaded_by TEXT NOT NULL, captured_at TEXT NOT NULL,
    captured_ts REAL NOT NULL, received_at TEXT NOT NULL, photo_sha256 TEXT NOT NULL, photo_bytes INTEGER NOT NULL,
    original_sha256 TEXT, codeless INTEGER NOT NULL, ticket TEXT UNIQUE, code_payload TEXT, code_json TEXT,
    student_uid TEXT, id_last4 TEXT, status TEXT NOT NULL, queue_seq INTEGER, reason TEXT, bound_at TEXT,
    reviewed_at TEXT);
CREATE INDEX records_queue ON records (status, queue_seq);
CREATE INDEX records_captured ON records (captured_ts);
CREATE INDEX records_photo ON records (photo_sha256);
CREATE INDEX records_original ON records (original_sha256);
CREATE TABLE ticket_attempts (ticket TEXT PRIMARY KEY, misses INTEGER NOT NULL, locked_until REAL);
PRAGMA user_version=1;
"""


def legacy_database(path: Path) -> None:
    """A server.db as the server wrote it before SQLAlchemy: two records of one student in review."""
    conn = sqlite3.connect(path)
    conn.executescript(LEGACY_V1)
    row = ("fp", "{}", "1S95KT", "station-01", "station-01", "2026-06-01T09:00:00+00:00", 1780304400.0,
           "2026-06-01T09:00:01+00:00", "a" * 64, 1000, None, 0, None, "p", "{}", "uid-1", "1234")
    conn.execute("INSERT INTO records VALUES ('r1', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                 "'queued', 7, NULL, NULL, NULL)", row)
    conn.execute("INSERT INTO records VALUES ('r2', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                 "'queued', 9, NULL, NULL, NULL)", (*row[:11], 1, "TICKET1", *row[13:]))
    conn.execute("INSERT INTO ticket_attempts VALUES ('TICKET1', 3, NULL)")
    conn.commit()
    conn.close()


def test_a_database_of_the_first_schema_opens_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "server.db"
    legacy_database(path)
    db = Database(path)
    with db.read() as conn:
        assert migrations.current_version(conn) == len(migrations.STEPS)
        rows = {r.record_id: (r.status, r.queue_seq) for r in conn.execute(
            text("SELECT record_id, status, queue_seq FROM records"))}
        counts = conn.execute(text("SELECT subject, misses FROM bind_attempts")).all()
    # the earlier in the queue keeps the student's place; the later one is kept as a duplicate
    assert rows == {"r1": ("queued", 7), "r2": ("duplicate", None)}
    assert [tuple(c) for c in counts] == [("ticket:TICKET1", 3)]
    with db.write() as conn:
        from kiosk.server.records import next_queue_seq

        assert next_queue_seq(conn) == 10  # numbering goes on above every number handed out
    db.close()


def test_a_migrated_database_has_exactly_the_tables_the_code_declares(tmp_path: Path) -> None:
    db = Database(tmp_path / "server.db")
    found = inspect(db.engine)
    assert set(found.get_table_names()) == set(tables.metadata.tables)
    for name, table in tables.metadata.tables.items():
        assert {c["name"] for c in found.get_columns(name)} == {c.name for c in table.columns}, name
        declared = {i.name for i in table.indexes}
        assert declared <= {i["name"] for i in found.get_indexes(name)}, name
    db.close()


def test_servers_starting_together_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "server.db"
    errors: list[BaseException] = []

    def start() -> None:
        try:
            Database(path).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    db = Database(path)
    with db.read() as conn:
        versions = [v for (v,) in conn.execute(text("SELECT version FROM schema_version ORDER BY version"))]
    assert versions == list(range(1, len(migrations.STEPS) + 1))
    db.close()


def test_sqlite_runs_in_wal_with_full_sync(tmp_path: Path) -> None:
    db = open_database(tmp_path / "data")
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    assert db.dialect == "sqlite"
    assert db.path == tmp_path / "data" / "server.db"
    db.close()


def test_database_urls() -> None:
    assert database_url("", Path("/d")).render_as_string() == "sqlite:////d/server.db"
    assert database_url("postgresql://kiosk@db/photos", Path("/d")).drivername == "postgresql+psycopg"
    for bad in ("mysql://x/y", "nonsense", "sqlite://"):
        with pytest.raises(DataDirError) as refused:
            database_url(bad, Path("/d"))
        assert refused.value.key == "server.database_url_invalid"
