"""Worker threads to Qt signals: the GUI thread only renders and dispatches.

* ``FramePump`` polls the grabber's latest-frame slot from a GUI timer and
  hands on only frames newer than the last one shown (frames are never queued,
  so a slow paint drops frames instead of lagging).
* ``FrameWorker`` is a thread that takes the newest frame whenever it is free
  (scanning, face analysis): a slow worker lowers its own rate, never the
  preview's.
* ``TaskRunner`` runs blocking calls (store writes, server calls) one at a time
  on a worker thread and delivers each result or error back on the GUI thread.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from PyQt5.QtCore import QObject, QThread, QTimer, pyqtSignal

from kiosk.errors import KioskError

log = logging.getLogger(__name__)


#: how much nicer than the GUI thread the workers run: under CPU contention the screen wins
WORKER_NICENESS = 5


def lower_thread_priority(niceness: int = WORKER_NICENESS) -> None:
    """Make the calling thread nicer (Linux: per-thread nice), so the GUI thread is scheduled first."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + niceness)
    except (AttributeError, OSError) as exc:  # not Linux, or not allowed: run at normal priority
        log.debug("thread.priority_unchanged error=%s", type(exc).__name__)


class FrameSlot(Protocol):
    """What the bridge needs of a grabber (``kiosk.camera.Grabber``)."""

    state: str

    def latest(self) -> Any:
        """The newest ``Frame`` (``image``, ``seq``, ``t``) or None."""

    def wait_newer(self, seq: int, timeout: float) -> Any:
        """The newest frame once its ``seq`` is above ``seq``; None on timeout."""


class FramePump(QObject):
    """A GUI timer that paints only frames newer than the last one painted."""

    frame = pyqtSignal(object)
    camera_state = pyqtSignal(str)

    def __init__(self, grabber: FrameSlot | None, fps: float = 30.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.grabber = grabber
        self.last_seq = -1
        self.shown = 0
        self.state = ""
        self.timer = QTimer(self)
        self.timer.setInterval(max(1, round(1000 / fps)))
        self.timer.timeout.connect(self.tick)

    def start(self) -> None:
        """Start polling."""
        self.timer.start()

    def stop(self) -> None:
        """Stop polling."""
        self.timer.stop()

    def tick(self) -> None:
        """One poll: hand on a newer frame, report a changed camera state."""
        if self.grabber is None:
            return
        state = getattr(self.grabber, "state", "ok")
        if state != self.state:
            self.state = state
            self.camera_state.emit(state)
        frame = self.grabber.latest()
        if frame is None or frame.seq <= self.last_seq:
            return
        self.last_seq = frame.seq
        self.shown += 1
        self.frame.emit(frame)


class FrameWorker(QThread):
    """A thread applying ``work(frame)`` to the newest frame whenever it is free.

    ``result`` carries ``(frame, value)``; ``failed`` carries a ``KioskError``.
    Inactive workers sleep, so scanning costs nothing on the capture screen and
    face analysis nothing on the scan screen.
    """

    result = pyqtSignal(object, object)
    failed = pyqtSignal(object)

    def __init__(self, grabber: FrameSlot, work: Callable[[Any], Any], name: str,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.grabber = grabber
        self.work = work
        self.setObjectName(name)
        self._active = threading.Event()
        self._stopping = threading.Event()
        self.processed = 0

    def set_active(self, active: bool) -> None:
        """Start or pause taking frames."""
        if active:
            self._active.set()
        else:
            self._active.clear()

    @property
    def active(self) -> bool:
        """Whether the worker is taking frames."""
        return self._active.is_set()

    def stop(self) -> None:
        """Finish the current frame and end the thread."""
        self._stopping.set()
        self._active.set()
        if not self.wait(3000):
            # a frame still in the work (a model loading on a loaded machine): a QThread destroyed
            # while it runs aborts the whole process, so give it longer before giving up
            log.warning("worker.stop_slow name=%s", self.objectName())
            if not self.wait(10000):
                log.error("worker.stop_timeout name=%s", self.objectName())

    def run(self) -> None:
        """Take the newest frame, work on it, report; repeat."""
        lower_thread_priority()
        seq = -1
        while not self._stopping.is_set():
            if not self._active.wait(0.2):
                continue
            if self._stopping.is_set():
                break
            frame = self.grabber.wait_newer(seq, 0.2)
            if frame is None or not self._active.is_set():
                continue
            seq = frame.seq
            try:
                value = self.work(frame)
            except KioskError as exc:
                self.failed.emit(exc)
                continue
            except Exception as exc:  # a worker must never die silently; the station keeps running
                log.exception("worker.error name=%s", self.objectName())
                self.failed.emit(KioskError(detail=type(exc).__name__))
                continue
            self.processed += 1
            self.result.emit(frame, value)


@dataclass
class _Job:
    id: int
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    done: Callable[[Any], None] | None
    failed: Callable[[KioskError], None] | None


class _TaskThread(QThread):
    finished_job = pyqtSignal(int, object, object)

    def __init__(self, jobs: queue.Queue[_Job | None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.setObjectName("tasks")

    def run(self) -> None:
        lower_thread_priority()
        while True:
            job = self.jobs.get()
            if job is None:
                return
            try:
                value = job.fn(*job.args)
            except KioskError as exc:
                self.finished_job.emit(job.id, None, exc)
                continue
            except Exception as exc:  # reported to the screen as a generic error, logged in full
                log.exception("task.error fn=%s", getattr(job.fn, "__name__", "?"))
                self.finished_job.emit(job.id, None, KioskError(detail=type(exc).__name__))
                continue
            self.finished_job.emit(job.id, value, None)


class TaskRunner(QObject):
    """Blocking calls off the GUI thread, in order, results back on the GUI thread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._pending: dict[int, _Job] = {}
        self._ids = itertools.count(1)
        self._thread = _TaskThread(self._jobs)
        self._thread.finished_job.connect(self._finished)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None] | None = None,
               failed: Callable[[KioskError], None] | None = None) -> int:
        """Run ``fn(*args)`` on the worker; then ``done(value)`` or ``failed(error)`` on the GUI thread."""
        job = _Job(next(self._ids), fn, args, done, failed)
        self._pending[job.id] = job
        self._jobs.put(job)
        return job.id

    @property
    def busy(self) -> bool:
        """Whether a job is queued or running."""
        return bool(self._pending)

    def _finished(self, job_id: int, value: Any, error: Any) -> None:
        job = self._pending.pop(job_id, None)
        if job is None:
            return
        if error is not None:
            if job.failed is not None:
                job.failed(error)
            else:
                log.warning("task.failed key=%s", getattr(error, "key", "?"))
        elif job.done is not None:
            job.done(value)

    def stop(self) -> None:
        """Finish queued jobs and end the worker thread."""
        self._jobs.put(None)
        self._thread.wait(10000)
