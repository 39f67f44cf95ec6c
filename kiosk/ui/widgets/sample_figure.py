"""The sample photo of the dress rules: an outline figure drawn by the station itself.

A drawing rather than a person's photo: nobody's face is shown, and the
points of the rules (bare head, hair off the eyebrows and ears, eyes clear,
a plain neckline, the light-blue background) are drawn plainly.
"""

from __future__ import annotations

from PyQt5.QtCore import QPointF, QRectF, QSize, Qt
from PyQt5.QtGui import QColor, QPainter, QPainterPath, QPen
from PyQt5.QtWidgets import QSizePolicy, QWidget

#: the photo standard's reference background (RGB 100, 197, 255)
BACKGROUND = QColor(100, 197, 255)
SKIN = QColor("#f3d9c4")
HAIR = QColor("#2b2b2b")
SHIRT = QColor("#ffffff")
JACKET = QColor("#2f3a4a")
LINE = QColor("#1b1f24")


class SampleFigure(QWidget):
    """A 3:4 head-and-shoulders figure on the standard's blue background."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setMinimumSize(150, 200)

    def sizeHint(self) -> QSize:
        """3:4, as the photo."""
        return QSize(240, 320)

    def frame(self) -> QRectF:
        """The photo's rectangle in the widget (3:4, centred)."""
        h = min(self.height(), self.width() * 4 / 3)
        w = h * 3 / 4
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, _event: object) -> None:
        """Background, shoulders, neck, face, ears, hair, eyebrows, eyes, mouth."""
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        f = self.frame()
        x0, y0, w, h = f.x(), f.y(), f.width(), f.height()

        def pt(x: float, y: float) -> QPointF:
            return QPointF(x0 + x * w, y0 + y * h)

        def rect(x: float, y: float, rw: float, rh: float) -> QRectF:
            return QRectF(x0 + x * w, y0 + y * h, rw * w, rh * h)

        pen = QPen(LINE, max(1.5, w / 160))
        p.setPen(pen)
        p.fillRect(f, BACKGROUND)
        # shoulders: a dark jacket over a white shirt with a plain round neckline
        body = QPainterPath(pt(0.0, 1.0))
        body.lineTo(pt(0.0, 0.88))
        body.cubicTo(pt(0.05, 0.76), pt(0.25, 0.73), pt(0.38, 0.72))
        body.lineTo(pt(0.62, 0.72))
        body.cubicTo(pt(0.75, 0.73), pt(0.95, 0.76), pt(1.0, 0.88))
        body.lineTo(pt(1.0, 1.0))
        body.closeSubpath()
        p.setBrush(JACKET)
        p.drawPath(body)
        collar = QPainterPath(pt(0.38, 0.72))
        collar.quadTo(pt(0.5, 0.86), pt(0.62, 0.72))
        collar.closeSubpath()
        p.setBrush(SHIRT)
        p.drawPath(collar)
        # neck and ears, then the face over them
        p.setBrush(SKIN)
        p.drawRect(rect(0.43, 0.58, 0.14, 0.15))
        p.drawEllipse(rect(0.265, 0.36, 0.07, 0.12))
        p.drawEllipse(rect(0.665, 0.36, 0.07, 0.12))
        p.drawEllipse(rect(0.3, 0.17, 0.4, 0.47))
        # hair: on top of the head only, above the eyebrows and clear of the ears
        hair = QPainterPath(pt(0.3, 0.34))
        hair.cubicTo(pt(0.27, 0.14), pt(0.4, 0.09), pt(0.5, 0.09))
        hair.cubicTo(pt(0.6, 0.09), pt(0.73, 0.14), pt(0.7, 0.34))
        hair.cubicTo(pt(0.66, 0.24), pt(0.58, 0.22), pt(0.5, 0.23))
        hair.cubicTo(pt(0.42, 0.22), pt(0.34, 0.24), pt(0.3, 0.34))
        p.setBrush(HAIR)
        p.drawPath(hair)
        # eyebrows, open eyes looking ahead, a closed mouth
        brow = QPen(HAIR, max(2.0, w / 70))
        brow.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(brow)
        p.drawLine(pt(0.37, 0.335), pt(0.45, 0.33))
        p.drawLine(pt(0.55, 0.33), pt(0.63, 0.335))
        p.setPen(pen)
        p.setBrush(QColor("white"))
        p.drawEllipse(rect(0.375, 0.36, 0.075, 0.035))
        p.drawEllipse(rect(0.55, 0.36, 0.075, 0.035))
        p.setBrush(LINE)
        p.drawEllipse(pt(0.4125, 0.3775), w * 0.013, w * 0.013)
        p.drawEllipse(pt(0.5875, 0.3775), w * 0.013, w * 0.013)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawLine(pt(0.5, 0.4), pt(0.49, 0.47))
        p.drawArc(rect(0.44, 0.49, 0.12, 0.04), 200 * 16, 140 * 16)
        p.end()
