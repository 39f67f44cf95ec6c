"""The server application for ASGI servers that start it by import path (uvicorn ``--workers``, gunicorn).

Each worker process calls ``app_from_environment()``: it reads the
``server.toml`` named by ``KIOSK_SERVER_CONFIG`` (the defaults when unset) and
builds the application over the shared database. Workers only share a
database, never memory: every guarantee (one record per id, the bind lock, queue
order) is held by the database, so it holds across workers as in one process.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from kiosk import config as kconfig
from kiosk.log import setup_logging

CONFIG_ENV = "KIOSK_SERVER_CONFIG"


def app_from_environment() -> FastAPI:
    """The application for the configuration named by ``KIOSK_SERVER_CONFIG``."""
    from kiosk.server.app import create_app

    cfg = kconfig.load_server(os.environ.get(CONFIG_ENV) or None)
    setup_logging(cfg.logging)
    return create_app(cfg, purge_every_s=cfg.server.purge_every_hours * 3600)
