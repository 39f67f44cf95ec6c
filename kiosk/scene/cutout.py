"""The packaged portraits, each cut out from its own background once per process.

Two real head-and-shoulders portraits ship with packages the demo installs:

* ``astronaut`` (scikit-image's ``data.astronaut()``, Eileen Collins,
  bareheaded, in front of a flag and a wall): the demo's subject, who passes;
* ``capped`` (matplotlib's ``grace_hopper.jpg``, in a naval cap): a scripted
  defect, refused for the cap.

``cv2.grabCut`` seeded with a hand-drawn outline separates each person (hair,
cap and clothes included) from that background; the edge is feathered, and
the clothes are continued past the photo's edges so that a person who stepped
back still has shoulders and a torso.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np


@dataclass(frozen=True)
class Subject:
    """A packaged portrait and its landmarks, in its own pixels (measured once; the images never change)."""

    name: str
    load: Callable[[], np.ndarray]  # BGR uint8
    face: tuple[float, float, float, float]  # x, y, w, h of the Haar frontal-face box
    eyes: tuple[tuple[float, float], tuple[float, float]]  # eye centres (landmark contours), image left first
    face_width: float  # cheek to cheek (landmarks 1 and 15)
    head_top: tuple[float, float]
    chin: tuple[float, float]
    neck_y: int  # below this line the person is clothes
    crop: tuple[int, int]  # columns from the left and rows from the top of the source that are used
    outline: tuple[tuple[int, int], ...]  # head and shoulders: seeds grabCut
    cheek: tuple[int, int, int, int]  # x0, y0, x1, y1 on a cheek and on the bridge of the nose: the lid colour
    bridge: tuple[int, int, int, int]
    bareheaded: bool
    dark_coat: bool  # the clothes are the dark pixels below the neck (else all of the person there)


def portrait_path() -> str:
    """Path of matplotlib's sample portrait (the capped subject)."""
    from matplotlib import cbook

    return str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def _load_capped() -> np.ndarray:
    src = cv2.imread(portrait_path(), cv2.IMREAD_COLOR)
    if src is None:  # pragma: no cover - matplotlib always ships it
        raise FileNotFoundError(portrait_path())
    return src


def _load_astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))


SUBJECTS = {
    "astronaut": Subject(
        name="astronaut", load=_load_astronaut, face=(175.0, 66.0, 97.0, 97.0),
        eyes=((203.3, 101.5), (246.7, 104.0)), face_width=90.1, head_top=(226.0, 14.0), chin=(220.0, 179.0),
        neck_y=182, crop=(0, 340),
        # the helmet she holds starts below row 340: the body is continued from there
        outline=((20, 340), (25, 290), (40, 255), (80, 225), (115, 195), (125, 170), (140, 160), (158, 140),
                 (150, 100), (152, 60), (170, 30), (200, 17), (230, 13), (260, 19), (285, 35), (298, 60),
                 (301, 100), (293, 130), (290, 150), (305, 165), (305, 200), (330, 225), (345, 245),
                 (358, 290), (362, 340)),
        cheek=(192, 125, 207, 138), bridge=(220, 100, 230, 110), bareheaded=True, dark_coat=False),
    "capped": Subject(
        name="capped", load=_load_capped, face=(155.0, 105.0, 222.0, 222.0),
        eyes=((223.0, 192.5), (308.8, 188.0)), face_width=181.1, head_top=(262.0, 22.0), chin=(274.0, 330.0),
        neck_y=335, crop=(18, 600),  # the source's left columns are flag, not coat
        outline=((14, 600), (16, 480), (25, 425), (90, 385), (175, 345), (195, 320), (178, 290), (160, 250),
                 (150, 200), (148, 140), (160, 110), (172, 62), (215, 35), (262, 22), (312, 35), (350, 60),
                 (370, 118), (376, 175), (372, 240), (355, 285), (335, 320), (380, 350), (470, 395),
                 (512, 425), (512, 600)),
        cheek=(222, 262, 258, 285), bridge=(255, 195, 275, 210), bareheaded=False, dark_coat=True),
}
#: the subject the demo camera shows
DEFAULT_SUBJECT = "astronaut"
# The photo ends at the shoulders; the body is continued past its edges (source
# pixels) so that a person who stepped back has arms and a torso, not a cut.
_PAD_SIDE = 200
_PAD_BOTTOM = 500


@dataclass(frozen=True)
class Cutout:
    """The person, padded with the continued coat; read-only arrays."""

    bgr: np.ndarray  # uint8, padded
    alpha: np.ndarray  # float32 0..1, padded
    coat: np.ndarray  # float32 0..1, padded: where the coat is
    skin: tuple[float, float, float]  # mean BGR of the cheeks, for painting lids
    offset: tuple[int, int]  # source (0, 0) in padded coordinates


def lookup(name: str) -> Subject:
    """The subject ``name``: an installed portrait or one read from the evaluation's archive cache."""
    if name in SUBJECTS:
        return SUBJECTS[name]
    from kiosk.scene.archived import ARCHIVED

    return ARCHIVED[name]


@cache
def cutout(name: str = DEFAULT_SUBJECT) -> Cutout:
    """The portrait ``name`` (a key of ``SUBJECTS``) cut from its background: computed once, read-only after."""
    subject = lookup(name)
    src = subject.load()[:subject.crop[1]]
    h, w = src.shape[:2]
    poly = np.zeros((h, w), np.uint8)
    cv2.fillPoly(poly, [np.array(subject.outline, np.int32)], 255)
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
    left = subject.crop[0]
    return _extend_body(src[:, left:], mask[:, left:], subject)


def _skin(src: np.ndarray, subject: Subject) -> tuple[float, float, float]:
    """A lid colour: halfway between the cheek and the bridge of the nose (uncropped source)."""
    def mean(box: tuple[int, int, int, int]) -> np.ndarray:
        x0, y0, x1, y1 = box
        return src[y0:y1, x0:x1].reshape(-1, 3).astype(np.float32).mean(axis=0)

    lid = (mean(subject.cheek) + mean(subject.bridge)) / 2
    return (float(lid[0]), float(lid[1]), float(lid[2]))


def _extend_body(src: np.ndarray, mask: np.ndarray, subject: Subject) -> Cutout:
    """Continue the coat below and beside the photo with a plain shoulder outline."""
    h, w = mask.shape
    ps, pb = _PAD_SIDE, _PAD_BOTTOM
    hp, wp = h + pb, w + 2 * ps
    hsv = cv2.cvtColor(src, cv2.COLOR_BGR2HSV)
    # the clothes: a dark coat, or everything below the neck of a bright suit
    dark = hsv[..., 2] < 90 if subject.dark_coat else np.ones(mask.shape, bool)
    coat: np.ndarray = ((mask > 0) & dark).astype(np.uint8) * 255
    coat[:subject.neck_y] = 0
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

    out = Cutout(bgr=bgr, alpha=cv2.GaussianBlur(body.astype(np.float32) / 255.0, (0, 0), 1.3),
                  coat=cv2.GaussianBlur(coat_full.astype(np.float32) / 255.0, (0, 0), 1.5),
                  offset=(ps - subject.crop[0], 0), skin=_skin(subject.load(), subject))
    for a in (out.bgr, out.alpha, out.coat):
        a.flags.writeable = False
    return out
