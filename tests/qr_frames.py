"""Synthetic camera frames with QR codes, shared by the scanner tests and the scan benchmark.

A frame is a real photo from an installed package (skimage's astronaut or
matplotlib's Grace Hopper) scaled to the camera size, with a QR code on a
phone screen or a paper slip warped into it, then degraded the way a
collection day degrades it: perspective, rotation, focus and motion blur,
sensor noise, JPEG artefacts, low contrast, a dark-mode (inverted) screen,
glare, a code cut by the frame edge, two codes, or no code at all.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from functools import cache

import cv2
import numpy as np
import segno

CONDITIONS = ("clean", "perspective", "rotation", "blur", "motion", "noise", "jpeg",
              "low_contrast", "inverted", "glare", "small")
SPECIAL = ("cut", "two", "empty")


@dataclass
class Frame:
    """One synthetic gray frame and what a decoder may report from it."""

    image: np.ndarray
    condition: str
    expected: str | None  # the payload a scanner should report (nearest the centre)
    acceptable: set[str] = field(default_factory=set)  # any of these is not a wrong decode
    center: tuple[float, float] | None = None


@cache
def _photo(name: str) -> np.ndarray:
    if name == "astronaut":
        from skimage import data

        rgb = data.astronaut()
    else:
        import matplotlib.cbook as cbook
        from PIL import Image

        with cbook.get_sample_data("grace_hopper.jpg") as f:
            rgb = np.asarray(Image.open(f).convert("RGB"))
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A busy gray scene at camera size: a real photo, stretched, with an uneven light."""
    photo = _photo("astronaut" if rng.random() < 0.5 else "hopper")
    img = cv2.resize(photo, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    gx = np.linspace(rng.uniform(0.7, 1.0), rng.uniform(0.9, 1.15), width, dtype=np.float32)
    img *= gx[None, :]
    return np.clip(img, 0, 255).astype(np.uint8)


@cache
def qr_modules(text: str) -> np.ndarray:
    """The QR code of ``text`` as a bool matrix (True = dark), with a 4-module quiet zone."""
    qr = segno.make_qr(text, error="m")
    return np.array(list(qr.matrix_iter(border=4)), dtype=bool)


def card(text: str, *, px: int = 6, dark_mode: bool = False, phone: bool = True) -> np.ndarray:
    """The code as shown on a phone screen (with bezel) or a paper slip, upright, ``px`` per module."""
    mods = qr_modules(text)
    ink, paper = (225, 30) if dark_mode else (25, 235)
    code = np.where(mods, ink, paper).astype(np.uint8)
    code = cv2.resize(code, None, fx=px, fy=px, interpolation=cv2.INTER_NEAREST)
    if not phone:
        return code
    n = code.shape[0]
    screen_bg = 30 if dark_mode else 235
    screen = np.full((int(n * 1.7), int(n * 1.15)), screen_bg, np.uint8)
    y0, x0 = int(n * 0.35), (screen.shape[1] - n) // 2
    screen[y0:y0 + n, x0:x0 + n] = code
    bezel = max(4, n // 20)
    return cv2.copyMakeBorder(screen, bezel, bezel, bezel, bezel, cv2.BORDER_CONSTANT, value=12)


def _code_corners(text: str, card_img: np.ndarray, px: int, phone: bool) -> np.ndarray:
    n = qr_modules(text).shape[0] * px
    if not phone:
        return np.float32([[0, 0], [n, 0], [n, n], [0, n]])
    bezel = (card_img.shape[1] - int(n * 1.15)) // 2
    y0, x0 = int(n * 0.35) + bezel, (int(n * 1.15) - n) // 2 + bezel
    return np.float32([[x0, y0], [x0 + n, y0], [x0 + n, y0 + n], [x0, y0 + n]])


def paste(frame: np.ndarray, text: str, center: tuple[float, float], side: float, *, angle: float = 0.0,
          tilt: float = 0.0, dark_mode: bool = False, phone: bool = True,
          rng: np.random.Generator | None = None) -> np.ndarray:
    """``frame`` with the code of ``text`` pasted: its QR ``side`` pixels wide at ``center``.

    ``angle`` rotates in the image plane (degrees); ``tilt`` (0-0.35) narrows
    one side as if the phone were turned away from the camera.
    """
    rng = rng or np.random.default_rng(0)
    px = 6
    img = card(text, px=px, dark_mode=dark_mode, phone=phone)
    src_code = _code_corners(text, img, px, phone)
    h, w = img.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    scale = side / float(src_code[1, 0] - src_code[0, 0])
    code_mid = src_code.mean(axis=0)
    rel = (src - code_mid) * scale
    if tilt:
        squeeze = 1 - tilt * (rel[:, 0] - rel[:, 0].min()) / max(1.0, np.ptp(rel[:, 0]))
        rel[:, 1] *= squeeze
        rel[:, 0] *= 1 - tilt / 3
    a = np.deg2rad(angle)
    rot = np.float32([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    dst = (rel @ rot.T + np.float32(center)).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    fh, fw = frame.shape
    warped = cv2.warpPerspective(img, m, (fw, fh), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (fw, fh))
    out = frame.copy()
    np.copyto(out, warped, where=mask > 127)
    return out


def _glare(img: np.ndarray, center: tuple[float, float], side: float, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape
    cx = center[0] + rng.uniform(-0.3, 0.3) * side
    cy = center[1] + rng.uniform(-0.3, 0.3) * side
    r = side * rng.uniform(0.12, 0.25)
    yy, xx = np.ogrid[:h, :w]
    blob = np.exp(-(((xx - cx) / r) ** 2 + ((yy - cy) / (r * 0.7)) ** 2) / 2).astype(np.float32)
    out = img.astype(np.float32) * (1 - 0.3 * blob) + blob * 255 * rng.uniform(1.0, 1.5)
    return np.clip(out, 0, 255).astype(np.uint8)


def motion_blur(img: np.ndarray, length: float, direction: float) -> np.ndarray:
    """``img`` smeared ``length`` pixels along ``direction`` (degrees), as by a moving hand."""
    k = max(1, round(length))
    if k < 2:
        return img
    kernel = np.zeros((k, k), np.float32)
    kernel[k // 2, :] = 1.0 / k
    rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), direction, 1.0)
    kernel = cv2.warpAffine(kernel, rot, (k, k))
    return cv2.filter2D(img, -1, kernel / max(float(kernel.sum()), 1e-6))


def degrade(img: np.ndarray, condition: str, center: tuple[float, float], side: float,
            rng: np.random.Generator, motion: tuple[float, float] | None = None) -> np.ndarray:
    """The camera's view of ``img`` under ``condition`` (blur, noise, JPEG, contrast, glare).

    ``motion`` (length, direction) gives the smear of a "motion" frame; random when None.
    """
    out = cv2.GaussianBlur(img, (0, 0), 0.6)  # every lens is a little soft
    if condition == "blur":
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(1.2, 2.2))
    elif condition == "motion":
        length, direction = (float(rng.uniform(6, 14)), float(rng.uniform(0, 180))) if motion is None else motion
        out = motion_blur(out, length, direction)
    elif condition == "noise":
        noise = rng.normal(0, rng.uniform(15, 30), out.shape)
        out = np.clip(out.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    elif condition == "jpeg":
        _ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(6, 18))])
        out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    elif condition == "low_contrast":
        lo, span = rng.uniform(60, 140), rng.uniform(18, 35)
        out = (lo + out.astype(np.float32) * span / 255.0).astype(np.uint8)
    elif condition == "glare":
        out = _glare(out, center, side, rng)
    return out


def _pose(condition: str, width: int, height: int, rng: np.random.Generator) -> dict[str, float]:
    side = height * rng.uniform(0.28, 0.45)
    if condition == "small":
        side = height * rng.uniform(0.15, 0.2)
    cx = width / 2 + rng.uniform(-0.2, 0.2) * width
    cy = height / 2 + rng.uniform(-0.12, 0.12) * height
    angle = rng.uniform(-12, 12)
    tilt = rng.uniform(0, 0.08)
    if condition == "rotation":
        angle = rng.uniform(-180, 180)
    elif condition == "perspective":
        tilt = rng.uniform(0.25, 0.45)
        angle = rng.uniform(-25, 25)
    return {"cx": cx, "cy": cy, "side": side, "angle": angle, "tilt": tilt}


def make_frame(condition: str, texts: list[str], width: int = 1280, height: int = 720,
               rng: np.random.Generator | None = None, pose: dict[str, float] | None = None,
               scene: np.ndarray | None = None) -> Frame:
    """One gray frame of ``condition`` (one of CONDITIONS or SPECIAL) showing ``texts[0]``.

    ``two`` also shows ``texts[1]`` farther from the centre; ``cut`` leaves
    part of the code outside the frame; ``empty`` shows no code at all.
    ``pose`` (from a presentation) overrides the random placement.
    """
    rng = rng or np.random.default_rng()
    img = background(width, height, rng) if scene is None else scene
    if condition == "empty":
        return Frame(degrade(img, "clean", (0, 0), 1, rng), condition, None)
    p = pose or _pose(condition, width, height, rng)
    text = texts[0]
    center = (p["cx"], p["cy"])
    if condition == "cut":
        center = (width - p["side"] * rng.uniform(0.05, 0.3), p["cy"])
    phone = condition != "small" or rng.random() < 0.5
    dark = condition == "inverted"
    if condition == "two":
        side = p["side"] * 0.8
        near = (width / 2 + rng.uniform(-0.05, 0.05) * width, height / 2)
        far_x = width * (0.12 if rng.random() < 0.5 else 0.88)
        img = paste(img, texts[1], (far_x, height / 2), side * 0.9, angle=p["angle"], phone=False, rng=rng)
        img = paste(img, text, near, side, angle=p["angle"], phone=False, rng=rng)
        return Frame(degrade(img, "clean", near, side, rng), condition, text, {text, texts[1]}, near)
    img = paste(img, text, center, p["side"], angle=p["angle"], tilt=p["tilt"], dark_mode=dark, phone=phone, rng=rng)
    motion = (p["smear"], p["smear_dir"]) if "smear" in p else None
    frame = Frame(degrade(img, condition, center, p["side"], rng, motion), condition, text, {text}, center)
    if condition == "cut":
        frame.expected = None  # a cut code may or may not be read; it must not be misread
    return frame


def presentation(condition: str, text: str, width: int = 1280, height: int = 720, frames: int = 30,
                 rng: np.random.Generator | None = None) -> list[Frame]:
    """A code held up for ``frames`` frames: the hand drifts and shakes, the condition stays.

    Under "motion" the hand sways (up to ~13 px per frame at 720p, scaled with
    the frame) and each frame is smeared by its own movement during a
    half-frame exposure, so the blur comes and goes as a real hand's does.
    """
    rng = rng or np.random.default_rng()
    base = _pose(condition, width, height, rng)
    scene = background(width, height, rng)
    sway = (60.0 if condition == "motion" else 6.0) * height / 720
    phase, period = rng.uniform(0, 2 * np.pi), rng.uniform(20, 40)
    out = []
    for i in range(frames):
        pose = dict(base)
        a = phase + 2 * np.pi * i / period
        pose["cx"] += sway * np.sin(a) + rng.normal(0, 2)
        pose["cy"] += 0.4 * sway * np.sin(2 * a) + rng.normal(0, 2)
        pose["angle"] += rng.normal(0, 1.5)
        if condition == "motion":
            vx = sway * np.cos(a) * 2 * np.pi / period
            vy = 0.8 * sway * np.cos(2 * a) * 2 * np.pi / period
            pose["smear"] = 0.5 * float(np.hypot(vx, vy)) + rng.uniform(0, 2)
            pose["smear_dir"] = float(np.degrees(np.arctan2(vy, vx)))
        out.append(make_frame(condition, [text], width, height, rng, pose, scene))
    return out


def scaled(frame: Frame, width: int, height: int) -> Frame:
    """``frame`` resized (for reusing one synthesis at another camera size)."""
    img = cv2.resize(frame.image, (width, height), interpolation=cv2.INTER_LINEAR)
    return Frame(img, frame.condition, frame.expected, set(frame.acceptable), frame.center)


def png_claiming(width: int, height: int) -> bytes:
    """A few bytes of PNG whose header claims ``width`` x ``height`` 1-bit pixels (a decompression bomb's shape).

    Any image path that trusts the header before decoding is caught by it
    without the test spending the gigabytes a real one would take.
    """
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + (width + 7) // 8) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
