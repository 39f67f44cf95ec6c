"""Auto-capture timing: hold, count down, take the sharpest frame.

Once every check has passed continuously for ``hold_s``, a countdown of
``countdown_s`` seconds runs while the checks go on; any failing check
cancels it with that check's hint, and the person starts holding again. At
zero the sharpest of the last ``sharpest_of`` frames is kept, so a blink or a
twitch on the very last frame does not decide the photo. The operator's
manual shutter (``shoot_now``) takes the sharpest recent frame with a face,
whatever the checks say.

Time is passed in (``now``, seconds on a monotonic clock); nothing here reads
a clock, so the timing is tested without waiting.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from kiosk.config import PortraitSection
from kiosk.portrait.analysis import Analysis

WAITING, HOLDING, COUNTDOWN, SHOOT = "waiting", "holding", "countdown", "shoot"


@dataclass(frozen=True)
class Shot:
    """What the screen shows now; with phase "shoot", the frame to make the photo from."""

    phase: str  # "waiting" | "holding" | "countdown" | "shoot"
    count: int = 0  # whole seconds left while counting down (3, 2, 1)
    hint_key: str | None = None
    frame: np.ndarray | None = None
    analysis: Analysis | None = None  # the analysis of ``frame`` (for ``make_photo``)
    progress: float = 0.0  # 0-1 through holding and countdown together, for a progress ring
    manual: bool = False


@dataclass(frozen=True)
class _Recent:
    sharpness: float
    frame: np.ndarray
    analysis: Analysis
    run: int | None  # the passing run it belongs to; None when its checks failed


class AutoCapture:
    """Turns a stream of analyses into hold, countdown and shoot."""

    def __init__(self, settings: PortraitSection) -> None:
        self.hold_s = settings.hold_s
        self.countdown_s = float(settings.countdown_s)
        self._recent: deque[_Recent] = deque(maxlen=settings.sharpest_of)
        self._phase = WAITING
        self._since = 0.0  # when holding (or the countdown) began
        self._run = 0  # counts passing runs, so a photo never mixes two of them

    @property
    def phase(self) -> str:
        """The current phase."""
        return self._phase

    def reset(self) -> None:
        """Back to waiting, forgetting recent frames (a new person, or after a photo)."""
        self._phase = WAITING
        self._recent.clear()

    def update(self, analysis: Analysis, frame: np.ndarray, now: float) -> Shot:
        """Feed one analysed frame; the caller must not write to ``frame`` afterwards."""
        if not analysis.ok:
            if self._phase != WAITING:
                self._run += 1
            self._phase = WAITING
            if analysis.face is not None:
                self._recent.append(_Recent(analysis.sharpness, frame, analysis, None))
            return Shot(WAITING, hint_key=analysis.first_hint())
        if self._phase == WAITING:
            self._phase, self._since = HOLDING, now
            self._run += 1
        # only frames of this unbroken passing run may become the photo
        self._recent.append(_Recent(analysis.sharpness, frame, analysis, self._run))
        total = self.hold_s + self.countdown_s
        if self._phase == HOLDING:
            if now - self._since < self.hold_s:
                return Shot(HOLDING, hint_key="portrait.hint.hold", progress=(now - self._since) / total)
            self._phase, self._since = COUNTDOWN, self._since + self.hold_s
        remaining = self.countdown_s - (now - self._since)
        if remaining > 0:
            return Shot(COUNTDOWN, count=math.ceil(remaining - 1e-9), hint_key="portrait.hint.countdown",
                        progress=(self.hold_s + now - self._since) / total)
        return self._shoot(manual=False)

    def shoot_now(self) -> Shot:
        """The operator's shutter: the sharpest recent frame with a face, checks or not.

        Phase "waiting" (and no frame) when no recent frame had a face.
        """
        if not self._recent:
            return Shot(WAITING, hint_key="portrait.hint.no_face")
        return self._shoot(manual=True)

    def _shoot(self, manual: bool) -> Shot:
        pool = [r for r in self._recent if manual or r.run == self._run]
        best = max(pool, key=lambda r: r.sharpness)
        self.reset()
        return Shot(SHOOT, hint_key="portrait.hint.shoot", frame=best.frame, analysis=best.analysis,
                    progress=1.0, manual=manual)
