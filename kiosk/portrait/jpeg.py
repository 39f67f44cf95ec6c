"""JPEG files of the standard: JFIF at 300 dpi, sRGB, no EXIF, a size in a band.

The standard asks for quality factor >= 60 and (as schools publish it) a
file of about 20-40 KB. The quality is searched (binary search over whole
factors) for the best one whose file is not larger than the band's top; if
even the best quality is below the band's bottom the file is simply small (a
plain photo), and if quality 60 is still above the top, quality 60 is kept:
the floor of the standard wins over the size habit.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageCms

log = logging.getLogger(__name__)

MIN_QUALITY, MAX_QUALITY = 60, 95
DPI = (300, 300)


@dataclass(frozen=True)
class Encoded:
    """A JPEG file and how it was made."""

    data: bytes
    quality: int
    in_band: bool  # the size landed in the asked band


@cache
def srgb_profile() -> bytes:
    """The ICC profile of sRGB, embedded so viewers do not guess the colour space."""
    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def encode(rgb: np.ndarray, quality: int) -> bytes:
    """``rgb`` (uint8 HxWx3) as a baseline JFIF JPEG at ``quality``: 300 dpi, sRGB, no EXIF."""
    image = Image.fromarray(rgb, "RGB")
    out = io.BytesIO()
    # Pillow writes a JFIF APP0 with the density given; it writes EXIF only when asked.
    image.save(out, "JPEG", quality=quality, dpi=DPI, icc_profile=srgb_profile(), optimize=True,
               subsampling="4:2:0")
    return out.getvalue()


def encode_in_band(rgb: np.ndarray, min_bytes: int, max_bytes: int) -> Encoded:
    """The best-quality JPEG (>= 60) of ``rgb`` not larger than ``max_bytes``."""
    lo, hi = MIN_QUALITY, MAX_QUALITY
    best = encode(rgb, lo)
    if len(best) > max_bytes:
        log.warning("photo.jpeg_over_band bytes=%d quality=%d", len(best), lo)
        return Encoded(best, lo, False)
    best_q = lo
    top = encode(rgb, hi)
    if len(top) <= max_bytes:
        return Encoded(top, hi, len(top) >= min_bytes)
    lo += 1
    hi -= 1
    while lo <= hi:
        mid = (lo + hi) // 2
        data = encode(rgb, mid)
        if len(data) <= max_bytes:
            best, best_q = data, mid
            lo = mid + 1
        else:
            hi = mid - 1
    return Encoded(best, best_q, len(best) >= min_bytes)
