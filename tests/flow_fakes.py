"""Small stand-ins shared by the flow and station tests: a code, a photo, a batch, a driver."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

from PIL import Image

from kiosk import flow
from kiosk.batch import Batch
from kiosk.config import FlowSection

SETTINGS = FlowSection(idle_timeout_s=60.0, done_timeout_s=20.0, max_retakes=2)


def batch(**changes: object) -> Batch:
    """A batch of a made-up school."""
    data: dict[str, object] = {"feature_code": "1S95KT", "school_code": "10001", "school_name": "示例大学",
                               "start_date": "2026-06-01", "end_date": "2026-06-02"}
    data.update(changes)
    return Batch(**data)  # type: ignore[arg-type]


@dataclass(frozen=True)
class FakeCode:
    """Just what the flow touches of a CollectionCode."""

    payload: str = "KC1.fake"
    student_uid: str = "uid-1"
    masked_name: str = "张*"
    school_name: str = "示例大学"
    student_number: str = "2023000001"
    masked_id: str = "**************123X"
    issued_at: datetime = field(default_factory=lambda: datetime(2026, 5, 1, tzinfo=UTC))

    @property
    def id_tail(self) -> str:
        """The visible last four."""
        return self.masked_id[-4:]

    def public_fields(self) -> dict[str, str]:
        """What a record keeps of the code (masked)."""
        return {"masked_name": self.masked_name, "masked_id": self.masked_id}


@cache
def tiny_jpeg() -> bytes:
    """A real 48x64 JPEG (made once)."""
    out = io.BytesIO()
    Image.new("RGB", (48, 64), (40, 90, 200)).save(out, "JPEG")
    return out.getvalue()


@dataclass(frozen=True)
class FakePhoto:
    """A standard photo stand-in: a small real JPEG (the store decodes it before saving)."""

    jpeg: bytes = field(default_factory=tiny_jpeg)
    original_jpeg: bytes | None = None


CODE = FakeCode()
PHOTO = FakePhoto()


def welcome(b: Batch | None = None, **ctx: object) -> flow.Welcome:
    """A fresh Welcome with ``b`` as today's batch."""
    state = flow.initial_state(SETTINGS, b if b is not None else batch())
    if ctx:
        import dataclasses

        state = dataclasses.replace(state, ctx=dataclasses.replace(state.ctx, **ctx))  # type: ignore[arg-type]
    return state


def run(state: flow.State, *events: flow.Event) -> tuple[flow.State, list[flow.Effect]]:
    """Step through ``events``; the final state and every effect asked for."""
    effects: list[flow.Effect] = []
    for event in events:
        state, more = flow.step(state, event)
        effects.extend(more)
    return state, effects


def kinds(effects: list[flow.Effect]) -> list[str]:
    """Effect class names, for short assertions."""
    return [type(e).__name__ for e in effects]


def student(**changes: object) -> flow.Student:
    """A verified student with ``CODE``."""
    data: dict[str, object] = {"code": CODE, "id_last4": "123X"}
    data.update(changes)
    return flow.Student(**data)  # type: ignore[arg-type]
