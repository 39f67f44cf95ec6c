"""What the background tells: its colour, its evenness, the head top, the clothing.

The station stands a person in front of an even backdrop, so everything that
is not backdrop above the face is the head: the head top is where, scanning
each column above the face downwards, the first pixels unlike the backdrop
begin (the hair, or the scalp). This is measured, not guessed from the face
box, whose top sits somewhere on the forehead.

Colours are compared in CIELAB: the distance in (a, b) says "another
colour", the distance in L says "darker or lighter", and a camera's exposure
moves the second much more than the first.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.portrait.face import Box

#: reference backdrop colours (RGB) of the standard
REFERENCE_RGB = {"blue": (100, 197, 255), "white": (255, 255, 255), "grey": (240, 240, 240)}
#: the backdrop is sampled in the top corners, this share of the frame each way
CORNER = 0.12
#: a pixel this far (Lab distance) from the backdrop is not backdrop, at least
MIN_EDGE_DISTANCE = 14.0
#: a pixel this far (Lab distance) from the backdrop beside it in its row is the head, at least
MIN_TOP_DISTANCE = 5.0
#: the backdrop of a row is read between these many face-box widths from the face's middle
#: (the widest hair reaches 0.8)
SIDE_FROM, SIDE_REACH = 0.85, 1.05
#: a side pixel this far from the corners' colour is not backdrop (a poster, another person)
SIDE_NEAR = 25.0
#: rows of non-backdrop in a column before it counts as the head (noise guard)
RUN = 3
#: clothing this close to the backdrop (Lab chroma and lightness) is "like the backdrop"
CLOTHING_DELTA_AB, CLOTHING_DELTA_L = 15.0, 30.0


@dataclass(frozen=True)
class Backdrop:
    """The backdrop's colour and spread, as seen in the capture."""

    lab: tuple[float, float, float]  # mean (L 0-100, a, b)
    noise: float  # spread of the colour distance inside the samples


def to_lab(bgr: np.ndarray) -> np.ndarray:
    """``bgr`` (uint8) as float32 CIELAB with L in 0-100."""
    return cv2.cvtColor(bgr.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab)


def reference_lab(name: str) -> tuple[float, float, float]:
    """The CIELAB value of a reference backdrop colour."""
    r, g, b = REFERENCE_RGB[name]
    lab = to_lab(np.array([[[b, g, r]]], dtype=np.uint8))[0, 0]
    return float(lab[0]), float(lab[1]), float(lab[2])


def estimate_backdrop(lab: np.ndarray) -> Backdrop:
    """The backdrop from the two top corners of a Lab image (where no head should be)."""
    h, w = lab.shape[:2]
    ch, cw = max(2, round(h * CORNER)), max(2, round(w * CORNER))
    samples = np.concatenate([lab[:ch, :cw].reshape(-1, 3), lab[:ch, w - cw:].reshape(-1, 3)])
    median = np.median(samples, axis=0)
    dist = np.linalg.norm(samples - median, axis=1)
    return Backdrop(lab=(float(median[0]), float(median[1]), float(median[2])), noise=float(np.percentile(dist, 90)))


def distance_map(lab: np.ndarray, backdrop: Backdrop) -> np.ndarray:
    """Lab distance of every pixel to the backdrop colour."""
    return np.linalg.norm(lab - np.array(backdrop.lab, dtype=np.float32), axis=2)


def head_band(face: Box) -> tuple[float, float, float]:
    """The columns (x0, x1) and the bottom row of the frame that ``head_top`` needs, in frame pixels.

    The columns over the face's middle, and beside them, out past the
    widest hair, the backdrop each row of them is compared with.
    """
    return face.cx - SIDE_REACH * face.w, face.cx + SIDE_REACH * face.w, face.y + face.h * 0.3


def side_columns(face: Box, k: float, width: int) -> list[int]:
    """The columns (of an image ``k`` times the frame, ``width`` wide) the backdrop beside the head is read in."""
    inner, outer = SIDE_FROM * face.w * k, SIDE_REACH * face.w * k
    c = face.cx * k
    return [x for x in (*range(round(c - outer), round(c - inner)), *range(round(c + inner) + 1, round(c + outer) + 1))
            if 0 <= x < width]


