"""Is the head bare (免冠)? A band across the crown that is neither hair nor skin.

Between the head top and the brows a bare head shows hair and forehead; a
cap, a naval cap, a beanie or a headband shows a band of fabric across the
whole head that is the colour of neither. The hair is sampled where a hat
rarely reaches (beside the temples, outside the cheeks), the skin on the
cheeks; each row of the crown then gets the share of its pixels unlike both
(and unlike the backdrop, which shows through thin hair), and the score is
the highest such share over a band of rows a tenth of the face high, so one
bright strand or a hair clip does not count. Pixels that mix two of the
references (the hairline, thin hair over the backdrop, the edge of the head)
lie between them in colour and count as like them: a pixel is "unlike" when
it is far from every segment joining two references.

Two hats a colour cue alone cannot see are caught by what they do to the
head's shape and texture:

* a cap the backdrop's colour (a white cap on the white backdrop): the head
  top is found at the cap's shaded dome (``background.head_top``), and below
  the outline of the head a bare crown never shows the backdrop (hair and
  scalp are in the way), so there the backdrop's colour counts as unlike; a
  head top that ends closer to the eyes than any bare skull does
  (``MIN_CROWN_HEIGHT``) is a hat too;
* a cap the hair's colour (a black cap over black hair): hair has strands,
  fabric is smooth; a crown pixel the hair's colour counts as unlike when its
  fine texture is well under that of the hair beside the temples (the same
  camera, focus and noise, so blur and noise do not make hair look smooth).
"""

from __future__ import annotations

import cv2
import numpy as np

#: Lab distance (lightness weighted by half: light on hair varies) beyond
#: which a crown pixel is unlike the reference
UNLIKE = 22.0
#: crown pixels this close to the backdrop colour are backdrop showing through
BACKDROP_NEAR = 14.0
#: lightness (L, 0-100) above the lightest reference that no mix of them reaches
LIGHTER = 10.0
#: below the head's outline (this share of the face width under the head top) the backdrop
#: cannot show through a bare crown
OUTLINE = 0.15
#: the backdrop's colour in any shade a fabric takes (its Lab scaled from this share to 1), to this
#: (weighted) Lab distance
SHADE_DARKEST, BACKDROP_SHADE = 0.6, 8.0
#: a crown pixel neither skin nor backdrop whose texture is under this multiple of the plain backdrop's
#: (the camera's noise) is fabric; the texture's floor (L units) for a noiseless camera
FLAT_SHARE, FLAT_FLOOR = 1.6, 0.15
#: the temples must be at least this share hair (not backdrop) for their colour and texture to be the hair's
#: (with the face mesh's temples: short-haired people 0.4-0.58, the capped portrait 0.35-0.41, long hair 0.65-1)
HAIRY_TEMPLES = 0.3
#: a bare skull reaches at least this many face widths above the eye line (people measured 0.79-0.98;
#: a head tipped back by 25 degrees about 0.6)
MIN_CROWN_HEIGHT = 0.5
#: a hair-coloured crown pixel whose local texture is under this share of the temples' hair's is fabric
SMOOTH_SHARE = 0.45


def _weighted(lab: np.ndarray) -> np.ndarray:
    return lab * np.array([0.5, 1.0, 1.0], dtype=np.float32)


