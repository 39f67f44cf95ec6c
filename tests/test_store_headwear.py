"""Headwear allowed by staff: kept on the record, sent in its upload, shown to the reviewer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_helpers import review_client, sign_in, upload_through
from fastapi.testclient import TestClient
from store_schema import downgrade
from test_server_helpers import jpeg, metadata
from test_sync_fakes import jpeg_bytes

from kiosk.server.schema import RecordMetadata
from kiosk.store import NewRecord, Store, migrations

ADMIN = "admin-token-for-the-headwear-tests"
JPEG = jpeg_bytes(3)


def new_record(**extra: Any) -> NewRecord:
    return NewRecord(batch="1S95KT", station_id="st-1", code_payload="KC1.payload-U1",
                     code_fields={"masked_name": "张*", "student_uid": "U1"}, student_uid="U1", id_last4="123X",
                     **extra)


def test_the_record_keeps_headwear_allowed_and_sends_it(tmp_path: Path) -> None:
    with Store.open(tmp_path / "data") as store:
        allowed = store.add_record(new_record(headwear_allowed=True), JPEG)
        plain = store.add_record(NewRecord(batch="1S95KT", station_id="st-1", codeless=True, ticket="ABCDEFGHJ"),
                                 JPEG)
    with Store.open(tmp_path / "data") as store:
        again = store.get(allowed.id)
        assert again is not None and again.headwear_allowed is True
        assert again.metadata()["headwear_allowed"] is True
        other = store.get(plain.id)
        assert other is not None and other.headwear_allowed is False
        assert RecordMetadata.model_validate(other.metadata()).headwear_allowed is False


def test_a_station_database_of_the_older_schema_gains_the_column_as_false(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store.open(data) as store:
        record = store.add_record(new_record(), JPEG)
        version = len(migrations.MIGRATIONS)
    # back to the schema before the column: what a station upgraded from the previous release holds
    downgrade(data / Store.DB_NAME, 3)
    with Store.open(data) as store:
        assert store.startup.schema_to == version
        got = store.get(record.id)
        assert got is not None and got.headwear_allowed is False


def test_false_is_left_out_of_the_canonical_metadata_so_older_uploads_replay_unchanged() -> None:
    photo = jpeg(1)
    meta = RecordMetadata.model_validate(metadata(photo))
    assert "headwear_allowed" not in meta.canonical()
    allowed = RecordMetadata.model_validate(metadata(photo, headwear_allowed=True))
    assert '"headwear_allowed":true' in allowed.canonical()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with review_client(tmp_path, ADMIN) as c:
        yield c



def test_the_reviewer_sees_headwear_allowed_by_staff(client: TestClient) -> None:
    allowed = upload_through(client, 1, headwear_allowed=True)
    plain = upload_through(client, 2)
    auth = {"Authorization": f"Bearer {ADMIN}"}
    detail = client.post(f"/api/v1/review/{allowed}/claim", headers=auth).json()
    assert detail["headwear_allowed"] is True
    other = client.post(f"/api/v1/review/{plain}/claim", headers=auth).json()
    assert other["headwear_allowed"] is False
    for record in (allowed, plain):
        assert client.delete(f"/api/v1/review/{record}/claim", headers=auth).status_code == 204
    sign_in(client)
    for lang, line in (("zh", "头饰已获工作人员准许"), ("en", "Headwear allowed by staff")):
        page = client.get(f"/console/review?record={allowed}&lang={lang}")
        assert page.status_code == 200 and f'data-record="{allowed}"' in page.text
        assert 'id="headwear-allowed"' in page.text and line in page.text
    page = client.get(f"/console/review?record={plain}&lang=zh")
    assert f'data-record="{plain}"' in page.text and 'id="headwear-allowed"' not in page.text
