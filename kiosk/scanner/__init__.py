"""Reading QR codes from camera frames: the per-frame strategy and the debounce.

Per frame, within ``[scanner] budget_ms``:

1. one pass over the whole gray frame at full resolution (downscaling loses
   the 2-3 px modules of a code held at arm's length);
2. on a miss, crops around where a code is: regions the decoder located but
   could not read (glare, focus) and where a code was last read, each tried
   sharpened, contrast-equalised and enlarged;
3. with no such region, one whole-frame alternative: sharpened (or, for a
   decoder that does not try light-on-dark codes itself, inverted and
   sharpened on alternate frames), and on 1080p frames a half-size copy
   (noise averaged away), so a waiting station pays for one or two cheap
   extra passes per frame, not for all of them.

Each pass starts only if its running average cost still fits the budget.

A ``Scanner`` keeps state (costs, last position, debounce) and is owned by one
worker thread; it holds no lock and starts no thread itself.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import cv2
import numpy as np

from kiosk.config import ScannerSection
from kiosk.scanner.decoders import Decoded, Decoder, Region, make_decoder
from kiosk.tickets import is_ticket

__all__ = ["Decoded", "Scanner", "classify", "to_gray"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: A code read this recently is looked for again at the same place first.
_MEMORY_S = 2.0
#: Crops are at least this many pixels on a side.
_MIN_CROP = 160
#: At most this many regions get crop passes per frame.
_MAX_REGIONS = 2


def to_gray(frame: np.ndarray) -> np.ndarray:
    """``frame`` as one 8-bit channel (BGR and BGRA converted, gray passed through).

    An empty frame comes back empty (``decode`` reads nothing in it); a 16-bit
    one keeps its contrast (its high byte) instead of clipping to white.
    """
    if frame.size == 0:
        return np.zeros((0, 0), np.uint8)
    if frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    elif frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    return frame


def _sharpen(gray: np.ndarray) -> np.ndarray:
    # Unsharp mask: restores module edges softened by focus or motion and
    # stretches the local contrast of a washed-out screen. A box blur keeps
    # it near 1 ms on a 720p frame.
    return cv2.addWeighted(gray, 2.0, cv2.blur(gray, (5, 5)), -1.0, 0)


def _sharpen_more(gray: np.ndarray) -> np.ndarray:
    return cv2.addWeighted(gray, 3.0, cv2.GaussianBlur(gray, (0, 0), 2.0), -2.0, 0)


def _enlarge(gray: np.ndarray) -> np.ndarray:
    return cv2.resize(gray, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)


def _invert(gray: np.ndarray) -> np.ndarray:
    return 255 - gray


def _halve(gray: np.ndarray) -> np.ndarray:
    # Averaging 2x2 pixels quiets sensor noise; only worth it where modules
    # stay 2 px or more, so only on frames of 1080 rows and up.
    return cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class _Pass:
    name: str
    transform: Callable[[np.ndarray], np.ndarray]
    scale: float = 1.0


class Scanner:
    """QR codes from frames: ``decode`` finds them all, ``feed`` reports one, debounced."""

    def __init__(self, settings: ScannerSection, decoder: Decoder | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.settings = settings
        self.decoder = decoder or make_decoder(settings.backend)
        self.clock = clock
        self.budget_s = settings.budget_ms / 1000.0
        # CLAHE keeps buffers between calls: one per scanner, never shared across threads.
        clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
        self._crop_passes = (_Pass("crop_sharpen", _sharpen_more), _Pass("crop_equalise", clahe.apply),
                             _Pass("crop_enlarge", lambda g: _sharpen(_enlarge(g)), 1.5))
        whole = [_Pass("sharpen", _sharpen)]
        if self.decoder.name != "zxing":  # zxing-cpp tries inverted codes in its first pass
            whole.insert(0, _Pass("invert", _invert))
        self._whole = tuple(whole)
        self._denoise = _Pass("halve", _halve, 0.5)
        self._turn = 0
        self._cost: dict[str, float] = {}  # running mean seconds per pixel, per pass
        self._last_seen: tuple[Region, float] | None = None
        self._reported: dict[str, float] = {}

    # -- decoding ---------------------------------------------------------

    def decode(self, gray: np.ndarray) -> list[Decoded]:
        """Every QR code in ``gray``, the one nearest the frame centre first."""
        gray = to_gray(gray)
        if gray.ndim != 2 or min(gray.shape) < 21:  # nothing smaller than one QR code's modules
            return []
        start = self.clock()
        found, suspects = self._timed("first", gray.size, lambda: self.decoder.find(gray))
        if not found:
            found = self._extra_passes(gray, suspects, start)
        if found:
            h, w = gray.shape[:2]
            found.sort(key=lambda d: math.hypot(d.center[0] - w / 2, d.center[1] - h / 2))
            self._last_seen = (Region(found[0].center, found[0].size), start)
        return found

    def _timed(self, name: str, pixels: int, run: Callable[[], _T]) -> _T:
        t0 = self.clock()
        result = run()
        per_pixel = (self.clock() - t0) / max(pixels, 1)
        old = self._cost.get(name)
        self._cost[name] = per_pixel if old is None else 0.8 * old + 0.2 * per_pixel
        return result

    def _fits(self, name: str, pixels: int, start: float) -> bool:
        estimate = self._cost.get(name, self._cost.get("first", 0.0)) * pixels
        return self.clock() - start + estimate <= self.budget_s

    def _extra_passes(self, gray: np.ndarray, suspects: list[Region], start: float) -> list[Decoded]:
        regions = list(suspects[:_MAX_REGIONS])
        if self._last_seen is not None and start - self._last_seen[1] <= _MEMORY_S:
            regions.append(self._last_seen[0])
        for region in regions[:_MAX_REGIONS + 1]:
            x0, y0, crop = _crop(gray, region)
            if crop is None:
                continue
            for p in self._crop_passes:
                pixels = int(crop.size * p.scale * p.scale)
                if not self._fits(p.name, pixels, start):
                    return []
                found = self._timed(p.name, pixels, _run(self.decoder, p, crop))
                if found:
                    return [_shift(d, x0, y0, p.scale) for d in found]
        if regions:
            return []
        p = self._whole[self._turn % len(self._whole)]
        self._turn += 1
        passes = [p, self._denoise] if gray.shape[0] >= 1000 else [p]
        for p in passes:
            pixels = int(gray.size * p.scale * p.scale)
            if not self._fits(p.name, pixels, start):
                return []
            found = self._timed(p.name, pixels, _run(self.decoder, p, gray))
            if found:
                return [_shift(d, 0, 0, p.scale) for d in found]
        return []

    # -- live use ---------------------------------------------------------

    def feed(self, frame: np.ndarray, now: float) -> str | None:
        """The text of the code nearest the centre of ``frame``, unless reported in the last ``debounce_s``.

        ``now`` is a monotonic time in seconds (the frame's timestamp).
        """
        found = self.decode(frame)
        if not found:
            return None
        text = found[0].text
        self._reported = {t: at for t, at in self._reported.items() if now - at < self.settings.debounce_s}
        if text in self._reported:
            return None
        self._reported[text] = now
        log.debug("scan.read backend=%s", self.decoder.name)
        return text

    def forget(self) -> None:
        """Forget what was reported (a new session may show the same code again at once)."""
        self._reported.clear()
        self._last_seen = None


def _run(decoder: Decoder, p: _Pass, gray: np.ndarray) -> Callable[[], list[Decoded]]:
    return lambda: decoder.decode(p.transform(gray))


def _crop(gray: np.ndarray, region: Region) -> tuple[int, int, np.ndarray | None]:
    h, w = gray.shape[:2]
    half = max(_MIN_CROP, region.size * 1.5) / 2
    x0 = int(max(0, region.center[0] - half))
    y0 = int(max(0, region.center[1] - half))
    x1 = int(min(w, region.center[0] + half))
    y1 = int(min(h, region.center[1] + half))
    if x1 - x0 < 32 or y1 - y0 < 32:
        return x0, y0, None
    return x0, y0, gray[y0:y1, x0:x1]


def _shift(d: Decoded, x0: int, y0: int, scale: float) -> Decoded:
    quad = tuple((x / scale + x0, y / scale + y0) for x, y in d.quad)
    return Decoded(d.text, (d.center[0] / scale + x0, d.center[1] / scale + y0), quad)


def classify(text: str, is_code: Callable[[str], bool] | None = None) -> str:
    """What a scanned text is: ``"ticket"``, ``"code"`` or ``"other"``.

    ``is_code`` is the station's test for a code (``CodeBook.claims``); by
    default anything shaped like a reference-format code counts. "other" text
    still goes to ``CodeBook.parse`` so the student hears why it is refused.
    """
    if is_ticket(text):
        return "ticket"
    if is_code is None:
        from kiosk.codes import looks_like_code

        is_code = looks_like_code
    return "code" if is_code(text) else "other"
