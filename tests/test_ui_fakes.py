"""A scripted station controller and frame slot for the screen tests (no tests here).

The real controller needs the codebook, the store, the analyzer and a server;
the screens only need its answers, so this fake answers each effect the way
the real one would for a few known inputs, and records what it was asked.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np

from kiosk import flow
from kiosk.batch import Batch

BATCH = Batch("1S95KT", "10001", "示例大学", "2026-06-01", "2026-06-01", fee_required=True,
              fee_note="本次采集费用 20 元，由学校统一支付 / The school pays the 20 yuan fee",
              help_phone="400-123-4567", help_hours="周一至周五 9:00-17:00")
GOOD, FOREIGN = "good-code", "foreign-code"
UNASKED = "good-code-server-down"  # a good code the server could not be asked about
LAST_FOUR = "3(7)"


BIND_LINK = "https://photos.example.edu.cn/bind?ticket=ABCD-EFGH-J"
#: the codeless record the ticket desk and the binding find
RECORD_CARD = flow.RecordCard(record_id="rec-2", short_id="R7K2Q", ticket="ABCDEFGHJ", ticket_display="ABCD-EFGH-J",
                              photo_path="", masked_name="王*", phone_tail="8000", captured_at="06-01 09:30")


def fake_code() -> Any:
    """A collection code as the screens read it."""
    return SimpleNamespace(payload=GOOD, masked_name="张*", school_name="示例大学", student_number="2023000001",
                           masked_id="M12345***(7)", student_uid="u1", level="本科")


def photo_jpeg() -> bytes:
    """A 480x640 JPEG of a real portrait (skimage's astronaut)."""
    from skimage import data

    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[0:400, 90:390]
    ok, buf = cv2.imencode(".jpg", cv2.resize(image, (480, 640)), [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return buf.tobytes()


@dataclass
class FakeFrame:
    """What the grabber hands out."""

    image: np.ndarray
    seq: int
    t: float


class FakeGrabber:
    """A latest-frame slot fed with a fixed picture, new sequence number each time."""

    def __init__(self) -> None:
        from skimage import data

        self.image = np.ascontiguousarray(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
        self.state = "ok"
        self._seq = 0
        self._lock = threading.Lock()

    def latest(self) -> FakeFrame | None:
        """A new frame on every call (a 30 fps camera, as far as a 30 fps timer can tell)."""
        if self.state != "ok":
            return None
        with self._lock:
            self._seq += 1
            return FakeFrame(self.image, self._seq, time.monotonic())

    def wait_newer(self, seq: int, timeout: float) -> FakeFrame | None:
        """The next frame after a frame interval."""
        time.sleep(min(timeout, 0.03))
        return self.latest()


class FakeStation:
    """Answers effects like the real controller for the test's known inputs."""

    def __init__(self) -> None:
        self.effects: list[flow.Effect] = []
        self.disk_full = False
        self.server_down = False
        self.printer_broken = False
        self.bind_mismatch = False
        self.scan_next: str | None = None
        self.guidance: list[flow.Event] = []
        self.saved = 0

    def on_frame(self, purpose: str, frame: Any, now: float) -> list[flow.Event]:
        """A scripted scan result or guidance, once."""
        if purpose == "scan" and self.scan_next is not None:
            payload, self.scan_next = self.scan_next, None
            return [flow.CodeScanned(payload=payload)]
        if purpose == "portrait" and self.guidance:
            return [self.guidance.pop(0)]
        return []

    def execute(self, effect: flow.Effect) -> list[flow.Event]:
        """The events the real controller would answer with."""
        self.effects.append(effect)
        if isinstance(effect, flow.ParseCode):
            if effect.payload == UNASKED:
                return [flow.CodeUnconfirmed(code=fake_code())]
            if effect.payload == GOOD:
                return [flow.CodeAccepted(code=fake_code())]
            if effect.payload.startswith("TICKET"):
                return [flow.CodeRejected(error_key="code.not_a_code")]
            return [flow.CodeRejected(error_key="code.wrong_batch")]
        if isinstance(effect, flow.CheckLastFour):
            if effect.typed == LAST_FOUR:
                return [flow.LastFourOk(id_last4=LAST_FOUR)]
            return [flow.LastFourWrong(tries_left=2)]
        if isinstance(effect, flow.TakePhoto):
            return [flow.PhotoReady(photo=SimpleNamespace(jpeg=photo_jpeg()))]
        if isinstance(effect, flow.SaveRecord):
            if self.disk_full:
                return [flow.SaveFailed(error_key="flow.error.not_saved_disk_full")]
            self.saved += 1
            codeless = effect.student.codeless
            receipt = flow.Receipt(record_id=f"rec-{self.saved}", short_id=f"R7K{self.saved}Q",
                                   queue_position=None if self.server_down else 3,
                                   status_link="https://photos.example.edu.cn/s/Qm9vZ2xlLXN0YXR1cy1zZWNyZXQtMDA",
                                   ticket="ABCDEFGHJ" if codeless else None,
                                   ticket_display="ABCD-EFGH-J" if codeless else "",
                                   ticket_link=BIND_LINK if codeless else "",
                                   check_until="2026-07-01", has_code=not codeless,
                                   print_note="staff.slip.failed" if self.printer_broken else None)
            return [flow.Saved(receipt=receipt)]
        if isinstance(effect, flow.LookupStatus):
            return [flow.StatusFound(view=flow.StatusView(short_id="R7K1Q", status="queued", queue_position=3,
                                                          refreshed=not self.server_down))]
        if isinstance(effect, flow.CheckPin):
            return [flow.PinAccepted()] if effect.pin == "0000" else [flow.PinRejected(tries_left=4)]
        if isinstance(effect, flow.CheckCodeless):
            if len(effect.phone) != 11:
                return [flow.CodelessInvalid(field="phone", error_key="flow.error.phone_invalid")]
            return [flow.CodelessOk(phone=effect.phone, id_last4=effect.id_last4, name=effect.name)]
        if isinstance(effect, flow.FindTicket):
            if effect.text.replace("-", "").upper().startswith("ABCD"):
                return [flow.TicketFound(ticket="ABCDEFGHJ", record_short_id="R7K2Q")]
            return [flow.TicketRejected(error_key="flow.error.ticket_unknown")]
        if isinstance(effect, flow.BindCode):
            if not effect.confirmed:
                return [flow.BindChecked(mismatch=self.bind_mismatch, record=RECORD_CARD)]
            return [flow.Bound(receipt=flow.Receipt(record_id="rec-2", short_id="R7K2Q"))]
        if isinstance(effect, flow.AcknowledgeHelp):
            return [flow.HelpAcknowledged()]
        if isinstance(effect, flow.SaveContact):
            if len(effect.phone) != 11:
                return [flow.ContactRefused("flow.error.mobile_invalid")]
            return [flow.ContactSaved()]
        if isinstance(effect, flow.FindRecords):
            return [flow.RecordsFound((RECORD_CARD,), listed=effect.mode == "waiting")]
        if isinstance(effect, flow.FetchBatch):
            if effect.feature_code != BATCH.feature_code:
                return [flow.BatchFailed(error_key="flow.error.batch_unknown")]
            return [flow.BatchLoaded(batch=BATCH, offline=self.server_down)]
        if isinstance(effect, flow.GatherHealth):
            return [flow.HealthReported(items=(
                flow.HealthItem("camera", True, "demo 1280x720"), flow.HealthItem("scanner", True, "zxing"),
                flow.HealthItem("disk", not self.disk_full, "12.5 GB"), flow.HealthItem("queue", True, "2"),
                flow.HealthItem("last_sync", not self.server_down, "10:02:11"),
                flow.HealthItem("server", not self.server_down, ""),
                flow.HealthItem("token", True, ""), flow.HealthItem("batch", True, "1S95KT")))]
        if isinstance(effect, flow.LoadStats):
            return [flow.StatsLoaded(items=(("captured", 12), ("codeless", 2), ("sent", 10), ("pending", 2)))]
        return []
