"""Damaging a station's data folder the two ways recovery must handle, for the tests of what it keeps."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kiosk.store import Store


def damage(data: Path, source: str) -> None:
    """Lose the database of ``data`` so that recovery rebuilds its records from ``source``.

    ``"card"``: the database is emptied, the record cards beside the photos remain.
    ``"row"``: the cards are gone and the database's last page is cut, so the rows are salvaged.
    """
    db = data / Store.DB_NAME
    if source == "card":
        db.write_bytes(b"")
        return
    with sqlite3.connect(db) as conn:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        # a fresh index takes the file's last page whatever the migrations made before it: that page is cut
        conn.execute("CREATE INDEX damage_probe ON records (batch)")
    for card in (data / "photos").glob("*.json"):
        card.unlink()  # the rows must come from the database itself
    db.write_bytes(db.read_bytes()[:-page])