def head_top(lab: np.ndarray, face: Box, backdrop: Backdrop, k: float = 1.0,
             sides: np.ndarray | None = None) -> float | None:
    """The head top (rows of the Lab image ``lab``, scaled by ``k``) or None.

    ``lab`` is an image ``k`` times the size of the frame ``face`` is given
    in, covering at least ``head_band``. Columns over the middle half of the
    face are scanned from the top; the head top is near the highest of their
    first runs of pixels unlike the backdrop (a low percentile, so one noisy
    column does not lift it). Each row is compared with the backdrop beside
    the head in that same row, not with one colour for the whole frame: a
    backdrop lit unevenly from top to bottom then does not count as a head,
    and the threshold can be low enough to find a white cap's shaded dome on
    a white backdrop (its top, not the hair under it, is where the head ends).
    0 when the head reaches the frame's top edge; None when the scan finds
    nothing plausible (a busy backdrop). ``sides``: the Lab pixels of
    ``side_columns`` when ``lab`` covers only the columns over the face (the
    live preview converts no more than it reads).
    """
    h, w = lab.shape[:2]
    x0 = max(0, round((face.cx - face.w * 0.25) * k))
    x1 = min(w, round((face.cx + face.w * 0.25) * k))
    y1 = min(h, round((face.y + face.h * 0.2) * k))
    if x1 - x0 < 2 or y1 < RUN + 1:
        return None
    if sides is None:
        sides = lab[:y1, side_columns(face, k, w)]
    ref, noise = _row_backdrop(sides[:y1], backdrop)
    dist = np.linalg.norm(lab[:y1, x0:x1] - ref[:, None, :], axis=2)
    threshold = max(MIN_TOP_DISTANCE, 3.0 * noise)
    solid = dist > threshold
    # a run of RUN solid pixels starting at row r: all of rows r..r+RUN-1
    runs = solid[: y1 - RUN + 1].copy()
    for i in range(1, RUN):
        runs &= solid[i: y1 - RUN + 1 + i]
    has = runs.any(axis=0)
    if has.mean() < 0.6:
        return None
    first = runs.argmax(axis=0)[has]
    top = float(np.percentile(first, 10)) / k
    if top > face.y + face.h * 0.1 or top < face.y - face.h * 1.2:
        return None
    if top <= 0.5 / k:
        # the head touches the frame's top edge: its top is at or above it
        return 0.0
    return top


