"""Retake counts survive a restart: kept in the store by a digest, passed back into the flow at start."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from store_schema import downgrade

from kiosk import flow
from kiosk.codes import KeyRing, demo_codes
from kiosk.flow.states import retake_digest
from kiosk.store import Store, StoreError
from tests.test_station import BATCH, T0, Clock, capture_photo, drive, make_station, operator, type_keys

DIGEST = retake_digest("1S95KT", "uid:u-1")


def test_counts_are_kept_never_lowered_and_survive_a_reopen(tmp_path: Path) -> None:
    with Store.open(tmp_path / "data") as store:
        assert store.retakes("1S95KT") == ()
        assert store.keep_retakes(DIGEST, "1S95KT", 1) == 1
        assert store.keep_retakes(DIGEST, "1S95KT", 2) == 2
        assert store.keep_retakes(DIGEST, "1S95KT", 1) == 2  # a late, lower count never gives one back
        store.keep_retakes(retake_digest("7Q2W9E", "uid:u-1"), "7Q2W9E", 1)
    with Store.open(tmp_path / "data") as store:
        assert store.retakes("1S95KT") == ((DIGEST, 2),)
        assert len(store.retakes("7Q2W9E")) == 1


def test_the_store_holds_no_student_id_for_them(tmp_path: Path) -> None:
    with Store.open(tmp_path / "data") as store:
        store.keep_retakes(DIGEST, "1S95KT", 1)
        rows = [tuple(r) for r in store.conn.execute("SELECT * FROM retakes")]
    assert "u-1" not in repr(rows)


@pytest.mark.parametrize(("digest", "used"), [("uid:u-1", 1), ("", 1), ("ZZ" * 16, 1), (DIGEST, -1),
                                              (DIGEST, 10**6), (DIGEST, True), (None, 1)])
def test_a_count_that_cannot_be_one_is_refused_and_logged(tmp_path: Path, digest: Any, used: Any,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    with Store.open(tmp_path / "data") as store, caplog.at_level(logging.ERROR):
        with pytest.raises(StoreError) as refused:
            store.keep_retakes(digest, "1S95KT", used)
        assert refused.value.key == "store.failed"
        assert "retakes.refused" in caplog.text
        assert store.retakes("1S95KT") == ()


def test_an_older_database_gains_the_table_empty(tmp_path: Path) -> None:
    with Store.open(tmp_path / "data") as store:
        store.keep_retakes(DIGEST, "1S95KT", 1)
    downgrade(tmp_path / "data" / Store.DB_NAME, 5)
    with Store.open(tmp_path / "data") as store:
        assert store.startup.schema_from == 5 and store.retakes("1S95KT") == ()


def test_purge_forgets_counts_with_the_records(tmp_path: Path) -> None:
    clock = Clock()
    with Store.open(tmp_path / "data", clock=clock) as store:
        store.keep_retakes(DIGEST, "1S95KT", 1)
        store.purge(T0 + timedelta(days=300), 30, 365)
        assert store.retakes("1S95KT") != ()
        report = store.purge(T0 + timedelta(days=366), 30, 365)
        assert report.retakes_deleted == 1 and store.retakes("1S95KT") == ()


# -- the station: counted when spent, passed back in at start ---------------------------------


def _to_review(station: Any, state: flow.State, me: Any) -> flow.State:
    state, _ = drive(station, state, flow.StartTapped(), flow.CodeScanned(me.payload), *type_keys(me.last_four),
                     flow.ThatsMeTapped(), flow.AgreeTapped())
    assert isinstance(state, flow.Capture), state
    return capture_photo(station, state)


def test_a_restarted_station_does_not_give_a_retake_back(tmp_path: Path) -> None:
    keys = KeyRing.new()
    me, other = demo_codes(keys, BATCH, n=2, now=T0 - timedelta(days=3))
    clock = Clock()
    station = make_station(tmp_path, keys, clock)
    review = _to_review(station, station.initial_state(), me)
    assert isinstance(review, flow.Review) and review.retakes_left == 2
    state, effects = drive(station, review, flow.RetakeTapped())
    assert isinstance(state, flow.Capture)
    [count] = [e for e in effects if isinstance(e, flow.CountRetake)]
    assert count.batch == BATCH.feature_code and count.used == 1 and me.payload not in repr(count)
    station.parts.store.close()

    restarted = make_station(tmp_path, keys, clock)  # the app starts again: a new process, the store reopened
    fresh = restarted.initial_state()
    assert fresh.ctx.retakes_used == ((count.digest, 1),)
    again = _to_review(restarted, fresh, me)
    assert isinstance(again, flow.Review) and again.retakes_left == 1
    state, _ = drive(restarted, again, flow.RetakeTapped())
    state = capture_photo(restarted, state)
    assert isinstance(state, flow.Review) and state.retakes_left == 0
    assert restarted.parts.store.retakes(BATCH.feature_code) == ((count.digest, 2),)
    # another student of the same batch has the whole allowance
    state, _ = drive(restarted, state, flow.BackTapped())
    theirs = _to_review(restarted, state, other)
    assert isinstance(theirs, flow.Review) and theirs.retakes_left == 2
    restarted.parts.store.close()


def test_setting_the_batch_again_brings_its_counts_back(tmp_path: Path) -> None:
    keys = KeyRing.new()
    clock = Clock()
    station = make_station(tmp_path, keys, clock, fetch=lambda code: BATCH)
    digest = retake_digest(BATCH.feature_code, "uid:someone")
    station.parts.store.keep_retakes(digest, BATCH.feature_code, 2)
    state = operator(station)
    state = type(state)(ctx=flow.Context(settings=state.ctx.settings))  # a context that lost its counts
    state, _ = drive(station, state, flow.MenuChosen(flow.MENU_BATCH),
                     flow.FieldEdited("feature_code", BATCH.feature_code), flow.SubmitTapped())
    assert state.ctx.batch == BATCH and state.ctx.retakes_used == ((digest, 2),)
    station.parts.store.close()


def test_an_unreadable_count_never_stops_the_station(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    keys = KeyRing.new()
    station = make_station(tmp_path, keys)
    station.parts.store.conn.execute("DROP TABLE retakes")
    with caplog.at_level(logging.ERROR):
        state = station.initial_state()
    assert state.ctx.retakes_used == () and "retakes.unreadable" in caplog.text
    station.parts.store.close()
