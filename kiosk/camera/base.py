"""What every frame source is: the protocol, its errors, and frame pacing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from kiosk.errors import KioskError


class CameraError(KioskError):
    """A camera that cannot be used."""

    default_key = "camera.error"


class CameraLost(CameraError):
    """The device went away (unplugged) or stopped delivering frames."""

    default_key = "camera.lost"


class CameraNotFound(CameraError):
    """The configured device or file does not exist or will not open."""

    default_key = "camera.not_found"


@runtime_checkable
class FrameSource(Protocol):
    """Anything that yields BGR frames."""

    name: str

    def open(self) -> None:
        """Open the device (a no-op when open); raises ``CameraError``."""

    def read(self) -> np.ndarray:
        """The next frame, BGR uint8; raises ``CameraLost`` when the device is gone."""
        ...

    def close(self) -> None:
        """Release the device (a no-op when closed)."""


class Pacer:
    """Blocks so that successive calls come at most ``fps`` times a second."""

    def __init__(self, fps: float, clock: Callable[[], float], sleep: Callable[[float], object]) -> None:
        self.period = 1.0 / max(fps, 0.1)
        self.clock, self.sleep = clock, sleep
        self.next: float | None = None

    def wait(self) -> None:
        now = self.clock()
        if self.next is not None and self.next > now:
            self.sleep(self.next - now)
            now = self.next
        # Never build up debt: a late frame does not make the next ones early.
        self.next = now + self.period
