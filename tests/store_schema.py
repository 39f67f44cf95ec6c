"""Taking a station database back to an older schema version: what a station upgraded from an older release holds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

#: how to undo migration n (its statements in reverse), for the migrations the tests upgrade across
UNDO: dict[int, list[str]] = {
    4: ["ALTER TABLE records DROP COLUMN headwear_allowed"],
    5: ["DROP INDEX records_server_ticket", "ALTER TABLE records DROP COLUMN server_ticket"],
    6: ["DROP TABLE retakes"],
    7: ["ALTER TABLE records DROP COLUMN measurements"],
}


def downgrade(db: Path, to_version: int) -> None:
    """Undo every migration after ``to_version`` in the database file ``db``."""
    conn = sqlite3.connect(db)
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for n in range(version, to_version, -1):
            for statement in UNDO[n]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {to_version}")
        conn.commit()
    finally:
        conn.close()
