"""Following one face from preview frame to preview frame, cheaply.

Finding a face with the Haar cascade costs 6-12 ms of one core even on the
320-pixel detection copy, most of it spent on the face itself (its windows
pass many stages). A person standing in front of the station moves a few
pixels between frames, so once a face has been found (*acquired*) it is
*followed*: the face as it looked when the cascade last found it (the
*anchor*) is matched against the neighbourhood of where it was, at a width
of ``TEMPLATE_WIDTH`` pixels (under a millisecond). The box keeps the
anchor's size and moves with the match, so a box never drifts: it is always
the cascade's box, moved by what the pixels show.

The cascade still has the last word: a poor match is searched again with the
cascade around the last face (``near``: a narrow range of sizes in fine
steps); the anchor is taken again now and then (the face may have come
closer or changed its look); and the whole frame, the followed face painted
over, is searched now and then for a second person (``others``). Which of
these run on a frame is the schedule's choice (``schedule.py``), so that they
do not all land on one frame. A face that no longer matches its anchor has
the measures taken on it marked stale (``Schedule.changed``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.portrait.copies import FrameCopies
from kiosk.portrait.face import Box, FaceDetector
from kiosk.portrait.schedule import Schedule
from kiosk.portrait.shape import MIN_SCORE, FaceShape, ShapeModel

#: the anchor is matched at this face width (pixels; the match is refined to a fraction of one)
TEMPLATE_WIDTH = 48
#: the match is searched this share of the face width around the last box, each way
SEARCH_MARGIN = 0.25
#: a match scoring less than this (normalised correlation) is not the face: the cascade looks again
MIN_MATCH = 0.6
#: the fine cascade search around the last face: sizes this share of the last width, in steps of 5 %
NEAR_SIZES = (0.85, 1.18)
#: a followed face matching its anchor less well than this is found again by the cascade soon
REANCHOR_MATCH = 0.8
#: landmarks this share wider or narrower than at the anchor: the person came closer or stepped back
REANCHOR_WIDTH = 0.08
#: heads rolled beyond what the frontal cascade sees are searched turned back by this much
ROLL_RETRY_DEG = 14.0
#: a second person is at least this share of the followed face's width (as ``MIN_SECOND_FACE``)
OTHER_FACE_SHARE = 0.5
#: size steps of the search for a second person
OTHERS_STEP = 1.2
#: a followed face's mesh (the costliest measure a frame takes, about 5 ms) stands this long, moved
#: with the face: at 30 fps every other frame takes it, at 15 fps every frame
MESH_HOLD_S = 0.05
#: and this long on a frame that takes one of the slower measures, so the two do not add up
MESH_HOLD_BUSY_S = 0.2
#: a face whose box changed width by more than this share since its mesh was taken is measured afresh
MESH_HOLD_WIDTH = 0.05


@dataclass(frozen=True)
class Anchor:
    """The face as the cascade last found it: its box (frame pixels) and its look at template width."""

    box: Box
    template: np.ndarray  # uint8, the box at TEMPLATE_WIDTH / box.w


@dataclass(frozen=True)
class Followed:
    """Where the followed face is in this frame and how well it matched its anchor."""

    box: Box
    score: float


def anchor_of(frame: np.ndarray, box: Box) -> Anchor | None:
    """The anchor of ``box`` in ``frame`` (BGR); None when the box leaves the frame."""
    h, w = frame.shape[:2]
    x0, y0 = round(box.x), round(box.y)
    x1, y1 = round(box.x + box.w), round(box.y + box.h)
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h or x1 - x0 < 16 or y1 - y0 < 16:
        return None
    k = TEMPLATE_WIDTH / (x1 - x0)
    gray = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    size = (TEMPLATE_WIDTH, max(8, round((y1 - y0) * k)))
    return Anchor(box, cv2.resize(gray, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR))


def follow(frame: np.ndarray, anchor: Anchor, last: Box) -> Followed | None:
    """The anchor's face found near ``last`` in ``frame`` (BGR); None when it has moved too far away.

    The box keeps the anchor's size; its position is the best match, to a
    fraction of a template pixel (a parabola through the peak and its
    neighbours).
    """
    box = anchor.box
    k = TEMPLATE_WIDTH / box.w
    margin = SEARCH_MARGIN * box.w
    h, w = frame.shape[:2]
    x0, y0 = max(0, int(last.x - margin)), max(0, int(last.y - margin))
    x1, y1 = min(w, int(last.x + box.w + margin) + 1), min(h, int(last.y + box.h + margin) + 1)
    th, tw = anchor.template.shape
    sw, sh = round((x1 - x0) * k), round((y1 - y0) * k)
    if sw < tw + 2 or sh < th + 2:
        return None
    region = cv2.resize(cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY), (sw, sh),
                        interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    scores = cv2.matchTemplate(region, anchor.template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (px, py) = cv2.minMaxLoc(scores)
    # a peak on the edge of the search is a face that moved further than searched
    edge_x = px in (0, scores.shape[1] - 1) and not (x0 == 0 or x1 == w)
    edge_y = py in (0, scores.shape[0] - 1) and not (y0 == 0 or y1 == h)
    if edge_x or edge_y:
        return None
    fx = px + _subpixel(scores[py, max(0, px - 1): px + 2], px)
    fy = py + _subpixel(scores[max(0, py - 1): py + 2, px], py)
    sx, sy = (x1 - x0) / sw, (y1 - y0) / sh
    return Followed(Box(x0 + fx * sx, y0 + fy * sy, box.w, box.h), float(best))


def _subpixel(around: np.ndarray, at: int) -> float:
    """The offset of a peak from its pixel: the vertex of the parabola through it and its neighbours."""
    if at == 0 or len(around) != 3:
        return 0.0
    a, b, c = (float(v) for v in around)
    curve = a - 2 * b + c
    return 0.0 if curve >= 0 else max(-0.5, min(0.5, 0.5 * (a - c) / curve))


def near(detector: FaceDetector, copies: FrameCopies, last: Box) -> Box | None:
    """The one face the cascade finds around ``last`` on the detection copy, or None."""
    k = copies.k
    sw, sh = copies.size
    x0, y0 = max(0, int((last.x - last.w * 0.6) * k)), max(0, int((last.y - last.h * 0.6) * k))
    x1, y1 = min(sw, int((last.x + last.w * 1.6) * k) + 1), min(sh, int((last.y + last.h * 1.6) * k) + 1)
    found = detector.faces(_gray(copies.small_region(x0, y0, x1, y1)), k,
                           size=(last.w * k * NEAR_SIZES[0], last.w * k * NEAR_SIZES[1]), step=1.05)
    if len(found) != 1:
        return None
    face = found[0]
    return Box(face.x + x0 / k, face.y + y0 / k, face.w, face.h)


def others(detector: FaceDetector, small_gray: np.ndarray, k: float, face: Box) -> list[Box]:
    """Faces other than ``face`` in the detection copy: ``face`` is painted over first.

    A flat patch fails the cascade's first stage at once, so the search
    costs a fraction of a whole one, and only faces at least
    ``OTHER_FACE_SHARE`` of ``face``'s width are searched: at the station a
    second person is about as large as the first.
    """
    gray = small_gray.copy()
    # a little inside the box: a neighbour's face overlapping its edge stays whole
    x0, y0 = max(0, int((face.x + 0.1 * face.w) * k)), max(0, int((face.y + 0.1 * face.h) * k))
    x1, y1 = int((face.x + 0.9 * face.w) * k) + 1, int((face.y + 0.9 * face.h) * k) + 1
    patch = gray[y0:y1, x0:x1]
    if patch.size:
        patch[...] = int(patch.mean())
    lo = face.w * k * OTHER_FACE_SHARE
    # the coarse size steps of the whole-frame search's pass for large faces: a third of the fine steps' cost
    found = detector.faces(gray, k, size=(lo, max(lo + 1, min(gray.shape[:2]))), step=OTHERS_STEP)
    return [b for b in found if abs(b.cx - face.cx) > 0.5 * face.w or abs(b.cy - face.cy) > 0.5 * face.h]


class Follower:
    """The face of the preview: found in the whole frame, then followed; its landmarks measured.

    The schedule (shared with the analyser) says when the cascade takes the
    anchor again and when the frame is searched for a second person; the
    follower tells it when the face changed size or look.
    """

    def __init__(self, detector: FaceDetector, shapes: ShapeModel, schedule: Schedule) -> None:
        self.detector = detector
        self.shapes = shapes
        self.schedule = schedule
        self.last: Box | None = None  # the face found in the last frame (unsmoothed)
        self.tracked = False  # this frame's face was followed from the last one (not found afresh)
        self._anchor: Anchor | None = None
        self._anchor_width: float | None = None  # the landmarks' width when the anchor was taken
        self._mesh: tuple[FaceShape, Box, float] | None = None  # the last mesh (frame pixels), its box, when
        self._busy = False  # this frame takes one of the slower measures

    @property
    def following(self) -> bool:
        """There is a face to follow into the next frame."""
        return self.last is not None and self._anchor is not None

    def forget(self) -> None:
        """Stop following: the next frame is searched whole."""
        self.last = None
        self.tracked = False
        self._anchor = None
        self._anchor_width = None
        self._mesh = None
        self.schedule.reset()

    def find(self, copies: FrameCopies, now: float, task: str | None) -> list[Box]:
        """Faces of this frame: the followed one (and others, when it is ``task``), or all found afresh."""
        last, k = self.last, copies.k
        self._busy = task is not None
        if last is not None and self._anchor is not None:
            box = self._follow(copies, last, now=now, task=task)
            if box is not None:
                self.tracked = True
                self.last = box
                if task != "others":
                    return [box]
                self.schedule.done("others", now, box)
                return [box, *others(self.detector, copies.small_gray, k, box)]
        self.forget()
        small_gray = copies.small_gray
        faces = self.detector.faces(small_gray, k)
        for angle in (ROLL_RETRY_DEG, -ROLL_RETRY_DEG):
            if faces:
                break
            faces = self.detector.faces_rolled(small_gray, k, angle)
        self.last = faces[0] if len(faces) == 1 else None
        return faces

    def _follow(self, copies: FrameCopies, last: Box, *, now: float, task: str | None) -> Box | None:
        """The followed face in this frame: matched to its anchor, or found by the cascade around the last.

        On the anchor's turn the cascade looks first and its box becomes the
        new anchor; a head the upright cascade misses (rolled) is still
        followed by its match.
        """
        looked = False
        if task == "anchor":
            box, looked = self._reanchor(copies, last, now), True
            if box is not None:
                return box
        anchor = self._anchor
        if anchor is not None:
            got = follow(copies.frame, anchor, last)
            if got is not None and got.score >= MIN_MATCH:
                if got.score < REANCHOR_MATCH:
                    self.schedule.urge("anchor", now)
                return got.box
            # not the face it was (a hat put on, a hand, another person in its place): what was
            # measured on it no longer stands
            self.schedule.changed()
            self._mesh = None
        return None if looked else self._reanchor(copies, last, now)

    def _reanchor(self, copies: FrameCopies, last: Box, now: float) -> Box | None:
        """The face found by the cascade around ``last``, taken as the new anchor; None when not found."""
        box = near(self.detector, copies, last)
        self.schedule.done("anchor", now, box)
        if box is not None:
            self._anchor, self._anchor_width = anchor_of(copies.frame, box), None
        return box

    def measure(self, frame: np.ndarray, found: Box,
                now: float) -> tuple[Box, FaceShape | None, np.ndarray, tuple[int, int]]:
        """The face measured finely, its landmarks (frame pixels), and the gray region cut around it."""
        region, (ox, oy) = _face_region(frame, found)
        gray = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)
        local = _moved(found, -ox, -oy)
        # a followed face is measured already; a face from the whole-frame search needs the fine measure
        fine = local if self.tracked else self.detector.refine(gray, local)
        self.last = _moved(fine, ox, oy)
        if not self.tracked:
            self._anchor, self._anchor_width = anchor_of(frame, self.last), None
        held = self._held_mesh(self.last, now)
        if held is not None:
            return self.last, held, gray, (ox, oy)
        prior = None
        if self.tracked and self._mesh is not None:
            last_shape, then, _ = self._mesh
            prior = last_shape.moved(self.last.cx - then.cx - ox, self.last.cy - then.cy - oy)
        shape = self.shapes.shape(region, fine, prior)
        # the landmark model places its points in any square; a low face score
        # or points far outside the box mean there was no face to place them on
        if not _plausible(shape, fine, prior):
            # nor is a followed box worth following further
            self._anchor = None
            self._mesh = None
            return self.last, None, gray, (ox, oy)
        self._mesh = (shape.moved(ox, oy), self.last, now)
        if self._anchor_width is None:
            self._anchor_width = shape.width
        elif abs(shape.width / self._anchor_width - 1) > REANCHOR_WIDTH:
            # closer or farther than when the cascade last found the face: its box is the wrong size now
            self.schedule.urge("anchor", now)
        return self.last, shape.moved(ox, oy), gray, (ox, oy)


    def _held_mesh(self, box: Box, now: float) -> FaceShape | None:
        """The last mesh moved with the followed face, while it stands (``MESH_HOLD_S``); else None."""
        if not self.tracked or self._mesh is None:
            return None
        shape, then, at = self._mesh
        hold = MESH_HOLD_BUSY_S if self._busy else MESH_HOLD_S
        if now - at >= hold - 1e-6 or abs(box.w / then.w - 1) > MESH_HOLD_WIDTH:
            return None
        return shape.moved(box.cx - then.cx, box.cy - then.cy)


def _plausible(shape: FaceShape, box: Box, prior: FaceShape | None = None) -> bool:
    """Landmarks that fit the box they were placed in (or the face's last ones): a real face, not noise."""
    width = shape.width
    if prior is not None:
        # a followed box keeps its size while the person comes closer: the last landmarks are the measure
        return (shape.score > MIN_SCORE and 0.8 * prior.width <= width <= 1.25 * prior.width
                and abs(shape.centre_x - prior.centre_x) < 0.25 * prior.width)
    return (shape.score > MIN_SCORE and 0.55 * box.w <= width <= 1.2 * box.w
            and abs(shape.centre_x - box.cx) < 0.25 * box.w)


def _face_region(frame: np.ndarray, face: Box) -> tuple[np.ndarray, tuple[int, int]]:
    """The face box with a margin (room for ``FaceDetector.refine``), cut from the frame, and its offset."""
    x0 = max(0, int(face.x - face.w * 0.4))
    y0 = max(0, int(face.y - face.h * 0.4))
    x1 = min(frame.shape[1], int(face.x + face.w * 1.4) + 1)
    y1 = min(frame.shape[0], int(face.y + face.h * 1.4) + 1)
    return frame[y0:y1, x0:x1], (x0, y0)


def _gray(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


def _moved(box: Box, dx: float, dy: float) -> Box:
    return Box(box.x + dx, box.y + dy, box.w, box.h)
