"""The station's sync: everything between the station's store and the collection server.

``client`` runs the outbox loop (uploads, then the other calls of a cycle);
``outcome`` says what each answer means; ``review`` pushes bindings and pulls
review status; ``staff_calls`` carries help requests, notice phones, the
heartbeat to the server and the student lookup; ``batchcache`` fetches today's
batch and keeps it for offline days; ``session`` holds the token and the HTTP
session; ``heartbeat`` is the file the UI and the doctor read.
"""

from __future__ import annotations

from kiosk.sync.batchcache import fetch_batch, load_cached_batch
from kiosk.sync.client import SyncClient, SyncReport
from kiosk.sync.session import SyncError, TokenError, load_token, make_session

__all__ = ["SyncClient", "SyncError", "SyncReport", "TokenError", "fetch_batch", "load_cached_batch",
           "load_token", "make_session"]
