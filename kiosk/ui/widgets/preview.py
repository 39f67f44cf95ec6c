"""The live camera preview with the capture overlay.

The preview is mirrored by default because people expect a mirror; the
saved photo never is. Over the picture it draws the oval the face should fill,
the live hint and the countdown. Frames arrive already decoded (BGR arrays)
and are wrapped without copying; painting scales them to the widget.
"""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPainterPath, QPen
from PyQt5.QtWidgets import QSizePolicy, QWidget

from kiosk.ui import theme


def bgr_to_qimage(frame: np.ndarray) -> QImage:
    """A QImage sharing ``frame``'s memory (keep the array alive while it is shown)."""
    if frame.ndim == 2:
        h, w = frame.shape
        return QImage(frame.data, w, h, frame.strides[0], QImage.Format_Grayscale8)  # type: ignore[call-overload]
    h, w = frame.shape[:2]
    return QImage(frame.data, w, h, frame.strides[0], QImage.Format_BGR888)  # type: ignore[call-overload]


class Preview(QWidget):
    """A live picture at full frame height, optionally with the oval guide, hint and countdown."""

    tapped = pyqtSignal()

    def __init__(self, *, mirror: bool = True, guide: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mirror = mirror
        self.guide = guide
        self.guide_ok = False
        self.hint = ""
        self.countdown: int | None = None
        self.message = ""
        self.frames_shown = 0
        self._frame: np.ndarray | None = None
        self._image: QImage | None = None
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(320, 240)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def set_frame(self, frame: np.ndarray) -> None:
        """Show ``frame`` (BGR) from now on."""
        self._frame = np.ascontiguousarray(frame)
        self._image = bgr_to_qimage(self._frame)
        self.frames_shown += 1
        self.update()

    def clear_frame(self) -> None:
        """Forget the last frame (a new student must not see the previous one)."""
        self._frame = None
        self._image = None
        self.update()

    def set_overlay(self, *, hint: str | None = None, countdown: int | None = None, ok: bool | None = None,
                    message: str | None = None) -> None:
        """Change what is drawn over the picture; ``None`` keeps the current value (countdown: hides it)."""
        if hint is not None:
            self.hint = hint
        self.countdown = countdown
        if ok is not None:
            self.guide_ok = ok
        if message is not None:
            self.message = message
        self.update()

    def guide_rect(self) -> QRectF:
        """The oval the face should fill, in widget coordinates."""
        h = self.height() * 0.56
        w = h * 0.74
        return QRectF((self.width() - w) / 2, self.height() * 0.14, w, h)

    def paintEvent(self, _event) -> None:
        """Picture (full height, mirrored), then the overlay."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#20262e"))
        if self._image is not None:
            # always the frame's full height (the face is in its middle): a tall widget crops the
            # sides, a wide one shows the whole frame between dark bars instead of cutting the head off
            iw, ih = self._image.width(), self._image.height()
            scale = self.height() / ih
            shown_w = min(self.width(), iw * scale)
            source_w = shown_w / scale
            source = QRectF((iw - source_w) / 2, 0, source_w, ih)
            target = QRectF((self.width() - shown_w) / 2, 0, shown_w, self.height())
            if self.mirror:
                painter.save()
                painter.translate(self.width(), 0)
                painter.scale(-1, 1)
                painter.drawImage(target, self._image, source)
                painter.restore()
            else:
                painter.drawImage(target, self._image, source)
        painter.setRenderHint(QPainter.Antialiasing)
        if self.guide:
            self._paint_guide(painter)
        if self.message:
            self._paint_banner(painter, self.message, self.height() * 0.45)
        elif self.hint:
            self._paint_banner(painter, self.hint, self.height() * 0.80, bottom=True)
        if self.countdown is not None and self.countdown > 0:
            font = QFont(self.font())
            font.setPixelSize(int(self.height() * 0.25))
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(QColor(255, 255, 255, 230))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, str(self.countdown))

    def _paint_guide(self, painter: QPainter) -> None:
        oval = self.guide_rect()
        outside = QPainterPath()
        outside.addRect(QRectF(self.rect()))
        inside = QPainterPath()
        inside.addEllipse(oval)
        painter.fillPath(outside.subtracted(inside), QColor(0, 0, 0, 90))
        colour = QColor(theme.GUIDE_OK if self.guide_ok else theme.GUIDE_WAIT)
        pen = QPen(colour, max(4, self.height() // 120))
        if not self.guide_ok:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(oval)

    def banner_font(self) -> QFont:
        """The font of the hint and message over the picture: large enough to read at arm's length."""
        font = QFont(self.font())
        font.setPixelSize(max(24, int(min(self.height() * 0.045, self.width() * 0.06))))
        font.setBold(True)
        return font

    def banner_rect(self, text: str, y: float, *, bottom: bool = False) -> QRectF:
        """Where ``text`` is drawn from ``y`` down: as many lines as it needs, kept inside the picture."""
        font = self.banner_font()
        margin = self.width() * 0.05
        pad = font.pixelSize() * 0.5
        width = self.width() - 2 * margin
        flags = int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap)
        needed = QFontMetricsF(font).boundingRect(QRectF(0, 0, width - 2 * pad, 10_000), flags, text).height()
        height = needed + 2 * pad
        if bottom or y + height > self.height() - margin:
            y = min(y, self.height() - margin - height)
        return QRectF(margin, max(0.0, y), width, height)

    def _paint_banner(self, painter: QPainter, text: str, y: float, *, bottom: bool = False) -> None:
        font = self.banner_font()
        painter.setFont(font)
        box = self.banner_rect(text, y, bottom=bottom)
        pad = font.pixelSize() * 0.5
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 170))
        painter.drawRoundedRect(box, 12, 12)
        painter.setPen(QColor("white"))
        painter.drawText(box.adjusted(pad, pad, -pad, -pad),
                         Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)

    def mousePressEvent(self, event) -> None:
        """A tap on the picture (tap-to-shoot on the capture screen)."""
        self.tapped.emit()
        super().mousePressEvent(event)
