"""A QR code drawn crisply at any size (status links, claim tickets)."""

from __future__ import annotations

import segno
from PyQt5.QtCore import QRectF, QSize, Qt
from PyQt5.QtGui import QColor, QPainter
from PyQt5.QtWidgets import QSizePolicy, QWidget


class QrCode(QWidget):
    """Draws the QR code of ``text`` as large as it fits, with a quiet zone."""

    def __init__(self, text: str = "", size: int = 240, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(size, size)
        self.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        self._hint = size
        self._matrix: list[list[bool]] = []
        self.set_text(text)

    def set_hint(self, side: int) -> None:
        """The side the code asks for when there is room (it never shrinks below its minimum)."""
        self._hint = side
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        """A square of the side asked for, at least the minimum."""
        side = max(self._hint, self.minimumWidth())
        return QSize(side, side)

    def set_text(self, text: str) -> None:
        """Show the code of ``text`` (nothing when empty)."""
        self.text = text
        if text:
            qr = segno.make(text, error="m", micro=False)
            self._matrix = [[bool(v) for v in row] for row in qr.matrix]
        else:
            self._matrix = []
        self.update()

    def paintEvent(self, _event) -> None:
        """White square, dark modules, four modules of quiet zone."""
        painter = QPainter(self)
        side = min(self.width(), self.height())
        # centred in the widget, so a QR that grows with the room stays under its caption
        left, top = (self.width() - side) / 2, (self.height() - side) / 2
        painter.fillRect(QRectF(left, top, side, side), QColor("white"))
        if not self._matrix:
            return
        n = len(self._matrix) + 8
        cell = side / n
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("black"))
        for y, row in enumerate(self._matrix):
            for x, dark in enumerate(row):
                if dark:
                    painter.drawRect(QRectF(left + (x + 4) * cell, top + (y + 4) * cell, cell + 0.5, cell + 0.5))
