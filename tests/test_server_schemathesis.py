"""A bounded, seeded property run over the server's own OpenAPI spec: no request gets a 5xx."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from test_server_helpers import BATCH, server_config

from kiosk.batch import Batch
from kiosk.errors import KioskError
from kiosk.server.app import create_app

ADMIN = "admin-token-for-the-property-run"

# FastAPI serves OpenAPI 3.1, which schemathesis 3.x reads behind this switch.
schemathesis.experimental.OPEN_API_3_1.enable()
# Record ids are UUIDs: generate real ones too, so requests get past path validation.
schemathesis.openapi.format("uuid", st.uuids().map(str))


class RefusingCodes:
    """A code checker that knows no codes: binding is refused, never crashes."""

    def parse(self, payload: str, batch: Batch | None, now: datetime) -> Any:
        raise KioskError("code.not_a_code", "property run")

    def last_four_matches(self, code: Any, typed: str) -> bool:
        return False


@pytest.fixture
def api_schema(tmp_path: Path) -> Any:
    app = create_app(server_config(tmp_path, max_photo_bytes=5000), admin_token=ADMIN, purge_every_s=None,
                     codebook=RefusingCodes())
    app.state.server.batches.put(BATCH, datetime.now(UTC))
    return schemathesis.from_asgi("/openapi.json", app)


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=6, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: Any) -> None:
    # The admin token opens every door, so the generated bodies reach the handlers.
    response = case.call(headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert {"type", "title", "status", "detail"} <= set(response.json())
