"""Synthetic camera scenes: a real portrait composited on a backdrop.

The demo camera and the tests need frames that behave like a person standing
in front of the station: a real face (so OpenCV's detectors find it), real
hair against an even backdrop (so the head top can be found), shoulders, and
on request a phone held up with a QR code. The portrait is matplotlib's
``grace_hopper.jpg`` sample, which ships with an installed package; it is cut
out from its own background once per process with ``cv2.grabCut`` and then
scaled, moved, rotated and relit per frame.

Coordinates: ``Pose.dx``/``dy`` are fractions of the frame's width/height
(positive = right/down, as the camera sees it); ``scale`` is relative to the
default size, at which the detected face is about 22.5 % of the frame width
with the eyes at 39 % of the frame height, so a 1280x720 frame crops to the
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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
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

# Landmarks of the source portrait, in its own pixels (measured once with
# OpenCV's Haar cascades and by eye; the image never changes).
_SRC_FACE = (155.0, 105.0, 222.0, 222.0)  # x, y, w, h of the frontal-face box
# Eye centres as the eye cascade finds them; the pupils themselves lean about
# 2 degrees (her head is tilted slightly in the photo), so a measured eye line
# at Pose.roll=0 reads about 2 degrees, well inside the standard's 5.
_SRC_EYES = ((223.0, 189.0), (305.0, 189.0))  # the person's right, left (image left, right)
_SRC_HEAD_TOP = (262.0, 22.0)  # top of the cap
_SRC_CHIN = (266.0, 332.0)
_SRC_NECK_Y = 335  # below this line dark pixels of the person are the coat
# Head-and-shoulders outline that seeds grabCut: everything well outside is
# background, everything well inside is the person, the band between is solved.
_OUTLINE = np.array([
    (14, 600), (16, 480), (25, 425), (90, 385), (175, 345), (195, 320), (178, 290), (160, 250),
    (150, 200), (148, 140), (160, 110), (172, 62), (215, 35), (262, 22), (312, 35), (350, 60),
    (370, 118), (376, 175), (372, 240), (355, 285), (335, 320), (380, 350), (470, 395),
    (512, 425), (512, 600),
], np.int32)
_CROP_LEFT = 18  # the source's left columns are flag, not coat
# The photo ends at the shoulders; the body is continued past its edges (source
# pixels) so that a person who stepped back has arms and a torso, not a cut.
_PAD_SIDE = 200
_PAD_BOTTOM = 500

# Default framing, as fractions of the frame.
FACE_WIDTH_FRACTION = 0.225
EYE_LINE_FRACTION = 0.39


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


@dataclass(frozen=True)
class Landmarks:
    """Ground truth of a rendered person, in frame pixels."""

    face: tuple[float, float, float, float]  # x, y, w, h (the frontal-face box)
    eyes: tuple[tuple[float, float], tuple[float, float]]  # image-left eye, image-right eye
    head_top: tuple[float, float]
    chin: tuple[float, float]

    @property
    def eye_roll_deg(self) -> float:
        """Angle of the eye line, degrees (counter-clockwise positive)."""
        (x1, y1), (x2, y2) = self.eyes
        return -math.degrees(math.atan2(y2 - y1, x2 - x1))


@dataclass(frozen=True)
class _Cutout:
    bgr: np.ndarray  # uint8, padded
    alpha: np.ndarray  # float32 0..1, padded
    coat: np.ndarray  # float32 0..1, padded: where the coat is
    skin: tuple[float, float, float]  # mean BGR of the cheeks, for painting lids
    offset: tuple[int, int]  # source (0, 0) in padded coordinates


def portrait_path() -> str:
    """Path of the packaged portrait (matplotlib's sample data)."""
    from matplotlib import cbook

    return str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


@cache
def _cutout() -> _Cutout:
    """The portrait cut from its background: computed once, read-only after."""
    src = cv2.imread(portrait_path(), cv2.IMREAD_COLOR)
    if src is None:  # pragma: no cover - matplotlib always ships it
        raise FileNotFoundError(portrait_path())
    h, w = src.shape[:2]
    poly = np.zeros((h, w), np.uint8)
    cv2.fillPoly(poly, [_OUTLINE], 255)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (29, 29))
    seed = np.full((h, w), cv2.GC_BGD, np.uint8)
    seed[cv2.dilate(poly, disk) > 0] = cv2.GC_PR_BGD
    seed[poly > 0] = cv2.GC_PR_FGD
    seed[cv2.erode(poly, disk) > 0] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(src, seed, (0, 0, w, h), bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)  # rect unused with a mask
    mask: np.ndarray = np.where((seed == cv2.GC_FGD) | (seed == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    # Keep the one person; close pinholes (glasses glare, medals) and drop crumbs.
    small = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, small)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, small)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    if count > 1:
        biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        mask = np.where(labels == biggest, 255, 0).astype(np.uint8)
    holes = cv2.bitwise_not(mask)
    hcount, hlabels = cv2.connectedComponents(holes)
    for label in range(1, hcount):
        ys, _xs = np.nonzero(hlabels == label)
        if ys.size and ys.min() > 0 and ys.size < 2000:  # enclosed, small: a hole
            mask[hlabels == label] = 255
    return _extend_body(src[:, _CROP_LEFT:], mask[:, _CROP_LEFT:])


