"""Insert-or-update in one statement, on SQLite and PostgreSQL alike.

Both speak ``INSERT ... ON CONFLICT (...) DO UPDATE ... WHERE``; SQLAlchemy
spells it per dialect, so this picks the right one from the connection. The
optional ``where`` makes the update conditional: when it is false the row is
left alone and the statement reports no row, which is how a claim is taken
atomically without a look-up first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert(conn: Connection, table: Table, values: Mapping[str, Any], keys: Sequence[str],
           update: Mapping[str, Any], *, where: ColumnElement[bool] | None = None) -> int:
    """Insert ``values`` or, on a conflict over ``keys``, apply ``update`` (only where ``where`` holds).

    The number of rows inserted or updated (0: the conflicting row was left as it was),
    counted from ``RETURNING``: the driver's rowcount is not reliable for this statement
    on every engine.
    """
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(table).values(**values)
        stmt: Any = pg.on_conflict_do_update(index_elements=list(keys), set_=dict(update), where=where)
    else:
        lite = sqlite.insert(table).values(**values)
        stmt = lite.on_conflict_do_update(index_elements=list(keys), set_=dict(update), where=where)
    return len(conn.execute(stmt.returning(*(table.c[k] for k in keys))).all())


def insert_new(conn: Connection, table: Table, values: Mapping[str, Any], keys: Sequence[str]) -> bool:
    """Insert ``values`` unless a row with the same ``keys`` exists; whether it was inserted."""
    module: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = module.insert(table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    return conn.execute(stmt.returning(*(table.c[k] for k in keys))).first() is not None
