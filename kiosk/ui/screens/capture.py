"""Capture (guided preview, countdown, tap-to-shoot) and Review; Done is in ``kiosk.ui.screens.done``."""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import QEvent, Qt
from PyQt5.QtGui import QPixmap
from PyQt5.QtWidgets import QLabel, QSizePolicy, QWidget

from kiosk import flow
from kiosk.ui import theme
from kiosk.ui.screens.base import Screen
from kiosk.ui.widgets.preview import Preview


class CaptureScreen(Screen):
    """The mirrored preview with the oval guide, the live hint and the countdown."""

    name = "capture"
    heading_key = "ui.capture.heading"

    def __init__(self, lang: Any, *, mirror: bool = True) -> None:
        self.mirror = mirror
        super().__init__(lang)

    def build(self) -> None:
        """Preview with overlay; shutter and back."""
        self.preview = Preview(mirror=self.mirror, guide=True)
        self.preview.tapped.connect(self._tap)
        self.first.addWidget(self.preview, 1)
        self.split.setStretch(1, 0)
        self.shutter = self.button("ui.capture.shoot", flow.ShutterTapped(), main=True)
        self.cancel = self.button("ui.app.cancel", flow.BackTapped())
        # cancel at the left third on Capture and Review alike, so a tap aimed at it lands on the same intent
        self.buttons_row.addWidget(self.cancel, 1, Qt.AlignmentFlag.AlignBottom)
        self.buttons_row.addWidget(self.shutter, 2)
        self._hint_key = "ui.capture.waiting"
        self._count = 0
        self.lang.changed.connect(lambda _lang: self._render_hint())

    def _tap(self) -> None:
        if self.shutter.isEnabled():
            self.send(flow.ShutterTapped())

    def show_state(self, state: flow.State) -> None:
        """Phase, countdown, hint, camera state and errors (framing hints, camera lost)."""
        super().show_state(state)
        assert isinstance(state, flow.Capture)
        lost = not state.ctx.camera_ok
        self.show_guidance(state.phase, state.count, state.hint_key, busy=state.busy)
        self.set_camera_lost(lost)
        if not state.error:
            # the student in a head covering sees that it is allowed, and the reviewer will see it too
            self.set_info("staff.headwear.capture_note" if state.ctx.headwear_leave else None)

    def show_guidance(self, phase: str, count: int, hint_key: str | None, *, busy: bool = False) -> None:
        """The autocapture phase, countdown and hint of the latest analysis."""
        if busy:
            key = "ui.capture.saving"
        elif phase in ("holding", "countdown", "shoot"):
            key = "ui.capture.hold"  # the big number says the rest
        elif hint_key:
            key = hint_key
        else:
            key = "ui.capture.waiting"
        self._hint_key = key
        self._count = count
        self.shutter.setEnabled(not busy)
        self.preview.set_overlay(hint=self.lang.t(key, count=count, n=count),
                                 countdown=count if phase == "countdown" else None,
                                 ok=phase in ("holding", "countdown", "shoot"))

    def set_camera_lost(self, lost: bool) -> None:
        """Say so over the preview while the camera is gone."""
        self.preview.message = self.lang.t("ui.app.camera_lost") if lost else ""
        self.preview.update()
        self.shutter.setEnabled(not lost)

    def _render_hint(self) -> None:
        self.preview.set_overlay(hint=self.lang.t(self._hint_key, count=self._count, n=self._count),
                                 countdown=self.preview.countdown)

    def reset(self) -> None:
        """No frame of the previous student stays on screen."""
        super().reset()
        self.preview.clear_frame()
        self.show_guidance("waiting", 0, None)


class ReviewScreen(Screen):
    """The standard photo as it will be submitted: retake (limited) or accept."""

    name = "review"
    heading_key = "ui.review.heading"

    def build(self) -> None:
        """Photo, retake and accept."""
        self.photo = QLabel()
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # the photo takes the room the layout gives it; its pixmap must not ask for more
        self.photo.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.photo.setMinimumSize(240, 320)
        self.photo.installEventFilter(self)
        self._pixmap = QPixmap()
        self.first.addWidget(self.photo, 1)
        self.retake = self.button("ui.review.retake", flow.RetakeTapped(), left=0)
        self.accept = self.button("ui.review.accept", flow.AcceptTapped(), primary=True)
        self.retry = self.button("ui.review.retry", flow.RetryTapped(), primary=True)
        self.call_staff = self.button("ui.review.call_staff", flow.NoCodeTapped())
        # the costly choices (a retake is spent, the photo is submitted) sit beside the photo, away from
        # Capture's shutter and cancel: auto-capture may bring this screen up under a finger aimed at those
        self.second.addStretch(1)
        for button in (self.accept, self.retry, self.retake, self.call_staff):
            self.second.addWidget(button)
        self.retry.hide()
        self.call_staff.hide()
        self.second.addStretch(1)
        self.cancel = self.button("ui.review.cancel", flow.BackTapped())
        self.buttons_row.addWidget(self.cancel, 1, Qt.AlignmentFlag.AlignBottom)
        # an empty space as large as Capture's shutter, so that cancel sits exactly where Capture's did
        where_shutter_was = QWidget()
        where_shutter_was.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        where_shutter_was.setFixedHeight(theme.MAIN_PX)
        self.buttons_row.addWidget(where_shutter_was, 2)
        self._jpeg = b""

    def show_state(self, state: flow.State) -> None:
        """Review: the photo and the retakes left; Saving: progress, or the error with retry."""
        super().show_state(state)
        assert isinstance(state, flow.Review | flow.Saving)
        jpeg = getattr(state.photo, "jpeg", b"")
        if jpeg != self._jpeg:
            self._jpeg = jpeg
            self._pixmap = QPixmap()
            self._pixmap.loadFromData(jpeg, "JPEG")
            self._fit()
        saving = isinstance(state, flow.Saving)
        failed = saving and not state.busy
        left = state.retakes_left if isinstance(state, flow.Review) else 0
        if left > 0:
            self.lang.bind(self.retake, self.retake.setText, "ui.review.retake", left=left)
        else:
            self.lang.bind(self.retake, self.retake.setText, "ui.review.no_retake")
        self.retake.setVisible(not saving)
        self.retake.setEnabled(left > 0)
        self.cancel.setVisible(not saving)
        self.accept.setVisible(not saving or state.busy)
        self.accept.setEnabled(not saving)
        self.retry.setVisible(failed)
        self.call_staff.setVisible(failed)
        if saving and state.busy:
            self.set_info("ui.capture.saving")
        elif failed and getattr(state, "staff_called", False) and not state.error:
            self.set_info("ui.welcome.staff_called")
        elif not state.error:
            # the head covering in the photo is allowed: the student should not retake for it
            self.set_info("staff.headwear.capture_note" if state.ctx.headwear_leave else None)

    def _fit(self) -> None:
        if self._pixmap.isNull():
            self.photo.clear()
            return
        size = self.photo.size()
        scaled = self._pixmap.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation)
        self.photo.setPixmap(scaled)

    def eventFilter(self, watched: Any, event: Any) -> bool:
        """Keep the photo as large as fits whenever the layout gives it a new size."""
        if watched is self.photo and event.type() == QEvent.Type.Resize:
            self._fit()
        return super().eventFilter(watched, event)

    def reset(self) -> None:
        """No photo of the previous student stays on screen."""
        super().reset()
        self._pixmap = QPixmap()
        self._jpeg = b""
        self.photo.clear()
