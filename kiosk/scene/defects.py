"""Defects drawn onto a rendered person: what a reviewer refuses at a glance.

Each takes the frame and the person's ground truth (``Scene.landmarks``) and
draws in place (``warp_face`` returns a new frame). They serve the
evaluation (``scripts/eval_portrait.py``) and the tests that pin each check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from kiosk.scene import hats

if TYPE_CHECKING:
    from kiosk.scene import Landmarks


def hat(frame: np.ndarray, m: Landmarks, rng: np.random.Generator, kind: str | None = None,
        colour: str | tuple[int, int, int] | None = None) -> tuple[str, str]:
    """A cap, a beanie or a hood over the head, in place (``kiosk.scene.hats``); its kind and colour name."""
    return hats.hat(frame, m, rng, kind, colour)


CLUTTER_KINDS = ("poster", "pole", "shoulder", "flag")


def clutter(frame: np.ndarray, m: Landmarks, rng: np.random.Generator, kind: int | None = None, *,
            crop: tuple[float, float, float, float] | None = None, inside_px: float | None = None) -> None:
    """Beside the head: a poster (0), a pole (1), another person's shoulder (2) or a flag (3), in place.

    Without ``crop`` the object stands at its usual place beside the head.
    With ``crop`` (x, y, w, h: the rectangle the photo is cut from) it comes
    in from outside across the crop's left or right edge and shows
    ``inside_px`` pixels of the 480-wide photo (random 3-40 when None): the
    case where it barely enters the picture.
    """
    fw = m.face_width
    cx = (m.eyes[0][0] + m.eyes[1][0]) / 2
    eye_y = (m.eyes[0][1] + m.eyes[1][1]) / 2
    side = 1 if rng.random() < 0.5 else -1
    kind = int(rng.integers(len(CLUTTER_KINDS))) if kind is None else kind
    # the object's inner edge (towards the head), and how far it reaches outwards
    if crop is not None:
        x0, _y0, cw, _ch = crop
        inside = (float(rng.uniform(3, 40)) if inside_px is None else inside_px) * cw / 480.0
        edge = x0 + cw if side > 0 else x0
        inner = edge - side * inside
    else:
        inner = cx + side * {0: 0.85, 1: float(rng.uniform(0.9, 1.02)), 2: 0.85, 3: 0.9}[kind] * fw
    if kind == 0:  # a poster, its printed lines
        x1 = inner + side * 0.45 * fw
        y0, y1 = round(eye_y - float(rng.uniform(0.7, 1.0)) * fw), round(eye_y - float(rng.uniform(0.0, 0.2)) * fw)
        a, b = round(min(inner, x1)), round(max(inner, x1))
        cv2.rectangle(frame, (a, y0), (b, y1), (60, 180, 230), -1)
        for k in range(4):
            yk = y0 + 10 + k * max(4, (y1 - y0) // 5)
            cv2.line(frame, (a + 5, yk), (b - 5, yk), (20, 20, 120), 3)
    elif kind in (1, 3):  # a pole, with a flag hanging from it (the flag outwards, the pole inside)
        half = max(3.0, float(rng.uniform(0.015, 0.03)) * fw)
        x = inner + side * half
        if kind == 3:
            cloth = (round(x), round(eye_y - 1.3 * fw)), (round(x + side * 0.8 * fw), round(eye_y - 0.4 * fw))
            cv2.rectangle(frame, *cloth, (40, 40, 210), -1)
        cv2.rectangle(frame, (round(x - half), 0), (round(x + half), round(eye_y + fw)), (40, 160, 200), -1)
    else:  # another person's shoulder and head edge coming in from the side
        rx = 0.9 * fw
        cy = eye_y + float(rng.uniform(0.0, 0.4)) * fw
        cv2.ellipse(frame, (round(inner + side * rx), round(cy)), (round(rx), round(1.1 * fw)), 0, 0, 360,
                    (70, 60, 50), -1, cv2.LINE_AA)


def _on_backdrop(frame: np.ndarray) -> np.ndarray:
    backdrop: np.ndarray = np.median(frame[:40, :40].reshape(-1, 3), axis=0)
    return (np.abs(frame.astype(np.float32) - backdrop).sum(axis=2) < 40).astype(np.float32)


def shadow(frame: np.ndarray, m: Landmarks, rng: np.random.Generator, offset: tuple[float, float] | None = None,
           depth: float | None = None) -> None:
    """The head's shadow on the backdrop beside it, in place.

    ``offset`` (face widths, sideways and down from the eye line's middle;
    random 0.5-1.0 to either side and -0.6-0.1 when None) places the
    shadow's middle, ``depth`` how much darker it makes the backdrop (random
    0.2-0.35 when None).
    """
    fw = m.face_width
    if offset is None:
        offset = ((1 if rng.random() < 0.5 else -1) * float(rng.uniform(0.5, 1.0)), float(rng.uniform(-0.6, 0.1)))
    depth = float(rng.uniform(0.2, 0.35)) if depth is None else depth
    cx = (m.eyes[0][0] + m.eyes[1][0]) / 2 + offset[0] * fw
    cy = (m.eyes[0][1] + m.eyes[1][1]) / 2 + offset[1] * fw
    shade: np.ndarray = np.zeros(frame.shape[:2], np.float32)
    cv2.ellipse(shade, (round(cx), round(cy)), (round(0.8 * fw), round(1.0 * fw)), 0, 0, 360, 1.0, -1)
    shade = cv2.GaussianBlur(shade, (0, 0), 0.1 * fw)
    # only the backdrop darkens (the shadow falls behind the person)
    gain = 1.0 - depth * shade * _on_backdrop(frame)
    frame[:] = np.clip(frame * gain[..., None], 0, 255).astype(np.uint8)


def light_gradient(frame: np.ndarray, m: Landmarks, rng: np.random.Generator, drop: float | None = None) -> None:
    """The backdrop's light falling off across the photo (a lamp to one side or above), in place.

    The backdrop darkens by ``drop`` (random 0.15-0.3 when None) over two
    face widths, about the photo's width, sideways or downwards.
    """
    fw = m.face_width
    drop = float(rng.uniform(0.15, 0.3)) if drop is None else drop
    h, w = frame.shape[:2]
    cx = (m.eyes[0][0] + m.eyes[1][0]) / 2
    eye_y = (m.eyes[0][1] + m.eyes[1][1]) / 2
    if rng.random() < 0.6:
        side = 1 if rng.random() < 0.5 else -1
        t = np.clip(side * (np.arange(w, dtype=np.float32) - cx) / (2 * fw) + 0.5, 0, 1)[None, :]
    else:
        t = np.clip((np.arange(h, dtype=np.float32) - (eye_y - 1.2 * fw)) / (2.6 * fw), 0, 1)[:, None]
    gain = 1.0 - drop * t * _on_backdrop(frame)
    frame[:] = np.clip(frame * gain[..., None], 0, 255).astype(np.uint8)


def warp_face(frame: np.ndarray, m: Landmarks, dx: float, dy: float) -> np.ndarray:
    """The nose (and for ``dx`` the middle of the face) moved by (dx, dy) face widths against the outline.

    An approximation of a turned (dx) or tipped (dy) head: the landmarks move
    as they would (the nose tip, standing out of the face, moves most), the
    shading and the hidden side of the face do not.
    """
    fw = m.face_width
    cx = (m.eyes[0][0] + m.eyes[1][0]) / 2
    eye_y = (m.eyes[0][1] + m.eyes[1][1]) / 2
    # a turn moves the whole middle of the face (around the nose's root), a tip the nose tip
    nose_y = eye_y + 0.35 * fw if dy == 0 else eye_y + 0.45 * (m.chin[1] - eye_y)
    reach = 0.55 * fw if dy == 0 else 0.2 * fw
    ys, xs = np.mgrid[0:frame.shape[0], 0:frame.shape[1]].astype(np.float32)
    u = np.clip((xs - cx) / reach, -1, 1)
    v = np.clip((ys - nose_y) / reach, -1, 1)
    bump = (np.cos(u * np.pi / 2) ** 2) * (np.cos(v * np.pi / 2) ** 2)
    return cv2.remap(frame, xs - dx * fw * bump, ys - dy * fw * bump, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def sunglasses(frame: np.ndarray, m: Landmarks, rng: np.random.Generator) -> None:
    """Dark lenses and a bridge over the eyes, in place."""
    fw = m.face_width
    tint = int(rng.integers(15, 60))
    for ex, ey in m.eyes:
        cv2.ellipse(frame, (round(ex), round(ey)), (round(0.17 * fw), round(0.11 * fw)), 0, 0, 360,
                    (tint, tint, tint + 10), -1, cv2.LINE_AA)
    (lx, ly), (rx, ry) = m.eyes
    cv2.line(frame, (round(lx + 0.17 * fw), round(ly)), (round(rx - 0.17 * fw), round(ry)), (20, 20, 20), 3)


def open_mouth(frame: np.ndarray, m: Landmarks) -> None:
    """A wide-open mouth (lips and the dark inside) drawn over the mouth, in place."""
    fw = m.face_width
    cx = (m.eyes[0][0] + m.eyes[1][0]) / 2
    eye_y = (m.eyes[0][1] + m.eyes[1][1]) / 2
    chin_y = m.chin[1]
    mouth_y = eye_y + 0.62 * (chin_y - eye_y)
    cv2.ellipse(frame, (round(cx), round(mouth_y)), (round(0.2 * fw), round(0.15 * fw)), 0, 0, 360,
                (60, 60, 150), -1, cv2.LINE_AA)  # lips
    cv2.ellipse(frame, (round(cx), round(mouth_y)), (round(0.16 * fw), round(0.11 * fw)), 0, 0, 360,
                (25, 20, 45), -1, cv2.LINE_AA)  # the open mouth


def turn_head(frame: np.ndarray, m: Landmarks, yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> np.ndarray:
    """The head rotated in depth: turned ``yaw_deg`` (> 0 to the image's right), tipped ``pitch_deg`` (> 0 chin up).

    The head is modelled as a rounded solid from the head top to the chin,
    the face half a face width in front of the ears, with the nose standing
    out of it; every
    pixel of the head moves as its point on that surface would under the
    rotation (the nose tip most, the rim least), so the landmarks move as on
    a real turned or tipped head: the nose off the middle, the eye-to-nose and
    nose-to-chin distances foreshortened unequally. What a rotation would
    hide or reveal (the far cheek, under the chin) is not drawn: the pixels
    are moved, not invented.
    """
    fw = m.face_width
    (lx, ly), (rx, ry) = m.eyes
    eye_y = (ly + ry) / 2
    cx = (lx + rx) / 2
    top, chin = m.head_top[1], m.chin[1]
    # the head's outline reaches a little below the chin; the rotation's axis
    # passes through the ears, at the height of the middle of the head
    cy, b = (top + chin) / 2 + 0.05 * (chin - top), 0.55 * (chin - top)
    a = 0.62 * fw
    nose_y = eye_y + 0.45 * (chin - eye_y)

    def depth(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        # the face stands about half a face width in front of the ears from
        # the brows down to the chin; the crown curves back; the nose stands out
        u, v = (x - cx) / a, (y - cy) / b
        profile = np.where(v < 0, np.sqrt(np.clip(1.0 - v * v, 0.0, 1.0)), np.clip((1.0 - v) / 0.15, 0.0, 1.0))
        out = 0.5 * fw * np.sqrt(np.clip(1.0 - u * u, 0.0, 1.0)) * profile
        return out + 0.2 * fw * np.exp(-(((x - cx) / (0.1 * fw)) ** 2 + ((y - nose_y) / (0.15 * fw)) ** 2))

    ys, xs = np.mgrid[0:frame.shape[0], 0:frame.shape[1]].astype(np.float32)
    # the head moves, the backdrop and shoulders do not: the displacement fades out past the rim
    weight = np.clip((1.2 - np.sqrt(((xs - cx) / a) ** 2 + ((ys - cy) / b) ** 2)) / 0.2, 0.0, 1.0)
    ty, tx = np.radians(pitch_deg), np.radians(yaw_deg)
    # the source of each pixel: the inverse rotation, the depth read at the
    # source point (found by a few fixed-point steps from the pixel itself)
    src_x, src_y = xs, ys
    for _ in range(4):
        z = depth(src_x, src_y)
        src_y = cy + (ys - cy + z * np.sin(ty)) / np.cos(ty)
        src_x = cx + (xs - cx - z * np.sin(tx)) / np.cos(tx)
    map_x = xs + weight * (src_x - xs)
    map_y = ys + weight * (src_y - ys)
    return cv2.remap(frame, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
