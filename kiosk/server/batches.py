"""Collection days known to the server, and the TOML file that seeds them at start.

The batches file holds one ``[[batch]]`` table per collection day with the
fields of ``kiosk.batch.Batch``::

    [[batch]]
    feature_code = "1S95KT"
    school_code = "10001"
    school_name = "示例大学"
    start_date = "2026-06-01"
    end_date = "2026-06-03"
"""

from __future__ import annotations

import json
import logging
import tomllib
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select, update

from kiosk.batch import Batch, BatchError, normalise_feature_code
from kiosk.errors import KioskError
from kiosk.server.db import Database
from kiosk.server.schema import BatchModel
from kiosk.server.tables import batches
from kiosk.server.ttlcache import TtlCache
from kiosk.userfiles import read_input_text

log = logging.getLogger(__name__)


class BatchFileError(KioskError):
    """A batches file that cannot be used."""

    default_key = "server.batches_file_invalid"


def load_batches_file(path: Path) -> list[Batch]:
    """The batches listed in ``path``; ``BatchFileError`` naming the file and the entry at fault."""
    try:
        data = tomllib.loads(read_input_text(path, 10_000_000))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BatchFileError(detail=f"{path}: {exc}", file=str(path), entry="-") from None
    entries = data.get("batch", [])
    if not isinstance(entries, list) or set(data) - {"batch"}:
        raise BatchFileError(detail=f"{path}: expected [[batch]] tables only", file=str(path), entry="-")
    batches = []
    for number, entry in enumerate(entries, start=1):
        try:
            if not isinstance(entry, dict):
                raise BatchError(detail="not a table")
            unknown = set(entry) - set(Batch.__dataclass_fields__)
            if unknown:
                raise BatchError(detail=f"unknown fields {sorted(unknown)}")
            # the same checks as a batch posted to the API (dates, methods, background)
            batches.append(Batch.from_json(BatchModel.model_validate(entry).model_dump()))
        except BatchError as exc:
            raise BatchFileError(detail=f"{path}: batch {number}: {exc.detail}", file=str(path),
                                 entry=str(number)) from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "-"
            raise BatchFileError(detail=f"{path}: batch {number}: {where}: {first.get('msg', '')}",
                                 file=str(path), entry=str(number)) from None
    return batches


#: how long an upload's check of its capture time may use a batch read before (see ``BatchBook.recent``)
BATCH_CACHE_S = 5.0


class BatchBook:
    """Batches by feature code."""

    def __init__(self, db: Database, *, cache_s: float = BATCH_CACHE_S) -> None:
        self._db = db
        self._recent: TtlCache[str, Batch] = TtlCache(cache_s)

    def put(self, batch: Batch, now: datetime) -> bool:
        """Create or replace ``batch``; whether it was new."""
        code = normalise_feature_code(batch.feature_code)
        data = json.dumps({**batch.to_json(), "feature_code": code}, ensure_ascii=False)
        self._recent.forget()
        with self._db.write() as conn:
            created = conn.execute(
                self._db.insert_ignoring(batches, ["feature_code"])
                .values(feature_code=code, data=data, updated_at=now.isoformat())
                .returning(batches.c.feature_code)).first() is not None
            if not created:
                conn.execute(update(batches).where(batches.c.feature_code == code)
                             .values(data=data, updated_at=now.isoformat()))
        self._recent.forget()
        log.info("batch.%s code=%s", "created" if created else "replaced", code)
        return created

    def get(self, feature_code: str) -> Batch | None:
        """The batch with ``feature_code`` (any case), or None."""
        try:
            code = normalise_feature_code(feature_code)
        except BatchError:
            return None
        with self._db.read() as conn:
            data = conn.execute(select(batches.c.data).where(batches.c.feature_code == code)).scalar()
        return None if data is None else Batch.from_json(json.loads(data))

    def recent(self, feature_code: str) -> Batch | None:
        """``get``, remembered for ``BATCH_CACHE_S`` seconds: for checking every upload's capture time.

        A batch replaced through this process is read again at once; one replaced
        through another worker process, within ``BATCH_CACHE_S`` seconds.
        """
        found = self._recent.get(feature_code)
        if found is None:
            found = self.get(feature_code)
            if found is not None:
                self._recent.put(feature_code, found)
        return found
