"""The sync client against the real collection server (embedded, loopback)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_sync_fakes import jpeg_bytes

from kiosk.batch import Batch
from kiosk.config import CodesSection, ServerConfig, ServerSection, SyncSection
from kiosk.store import NewRecord, Store
from kiosk.sync import SyncClient
from kiosk.tickets import new_ticket

embedded = pytest.importorskip("kiosk.server.embedded")
codes = pytest.importorskip("kiosk.codes")

# the collection day is today: the server refuses records captured outside their batch's dates
_TODAY = datetime.now(UTC).date()
BATCH = Batch(feature_code="1S95KT", school_code="10001", school_name="示例大学",
              start_date=(_TODAY - timedelta(days=1)).isoformat(), end_date=(_TODAY + timedelta(days=1)).isoformat())


def test_records_reach_the_server_are_reviewed_and_bound(tmp_path: Path) -> None:
    key_file = tmp_path / "code-keys.json"
    ring = codes.KeyRing.generate(key_file)
    student, later = codes.demo_codes(ring, BATCH, n=2)
    code_settings = CodesSection(key_file=key_file)
    book = codes.CodeBook.from_settings(code_settings)
    server_cfg = ServerConfig(server=ServerSection(data_dir=tmp_path / "server",
                                                   admin_token_file=tmp_path / "admin.token"),
                              codes=code_settings)
    with embedded.EmbeddedServer(server_cfg) as server:
        server.add_batch(BATCH)
        token_file = tmp_path / "station.token"
        token_file.write_text(server.issue_station_token("st-1"))
        os.chmod(token_file, 0o600)
        sync_cfg = SyncSection(server_url=server.base_url, token_file=token_file, read_timeout_s=10)
        ticket = new_ticket()
        with Store.open(tmp_path / "station") as store:
            code = book.parse(student.payload, BATCH, datetime.now(UTC))
            coded = store.add_record(NewRecord(batch="1S95KT", station_id="st-1", code_payload=student.payload,
                                               code_fields=code.public_fields(), student_uid=code.student_uid,
                                               id_last4=student.last_four), jpeg_bytes(35), jpeg_bytes(60, seed=1))
            codeless = store.add_record(NewRecord(batch="1S95KT", station_id="st-1", codeless=True,
                                                  ticket=ticket, phone="13800138000", id_last4="0000"),
                                        jpeg_bytes(35, seed=2))
            client = SyncClient(sync_cfg, store, "st-1", batch_code="1S95KT")
            report = client.run_once()
            assert report.sent == 2 and store.queue_length() == 0, store.records()
            assert client.fetch_batch("1S95KT") == BATCH
            sent = store.get(coded.id)
            assert sent is not None and sent.review_status == "queued" and sent.queue_position == 1
            waiting = store.get(codeless.id)
            assert waiting is not None and waiting.review_status == "awaiting_code"

            # a replay of a record the server holds is acknowledged, not duplicated
            store.conn.execute("UPDATE records SET sync_state = 'pending' WHERE id = ?", (coded.id,))
            assert client.run_once().sent == 1

            server.state.records.review(coded.id, "reject", "eyes closed", datetime.now(UTC))
            later_code = book.parse(later.payload, BATCH, datetime.now(UTC))
            store.bind_code(ticket, later.payload, later_code.public_fields(), later_code.student_uid,
                            later.last_four)
            client._status_due = None
            report = client.run_once()
            assert report.bindings == 1, store.get(codeless.id)
            rejected = store.get(coded.id)
            assert rejected is not None and (rejected.review_status, rejected.review_reason) == (
                "rejected", "eyes closed")
            bound = store.get(codeless.id)
            assert bound is not None and bound.binding_state == "sent" and bound.review_status == "queued"
            assert server.state.records.photo_sha256(coded.id) == coded.photo_sha256
