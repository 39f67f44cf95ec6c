"""Headwear drawn over a rendered person: caps, beanies and hoods, lit and noisy like the frame.

A flat, single-coloured shape is easy to see and easy to miss in ways a real
hat is not; these are drawn as a camera sees fabric on a head: the dome
shaded as a rounded solid lit from the front (brighter in the middle, darker
towards the sides), seams and a button on a cap, the ribbed cuff of a beanie,
a cap's brim casting its shadow on the forehead, a hood's rim darker where it
turns away from the light, and the frame's own sensor noise over all of it.

The colour is one of a palette, or the hard cases a colour cue cannot see:
the backdrop's own colour (a white cap on the white backdrop) and the
person's hair colour (a black cap over black hair), each in the shades the
shading gives it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from kiosk.scene import Landmarks

KINDS = ("cap", "beanie", "hood")
#: fabric colours (BGR): red, black, navy, brown, white, green, grey, beige
PALETTE = ((40, 40, 200), (28, 28, 28), (80, 40, 20), (30, 60, 100), (235, 235, 235), (40, 140, 40),
           (128, 128, 128), (150, 190, 215))
#: what a colour may be besides the palette: the backdrop's or the hair's
SPECIAL = ("backdrop", "hair")


def _backdrop_colour(frame: np.ndarray) -> np.ndarray:
    return np.asarray(np.median(frame[:30, :30].reshape(-1, 3).astype(np.float32), axis=0), np.float32)


def _hair_colour(frame: np.ndarray, m: Landmarks) -> np.ndarray:
    """The hair's colour: the pixels under the head top that are neither skin nor backdrop."""
    fw = m.face_width
    x, y = m.head_top
    eye_y = (m.eyes[0][1] + m.eyes[1][1]) / 2
    cx = (m.eyes[0][0] + m.eyes[1][0]) / 2
    # on top of the head and beside the temples (thin hair on top shows the scalp)
    y0, y1 = round(eye_y - 0.5 * fw), round(eye_y - 0.1 * fw)
    patches = [frame[max(0, round(y)):max(1, round(y + 0.2 * fw)),
                     max(0, round(x - 0.4 * fw)):max(1, round(x + 0.4 * fw))],
               frame[y0:y1, max(0, round(cx - 0.75 * fw)):round(cx - 0.5 * fw)],
               frame[y0:y1, round(cx + 0.5 * fw):round(cx + 0.75 * fw)]]
    patch = np.concatenate([p.reshape(-1, 3) for p in patches]).astype(np.float32)
    cheek = frame[round(eye_y + 0.2 * fw):round(eye_y + 0.3 * fw), round(cx - 0.3 * fw):round(cx - 0.15 * fw)]
    skin = np.median(cheek.reshape(-1, 3).astype(np.float32), axis=0) if cheek.size else patch.mean(axis=0)
    back = _backdrop_colour(frame)
    hair = patch[(np.abs(patch - skin).sum(axis=1) > 60) & (np.abs(patch - back).sum(axis=1) > 60)]
    if len(hair) < 20:
        return np.array((30, 30, 30), np.float32)
    return np.asarray(np.median(hair, axis=0), np.float32)


def _noise(frame: np.ndarray) -> float:
    """The frame's sensor noise (grey levels): the spread of the backdrop's top-left corner."""
    corner = frame[:30, :30].astype(np.float32)
    return float(np.median(corner.reshape(-1, 3).std(axis=0)))


def colour_of(frame: np.ndarray, m: Landmarks, colour: str | tuple[int, int, int]) -> np.ndarray:
    """The base BGR colour (float) for ``colour``: a palette BGR, ``"backdrop"`` or ``"hair"``."""
    if colour == "backdrop":
        return _backdrop_colour(frame)
    if colour == "hair":
        return _hair_colour(frame, m)
    return np.asarray(colour, np.float32)


