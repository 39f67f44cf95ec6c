"""One student end to end through the controller with every real part.

Frames come from the synthetic scene (a real portrait on the batch's blue,
holding the student's code on a phone); the real scanner reads the code, the
real analyzer and auto-capture guide the portrait, the real standard photo is
stored by the real store.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from kiosk import flow
from kiosk.codes import CodeBook, KeyRing, demo_codes
from kiosk.codes.attempts import AttemptLock
from kiosk.config import CodesSection, OperatorSection, PortraitSection, ScannerSection
from kiosk.operator import PinLock
from kiosk.portrait.analysis import Analyzer
from kiosk.portrait.autocapture import AutoCapture
from kiosk.portrait.standard import make_photo
from kiosk.scanner import Scanner
from kiosk.scene import Pose, Scene
from kiosk.station import Station, StationParts
from kiosk.station.batches import BatchSource
from kiosk.store import Store
from kiosk.sync.batchcache import save_batch
from tests.flow_fakes import CODE, SETTINGS, batch

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
BATCH = batch()


def build(tmp_path: Path, keys: KeyRing) -> Station:
    data = tmp_path / "data"
    save_batch(data, BATCH)
    portrait = PortraitSection()
    return Station(StationParts(
        station_id="station-01", flow=SETTINGS, store=Store.open(data, clock=lambda: NOW),
        codebook=CodeBook(CodesSection(), keys), attempts=AttemptLock.from_settings(CodesSection(), data),
        pin_lock=PinLock.from_settings(OperatorSection(), data), batches=BatchSource(data, BATCH.feature_code),
        scanner=Scanner(ScannerSection()), analyzer=Analyzer(portrait),
        make_autocapture=lambda: AutoCapture(portrait), make_photo=make_photo, portrait=portrait,
        clock=lambda: NOW))


def feed(station: Station, state: flow.State, frames: list, t0: float, until: type) -> tuple[flow.State, float]:
    """Feed frames 0.1 s apart until the state is of type ``until``."""
    t = t0
    for frame in frames:
        purpose = flow.frame_use(state)
        for event in station.on_frame(purpose, frame, t):
            state, _ = station.dispatch(state, event)
        t += 0.1
        if isinstance(state, until):
            break
    return state, t


def student_to_done(tmp_path: Path) -> tuple[Station, flow.Done]:
    """A student with a code through every real part, from Welcome to Done: the station and its Done state."""
    keys = KeyRing.new()
    me = demo_codes(keys, BATCH, n=1, now=NOW - timedelta(days=1))[0]
    station = build(tmp_path, keys)
    scene = Scene(1280, 720)
    state, _ = station.dispatch(station.initial_state(), flow.StartTapped())
    showing = [scene.render(Pose(), code_text=me.payload, t=i / 10) for i in range(5)]
    state, t = feed(station, state, showing, 0.0, flow.Verify)
    assert isinstance(state, flow.Verify), state
    agree = [flow.SubmitTapped(), flow.ThatsMeTapped(), flow.AgreeTapped()]
    for event in [flow.KeyPressed(k) for k in me.last_four] + agree:
        state, _ = station.dispatch(state, event)
    assert isinstance(state, flow.Capture)
    posing = [scene.render(Pose(), t=t + i / 10) for i in range(60)]
    state, t = feed(station, state, posing, t, flow.Review)
    assert isinstance(state, flow.Review), state
    state, _ = station.dispatch(state, flow.AcceptTapped())
    assert isinstance(state, flow.Done), state
    return station, state


def test_a_student_with_real_parts(tmp_path: Path) -> None:
    station, state = student_to_done(tmp_path)
    record = station.parts.store.get(state.receipt.record_id)
    assert record is not None and record.student_uid is not None
    with Image.open(io.BytesIO(record.photo_path.read_bytes())) as photo:
        assert photo.size == (480, 640) and photo.format == "JPEG"


def test_tap_to_shoot_with_real_parts(tmp_path: Path) -> None:
    station = build(tmp_path, KeyRing.new())
    scene = Scene(1280, 720)
    capture = flow.Capture(ctx=station.initial_state().ctx, student=flow.Student(code=CODE, id_last4="1234"))
    state, _ = station.dispatch(capture, flow.ShutterTapped())
    assert state.error == "flow.error.photo_failed"  # no frame seen yet
    station.execute(flow.StartCamera("portrait"))
    for i in range(3):
        station.on_frame("portrait", scene.render(Pose(), t=i / 10), i / 10)
    state, _ = station.dispatch(state, flow.ShutterTapped())
    assert isinstance(state, flow.Review), state
    assert state.photo.jpeg.startswith(b"\xff\xd8")
