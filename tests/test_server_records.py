"""Record uploads: idempotent replay, conflicts, in-flight duplicates, limits and problem bodies."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from test_server_helpers import assert_problem, jpeg, metadata, put_headers, server_config, upload_parts

from kiosk.server.app import create_app
from kiosk.server.blobs import BlobStore, FileBlobStore
from kiosk.server.db import Database
from kiosk.server.records import RecordBook, Upload
from kiosk.server.schema import RecordMetadata
from kiosk.tickets import is_ticket

ADMIN = "admin-token-for-the-tests"


@pytest.fixture
def app(tmp_path: Path, server_database_url: str) -> FastAPI:
    return create_app(server_config(tmp_path, max_photo_bytes=20_000, database=server_database_url), admin_token=ADMIN,
                      purge_every_s=None)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def token(app: FastAPI) -> str:
    return str(app.state.server.tokens.issue("station-01", datetime.now(UTC)))


def put(client: TestClient, token: str, meta: dict[str, Any], photo: bytes, original: bytes | None = None,
        **headers: str) -> Any:
    return client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo, original),
                      headers={**put_headers(token, meta["record_id"]), **headers})


def test_first_upload_is_201_and_identical_replay_200_with_the_same_body(client: TestClient, token: str,
                                                                          app: FastAPI) -> None:
    photo, original = jpeg(1), jpeg(2, (96, 128))
    meta = metadata(photo, original_sha256=hashlib.sha256(original).hexdigest())
    first = put(client, token, meta, photo, original)
    assert first.status_code == 201
    assert first.json() == {"record_id": meta["record_id"], "photo_sha256": meta["photo_sha256"],
                            "status": "queued", "queue_position": 1, "ticket": None}
    again = put(client, token, meta, photo, original)
    assert again.status_code == 200
    assert again.json() == first.json()
    photos: BlobStore = app.state.server.photos
    assert photos.get(meta["photo_sha256"]) == photo
    assert photos.get(hashlib.sha256(original).hexdigest()) == original
    with app.state.server.db.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM records")).scalar_one() == 1


@pytest.mark.parametrize("change", ["metadata", "photo"])
def test_same_id_with_other_content_is_422(client: TestClient, token: str, change: str) -> None:
    photo = jpeg(1)
    meta = metadata(photo)
    assert put(client, token, meta, photo).status_code == 201
    if change == "metadata":
        other_meta, other_photo = {**meta, "captured_at": "2026-06-01T08:00:00+00:00"}, photo
    else:
        other_photo = jpeg(7)
        other_meta = metadata(other_photo, record_id=meta["record_id"], captured_at=datetime.fromisoformat(
            meta["captured_at"]))
    assert_problem(put(client, token, other_meta, other_photo), 422, "record-conflict")


def test_a_replay_while_the_first_is_in_flight_gets_the_same_acknowledgement(tmp_path: Path,
                                                                             server_database_url: str) -> None:
    entered, release = threading.Event(), threading.Event()

    def hold(record_id: str) -> None:
        if not entered.is_set():
            entered.set()
            assert release.wait(10)

    app = create_app(server_config(tmp_path, database=server_database_url), admin_token=ADMIN, purge_every_s=None,
                     on_record_received=hold)
    token = app.state.server.tokens.issue("station-01", datetime.now(UTC))
    photo = jpeg(3)
    meta = metadata(photo)
    answers: list[Any] = []
    with TestClient(app) as client:
        first = threading.Thread(target=lambda: answers.append(put(client, token, meta, photo)))
        first.start()
        assert entered.wait(10)
        second = put(client, token, meta, photo)
        release.set()
        first.join(10)
    # the primary key decides, not an in-process list: one row, one 201, the same body for both
    assert sorted([second.status_code, answers[0].status_code]) == [200, 201]
    assert second.json() == answers[0].json()
    with app.state.server.db.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM records")).scalar_one() == 1


def test_unique_constraint_decides_between_two_writers_on_one_database(tmp_path: Path,
                                                                        server_database_url: str) -> None:
    # Two books on one database stand for two server processes: neither may look before it inserts.
    db_a, db_b = Database(server_database_url), Database(server_database_url)
    photos = FileBlobStore(tmp_path / "photos", db_a)
    book_a = RecordBook(db_a, photos, 100_000)
    book_b = RecordBook(db_b, photos, 100_000)
    photo = jpeg(4)
    upload = Upload(RecordMetadata.model_validate(metadata(photo)), photo)
    now = datetime.now(UTC)
    results = [book.accept(upload, "station-01", now)[1] for book in (book_a, book_b, book_a)]
    assert results == [True, False, False]
    with db_a.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM records")).scalar_one() == 1
    with pytest.raises(IntegrityError), db_b.write() as conn:
        conn.execute(text("INSERT INTO records SELECT * FROM records"))
    db_a.close()
    db_b.close()


def test_photo_over_the_limit_is_413(client: TestClient, token: str) -> None:
    big = jpeg(5, (400, 400)) + bytes(20_000)
    assert_problem(put(client, token, metadata(big), big), 413, "too-large")


def test_request_body_far_over_the_limit_is_refused_before_reading(client: TestClient, token: str) -> None:
    huge = b"\xff\xd8\xff" + bytes(200_000)
    doc = assert_problem(put(client, token, metadata(huge), huge), 413, "too-large")
    assert "request body" in doc["detail"]


def test_original_over_the_limit_is_413(client: TestClient, token: str) -> None:
    photo, original = jpeg(1), b"\xff\xd8\xff" + bytes(20_001)
    assert_problem(put(client, token, metadata(photo), photo, original), 413, "too-large")


@pytest.mark.parametrize(
    ("mutate", "slug"),
    [
        (lambda m, p: ({**m, "photo_sha256": "0" * 64}, p), "hash-mismatch"),
        (lambda m, p: ({**m, "photo_bytes": 5}, p), "size-mismatch"),
        (lambda m, p: (metadata(b"GIF89a-not-a-jpeg", record_id=m["record_id"]), b"GIF89a-not-a-jpeg"), "not-jpeg"),
        (lambda m, p: ({**m, "batch": "no"}, p), "invalid-metadata"),
        (lambda m, p: ({**m, "captured_at": "2026-06-01T08:00:00"}, p), "invalid-metadata"),  # naive time
        (lambda m, p: ({**m, "captured_at": "0001-01-01T00:00:00+14:00"}, p), "invalid-metadata"),
        (lambda m, p: ({**m, "monotonic_ns": 2**64}, p), "invalid-metadata"),
        (lambda m, p: ({k: v for k, v in m.items() if k != "station_id"}, p), "invalid-metadata"),
        (lambda m, p: ({**m, "codeless": True, "ticket": None}, p), "invalid-metadata"),
        (lambda m, p: ({**m, "code_payload": None}, p), "invalid-metadata"),
        (lambda m, p: ({**m, "original_sha256": "a" * 64}, p), "original-missing"),
    ],
)
def test_bad_records_are_422_problems(client: TestClient, token: str, mutate: Any, slug: str) -> None:
    photo = jpeg(1)
    meta, body = mutate(metadata(photo), photo)
    assert_problem(put(client, token, meta, body), 422, slug)


def test_metadata_that_is_not_json_is_422(client: TestClient, token: str) -> None:
    photo = jpeg(1)
    meta = metadata(photo)
    files = {**upload_parts(meta, photo), "metadata": (None, "{not json", "application/json")}
    answer = client.put(f"/api/v1/records/{meta['record_id']}", files=files,
                        headers=put_headers(token, meta["record_id"]))
    assert_problem(answer, 422, "invalid-metadata")


def test_path_id_must_match_metadata_and_idempotency_key(client: TestClient, token: str) -> None:
    photo = jpeg(1)
    meta = metadata(photo)
    other = metadata(photo)["record_id"]
    wrong_path = client.put(f"/api/v1/records/{other}", files=upload_parts(meta, photo),
                            headers=put_headers(token, other))
    assert_problem(wrong_path, 422, "invalid-metadata")
    assert_problem(put(client, token, meta, photo, **{"Idempotency-Key": other}), 400, "idempotency-key")
    no_key = client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                        headers={"Authorization": f"Bearer {token}"})
    assert_problem(no_key, 400, "idempotency-key")
    not_uuid = client.put("/api/v1/records/not-a-uuid", files=upload_parts(meta, photo),
                          headers=put_headers(token, "not-a-uuid"))
    assert_problem(not_uuid, 422, "invalid")


def test_missing_parts_and_unknown_paths_are_problems(client: TestClient, token: str) -> None:
    meta = metadata(jpeg(1))
    answer = client.put(f"/api/v1/records/{meta['record_id']}", data={"metadata": json.dumps(meta)},
                        headers=put_headers(token, meta["record_id"]))
    doc = assert_problem(answer, 422, "invalid")
    assert any(err["loc"][-1] == "photo" for err in doc["errors"])
    assert_problem(client.get("/api/v1/nothing-here"), 404)
    assert_problem(client.delete("/api/v1/health"), 405)
    assert_problem(client.post("/api/v1/records/status", content=b"{oops",
                               headers={"Authorization": f"Bearer {token}",
                                        "Content-Type": "application/json"}), 422)


def test_codeless_record_awaits_its_code_and_tickets_are_unique(client: TestClient, token: str) -> None:
    photo = jpeg(1)
    meta = metadata(photo, codeless=True, ticket="abcd-efgh-j")
    answer = put(client, token, meta, photo)
    assert answer.status_code == 201
    assert answer.json()["status"] == "awaiting_code"
    assert answer.json()["queue_position"] is None
    assert answer.json()["ticket"] == "ABCDEFGHJ"
    # another station made the same ticket: its record is kept under a fresh ticket of the server's
    other = str(client.app.state.server.tokens.issue("campus-b.station-01", datetime.now(UTC)))  # type: ignore[attr-defined]
    clash = metadata(jpeg(2), codeless=True, ticket="ABCDEFGHJ")
    first = put(client, other, clash, jpeg(2))
    assert first.status_code == 201 and first.json()["status"] == "awaiting_code"
    fresh = first.json()["ticket"]
    assert fresh != "ABCDEFGHJ" and is_ticket(fresh)
    assert put(client, other, clash, jpeg(2)).json() == first.json()  # a replay gets the same ticket back


def test_status_of_many_records_in_one_call(client: TestClient, token: str) -> None:
    photos = [jpeg(i) for i in range(3)]
    metas = [metadata(p) for p in photos]
    for m, p in zip(metas, photos, strict=True):
        assert put(client, token, m, p).status_code == 201
    unknown = metadata(jpeg(9))["record_id"]
    ids = [metas[2]["record_id"], unknown, metas[0]["record_id"]]
    answer = client.post("/api/v1/records/status", json={"ids": ids}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json()["records"] == [
        {"record_id": ids[0], "status": "queued", "queue_position": 3, "reason": None},
        {"record_id": unknown, "status": "unknown", "queue_position": None, "reason": None},
        {"record_id": ids[2], "status": "queued", "queue_position": 1, "reason": None},
    ]
    too_many = client.post("/api/v1/records/status", json={"ids": ["x"] * 1001},
                           headers={"Authorization": f"Bearer {token}"})
    assert_problem(too_many, 422)


@pytest.mark.parametrize("bad_id", ["\ud800", "x" * 65])
def test_a_status_request_with_an_unusable_id_is_a_problem_not_a_500(client: TestClient, token: str,
                                                                       bad_id: str) -> None:
    # json.dumps keeps a lone surrogate as the escape "\ud800", which JSON allows and UTF-8 cannot store
    answer = client.post("/api/v1/records/status", content=json.dumps({"ids": [bad_id]}),
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert_problem(answer, 422)


def test_codeless_record_bound_at_the_station_before_upload_arrives_queued(client: TestClient, token: str) -> None:
    photo = jpeg(2)
    meta = metadata(photo, codeless=True, ticket="ABCDEFGHJ", code_payload="KC1.bound-at-station",
                    code={"student_uid": "u-1", "masked_name": "张*"})
    answer = put(client, token, meta, photo)
    assert answer.status_code == 201
    assert answer.json()["status"] == "queued"
    assert answer.json()["queue_position"] == 1


def test_status_page_for_the_students_phone(client: TestClient, token: str) -> None:
    photo = jpeg(3)
    meta = metadata(photo, name="张伟", phone="13800138000")
    assert put(client, token, meta, photo).status_code == 201
    as_json = client.get(f"/api/v1/records/{meta['record_id']}")
    assert as_json.json() == {"record_id": meta["record_id"], "status": "queued", "queue_position": 1,
                              "reason": None}
    page = client.get(f"/api/v1/records/{meta['record_id']}", headers={"Accept": "text/html,*/*"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "排队位置：第 1 位" in page.text
    assert "张伟" not in page.text and "13800138000" not in page.text
    missing = metadata(jpeg(4))["record_id"]
    assert_problem(client.get(f"/api/v1/records/{missing}"), 404, "unknown-record")
    not_yet = client.get(f"/api/v1/records/{missing}", headers={"Accept": "text/html"})
    assert not_yet.status_code == 404
    assert "尚未收到这张照片" in not_yet.text


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"),
                                     sqlite3.OperationalError("database or disk is full")])
def test_a_full_disk_on_the_server_is_503_with_retry_after_and_stores_nothing(
        client: TestClient, token: str, app: FastAPI, monkeypatch: pytest.MonkeyPatch, failure: Exception) -> None:
    photo = jpeg(3)
    meta = metadata(photo)

    def full(self: FileBlobStore, data: bytes) -> str:
        raise failure

    with monkeypatch.context() as m:
        m.setattr(FileBlobStore, "put", full)
        answer = put(client, token, meta, photo)
    assert_problem(answer, 503, "unavailable")
    assert int(answer.headers["Retry-After"]) > 0  # the station waits instead of hammering a full server
    with app.state.server.db.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM records")).scalar_one() == 0
    assert put(client, token, meta, photo).status_code == 201  # space freed: the replay is the first upload


def test_a_failed_commit_is_rolled_back_and_the_replay_is_stored_for_real(client: TestClient, token: str,
                                                                            app: FastAPI) -> None:
    db: Database = app.state.server.db
    photo = jpeg(4)
    meta = metadata(photo)
    failed = []

    def disk_full_once(conn: Any) -> None:
        # the next COMMIT finds the disk full, and leaves the transaction open
        if not failed:
            failed.append(True)
            raise sqlite3.OperationalError("database or disk is full")

    def record_insert_fails_once(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "INSERT INTO records" in statement and conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            disk_full_once(conn)

    event.listen(db.engine, "commit", disk_full_once)
    # on PostgreSQL the usual upload is one statement that commits by itself: that statement fails instead
    event.listen(db.engine, "before_cursor_execute", record_insert_fails_once)
    try:
        assert_problem(put(client, token, meta, photo), 503, "unavailable")
        # an uncommitted row seen by a pooled connection would be acknowledged as a replay, then lost
        assert put(client, token, meta, photo).status_code == 201
    finally:
        event.remove(db.engine, "commit", disk_full_once)
        event.remove(db.engine, "before_cursor_execute", record_insert_fails_once)
    assert failed
    with db.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM records")).scalar_one() == 1