def _segment_distance(pixels: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of each pixel (…, 3) to the colour segment from ``a`` to ``b``."""
    ab = b - a
    t = np.clip(((pixels - a) * ab).sum(axis=-1) / max(1e-6, float((ab * ab).sum())), 0.0, 1.0)
    return np.asarray(np.linalg.norm(pixels - (a + t[..., None] * ab), axis=-1))


def _sample(lab: np.ndarray, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    h, w = lab.shape[:2]
    a, b = max(0, round(x0)), min(w, round(x1))
    c, d = max(0, round(y0)), min(h, round(y1))
    if b <= a or d <= c:
        return np.zeros((0, lab.shape[2]), np.float32)
    return lab[c:d, a:b].reshape(-1, lab.shape[2])


def _texture(lightness: np.ndarray) -> np.ndarray:
    """Local fine texture: the mean absolute difference from a 3x3 mean, over a 5x5 neighbourhood."""
    return np.asarray(cv2.blur(np.abs(lightness - cv2.blur(lightness, (3, 3))), (5, 5)))


def _flat_texture(lab: np.ndarray, texture: np.ndarray, back: np.ndarray, top: float,
                  width: float) -> float | None:
    """The texture of the plain backdrop in the region's top corners (camera noise at this focus), or None."""
    h, w = lab.shape[:2]
    rows = slice(0, max(1, min(h, round(top + 0.3 * width))))
    side = max(2, round(0.2 * width))
    corners = np.concatenate([lab[rows, :side].reshape(-1, 3), lab[rows, w - side:].reshape(-1, 3)])
    tex = np.concatenate([texture[rows, :side].ravel(), texture[rows, w - side:].ravel()])
    plain = np.linalg.norm(corners - back, axis=1) < BACKDROP_NEAR
    if plain.sum() < 30:
        return None
    return max(FLAT_FLOOR, float(np.percentile(tex[plain], 75)))


def crown_score(lab: np.ndarray, points: np.ndarray, head_top: float | None,
                backdrop_lab: tuple[float, float, float]) -> float | None:
    """The largest share of a crown row unlike hair, skin and backdrop (bare ~0-0.3, a hat band > 0.6).

    ``lab`` is the (possibly downscaled) frame in CIELAB; ``points`` the 68
    landmarks and ``head_top`` the head top, both in ``lab``'s pixels. 1 when
    the head ends too close to the eyes for a bare skull (something the
    backdrop's colour sits on it); None when the crown is not in the picture
    or too small to judge.
    """
    width = float(np.linalg.norm(points[15] - points[1]))
    brow = float(min(points[17:22, 1].mean(), points[22:27, 1].mean()))
    eye_y = float(points[36:48, 1].mean())
    if width < 16:
        return None
    if head_top is not None and eye_y - head_top < MIN_CROWN_HEIGHT * width and head_top > 0:
        return 1.0
    top = head_top if head_top is not None else brow - 0.9 * width
    cx = float((points[1, 0] + points[15, 0]) / 2)
    y0, y1 = max(0.0, top + 0.04 * width), brow - 0.06 * width
    if y1 - y0 < 0.15 * width:
        return None
    back = np.array(backdrop_lab, np.float32)
    texture = _texture(lab[..., 0])
    hair, hair_tex = _references(lab, texture, points, back, width)
    # the skin on the bridge of the nose, between the eyes (no hair, no beard, no fringe there)
    bridge = _sample(lab, points[27, 0] - 0.05 * width, points[27, 0] + 0.05 * width, points[27, 1] - 0.03 * width,
                     points[27, 1] + 0.05 * width)
    if not len(bridge):
        return None
    skin = np.median(bridge, axis=0)
    ys, xs = slice(round(y0), round(y1)), slice(max(0, round(cx - 0.3 * width)), round(cx + 0.3 * width))
    crown = lab[ys, xs]
    if crown.size == 0:
        return None
    # below the head's outline the backdrop cannot show through a bare crown
    inside = (np.arange(crown.shape[0]) + round(y0) > top + OUTLINE * width)[:, None]
    # without hair beside the temples to compare with (short hair: the ears show there) a colour
    # cue would call the hair itself a cap: only a light cap, a cap the backdrop's colour and the
    # texture below, which need no hair, are judged
    unlike = (_light_or_backdrop(crown, skin, back, inside) if hair is None
              else _unlike_colour(crown, [skin, hair], back, inside))
    crown_tex = texture[ys, xs]
    wc = _weighted(crown)
    flat = _flat_texture(lab, texture, back, top, width)
    if flat is not None:
        # neither skin nor backdrop, inside the head, and as smooth as the plain backdrop beside it
        # (the same camera noise and focus): fabric, whatever its colour; hair has strands
        covered = (inside & (np.linalg.norm(wc - _weighted(skin), axis=2) > UNLIKE)
                   & (np.linalg.norm(crown - back, axis=2) > BACKDROP_NEAR))
        unlike |= covered & (crown_tex < FLAT_SHARE * flat)
    if hair is not None and hair_tex is not None:
        hair_w = _weighted(hair.astype(np.float32))
        # only hair that is not skin (a short-haired person's temples show the ears): skin is smooth too
        if float(np.linalg.norm(hair_w - _weighted(skin))) > UNLIKE:
            # the hair's colour, smoother than the hair: fabric (a cap the colour of the hair)
            like_hair = np.linalg.norm(wc - hair_w, axis=2) <= UNLIKE
            unlike |= like_hair & (crown_tex < SMOOTH_SHARE * hair_tex)
    rows = unlike.mean(axis=1)
    band = max(1, round(0.1 * width))
    if len(rows) < band:
        return None
    smooth = np.convolve(rows, np.ones(band) / band, mode="valid")
    return float(smooth.max())


def _references(lab: np.ndarray, texture: np.ndarray, points: np.ndarray, back: np.ndarray,
                width: float) -> tuple[np.ndarray | None, float | None]:
    """The hair's colour beside the temples and its texture; None where the temples are not mostly hair.

    The hair is sampled where a hat rarely reaches: beside the temples,
    outside the face's outline. A short-haired person's temples show the ear
    and the backdrop: no hair colour is taken from them (the ear's would make
    the real hair on the crown "unlike" it).
    """
    brow = float(min(points[17:22, 1].mean(), points[22:27, 1].mean()))
    eye_y = float(points[36:48, 1].mean())
    boxes = [(points[0, 0] - 0.18 * width, points[0, 0] - 0.03 * width),
             (points[16, 0] + 0.03 * width, points[16, 0] + 0.18 * width)]
    temples = np.concatenate([_sample(lab, a, b, brow - 0.15 * width, eye_y) for a, b in boxes])
    if not len(temples):
        return None, None
    is_hair = np.linalg.norm(temples - back, axis=1) > BACKDROP_NEAR
    if is_hair.mean() < HAIRY_TEMPLES:
        return None, None
    hair = np.median(temples[is_hair], axis=0)
    temple_tex = np.concatenate([_sample(texture[..., None], a, b, brow - 0.15 * width, eye_y)[:, 0]
                                 for a, b in boxes])
    # the hair well inside its own colour: the edge with the backdrop or the skin is not texture
    inner = np.linalg.norm(_weighted(temples - hair), axis=1) < 0.5 * UNLIKE
    hair_tex = float(np.median(temple_tex[inner])) if inner.sum() >= 12 else None
    return hair, hair_tex


def _light_or_backdrop(crown: np.ndarray, skin: np.ndarray, back: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Crown pixels lighter than skin and backdrop, or the backdrop's colour inside the head and unlike skin."""
    wc = _weighted(crown)
    back_w = _weighted(back)
    fabric = inside & (_segment_distance(wc, back_w * SHADE_DARKEST, back_w) < BACKDROP_SHADE)
    unlike_skin = np.linalg.norm(wc - _weighted(skin.astype(np.float32)), axis=2) > UNLIKE
    lightest = max(float(skin[0]), float(back[0]))
    return np.asarray((fabric & unlike_skin) | (crown[..., 0] > lightest + LIGHTER))


def _unlike_colour(crown: np.ndarray, refs: list[np.ndarray], back: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Crown pixels whose colour is no mix of ``refs`` (skin, hair) and the backdrop (inside the head: nor it)."""
    wc = _weighted(crown)
    points_ = [_weighted(r.astype(np.float32)) for r in (*refs, back)]
    back_w = points_[-1]
    # the backdrop's colour in any shade, inside the head: a cap the backdrop's colour
    fabric = inside & (_segment_distance(wc, back_w * SHADE_DARKEST, back_w) < BACKDROP_SHADE)
    unlike = np.ones(crown.shape[:2], bool)
    back_i = len(points_) - 1
    for i, a in enumerate(points_):
        for j in range(i, len(points_)):
            if {i, j} == {0, back_i}:
                # (refs[0] is the skin) skin meets the backdrop only along the head's outline, a row
                # or two; in the crown's middle a colour between them is a light cap
                continue
            b = points_[j]
            far = _segment_distance(wc, a, b) > UNLIKE
            if back_i in (i, j) and i != j:
                # inside the head, hair over the backdrop is more hair than backdrop: a mix nearer the
                # backdrop is a light cap (a grey one reads as hair over a blue backdrop otherwise)
                far = np.where(inside, _segment_distance(wc, a, (a + b) / 2) > UNLIKE, far)
            unlike &= (far | fabric) if back_i in (i, j) else far
    # ... even when a loose reference (an ear at a short-haired person's temples) is near it
    own = [_segment_distance(wc, points_[i], points_[j]) for i in range(len(refs)) for j in range(i, len(refs))]
    unlike |= fabric & (np.min(own, axis=0) > 0.5 * UNLIKE)
    # no mix of the references is lighter than the lightest of them: a pixel well above it
    # is a light cap (a white one reads as a mix of skin, hair and a blue backdrop otherwise)
    lightest = max(float(r[0]) for r in (*refs, back))
    return np.asarray(unlike | (crown[..., 0] > lightest + LIGHTER))
