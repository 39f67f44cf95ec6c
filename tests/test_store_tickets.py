"""The store adopts the ticket the server gave a codeless record after a clash with another station's."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from store_damage_helpers import damage
from store_schema import downgrade
from test_sync_fakes import jpeg_bytes

from kiosk import flow
from kiosk.batch import Batch
from kiosk.station import records as station_records
from kiosk.station.records import Links, save_record
from kiosk.store import NewRecord, Store, UnknownTicket
from kiosk.tickets import display, new_ticket

JPEG = jpeg_bytes(2)
BATCH = Batch(feature_code="1S95KT", school_code="10001", school_name="示例大学", start_date="2026-01-01",
              end_date="2027-12-31")


class Shot:
    """A standard photo as the station's save takes it."""

    jpeg = JPEG
    original_jpeg = None


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "data")
    yield s
    s.close()


def _codeless(store: Store, ticket: str) -> str:
    record = store.add_record(NewRecord(batch="1S95KT", station_id="st-1", codeless=True, ticket=ticket,
                                        phone="13800138000", id_last4="1234"), JPEG)
    return record.id


def _send(store: Store, record_id: str, ticket: object) -> None:
    store.lease_next("w", 60, store.now())
    store.mark_sent(record_id, {"status": "awaiting_code", "queue_position": None, "ticket": ticket})


def test_an_ack_with_another_ticket_is_adopted_and_used_for_every_lookup(store: Store, tmp_path: Path) -> None:
    own, given = new_ticket(), new_ticket()
    record_id = _codeless(store, own)
    _send(store, record_id, given)
    record = store.get(record_id)
    assert record is not None and record.sync_state == "sent"
    assert (record.ticket, record.server_ticket, record.claim_ticket) == (own, given, given)
    assert record.metadata()["ticket"] == own  # a replay sends what the server already holds
    assert record.summary()["ticket"] == given and record.summary()["ticket_replaced"] is True
    assert store.find_by_ticket(given) == record
    assert store.find_by_ticket(own) is None and store.replaced_ticket(own) == record
    assert store.ticket_in_use(own) and store.ticket_in_use(given)
    with pytest.raises(UnknownTicket):
        store.bind_code(own, "KC1.x", None, "u-1", "1234")
    assert store.bind_code(given, "KC1.x", {"student_uid": "u-1"}, "u-1", "1234").code_payload == "KC1.x"
    store.close()
    with Store.open(tmp_path / "data") as reopened:
        again = reopened.get(record_id)
        assert again is not None and again.server_ticket == given


def test_a_replayed_ack_changes_nothing_and_the_own_ticket_back_clears_it(store: Store) -> None:
    own, given = new_ticket(), new_ticket()
    record_id = _codeless(store, own)
    _send(store, record_id, given)
    assert store.adopt_ticket(record_id, given) == given
    kinds = [e["kind"] for e in store.events(record_id)]
    assert kinds.count("ticket_reassigned") == 1
    # the server's answer is the truth: its own ticket back (in any spelling) means no replacement
    assert store.adopt_ticket(record_id, display(own).lower()) is None
    record = store.get(record_id)
    assert record is not None and record.server_ticket is None and record.claim_ticket == own
    assert store.find_by_ticket(own) == record


@pytest.mark.parametrize("ticket", ["", "not a ticket", "ABCDEFGH1", 12345, ["A"], "Z" * 200])
def test_an_unusable_ticket_in_the_ack_is_not_adopted_and_logged(store: Store, ticket: object,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    own = new_ticket()
    record_id = _codeless(store, own)
    with caplog.at_level(logging.WARNING):
        _send(store, record_id, ticket)
    record = store.get(record_id)
    assert record is not None and record.sync_state == "sent" and record.server_ticket is None
    assert "record.ticket_ack_unusable" in caplog.text


def test_an_ack_of_a_record_with_a_code_never_adopts_a_ticket(store: Store) -> None:
    record = store.add_record(NewRecord(batch="1S95KT", station_id="st-1", code_payload="KC1.p",
                                        code_fields={"student_uid": "u"}, student_uid="u", id_last4="123X"), JPEG)
    _send(store, record.id, new_ticket())
    got = store.get(record.id)
    assert got is not None and got.server_ticket is None and got.claim_ticket is None


def test_a_new_ticket_never_takes_one_the_server_gave_here(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    own, given, free = new_ticket(), new_ticket(), new_ticket()
    record_id = _codeless(store, own)
    _send(store, record_id, given)
    offered = iter([given, own, free])
    monkeypatch.setattr(station_records, "new_ticket", lambda: next(offered))
    who = flow.Student(code=None, id_last4="5678", codeless=True, phone="13900139000")
    saved = save_record(store, "st-1", BATCH, who, Shot(), keep_original=False, links=Links())
    assert isinstance(saved, flow.Saved) and saved.receipt.ticket == free


def test_an_older_database_gains_the_column_empty(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store.open(data) as store:
        record_id = _codeless(store, new_ticket())
    downgrade(data / Store.DB_NAME, 4)
    with Store.open(data) as store:
        record = store.get(record_id)
        assert record is not None and record.server_ticket is None and record.claim_ticket == record.ticket



@pytest.mark.parametrize("source", ["card", "row"])
def test_recovery_keeps_what_a_replay_must_send_and_the_adopted_ticket(tmp_path: Path, source: str) -> None:
    from kiosk.store.recovery import recover, release_recovered

    data = tmp_path / "data"
    own, given = new_ticket(), new_ticket()
    with Store.open(data) as store:
        record = store.add_record(NewRecord(batch="1S95KT", station_id="st-1", codeless=True, ticket=own,
                                            id_last4="1234", status_secret="s" * 32, headwear_allowed=True), JPEG)
        _send(store, record.id, given)
        metadata = record.metadata()
    damage(data, source)
    assert recover(data, station_id="st-1") is not None
    with Store.open(data) as store:
        release_recovered(store)
        rebuilt = store.get(record.id)
        assert rebuilt is not None
        # a replay sends exactly what the server holds: the status secret and the headwear leave included
        assert rebuilt.metadata() == metadata
        # the card is written at capture, before any ticket is adopted; the next acknowledgement brings it back
        assert rebuilt.server_ticket == (given if source == "row" else None)
