"""Exponential smoothing keyed by time, so guidance does not jitter.

Each named measurement moves towards its new value by ``1 - exp(-dt / tau)``:
the same smoothing at 15 or 30 frames per second. A measurement that is
missing for one frame (a face or eye the detector skipped) keeps its last
value for ``hold_s``, so one missed detection does not cancel a countdown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class _Track:
    value: np.ndarray
    t: float  # when it was last updated
    seen: float  # when it was last measured


class Smoother:
    """Named, time-keyed exponential smoothing of numbers and tuples of numbers."""

    def __init__(self, tau_s: float, hold_s: float) -> None:
        self.tau_s = tau_s
        self.hold_s = hold_s
        self._tracks: dict[str, _Track] = {}

    def reset(self, name: str | None = None) -> None:
        """Forget one measurement's history, or all of them."""
        if name is None:
            self._tracks.clear()
        else:
            self._tracks.pop(name, None)

    def peek(self, name: str, now: float) -> tuple[float, ...] | None:
        """The current value of ``name`` without a new measurement (None when missing too long)."""
        return self.update(name, None, now)

    def update(self, name: str, value: tuple[float, ...] | None, now: float,
               hold_s: float | None = None) -> tuple[float, ...] | None:
        """The smoothed ``value`` of ``name`` at ``now``; None when missing for longer than ``hold_s``.

        ``hold_s`` overrides the smoother's own for this measurement: one
        measured only every few frames is held until its next turn.
        """
        track = self._tracks.get(name)
        if value is None:
            if track is not None and now - track.seen <= (self.hold_s if hold_s is None else hold_s):
                return tuple(float(v) for v in track.value)
            self._tracks.pop(name, None)
            return None
        new = np.asarray(value, dtype=np.float64)
        if track is None or track.value.shape != new.shape or self.tau_s <= 0:
            self._tracks[name] = _Track(new, now, now)
            return tuple(float(v) for v in new)
        dt = max(0.0, now - track.t)
        alpha = 1.0 - math.exp(-dt / self.tau_s)
        track.value = track.value + alpha * (new - track.value)
        track.t = track.seen = now
        return tuple(float(v) for v in track.value)
