"""The server's shape: the API the routers serve, and the one registry of problem types.

The routes moved from one function into routers by area; the OpenAPI document
must name exactly the same operations, and every refusal the server's books can
raise must be a registered problem type with a title in both languages.
"""

import re
from pathlib import Path

from kiosk.server import problems
from kiosk.server.app import create_app
from kiosk.text import table
from tests.test_server_helpers import server_config

SERVER = Path(__file__).resolve().parents[1] / "kiosk" / "server"

#: every operation of the documented API (method, path)
OPERATIONS = {
    ("DELETE", "/api/v1/bind/locks/{ticket}"),
    ("DELETE", "/api/v1/review/{record_id}/claim"),
    ("DELETE", "/api/v1/tokens/{station_id}"),
    ("GET", "/api/v1/batches/{feature_code}"),
    ("GET", "/api/v1/dashboard"),
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/records/{record_id}"),
    ("GET", "/api/v1/records/{record_id}/photo"),
    ("GET", "/api/v1/review/queue"),
    ("POST", "/api/v1/batches"),
    ("POST", "/api/v1/bind"),
    ("POST", "/api/v1/records/status"),
    ("POST", "/api/v1/review/claim"),
    ("POST", "/api/v1/review/{record_id}"),
    ("POST", "/api/v1/review/{record_id}/claim"),
    ("POST", "/api/v1/review/{record_id}/decision"),
    ("POST", "/api/v1/stations/heartbeat"),
    ("POST", "/api/v1/students/lookup"),
    ("POST", "/api/v1/tokens"),
    ("PUT", "/api/v1/help/{request_id}"),
    ("PUT", "/api/v1/records/{record_id}"),
    ("PUT", "/api/v1/records/{record_id}/contact"),
}


def test_the_openapi_document_names_the_same_operations(tmp_path: Path) -> None:
    app = create_app(server_config(tmp_path), admin_token="a" * 32, purge_every_s=None)
    spec = app.openapi()
    served = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert served == OPERATIONS
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_every_refusal_raised_is_a_registered_problem_type_with_a_title() -> None:
    raised = set()
    for module in SERVER.glob("*.py"):
        raised |= set(re.findall(r'(?:Refused|StudentRefusal)\(\s*"([a-z-]+)"', module.read_text(encoding="utf-8")))
    assert raised, "the pattern no longer finds the refusals"
    assert {"too-large", "timeout", "rate-limited"} <= raised  # the edge's own refusals are found too
    assert raised <= set(problems.REGISTRY), raised - set(problems.REGISTRY)
    for slug in problems.REGISTRY:
        assert f"server.problem.{slug}" in table(), slug


def test_the_books_know_nothing_of_http() -> None:
    books = ("records", "review_desk", "binding", "students", "upload_checks", "accounts", "batches",
             "dashboard", "export", "retention", "state")
    for name in books:
        source = (SERVER / f"{name}.py").read_text(encoding="utf-8")
        assert not re.search(r"^(from|import) (fastapi|starlette)", source, re.M), name
        assert "HTTPException" not in source, name
