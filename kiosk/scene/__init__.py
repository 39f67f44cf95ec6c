"""Synthetic camera scenes: a real portrait composited on a backdrop.

The demo camera and the tests need frames that behave like a person standing
in front of the station: a real face (so OpenCV's detectors find it), real
hair against an even backdrop (so the head top can be found), shoulders, and
on request a phone held up with a QR code. The portraits ship with packages
the demo installs (``cutout.SUBJECTS``): scikit-image's bareheaded
``astronaut`` by default, matplotlib's ``grace_hopper`` in a naval cap with
``Pose(subject="capped")`` (a photo the standard refuses). Each is cut out
from its own background once per process with ``cv2.grabCut`` and then
scaled, moved, rotated and relit per frame.

Coordinates: ``Pose.dx``/``dy`` are fractions of the frame's width/height
(positive = right/down, as the camera sees it); ``scale`` is relative to the
default size, at which the face (cheek to cheek) is 18 % of the frame
width with the eyes at 42 % of the frame height, so a 1280x720 frame crops to the
学历照片 standard. ``roll`` is in degrees, counter-clockwise in the image.

Variants for tests:

* ``Pose(present=False)`` renders the empty backdrop (no person);
* ``scene.render_people([pose_a, pose_b])`` renders several people, later
  ones in front; ``scene.render_two_people()`` is the usual two-face case;
* ``Pose(side_light=0.5)`` lights one side of the person more than the other;
* ``Pose(coat_bgr=(255, 190, 110))`` recolours the coat (clothing that
  matches the backdrop);
* ``Pose(noise=2.0)`` adds sensor noise, seeded by ``t`` (deterministic);
* ``Pose(eyes_closed=True)`` paints lids over the eyes; ``Pose(glare=1.0)``
  puts a bright reflection on each lens;
* ``scene.landmarks(pose)`` gives the ground truth (face box, eyes, head top,
  chin) of a rendered pose, for asserting what an analyser measured.

Modules: ``cutout`` (the portraits cut from their backgrounds), ``defects``
(hats, clutter, shadows, turned faces, sunglasses, an open mouth drawn on a
rendered person), ``props``
(backdrops and the QR phone); here, poses and rendering.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from kiosk.scene.cutout import DEFAULT_SUBJECT, SUBJECTS, Subject, cutout, lookup, portrait_path
from kiosk.scene.props import BACKGROUND_CHOICES, BACKGROUNDS, backdrop, phone_sprite, qr_image

__all__ = [
    "BACKGROUNDS", "BACKGROUND_CHOICES", "EYE_LINE_FRACTION", "FACE_WIDTH_FRACTION", "SUBJECTS", "Landmarks", "Pose",
    "Scene", "natural_motion", "portrait_path", "qr_image",
]

# Default framing, as fractions of the frame.
FACE_WIDTH_FRACTION = 0.18
EYE_LINE_FRACTION = 0.42


@dataclass(frozen=True)
class Pose:
    """Where the person stands and how the camera sees them (see module doc)."""

    dx: float = 0.0  # fraction of the frame width, + = to the right in the image
    dy: float = 0.0  # fraction of the frame height, + = down
    scale: float = 1.0  # 1 = the default size; < 1 steps back, > 1 comes closer
    roll: float = 0.0  # head and body tilt, degrees, counter-clockwise in the image
    brightness: float = 1.0  # gain on the whole frame (exposure): 0.3 dark, 2 over-exposed
    blur: float = 0.0  # Gaussian sigma in frame pixels (focus, motion)
    mirrored: bool = False  # the whole frame flipped, as a selfie camera delivers it
    present: bool = True  # False: nobody in front of the camera
    side_light: float = 0.0  # -1..1: gain ramp across the person (uneven light)
    coat_bgr: tuple[int, int, int] | None = None  # recolour the coat (BGR)
    noise: float = 0.0  # sensor noise sigma in grey levels, seeded by t
    eyes_closed: bool = False  # lids painted over both eyes
    glare: float = 0.0  # 0..1: a bright reflection on each lens
    subject: str = DEFAULT_SUBJECT  # which packaged portrait (a key of ``SUBJECTS``)


@dataclass(frozen=True)
class Landmarks:
    """Ground truth of a rendered person, in frame pixels."""

    face: tuple[float, float, float, float]  # x, y, w, h (the frontal-face box)
    face_width: float  # cheek to cheek, what the standard's face width means
    eyes: tuple[tuple[float, float], tuple[float, float]]  # image-left eye, image-right eye
    head_top: tuple[float, float]
    chin: tuple[float, float]

    @property
    def eye_roll_deg(self) -> float:
        """Angle of the eye line, degrees (counter-clockwise positive)."""
        (x1, y1), (x2, y2) = self.eyes
        return -math.degrees(math.atan2(y2 - y1, x2 - x1))


def natural_motion(pose: Pose, t: float, amount: float = 1.0) -> Pose:
    """``pose`` with the small motion of a person standing still at time ``t``.

    A slow sway (about 0.6 % of the frame), a breath that lifts the head a
    little every 4 s and a slight roll; ``amount`` scales all of it.
    """
    sway = 0.006 * math.sin(2 * math.pi * t / 5.3) + 0.002 * math.sin(2 * math.pi * t / 1.7)
    breath = 0.003 * math.sin(2 * math.pi * t / 4.0)
    roll = 0.8 * math.sin(2 * math.pi * t / 6.1)
    return replace(pose, dx=pose.dx + amount * sway, dy=pose.dy + amount * breath,
                   roll=pose.roll + amount * roll)


class Scene:
    """A person in front of a backdrop, rendered as a camera would see them."""

    def __init__(self, width: int, height: int, background: str = "blue") -> None:
        if background not in BACKGROUND_CHOICES:
            raise ValueError(f"background must be one of {BACKGROUND_CHOICES}, not {background!r}")
        if width < 64 or height < 64:
            raise ValueError("scene is too small")
        self.width = width
        self.height = height
        self.background = background

    # -- geometry -----------------------------------------------------------

    def _matrix(self, pose: Pose) -> np.ndarray:
        """2x3 affine map from source-portrait pixels to frame pixels."""
        sub = _subject(pose)
        s = FACE_WIDTH_FRACTION * self.width / sub.face_width * pose.scale
        ex = (sub.eyes[0][0] + sub.eyes[1][0]) / 2
        ey = (sub.eyes[0][1] + sub.eyes[1][1]) / 2
        fx = sub.face[0] + sub.face[2] / 2
        # Face centre goes to the frame centre (+dx), eye line to 39 % (+dy).
        tx = self.width * (0.5 + pose.dx) - s * (fx - ex)
        ty = self.height * (EYE_LINE_FRACTION + pose.dy)
        # the subject's own eye line is levelled first: roll 0 is a level head
        (lx, ly), (rx, ry) = sub.eyes
        rot = cv2.getRotationMatrix2D((ex, ey), pose.roll + math.degrees(math.atan2(ry - ly, rx - lx)), s)
        rot[0, 2] += tx - ex
        rot[1, 2] += ty - ey
        return rot

    def landmarks(self, pose: Pose = Pose()) -> Landmarks:
        """Where the face, eyes, head top and chin of ``pose`` land in the frame."""
        m = self._matrix(pose)

        def at(x: float, y: float) -> tuple[float, float]:
            px = float(m[0, 0] * x + m[0, 1] * y + m[0, 2])
            py = float(m[1, 0] * x + m[1, 1] * y + m[1, 2])
            if pose.mirrored:
                px = self.width - 1 - px
            return (px, py)

        sub = _subject(pose)
        fx, fy, fw, fh = sub.face
        cx, cy = at(fx + fw / 2, fy + fh / 2)
        k = FACE_WIDTH_FRACTION * self.width / sub.face_width * pose.scale
        w = fw * k
        eyes = (at(*sub.eyes[0]), at(*sub.eyes[1]))
        if pose.mirrored:
            eyes = (eyes[1], eyes[0])
        return Landmarks(face=(cx - w / 2, cy - w / 2, w, w), face_width=sub.face_width * k, eyes=eyes,
                         head_top=at(*sub.head_top), chin=at(*sub.chin))

    # -- rendering ----------------------------------------------------------

    def render(self, pose: Pose = Pose(), code_text: str | None = None,
               t: float = 0.0) -> np.ndarray:
        """One BGR uint8 frame of shape (height, width, 3); same inputs, same frame."""
        return self.render_people([pose] if pose.present else [], code_text, t, camera=pose)

    def render_two_people(self, code_text: str | None = None, t: float = 0.0) -> np.ndarray:
        """Two people side by side, both facing the camera (a "one at a time" case)."""
        return self.render_people([Pose(dx=-0.2, scale=0.8), Pose(dx=0.22, dy=0.03, scale=0.75)], code_text, t)

    def render_people(self, poses: Sequence[Pose], code_text: str | None = None, t: float = 0.0,
                      camera: Pose | None = None) -> np.ndarray:
        """Several people (later ones in front); camera effects come from ``camera``.

        ``camera`` supplies brightness, blur, mirroring and noise for the whole
        frame; it defaults to the first pose (or a neutral one).
        """
        cam = camera or (poses[0] if poses else Pose())
        frame = backdrop(self.width, self.height, self.background).astype(np.float32)
        for pose in poses:
            frame = self._composite_person(frame, pose)
        if code_text is not None:
            holder = poses[-1] if poses else Pose()
            self._composite_phone(frame, code_text, holder, t)
        if cam.brightness != 1.0:
            frame *= cam.brightness
        if cam.noise > 0:
            rng = np.random.default_rng(round(t * 1000) & 0xFFFFFFFF)
            frame += rng.normal(0.0, cam.noise, frame.shape).astype(np.float32)
        out: np.ndarray = np.clip(frame + 0.5, 0, 255).astype(np.uint8)  # rounded, not truncated
        if cam.blur > 0:
            out = cv2.GaussianBlur(out, (0, 0), cam.blur)
        if cam.mirrored:
            out = np.ascontiguousarray(out[:, ::-1])
        return out

    def _composite_person(self, frame: np.ndarray, pose: Pose) -> np.ndarray:
        cut = cutout(_subject(pose).name)
        m = self._matrix(pose).copy()
        # Matrix maps source pixels; the cutout is padded, so shift by its offset.
        ox, oy = cut.offset
        m[:, 2] -= m[:, 0] * ox + m[:, 1] * oy
        size = (self.width, self.height)
        person = cv2.warpAffine(cut.bgr, m, size, flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        alpha = cv2.warpAffine(cut.alpha, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                               borderValue=0.0)
        if pose.coat_bgr is not None:
            coat = cv2.warpAffine(cut.coat, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            # Keep the cloth's folds: scale the new colour by the old shading.
            shade = np.clip(person.mean(axis=2, keepdims=True) / 40.0, 0.6, 1.4)
            tinted = np.asarray(pose.coat_bgr, np.float32) * shade
            person += (tinted - person) * coat[..., None]
        if pose.side_light:
            cx = self.width * (0.5 + pose.dx)
            span = FACE_WIDTH_FRACTION * self.width * pose.scale
            x = np.arange(self.width, dtype=np.float32)
            ramp = 1.0 + pose.side_light * np.clip((x - cx) / span, -1.0, 1.0)
            person *= ramp[None, :, None]
        out: np.ndarray = cv2.blendLinear(person, frame, alpha, 1.0 - alpha)
        if pose.eyes_closed or pose.glare > 0:
            self._paint_eyes(out, pose, cut.skin)
        return out

    def _paint_eyes(self, frame: np.ndarray, pose: Pose, skin: tuple[float, float, float]) -> None:
        """Closed lids and/or a lens reflection over each eye, in place."""
        m = self._matrix(pose)
        sub = _subject(pose)
        w = FACE_WIDTH_FRACTION * self.width * pose.scale * sub.face[2] / sub.face_width  # the face box
        reach = round(0.12 * w) + 2
        for sx, sy in _subject(pose).eyes:
            ex = float(m[0, 0] * sx + m[0, 1] * sy + m[0, 2])
            ey = float(m[1, 0] * sx + m[1, 1] * sy + m[1, 2])
            x0, y0 = max(0, round(ex) - reach), max(0, round(ey) - reach)
            x1, y1 = min(self.width, round(ex) + reach), min(self.height, round(ey) + reach)
            if x1 <= x0 or y1 <= y0:
                continue
            roi = frame[y0:y1, x0:x1]
            centre = (round(ex) - x0, round(ey) - y0)
            if pose.eyes_closed:
                lid: np.ndarray = np.zeros(roi.shape[:2], np.float32)
                cv2.ellipse(lid, centre, (round(0.07 * w), round(0.035 * w)), -pose.roll, 0, 360, 1.0, -1)
                lid = cv2.GaussianBlur(lid, (0, 0), max(0.8, 0.008 * w))
                roi += (np.asarray(skin, np.float32) - roi) * lid[..., None]
                lashes = (centre[0], centre[1] + round(0.012 * w))
                cv2.ellipse(roi, lashes, (round(0.06 * w), round(0.016 * w)), -pose.roll, 20, 160,
                            (50.0, 55.0, 75.0), max(1, round(w / 160)), cv2.LINE_AA)
            if pose.glare > 0:
                spot: np.ndarray = np.zeros(roi.shape[:2], np.float32)
                glint = (centre[0] + round(0.01 * w), centre[1] - round(0.005 * w))
                cv2.ellipse(spot, glint, (round(0.045 * w), round(0.028 * w)), 30 - pose.roll, 0, 360, 1.0, -1)
                spot = cv2.GaussianBlur(spot, (0, 0), max(0.8, 0.012 * w))
                spot = np.clip(spot * 1.6, 0.0, 1.0) * min(pose.glare, 1.0)  # a saturated core
                roi += (255.0 - roi) * spot[..., None]

    def _composite_phone(self, frame: np.ndarray, text: str, holder: Pose, t: float) -> None:
        """A phone showing ``text`` as a QR code, held in front of the chest."""
        screen_target = int(0.30 * self.height * min(1.0, max(0.6, holder.scale)))
        phone, mask, top, side = phone_sprite(text, screen_target)
        ph, pw = mask.shape
        # A hand is never perfectly still: a little drift and tilt over time.
        cx = self.width * (0.5 + holder.dx) + 0.004 * self.width * math.sin(2 * math.pi * t / 2.3)
        # Held low, in front of the chest: the screen's bottom just above the frame's edge.
        cy = self.height * (0.985 + holder.dy) - side / 2 - top + ph / 2
        cy = min(cy, self.height - 4 - side - top + ph / 2)
        cy += 0.004 * self.height * math.sin(2 * math.pi * t / 3.1)
        angle = 3.0 + 1.5 * math.sin(2 * math.pi * t / 4.7)
        m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, 1.0)
        m[0, 2] += cx - pw / 2
        m[1, 2] += cy - ph / 2
        # Warp and blend only the phone's bounding box, not the whole frame.
        half = math.hypot(pw, ph) / 2 + 2
        x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
        x1, y1 = min(self.width, int(cx + half) + 1), min(self.height, int(cy + half) + 1)
        if x1 <= x0 or y1 <= y0:
            return
        m[0, 2] -= x0
        m[1, 2] -= y0
        size = (x1 - x0, y1 - y0)
        warped = cv2.warpAffine(phone, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        alpha = cv2.warpAffine(mask, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        roi = frame[y0:y1, x0:x1]
        roi += (warped - roi) * alpha[..., None]


def _subject(pose: Pose) -> Subject:
    """The packaged portrait ``pose`` shows."""
    try:
        return lookup(pose.subject)
    except KeyError:
        raise ValueError(f"subject must be one of {sorted(SUBJECTS)}, not {pose.subject!r}") from None
