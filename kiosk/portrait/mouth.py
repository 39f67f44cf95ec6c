"""The mouth on the face's pixels: how dark the gap between the lips is.

The inner-lip gap the mesh measures (``shape.FaceShape.mouth_openness``)
tells a wide-open mouth from a closed one, but a person whose closed mouth
shows teeth in a smile reads about as open as another's half-open mouth. The
inside of an open mouth is dark; teeth and lips are not. So the gap's pixels
are compared with the cheeks' (``mouth_darkness``) and a half-open mouth
whose gap is dark counts as open (``checks.MAX_MOUTH_DARK``).
"""

from __future__ import annotations

import cv2
import numpy as np

#: the inner-lip contour of the mesh, round the gap between the lips
INNER_LIP_CONTOUR = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
#: the middle of each cheek (mesh points), the light the gap is compared with
CHEEK_POINTS = (205, 425)
#: a gap with fewer pixels than this is closed (its darkness is not measured)
MIN_GAP_PIXELS = 12


def mouth_darkness(gray: np.ndarray, mesh: np.ndarray) -> float:
    """Mean luminance inside the inner lips over the cheeks' (1.0 when the lips meet or leave the image).

    ``mesh`` is the face's 468 points in ``gray``'s pixels. An open mouth
    reads below 0.5, teeth and lips 0.6 and above.
    """
    h, w = gray.shape[:2]
    lips = np.round(mesh[list(INNER_LIP_CONTOUR), :2]).astype(np.int32)
    x0, y0 = np.maximum(lips.min(axis=0) - 1, 0)
    x1, y1 = np.minimum(lips.max(axis=0) + 2, (w, h))
    if x1 - x0 < 3 or y1 - y0 < 2:
        return 1.0
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [lips - (x0, y0)], 1)
    if int(mask.sum()) < MIN_GAP_PIXELS:
        return 1.0
    gap = float(gray[y0:y1, x0:x1][mask > 0].mean())
    width = float(np.linalg.norm(mesh[454, :2] - mesh[234, :2]))
    r = max(2, round(0.05 * width))
    cheeks = []
    for i in CHEEK_POINTS:
        cx, cy = round(float(mesh[i, 0])), round(float(mesh[i, 1]))
        patch = gray[max(0, cy - r):cy + r + 1, max(0, cx - r):cx + r + 1]
        if patch.size:
            cheeks.append(float(patch.mean()))
    if not cheeks:
        return 1.0
    return gap / max(1.0, float(np.mean(cheeks)))