def _row_backdrop(sides: np.ndarray, backdrop: Backdrop) -> tuple[np.ndarray, float]:
    """The backdrop's colour in each row of ``sides`` (the columns beside the head) and the noise around it.

    A row whose sides are not backdrop (a poster, another person, the frame's
    edge) takes the corners' colour.
    """
    h = sides.shape[0]
    global_ = np.array(backdrop.lab, np.float32)
    ref = np.repeat(global_[None, :], h, axis=0)
    n = sides.shape[1]
    if n < 2:
        return ref, backdrop.noise
    near = np.linalg.norm(sides - global_, axis=2) < SIDE_NEAR
    usable = near.sum(axis=1) >= max(2, n // 3)
    if not usable.any():
        return ref, backdrop.noise
    weights = near.astype(np.float32)
    mean = (sides * weights[..., None]).sum(axis=1) / np.maximum(1.0, weights.sum(axis=1))[:, None]
    ref = np.where(usable[:, None], mean, global_).astype(np.float32)
    spread = np.linalg.norm(sides - ref[:, None, :], axis=2)[near & usable[:, None]]
    noise = float(np.percentile(spread, 90)) if spread.size else backdrop.noise
    return ref, noise


@dataclass(frozen=True)
class BackdropMeasures:
    """The backdrop around the head inside the photo's crop: clean, evenly lit, the right colour."""

    gradient: float  # mean Lab gradient magnitude per pixel (texture: patterned walls, posters)
    spread: float  # L range (5th-95th percentile, smoothed) across it: a shadow, a light gradient
    foreign: float  # share of it unlike the backdrop's colour: objects, another person
    colour_delta_ab: float  # chroma distance to the batch's reference colour
    colour_delta_l: float  # lightness distance to the batch's reference colour
    lab: tuple[float, float, float]
    #: L difference across the crop of the plane fitted to it (light falling off from one side or from
    #: above: a gradient too gentle to show in ``spread`` at any one place is still seen across the photo)
    slope: float = 0.0
    #: share of the crop's left and right edge strips (``EDGE_PX``), at full resolution, unlike the backdrop:
    #: a pole or a shoulder that enters the photo by a few of its pixels
    edge: float = 0.0


@dataclass(frozen=True)
class Head:
    """Where the head is, for cutting it out of the backdrop (frame pixels)."""

    cx: float
    top: float
    chin: float
    width: float  # cheek to cheek


#: the head (with hair) is taken as a rounded box this many face widths wide (full hair
#: reaches 1.7)
HEAD_WIDTH = 1.9
#: the crop's left and right edges are judged again at full resolution in strips this many photo pixels wide
EDGE_PX = 12.0
#: the backdrop beside the head is judged down to this share of the way from the head top to the chin
#: (the eyes are at 0.55; a space-suit's collar reaches up to 0.9 beside the chin)
SIDE_DOWN = 0.8
#: a backdrop pixel this far from the backdrop colour (Lab, lightness at half weight: a
#: shadow is darker backdrop, not an object) is something else in front of it
FOREIGN_DISTANCE = 18.0


def backdrop_mask(shape: tuple[int, int], head: Head, crop: tuple[float, float, float, float],
                  k: float) -> np.ndarray:
    """Pixels of an image ``k`` times the frame that are backdrop inside ``crop`` (x, y, w, h).

    Above the head, and beside it down to the mouth (``SIDE_DOWN``; below,
    the shoulders and a high collar begin); the head is a rounded box around
    the face a little wider than the hair usually reaches.
    """
    h, w = shape
    ys = (np.arange(h, dtype=np.float32) / k)[:, None]
    xs = (np.arange(w, dtype=np.float32) / k)[None, :]
    x0, y0, cw, ch = crop
    # one pixel more each way: ``measure_backdrop`` trims the mask's edge by one (to keep off the
    # person's outline), and the crop's own edge, where a pole barely enters the photo, must stay
    pad = 1.0 / k
    inside = (xs >= x0 - pad) & (xs < x0 + cw + pad) & (ys >= y0 - pad) & (ys < y0 + ch + pad)
    return inside & _around_head(xs, ys, head)


def _around_head(xs: np.ndarray, ys: np.ndarray, head: Head) -> np.ndarray:
    """Frame points (broadcast ``xs``, ``ys``) above the head or beside it, where only backdrop belongs."""
    # beside the head down to the mouth: another person's shoulder comes in there; the student's own
    # shoulders (a high collar) begin at the chin
    side_y = head.top + SIDE_DOWN * (head.chin - head.top)
    cy = (head.top + head.chin) / 2
    ry = (head.chin - head.top) / 2 + 0.08 * head.width
    rx = HEAD_WIDTH * head.width / 2
    # a rounded box (a superellipse) rather than an ellipse: hair fills the crown's corners
    out_of_head = ((xs - head.cx) / rx) ** 4 + ((ys - cy) / ry) ** 4 > 1.0
    above = ys < head.top - 0.06 * head.width
    return np.asarray(above | (out_of_head & (ys < side_y)))


def edge_foreign(frame: np.ndarray, crop: tuple[float, float, float, float], head: Head,
                 backdrop: Backdrop) -> float:
    """Share of the crop's two edge strips (``EDGE_PX`` photo pixels wide) unlike the backdrop, at full resolution.

    On the backdrop-sized copy a pixel is 5-6 of the photo's: a pole or a
    shoulder entering the photo by 3 of them is a tint there, but whole
    pixels here. Only where ``backdrop_mask`` looks (above and beside the head).
    """
    h, w = frame.shape[:2]
    x0, y0, cw, ch = crop
    strip = EDGE_PX * cw / 480.0
    ya = max(0, round(y0))
    yb = min(h, round(min(y0 + ch, head.top + SIDE_DOWN * (head.chin - head.top))))
    far = total = 0
    for a, b in ((x0, x0 + strip), (x0 + cw - strip, x0 + cw)):
        ia, ib = max(0, round(a)), min(w, round(b))
        if ib - ia < 1 or yb - ya < 4:
            continue
        lab = to_lab(frame[ya:yb, ia:ib])
        xs = np.arange(ia, ib, dtype=np.float32)[None, :]
        ys = np.arange(ya, yb, dtype=np.float32)[:, None]
        where = _around_head(xs, ys, head)
        weighted = (lab - np.array(backdrop.lab, np.float32)) * np.array([0.5, 1.0, 1.0], np.float32)
        unlike = np.linalg.norm(weighted, axis=2) > max(FOREIGN_DISTANCE, 2.0 * backdrop.noise)
        far += int((unlike & where).sum())
        total += int(where.sum())
    return far / total if total else 0.0


def measure_backdrop(lab: np.ndarray, mask: np.ndarray, reference: tuple[float, float, float],
                     backdrop: Backdrop, area: float | None = None) -> BackdropMeasures | None:
    """Texture, light spread, foreign share and colour of the masked backdrop of a Lab image.

    None when too little of it is visible to judge: under 5 % of ``area``
    (the crop's, in ``lab``'s pixels), or without it under 2 % of the image.
    """
    if mask.sum() < (0.05 * area if area is not None else 0.02 * mask.size):
        return None
    gx = cv2.Sobel(lab, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lab, cv2.CV_32F, 0, 1, ksize=3)
    grad = np.sqrt((gx * gx + gy * gy).sum(axis=2)) / 8.0
    # the mask's own edge touches the person; keep a margin away from it
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    if inner.sum() < 0.01 * mask.size:
        inner = mask
    gradient = float(grad[inner].mean())
    light = cv2.blur(lab[..., 0], (5, 5))[inner]
    spread = float(np.percentile(light, 95) - np.percentile(light, 5))
    weighted = (lab - np.array(backdrop.lab, np.float32)) * np.array([0.5, 1.0, 1.0], np.float32)
    far = np.linalg.norm(weighted, axis=2) > max(FOREIGN_DISTANCE, 2.0 * backdrop.noise)
    foreign = float(far[inner].mean())
    slope = _slope(lab[..., 0], inner)
    mean = np.median(lab[inner], axis=0)
    d_ab = float(np.hypot(mean[1] - reference[1], mean[2] - reference[2]))
    d_l = float(abs(mean[0] - reference[0]))
    return BackdropMeasures(gradient, spread, foreign, d_ab, d_l, (float(mean[0]), float(mean[1]), float(mean[2])),
                            slope)


def _slope(lightness: np.ndarray, mask: np.ndarray) -> float:
    """The L difference across the masked area's bounding box of the plane fitted to its lightness."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 12:
        return 0.0
    a = np.stack([xs.astype(np.float32), ys.astype(np.float32), np.ones(len(xs), np.float32)], axis=1)
    (gx, gy, _), *_ = np.linalg.lstsq(a, lightness[ys, xs], rcond=None)
    return float(abs(gx) * (xs.max() - xs.min()) + abs(gy) * (ys.max() - ys.min()))


def clothing_share(lab: np.ndarray, face: Box, backdrop_lab: tuple[float, float, float], k: float) -> float | None:
    """Share of the clothing (below the chin, under the face) that looks like the backdrop.

    None when the clothing is not in the frame.
    """
    h, w = lab.shape[:2]
    y0 = round((face.y + face.h * 1.45) * k)
    x0, x1 = max(0, round((face.cx - face.w * 0.7) * k)), min(w, round((face.cx + face.w * 0.7) * k))
    if y0 >= h - 2 or x1 - x0 < 4:
        return None
    region = lab[y0:h, x0:x1].reshape(-1, 3)
    # the same hue family and not far off in lightness: a mid-blue shirt on a
    # light-blue backdrop counts, a navy suit does not
    d_ab = np.hypot(region[:, 1] - backdrop_lab[1], region[:, 2] - backdrop_lab[2])
    d_l = np.abs(region[:, 0] - backdrop_lab[0])
    return float(((d_ab < CLOTHING_DELTA_AB) & (d_l < CLOTHING_DELTA_L)).mean())
