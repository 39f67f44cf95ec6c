"""What surrounds the person: backdrops, and the phone showing a QR code."""

from __future__ import annotations

from functools import cache, lru_cache

import cv2
import numpy as np
import segno

#: Backdrop colours, BGR (the standard's reference RGB 100,197,255 for blue).
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "blue": (255, 197, 100),
    "white": (255, 255, 255),
    "grey": (240, 240, 240),
}
BACKGROUND_CHOICES = (*BACKGROUNDS, "busy")


@cache
def backdrop(width: int, height: int, background: str) -> np.ndarray:
    """The empty backdrop, BGR uint8, read-only (cached per size and kind)."""
    if background in BACKGROUNDS:
        img = np.empty((height, width, 3), np.uint8)
        img[:] = BACKGROUNDS[background]
    else:
        img = _busy_wall(width, height)
    img.flags.writeable = False
    return img


def _busy_wall(width: int, height: int) -> np.ndarray:
    """A textured, uneven wall: gradient, shelves of coloured boxes, a poster."""
    rng = np.random.default_rng(20170099)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.empty((height, width, 3), np.float32)
    img[..., 0] = 120 + 80 * xx / width
    img[..., 1] = 150 + 60 * yy / height
    img[..., 2] = 200 - 90 * xx / width
    img += 18 * np.sin(xx / 23.0)[..., None] * np.cos(yy / 31.0)[..., None]
    for _ in range(60):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        bw, bh = int(rng.integers(width // 40, width // 8)), int(rng.integers(height // 30, height // 6))
        colour = tuple(float(c) for c in rng.integers(20, 235, 3))
        cv2.rectangle(img, (x0, y0), (x0 + bw, y0 + bh), colour, -1)
    for y in range(height // 5, height, height // 5):
        cv2.line(img, (0, y), (width, y), (40.0, 60.0, 90.0), max(2, height // 120))
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def qr_image(text: str, module_px: int) -> np.ndarray:
    """A black-on-white QR code of ``text`` with its quiet zone, gray uint8."""
    qr = segno.make_qr(text, error="m")
    matrix = np.array(list(qr.matrix), dtype=np.uint8)
    img = np.where(matrix > 0, 0, 255).astype(np.uint8)
    img = np.pad(img, 4, constant_values=255)
    return cv2.resize(img, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)


@lru_cache(maxsize=8)
def phone_sprite(text: str, screen_target: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """A phone showing ``text`` as a QR code: BGR float32, its mask, screen top and side (cached)."""
    modules = segno.make_qr(text, error="m").symbol_size(scale=1, border=4)[0]
    module_px = max(3, int(screen_target // modules))
    code = qr_image(text, module_px)
    side = code.shape[0]
    bezel = max(6, side // 14)
    ph, pw = side + 3 * bezel, side + 2 * bezel
    phone = np.zeros((ph, pw, 3), np.float32)
    phone[:] = (35, 32, 30)
    top = bezel * 3 // 2
    phone[top:top + side, bezel:bezel + side] = code[..., None].astype(np.float32)
    mask = np.zeros((ph, pw), np.float32)
    r = bezel * 2
    cv2.rectangle(mask, (r, 0), (pw - 1 - r, ph - 1), 1.0, -1)
    cv2.rectangle(mask, (0, r), (pw - 1, ph - 1 - r), 1.0, -1)
    for x, y in ((r, r), (pw - 1 - r, r), (r, ph - 1 - r), (pw - 1 - r, ph - 1 - r)):
        cv2.circle(mask, (x, y), r, 1.0, -1)
    phone.flags.writeable = False
    mask.flags.writeable = False
    return phone, mask, top, side