def _skin(src: np.ndarray) -> tuple[float, float, float]:
    """A lid colour: halfway between the cheek and the bridge of the nose (cropped source)."""
    cheek = src[262:285, 222 - _CROP_LEFT:258 - _CROP_LEFT].reshape(-1, 3).astype(np.float32).mean(axis=0)
    bridge = src[195:210, 255 - _CROP_LEFT:275 - _CROP_LEFT].reshape(-1, 3).astype(np.float32).mean(axis=0)
    lid = (cheek + bridge) / 2
    return (float(lid[0]), float(lid[1]), float(lid[2]))


def _extend_body(src: np.ndarray, mask: np.ndarray) -> _Cutout:
    """Continue the coat below and beside the photo with a plain shoulder outline."""
    h, w = mask.shape
    ps, pb = _PAD_SIDE, _PAD_BOTTOM
    hp, wp = h + pb, w + 2 * ps
    hsv = cv2.cvtColor(src, cv2.COLOR_BGR2HSV)
    coat: np.ndarray = ((mask > 0) & (hsv[..., 2] < 90)).astype(np.uint8) * 255
    coat[:_SRC_NECK_Y] = 0
    coat = cv2.morphologyEx(coat, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    cloth = src[h - 60:][coat[h - 60:] > 0].reshape(-1, 3).mean(axis=0)

    bgr = np.empty((hp, wp, 3), np.uint8)
    bgr[:] = cloth.astype(np.uint8)
    bgr[:h, ps:ps + w] = src
    # Below the photo the last row (blurred, so medals do not streak) fades to plain cloth.
    last = cv2.blur(src[h - 1:h].astype(np.float32), (41, 1))
    fade = np.clip(np.arange(pb, dtype=np.float32) / 60.0, 0.0, 1.0)[:, None, None]
    bgr[h:, ps:ps + w] = (last * (1 - fade) + cloth.astype(np.float32) * fade).astype(np.uint8)

    body = np.zeros((hp, wp), np.uint8)
    body[:h, ps:ps + w] = mask
    body[h:, ps:ps + w] = 255
    right_y = int(np.argmax(mask[:, -1] > 0)) if mask[:, -1].any() else h - 1
    left_y = int(np.argmax(mask[:, 0] > 0)) if mask[:, 0].any() else h - 1
    xr, xl = ps + w - 1, ps
    right = [(xr, right_y), (xr + 50, right_y + 35), (xr + 90, right_y + 85), (xr + 115, right_y + 160),
             (xr + 125, hp), (xr, hp)]
    left = [(xl, left_y), (xl - 25, left_y + 50), (xl - 45, left_y + 140), (xl - 55, hp), (xl, hp)]
    for poly in (right, left):
        cv2.fillPoly(body, [np.array(poly, np.int32)], 255)
    coat_full = np.zeros((hp, wp), np.uint8)
    coat_full[:h, ps:ps + w] = coat
    coat_full[h:] = body[h:]
    coat_full[:h, :ps] = body[:h, :ps]
    coat_full[:h, ps + w:] = body[:h, ps + w:]

    out = _Cutout(bgr=bgr, alpha=cv2.GaussianBlur(body.astype(np.float32) / 255.0, (0, 0), 1.3),
                  coat=cv2.GaussianBlur(coat_full.astype(np.float32) / 255.0, (0, 0), 1.5),
                  offset=(ps - _CROP_LEFT, 0), skin=_skin(src))
    for a in (out.bgr, out.alpha, out.coat):
        a.flags.writeable = False
    return out


@cache
def _backdrop(width: int, height: int, background: str) -> np.ndarray:
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


def qr_image(text: str, module_px: int) -> np.ndarray:
    """A black-on-white QR code of ``text`` with its quiet zone, gray uint8."""
    qr = segno.make_qr(text, error="m")
    matrix = np.array(list(qr.matrix), dtype=np.uint8)
    img = np.where(matrix > 0, 0, 255).astype(np.uint8)
    img = np.pad(img, 4, constant_values=255)
    return cv2.resize(img, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)


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
        s = FACE_WIDTH_FRACTION * self.width / _SRC_FACE[2] * pose.scale
        ex = (_SRC_EYES[0][0] + _SRC_EYES[1][0]) / 2
        ey = (_SRC_EYES[0][1] + _SRC_EYES[1][1]) / 2
        fx = _SRC_FACE[0] + _SRC_FACE[2] / 2
        # Face centre goes to the frame centre (+dx), eye line to 39 % (+dy).
        tx = self.width * (0.5 + pose.dx) - s * (fx - ex)
        ty = self.height * (EYE_LINE_FRACTION + pose.dy)
        rot = cv2.getRotationMatrix2D((ex, ey), pose.roll, s)
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

        fx, fy, fw, fh = _SRC_FACE
        cx, cy = at(fx + fw / 2, fy + fh / 2)
        w = fw * FACE_WIDTH_FRACTION * self.width / _SRC_FACE[2] * pose.scale
        eyes = (at(*_SRC_EYES[0]), at(*_SRC_EYES[1]))
        if pose.mirrored:
            eyes = (eyes[1], eyes[0])
        return Landmarks(face=(cx - w / 2, cy - w / 2, w, w), eyes=eyes,
                         head_top=at(*_SRC_HEAD_TOP), chin=at(*_SRC_CHIN))

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
        frame = _backdrop(self.width, self.height, self.background).astype(np.float32)
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
        cut = _cutout()
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
        w = FACE_WIDTH_FRACTION * self.width * pose.scale
        reach = round(0.12 * w) + 2
        for sx, sy in _SRC_EYES:
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
        phone, mask, top, side = _phone_sprite(text, screen_target)
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


@lru_cache(maxsize=8)
def _phone_sprite(text: str, screen_target: int) -> tuple[np.ndarray, np.ndarray, int, int]:
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
