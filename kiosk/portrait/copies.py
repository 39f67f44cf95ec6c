"""The downscaled copies of one preview frame, each made once and only when a measure asks for it.

Scaling a whole 1080p frame down to the detection copy costs about 2 ms of
one core, as much as the landmarks. A followed face needs the detection copy
only over the columns above the face (the head top); the cascade and the
backdrop measures, which need all of it, run a few times a second
(``schedule.py``). So the copy is made on first use, and a region of it is
scaled from the frame's same region when the whole copy has not been made
(the same pixels when the frame is a whole multiple of the copy, as 1280 and
1920 are of 320).
"""

from __future__ import annotations

import cv2
import numpy as np


class FrameCopies:
    """One frame and its detection copy (scaled by ``k`` to ``detect_width``), made lazily."""

    def __init__(self, frame: np.ndarray, detect_width: int) -> None:
        self.frame = frame
        h, w = frame.shape[:2]
        self.k = min(1.0, detect_width / w)
        #: the detection copy's size (width, height)
        self.size = (round(w * self.k), max(1, round(h * self.k))) if self.k < 1 else (w, h)
        self._small: np.ndarray | None = None
        self._small_gray: np.ndarray | None = None

    @property
    def small(self) -> np.ndarray:
        """The detection copy (BGR)."""
        if self._small is None:
            self._small = (cv2.resize(self.frame, self.size, interpolation=cv2.INTER_AREA) if self.k < 1
                           else self.frame)
        return self._small

    @property
    def small_gray(self) -> np.ndarray:
        """The detection copy in gray."""
        if self._small_gray is None:
            self._small_gray = cv2.cvtColor(self.small, cv2.COLOR_BGR2GRAY)
        return self._small_gray

    def small_region(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """Columns ``x0:x1`` and rows ``y0:y1`` of the detection copy (BGR), without making all of it."""
        sw, sh = self.size
        x0, x1 = max(0, min(sw, x0)), max(0, min(sw, x1))
        y0, y1 = max(0, min(sh, y0)), max(0, min(sh, y1))
        if self._small is not None or self.k >= 1 or x1 <= x0 or y1 <= y0:
            return self.small[y0:y1, x0:x1]
        h, w = self.frame.shape[:2]
        sx, sy = w / sw, h / sh
        region = self.frame[round(y0 * sy):round(y1 * sy), round(x0 * sx):round(x1 * sx)]
        return cv2.resize(region, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