def hat(frame: np.ndarray, m: Landmarks, rng: np.random.Generator, kind: str | None = None,
        colour: str | tuple[int, int, int] | None = None) -> tuple[str, str]:
    """Headwear of ``kind`` (random when None) in ``colour`` drawn over the head, in place.

    Returns the kind and a name for the colour drawn (for the evaluation's
    tables).
    """
    kind = kind or KINDS[int(rng.integers(len(KINDS)))]
    if colour is None:
        pick = int(rng.integers(len(PALETTE) + len(SPECIAL)))
        colour = PALETTE[pick] if pick < len(PALETTE) else SPECIAL[pick - len(PALETTE)]
    base = colour_of(frame, m, colour)
    # a backdrop-coloured cap is lit like the person, a little darker than a backdrop lit for itself
    if isinstance(colour, str) and colour == "backdrop":
        base = base * float(rng.uniform(0.9, 0.97))
    fw = m.face_width
    cx = (m.eyes[0][0] + m.eyes[1][0]) / 2
    eye_y = (m.eyes[0][1] + m.eyes[1][1]) / 2
    h, w = frame.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    mask: np.ndarray = np.zeros((h, w), np.float32)
    shade: np.ndarray = np.ones((h, w), np.float32)
    darken: np.ndarray = np.zeros((h, w), np.float32)  # a shadow the hat casts on the face
    top = m.head_top[1] - float(rng.uniform(0.04, 0.16)) * fw
    if kind in ("cap", "beanie"):
        brim_y = eye_y - float(rng.uniform(0.36, 0.46)) * fw
        rx = float(rng.uniform(0.74, 0.86)) * fw
        ry = max(4.0, brim_y - top)
        cv2.ellipse(mask, (round(cx), round(brim_y)), (round(rx), round(ry)), 0, 180, 360, 1.0, -1, cv2.LINE_AA)
        cv2.rectangle(mask, (round(cx - rx), round(brim_y)), (round(cx + rx), round(brim_y + 0.02 * fw)), 1.0, -1)
        u = np.clip((xs - cx) / rx, -1, 1)
        v = np.clip((brim_y - ys) / ry, 0, 1)
        # a rounded solid lit from the front and a little above
        shade = 0.68 + 0.32 * np.sqrt(np.clip(1 - u * u, 0, 1)) * (1 - 0.3 * v * v) + 0.06 * v
        if kind == "cap":
            for su in (-0.38, 0.38):  # the seams between the panels, meeting at the button
                pts = np.array([(cx + su * rx * np.sqrt(1 - t * t) ** 0.6, brim_y - t * ry)
                                for t in np.linspace(0, 0.98, 12)], np.int32)
                cv2.polylines(shade, [pts], False, 0.8, max(1, round(0.012 * fw)), cv2.LINE_AA)
            cv2.ellipse(mask, (round(cx), round(brim_y - ry)), (round(0.05 * fw), round(0.03 * fw)), 0, 0, 360,
                        1.0, -1, cv2.LINE_AA)
            brim: np.ndarray = np.zeros((h, w), np.float32)
            depth = float(rng.uniform(0.1, 0.16)) * fw
            cv2.ellipse(brim, (round(cx), round(brim_y)), (round(0.72 * fw), round(depth)), 0, 0, 180, 1.0, -1,
                        cv2.LINE_AA)
            mask = np.maximum(mask, brim)
            shade = np.where(brim > 0.5, 0.9 - 0.15 * np.clip((ys - brim_y) / depth, 0, 1), shade)
            cv2.ellipse(darken, (round(cx), round(brim_y + depth)), (round(0.6 * fw), round(0.09 * fw)), 0, 0, 180,
                        0.45, -1)
        else:
            cuff = float(rng.uniform(0.12, 0.18)) * fw
            band = (ys > brim_y - cuff) & (ys <= brim_y + 0.02 * fw)
            ribs = 1.0 + 0.07 * np.sin((xs - cx) / max(1.0, 0.025 * fw) * np.pi)
            shade = np.where(band, shade * 0.85 * ribs, shade)
    else:  # a hood: round the head and down to the shoulders, the face showing through its opening
        chin_y = m.chin[1]
        rx = float(rng.uniform(1.0, 1.15)) * fw
        cy = eye_y + 0.1 * fw
        cv2.ellipse(mask, (round(cx), round(cy)), (round(rx), round(cy - top)), 0, 180, 360, 1.0, -1, cv2.LINE_AA)
        body = np.array([(cx - rx, cy), (cx + rx, cy), (cx + 1.25 * fw, chin_y + 0.7 * fw),
                         (cx - 1.25 * fw, chin_y + 0.7 * fw)], np.int32)
        cv2.fillPoly(mask, [body], 1.0, cv2.LINE_AA)
        hole: np.ndarray = np.zeros((h, w), np.float32)
        face_top = eye_y - float(rng.uniform(0.45, 0.6)) * fw
        oy = (face_top + chin_y + 0.06 * fw) / 2
        cv2.ellipse(hole, (round(cx), round(oy)), (round(0.64 * fw), round((chin_y - face_top) / 2 + 0.03 * fw)),
                    0, 0, 360, 1.0, -1, cv2.LINE_AA)
        # the hood closes under the chin: the backdrop beside the neck is hood too
        bare = np.abs(frame.astype(np.float32) - _backdrop_colour(frame)).sum(axis=2) < 40
        r_hole = np.sqrt(((xs - cx) / (0.64 * fw)) ** 2 + ((ys - oy) / max(1.0, (chin_y - face_top) / 2)) ** 2)
        mask = mask * (1 - hole * (~(bare & (r_hole > 0.8))))
        # darker where the fabric turns away at the outline and in the rim round the face
        r_out = np.sqrt(((xs - cx) / rx) ** 2 + ((ys - cy) / max(1.0, cy - top)) ** 2)
        r_in = np.sqrt(((xs - cx) / (0.64 * fw)) ** 2 + ((ys - oy) / max(1.0, (chin_y - face_top) / 2)) ** 2)
        shade = 0.72 + 0.28 * np.clip(1.25 - r_out, 0, 1) ** 0.5 - 0.18 * np.clip(1.25 - r_in, 0, 1) * 4
        shade = np.clip(shade, 0.55, 1.05)
    mask = cv2.GaussianBlur(mask, (0, 0), max(0.6, 0.004 * fw))
    darken = cv2.GaussianBlur(darken, (0, 0), max(1.0, 0.03 * fw)) * (1 - mask)
    sigma = _noise(frame)
    # the fabric's own weave, faint, and the camera's noise on it as on everything else
    weave = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.0) * 0.025
    fabric = base[None, None, :] * np.clip(shade + weave, 0.4, 1.2)[..., None]
    fabric += rng.normal(0, sigma, (h, w, 3)).astype(np.float32)
    out = frame.astype(np.float32) * (1 - darken[..., None])
    out += (fabric - out) * mask[..., None]
    frame[:] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    name = colour if isinstance(colour, str) else "#" + "".join(f"{int(c):02x}" for c in colour[::-1])
    return kind, name
