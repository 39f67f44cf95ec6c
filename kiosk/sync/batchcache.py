"""Today's batch: fetched from the server, and the last one fetched kept in the data dir for offline days."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import requests
from pydantic import ValidationError

from kiosk import durable
from kiosk.batch import Batch, BatchError, normalise_feature_code
from kiosk.config import SyncSection
from kiosk.server.schema import BatchModel
from kiosk.sync.outcome import json_body
from kiosk.sync.session import SyncError, load_token, make_session, timeouts

log = logging.getLogger(__name__)

FOLDER = "batches"
LATEST = "latest"


def batch_from_wire(data: object) -> Batch:
    """A batch from its JSON form, validated with the server's own model; ``BatchError`` when it is not one.

    The station reads a batch with the same schema the server writes it with,
    so a field the server would refuse (a school name of 10,000 characters,
    an unknown method) never reaches the station's screens.
    """
    try:
        model = BatchModel.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise BatchError(detail=f"{'.'.join(map(str, first['loc'])) or 'batch'}: {first['type']}") from None
    return Batch.from_json(model.model_dump())


def save_batch(data_dir: Path, batch: Batch) -> bool:
    """Cache ``batch`` under its feature code, and as the latest one fetched; False when it could not be.

    The cache only helps an offline day, so a full or failing disk is logged,
    never raised: it must not stop the uploads of the cycle that fetched it.
    """
    folder = Path(data_dir) / FOLDER
    data = json.dumps(batch.to_json(), ensure_ascii=False, indent=1).encode()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in (batch.feature_code, LATEST):
            durable.write_file(folder / f"{name}.json", data, mode=0o644)
    except OSError as exc:
        log.error("batch.cache_write_failed code=%s errno=%s", batch.feature_code, exc.errno)
        return False
    return True


def load_cached_batch(data_dir: Path, feature_code: str | None = None) -> Batch | None:
    """The cached batch ``feature_code`` (or the latest fetched when None); None if not cached."""
    try:
        name = normalise_feature_code(feature_code) if feature_code else LATEST
    except BatchError:
        return None
    path = Path(data_dir) / FOLDER / f"{name}.json"
    try:
        return batch_from_wire(json.loads(path.read_text("utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, BatchError) as exc:
        log.warning("batch.cache_unreadable error=%s", type(exc).__name__)
        return None


def fetch_batch(settings: SyncSection, data_dir: Path, feature_code: str,
                session: requests.Session | None = None) -> Batch:
    """Today's batch from the server, cached in ``data_dir`` for offline use.

    Raises ``SyncError`` ("sync.batch_unavailable" or "sync.batch_unknown")
    when the server cannot give it; callers then fall back to
    ``load_cached_batch``.
    """
    code = normalise_feature_code(feature_code)
    if not settings.server_url:
        raise SyncError("sync.no_server")
    own = session is None
    session = session or make_session(settings, load_token(settings.token_file))
    try:
        answer = session.get(f"{settings.server_url.rstrip('/')}/api/v1/batches/{code}",
                             timeout=timeouts(settings), allow_redirects=False)
    except requests.RequestException as exc:
        raise SyncError("sync.batch_unavailable", type(exc).__name__) from None
    finally:
        if own:
            session.close()
    if answer.status_code == 404:
        raise SyncError("sync.batch_unknown", "http 404", code=code)
    data = json_body(answer.content) if answer.status_code == 200 else None
    if data is None:
        raise SyncError("sync.batch_unavailable", f"http {answer.status_code}")
    try:
        batch = batch_from_wire(data)
    except BatchError as exc:
        raise SyncError("sync.batch_unavailable", exc.detail) from None
    save_batch(data_dir, batch)
    log.info("batch.fetched code=%s", batch.feature_code)
    return batch
