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

This is a colour cue, not a hat detector: a black cap on black hair or a hood
the colour of the hair are not seen (the evaluation says how often).
"""

from __future__ import annotations

import numpy as np

#: Lab distance (lightness weighted by half: light on hair varies) beyond
#: which a crown pixel is unlike the reference
UNLIKE = 22.0
#: crown pixels this close to the backdrop colour are backdrop showing through
BACKDROP_NEAR = 14.0
#: lightness (L, 0-100) above the lightest reference that no mix of them reaches
LIGHTER = 10.0


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
        return np.zeros((0, 3), np.float32)
    return lab[c:d, a:b].reshape(-1, 3)


def crown_score(lab: np.ndarray, points: np.ndarray, head_top: float | None,
                backdrop_lab: tuple[float, float, float]) -> float | None:
    """The largest share of a crown row unlike hair, skin and backdrop (bare ~0-0.3, a hat band > 0.6).

    ``lab`` is the (possibly downscaled) frame in CIELAB; ``points`` the 68
    landmarks and ``head_top`` the head top, both in ``lab``'s pixels. None
    when the crown is not in the picture or too small to judge.
    """
    width = float(np.linalg.norm(points[15] - points[1]))
    brow = float(min(points[17:22, 1].mean(), points[22:27, 1].mean()))
    top = head_top if head_top is not None else brow - 0.9 * width
    cx = float((points[1, 0] + points[15, 0]) / 2)
    y0, y1 = max(0.0, top + 0.04 * width), brow - 0.06 * width
    if y1 - y0 < 0.15 * width or width < 16:
        return None
    back = np.array(backdrop_lab, np.float32)
    skin = np.concatenate([_sample(lab, p[0] - 0.06 * width, p[0] + 0.06 * width, p[1] - 0.06 * width,
                                   p[1] + 0.06 * width)
                           for p in ((points[2] + points[31]) / 2, (points[14] + points[35]) / 2)])
    refs = [np.median(skin, axis=0)] if len(skin) else []
    eye_y = float(points[36:48, 1].mean())
    temples = np.concatenate([_sample(lab, points[0, 0] - 0.18 * width, points[0, 0] - 0.03 * width,
                                      brow - 0.15 * width, eye_y),
                              _sample(lab, points[16, 0] + 0.03 * width, points[16, 0] + 0.18 * width,
                                      brow - 0.15 * width, eye_y)])
    if len(temples):
        hair = temples[np.linalg.norm(temples - back, axis=1) > BACKDROP_NEAR]
        if len(hair) >= 0.2 * len(temples):
            refs.append(np.median(hair, axis=0))
    if not refs:
        return None
    crown = lab[round(y0):round(y1), max(0, round(cx - 0.3 * width)):round(cx + 0.3 * width)]
    if crown.size == 0:
        return None
    wc = _weighted(crown)
    points_ = [_weighted(r.astype(np.float32)) for r in (*refs, back)]
    unlike = np.ones(crown.shape[:2], bool)
    skin_back = {0, len(points_) - 1} if len(refs) == 2 else set()
    for i, a in enumerate(points_):
        for j in range(i, len(points_)):
            if {i, j} == skin_back:
                # skin meets the backdrop only along the head's outline, a row or two;
                # in the crown's middle a colour between them is a light cap
                continue
            unlike &= _segment_distance(wc, a, points_[j]) > UNLIKE
    # no mix of the references is lighter than the lightest of them: a pixel well above it
    # is a light cap (a white one reads as a mix of skin, hair and a blue backdrop otherwise)
    lightest = max(float(r[0]) for r in (*refs, back))
    unlike |= crown[..., 0] > lightest + LIGHTER
    rows = unlike.mean(axis=1)
    band = max(1, round(0.1 * width))
    if len(rows) < band:
        return None
    smooth = np.convolve(rows, np.ones(band) / band, mode="valid")
    return float(smooth.max())
