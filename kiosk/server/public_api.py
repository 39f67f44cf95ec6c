"""The calls anyone may make: the server's health, and one record's review status (the status QR).

A browser asking for a record's status gets the student's page in HTML
(kiosk/server/student_pages.py); a program gets JSON.
"""

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query

from kiosk.server import problems, student_pages
from kiosk.server.records import RecordBook
from kiosk.server.refusals import Refused
from kiosk.server.schema import Health, RecordStatus

API = "/api/v1"


def make_router(*, records: RecordBook, clock: Callable[[], datetime]) -> APIRouter:
    """The public calls (mounted at the root; paths under ``/api/v1``)."""
    router = APIRouter(tags=["public"])

    @router.get(f"{API}/health", response_model=Health)
    def health() -> Health:
        """The server is up; its clock (stations compare theirs with it)."""
        return Health(status="ok", time=clock())

    @router.get(f"{API}/records/{{record_id}}", response_model=RecordStatus,
                responses={200: {"content": {"text/html": {}}}, **problems.responses(404, 422)})
    def record_page(record_id: uuid.UUID, accept: Annotated[str | None, Header()] = None,
                    lang: Annotated[str | None, Query(max_length=8)] = None) -> Any:
        """One record's review status, for the student's phone (the station's status QR); HTML for browsers."""
        found = records.statuses([str(record_id)])[0]
        if "text/html" in (accept or ""):
            return student_pages.record_status_page(found, lang)
        if found.status == "unknown":
            raise Refused("unknown-record", "no record with this id")
        return found

    return router
