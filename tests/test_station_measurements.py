"""A real capture stores the photo's measurements with the record, for the reviewer.

The student poses in the synthetic scene (a real portrait on the batch's blue);
the real analyzer, auto-capture and standard photo make the photo, and the real
store keeps it: its record carries measurements the server accepts and the
console knows, inside the standard's bands.
"""

from __future__ import annotations

import math
from pathlib import Path

from test_station_real import student_to_done

from kiosk.config import PortraitSection
from kiosk.portrait import Analyzer
from kiosk.portrait.measurements import MAX_VALUES, photo_measurements
from kiosk.scene import Pose, Scene
from kiosk.server.review_measures import BANDS, ORDER
from kiosk.server.schema import RecordMetadata


def test_a_real_capture_stores_its_measurements(tmp_path: Path) -> None:
    station, state = student_to_done(tmp_path)
    record = station.parts.store.get(state.receipt.record_id)
    assert record is not None and record.measurements, record
    got = record.measurements
    for key, (low, high) in BANDS.items():
        assert low <= got[key] <= high, (key, got[key])
    assert got["checks_failed"] == "" and got["eyes_found"] is True
    assert set(got) <= set(ORDER)  # every key has its label on the console
    sent = RecordMetadata.model_validate(record.metadata())  # what the server accepts
    assert sent.measurements is not None and len(sent.measurements) <= MAX_VALUES


def test_measurements_are_finite_scalars_within_the_servers_bounds() -> None:
    analyzer = Analyzer(PortraitSection())
    scene = Scene(1280, 720)
    analysis = None
    for i in range(5):
        analysis = analyzer.analyse(scene.render(Pose(roll=30), t=i / 10), i / 10)
    assert analysis is not None
    geometry = {"head_top_px": float("nan"), "eye_line_px": 250.4, "tilt_deg": float("inf"), "eyes_found": True}
    got = photo_measurements(geometry, analysis)
    assert "head_top_px" not in got and "tilt_deg" not in got and got["eye_line_px"] == 250
    assert got["checks_failed"]  # the rolled head's failing checks are named
    for value in got.values():
        assert isinstance(value, bool | int | str) or math.isfinite(value)
        assert not isinstance(value, str) or len(value) <= 64
    RecordMetadata.model_validate({"record_id": "6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b", "batch": "1S95KT",
                                   "station_id": "st-1", "captured_at": "2026-06-02T09:30:00Z", "codeless": True,
                                   "ticket": "ABCDEFGHJ", "photo_sha256": "0" * 64, "photo_bytes": 1,
                                   "measurements": got})
