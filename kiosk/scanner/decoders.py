"""QR decoder backends behind one small interface: zxing-cpp (default) and zbar.

Both are asked for regular QR codes (model 2) only, the one symbology of
collection codes and claim tickets: zxing-cpp's ``QRCode`` also covers Micro
QR and rMQR, and a Micro QR "found" in a glare-damaged corner of a real code
once came back as a wrong read. Both take 8-bit gray images; zbar silently
reads only the first channel of a colour one.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from kiosk.errors import KioskError

BACKENDS = ("zxing", "zbar")


class DecoderUnavailable(KioskError):
    """The configured QR decoder cannot be loaded on this machine."""

    default_key = "scanner.backend_missing"


@dataclass(frozen=True)
class Decoded:
    """One QR code found in a frame: its text, centre and corner points (frame pixels)."""

    text: str
    center: tuple[float, float]
    quad: tuple[tuple[float, float], ...]

    @property
    def size(self) -> float:
        """Rough side length of the code in pixels."""
        xs = [p[0] for p in self.quad]
        ys = [p[1] for p in self.quad]
        return max(max(xs) - min(xs), max(ys) - min(ys), 1.0)


def _decoded(text: str, points: list[tuple[float, float]]) -> Decoded:
    cx = sum(p[0] for p in points) / len(points)
    cy = sum(p[1] for p in points) / len(points)
    return Decoded(text, (cx, cy), tuple(points))


@dataclass(frozen=True)
class Region:
    """Where a code seems to be although it did not decode: centre and rough side, in pixels."""

    center: tuple[float, float]
    size: float


class Decoder(Protocol):
    """A QR decoder: gray uint8 image in, the codes found out."""

    name: str

    def decode(self, gray: np.ndarray, *, invert: bool = False) -> list[Decoded]:
        """The QR codes in ``gray``; ``invert`` also tries light-on-dark codes."""
        ...

    def find(self, gray: np.ndarray) -> tuple[list[Decoded], list[Region]]:
        """Like ``decode`` (with inverted codes), plus regions of codes seen but not read."""
        ...


class ZxingDecoder:
    """zxing-cpp, asked for QR model 2 only, at the resolution given."""

    name = "zxing"

    def __init__(self) -> None:
        try:
            import zxingcpp
        except ImportError as exc:
            raise DecoderUnavailable(detail=str(exc), backend="zxing", reason=str(exc)) from None
        self._zx = zxingcpp
        self._format: Any = zxingcpp.BarcodeFormat.QRCodeModel2

    def decode(self, gray: np.ndarray, *, invert: bool = True) -> list[Decoded]:
        """The QR codes in ``gray`` (light-on-dark too unless ``invert`` is False)."""
        return self._read(gray, invert, errors=False)[0]

    def find(self, gray: np.ndarray) -> tuple[list[Decoded], list[Region]]:
        """The QR codes in ``gray``, plus where codes were located but failed to decode."""
        return self._read(gray, True, errors=True)

    def _read(self, gray: np.ndarray, invert: bool, errors: bool) -> tuple[list[Decoded], list[Region]]:
        # try_downscale would add passes on smaller copies that lose 2-3 px
        # modules and cost time; a QR finder sees any rotation anyway.
        results = self._zx.read_barcodes(gray, formats=self._format, try_rotate=False,
                                         try_downscale=False, try_invert=invert, return_errors=errors)
        found, suspects = [], []
        for r in results:
            pos = r.position
            pts = [(float(p.x), float(p.y)) for p in (pos.top_left, pos.top_right, pos.bottom_right,
                                                       pos.bottom_left)]
            d = _decoded(r.text, pts)
            if r.valid:
                found.append(d)
            else:
                suspects.append(Region(d.center, d.size))
        return found, suspects


_ZBAR_QRCODE = 64
_ZBAR_CFG_ENABLE = 0
_ZBAR_CFG_BINARY = 4  # zbar >= 0.23: hand back the raw bytes instead of guessing a charset


class ZbarDecoder:
    """zbar through pyzbar's ctypes bindings, in raw-bytes mode (no charset guessing)."""

    name = "zbar"

    def __init__(self) -> None:
        try:
            from pyzbar import wrapper
        except (ImportError, OSError) as exc:  # OSError: pyzbar installed but libzbar0 missing
            raise DecoderUnavailable(detail=str(exc), backend="zbar", reason=str(exc)) from None
        self._w: Any = wrapper
        self._scanner = wrapper.zbar_image_scanner_create()
        if not self._scanner:
            raise DecoderUnavailable(detail="scanner create failed", backend="zbar", reason="zbar")
        set_config = wrapper.zbar_image_scanner_set_config
        set_config(self._scanner, 0, _ZBAR_CFG_ENABLE, 0)
        set_config(self._scanner, _ZBAR_QRCODE, _ZBAR_CFG_ENABLE, 1)
        set_config(self._scanner, _ZBAR_QRCODE, _ZBAR_CFG_BINARY, 1)
        self._fourcc = ord("Y") | ord("8") << 8 | ord("0") << 16 | ord("0") << 24

    def __del__(self) -> None:
        scanner = getattr(self, "_scanner", None)
        if scanner:
            self._w.zbar_image_scanner_destroy(scanner)

    def decode(self, gray: np.ndarray, *, invert: bool = False) -> list[Decoded]:
        """The QR codes in ``gray``; ``invert`` runs a second pass on the negative."""
        out = self._scan(gray)
        if invert and not out:
            out = self._scan(255 - gray)
        return out

    def find(self, gray: np.ndarray) -> tuple[list[Decoded], list[Region]]:
        """The dark-on-light QR codes in ``gray`` (zbar reports no regions of failed codes)."""
        return self.decode(gray, invert=False), []

    def _scan(self, gray: np.ndarray) -> list[Decoded]:
        w = self._w
        pixels = np.ascontiguousarray(gray, dtype=np.uint8)
        height, width = pixels.shape[:2]
        data = pixels.tobytes()
        image = w.zbar_image_create()
        try:
            w.zbar_image_set_format(image, self._fourcc)
            w.zbar_image_set_size(image, width, height)
            w.zbar_image_set_data(image, ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p), len(data), None)
            if w.zbar_scan_image(self._scanner, image) <= 0:
                return []
            out = []
            symbol = w.zbar_image_first_symbol(image)
            while symbol:
                raw = ctypes.string_at(w.zbar_symbol_get_data(symbol), w.zbar_symbol_get_data_length(symbol))
                n = w.zbar_symbol_get_loc_size(symbol)
                pts = [(float(w.zbar_symbol_get_loc_x(symbol, i)), float(w.zbar_symbol_get_loc_y(symbol, i)))
                       for i in range(n)]
                if pts:
                    out.append(_decoded(raw.decode("utf-8", errors="replace"), pts))
                symbol = w.zbar_symbol_next(symbol)
            return out
        finally:
            w.zbar_image_destroy(image)


def make_decoder(backend: str) -> Decoder:
    """The decoder named ``backend`` ("zxing" or "zbar"); ``DecoderUnavailable`` if it cannot load."""
    if backend == "zxing":
        return ZxingDecoder()
    if backend == "zbar":
        return ZbarDecoder()
    raise DecoderUnavailable(detail=f"unknown backend {backend}", backend=backend, reason="unknown")
