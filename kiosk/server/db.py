"""The server's database: an SQLAlchemy Core engine over SQLite (the default) or PostgreSQL.

``with db.write() as conn:`` is one transaction, committed when the block ends
and rolled back when it raises; ``with db.read() as conn:`` reads (one snapshot
on SQLite, one per statement on PostgreSQL). Connections come from a pool, so
reads run side by side.

On SQLite every connection uses WAL (readers never wait for the writer),
``synchronous=FULL`` (a committed record survives a power cut) and a busy
timeout; a write transaction starts with ``BEGIN IMMEDIATE``, which takes the
file's write lock at once, so a transaction that reads and then writes never
fails half-way with "database is locked" and never acts on a stale read. On
PostgreSQL (``postgresql://...``, driven by psycopg 3) transactions are READ
COMMITTED (reads run without a transaction: see ``Database.read``); invariants are
held by constraints and single-statement updates, which that engine makes atomic
across processes.

Uniqueness (a record id, a claim ticket, one student in review) is enforced by
constraints, never by a look-up before an insert.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from kiosk.errors import KioskError

log = logging.getLogger(__name__)

Dialect = Literal["sqlite", "postgresql"]
#: how long an SQLite writer waits for another (another process's purge, say) before giving up
SQLITE_BUSY_TIMEOUT_S = 30.0
_WRITE = "kiosk_write"
#: worker threads that run the routes (the server sets its thread pool to this), and so the
#: PostgreSQL connections each server process keeps open
ROUTE_THREADS = 16


class DataDirError(KioskError):
    """The server's data directory or database cannot be used."""

    default_key = "server.unreachable_data_dir"


def database_url(setting: str, data_dir: Path) -> URL:
    """The engine URL for ``[server] database`` (empty: ``server.db`` in ``data_dir``).

    ``postgresql://`` is driven by psycopg 3; only SQLite and PostgreSQL are accepted.
    """
    text = setting.strip() or f"sqlite:///{data_dir / 'server.db'}"
    try:
        url = make_url(text)
    except ArgumentError:
        raise DataDirError("server.database_url_invalid", "not a database URL", url=_redacted(text)) from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and url.database and url.database != ":memory:":
        return url.set(drivername="sqlite")
    raise DataDirError("server.database_url_invalid", f"unsupported: {backend}", url=_redacted(text))


def _redacted(text: str) -> str:
    """The URL without its password (it goes into messages and logs)."""
    try:
        return make_url(text).render_as_string(hide_password=True)
    except ArgumentError:
        return "-"


class Database:
    """A connection pool over the server's database, migrated to the current schema on open."""

    def __init__(self, url: URL | str | Path, *, migrate: bool = True) -> None:
        if isinstance(url, Path):
            url = f"sqlite:///{url}"
        self.url = make_url(url) if isinstance(url, str) else url
        if self.url.get_backend_name() == "postgresql" and self.url.drivername == "postgresql":
            self.url = self.url.set(drivername="postgresql+psycopg")
        self.dialect: Dialect = "postgresql" if self.url.get_backend_name() == "postgresql" else "sqlite"
        self.engine: Engine = _sqlite_engine(self.url) if self.dialect == "sqlite" else _postgresql_engine(self.url)
        #: the same pool, for PostgreSQL's reads and single statements: no transaction around them
        #: (see ``read`` and ``single``)
        self._reader: Engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        if migrate:
            from kiosk.server.migrations import migrate as run_migrations

            try:
                run_migrations(self)
            except BaseException:
                self.engine.dispose()
                raise

    @property
    def path(self) -> Path | None:
        """The SQLite file (None on PostgreSQL)."""
        return Path(self.url.database) if self.dialect == "sqlite" and self.url.database else None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on error."""
        with self.engine.connect() as raw:
            conn = raw.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def single(self) -> Iterator[Connection]:
        """A connection for one write statement that commits by itself: no BEGIN and COMMIT round trips
        on PostgreSQL (one statement is atomic on its own); a write transaction on SQLite, where they cost
        no round trip and the transaction takes the file's write lock at once."""
        if self.dialect == "postgresql":
            with self._reader.connect() as conn:
                yield conn
            return
        with self.write() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only view: on SQLite one transaction (one snapshot), rolled back at the end.

        On PostgreSQL each statement runs on its own (autocommit): READ COMMITTED
        gives every statement its own snapshot inside a transaction too, so the
        BEGIN and ROLLBACK round trips would buy nothing.
        """
        if self.dialect == "postgresql":
            with self._reader.connect() as conn:
                yield conn
            return
        with self.engine.connect() as conn, conn.begin() as tx:
            yield conn
            tx.rollback()

    def insert_ignoring(self, table: Table, key: list[str] | None) -> Any:
        """``INSERT ... ON CONFLICT (key) DO NOTHING`` for this engine (add ``.values(...)``).

        With ``key`` None, a clash with any unique constraint or index inserts nothing.
        """
        maker = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return maker(table).on_conflict_do_nothing(index_elements=key)

    def upsert(self, table: Table, key: list[str], values: dict[str, Any] | None, update: list[str]) -> Any:
        """``INSERT ... ON CONFLICT (key) DO UPDATE SET`` the ``update`` columns to the new values.

        With ``values`` None, the statement is executed with its values (``conn.execute(stmt, values)``):
        built once, it is compiled once.
        """
        maker = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        stmt = maker(table) if values is None else maker(table).values(**values)
        return stmt.on_conflict_do_update(index_elements=key, set_={c: stmt.excluded[c] for c in update})

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _sqlite_engine(url: URL) -> Engine:
    if url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
                           pool_size=8, max_overflow=32, pool_timeout=60)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, record: Any) -> None:
        # The driver's own transaction handling is turned off: this module says when a
        # transaction begins (and whether it takes the write lock at once).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


def _postgresql_engine(url: URL) -> Engine:
    # A connection per route thread, kept open (opening one costs PostgreSQL a process), and a few
    # more for the background work (purge, notices); PostgreSQL's max_connections must allow
    # ROUTE_THREADS + 8 per server process. No ping before each use (a round trip per
    # transaction): a connection the database dropped (a restart) fails its one request,
    # SQLAlchemy then discards the whole pool, and the station sends that record again.
    return create_engine(url, pool_size=ROUTE_THREADS, max_overflow=8, pool_timeout=60)


def open_database(data_dir: Path, url: str = "") -> Database:
    """The server's database (``url``, or ``server.db`` in ``data_dir``); ``DataDirError`` if unusable.

    ``data_dir`` is created mode 0700 either way: it holds the students' photos.
    """
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return Database(database_url(url, data_dir))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DataDirError(detail=f"{data_dir}: {reason}", dir=str(data_dir), reason=reason) from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        where = str(data_dir) if not url.strip() else _redacted(url)
        raise DataDirError(detail=f"{where}: {reason}", dir=where, reason=reason) from None
