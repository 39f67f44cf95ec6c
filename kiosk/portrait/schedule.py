"""Which of the slower measures a preview frame of a followed face takes.

Every frame measures what changes from one moment to the next (where the
face is, its landmarks, eyes, mouth, pose, light, the head top). The slower
measures change only when the person or the scene does: the crown
(headwear), the backdrop inside the photo's crop (clutter, shadows, colour)
and the clothing, the search of the whole frame for a second person, and
taking the face's anchor again (``tracking.py``). Each costs 1.5-7 ms; run
together on one frame they made the slow frames of the preview (p95 29 ms
at 1080p against a 20 ms budget).

So a frame of a followed face takes at most one of them: the one most
overdue for its period. Between two measurements the last value stands (the
smoothing holds it); when the face has moved or changed size since a
measure was taken, that measure is overdue at once and its next value
replaces the old rather than being averaged with it. A face just found (a
new person, a still) takes them all at once.

The periods keep each hint within half a second at 15-30 frames per
second (a turn every period, plus a frame or two when turns coincide, plus
the frame that shows it): at 15 fps the four measures take 12 of every 15
frames.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.portrait.face import Box

#: the slower measures and how often each is taken on a followed face (seconds)
PERIODS: dict[str, float] = {"crown": 0.25, "backdrop": 0.25, "others": 0.3, "anchor": 1.0}
#: measures that depend on where the face is: a face that moved this share of its width
#: (or changed its width by it) since they were taken makes them overdue
MOVED_SHARE = 0.15
PLACED = ("crown", "backdrop")
#: a measure urged (``Schedule.urge``) runs again at most this soon after its last turn
URGE_GAP_S = 0.25


@dataclass
class _Task:
    period: float
    last: float = -1e9
    where: Box | None = None  # the face when it was last taken
    stale: bool = False  # its value no longer describes the face: replace, do not average


class Schedule:
    """Picks at most one slower measure per frame; remembers when and where each was taken."""

    def __init__(self, periods: dict[str, float] | None = None) -> None:
        self._tasks = {name: _Task(p) for name, p in (periods or PERIODS).items()}

    def reset(self) -> None:
        """Everything overdue (a new face)."""
        for task in self._tasks.values():
            task.last, task.where, task.stale = -1e9, None, False

    def urge(self, name: str, now: float) -> None:
        """``name`` is due now (its value is doubtful: a poor match, a changed size).

        Not again within ``URGE_GAP_S`` of its last turn: what it could not
        fix then (a rolled head the cascade does not see) waits for its period.
        """
        task = self._tasks[name]
        if now - task.last >= URGE_GAP_S:
            task.last = -1e9

    def changed(self) -> None:
        """The face looks different (it no longer matched its anchor): the placed measures start afresh."""
        for name in PLACED:
            self._tasks[name].stale = True

    def pick(self, now: float, face: Box | None) -> str | None:
        """The measure this frame takes: the most overdue by its period, or None when none is due."""
        best, best_late = None, 1.0
        for name, task in self._tasks.items():
            if face is not None and name in PLACED and task.where is not None and _moved(task.where, face):
                task.stale = True
            late = float("inf") if task.stale else (now - task.last) / task.period
            if late >= best_late:
                best, best_late = name, late
        return best

    def done(self, name: str, now: float, face: Box | None) -> bool:
        """Record that ``name`` was taken at ``now`` on ``face``; True when its last value was stale."""
        task = self._tasks[name]
        stale = task.stale
        task.last, task.where, task.stale = now, face, False
        return stale

    def all_done(self, now: float, face: Box | None) -> None:
        """Every measure was taken at ``now`` (a face just found)."""
        for name in self._tasks:
            self.done(name, now, face)

    def age(self, name: str, now: float) -> float:
        """Seconds since ``name`` was last taken."""
        return now - self._tasks[name].last


def _moved(then: Box, now: Box) -> bool:
    return (abs(now.cx - then.cx) > MOVED_SHARE * then.w or abs(now.cy - then.cy) > MOVED_SHARE * then.w
            or abs(now.w - then.w) > MOVED_SHARE * then.w)
