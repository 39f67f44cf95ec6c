"""The packaged portrait, cut out from its own background once per process.

matplotlib ships ``grace_hopper.jpg``: a real head-and-shoulders portrait in
front of a flag and a sky. ``cv2.grabCut`` seeded with a hand-drawn outline
separates her (cap, hair and coat included) from that background; the edge is
feathered, and the coat is continued past the photo's edges so that a person
who stepped back still has shoulders and a torso.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

# Landmarks of the source portrait, in its own pixels (measured once with
# OpenCV's Haar cascades and by eye; the image never changes).
SRC_FACE = (155.0, 105.0, 222.0, 222.0)  # x, y, w, h of the frontal-face box
# Eye centres as the eye cascade finds them; the pupils themselves lean about
# 2 degrees (her head is tilted slightly in the photo), so a measured eye line
# at Pose.roll=0 reads about 2 degrees, well inside the standard's 5.
SRC_EYES = ((223.0, 189.0), (305.0, 189.0))  # the person's right, left (image left, right)
SRC_HEAD_TOP = (262.0, 22.0)  # top of the cap
SRC_CHIN = (266.0, 332.0)
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


@dataclass(frozen=True)
class Cutout:
    """The person, padded with the continued coat; read-only arrays."""

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
def cutout() -> Cutout:
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


def _extend_body(src: np.ndarray, mask: np.ndarray) -> Cutout:
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

    out = Cutout(bgr=bgr, alpha=cv2.GaussianBlur(body.astype(np.float32) / 255.0, (0, 0), 1.3),
                  coat=cv2.GaussianBlur(coat_full.astype(np.float32) / 255.0, (0, 0), 1.5),
                  offset=(ps - _CROP_LEFT, 0), skin=_skin(src))
    for a in (out.bgr, out.alpha, out.coat):
        a.flags.writeable = False
    return out
